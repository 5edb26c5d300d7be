#!/usr/bin/env python3
"""How good are the review's merge suggestions on a result of a team dev video?

Each person is given the identity most of its faces show (ground truth from make_video.py, faces
matched with ../shared/eval/score.py); a pair of persons of one identity is an identity split in
two folders. For each such pair: is it among the suggested merges, at which rank, and how many
wrong suggestions (two identities) are ranked above it. Also counts the other suggestions.

usage: tools/suggestion_eval.py GT.json RESULT_DIR [--json]
Exit code 0 when every split pair is suggested with at most one wrong suggestion above it.
"""
from __future__ import annotations

import argparse
import contextlib
import csv
import io
import json
import os
import sys
from collections import Counter
from pathlib import Path

PROJECT = Path(__file__).resolve().parents[1]
EVAL = PROJECT.parent / "shared" / "eval"
sys.path.insert(0, str(PROJECT))

from facesort.review.suggestions import suggest  # noqa: E402
from person_db import FACES_CSV, UNKNOWNS, PersonDB  # noqa: E402


def identities(gt_path: Path, result: Path) -> dict[str, str | None]:
    """face file name -> the identity it shows (None: no tile's face, e.g. a false detection)."""
    sys.path.insert(0, str(EVAL))
    from score import label_rows

    gt = json.loads(gt_path.read_text())
    with open(result / FACES_CSV, newline="") as file:
        rows = list(csv.DictReader(file))
    video = gt_path.name[:-len(".json")] + ".mp4"
    rows = [r for r in rows if not r.get("source") or os.path.basename(r["source"]) == video]
    return {Path(r["file"]).name: (hit[2] if hit else None)
            for r, hit in zip(rows, label_rows(gt, rows))}


def evaluate(gt_path: Path, result: Path) -> dict:
    db = PersonDB()
    with contextlib.redirect_stdout(io.StringIO()):
        db.load(result)
    truth = identities(gt_path, result)
    majority = {}
    for person in db.persons:
        counts = Counter(truth.get(f.file_name) for f in person.faces)
        majority[person.name] = counts.most_common(1)[0][0]
    by_identity: dict[str, list[str]] = {}
    for name, identity in majority.items():
        if identity is not None:
            by_identity.setdefault(identity, []).append(name)
    split_pairs = {frozenset((a, b)) for names in by_identity.values()
                   for i, a in enumerate(names) for b in names[i + 1:]}
    found = suggest(db.persons, db.unknown)
    pairs = []
    wrong_above = 0
    for rank, suggestion in enumerate(found.merges, 1):
        pair = frozenset((suggestion.kept, suggestion.absorbed))
        right = pair in split_pairs
        if right:
            pairs.append({"pair": sorted(pair), "identity": majority[suggestion.kept],
                          "rank": rank, "distance": round(suggestion.distance, 3),
                          "wrong_above": wrong_above})
        else:
            wrong_above += 1
    suggested = {frozenset(p["pair"]) for p in pairs}
    missed = [sorted(p) for p in split_pairs - suggested]
    place_right = sum(truth.get(s.face) is not None and truth.get(s.face) == majority.get(s.person)
                      for s in found.unknowns)
    misplaced_right = sum(truth.get(s.face) != majority.get(s.person) for s in found.misplaced)
    return {
        "persons": len(db.persons), "split_pairs": len(split_pairs),
        "suggested_merges": len(found.merges), "split_pairs_suggested": pairs,
        "split_pairs_missed": missed,
        "ok": not missed and all(p["wrong_above"] <= 1 for p in pairs),
        "merge_distances": [[s.kept, s.absorbed, round(s.distance, 3),
                             frozenset((s.kept, s.absorbed)) in split_pairs]
                            for s in found.merges],
        "unknown_faces": len(db.unknown.faces), "unknown_suggestions": len(found.unknowns),
        "unknown_suggestions_right": place_right,
        "misplaced_suggestions": len(found.misplaced), "misplaced_really": misplaced_right,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("gt", type=Path, help="the video's ground truth (make_video.py's .json)")
    parser.add_argument("result", type=Path, help="the result directory of a run on the video")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    args = parser.parse_args(argv)
    if not EVAL.is_dir():
        print(f"suggestion_eval: error: needs {EVAL} (the team's evaluation scripts)",
              file=sys.stderr)
        return 2
    figures = evaluate(args.gt, args.result)
    if args.json:
        print(json.dumps(figures))
    else:
        for key, value in figures.items():
            print(f"{key}: {value}")
    return 0 if figures["ok"] else 1


if __name__ == "__main__":
    sys.exit(main())
