#!/usr/bin/env python3
"""Persons and their faces in memory, and the result directory that stores them.

Layout of a result directory (the user may rename folders and move face images between them):

    <person name>/<face>.png     one folder per person, named after the person
    unknowns/<face>.png          faces that match nobody yet
    montage.<name>-NN.png        128x128 tiles, 6x2 per page, for looking through a person
    face_encodings.npz           face file name -> 128-number encoding (not pickle)
    faces.csv                    one row per face: person, file, source, frame, time, box

Encodings are keyed by face file name, so a face the user moves keeps its encoding.
"""
from __future__ import annotations

import csv
import io
import logging
import re
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterator

import numpy as np

import storage

log = logging.getLogger(__name__)

Box = tuple[int, int, int, int]  # (top, right, bottom, left), as in the post

UNKNOWNS = "unknowns"
ENCODINGS_FILE = "face_encodings.npz"
LEGACY_ENCODINGS_FILE = "face_encodings"  # the original tool's pickle
FACES_CSV = "faces.csv"
CSV_COLUMNS = ["person", "file", "source", "frame", "time_s", "top", "right", "bottom", "left"]
MONTAGE_TILE = (128, 128)
MONTAGE_GRID = (6, 2)
MONTAGE_PATTERN = re.compile(r"montage\..+-\d\d+\.png")
PERSON_NUMBER = re.compile(r"person_(\d+)")


@dataclass
class Face:
    """One detected face. ``crop`` holds its image until it is written to disk."""

    file_name: str
    encoding: np.ndarray
    box: Box | None = None
    source: str = ""
    frame: int | None = None
    time_s: float | None = None
    crop: np.ndarray | None = field(default=None, repr=False)
    track_id: int | None = None  # faces of one track (followed over frames) are one person


@dataclass
class Person:
    """A named group of faces and the average of their encodings."""

    name: str
    faces: list[Face] = field(default_factory=list)
    encoding: np.ndarray | None = None

    def __post_init__(self) -> None:
        if self.encoding is None and self.faces:
            self.calculate_average_encoding()

    def add_face(self, face: Face) -> None:
        """Add a face and update the average (a running mean: O(1), not O(faces))."""
        self.faces.append(face)
        if self.encoding is None or len(self.faces) == 1:
            self.encoding = np.array(face.encoding, dtype=np.float64)
        else:
            self.encoding = self.encoding + (face.encoding - self.encoding) / len(self.faces)

    def calculate_average_encoding(self) -> None:
        self.encoding = (np.mean([f.encoding for f in self.faces], axis=0)
                         if self.faces else None)

    def distance_statistics(self) -> tuple[float, float, float]:
        """Min, mean and max distance of this person's faces to their average."""
        distances = face_distance(np.array([f.encoding for f in self.faces]), self.encoding)
        return float(distances.min()), float(distances.mean()), float(distances.max())


def face_distance(encodings: np.ndarray, encoding: np.ndarray) -> np.ndarray:
    """Euclidean distance from each row of ``encodings`` to ``encoding``."""
    if len(encodings) == 0:
        return np.empty(0)
    return np.linalg.norm(np.asarray(encodings) - encoding, axis=1)


