"""Suggestions for sorting a result by hand, ranked best first: persons that may be one, unknown
faces and the person they are nearest, and faces far from their own person.

Plain numpy on the persons' encodings and frames (no disk, no HTTP). Distances are the tool's
own (classifier.py): Euclidean between 128-number encodings, and a face's distance to a person
is the smaller of its distance to the person's average and to the person's nearest face.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Collection, Sequence

import numpy as np

from facesort.records.distances import DISTANCES, EncoderDistances
from facesort.records.face import (
    Face,
    Person,
    distances_to_the_others_average,
    face_distance,
    frames_of,
    is_automatic,
    merge_rank,
    nearest_distances,
)
from facesort.records.modes import EncoderKind
from facesort.result.layout import UNKNOWNS

# Beyond the encoder's suggest_* distances (records.distances, docs/tuning.md) a suggestion is
# more likely wrong than right.
DLIB_DISTANCES = DISTANCES[EncoderKind.DLIB]
MAX_LISTED = 100         # suggestions of each kind
CHUNK = 256              # faces compared at a time: memory stays flat for large persons
# a person's merge suggestions are looked for among the persons of the nearest averages: on
# the dev library's result (1,156 persons) all 100 listed lay among the 5 nearest, 97% of the
# 1,860 found among the 10 nearest, and looking at all 216,202 pairs took 16 s a save
NEAREST_PERSONS = 10
BLOCK_ENTRIES = 1 << 21  # distances computed at once (16 MB) between faces and persons' faces


def dismissal_key(kind: str, *parts: str) -> str:
    """The string a dismissal is remembered by: the kind and the names it is about."""
    return json.dumps([kind, *parts], ensure_ascii=True)


@dataclass(frozen=True)
class MergeSuggestion:
    """Two persons that may be one; a merge keeps ``kept``'s name (the user's, else the lower
    number, as the tool's own merges do)."""

    kept: str
    absorbed: str
    distance: float          # the mean distance of each face of either to the other person
    average_distance: float  # between the two persons' averages (the distance table's)
    joining: int             # faces of the smaller person closer than the threshold to the larger
    smaller: int             # faces of the smaller person
    kind: str = field(default="merge", init=False)

    @property
    def key(self) -> str:
        return dismissal_key(self.kind, *sorted((self.kept, self.absorbed)))


@dataclass(frozen=True)
class PlaceSuggestion:
    """An unknown face and the person it is nearest (never one seen in the face's frame)."""

    face: str
    person: str
    distance: float  # face to person: the smaller of to the average and to the nearest face
    kind: str = field(default="unknown", init=False)

    @property
    def key(self) -> str:
        return dismissal_key(self.kind, self.face, self.person)


@dataclass(frozen=True)
class MisplacedSuggestion:
    """A face far from the other faces of its person: perhaps in the wrong folder.

    ``move_to`` is the person it is nearer (not seen in its frame), else ``unknowns``.
    """

    face: str
    person: str
    distance: float                 # to its own person without it
    move_to: str
    move_to_distance: float | None  # None when move_to is unknowns
    kind: str = field(default="misplaced", init=False)

    @property
    def key(self) -> str:
        return dismissal_key(self.kind, self.face, self.person)


@dataclass(frozen=True)
class Suggestions:
    """Each list ranked best first: merges and unknowns by distance, smallest first;
    misplaced faces by their distance to their own person, largest first."""

    merges: list[MergeSuggestion]
    unknowns: list[PlaceSuggestion]
    misplaced: list[MisplacedSuggestion]

    def __len__(self) -> int:
        return len(self.merges) + len(self.unknowns) + len(self.misplaced)


def suggest(persons: Sequence[Person], unknown: Person, dismissed: Collection[str] = (),
            distances: EncoderDistances = DLIB_DISTANCES,
            limit: int = MAX_LISTED) -> Suggestions:
    """Every suggestion for these persons and unknown faces, without the ``dismissed`` keys;
    ``distances``: those of the encoder that made their encodings. A face unfit to sort
    (Face.unfit) is never suggested for a person: its encoding is not to be trusted."""
    persons = [p for p in persons if p.faces and p.name != UNKNOWNS]
    dismissed = set(dismissed)
    pooled = [face for face in unknown.faces if not face.unfit]
    return Suggestions(
        merges=[s for s in merge_suggestions(persons, distances)
                if s.key not in dismissed][:limit],
        unknowns=[s for s in place_suggestions(pooled, persons, distances.suggest_place)
                  if s.key not in dismissed][:limit],
        misplaced=[s for s in misplaced_suggestions(persons, distances.threshold)
                   if s.key not in dismissed][:limit])


