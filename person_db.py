#!/usr/bin/env python3
"""Persons and their faces in memory, and the result directory that stores them.

The user may rename folders and move face images between them between runs (the layout:
facesort/result/layout.py). Encodings are keyed by face file name, so a face the user moves
keeps its encoding. ``python person_db.py DIR`` loads a result and writes it anew.
"""
from __future__ import annotations

import argparse
import contextlib
import logging
import sys
import time
from pathlib import Path
from typing import Callable, Iterable, Iterator

import numpy as np

from face_detector import lazy_image_encoder
from facesort import storage
from facesort.inputs.video import quiet_opencv
from facesort.records.face import Face, Person
from facesort.records.source import IMAGE_SUFFIXES
from facesort.report.html import write_report
from facesort.report.terminal import print_persons
from facesort.result import journal
from facesort.result.faces_csv import (
    faces_csv_text,
    parse_box,
    parse_int,
    parse_unfit,
    read_faces_csv,
)
from facesort.result.layout import (
    ENCODINGS_FILE,
    FACES_CSV,
    JOURNAL_FILE,
    LEGACY_ENCODINGS_FILE,
    PERSON_NUMBER,
    SET_ASIDE,
    STAGING,
    UNKNOWNS,
    regular_file,
)
from facesort.result.lock import ResultInUseError, lock_result, signals_held
from facesort.result.montages import Montages
from facesort.result.staging import finish_interrupted_save
from facesort.storage import LEGACY_ENCODER

log = logging.getLogger(__name__)

class EncoderMismatch(Exception):
    """A result's encodings were made by another encoder than the one at hand."""