class PersonDB:
    """All persons, the pool of unknown faces, and where each face's image lies on disk."""

    def __init__(self) -> None:
        self.persons: list[Person] = []
        self.unknown = Person(UNKNOWNS)
        self._highest_number = 0
        self._locations: dict[str, Path] = {}  # face file name -> path relative to the result
        # what the user sorted before this run: automatic merges must not undo it
        self.loaded_faces: set[str] = set()
        self.loaded_persons: set[str] = set()

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

    # --- the summary the post prints -----------------------------------------------------
    def distance_table(self) -> list[str]:
        """One line per person: distances to every person's average, then its own spread."""
        persons = sorted((p for p in self.persons if p.faces), key=lambda p: p.name)
        averages = np.array([p.encoding for p in persons])
        lines = []
        for person in persons:
            distances = " ".join(f"{d:5.3f}" for d in face_distance(averages, person.encoding))
            low, mean, high = person.distance_statistics()
            lines.append(f"{person.name:10} [ {distances} ] {low:.3f}, {mean:.3f}, {high:.3f}, "
                         f"{len(person.faces)} faces")
        return lines

    def print_persons(self) -> None:
        print(self)
        for line in self.distance_table():
            print(line)

    # --- loading -------------------------------------------------------------------------
    def load(self, result_dir: Path,
             encode_image: Callable[[np.ndarray], np.ndarray] | None = None) -> None:
        """Read persons from the folders of ``result_dir``; folder name = person name.

        Stored encodings are reused wherever the user moved a face; images without one are
        encoded with ``encode_image`` (skipped with a warning when it is None).
        """
        if not result_dir.is_dir():
            return
        print(f"Start loading persons in the directory '{result_dir}'.")
        started = time.time()
        encodings = self._stored_encodings(result_dir)
        metadata = read_faces_csv(result_dir / FACES_CSV)
        for folder in sorted(result_dir.iterdir()):
            if folder.name.startswith(".") or not folder.is_dir():
                continue
            if folder.is_symlink():
                log.warning("skipping %s: symbolic links are not followed", folder)
                continue
            match = PERSON_NUMBER.fullmatch(folder.name)
            if match:
                self._highest_number = max(self._highest_number, int(match.group(1)))
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

    def _stored_encodings(self, result_dir: Path) -> dict[str, np.ndarray]:
        encodings: dict[str, np.ndarray] = {}
        legacy = result_dir / LEGACY_ENCODINGS_FILE
        if legacy.is_file():
            encodings.update(storage.load_legacy_encodings(legacy))
            print(f"{len(encodings)} face_encodings in {legacy}")
        current = result_dir / ENCODINGS_FILE
        if current.is_file():
            stored = storage.load_encodings(current)
            print(f"{len(stored)} face_encodings in {current}")
            encodings.update(stored)
        return encodings

    def _load_face(self, result_dir: Path, image_path: Path, encodings: dict[str, np.ndarray],
                   metadata: dict[str, dict[str, str]],
                   encode_image: Callable[[np.ndarray], np.ndarray] | None) -> Face | None:
        name = image_path.name
        if name.startswith(".") or image_path.suffix.lower() not in storage.IMAGE_SUFFIXES:
            return None
        if image_path.is_symlink() or not image_path.is_file():
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
            encoding = encode_image(image)
        row = metadata.get(name, {})
        return Face(file_name=name, encoding=encoding, box=parse_box(row),
                    source=row.get("source", ""), frame=parse_int(row.get("frame")),
                    time_s=storage.parse_float(row.get("time_s", "")))

    # --- saving --------------------------------------------------------------------------
    def save(self, result_dir: Path) -> None:
        """Write new face images, move reassigned ones, then the encodings, index and montages.

        Nothing is deleted first: every file is replaced atomically, so an interrupted save
        leaves a directory that still loads.
        """
        print(f"Start saving persons in the directory '{result_dir}'.")
        started = time.time()
        result_dir.mkdir(parents=True, exist_ok=True)
        # encodings first: an image on disk should always find its encoding on the next load
        encodings = {face.file_name: face.encoding for _, face in self.all_faces()}
        storage.save_encodings(result_dir / ENCODINGS_FILE, encodings)
        for person, face in self.all_faces():
            self._place_face(result_dir, person, face)
        storage.atomic_write_bytes(result_dir / FACES_CSV, self._faces_csv().encode())
        self.save_montages(result_dir)
        from report import write_report  # report.py reads this module: imported when used
        write_report(result_dir, self)    # appearances.csv and report.html
        print(f"{result_dir / ENCODINGS_FILE} saved")
        print(f"Saving persons finished in {time.time() - started:.3f} sec.")

    def _place_face(self, result_dir: Path, person: Person, face: Face) -> None:
        target = Path(person.name) / face.file_name
        (result_dir / person.name).mkdir(exist_ok=True)
        current = self._locations.get(face.file_name)
        if face.crop is not None:
            storage.write_image(result_dir / target, face.crop)
            face.crop = None
        elif current is not None and current != target and (result_dir / current).exists():
            (result_dir / current).replace(result_dir / target)
        else:
            return
        self._locations[face.file_name] = target

    def _faces_csv(self) -> str:
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\n")
        writer.writerow(CSV_COLUMNS)
        for person, face in self.all_faces():
            location = self._locations.get(face.file_name)
            box = face.box or ("", "", "", "")
            writer.writerow([person.name, location.as_posix() if location else "", face.source,
                             "" if face.frame is None else face.frame,
                             "" if face.time_s is None else f"{face.time_s:.3f}", *box])
        return buffer.getvalue()

    def save_montages(self, result_dir: Path) -> None:
        """Montage pages for every person and the unknowns; stale pages of ours are removed."""
        import imutils  # only needed here

        written = set()
        for person in [*self.persons, self.unknown]:
            images = [storage.read_image(result_dir / self._locations[f.file_name])
                      for f in person.faces if f.file_name in self._locations]
            images = [image for image in images if image is not None]
            if not images:
                continue
            pages = imutils.build_montages(images, MONTAGE_TILE, MONTAGE_GRID)
            for number, page in enumerate(pages):
                path = result_dir / f"montage.{person.name}-{number:02d}.png"
                storage.write_image(path, page)
                written.add(path.name)
        for path in result_dir.glob("montage.*.png"):
            if MONTAGE_PATTERN.fullmatch(path.name) and path.name not in written:
                path.unlink()
        print("montages saved")


