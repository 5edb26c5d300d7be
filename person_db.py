#!/usr/bin/env python3
"""Persons and their faces in memory, and the result directory that stores them: the front of
facesort.sorting.roster (the persons) and facesort.result.store (their directory).

The user may rename folders and move face images between them between runs (the layout:
facesort/result/layout.py). Encodings are keyed by face file name, so a face the user moves
keeps its encoding. ``python person_db.py DIR`` loads a result and writes it anew.
"""
from __future__ import annotations

import argparse
import logging
import sys
import time
from pathlib import Path
from typing import Callable, Iterable


from face_detector import lazy_image_encoder
from facesort.inputs.video import quiet_opencv
from facesort.records.face import Face
from facesort.report.html import write_report
from facesort.report.memo import ReportMemo
from facesort.report.terminal import print_persons
from facesort.result.layout import ENCODINGS_FILE
from facesort.result.lock import ResultInUseError, lock_result, signals_held
from facesort.result.store import EncodeImage, EncoderMismatch, ResultStore, stored_encoder
from facesort.sorting.roster import Roster, RosterSnapshot

__all__ = ["EncoderMismatch", "PersonDB", "main", "stored_encoder"]

log = logging.getLogger(__name__)


class PersonDB(Roster):
    """All persons, the pool of unknown faces, and where each face's image lies on disk."""

    def __init__(self) -> None:
        super().__init__()
        self.store = ResultStore()
        self.report_memo = ReportMemo()  # what the last report was drawn from

    def has_saved_face(self, file_name: str) -> bool:
        return self.store.has_saved_face(file_name)

    def print_persons(self) -> None:
        print_persons(self)

    # --- the result directory ----------------------------------------------------------
    def load(self, result_dir: Path, encode_image: EncodeImage | None = None,
             encoder: str | None = None) -> None:
        """Read persons from the folders of ``result_dir`` (ResultStore.load): folder name =
        person name. ``encoder``: the run's (None: the result's own)."""
        loaded = self.store.load(result_dir, self.encoder, encode_image, encoder)
        self.encoder = loaded.encoder
        for name in loaded.entry_names:
            self.note_name(name)
        self.set_aside = self.set_aside | loaded.set_aside
        for person in [*loaded.persons, *([loaded.unknown] if loaded.unknown else [])]:
            self.loaded_persons.add(person.name)
            self.loaded_faces.update(f.file_name for f in person.faces)
        self.persons.extend(loaded.persons)
        if loaded.unknown is not None:
            self.unknown = loaded.unknown

    def write_new_faces(self, result_dir: Path, faces: Iterable[Face]) -> int:
        """Write the images of new faces to disk now and drop them from memory (they wait in
        the staging folder until the next save). Returns how many were written."""
        return self.store.write_new_faces(result_dir, faces, self.set_aside)

    def save(self, result_dir: Path, announce: bool = True,
             snapshot: RosterSnapshot | None = None) -> None:
        """Put every face in its person's folder, with its encoding and its row in faces.csv
        (ResultStore.save: a kill at any instant leaves the previous save or this one), then
        the montages and the report. ``snapshot``: what to write instead of the persons as they
        are now (Roster.snapshot, taken for a save in the background while sorting goes on)."""
        roster: Roster | RosterSnapshot = self if snapshot is None else snapshot
        say = print if announce else log.info
        say(f"Start saving persons in the directory '{result_dir}'.")
        started = time.time()
        self.store.save(result_dir, roster, roster.set_aside)
        self.save_montages(result_dir, say, roster)
        self._write_report(result_dir, roster)
        say(f"{result_dir / ENCODINGS_FILE} saved")
        say(f"Saving persons finished in {time.time() - started:.3f} sec.")

    def save_montages(self, result_dir: Path, say: Callable[[str], None] = print,
                      snapshot: RosterSnapshot | Roster | None = None) -> None:
        """Montage pages of every person and the unknowns (only changed pages are redrawn);
        ``snapshot``: theirs instead of the persons as they are now."""
        roster = self if snapshot is None else snapshot
        self.store.save_montages(result_dir, [*roster.persons, roster.unknown], say)

    def _write_report(self, result_dir: Path, roster: Roster | RosterSnapshot) -> None:
        """appearances.csv and report.html, drawn from what was just saved."""
        try:
            write_report(result_dir, roster, self.report_memo)
        except Exception as error:  # they can be written again; the faces are saved already
            log.warning("could not write the report: %s", error)
            log.debug("the report", exc_info=True)


def main(argv: list[str] | None = None) -> int:
    """Load a result directory, print its summary and table, rewrite montages and encodings."""
    parser = argparse.ArgumentParser(description=main.__doc__)
    parser.add_argument("result_dir", nargs="?", default="result", type=Path,
                        help="result directory (default: result)")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s: %(message)s")
    if not args.result_dir.is_dir():
        print(f"error: no result directory '{args.result_dir}'", file=sys.stderr)
        return 2
    quiet_opencv()  # a damaged image gets our one-line warning, not OpenCV's as well
    if hasattr(sys.stdout, "reconfigure"):  # a file name that is not UTF-8 still prints
        sys.stdout.reconfigure(errors="backslashreplace")
    db = PersonDB()
    try:
        with lock_result(args.result_dir):
            db.load(args.result_dir, encode_image=lazy_image_encoder(lambda: db.encoder))
            db.print_persons()
            with signals_held():
                db.save(args.result_dir)
    except ResultInUseError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    except OSError as error:
        print(f"error: could not save to '{args.result_dir}': {error.strerror or error}; "
              "it still holds the last complete save", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("error: interrupted; the result is as it was", file=sys.stderr)
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())
