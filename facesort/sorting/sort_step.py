"""The sorting step of the frame loop: new faces handed to the classifier a frame at a time;
faces saved by an earlier run keep the person the user left them with; a run remembers where
the faces of each track went (the classifier's rule 5: a followed face is one person), from
what the classifier returns and where the roster says pooled faces went."""
from __future__ import annotations

from dataclasses import dataclass, field

from facesort.records.face import Face, Person
from facesort.sorting.classifier import Classifier
from facesort.sorting.roster import Roster, TrackSoFar

TrackKey = tuple[str, int]   # (source, track id): track ids are unique within one run


@dataclass
class TrackMemory:
    """Where this run's faces of each track went, for the track's next face."""

    tracks: dict[TrackKey, TrackSoFar] = field(default_factory=dict)

    def so_far(self, face: Face) -> TrackSoFar | None:
        """What was sorted of ``face``'s track before it."""
        if face.track_id is None:
            return None
        return self.tracks.get((face.source, face.track_id))

    def departed(self, departures: list[tuple[Face, Person]]) -> None:
        """Pooled faces were taken into persons (Roster.departures: another face's group, the
        classifier's rule 3): a track whose pooled faces went is that person's now, with the
        rest of its pooled faces (the person of its last face to go, in the track's order)."""
        went: dict[TrackKey, dict[int, Person]] = {}
        for face, person in departures:
            if face.track_id is not None:
                went.setdefault((face.source, face.track_id), {})[id(face)] = person
        for key, persons in went.items():
            so_far = self.tracks.get(key)
            if so_far is None or not so_far.pooled:
                continue
            gone = [f for f in so_far.pooled if id(f) in persons]
            if gone:
                self.tracks[key] = TrackSoFar(persons[id(gone[-1])],
                                              [f for f in so_far.pooled if id(f) not in persons])

    def record(self, face: Face, person: Person | None, db: Roster) -> None:
        """``face`` went to ``person`` (None: the unknown pool). A face unfit to sort is no
        evidence of where its track belongs: it is not recorded."""
        if face.track_id is None or face.unfit:
            return
        key = (face.source, face.track_id)
        if person is not None and person is not db.unknown:
            self.tracks[key] = TrackSoFar(person)
        elif face.file_name in db.loaded_faces:  # put in unknowns/ by the user: it stays there
            self.tracks[key] = TrackSoFar()
        else:
            so_far = self.tracks.get(key)
            pooled = so_far.pooled if so_far is not None and so_far.person is None else []
            self.tracks[key] = TrackSoFar(None, [*pooled, face])


def sort_faces(faces: list[Face], classifier: Classifier, db: Roster,
               tracks: TrackMemory | None = None) -> list[str]:
    """Classify the faces of one frame into ``db``; return the name to show for each.

    With ``tracks``, a face is sorted with its track (see TrackMemory); without, alone.
    """
    names = ["unknown"] * len(faces)
    new_faces, new_indexes = [], []
    for index, face in enumerate(faces):
        if face.file_name in db.set_aside:  # a false detection the user set aside
            names[index] = "set aside"
            continue
        # a rerun on the same video: a face already saved keeps the user's sorting
        earlier = db.person_of(face.file_name) if db.has_saved_face(face.file_name) else None
        if earlier is not None:
            names[index] = earlier.name if earlier is not db.unknown else "unknown"
            if tracks is not None:
                tracks.record(face, earlier, db)
        else:
            new_faces.append(face)
            new_indexes.append(index)
    so_far = [tracks.so_far(face) for face in new_faces] if tracks is not None else None
    persons = classifier.classify_frame(new_faces, db, so_far)
    for index, face, person in zip(new_indexes, new_faces, persons):
        if person is not None:
            names[index] = person.name
        if tracks is not None:
            tracks.record(face, person, db)
    departures = db.departures()   # read always: they are not kept for long
    if tracks is not None:
        tracks.departed(departures)
    return names


def sort_new_faces(faces: list[Face], classifier: Classifier, db: Roster,
                   tracks: TrackMemory | None = None) -> list[str]:
    """sort_faces() for faces encoded together but taken from several frames: one call per
    frame, since the faces of one frame are different people (the same-frame rule)."""
    names: list[str] = []
    start = 0
    for end in range(1, len(faces) + 1):
        if end == len(faces) or (faces[end].source, faces[end].frame) != (
                faces[start].source, faces[start].frame):
            names += sort_faces(faces[start:end], classifier, db, tracks)
            start = end
    return names