class PersonDB:
    """All persons, the pool of unknown faces, and where each face's image lies on disk."""

    def __init__(self) -> None:
        self.persons: list[Person] = []
        self.unknown = Person(UNKNOWNS)
        self._highest_number = 0
        self._locations: dict[str, Path] = {}  # face file name -> path relative to the result
        self._montages = Montages()
        # what the user sorted before this run: automatic merges must not undo it
        self.loaded_faces: set[str] = set()
        self.loaded_persons: set[str] = set()
        self.set_aside: set[str] = set()  # face file names in SET_ASIDE: never sorted again
        self.encoder = LEGACY_ENCODER   # the encoder of every encoding held (a run's, once set)

    # --- the in-memory model -------------------------------------------------------------
    def new_person(self, faces: list[Face]) -> Person:
        """A new person_NN, numbered after the highest number seen so far."""
        self._highest_number += 1
        person = Person(f"person_{self._highest_number:02d}")
        for face in faces:
            person.faces.append(face)
        person.calculate_average_encoding()
        self.persons.append(person)
        return person

    def add_person(self, person: Person) -> None:
        match = PERSON_NUMBER.fullmatch(person.name)
        if match:
            self._highest_number = max(self._highest_number, int(match.group(1)))
        self.persons.append(person)

    def merge_persons(self, kept: Person, absorbed: Person) -> None:
        """Move all of ``absorbed``'s faces to ``kept`` (their images move on the next save)."""
        kept.faces.extend(absorbed.faces)
        kept.calculate_average_encoding()
        self.persons.remove(absorbed)

    def person_of(self, file_name: str) -> Person | None:
        """The person (or the unknown pool) holding a face of this file name."""
        for person in [*self.persons, self.unknown]:
            if any(f.file_name == file_name for f in person.faces):
                return person
        return None

    def has_saved_face(self, file_name: str) -> bool:
        """Whether a face of this file name is already on disk (loaded or saved)."""
        return file_name in self._locations

    def all_faces(self) -> Iterator[tuple[Person, Face]]:
        for person in [*self.persons, self.unknown]:
            for face in person.faces:
                yield person, face

    def __repr__(self) -> str:
        known = sum(len(p.faces) for p in self.persons)
        return (f"{len(self.persons)} persons, {known} known faces, "
                f"{len(self.unknown.faces)} unknown faces")

    def print_persons(self) -> None:
        print_persons(self)

    # --- loading -------------------------------------------------------------------------
    def load(self, result_dir: Path,
             encode_image: Callable[[np.ndarray], np.ndarray] | None = None,
             encoder: str | None = None) -> None:
        """Read persons from the folders of ``result_dir``; folder name = person name.

        Stored encodings are reused wherever the user moved a face; images without one are
        encoded with ``encode_image`` (skipped with a warning when it is None). ``encoder``:
        the encoder of ``encode_image`` and of the run (None: the result's own); a result
        whose encodings another encoder made has every face image encoded again, once.
        """
        if encoder is not None:
            self.encoder = encoder
        if not result_dir.is_dir():
            return
        print(f"Start loading persons in the directory '{result_dir}'.")
        started = time.time()
        finish_interrupted_save(result_dir)
        encodings, stored_encoder = self._stored_encodings(result_dir)
        if encoder is None:
            self.encoder = stored_encoder
        elif encodings and stored_encoder != encoder:
            if encode_image is None:
                raise EncoderMismatch(f"'{result_dir}' holds {stored_encoder}'s encodings, "
                                      f"not {encoder}'s")
            print(f"'{result_dir}' was sorted with {stored_encoder}'s encodings: its faces are "
                  f"encoded again with {encoder} (once; the next save keeps them)")
            encodings = {}
        metadata = read_faces_csv(result_dir / FACES_CSV)
        self._montages.former_names.update(row.get("person") or "" for row in metadata.values())
        aside = result_dir / SET_ASIDE
        if aside.is_dir() and not aside.is_symlink():
            self.set_aside = {path.name for path in aside.iterdir()
                              if path.suffix.lower() in IMAGE_SUFFIXES}
        for folder in sorted(result_dir.iterdir()):
            match = PERSON_NUMBER.fullmatch(folder.name)
            if match:  # any entry, even a file or a link: a new person never takes its name
                self._highest_number = max(self._highest_number, int(match.group(1)))
            if folder.name.startswith(".") or not folder.is_dir():
                continue
            if folder.is_symlink():
                log.warning("skipping %s: symbolic links are not followed", folder)
                continue
            self._montages.former_names.add(folder.name)
            person = Person(folder.name)
            for image_path in sorted(folder.iterdir()):
                face = self._load_face(result_dir, image_path, encodings, metadata, encode_image)
                if face is not None:
                    person.faces.append(face)
                    self._locations[face.file_name] = image_path.relative_to(result_dir)
            if not person.faces:
                continue
            print(f"{person.name} has {len(person.faces)} faces")
            person.calculate_average_encoding()
            self.loaded_persons.add(person.name)
            self.loaded_faces.update(f.file_name for f in person.faces)
            if person.name == UNKNOWNS:
                self.unknown = person
            else:
                self.persons.append(person)
        print(f"Loading persons finished in {time.time() - started:.3f} sec.")

    def _stored_encodings(self, result_dir: Path) -> tuple[dict[str, np.ndarray], str]:
        """The encodings stored in the result and their encoder: its .npz, else the original
        tool's pickle (dlib's).

        Every save writes the .npz with the encodings of all faces, so once it exists the
        pickle beside it is stale and is not read (a damaged .npz means encoding the images
        again, not going back to it). The user's old file is never deleted.
        """
        legacy = result_dir / LEGACY_ENCODINGS_FILE
        current = result_dir / ENCODINGS_FILE
        if regular_file(current):
            stored, encoder = storage.load_encodings(current)
            print(f"{len(stored)} face_encodings in {current}")
            if regular_file(legacy):
                log.info("not reading %s, the original tool's file: %s replaced it", legacy,
                         current)
            return stored, encoder
        if not regular_file(legacy):
            return {}, self.encoder
        stored = storage.load_legacy_encodings(legacy)
        print(f"{len(stored)} face_encodings in {legacy}, the original tool's file: converted "
              f"to {current} at the next save, which is read from then on (the old file is "
              f"kept, and no longer read)")
        return stored, LEGACY_ENCODER

    def _load_face(self, result_dir: Path, image_path: Path, encodings: dict[str, np.ndarray],
                   metadata: dict[str, dict[str, str]],
                   encode_image: Callable[[np.ndarray], np.ndarray] | None) -> Face | None:
        name = image_path.name
        if name.startswith(".") or image_path.suffix.lower() not in IMAGE_SUFFIXES:
            return None
        if not regular_file(image_path):
            if not image_path.is_symlink():
                log.warning("skipping %s: not a regular file", image_path)
            return None
        if name in self._locations:
            log.warning("skipping %s: a face of the same name is already in %s",
                        image_path, self._locations[name].parent)
            return None
        encoding = encodings.get(name)
        if encoding is None:
            image = storage.read_image(image_path)
            if image is None:
                log.warning("skipping %s: not a readable image", image_path)
                return None
            if encode_image is None:
                log.warning("skipping %s: it has no stored encoding", image_path)
                return None
            print(image_path, "calculate encoding")
            try:
                encoding = np.asarray(encode_image(image), dtype=np.float64)
            except Exception as error:  # a strange picture must not stop the load
                log.warning("skipping %s: cannot encode it (%s)", image_path, error)
                return None
            if not storage.valid_encoding(encoding):
                log.warning("skipping %s: its encoding is not 128 finite numbers", image_path)
                return None
        row = metadata.get(name, {})
        return Face(file_name=name, encoding=encoding, box=parse_box(row),
                    source=row.get("source", ""), frame=parse_int(row.get("frame")),
                    time_s=storage.parse_float(row.get("time_s", "")),
                    followed_from_s=storage.parse_float(row.get("followed_from_s", "")),
                    unfit=parse_unfit(row))

    # --- saving --------------------------------------------------------------------------
    def write_new_faces(self, result_dir: Path, faces: Iterable[Face]) -> int:
        """Write the images of new faces to disk now and drop them from memory.

        They wait in the staging folder until the next save moves them to their person's
        folder, so memory does not grow with the faces found. Returns how many were written.
        """
        written = 0
        for face in faces:
            if ((face.crop is None and face.crop_png is None) or face.file_name in self._locations
                    or face.file_name in self.set_aside):
                continue
            if not written:
                result_dir.mkdir(parents=True, exist_ok=True)
                storage.own_folder(result_dir / STAGING)
            image = face.crop_png if face.crop_png is not None else storage.encode_png(face.crop)
            storage.atomic_write_bytes(result_dir / STAGING / face.file_name, image)
            face.crop = face.crop_png = None
            self._locations[face.file_name] = Path(STAGING) / face.file_name
            written += 1
        return written

    def save(self, result_dir: Path, announce: bool = True) -> None:
        """Put every face in its person's folder, with its encoding and its row in faces.csv.

        The order makes a kill at any instant leave the previous save or this one: new face
        images to the staging folder, all encodings, then the journal of moves with the new
        faces.csv (from here on the save is done: a load finishes it), the moves, montages.
        Nothing is deleted first and no file of the user's is replaced.
        """
        say = print if announce else log.info
        say(f"Start saving persons in the directory '{result_dir}'.")
        started = time.time()
        result_dir.mkdir(parents=True, exist_ok=True)
        journal_path = result_dir / JOURNAL_FILE
        journal.finish(journal_path, result_dir)  # an earlier save that was cut short
        self.write_new_faces(result_dir, (face for _, face in self.all_faces()))
        storage.save_encodings(result_dir / ENCODINGS_FILE,
                               {face.file_name: face.encoding for _, face in self.all_faces()},
                               self.encoder)
        targets = {face.file_name: Path(person.name) / face.file_name
                   for person, face in self.all_faces() if face.file_name in self._locations}
        moves = [(self._locations[name], target) for name, target in targets.items()
                 if self._locations[name] != target]
        for folder in {target.parent for _, target in moves}:
            storage.check_folder(result_dir / folder)  # fail now, while the last save is whole
        moves_journal = journal.Journal(
            moves=[(source.as_posix(), target.as_posix()) for source, target in moves],
            files={FACES_CSV: self._faces_csv(targets)})
        journal.write(journal_path, moves_journal)
        in_place = journal.carry_out(result_dir, moves_journal)
        journal.remove(journal_path)
        for _, target in moves:
            if target.as_posix() in in_place:
                self._locations[target.name] = target
        with contextlib.suppress(OSError):  # empty now, unless a face could not be placed
            (result_dir / STAGING).rmdir()
        self.save_montages(result_dir, say)
        self._write_report(result_dir)
        say(f"{result_dir / ENCODINGS_FILE} saved")
        say(f"Saving persons finished in {time.time() - started:.3f} sec.")

    def _faces_csv(self, locations: dict[str, Path]) -> str:
        return faces_csv_text((person.name, face, locations.get(face.file_name))
                              for person, face in self.all_faces())

    def save_montages(self, result_dir: Path, say: Callable[[str], None] = print) -> None:
        """Montage pages of every person and the unknowns (only changed pages are redrawn)."""
        self._montages.save(result_dir, [*self.persons, self.unknown], self._locations, say)

    def _write_report(self, result_dir: Path) -> None:
        """appearances.csv and report.html, drawn from what was just saved."""
        try:
            write_report(result_dir, self)
        except Exception as error:  # they can be written again; the faces are saved already
            log.warning("could not write the report: %s", error)
            log.debug("the report", exc_info=True)

def stored_encoder(result_dir: Path) -> str:
    """The encoder whose encodings ``result_dir`` holds."""
    current = result_dir / ENCODINGS_FILE
    return storage.load_encodings(current)[1] if regular_file(current) else LEGACY_ENCODER


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