# --- persons that may be one -------------------------------------------------------------
def merge_suggestions(persons: Sequence[Person],
                      distances: EncoderDistances = DLIB_DISTANCES) -> list[MergeSuggestion]:
    """Pairs of persons closer than ``distances.suggest_merge``, closest first.

    Two persons' distance is the mean, over the faces of both, of each face's distance to the
    other person (the tool's face-to-person distance): on the dev videos it ranks pairs of one
    identity above pairs of two far better than the distance between averages (16 wrong pairs
    above right ones against 45, over 43 right pairs). Never two persons seen in the same frame
    (two faces of one frame are two people), never two names the user gave (the user has
    decided both).
    """
    persons = [p for p in persons if p.faces]
    if len(persons) < 2:
        return []
    threshold, cutoff = distances.threshold, distances.suggest_merge
    averages = np.array([p.encoding for p in persons])
    found = []
    for apart, i, j in neighbour_pairs(averages, distances.suggest_averages, NEAREST_PERSONS):
        a, b = persons[i], persons[j]
        if (not is_automatic(a) and not is_automatic(b)) or frames_of(a) & frames_of(b):
            continue
        a_to_b = face_to_person(a.encoding_matrix(), b)
        b_to_a = face_to_person(b.encoding_matrix(), a)
        distance = float(np.concatenate([a_to_b, b_to_a]).mean())
        if distance >= cutoff:
            continue
        kept, absorbed = sorted((a, b), key=merge_rank)
        smaller = a_to_b if len(a.faces) <= len(b.faces) else b_to_a
        found.append(MergeSuggestion(kept.name, absorbed.name, distance,
                                     apart, int(np.sum(smaller < threshold)),
                                     len(smaller)))
    return sorted(found, key=lambda s: (s.distance, s.kept, s.absorbed))


