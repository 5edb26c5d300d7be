#!/usr/bin/env python3
"""Measure sorting quality on the team's dev videos, the post's rules against the default.

For each rule set: discovery on video A (score.py), then relabel.py plays a user who renames
and corrects the folders, a rerun on video B, and score.py --identify. Needs ../shared (the
evaluation data and scripts); without it, says so and exits 0.

The slideshow pair (seeds 11 and 12) and the motion pair (make_video.py --motion, seeds 71 and
72: tiles that move, zoom and fade, closer to real footage), each at every -S given: one
column per pair, -S and rule set. --modes picks the rule sets (default: both); extra flags go
to every run, after --.

usage: tools/evaluate.py [--work DIR] [--pairs slideshow motion] [--seconds 0.5 0]
                         [--threshold T] [--modes faithful default] [-- extra flags]
"""
from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
from pathlib import Path

PROJECT = Path(__file__).resolve().parents[1]
SHARED = PROJECT.parent / "shared"
EVAL = SHARED / "eval"
VIDEOS = {"a": ("even", "11"), "b": ("odd", "12")}
MOTION_VIDEOS = {"a": ("even", "71"), "b": ("odd", "72")}
MODES = {"faithful": ["--faithful"], "default": []}
DISCOVERY = ["bcubed_precision", "bcubed_recall", "bcubed_f1", "persons_per_identity",
             "same_frame_conflicts", "shot_recall"]
IDENTIFY = ["id_accuracy_known", "false_accept_new"]


def run(*command: object) -> str:
    completed = subprocess.run([str(c) for c in command], capture_output=True, text=True)
    if completed.returncode != 0:
        sys.exit(f"evaluate: {' '.join(map(str, command))} failed:\n{completed.stderr}")
    return completed.stdout


def dev_video(work: Path, name: str, motion: bool = False) -> Path:
    prefix = work / f"dev{'m' if motion else ''}-{name}"
    if not prefix.with_suffix(".mp4").exists():
        half, seed = (MOTION_VIDEOS if motion else VIDEOS)[name]
        run(sys.executable, EVAL / "make_video.py", SHARED / "data" / "lfw-dev", prefix,
            "--half", half, "--seed", seed, "--shots", "60", *(["--motion"] if motion else []))
    return prefix


def score(prefix: Path, result: Path, *extra: str) -> dict:
    return json.loads(run(sys.executable, EVAL / "score.py", prefix.with_suffix(".json"),
                          result / "faces.csv", "--json", *extra))


def evaluate(name: str, flags: list[str], work: Path, motion: bool = False) -> dict:
    a, b = dev_video(work, "a", motion), dev_video(work, "b", motion)
    result = work / f"result-{name}"
    if result.exists():
        shutil.rmtree(result)  # our own scratch result, under --work
    classify = [sys.executable, PROJECT / "face_classifier.py"]
    run(*classify, a.with_suffix(".mp4"), "--result", result, *flags)
    figures = score(a, result)
    run(sys.executable, EVAL / "relabel.py", a.with_suffix(".json"), result)
    run(*classify, b.with_suffix(".mp4"), "--result", result, *flags)
    rerun = score(b, result, "--identify")
    figures.update({key: rerun[key] for key in IDENTIFY})
    return figures


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--work", type=Path, default=PROJECT / "build" / "eval",
                        help="where videos and scratch results go (default: build/eval)")
    parser.add_argument("--seconds", nargs="+", default=["0.5"],
                        help="-S of the runs, one column each (default 0.5)")
    parser.add_argument("--threshold", default=None,
                        help="-t for every run (default: each encoder's own)")
    parser.add_argument("--pairs", nargs="+", choices=["slideshow", "motion"],
                        default=["slideshow"], help="the dev pairs to measure on")
    parser.add_argument("--motion", action="store_true", help="the same as --pairs motion")
    parser.add_argument("--modes", nargs="+", choices=list(MODES), default=list(MODES),
                        help="the rule sets to measure (default: both)")
    parser.add_argument("extra", nargs="*", help="more flags for both modes (after --)")
    args = parser.parse_args()
    if not (EVAL / "score.py").exists():
        print(f"evaluate: skipped, no evaluation data at {SHARED}")
        return 0
    args.work.mkdir(parents=True, exist_ok=True)
    pairs = ["motion"] if args.motion else args.pairs
    table = {}
    for pair in pairs:
        for seconds in args.seconds:
            for mode in args.modes:
                name = f"{pair}-S{seconds}-{mode}"
                threshold = ["-t", args.threshold] if args.threshold else []
                flags = ["-S", seconds, *threshold, *args.extra, *MODES[mode]]
                table[name] = evaluate(name, flags, args.work, pair == "motion")
    print(f"dev pairs at -t {args.threshold or 'default'} {' '.join(args.extra)}".rstrip())
    width = max(len(name) for name in table) + 1
    print(f"{'figure':24}" + "".join(f" {name:>{width}}" for name in table))
    for key in DISCOVERY + IDENTIFY:
        print(f"{key:24}" + "".join(f" {figures[key]:>{width}}" for figures in table.values()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
