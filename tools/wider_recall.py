#!/usr/bin/env python3
"""How many of the WIDER photos' faces a run saved: faces.csv of a result scored against the
labels of ../shared/data/wider-val, with bench/detector_bench.py's rule (valid faces 16 px tall
and up; a saved face box finds a labelled face when their IoU is at least 0.4, each matched
once, best overlap first; a saved face overlapping no labelled box that much is false).

    face-classifier ../shared/data/wider-val --result /tmp/w -q [--detector hog]
    tools/wider_recall.py /tmp/w

Unlike the bench, which scores the detector alone, this scores what ends up in the result:
faces too small to encode (under ~32 px with YuNet) are found but not saved. Skips (exit 0)
when ../shared is absent.

usage: tools/wider_recall.py RESULT_DIR [--wider DIR]
"""
from __future__ import annotations

import argparse
import csv
import json
import sys
from pathlib import Path

import numpy as np

PROJECT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(PROJECT / "bench"))
from detector_bench import SIZE_BINS, Tally, score_image, size_group  # noqa: E402

WIDER = PROJECT.parent / "shared" / "data" / "wider-val"


def saved_boxes(result: Path) -> dict[str, np.ndarray]:
    """The saved face boxes of each photo (by file stem) as left, top, right, bottom rows."""
    boxes: dict[str, list[list[float]]] = {}
    with (result / "faces.csv").open(newline="") as file:
        for row in csv.DictReader(file):
            stem = Path(row["source"]).stem
            boxes.setdefault(stem, []).append(
                [float(row[key]) for key in ("left", "top", "right", "bottom")])
    return {stem: np.array(rows).reshape(-1, 4) for stem, rows in boxes.items()}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("result", type=Path, help="the result directory of a run on the photos")
    parser.add_argument("--wider", type=Path, default=WIDER,
                        help="the photos and their labels.json (default: ../shared/data/wider-val)")
    args = parser.parse_args()
    if not (args.wider / "labels.json").exists():
        print(f"wider_recall: skipped, no labels at {args.wider}")
        return 0
    labels = json.loads((args.wider / "labels.json").read_text())
    saved = saved_boxes(args.result)
    unknown = sorted(set(saved) - set(labels))
    tally = Tally()
    for name, label in sorted(labels.items()):
        score_image(tally, saved.get(name, np.empty((0, 4))), label)
    groups = (["all"] + [size_group(low) for low, _ in SIZE_BINS]
              + ["pose typical", "pose atypical", "light normal", "light extreme"])
    print(f"{args.result / 'faces.csv'}: {sum(len(b) for b in saved.values())} faces saved from "
          f"{len(saved)} of the {len(labels)} photos")
    for group in groups:
        print(f"  {group:14s} {tally.found.get(group, 0):4d} / {tally.total.get(group, 0):4d} "
              f"= {tally.recall(group):>5s} %")
    print(f"  false faces saved (IoU < 0.4 with every labelled box): {tally.false}")
    if unknown:
        print(f"  (faces of {len(unknown)} photos not in labels.json, not counted: {unknown[:3]})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
