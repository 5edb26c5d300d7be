#!/usr/bin/env python3
"""Speed, memory and small-face recall of the default pipeline against the faithful mode.

One table from one run (issue 8), every mode in its own process (bench/run_mode.py):
decode-only frames/s, the faithful mode (--faithful) at -S 0.5, the default at -S 0.5 and
-S 0, their ratios, faces encoded, peak memory; then, on a video of small faces, recall by
face size for the faithful mode and the default.

The videos: the team's dev video (../shared/eval/make_video.py, built once into --work)
when ../shared is there; otherwise a video made of the package-shipped faces (facesort/demo.py),
without the recall part (it needs the ground truth of make_video.py).

--detector picks the default mode's detector (--faithful is always HOG); with YuNet the
--small-faces rows are left out (they are HOG's).

usage: bench/speed_bench.py [--work DIR] [--quick] [--detector auto|yunet|hog]
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

PROJECT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(PROJECT))
from facesort.detection.workers import single_threaded_blas  # noqa: E402  (the project, found above)

SHARED = PROJECT.parent / "shared"
EVAL = SHARED / "eval"
DEV_VIDEOS = Path("/tmp/ev")            # where the team keeps the dev videos already built
DEV_ARGS = ["--half", "even", "--seed", "11", "--shots", "60"]  # dev-a, as ../shared/README.md
SMALL_SCALE = "0.25"                    # make_video.py --tile-scale: ~24-52 px face boxes
FACE_PER_TILE = 0.42                    # face box / tile side of the LFW photos (measured)
SIZE_BINS = [(0, 30), (30, 40), (40, 50), (50, 60), (60, 10_000)]


def yunet_installed() -> bool:
    from face_detector import find_yunet_model
    from facesort.detection.model_files import ModelError

    try:
        find_yunet_model()
    except ModelError:
        return False
    return True


def run(*command: object) -> str:
    completed = subprocess.run([str(c) for c in command], capture_output=True, text=True)
    if completed.returncode != 0:
        sys.exit(f"bench: {' '.join(map(str, command))} failed:\n{completed.stderr[-2000:]}")
    return completed.stdout


def measure(*arguments: object) -> dict:
    """One mode in a fresh process: its figures as run_mode.py prints them."""
    output = run(sys.executable, PROJECT / "bench" / "run_mode.py", *arguments)
    return json.loads(output.strip().splitlines()[-1])


def labelled_video(work: Path, name: str, *extra: str) -> Path:
    """A make_video.py video (and its ground truth), built once into ``work``."""
    prefix = work / name
    if not prefix.with_suffix(".mp4").exists():
        run(sys.executable, EVAL / "make_video.py", SHARED / "data" / "lfw-dev", prefix,
            *DEV_ARGS, *extra)
    return prefix.with_suffix(".mp4")


def dev_video(work: Path) -> Path:
    shipped = DEV_VIDEOS / "dev-a.mp4"
    return shipped if shipped.exists() else labelled_video(work, "dev-a")


def package_video(work: Path) -> Path:
    """About a minute of the two package-shipped faces (when ../shared is absent)."""
    from facesort.demo import SHOTS, make_demo_video

    path = work / "bench-demo.mp4"
    if not path.exists():
        make_demo_video(path, seed=11, shots=SHOTS * 8)
    return path


def classify(video: Path, work: Path, name: str, *flags: str) -> tuple[dict, Path]:
    result = work / f"result-{name}"
    if result.exists():
        import shutil

        shutil.rmtree(result)  # our own scratch result
    figures = measure("classify", video, "--result", result, "-q", *flags)
    if figures["code"] != 0:
        sys.exit(f"bench: face_classifier {name} exited with {figures['code']}")
    return figures, result


def recall_by_size(truth: Path, faces_csv: Path) -> tuple[float, list[tuple[int, int]], int]:
    """score.py's shot recall, (found, all) face instances per face-size bin, and the
    height of the smallest face box found on a face of the ground truth."""
    sys.path.insert(0, str(EVAL))
    import csv

    from score import match  # the team's own matching rule

    gt = json.loads(truth.read_text())
    with faces_csv.open(newline="") as file:
        rows = [r for r in csv.DictReader(file)
                if Path(r["source"]).name == truth.with_suffix(".mp4").name]
    seen, heights = set(), []
    for row in rows:
        hits, _ = match(gt, [row])
        if hits:
            _, (shot, index, _), _ = hits[0]
            seen.add((shot, index))
            heights.append(int(row["bottom"]) - int(row["top"]))
    bins = [[0, 0] for _ in SIZE_BINS]
    for shot in gt["shots"]:
        for index, face in enumerate(shot["faces"]):
            size = face["rect_first"][2] * FACE_PER_TILE
            slot = next(i for i, (low, high) in enumerate(SIZE_BINS) if low <= size < high)
            bins[slot][1] += 1
            bins[slot][0] += (shot["first_frame"], index) in seen
    recall = sum(b[0] for b in bins) / max(1, sum(b[1] for b in bins))
    return recall, [tuple(b) for b in bins], min(heights, default=0)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--work", type=Path,
                        default=Path(tempfile.gettempdir()) / "face-classifier-bench",
                        help="where videos and scratch results go")
    parser.add_argument("--quick", action="store_true",
                        help="first 20 s of each video only (a smoke run, not the figures)")
    parser.add_argument("--detector", choices=["auto", "yunet", "hog"], default="auto",
                        help="the default mode's detector, as face-classifier's --detector")
    args = parser.parse_args()
    args.work.mkdir(parents=True, exist_ok=True)
    shared = (EVAL / "make_video.py").exists()
    video = dev_video(args.work) if shared else package_video(args.work)
    limit = ["-s", "20"] if args.quick else []
    yunet = args.detector == "yunet" or (args.detector == "auto" and yunet_installed())
    print(f"bench: {video} on {os.cpu_count()} cores, default mode with "
          f"{'YuNet' if yunet else 'dlib HOG'}, load average "
          f"{os.getloadavg()[0]:.1f} at the start", flush=True)

    decoded = measure("decode", video)
    frames = decoded["frames"]
    if args.quick:
        frames = min(frames, int(20 * 25))
    rows = [("decode only", decoded["frames"] / decoded["seconds"], None, None, decoded)]
    detector = ["--detector", args.detector]
    modes = [("faithful -S 0.5", ["--faithful", "-S", "0.5"]),
             ("default -S 0.5", ["-S", "0.5", *detector]), ("default -S 0", ["-S", "0", *detector])]
    for name, flags in modes:
        figures, _ = classify(video, args.work, name.replace(" ", ""), *flags, *limit)
        rows.append((name, frames / figures["seconds"], figures["encoded"], figures["seconds"],
                     figures))
        print(f"  {name}: {figures['seconds']:.1f} s", flush=True)
    load_after = os.getloadavg()[0]

    decode_rate = rows[0][1]
    faithful_rate = rows[1][1]
    print()
    print(f"{'mode':18} {'frames/s':>9} {'x real time':>11} {'/decode':>8} {'x faithful':>10} "
          f"{'encoded':>8} {'wall s':>7} {'cpu s':>6} {'peak MB':>8} {'worker MB':>9}")
    for name, rate, encoded, seconds, figures in rows:
        print(f"{name:18} {rate:9.1f} {rate / 25:11.1f} {rate / decode_rate:8.3f} "
              f"{rate / faithful_rate:10.1f} {encoded if encoded is not None else '':>8} "
              f"{seconds if seconds is not None else figures['seconds']:7.1f} "
              f"{figures['cpu_seconds']:6.1f} {figures['peak_mb']:8.0f} "
              f"{figures['worker_peak_mb']:9.0f}")
    print(f"(frames/s: frames of the video per second of wall time; /decode: the share of the "
          f"decode-only rate, goal >= 0.05 at -S 0; load average {load_after:.1f} at the end)")
    with single_threaded_blas():  # as in a worker process
        encoder = measure("encoders")
    print(f"the encoder network, one face image, one core: dlib's {encoder['dlib'] * 1000:.0f} ms "
          f"(--faithful, as the original), the default's {encoder['default'] * 1000:.0f} ms "
          f"(onnxruntime: the same numbers; it encodes each face and its mirror image)")

    if not shared:
        print("\nrecall by face size: skipped (needs ../shared for labelled videos)")
        return 0
    small = labelled_video(args.work, "small-a", "--tile-scale", SMALL_SCALE)
    print(f"\nrecall by face size on {small.name} (face boxes ~24-52 px; score.py matching)")
    header = " ".join(f"{f'{low}-{high}px' if high < 10_000 else f'>={low}px':>9}"
                      for low, high in SIZE_BINS)
    print(f"{'mode':18} {'seconds':>8} {'shot_recall':>11} {header} {'smallest':>8}")
    trades = [] if yunet else [("off -S 0.5", ["--small-faces", "off", "-S", "0.5", *detector]),
                               ("full -S 0.5", ["--small-faces", "full", "-S", "0.5", *detector])]
    for name, flags in modes + trades:
        figures, result = classify(small, args.work, "small" + name.replace(" ", ""), *flags,
                                   *limit)
        recall, bins, smallest = recall_by_size(small.with_suffix(".json"),
                                                result / "faces.csv")
        cells = " ".join(f"{f'{found}/{total}':>9}" for found, total in bins)
        print(f"{name:18} {figures['seconds']:8.1f} {recall:11.3f} {cells} {smallest:6d}px")
    print("(faces found / faces shown, by the size of the face box; smallest: the smallest "
          "face box found on a face shown; off, full: the default with --small-faces off, full)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
