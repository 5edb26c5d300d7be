"""Each person's nearest face to an encoding, for the sorting rules (rule 1), without looking
at every face held one by one: a person whose faces all lie too far, by the ball that holds
them (records.face.EncodingRows), is skipped; the faces of the others are compared in one
matrix product, and the few that may be the nearest are measured again the exact way. The
distances come out the same as comparing with every face, one person at a time.
"""
from __future__ import annotations

from typing import Sequence

import numpy as np

from facesort.records.face import Person, face_distance

SLACK = 1e-9   # rounding in a bound or a matrix product, relative to the squared lengths


def nearest_face_distances(persons: Sequence[Person], encoding: np.ndarray, threshold: float,
                           corroborated_from: int,
                           unneeded: np.ndarray | None = None) -> np.ndarray:
    """Per person (each with faces): the distance from ``encoding`` to its nearest face, to its
    second nearest for a person of ``corroborated_from`` faces or more; infinite for a person
    none of whose faces comes closer than ``threshold``, and for those ``unneeded`` marks."""
    found = np.full(len(persons), np.inf)
    if not persons:
        return found
    reach = [person.reach() for person in persons]
    centres = np.array([centre for centre, _ in reach])
    radii = np.array([radius for _, radius in reach])
    maybe_near = face_distance(centres, encoding) - radii < threshold + SLACK
    near = np.flatnonzero(maybe_near if unneeded is None else maybe_near & ~unneeded)
    if len(near) == 0:
        return found
    rows, squares = gathered([persons[i] for i in near])
    counts = np.array([len(persons[i].faces) for i in near])
    first, second = two_smallest(exact_near_the_least(rows, squares, counts, encoding), counts)
    found[near] = np.where(counts >= corroborated_from, second, first)
    return found


def gathered(persons: Sequence[Person]) -> tuple[np.ndarray, np.ndarray]:
    """The persons' encoding rows one after the other, and their squared lengths."""
    if len(persons) == 1:
        return persons[0].encoding_matrix(), persons[0].squared_lengths()
    return (np.concatenate([p.encoding_matrix() for p in persons]),
            np.concatenate([p.squared_lengths() for p in persons]))


def exact_near_the_least(rows: np.ndarray, squares: np.ndarray, counts: np.ndarray,
                         encoding: np.ndarray) -> np.ndarray:
    """Each row's distance to ``encoding``, exact (face_distance's) for the rows that may be
    among the two nearest of their run of ``counts`` rows, infinite for the others."""
    query = float(encoding @ encoding)
    approximate = squares - 2 * (rows @ encoding) + query
    margin = SLACK * (1.0 + query + float(squares.max()))
    _, second = two_smallest(approximate, counts)
    maybe = np.flatnonzero(approximate <= np.repeat(second, counts) + margin)
    distances = np.full(len(rows), np.inf)
    distances[maybe] = face_distance(rows[maybe], encoding)
    return distances


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
