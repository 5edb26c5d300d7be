"""The faces of the roster's persons as the rows of one array, kept up to date as faces come,
for the sorting step's look-up of each person's nearest face.

Real encodings do not fall into balls that a bound can skip: on a library of 1,156 persons
MobileFaceNet's faces lie 1-1.4 apart, each person's within ~0.5 of its middle, so at -t 1.0
a bound skipped 18% of the persons, and gathering the others' faces one person at a time for
each new face was most of the cost of sorting a photo. Reading one array held ready costs a
product per face instead. Where a bound does skip most persons (the synthetic persons of
bench/memory_bench.py), their faces are gathered as before: a person at a time.
"""
from __future__ import annotations

from typing import Sequence

import numpy as np

from facesort.records.face import Face, Person, face_distance
from facesort.sorting.nearest import is_centred

ENCODING_SIZE = 128
# the share of all rows held by the persons a bound cannot skip from which every row is read
# with one product rather than the persons' own rows gathered
ALL_ROWS_FROM = 0.25
MARGIN = 1e-6  # rows a product puts this close above -t are measured exactly too
SLACK = 1e-9   # rounding in the ball's bound: a person is skipped only when surely too far


class PersonIndex:
    """Every face of a list of persons (the roster's, in its order) as one array of rows with
    the number of its person, plus each person's average, ball and size.

    ``sync`` catches up with the list: new persons at its end and faces appended to a person
    cost only their own rows; any other change (a person gone, faces taken out) rebuilds it.
    """

    def __init__(self) -> None:
        self._rows = np.empty((0, ENCODING_SIZE))       # a buffer: the first _size rows held
        self._squares = np.empty(0)
        self._owners = np.empty(0, dtype=np.intp)
        self._clear()

    def sync(self, persons: list[Person]) -> None:
        """Catch up with ``persons``."""
        known = len(self.persons)
        if len(persons) < known or any(p is not q for p, q in zip(persons, self.persons)):
            self._clear()
            known = 0
        changed = list(range(known, len(persons)))
        for number in range(known):
            faces, count = persons[number].faces, self._counts[number]
            if len(faces) == count and (not count or faces[-1] is self._lasts[number]):
                continue
            if len(faces) > count and (not count or faces[count - 1] is self._lasts[number]):
                changed.append(number)
                continue
            self._clear()   # faces taken out or replaced: read them all again
            return self.sync(persons)
        self._grow_persons(persons)
        for number in changed:
            self._append(number, persons[number])

    def nearest_faces(self, encoding: np.ndarray, threshold: float, corroborated_from: int,
                      skip: np.ndarray) -> np.ndarray:
        """Per person of the last ``sync``: the distance from ``encoding`` to its nearest face,
        to its second nearest for a person of ``corroborated_from`` faces or more, when that
        is under ``threshold``; infinite otherwise, and for the persons ``skip`` marks."""
        found = np.full(len(self.persons), np.inf)
        maybe = ((face_distance(self._centres, encoding) - self._radii < threshold + SLACK)
                 & (self.sizes > 0) & ~skip)
        near = np.flatnonzero(maybe)
        if len(near) == 0:
            return found
        if self.sizes[near].sum() < ALL_ROWS_FROM * self._size:
            first, second = self._gathered(near, encoding)
        else:
            near, first, second = self._from_all_rows(maybe, encoding, threshold)
        values = np.where(self.sizes[near] >= corroborated_from, second, first)
        found[near] = np.where(values < threshold, values, np.inf)
        return found

    def _gathered(self, near: np.ndarray, encoding: np.ndarray
                  ) -> tuple[np.ndarray, np.ndarray]:
        """The two smallest distances of each of the ``near`` persons, from their own rows."""
        blocks = [self.persons[number].encoding_matrix() for number in near]
        rows = blocks[0] if len(blocks) == 1 else np.concatenate(blocks)
        return two_smallest(face_distance(rows, encoding), self.sizes[near])

    def _from_all_rows(self, maybe: np.ndarray, encoding: np.ndarray, threshold: float
                       ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """The persons ``maybe`` marks that have a face under ``threshold``, with their two
        smallest distances (infinite: none): one product over all rows finds those faces,
        whose distances are then measured as face_distance does."""
        rows, owners = self._rows[:self._size], self._owners[:self._size]
        squared = self._squares[:self._size] - 2 * (rows @ encoding) + encoding @ encoding
        under = np.flatnonzero((squared < (threshold + MARGIN) ** 2) & maybe[owners])
        if len(under) == 0:
            return np.empty(0, dtype=np.intp), np.empty(0), np.empty(0)
        distances = face_distance(rows[under], encoding)
        order = np.lexsort((distances, owners[under]))
        persons, distances = owners[under][order], distances[order]
        starts = np.flatnonzero(np.r_[True, persons[1:] != persons[:-1]])
        counts = np.diff(np.r_[starts, len(persons)])
        second = np.full(len(starts), np.inf)
        has_two = counts > 1
        second[has_two] = distances[starts[has_two] + 1]
        return persons[starts], distances[starts], second

    def _clear(self) -> None:
        """Hold no person (the row buffers are kept for the rows to come)."""
        self.persons: list[Person] = []
        self._counts: list[int] = []
        self._lasts: list[Face | None] = []
        self._size = 0
        self.sizes = np.empty(0, dtype=np.intp)          # faces of each person
        self.averages = np.empty((0, ENCODING_SIZE))      # Person.encoding (zeros: no faces)
        self.centred = np.empty(0, dtype=bool)            # nearest.is_centred
        self._centres = np.empty((0, ENCODING_SIZE))      # its ball (Person.lookup)
        self._radii = np.empty(0)

    def _grow_persons(self, persons: Sequence[Person]) -> None:
        new = len(persons) - len(self.persons)
        if new <= 0:
            return
        self.persons = list(persons)
        self._counts.extend([0] * new)
        self._lasts.extend([None] * new)
        self.sizes = np.concatenate([self.sizes, np.zeros(new, dtype=np.intp)])
        self.averages = np.concatenate([self.averages, np.zeros((new, ENCODING_SIZE))])
        self.centred = np.concatenate([self.centred, np.zeros(new, dtype=bool)])
        self._centres = np.concatenate([self._centres, np.zeros((new, ENCODING_SIZE))])
        self._radii = np.concatenate([self._radii, np.zeros(new)])

    def _append(self, number: int, person: Person) -> None:
        """The faces ``person`` gained since the last sync, as rows of person ``number``."""
        faces = person.faces
        if not faces:
            return   # a person without faces: no rows, size 0
        new = np.array([face.encoding for face in faces[self._counts[number]:]], np.float64)
        if self._size + len(new) > len(self._rows):
            self._reserve(max(2 * len(self._rows), self._size + len(new), 1024))
        end = self._size + len(new)
        self._rows[self._size:end] = new
        self._squares[self._size:end] = np.einsum("ij,ij->i", new, new)
        self._owners[self._size:end] = number
        self._size = end
        self._counts[number], self._lasts[number] = len(faces), faces[-1]
        _, centre, radius = person.lookup()
        self.sizes[number] = len(faces)
        self.averages[number] = person.encoding
        self.centred[number] = is_centred(person)
        self._centres[number], self._radii[number] = centre, radius

    def _reserve(self, capacity: int) -> None:
        rows = np.empty((capacity, ENCODING_SIZE))
        rows[:self._size] = self._rows[:self._size]
        squares, owners = np.empty(capacity), np.empty(capacity, dtype=np.intp)
        squares[:self._size] = self._squares[:self._size]
        owners[:self._size] = self._owners[:self._size]
        self._rows, self._squares, self._owners = rows, squares, owners


def two_smallest(values: np.ndarray, counts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The smallest and the second smallest value of each run of ``counts`` values (as
    np.partition would give them; infinite for a run of one)."""
    starts = np.concatenate([[0], np.cumsum(counts)[:-1]])
    first = np.minimum.reduceat(values, starts)
    owner = np.repeat(np.arange(len(counts)), counts)
    at_first = np.flatnonzero(values == first[owner])
    _, one_each = np.unique(owner[at_first], return_index=True)
    rest = values.copy()
    rest[at_first[one_each]] = np.inf   # one of the smallest out: the next is the second
    return first, np.minimum.reduceat(rest, starts)