def neighbour_pairs(rows: np.ndarray, below: float, nearest: int,
                    block_bytes: int = 16 << 20) -> list[tuple[float, int, int]]:
    """(distance, i, j), i < j, closest first, for the pairs of rows closer than ``below``
    where one is among the other's ``nearest`` rows. Computed a block of rows at a time, with
    the arithmetic of records.face.close_pairs."""
    count = len(rows)
    block = max(1, block_bytes // max(1, count * rows.shape[1] * rows.itemsize))
    pairs: dict[tuple[int, int], float] = {}
    for start in range(0, count, block):
        apart = np.linalg.norm(rows[start:start + block, None] - rows[None], axis=2)
        apart[np.arange(len(apart)), start + np.arange(len(apart))] = np.inf  # not itself
        columns = (np.argpartition(apart, nearest, axis=1)[:, :nearest]
                   if nearest < count else np.tile(np.arange(count), (len(apart), 1)))
        for row, others in enumerate(columns):
            for other in others[apart[row, others] < below]:
                i, j = sorted((start + row, int(other)))
                pairs[i, j] = float(apart[row, other])
    return sorted((distance, i, j) for (i, j), distance in pairs.items())


# --- unknown faces -----------------------------------------------------------------------
def place_suggestions(faces: Sequence[Face], persons: Sequence[Person],
                      cutoff: float = DLIB_DISTANCES.suggest_place) -> list[PlaceSuggestion]:
    """Each unknown face with the nearest person closer than ``cutoff``, nearest first."""
    persons = [p for p in persons if p.faces]
    if not faces or not persons:
        return []
    distances = distances_to_persons(faces, persons, beyond=cutoff)
    found = []
    for row, face in enumerate(faces):
        nearest = int(np.argmin(distances[row]))
        if distances[row, nearest] < cutoff:
            found.append(PlaceSuggestion(face.file_name, persons[nearest].name,
                                         float(distances[row, nearest])))
    return sorted(found, key=lambda s: (s.distance, s.face))


# --- faces far from their own person -----------------------------------------------------
def misplaced_suggestions(persons: Sequence[Person],
                          threshold: float = DLIB_DISTANCES.threshold) -> list[MisplacedSuggestion]:
    """Faces that would not join their own person by the tool's rule (the person without the
    face farther than ``threshold``), farthest first, each with where it fits better."""
    persons = [p for p in persons if p.faces]
    far: list[tuple[int, Face, float]] = []  # (its person, the face, distance to the others)
    for index, person in enumerate(persons):
        if len(person.faces) < 2:
            continue  # a person of one face: whether it is another person is a merge question
        encodings = person.encoding_matrix()
        # the smaller of two distances is over the threshold only where both are: the nearest
        # face (all faces against all) is looked for only where the average is far
        rows = np.flatnonzero(distances_to_the_others_average(encodings) >= threshold)
        own = distances_without_each(encodings, rows)
        far += [(index, person.faces[k], float(d)) for k, d in zip(rows, own) if d >= threshold]
    if not far:
        return []
    elsewhere = distances_to_persons([face for _, face, _ in far], persons)
    found = []
    for row, (index, face, distance) in enumerate(far):
        elsewhere[row, index] = np.inf  # not its own person
        nearest = int(np.argmin(elsewhere[row]))
        move_to, move_to_distance = UNKNOWNS, None
        if elsewhere[row, nearest] < distance:
            move_to, move_to_distance = persons[nearest].name, float(elsewhere[row, nearest])
        found.append(MisplacedSuggestion(face.file_name, persons[index].name, distance,
                                         move_to, move_to_distance))
    return sorted(found, key=lambda s: (-s.distance, s.face))


# --- the distances -----------------------------------------------------------------------
def face_to_person(encodings: np.ndarray, person: Person) -> np.ndarray:
    """Each encoding's distance to ``person``: the smaller of to its average and to its nearest
    face (the tool's rule 1)."""
    if len(encodings) == 0:
        return np.empty(0)
    return np.minimum(face_distance(encodings, person.encoding),
                      nearest_distances(encodings, person.encoding_matrix()))


def distances_to_persons(faces: Sequence[Face], persons: Sequence[Person],
                         beyond: float = np.inf, chunk: int = CHUNK) -> np.ndarray:
    """faces x persons distances (face_to_person); infinite where the person was seen in the
    face's frame, since two faces of one frame are two people, and where they are surely
    ``beyond`` apart (a person's faces all lie too far from the face: records.face.EncodingRows'
    ball). A chunk of ``faces`` at a time is compared in one product with the faces of the
    persons any of them may be near, each person's nearest taken from its columns: memory stays
    flat (at most BLOCK_ENTRIES distances at once) however many faces there are."""
    encodings = np.array([f.encoding for f in faces])
    averages = np.array([p.encoding for p in persons])
    held = [p.lookup() for p in persons]
    centres = np.array([centre for _, centre, _ in held])
    radii = np.array([radius for _, _, radius in held])
    chunk = max(1, min(chunk, BLOCK_ENTRIES // sum(len(rows) for rows, _, _ in held)))
    distances = np.empty((len(faces), len(persons)))
    for start in range(0, len(faces), chunk):
        part = encodings[start:start + chunk]
        nearest = squared_distances(part, averages)
        may_be_near = np.sqrt(np.maximum(squared_distances(part, centres), 0)) - radii < beyond
        columns = np.flatnonzero(may_be_near.any(axis=0))
        if len(columns):
            blocks = [held[column][0] for column in columns]
            starts = np.concatenate([[0], np.cumsum([len(block) for block in blocks])[:-1]])
            to_faces = np.minimum.reduceat(squared_distances(part, np.concatenate(blocks)),
                                           starts, axis=1)
            nearest[:, columns] = np.minimum(nearest[:, columns], to_faces)
        found = np.sqrt(np.maximum(nearest, 0))
        found[~may_be_near & (found >= beyond)] = np.inf   # its faces are no nearer
        distances[start:start + chunk] = found
    seen_by: dict[tuple[str, int], list[int]] = {}
    for column, person in enumerate(persons):
        for frame in frames_of(person):
            seen_by.setdefault(frame, []).append(column)
    for row, face in enumerate(faces):
        if face.frame is not None:
            distances[row, seen_by.get((face.source, face.frame), [])] = np.inf
    return distances


def squared_distances(rows: np.ndarray, others: np.ndarray) -> np.ndarray:
    """rows x others squared Euclidean distances, as one matrix product (a few may come out a
    hair below zero)."""
    return (np.einsum("ij,ij->i", rows, rows)[:, None] + np.einsum("ij,ij->i", others, others)[None]
            - 2 * rows @ others.T)


def distances_without_each(encodings: np.ndarray, rows: np.ndarray | None = None,
                           chunk: int = CHUNK) -> np.ndarray:
    """Each row's distance to the other rows as a person: the smaller of to their average and
    to the nearest of them (only for ``rows``, when given). Needs two rows or more."""
    rows = np.arange(len(encodings)) if rows is None else np.asarray(rows, dtype=int)
    to_average = distances_to_the_others_average(encodings)[rows]
    nearest = np.empty(len(rows))
    for start in range(0, len(rows), chunk):
        part = rows[start:start + chunk]
        squared = squared_distances(encodings[part], encodings)
        squared[np.arange(len(part)), part] = np.inf  # not the face itself
        nearest[start:start + chunk] = np.sqrt(np.maximum(squared.min(axis=1), 0))
    return np.minimum(to_average, nearest)
