#!/usr/bin/env python3
"""--cluster on this machine: throughput against the plain run, the cost of each input sent to
the cluster, and what the driver itself can take (issue 13). One run, one table per part.

1. Four dev videos (../shared/eval/make_video.py, seeds 11-14), sorted in one run: plain,
   --cluster local:1 and --cluster local:2, each in a fresh process (bench/run_mode.py);
   wall seconds, times real time, the ratio to the plain run, and whether faces.csv is the
   plain run's byte for byte.
2. The overhead per input of the cluster path: the same videos, one frame each (-s 0.04),
   1 input and 12 inputs (hard links of the four under other names), plain and local:1; the
   slope (seconds per added input) of each, and the difference.
3. The driver's own cost: face records as the workers send them (the plain run's real crops,
   synthetic encodings of --people persons), unpickled, renumbered, sorted with the default
   rules and saved through the run's own frame loop (app.run.sort_frames), as a cluster run's; seconds per 1,000 and 10,000 faces, and the bytes of
   face records per hour of video (from the dev videos' faces).
Then, from those figures, how many workers like these one driver keeps busy.

Needs ../shared (the dev videos) and dask.distributed; says so and exits 0 without them.

usage: bench/cluster_bench.py [--work DIR] [--seconds 0.5] [--faces 10000]
"""
from __future__ import annotations

import argparse
import contextlib
import csv
import io
import os
import pickle
import shutil
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

PROJECT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(PROJECT))
sys.path.insert(0, str(PROJECT / "bench"))

from speed_bench import EVAL, SHARED, measure, run  # (bench/, found above)

VIDEOS = [("dev-a", "even", 11), ("dev-b", "odd", 12), ("dev-c", "even", 13), ("dev-d", "odd", 14)]
FPS = 25.0  # make_video.py's


def dev_videos(work: Path) -> list[Path]:
    """The four dev videos, built once into ``work``."""
    paths = []
    for name, half, seed in VIDEOS:
        prefix = work / name
        if not prefix.with_suffix(".mp4").exists():
            run(sys.executable, EVAL / "make_video.py", SHARED / "data" / "lfw-dev", prefix,
                "--half", half, "--seed", seed, "--shots", 60)
        paths.append(prefix.with_suffix(".mp4"))
    return paths


def classify(work: Path, name: str, inputs: list[Path], *flags: str) -> tuple[dict, Path]:
    result = work / f"result-{name}"
    if result.exists():
        shutil.rmtree(result)  # our own scratch result
    figures = measure("classify", *inputs, "--result", result, "-q", *flags)
    if figures["code"] != 0:
        sys.exit(f"bench: face_classifier {name} exited with {figures['code']}")
    return figures, result


def video_seconds(videos: list[Path]) -> float:
    import cv2

    total = 0.0
    for video in videos:
        capture = cv2.VideoCapture(str(video))
        total += capture.get(cv2.CAP_PROP_FRAME_COUNT) / (capture.get(cv2.CAP_PROP_FPS) or FPS)
        capture.release()
    return total


def throughput(work: Path, videos: list[Path], seconds: str) -> tuple[dict, Path]:
    """Part 1; returns the figures of each mode and the plain run's result."""
    length = video_seconds(videos)
    print(f"\n1. throughput: {len(videos)} dev videos, {length:.0f} s of video, -S {seconds}")
    rows, results = {}, {}
    for mode, flags in (("plain", []), ("local:1", ["--cluster", "local:1"]),
                        ("local:2", ["--cluster", "local:2"])):
        figures, results[mode] = classify(work, mode.replace(":", ""), videos, "-S", seconds,
                                          *flags)
        rows[mode] = figures
        print(f"  {mode}: {figures['seconds']:.1f} s", flush=True)
    plain_csv = (results["plain"] / "faces.csv").read_bytes()
    print(f"{'mode':10} {'wall s':>7} {'cpu s':>6} {'x real time':>11} {'plain/this':>10} "
          f"{'encoded':>8} {'same faces.csv':>14}")
    for mode, figures in rows.items():
        same = (results[mode] / "faces.csv").read_bytes() == plain_csv
        print(f"{mode:10} {figures['seconds']:7.1f} {figures['cpu_seconds']:6.1f} "
              f"{length / figures['seconds']:11.1f} "
              f"{rows['plain']['seconds'] / figures['seconds']:10.2f} {figures['encoded']:8d} "
              f"{'yes' if same else 'NO':>14}")
    print("(wall s: the whole command, from start to summary: imports, cluster start, models, "
          "save; cpu s: this process and its worker processes; encoded: faces encoded, summed "
          "over the workers)")
    return rows, results["plain"]


