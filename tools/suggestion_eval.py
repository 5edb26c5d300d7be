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

from facesort.report.suggestions import suggest  # noqa: E402
from facesort.result.layout import FACES_CSV
from person_db import PersonDB


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


def majority_identity(person, truth: dict[str, str | None]) -> str | None:
    return Counter(truth.get(f.file_name) for f in person.faces).most_common(1)[0][0]


def evaluate(gt_path: Path, result: Path) -> dict:
    db = PersonDB()
    with contextlib.redirect_stdout(io.StringIO()):
        db.load(result)
    truth = identities(gt_path, result)
    majority = {p.name: majority_identity(p, truth) for p in db.persons}
    by_identity: dict[str, list[str]] = {}
    for name, identity in majority.items():
        if identity is not None:
            by_identity.setdefault(identity, []).append(name)
    split = {identity: names for identity, names in by_identity.items() if len(names) > 1}
    found = suggest(db.persons, db.unknown)
    ranked = [(frozenset((s.kept, s.absorbed)), s.distance) for s in found.merges]
    in_two = []  # the brief's check: an identity in two folders is a suggested pair
    for identity, names in sorted(split.items()):
        if len(names) != 2:
            continue
        pair = frozenset(names)
        rank = next((k for k, (p, _) in enumerate(ranked, 1) if p == pair), None)
        wrong_above = None if rank is None else sum(
            1 for p, _ in ranked[:rank - 1] if not same_identity(p, majority))
        in_two.append({"identity": identity, "pair": sorted(pair), "rank": rank,
                       "wrong_above": wrong_above})
    place_right = sum(truth.get(s.face) is not None and truth.get(s.face) == majority.get(s.person)
                      for s in found.unknowns)
    misplaced_right = sum(truth.get(s.face) != majority.get(s.person) for s in found.misplaced)
    figures = {
        "persons": len(db.persons), "identities_split": len(split),
        "identities_in_two_folders": len(in_two), "suggested_merges": len(found.merges),
        "right_merges": sum(same_identity(p, majority) for p, _ in ranked),
        "in_two_folders": in_two,
        "ok": all(r["rank"] is not None and r["wrong_above"] <= 1 for r in in_two),
        "unknown_faces": len(db.unknown.faces), "unknown_suggestions": len(found.unknowns),
        "unknown_suggestions_right": place_right,
        "misplaced_suggestions": len(found.misplaced), "misplaced_really": misplaced_right,
    }
    figures.update(review_session(db, truth))
    return figures


def same_identity(pair: frozenset[str], majority: dict[str, str | None]) -> bool:
    a, b = (majority[name] for name in pair)
    return a is not None and a == b


def review_session(db: PersonDB, truth: dict[str, str | None]) -> dict:
    """A user who takes the top merge suggestion each time: accepts it when right (the two
    persons are one identity), dismisses it when wrong, until none is left. How many wrong ones
    did they see before each split identity was one person?"""
    dismissed: set[str] = set()
    wrong = 0
    whole_after: dict[str, int] = {}
    split = {identity for identity, count in Counter(
        majority_identity(p, truth) for p in db.persons).items() if identity and count > 1}
    while True:
        merges = suggest(db.persons, db.unknown, dismissed=dismissed).merges
        if not merges:
            break
        top = merges[0]
        persons = {p.name: p for p in db.persons}
        kept, absorbed = persons[top.kept], persons[top.absorbed]
        identity = majority_identity(kept, truth)
        if identity is not None and identity == majority_identity(absorbed, truth):
            db.merge_persons(kept, absorbed)
            if sum(majority_identity(p, truth) == identity for p in db.persons) == 1:
                whole_after[identity] = wrong
        else:
            dismissed.add(top.key)
            wrong += 1
    return {"session_identities_made_whole": f"{len(whole_after)} of {len(split)}",
            "session_wrong_before_each": sorted(whole_after.values()),
            "session_wrong_in_all": wrong}


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
