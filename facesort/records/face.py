"""Faces and persons: what a face is (box, encoding, where it was seen), how far apart two
encodings are, and how face images are named."""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from enum import Enum
from pathlib import Path
from typing import Iterator, Protocol, Sequence

import numpy as np

from facesort.records.box import Box
from facesort.records.modes import EncoderKind

# two encodings closer than this are one person: dlib's own threshold is 0.6; the post found
# 0.4-0.45 for East Asian faces, 0.5-0.55 for Western ones
DEFAULT_THRESHOLD = 0.44
ENCODING_SIZE = 128
UNIT_TOLERANCE = 1e-4   # an encoding this close to length 1 is taken as one of unit length
AUTOMATIC_NAME = re.compile(r"person_(\d+)")  # a name the tool gives; any other, the user gave
LEGACY_ENCODER = EncoderKind.DLIB.value  # encodings saved before encoders were named: dlib's
UNKNOWN_POOL = "unknowns"   # the pool of faces that match nobody yet (its folder's name too)


class Unfit(str, Enum):
    """Why a found face is not fit to sort: its encoding is not trusted, so it is kept in the
    unknowns, flagged, and never used to form or join a person. When several apply, the first
    of this order is said."""

    SMALL = "small"         # its box is under the detector's min_encode_size
    DOUBTFUL = "doubtful"   # the detector is not sure it is a face
    TURNED = "turned"       # a profile
    CUT = "cut"             # cut by the image's edge: part of a face
    UNCLEAR = "unclear"     # the encoder cannot make it out (dim, blurred): Encoder.encode_checked


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
    crop_png: bytes | None = field(default=None, repr=False)  # the crop, already as a PNG file
    track_id: int | None = None  # faces of one track (followed over frames) are one person
    # the video time from which this face's track was followed without a break up to it: the
    # track's previous encoded face, or its first detection; None when unknown (photos,
    # --faithful, results of older versions). Between the two the person was seen, not encoded
    followed_from_s: float | None = None
    unfit: str | None = None  # an Unfit value: why it is not fit to sort; None when it is


def look_of(face: Face) -> object:
    """What tells a face's look (its track) from others: a face without a track is one."""
    return (face.source, face.track_id) if face.track_id is not None else id(face)


@dataclass
class Person:
    """A named group of faces and the average of their encodings."""

    name: str
    faces: list[Face] = field(default_factory=list)
    encoding: np.ndarray | None = None    # mean_encoding() of its faces
    _rows: "EncodingRows" = field(init=False, repr=False, compare=False)
    _mean: np.ndarray | None = field(default=None, init=False, repr=False, compare=False)
    _looks: set[object] = field(default_factory=set, init=False, repr=False, compare=False)
    _looks_of: int = field(default=-1, init=False, repr=False, compare=False)  # faces counted

    def __post_init__(self) -> None:
        self._rows = EncodingRows()
        if self.encoding is None and self.faces:
            self.calculate_average_encoding()

    def add_face(self, face: Face) -> None:
        """Add a face and update the average (a running mean: O(1), not O(faces))."""
        self.faces.append(face)
        if self._mean is None or len(self.faces) == 1:   # no running mean yet: start one
            self._mean = np.mean([f.encoding for f in self.faces], axis=0)
        else:
            self._mean = self._mean + (face.encoding - self._mean) / len(self.faces)
        self.encoding = on_sphere_if(self._mean, face.encoding)
        if self._looks_of == len(self.faces) - 1:
            self._looks.add(look_of(face))
            self._looks_of += 1

    def looks(self) -> int:
        """How many tracks its faces come from (a face without a track is one): counted once,
        then kept up to date by add_face."""
        if self._looks_of != len(self.faces):
            self._looks = {look_of(face) for face in self.faces}
            self._looks_of = len(self.faces)
        return len(self._looks)

    def add_faces(self, faces: list[Face]) -> None:
        """Add several faces at once; the average is recomputed once."""
        self.set_faces([*self.faces, *faces])

    def remove_faces(self, faces: list[Face]) -> None:
        """Take these faces (the very records: a face is itself) out; the average follows."""
        gone = {id(face) for face in faces}
        self.set_faces([face for face in self.faces if id(face) not in gone])

    def set_faces(self, faces: list[Face]) -> None:
        """Hold exactly ``faces`` from now on, with their average."""
        self.faces = faces
        self._looks_of = -1
        self.calculate_average_encoding()

    def calculate_average_encoding(self) -> None:
        self._looks_of = -1   # the faces may have been replaced: count the looks again
        self._mean = (np.mean([f.encoding for f in self.faces], axis=0)
                      if self.faces else None)
        self.encoding = (None if self._mean is None
                         else on_sphere_if(self._mean, self.faces[0].encoding))

    def encoding_matrix(self) -> np.ndarray:
        """The faces' encodings as the rows of one array (kept up to date, not rebuilt)."""
        return self._rows.of(self.faces)

    def lookup(self) -> tuple[np.ndarray, np.ndarray, float]:
        """Its encoding rows, and a centre and a radius within which all its faces lie (it must
        have faces): what a nearest-face look-up reads."""
        rows = self._rows.of(self.faces)
        assert self._rows.centre is not None
        return rows, self._rows.centre, self._rows.radius

    def distance_statistics(self) -> tuple[float, float, float]:
        """Min, mean and max distance of this person's faces to their average."""
        if self.encoding is None:
            raise ValueError("a person without faces has no distances")
        distances = face_distance(self.encoding_matrix(), self.encoding)
        return float(distances.min()), float(distances.mean()), float(distances.max())