def overhead(work: Path, videos: list[Path]) -> float:
    """Part 2; returns the cluster's extra seconds per input."""
    links = work / "links"
    shutil.rmtree(links, ignore_errors=True)
    links.mkdir()
    many = []
    for copy in range(3):
        for video in videos:
            many.append(links / f"{video.stem}-{copy}.mp4")
            os.link(video, many[-1])
    print(f"\n2. overhead per input: one frame of each video (-s 0.04), 1 input and {len(many)}")
    print(f"{'mode':10} {'1 input s':>9} {f'{len(many)} inputs s':>12} {'s per input':>11}")
    slopes = {}
    for mode, flags in (("plain", []), ("local:1", ["--cluster", "local:1"])):
        one, _ = classify(work, "one", many[:1], "-s", "0.04", *flags)
        all_, _ = classify(work, "many", many, "-s", "0.04", *flags)
        slopes[mode] = (all_["seconds"] - one["seconds"]) / (len(many) - 1)
        print(f"{mode:10} {one['seconds']:9.2f} {all_['seconds']:12.2f} {slopes[mode]:11.3f}")
    extra = slopes["local:1"] - slopes["plain"]
    print(f"the cluster path's overhead per input: {extra:.3f} s (a job sent, a fresh pipeline "
          f"on the worker, its faces' queue and batches, the input opened twice: driver and "
          f"worker); start-up: the 1-input row's difference")
    return extra


def real_faces(result: Path) -> tuple[list[bytes], int]:
    """The crops (PNG bytes) of a result's faces, and how many there are."""
    with open(result / "faces.csv", newline="") as file:
        files = [row["file"] for row in csv.DictReader(file)]
    return [(result / name).read_bytes() for name in files], len(files)


def face_batches(faces: int, people: int, crops: list[bytes], batch_faces: int) -> list[bytes]:
    """``faces`` face records as the workers send them, pickled in batches: the real crops,
    synthetic encodings of ``people`` persons (2% strangers), a track each."""
    from facesort.cluster.jobs import FaceBatch
    from facesort.records.face import Face

    rng = np.random.default_rng(13)
    centres = rng.normal(0.0, 0.1, (people, 128))
    batches = []
    for start in range(0, faces, batch_faces):
        records = []
        for number in range(start, min(faces, start + batch_faces)):
            encoding = (rng.normal(0.0, 0.1, 128) if rng.random() < 0.02 else
                        centres[rng.integers(people)] + rng.normal(0.0, 0.01, 128))
            records.append(Face(f"bench_f{number:06d}_0.png", encoding, (10, 60, 60, 10),
                                "bench.mp4", number, number / FPS,
                                crop_png=crops[number % len(crops)], track_id=number + 1))
        batches.append(pickle.dumps(FaceBatch("attempt", len(batches), records), protocol=5))
    return batches


class BatchFeed:
    """The driver's side of a cluster run without the cluster: the batches unpickled and
    renumbered, handed to the frame loop (app.run.sort_frames) as ClusterWork hands them;
    ``marks`` when 1,000, ``faces`` - 1,000 and ``faces`` faces were sorted."""

    def __init__(self, batches: list[bytes], faces: int) -> None:
        from facesort.pipeline.frames import PipelineStats

        self.batches, self.faces = batches, faces
        self.stats = PipelineStats()
        self.marks: dict[object, float] = {}

    def run(self, inputs: object):
        from facesort.pipeline.frames import FrameFaces
        from facesort.records.source import SourceInfo, SourceKind

        info = SourceInfo("bench.mp4", SourceKind.VIDEO, FPS, self.faces, 640, 360)
        started, done = time.perf_counter(), 0
        for data in self.batches:
            batch = pickle.loads(data)
            for face in batch.faces:
                face.track_id += 1000  # the driver's renumbering
            yield FrameFaces(info, 0, batch.faces[-1].time_s, None, [], batch.faces, None,
                             frames=len(batch.faces))
            done += len(batch.faces)  # the loop sorted and stored them before asking again
            for mark in (1_000, self.faces - 1_000, self.faces):
                if done >= mark and mark not in self.marks:
                    self.marks[mark] = time.perf_counter() - started

    def drain(self) -> list:
        return []

    def close(self) -> None:
        pass


