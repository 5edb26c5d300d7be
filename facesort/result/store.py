"""The result directory as a store: load the persons the user left there, write new face images
as they are found, save every face into its person's folder (journaled), and the montages."""
from __future__ import annotations

import contextlib
import logging
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Collection, Iterable

import numpy as np

from facesort import storage
from facesort.records.face import LEGACY_ENCODER, UNKNOWN_POOL, Face, Person, Roster
from facesort.records.source import IMAGE_SUFFIXES
from facesort.result import journal
from facesort.result.encodings_file import EncodingsFile, read_stored
from facesort.result.faces_csv import FacesCsvRows, face_of_row, read_faces_csv
from facesort.result.layout import (
    ENCODINGS_FILE,
    FACES_CSV,
    JOURNAL_FILE,
    LEGACY_ENCODINGS_FILE,
    SET_ASIDE,
    STAGING,
    regular_file,
)
from facesort.result.montages import Montages
from facesort.result.staging import finish_interrupted_save

log = logging.getLogger(__name__)

LISTED_AT_LOAD = 20   # persons named one a line when a result loads (the post's summary's 20)
EncodeImage = Callable[[np.ndarray], np.ndarray]


class EncoderMismatch(Exception):
    """A result's encodings were made by another encoder than the one at hand."""


@dataclass
class LoadedResult:
    """What a result directory holds: its persons (the user's folders), the unknown pool."""

    encoder: str
    persons: list[Person] = field(default_factory=list)
    unknown: Person | None = None
    entry_names: list[str] = field(default_factory=list)  # person_NN never to be given again
    set_aside: set[str] = field(default_factory=set)


