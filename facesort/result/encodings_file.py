"""The result's encodings on disk: every face's in face_encodings.npz, and those of the faces
found since a run last wrote it in face_encodings-added.npz, so that a save of a library of
100,000 faces writes the encodings of the faces new since, not 100 MB of them all each time.

The added file extends one whole file: both carry the whole file's generation (a random
token), and an added file whose generation is not the whole file's is not read (a kill after
a new whole file, before the old added one went). A version that knows only the whole file
re-encodes the images of the faces it lacks.
"""
from __future__ import annotations

import contextlib
import logging
import secrets
from pathlib import Path

import numpy as np

from facesort import storage
from facesort.result.layout import ADDED_ENCODINGS_FILE, ENCODINGS_FILE, regular_file

log = logging.getLogger(__name__)

WHOLE_AGAIN_SHARE = 0.2   # the whole file is written again once the added one would hold this
                          # share of it: each face's encoding is written ~1 + 1/share times


class EncodingsFile:
    """Writes a result's encodings, remembering what its whole file holds since it wrote it."""

    def __init__(self) -> None:
        self._whole: dict[str, np.ndarray] = {}  # the whole file's encodings (the very arrays)
        self._generation = ""                    # "" until this run wrote the whole file
        self._encoder = ""
        self._written: tuple[int, int, int] | None = None  # the whole file's inode, size, time

    def save(self, result_dir: Path, encodings: dict[str, np.ndarray], encoder: str) -> None:
        """Store every face's encoding: the added file alone when the whole one still holds
        all the others as this run wrote it."""
        added = self._added(result_dir, encodings, encoder)
        if added is not None:
            storage.save_encodings(result_dir / ADDED_ENCODINGS_FILE, added, encoder,
                                   self._generation)
            return
        generation = secrets.token_hex(8)
        whole = result_dir / ENCODINGS_FILE
        storage.save_encodings(whole, encodings, encoder, generation)
        self._whole, self._generation, self._encoder = dict(encodings), generation, encoder
        self._written = file_mark(whole)
        added_file = result_dir / ADDED_ENCODINGS_FILE
        if added_file.is_file() and not added_file.is_symlink():
            with contextlib.suppress(FileNotFoundError):  # of another generation now
                added_file.unlink()

    def _added(self, result_dir: Path, encodings: dict[str, np.ndarray],
               encoder: str) -> dict[str, np.ndarray] | None:
        """The encodings the whole file lacks or holds others for; None when it is to be
        written whole (not written by this run, changed since, another encoder, or enough
        added to fold in)."""
        if (not self._generation or encoder != self._encoder
                or file_mark(result_dir / ENCODINGS_FILE) != self._written):
            return None
        added = {name: encoding for name, encoding in encodings.items()
                 if self._whole.get(name) is not encoding}
        return added if len(added) <= WHOLE_AGAIN_SHARE * len(self._whole) else None


def file_mark(path: Path) -> tuple[int, int, int] | None:
    """What tells a file from another put in its place: inode, size, modification time."""
    try:
        status = path.lstat()
    except OSError:
        return None
    return status.st_ino, status.st_size, status.st_mtime_ns


def read_stored(result_dir: Path) -> storage.StoredEncodings:
    """The result's encodings: the whole file's, and the added file's when it extends it (it
    is newer: its encoding of a face wins)."""
    whole = storage.read_encodings(result_dir / ENCODINGS_FILE)
    added_path = result_dir / ADDED_ENCODINGS_FILE
    if not whole.generation or not regular_file(added_path):
        return whole
    added = storage.read_encodings(added_path)
    if added.generation != whole.generation or added.encoder != whole.encoder:
        log.info("not reading %s: it extends another %s", added_path, ENCODINGS_FILE)
        return whole
    return storage.StoredEncodings({**whole.encodings, **added.encodings}, whole.encoder,
                                   whole.generation)