class Roster(Protocol):
    """Persons and the pool of unknown faces, as the report reads them (a PersonDB is one)."""

    persons: list[Person]
    unknown: Person
    encoder: str    # records.modes.EncoderKind's value: the encoder of its encodings

    def all_faces(self) -> Iterator[tuple[Person, Face]]:
        """Every face with its person, the unknown pool's last."""


class EncodingRows:
    """A cache of a face list's encodings as array rows, and a ball that holds them all.

    Faces are almost always appended, so new rows are copied in (in a buffer that doubles);
    any other change to the list (a face popped, the list replaced) rebuilds the rows. The
    ball (a centre and a radius) lets a look-up skip a person none of whose faces can be near:
    its centre is the rows' mean when they were last counted, and it is counted again whenever
    the rows doubled since, so keeping it costs O(1) a face.
    """

    def __init__(self) -> None:
        self._buffer = np.empty((0, 128))
        self._view = self._buffer
        self._count = 0
        self._last: Face | None = None
        self.centre: np.ndarray | None = None
        self.radius = 0.0
        self._centred_at = 0   # rows when the centre was taken

    def of(self, faces: list[Face]) -> np.ndarray:
        count = self._count
        if count == len(faces) and (not count or faces[-1] is self._last):
            return self._view   # unchanged: the look-up of every person, for every face, is this
        if count > len(faces) or (count and faces[count - 1] is not self._last):
            count = 0  # not an append: start again
        if len(self._buffer) < len(faces):  # room to append, but none when built afresh
            grown = np.empty((max(16, (2 if count else 1) * len(faces)), 128))
            grown[:count] = self._buffer[:count]
            self._buffer = grown
        rows = self._buffer[:len(faces)]
        if count < len(faces):
            for row in range(count, len(faces)):
                rows[row] = faces[row].encoding
            self._hold(rows, count)
        self._count = len(faces)
        self._last = faces[-1] if faces else None
        self._view = rows
        return rows

    def _hold(self, rows: np.ndarray, old: int) -> None:
        """Grow the ball to hold the rows from ``old`` on (all of them: centred anew)."""
        if old == 0 or self.centre is None or len(rows) >= 2 * self._centred_at:
            self.centre, self._centred_at, old = rows.mean(axis=0), len(rows), 0
            self.radius = 0.0
        self.radius = max(self.radius, float(np.linalg.norm(rows[old:] - self.centre,
                                                            axis=1).max()))


def is_unit_length(encoding: np.ndarray) -> bool:
    """Whether an encoding lies on the unit sphere (MobileFaceNet's do; dlib's ~1.3-1.5)."""
    return abs(float(np.linalg.norm(encoding)) - 1.0) < UNIT_TOLERANCE


def on_sphere_if(mean: np.ndarray, sample: np.ndarray) -> np.ndarray:
    """``mean``, scaled to unit length when the encodings it averages (``sample``: one of them)
    are of unit length: see mean_encoding."""
    if not is_unit_length(sample):
        return mean
    norm = float(np.linalg.norm(mean))
    return mean / norm if norm > 0 else mean


