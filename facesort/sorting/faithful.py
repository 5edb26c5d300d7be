"""The post's sorting rules (``--faithful``): the nearest person's average takes a face, else
the nearest pooled face makes a new person with it, else the face joins the unknown pool."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from facesort.records.face import DEFAULT_THRESHOLD, Face, Person, face_distance
from facesort.sorting.roster import Roster, TrackSoFar


@dataclass(frozen=True)
class FaithfulClassifier:
    """The original algorithm; ``similarity_threshold`` is the post's ``-t``."""

    similarity_threshold: float = DEFAULT_THRESHOLD

    def classify_frame(self, faces: list[Face], db: Roster,
                       tracks: list[TrackSoFar | None] | None = None) -> list[Person | None]:
        """Classify the faces of one frame one after the other, as the original did (each
        face alone: the post had no tracks, so ``tracks`` is not read)."""
        return [self.classify(face, db) for face in faces]

    def classify(self, face: Face, db: Roster) -> Person | None:
        """Put ``face`` into ``db``; return its person, or None when it joined the unknowns."""
        if face.unfit:
            db.unknown.add_face(face)
            return None
        person = self.compare_with_known_persons(face, db)
        if person is None:
            person = self.compare_with_unknown_faces(face, db)
        return person

    def compare_with_known_persons(self, face: Face, db: Roster) -> Person | None:
        persons = [p for p in db.persons if p.encoding is not None]
        if not persons:
            return None
        distances = face_distance(np.array([p.encoding for p in persons]), face.encoding)
        nearest = int(np.argmin(distances))
        if distances[nearest] >= self.similarity_threshold:
            return None
        persons[nearest].add_face(face)
        return persons[nearest]

    def compare_with_unknown_faces(self, face: Face, db: Roster) -> Person | None:
        pool = db.unknown.faces
        distances = face_distance(db.unknown.encoding_matrix(), face.encoding)
        distances[[i for i, pooled in enumerate(pool) if pooled.unfit]] = np.inf
        if len(distances) == 0 or distances.min() >= self.similarity_threshold:
            db.unknown.add_face(face)
            return None
        partner = pool[int(np.argmin(distances))]
        return db.person_from_pool([partner], face)

    def consolidate(self, db: Roster) -> list[str]:
        """The original never revisits its decisions."""
        return []