class ResultStore:
    """Where each face's image lies in one result directory, and the montages written there."""

    def __init__(self) -> None:
        # face file name -> where its image lies: 'folder/file', relative to the result
        self.locations: dict[str, str] = {}
        self.csv_rows = FacesCsvRows()
        self.montages = Montages()
        self.encodings_file = EncodingsFile()
        # the staging folder is written in the frame loop while a save in the background may
        # remove it once empty: one of the two at a time
        self._staging = threading.Lock()

    def __getstate__(self) -> dict[str, object]:
        """A copy (copy.deepcopy) gets a lock of its own."""
        return {key: value for key, value in self.__dict__.items() if key != "_staging"}

    def __setstate__(self, state: dict[str, object]) -> None:
        self.__dict__.update(state)
        self._staging = threading.Lock()

    def has_saved_face(self, file_name: str) -> bool:
        """Whether a face of this file name is already on disk (loaded or saved)."""
        return file_name in self.locations

    # --- loading -------------------------------------------------------------------------
    def load(self, result_dir: Path, encoder: str, encode_image: EncodeImage | None = None,
             run_encoder: str | None = None) -> LoadedResult:
        """Read persons from the folders of ``result_dir``; folder name = person name.

        Stored encodings are reused wherever the user moved a face; images without one are
        encoded with ``encode_image`` (skipped with a warning when it is None). ``run_encoder``:
        the encoder of ``encode_image`` and of the run (None: the result's own, else
        ``encoder``); a result whose encodings another encoder made has every face image
        encoded again, once.
        """
        loaded = LoadedResult(run_encoder or encoder)
        if not result_dir.is_dir():
            return loaded
        print(f"Start loading persons in the directory '{result_dir}'.")
        started = time.time()
        finish_interrupted_save(result_dir)
        encodings, stored_encoder = self._stored_encodings(result_dir, encoder)
        if run_encoder is None:
            loaded.encoder = stored_encoder
        elif encodings and stored_encoder != run_encoder:
            if encode_image is None:
                raise EncoderMismatch(f"'{result_dir}' holds {stored_encoder}'s encodings, "
                                      f"not {run_encoder}'s")
            print(f"'{result_dir}' was sorted with {stored_encoder}'s encodings: its faces are "
                  f"encoded again with {run_encoder} (once; the next save keeps them)")
            encodings = {}
        metadata = read_faces_csv(result_dir / FACES_CSV)
        self.montages.former_names.update(row.get("person") or "" for row in metadata.values())
        aside = result_dir / SET_ASIDE
        if aside.is_dir() and not aside.is_symlink():
            loaded.set_aside = {path.name for path in aside.iterdir()
                                if path.suffix.lower() in IMAGE_SUFFIXES}
        for folder in sorted(result_dir.iterdir()):
            loaded.entry_names.append(folder.name)  # even a file or a link: a name taken
            person = self._load_folder(result_dir, folder, encodings, metadata, encode_image)
            if person is None:
                continue
            if person.name == UNKNOWN_POOL:
                loaded.unknown = person
            else:
                loaded.persons.append(person)
        print_loaded(loaded.persons, loaded.unknown)
        print(f"Loading persons finished in {time.time() - started:.3f} sec.")
        return loaded

    def _load_folder(self, result_dir: Path, folder: Path, encodings: dict[str, np.ndarray],
                     metadata: dict[str, dict[str, str]],
                     encode_image: EncodeImage | None) -> Person | None:
        """The person of one folder; None for a hidden entry, a file, a link, an empty one."""
        if folder.name.startswith(".") or not folder.is_dir():
            return None
        if folder.is_symlink():
            log.warning("skipping %s: symbolic links are not followed", folder)
            return None
        self.montages.former_names.add(folder.name)
        faces = []
        for image_path in sorted(folder.iterdir()):
            face = self._load_face(image_path, encodings, metadata, encode_image)
            if face is not None:
                faces.append(face)
                self.locations[face.file_name] = f"{folder.name}/{image_path.name}"
        return Person(folder.name, faces) if faces else None

    @staticmethod
    def _stored_encodings(result_dir: Path,
                          encoder: str) -> tuple[dict[str, np.ndarray], str]:
        """The encodings stored in the result and their encoder: its .npz, else the original
        tool's pickle (dlib's); none, and ``encoder``, when it has neither.

        Every save stores the encodings of all faces in the .npz (with the one of faces added
        since, encodings_file.py), so once it exists the pickle beside it is stale and is not read (a damaged .npz means encoding the images
        again, not going back to it). The user's old file is never deleted.
        """
        legacy = result_dir / LEGACY_ENCODINGS_FILE
        current = result_dir / ENCODINGS_FILE
        if regular_file(current):
            found = read_stored(result_dir)
            stored, stored_encoder = found.encodings, found.encoder
            print(f"{len(stored)} face_encodings in {current}")
            if regular_file(legacy):
                log.info("not reading %s, the original tool's file: %s replaced it", legacy,
                         current)
            return stored, stored_encoder
        if not regular_file(legacy):
            return {}, encoder
        stored = storage.load_legacy_encodings(legacy)
        print(f"{len(stored)} face_encodings in {legacy}, the original tool's file: converted "
              f"to {current} at the next save, which is read from then on (the old file is "
              f"kept, and no longer read)")
        return stored, LEGACY_ENCODER

    def _load_face(self, image_path: Path, encodings: dict[str, np.ndarray],
                   metadata: dict[str, dict[str, str]],
                   encode_image: EncodeImage | None) -> Face | None:
        name = image_path.name
        if name.startswith(".") or image_path.suffix.lower() not in IMAGE_SUFFIXES:
            return None
        if not regular_file(image_path):
            if not image_path.is_symlink():
                log.warning("skipping %s: not a regular file", image_path)
            return None
        if name in self.locations:
            log.warning("skipping %s: a face of the same name is already in %s",
                        image_path, self.locations[name].split("/")[0])
            return None
        encoding = encodings.get(name)
        if encoding is None:
            encoding = encode_stored_image(image_path, encode_image)
            if encoding is None:
                return None
        return face_of_row(name, encoding, metadata.get(name, {}))

    # --- saving --------------------------------------------------------------------------
    def write_new_faces(self, result_dir: Path, faces: Iterable[Face],
                        set_aside: Collection[str] = ()) -> int:
        """Write the images of new faces to disk now and drop them from memory.

        They wait in the staging folder until the next save moves them to their person's
        folder, so memory does not grow with the faces found. Returns how many were written.
        """
        new = [face for face in faces
               if (face.crop is not None or face.crop_png is not None)
               and face.file_name not in self.locations and face.file_name not in set_aside]
        if not new:  # a save's look at every face: no need to wait for the lock
            return 0
        written = 0
        with self._staging:
            result_dir.mkdir(parents=True, exist_ok=True)
            storage.own_folder(result_dir / STAGING)
            for face in new:
                if face.file_name in self.locations:  # twice in ``faces``
                    continue
                image = (face.crop_png if face.crop_png is not None
                         else storage.encode_png(face.crop))
                storage.atomic_write_bytes(result_dir / STAGING / face.file_name, image)
                face.crop = face.crop_png = None
                self.locations[face.file_name] = f"{STAGING}/{face.file_name}"
                written += 1
        return written

    def save(self, result_dir: Path, roster: Roster, set_aside: Collection[str] = ()) -> None:
        """Put every face in its person's folder, with its encoding and its row in faces.csv.

        The order makes a kill at any instant leave the previous save or this one: new face
        images to the staging folder, all encodings, then the journal of moves with the new
        faces.csv (from here on the save is done: a load finishes it), the moves.
        Nothing is deleted first and no file of the user's is replaced.
        """
        result_dir.mkdir(parents=True, exist_ok=True)
        journal_path = result_dir / JOURNAL_FILE
        journal.finish(journal_path, result_dir)  # an earlier save that was cut short
        self.write_new_faces(result_dir, (face for _, face in roster.all_faces()), set_aside)
        self.encodings_file.save(
            result_dir, {face.file_name: face.encoding for _, face in roster.all_faces()},
            roster.encoder)
        targets = {face.file_name: f"{person.name}/{face.file_name}"
                   for person, face in roster.all_faces() if face.file_name in self.locations}
        moves = [(self.locations[name], target) for name, target in targets.items()
                 if self.locations[name] != target]
        for folder in {target.split("/")[0] for _, target in moves}:
            storage.check_folder(result_dir / folder)  # fail now, while the last save is whole
        csv_text = self.csv_rows.text((person.name, face, targets.get(face.file_name))
                                      for person, face in roster.all_faces())
        in_place = journal.apply(journal_path, result_dir,
                                 journal.Journal(moves=moves, files={FACES_CSV: csv_text}))
        for _, target in moves:
            if target in in_place:
                self.locations[target.split("/")[1]] = target
        with self._staging, contextlib.suppress(OSError):  # empty now, unless a face could
            (result_dir / STAGING).rmdir()  # not be placed or came in the meantime

    def save_montages(self, result_dir: Path, persons: list[Person],
                      say: Callable[[str], None] = print) -> None:
        """Montage pages of these persons (only changed pages are redrawn)."""
        self.montages.save(result_dir, persons, self.locations, say)


def print_loaded(persons: list[Person], unknown: Person | None) -> None:
    """The post's line per person loaded, for up to LISTED_AT_LOAD of them (a library's
    thousand persons get one line for the rest), then the unknown faces'."""
    for person in persons[:LISTED_AT_LOAD]:
        print(faces_line(person))
    rest = persons[LISTED_AT_LOAD:]
    if rest:
        print(f"... and {len(rest)} more persons, {sum(len(p.faces) for p in rest)} faces")
    if unknown is not None:
        print(faces_line(unknown))


def faces_line(person: Person) -> str:
    faces = len(person.faces)
    return f"{person.name} has {faces} face{'' if faces == 1 else 's'}"


def encode_stored_image(image_path: Path, encode_image: EncodeImage | None) -> np.ndarray | None:
    """The encoding of a face image that has none stored; None, with a warning, when the image
    cannot be read or encoded."""
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
    return encoding


def stored_encoder(result_dir: Path) -> str:
    """The encoder whose encodings ``result_dir`` holds."""
    current = result_dir / ENCODINGS_FILE
    return storage.read_encodings(current).encoder if regular_file(current) else LEGACY_ENCODER