def mean_encoding(encodings: np.ndarray | Sequence[np.ndarray]) -> np.ndarray:
    """The average of encodings (rows). Encodings of unit length average to their mean
    direction, of unit length too: their plain mean shrinks towards the sphere's middle as the
    faces differ, and every face lies near a point there (a "person" of many different faces
    would draw in anyone: docs/tuning.md)."""
    rows = np.asarray(encodings, dtype=np.float64)
    return on_sphere_if(rows.mean(axis=0), rows[0])


def distances_to_the_others_average(encodings: np.ndarray) -> np.ndarray:
    """Each row's distance to the average (mean_encoding) of the other rows (two or more)."""
    encodings = np.asarray(encodings, dtype=np.float64)
    others = (encodings.sum(axis=0) - encodings) / (len(encodings) - 1)
    if is_unit_length(encodings[0]):
        others /= np.maximum(np.linalg.norm(others, axis=1, keepdims=True), 1e-12)
    distances: np.ndarray = np.linalg.norm(encodings - others, axis=1)
    return distances


def face_distance(encodings: np.ndarray, encoding: np.ndarray) -> np.ndarray:
    """Euclidean distance from each row of ``encodings`` to ``encoding``."""
    if len(encodings) == 0:
        return np.empty(0)
    distances: np.ndarray = np.linalg.norm(np.asarray(encodings) - encoding, axis=1)
    return distances


def frame_stem(source: str, frame: int | None, stem: str = "") -> str:
    """A name for one frame of a source, the same on every run: file stem + frame index.

    ``stem``, when given, replaces the source's file stem.
    """
    stem = stem or (Path(source).stem if source else "face")
    stem = "".join(c if c.isalnum() or c in "-_." else "_" for c in stem) or "face"
    return f"{stem}_f{frame:06d}" if frame is not None else stem


def face_file_name(source: str, frame: int | None, index: int, stem: str = "") -> str:
    """A face image name that is unique and stable across runs: frame stem + face index."""
    return f"{frame_stem(source, frame, stem)}_{index}.png"


def nearest_distances(rows: np.ndarray, others: np.ndarray, chunk: int = 256) -> np.ndarray:
    """Each row's distance to the nearest of ``others``, a chunk of rows at a time: two
    persons of thousands of faces each need megabytes, not the gigabytes of one broadcast."""
    squared_others = np.einsum("ij,ij->i", others, others)
    nearest = np.empty(len(rows))
    for start in range(0, len(rows), chunk):
        part = rows[start:start + chunk]
        squared = (np.einsum("ij,ij->i", part, part)[:, None] + squared_others[None]
                   - 2 * part @ others.T)
        nearest[start:start + chunk] = np.sqrt(np.maximum(squared.min(axis=1), 0))
    return nearest


def close_pairs(rows: np.ndarray, below: float,
                block_bytes: int = 16 << 20) -> list[tuple[float, int, int]]:
    """(distance, i, j), i < j, for the pairs of rows closer than ``below``, closest first.

    Computed a block of rows at a time (``block_bytes`` of differences at most), with the same
    arithmetic as face_distance: a thousand persons need megabytes, not the gigabyte of one
    broadcast of all against all."""
    count = len(rows)
    block = max(1, block_bytes // max(1, count * rows.shape[1] * rows.itemsize))
    pairs = []
    for start in range(0, count, block):
        apart = np.linalg.norm(rows[start:start + block, None] - rows[None], axis=2)
        for i, j in zip(*np.nonzero(apart < below)):
            if start + i < j:
                pairs.append((float(apart[i, j]), int(start + i), int(j)))
    return sorted(pairs)


def frames_of(person: Person) -> set[tuple[str, int]]:
    """The (source, frame) pairs the person was seen in."""
    return {(f.source, f.frame) for f in person.faces if f.frame is not None}


def same_frame(a: Face, b: Face) -> bool:
    return a.frame is not None and a.frame == b.frame and a.source == b.source


def is_automatic(person: Person) -> bool:
    """A name the tool gave (person_NN), as opposed to one the user gave."""
    return AUTOMATIC_NAME.fullmatch(person.name) is not None


def person_number(name: str) -> int | None:
    """NN of an automatic name person_NN; None for a name the user gave."""
    match = AUTOMATIC_NAME.fullmatch(name)
    return int(match.group(1)) if match else None


def merge_rank(person: Person) -> tuple[bool, int, str]:
    """Sort key: user-given names first, then the lowest person number."""
    return is_automatic(person), person_number(person.name) or 0, person.name