def driver_cost(crops: list[bytes], faces: int, people: int, batch_faces: int) -> dict:
    """Part 3: seconds to unpickle, renumber, sort and save ``faces`` face records, through
    the run's own frame loop."""
    from facesort.app.progress import Progress
    from facesort.app.run import sort_frames
    from facesort.app.session import ResultSession
    from facesort.app.view import FrameOutput, StopRequest
    from facesort.records.face import DEFAULT_THRESHOLD
    from facesort.sorting.classifier import make_classifier
    from person_db import PersonDB

    batches = face_batches(faces, people, crops, batch_faces)
    sent = sum(len(batch) for batch in batches)
    folder = Path(tempfile.mkdtemp(prefix="cluster-bench-driver-"))
    try:
        db = PersonDB()
        session = ResultSession(db, folder / "r")  # autosaves every 60 s, as a run does
        classifier = make_classifier(DEFAULT_THRESHOLD)
        feed = BatchFeed(batches, faces)
        started = time.perf_counter()
        with contextlib.redirect_stdout(io.StringIO()):
            loop = sort_frames(feed, None, classifier, db, session,  # type: ignore[arg-type]
                               FrameOutput(display=False, capture_dir=None),
                               Progress(None, enabled=False), StopRequest())
            if loop.failure is not None:
                raise loop.failure
            marks = feed.marks
            list(classifier.consolidate(db))  # the end of a run: merges, then the last save
            marks["merged"] = time.perf_counter() - started
            session.save()
            session.close()
        marks["saved"] = time.perf_counter() - started
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    return {"marks": marks, "bytes_per_face": sent / faces}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--work", type=Path,
                        default=Path(tempfile.gettempdir()) / "face-classifier-cluster-bench",
                        help="where the videos and scratch results go")
    parser.add_argument("--seconds", default="0.5", help="-S of the throughput runs")
    parser.add_argument("--faces", type=int, default=10_000, help="faces the driver sorts")
    parser.add_argument("--people", type=int, default=50)
    parser.add_argument("--driver-only", action="store_true",
                        help="only part 3, on the faces of an earlier run's plain result")
    args = parser.parse_args()
    if not (EVAL / "make_video.py").exists():
        print("cluster bench: skipped (needs ../shared for the dev videos)")
        return 0
    try:
        import distributed  # noqa: F401
    except ImportError:
        print("cluster bench: skipped (needs dask: pip install '.[cluster]')")
        return 0
    from facesort.app.session import DEFAULT_AUTOSAVE_S
    from facesort.cluster.driver import BATCH_FACES

    args.work.mkdir(parents=True, exist_ok=True)
    videos = dev_videos(args.work)
    print(f"cluster bench on {os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f} at "
          f"the start", flush=True)
    if args.driver_only:  # the driver's part alone, on the faces of an earlier plain run
        rows, plain, extra = None, args.work / "result-plain", 0.0
    else:
        rows, plain = throughput(args.work, videos, args.seconds)
        extra = overhead(args.work, videos)

    crops, found = real_faces(plain)
    length_h = video_seconds(videos) / 3600
    cost = driver_cost(crops, args.faces, args.people, BATCH_FACES)
    marks = cost["marks"]
    per_hour = cost["bytes_per_face"] * found / length_h
    print(f"\n3. the driver: {args.faces} face records (real crops, {args.people} persons), "
          f"unpickled, sorted, saved")
    last = (marks[args.faces] - marks[args.faces - 1_000]) / 1_000
    print(f"  sorted: 1,000 faces in {marks[1_000]:.1f} s, {args.faces:,} in "
          f"{marks[args.faces]:.1f} s ({last * 1e3:.1f} ms a face at the last 1,000, autosaves "
          f"included); the end of the run: merges {marks['merged'] - marks[args.faces]:.1f} s, "
          f"the final save {marks['saved'] - marks['merged']:.1f} s")
    print(f"  a face record: {cost['bytes_per_face'] / 1e3:.1f} kB pickled; the dev videos give "
          f"{found / length_h:.0f} faces per hour of video at -S {args.seconds}: "
          f"{per_hour / 1e6:.0f} MB of face records per hour of video")

    if rows is None:
        return 0
    per_worker = length_h * 3600 / rows["local:1"]["seconds"]   # video s per s, one worker
    faces_per_worker_s = found / (length_h * 3600) * per_worker
    sorting = 1 / last                                          # faces/s, sorting alone
    save = marks["saved"] - marks["merged"]                     # an autosave at this size
    sustained = sorting * max(0.0, DEFAULT_AUTOSAVE_S - save) / DEFAULT_AUTOSAVE_S
    mb = cost["bytes_per_face"] / 1e6
    print(f"\non paper, with {args.faces:,} faces in the result: one worker process here does "
          f"{per_worker:.1f} s of video a second ({faces_per_worker_s:.1f} faces/s, "
          f"{faces_per_worker_s * mb:.2f} MB/s of face records). The driver sorts {sorting:.0f} "
          f"faces/s: {sorting / faces_per_worker_s:.0f} such workers' worth, "
          f"{sorting * mb:.0f} MB/s coming in; with an autosave every "
          f"{DEFAULT_AUTOSAVE_S:g} s taking {save:.0f} s, {sustained:.0f} faces/s: "
          f"{sustained / faces_per_worker_s:.0f} workers. Both fall as the result grows (the "
          f"rules compare each face with every face; a save redraws every montage). "
          f"Per-input overhead {extra:.2f} s.")
    print(f"(load average {os.getloadavg()[0]:.1f} at the end)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