def read_faces_csv(path: Path) -> dict[str, dict[str, str]]:
    """face file name -> its row of faces.csv (source, frame, time, box); {} when unreadable."""
    if not path.is_file():
        return {}
    try:
        with path.open(newline="", encoding="utf-8") as file:
            return {Path(row["file"]).name: row for row in csv.DictReader(file)
                    if row.get("file")}
    except (OSError, UnicodeDecodeError, csv.Error, KeyError) as error:
        log.warning("ignoring %s: %s", path, error)
        return {}


def montage_pages(result_dir: Path, name: str) -> list[str]:
    """File names of a person's montage pages in ``result_dir``, in page order."""
    prefix = f"montage.{name}-"
    return sorted(path.name for path in result_dir.glob("montage.*.png")
                  if path.name.startswith(prefix) and path.name[len(prefix):-4].isdigit())


def parse_int(text: str | None) -> int | None:
    try:
        return int(text) if text not in (None, "") else None
    except ValueError:
        return None


def parse_box(row: dict[str, str]) -> Box | None:
    values = [parse_int(row.get(key)) for key in ("top", "right", "bottom", "left")]
    return None if None in values else tuple(values)  # type: ignore[return-value]


def main(argv: list[str] | None = None) -> int:
    """Load a result directory, print its summary and table, rewrite montages and encodings."""
    import argparse

    parser = argparse.ArgumentParser(description=main.__doc__)
    parser.add_argument("result_dir", nargs="?", default="result", type=Path,
                        help="result directory (default: result)")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s: %(message)s")
    if not args.result_dir.is_dir():
        print(f"error: no result directory '{args.result_dir}'", file=sys.stderr)
        return 2
    from face_detector import FaceDetector

    db = PersonDB()
    db.load(args.result_dir, encode_image=FaceDetector().encode_face_image)
    db.print_persons()
    try:
        db.save(args.result_dir)
    except OSError as error:
        print(f"error: cannot write '{args.result_dir}': {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
