"""Decide which person a new face belongs to: the post's rules, on encodings only.

1. The nearest known person (distance to the person's average encoding) below the
   threshold takes the face, and its average is recomputed.
2. Otherwise the nearest face in the unknown pool below the threshold and the new face
   become a new person ``person_NN``.
3. Otherwise the face joins the unknown pool.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from person_db import Face, Person, PersonDB, face_distance

DEFAULT_THRESHOLD = 0.44


@dataclass(frozen=True)
class FaceClassifier:
    """The original algorithm; ``similarity_threshold`` is the post's ``-t``."""

    similarity_threshold: float = DEFAULT_THRESHOLD

    def classify(self, face: Face, db: PersonDB) -> Person | None:
        """Put ``face`` into ``db``; return its person, or None when it joined the unknowns."""
        person = self.compare_with_known_persons(face, db)
        if person is None:
            person = self.compare_with_unknown_faces(face, db)
        return person

    def compare_with_known_persons(self, face: Face, db: PersonDB) -> Person | None:
        persons = [p for p in db.persons if p.encoding is not None]
        if not persons:
            return None
        distances = face_distance(np.array([p.encoding for p in persons]), face.encoding)
        nearest = int(np.argmin(distances))
        if distances[nearest] >= self.similarity_threshold:
            return None
        persons[nearest].add_face(face)
        return persons[nearest]

    def compare_with_unknown_faces(self, face: Face, db: PersonDB) -> Person | None:
        pool = db.unknown.faces
        distances = face_distance(np.array([f.encoding for f in pool]), face.encoding)
        if len(distances) == 0 or distances.min() >= self.similarity_threshold:
            db.unknown.add_face(face)
            return None
        partner = pool.pop(int(np.argmin(distances)))
        db.unknown.calculate_average_encoding()
        return db.new_person([partner, face])
