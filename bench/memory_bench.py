#!/usr/bin/env python3
"""Resident memory while 10,000 faces go through the classifier into a result directory,
with autosaves, as in a webcam left running for a day.

No dlib and no video: each face gets a synthetic encoding (one of --people persons plus a
little noise, or now and then a stranger) and a small generated crop. Everything else is
the real thing: sort_faces with the default rules (--faithful: the post's), PersonDB,
ResultSession with its autosaves, files on disk.
Prints resident memory after 1,000 and after 10,000 faces. With --in-memory it keeps the
crops in memory until one save at the end instead, as the faithful port did, to compare.
"""
from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import time
from pathlib import Path

import cv2
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from facesort.app.session import ResultSession  # noqa: E402
from facesort.records.face import DEFAULT_THRESHOLD, Face
from facesort.sorting.classifier import make_classifier
from facesort.sorting.sort_step import sort_faces  # noqa: E402
from person_db import PersonDB

CHECKPOINTS = (1_000, 10_000)


def resident_mb() -> float:
    """This process's resident memory now (Linux), in MB."""
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    raise RuntimeError("no VmRSS in /proc/self/status")


def peak_mb() -> float:
    import resource

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


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--faces", type=int, default=CHECKPOINTS[-1])
    parser.add_argument("--people", type=int, default=50)
    parser.add_argument("--strangers", type=float, default=0.02,
                        help="share of faces that match nobody (they stay in the unknown pool)")
    parser.add_argument("--crop", type=int, default=96, help="crop side in pixels")
    parser.add_argument("--autosave", type=float, default=2.0, help="seconds between autosaves")
    parser.add_argument("--in-memory", action="store_true",
                        help="keep crops in memory until one save at the end (the faithful port)")
    parser.add_argument("--faithful", action="store_true", help="the post's sorting rules")
    parser.add_argument("--result", type=Path, help="result directory (default: a temporary one)")
    args = parser.parse_args()

    result = args.result or Path(tempfile.mkdtemp(prefix="memory-bench-")) / "result"
    rng = np.random.default_rng(0)
    centres = rng.normal(0.0, 0.1, (args.people, 128))
    db = PersonDB()
    session = ResultSession(db, result, autosave_s=0 if args.in_memory else args.autosave)
    classifier = make_classifier(DEFAULT_THRESHOLD, faithful=args.faithful)
    started = time.monotonic()
    rules = "the post's rules" if args.faithful else "the default rules"
    print(f"{args.faces} synthetic faces of {args.people} persons ({args.strangers:.0%} "
          f"strangers), {rules}, "
          f"{args.crop}x{args.crop} crops, "
          + ("crops kept in memory until the end" if args.in_memory
             else f"written as found, autosave every {args.autosave:g} s") + f", into {result}")
    print(f"{'faces':>7} {'RSS MB':>8} {'seconds':>8} {'autosaves':>9} {'on disk MB':>10}")
    print(f"{0:>7} {resident_mb():>8.1f} {0:>8.1f} {0:>9} {0:>10.1f}")
    rows = {}
    for number in range(1, args.faces + 1):
        faces = [synthetic_face(number, rng, centres, args.strangers, args.crop)]
        sort_faces(faces, classifier, db)
        if not args.in_memory:
            session.add_faces(faces)
        if number in CHECKPOINTS or number == args.faces:
            if not rows and not args.in_memory and session.autosaves == 0:
                session.save(announce=False)  # its one-time imports are not growth per face
            rows[number] = resident_mb()
            print(f"{number:>7} {rows[number]:>8.1f} {time.monotonic() - started:>8.1f} "
                  f"{session.autosaves:>9} {disk_mb(result):>10.1f}", flush=True)
    save_started = time.monotonic()
    classifier.consolidate(db)  # as a run does before its last save
    session.save(announce=False)
    session.close()
    print(f"final save: {time.monotonic() - save_started:.2f} s; {db!r}; "
          f"peak RSS {peak_mb():.1f} MB")
    if len(rows) >= 2:
        (low, low_mb), (high, high_mb) = sorted(rows.items())[0], sorted(rows.items())[-1]
        print(f"growth from {low:,} to {high:,} faces: {high_mb - low_mb:+.1f} MB "
              f"({(high_mb - low_mb) * 1024 * 1024 / (high - low):.0f} bytes a face)")
    if args.result is None:
        shutil.rmtree(result.parent)
    return 0


if __name__ == "__main__":
    sys.exit(main())
