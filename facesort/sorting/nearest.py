"""How far an encoding lies from a person, for the sorting rules (rule 1: person_distance);
person_index.PersonIndex finds every person's nearest face at once."""
from __future__ import annotations

import numpy as np

from facesort.records.face import Person, face_distance

# Rule 1 for a person of this many faces or more: a face must come under -t to two of them
# (or to their average): their many faces would give a look-alike many chances (docs/tuning.md)
CORROBORATED_FROM = 6
# Rule 1 for a person of this many looks (tracks; a photo's face is one) or more: a face must
# also come under -t to their average. Among that many looks a look-alike finds two close
# ones (Jeb Bush among George W Bush's 529 photos); it does not come near their middle.
CENTRED_FROM = 50
FIRST_ROWS = 256  # a centred person's faces looked at first for two under -t (corroborating)


def person_distance(person: Person, encoding: np.ndarray,
                    average: np.ndarray | None = None) -> float:
    """How far an encoding lies from a person (rule 1): the nearer of their average and their
    nearest face (second-nearest from CORROBORATED_FROM faces); for a person of CENTRED_FROM
    looks or more, the farther of the two: a look-alike comes near a few faces of a large
    person, but not near the middle of them."""
    average = person.encoding if average is None else average
    to_average = float(np.linalg.norm(average - encoding))
    if is_centred(person):
        return max(nearest_of_person(person, encoding), to_average)
    return min(nearest_of_person(person, encoding), to_average)


def is_centred(person: Person) -> bool:
    """Whether rule 1 asks a face to come near the person's average too (CENTRED_FROM)."""
    return len(person.faces) >= CENTRED_FROM and person.looks() >= CENTRED_FROM


def nearest_of_person(person: Person, encoding: np.ndarray) -> float:
    """How close an encoding comes to one of a person's faces: to the nearest; to the second
    nearest for a person of CORROBORATED_FROM faces or more, whose many faces would otherwise
    give a look-alike many chances to come under -t by one of them."""
    distances = face_distance(person.encoding_matrix(), encoding)
    if len(distances) >= CORROBORATED_FROM:
        return float(np.partition(distances, 1)[1])
    return float(distances.min())


def corroborating_distance(person: Person, encoding: np.ndarray, threshold: float) -> float:
    """nearest_of_person's distance, or a distance under ``threshold`` when two of the person's
    first FIRST_ROWS faces lie under it: then its second-nearest face surely does too, and
    whether, not how far, is all a lone candidate needs (two are ranked on exact distances).
    Keeps a look-up flat however many faces a person of many looks holds."""
    rows = person.encoding_matrix()
    if len(rows) > FIRST_ROWS:
        first = face_distance(rows[:FIRST_ROWS], encoding)
        if np.count_nonzero(first < threshold) >= 2:
            return float(np.partition(first, 1)[1])
    return nearest_of_person(person, encoding)
