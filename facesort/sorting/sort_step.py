"""The sorting step of the frame loop: new faces handed to the classifier a frame at a time;
faces saved by an earlier run keep the person the user left them with."""
from __future__ import annotations

from facesort.records.face import Face
from facesort.sorting.classifier import Classifier
from person_db import PersonDB


def sort_faces(faces: list[Face], classifier: Classifier, db: PersonDB) -> list[str]:
    """Classify the faces of one frame into ``db``; return the name to show for each."""
    names = ["unknown"] * len(faces)
    new_faces, new_indexes = [], []
    for index, face in enumerate(faces):
        if face.file_name in db.set_aside:  # a false detection the user set aside
            names[index] = "set aside"
            continue
        # a rerun on the same video: a face already saved keeps the user's sorting
        earlier = db.person_of(face.file_name) if db.has_saved_face(face.file_name) else None
        if earlier is not None:
            names[index] = earlier.name
        else:
            new_faces.append(face)
            new_indexes.append(index)
    for index, person in zip(new_indexes, classifier.classify_frame(new_faces, db)):
        if person is not None:
            names[index] = person.name
    return names


def sort_new_faces(faces: list[Face], classifier: Classifier, db: PersonDB) -> list[str]:
    """sort_faces() for faces encoded together but taken from several frames: one call per
    frame, since the faces of one frame are different people (the same-frame rule)."""
    names: list[str] = []
    start = 0
    for end in range(1, len(faces) + 1):
        if end == len(faces) or (faces[end].source, faces[end].frame) != (
                faces[start].source, faces[start].frame):
            names += sort_faces(faces[start:end], classifier, db)
            start = end
    return names
