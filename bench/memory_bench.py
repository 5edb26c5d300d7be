#!/usr/bin/env python3
"""Sorting cost, resident memory and save time as a library grows to --faces faces, with
autosaves, as in a webcam left running for a day or years of photos sorted in one run.

No detector and no video: each face gets a synthetic encoding (one of --people persons plus a
little noise, or now and then a stranger) and a small generated crop. Everything else is the
real thing: sort_faces with the default rules (--faithful: the post's), PersonDB, ResultSession
with its autosaves, files on disk. The last 1,000 faces come without an autosave, and the save
after them is timed. Prints a table as it goes and, last, one JSON line:

    {"faces": N, "sort_ms_per_face_at_10k": .., "sort_ms_per_face_at_end": ..,
     "rss_mb_at_end": .., "save_s_after_1000_new_at_end": .., ...}

(sorting is timed over the 1,000 faces up to 10,000 and over the last 1,000, with no autosave
written in the background meanwhile; the frame loop's stall is the longest
ResultSession.add_faces call that started an autosave).
"""
from __future__ import annotations

import argparse
import json
import resource
import shutil
import sys
import tempfile
import time
from pathlib import Path

import cv2
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from facesort.app.session import ResultSession  # noqa: E402
from facesort.records.face import DEFAULT_THRESHOLD, Face  # noqa: E402
from facesort.sorting.classifier import make_classifier  # noqa: E402
from facesort.sorting.sort_step import sort_faces  # noqa: E402
from person_db import PersonDB  # noqa: E402

WINDOW = 1_000        # faces a sorting cost is averaged over; new faces before the timed save
AT = 10_000           # the library size the cost at the end is compared with


def resident_mb() -> float:
    """This process's resident memory now (Linux), in MB."""
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    raise RuntimeError("no VmRSS in /proc/self/status")


def peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def synthetic_face(number: int, rng: np.random.Generator, centres: np.ndarray,
                   stranger_rate: float, crop_px: int) -> Face:
    """A face of one of the persons (distance ~0.11 to its centre, centres ~1.6 apart),
    or a stranger; its crop is a gradient with its number written on it (a few kB as PNG)."""
    if rng.random() < stranger_rate:
        encoding = rng.normal(0.0, 0.1, 128)
    else:
        encoding = centres[rng.integers(len(centres))] + rng.normal(0.0, 0.01, 128)
    crop = np.empty((crop_px, crop_px, 3), np.uint8)
    crop[:] = np.linspace(0, 255, crop_px, dtype=np.uint8)[None, :, None]
    crop[..., 1] = number % 256
    cv2.putText(crop, str(number), (4, crop_px // 2), cv2.FONT_HERSHEY_SIMPLEX, 0.5,
                (255, 255, 255), 1)
    return Face(file_name=f"bench_f{number:06d}_0.png", encoding=encoding,
                box=(crop_px // 3, 2 * crop_px // 3, 2 * crop_px // 3, crop_px // 3),
                source="bench.mp4", frame=number, time_s=number / 25, crop=crop)


def disk_mb(folder: Path) -> float:
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file()) / 1e6


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--faces", type=int, default=AT, help=f"faces in all (>= {2 * WINDOW})")
    parser.add_argument("--people", type=int, default=50)
    parser.add_argument("--strangers", type=float, default=0.02,
                        help="share of faces that match nobody (they stay in the unknown pool)")
    parser.add_argument("--crop", type=int, default=96, help="crop side in pixels")
    parser.add_argument("--autosave", type=float, default=2.0, help="seconds between autosaves")
    parser.add_argument("--faithful", action="store_true", help="the post's sorting rules")
    parser.add_argument("--result", type=Path, help="result directory (default: a temporary one)")
    args = parser.parse_args()
    if args.faces < 2 * WINDOW:
        parser.error(f"--faces must be at least {2 * WINDOW}")
    return args


def main() -> int:
    args = parse_args()
    result = args.result or Path(tempfile.mkdtemp(prefix="memory-bench-")) / "result"
    rng = np.random.default_rng(0)
    centres = rng.normal(0.0, 0.1, (args.people, 128))
    db = PersonDB()
    session = ResultSession(db, result, autosave_s=args.autosave)
    classifier = make_classifier(DEFAULT_THRESHOLD, faithful=args.faithful)
    rules = "the post's rules" if args.faithful else "the default rules"
    print(f"{args.faces} synthetic faces of {args.people} persons ({args.strangers:.0%} "
          f"strangers), {rules}, {args.crop}x{args.crop} crops, written as found, autosave "
          f"every {args.autosave:g} s, into {result}")
    print(f"{'faces':>7} {'RSS MB':>8} {'seconds':>8} {'autosaves':>9} {'sort ms/face':>12}")
    started = time.monotonic()
    sorting = np.zeros(args.faces + 1)   # seconds each face took to sort
    quiet_from = args.faces - WINDOW     # no autosave among the last WINDOW faces
    at = min(AT, args.faces)             # nor among the WINDOW faces up to here
    interval = args.autosave
    stalls = [0.0]                       # seconds add_faces took when it started an autosave
    for number in range(1, args.faces + 1):
        faces = [synthetic_face(number, rng, centres, args.strangers, args.crop)]
        begun = time.perf_counter()
        sort_faces(faces, classifier, db)
        sorting[number] = time.perf_counter() - begun
        if number == at - WINDOW < quiet_from:  # the sorting timed up to AT, without an
            session.wait_for_autosave()         # autosave written beside it
            interval, session.autosave_s = session.autosave_s, 0
        if number == at < quiet_from:
            session.autosave_s = interval
        if number == quiet_from:
            session.save(announce=False)
            session.autosave_s = 0
        autosaves, begun = session.autosaves, time.perf_counter()
        session.add_faces(faces)
        if session.autosaves > autosaves:
            stalls.append(time.perf_counter() - begun)
        if number % 10_000 == 0 or number == quiet_from:
            window = sorting[max(1, number - WINDOW + 1):number + 1]
            print(f"{number:>7} {resident_mb():>8.1f} {time.monotonic() - started:>8.1f} "
                  f"{session.autosaves:>9} {1000 * window.mean():>12.3f}", flush=True)
    save_started = time.monotonic()
    session.save(announce=False)
    save_s = time.monotonic() - save_started
    rss_at_end = resident_mb()
    end_started = time.monotonic()
    classifier.consolidate(db)  # as a run does before its last save
    session.save(announce=False)
    session.close()
    end_s = time.monotonic() - end_started
    print(f"end of run (merges, the pool placed again, the final save): {end_s:.2f} s; "
          f"{db!r}; {disk_mb(result):.0f} MB on disk")
    line = {"faces": args.faces,
            "sort_ms_per_face_at_10k": round(1000 * sorting[at - WINDOW + 1:at + 1].mean(), 4),
            "sort_ms_per_face_at_end": round(1000 * sorting[-WINDOW:].mean(), 4),
            "rss_mb_at_end": round(rss_at_end, 1),
            "save_s_after_1000_new_at_end": round(save_s, 3),
            "autosave_stall_s_max": round(max(stalls), 3),
            "autosave_stall_s_mean": round(sum(stalls[1:]) / max(1, len(stalls) - 1), 3),
            "peak_rss_mb": round(peak_mb(), 1), "end_of_run_s": round(end_s, 2),
            "total_s": round(time.monotonic() - started, 1)}
    if args.result is None:
        shutil.rmtree(result.parent)
    print(json.dumps(line))
    return 0


if __name__ == "__main__":
    sys.exit(main())
