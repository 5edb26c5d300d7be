"""Decide which person a new face belongs to, on encodings only (no dlib, no disk).

Two rule sets share the threshold ``-t``: a face belongs to a person when it is closer than
``similarity_threshold`` to them.

FaithfulClassifier, the post's rules (``--faithful``; in faithful.py):
  1. The nearest known person (distance to the person's average encoding) below the
     threshold takes the face, and its average is recomputed.
  2. Otherwise the nearest face in the unknown pool below the threshold and the new face
     become a new person ``person_NN``.
  3. Otherwise the face joins the unknown pool.

NeighbourClassifier, the default, changes four things:
  1. A face's distance to a person is the smaller of the distance to the person's average
     and to the person's nearest face, so a person whose faces form several looks (profile,
     glasses, a face the user moved in) is matched by each look, not only by a blurred mean.
     From CORROBORATED_FROM faces the second-nearest face counts, and from CENTRED_FROM looks
     (tracks) the larger of the two distances: a look-alike of someone seen many times comes
     near a few of their faces, not near their middle. Rule 4 measures a track the same way.
  2. Two faces in one frame are two people: the faces of a frame are assigned together,
     closest pair first, at most one per person, and never paired with each other.
  3. A new person is formed from a group of pooled faces (up to MAX_GROUP, with the new face)
     when each of them is closer than the threshold to the average of the others: each would
     join the person the others make, by rule 1's average. For two faces this is the post's
     rule; a person whose looks vary (pairwise ~0.5 apart at -t 0.44) is found from three or
     four faces, where no pair alone is close enough.
  4. On save, persons whose averages are closer than the threshold are merged when the tracks
     of one of them would join the other by rule 1 on their averages: all of them, or three in
     four when the averages are closer than 3/4 of the threshold (MERGE_TRACK_SHARE: one odd
     track does not keep a person in two). A person of one track must also lie within the
     other's spread (EncoderDistances.merge_spread_ratio: a look-alike is near one look of theirs, or their
     average, but not among them). Averages of different people come closer than
     their faces do: at -t 0.55 the averages alone merged people. Either one, since which of
     two pieces of one person is the larger is chance. Faces this run left in the unknown pool
     join a person they now match (persons formed after they were seen). Never merged: two
     persons seen in the same frame, two names the user gave, two persons that were both in
     the result before this run (the user may have split them); faces the user put in
     unknowns/ stay there.
  5. A followed face is one person (Face.track_id: faces of one track, followed over frames).
     A face whose track already went to a person joins that person, always (a track that
     jumped onto someone else has a new id already: facesort.tracking). A track whose faces
     wait in the unknown pool is matched with its pooled evidence: the average of its faces,
     by rule 1; when it matches no one, it becomes a person by itself (two faces make a
     person, linked by following instead of by distance). A track joins a person on the faces
     it has when it is sorted, often one: when its average with a newer face no longer
     matches the rest of that person, it leaves them and is matched again (a look-alike at
     first). Two tracks seen in one frame are still two people. FaithfulClassifier ignores
     tracks, as the post did.

Both rule sets: a face not fit to sort (``Face.unfit``: too small, doubtful, turned, cut by
the edge) goes to the unknown pool, flagged, and is never used to form or join a person: not
when it comes, not as a pooled face for a later one (rules 2, 3), not on save (rule 4).
A face the user moved into a person stays theirs (it loads as that person's face).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from facesort.records.face import (
    DEFAULT_THRESHOLD,
    Face,
    Person,
    close_pairs,
    distances_to_the_others_average,
    face_distance,
    frames_of,
    is_automatic,
    mean_encoding,
    merge_rank,
    same_frame,
)
from facesort.records.distances import distances_of
from facesort.records.modes import EncoderKind
from facesort.sorting.faithful import FaithfulClassifier
from facesort.sorting.nearest import (
    CORROBORATED_FROM,
    corroborating_distance,
    person_distance,
)
from facesort.sorting.roster import Roster, TrackSoFar

MAX_GROUP = 5   # faces a new person may start with (rule 3); more adds little and costs time
# Rule 4: averages closer than MERGE_CLOSE x -t merge when MERGE_TRACK_SHARE of one's tracks
# match the other (one odd track in four may not); further apart, all must (docs/tuning.md)
MERGE_CLOSE = 0.75
MERGE_TRACK_SHARE = 0.75
# Rule 4 for a person of one track: its track must lie among the other's tracks, not only near
# their average or one look (EncoderDistances.merge_spread_ratio x their own spread;
# docs/tuning.md)
MERGE_SPREAD_MIN_TRACKS = 3
SPREAD_SAMPLE = 256


@dataclass(frozen=True)
class NeighbourClassifier:
    """The default rules (see the module docstring); the same ``-t`` as the post."""

    similarity_threshold: float = DEFAULT_THRESHOLD
    merge_spread_ratio: float = distances_of(EncoderKind.DLIB).merge_spread_ratio  # rule 4

    def classify_frame(self, faces: list[Face], db: Roster,
                       tracks: list[TrackSoFar | None] | None = None) -> list[Person | None]:
        """Put the faces of one frame into ``db``; None for a face that joined the unknowns.

        ``tracks[i]``: what was sorted of face i's track before it (rule 5), None for a face
        that starts a track or has none. Faces unfit to sort go to the unknowns as they are.
        """
        tracks = list(tracks) if tracks is not None else [None] * len(faces)
        fit = [index for index, face in enumerate(faces) if not face.unfit]
        for face in faces:
            if face.unfit:
                db.unknown.add_face(face)
        assigned: list[Person | None] = [None] * len(faces)
        sorted_fit = self._classify_fit([faces[i] for i in fit], db, [tracks[i] for i in fit])
        for index, person in zip(fit, sorted_fit):
            assigned[index] = person
        return assigned

    def _classify_fit(self, faces: list[Face], db: Roster,
                      tracks: list[TrackSoFar | None]) -> list[Person | None]:
        """classify_frame() for faces fit to sort."""
        assigned: list[Person | None] = [None] * len(faces)
        taken: set[int] = set()   # id() of the persons given a face of this frame
        waiting = []
        for index, (face, so_far) in enumerate(zip(faces, tracks)):
            person = so_far.person if so_far is not None else None
            if person is not None and id(person) not in taken and person.faces:
                own = [f for f in person.faces if f.track_id == face.track_id
                       and f.source == face.source and f.file_name not in db.loaded_faces]
                if self._still_fits([*own, face], own, person):
                    person.add_face(face)     # rule 5: a followed face stays with its track
                    assigned[index] = person
                    taken.add(id(person))
                    continue
                # rule 5: the track, seen better now, is not that person: it leaves them
                person.remove_faces(own)
                tracks[index] = TrackSoFar(None, own)
            # a new track, one still in the pool, one that left a person, or a second track
            # on one person
            waiting.append(index)
        evidence = {i: [*(so_far.pooled if (so_far := tracks[i]) is not None else []),
                        faces[i]] for i in waiting}
        persons = list(db.persons)
        for distance, index, person_index in self._candidates(
                [evidence[i] for i in waiting], db,
                np.array([id(p) not in taken for p in persons], dtype=bool)):
            index = waiting[index]
            person = persons[person_index]
            if assigned[index] is None and id(person) not in taken:
                self._join(evidence[index], person, db)
                assigned[index] = person
                taken.add(id(person))
        for index in waiting:
            if assigned[index] is not None:
                continue
            if len(evidence[index]) > 1:      # rule 5: a followed face that matches no one
                assigned[index] = db.person_from_pool(evidence[index][:-1],
                                                      evidence[index][-1])
            else:
                assigned[index] = self._group_with_unknown(faces[index], db)
        return assigned

    def _still_fits(self, track: list[Face], own: list[Face], person: Person) -> bool:
        """Whether a track whose first faces went to ``person`` (``own``, this run's) still
        matches the rest of them, with its newest face: by rule 1 on the track's average.
        A track joins a person on the faces it has when it is sorted, often one; the later
        ones may show it was someone else who looked alike at first."""
        if not own or len(own) == len(person.faces):
            return True   # the track made the person, or came to it through the user
        rest = faces_but(person.faces, own)
        encoding = mean_encoding([f.encoding for f in track])
        others = np.array([f.encoding for f in rest])
        distance = min(float(face_distance(others, encoding).min()),
                       float(np.linalg.norm(mean_encoding(others) - encoding)))
        return distance < self.similarity_threshold

    def _candidates(self, tracks: list[list[Face]], db: Roster, allowed: np.ndarray,
                    exact: bool = False) -> list[tuple[float, int, int]]:
        """(distance, track, person) for every pair below the threshold, closest first; a
        person is its place in ``db.persons``, among those ``allowed`` marks (with faces).

        A track is its faces (one face, for a face that starts one); its distance to a person
        is its average's (rule 1 on the average). A person seen in a frame of a pooled face of
        the track is not a candidate: two faces of one frame are two people. A person whose
        average is near enough is a candidate whatever its nearest face: its faces are looked
        at only when there are two pairs or more to rank (``exact``).
        """
        index = db.indexed_persons()
        persons = index.persons
        allowed = allowed & (index.sizes > 0)
        if not tracks or not allowed.any():
            return []
        centred = index.centred
        pairs = []
        for track_index, faces in enumerate(tracks):
            encoding = mean_encoding([f.encoding for f in faces])
            to_average = np.where(allowed, face_distance(index.averages, encoding), np.inf)
            near_enough = to_average < self.similarity_threshold
            # the faces that cannot change the outcome are not looked at (unless ranking);
            # a centred person near enough needs two faces under -t, found among its first
            skip = ~allowed if exact else ~allowed | near_enough | centred
            nearest_face = index.nearest_faces(encoding, self.similarity_threshold,
                                               CORROBORATED_FROM, skip)
            for number in [] if exact else np.flatnonzero(centred & near_enough):
                nearest_face[number] = corroborating_distance(
                    persons[number], encoding, self.similarity_threshold)
            distances = np.where(centred, np.maximum(nearest_face, to_average),
                                 np.minimum(nearest_face, to_average))
            for person_index in np.flatnonzero(distances < self.similarity_threshold):
                if len(faces) > 1 and any(same_frame(f, g) for f in faces[:-1]
                                          for g in persons[person_index].faces):
                    continue
                pairs.append((float(distances[person_index]), track_index, int(person_index)))
        if len(pairs) > 1 and not exact:
            return self._candidates(tracks, db, allowed, exact=True)
        return sorted(pairs)

    def _join(self, faces: list[Face], person: Person, db: Roster) -> None:
        """A track's faces (its pooled ones and its newest) join ``person``."""
        db.take_from_pool(faces[:-1], [person] * (len(faces) - 1))
        for face in faces:
            person.add_face(face)

    def _group_with_unknown(self, face: Face, db: Roster) -> Person | None:
        """Rule 3: the largest group of ``face`` and its nearest pooled faces (one per frame)
        that makes a person, else ``face`` joins the pool."""
        pool = db.unknown.faces
        distances = face_distance(db.unknown.encoding_matrix(), face.encoding)
        group: list[int] = []       # pool indexes, nearest first
        found: list[int] = []
        for index in np.argsort(distances, kind="stable"):  # the pool's fit faces are looked
            if len(group) == MAX_GROUP - 1:                 # at nearest first, as few as may be
                break
            pooled = pool[index]
            if (pooled.unfit or same_frame(pooled, face)
                    or any(same_frame(pooled, pool[other]) for other in group)):
                continue
            group.append(index)
            encodings = np.array([face.encoding, *(pool[i].encoding for i in group)])
            if each_near_the_others(encodings, self.similarity_threshold):
                found = list(group)
        if not found:
            db.unknown.add_face(face)
            return None
        members = [pool[i] for i in found]
        return db.person_from_pool(members, face)

    def consolidate(self, db: Roster) -> list[str]:
        """Before a save: merge persons that are one, then place what the pool now matches.

        Returns one line per change, for the user.
        """
        changes = self.merge_persons(db)
        placed = self.place_unknown_faces(db)
        if placed:
            changes.append(f"{placed} unknown faces now match a person")
        return changes

    def merge_persons(self, db: Roster) -> list[str]:
        """Merge persons whose averages are closer than the threshold (and whose faces would
        join: rule 4), closest pair first.

        The kept name is the one the user gave, else the lower number.
        """
        merged: list[str] = []
        while True:
            pair = self._closest_mergeable_pair(db)
            if pair is None:
                return merged
            kept, absorbed = sorted(pair, key=merge_rank)
            db.merge_persons(kept, absorbed)
            merged.append(f"{absorbed.name} merged into {kept.name}")

    def place_unknown_faces(self, db: Roster) -> int:
        """Give each pooled face (fit to sort) to the closest person below the threshold not
        seen in its frame."""
        placed: list[Face] = []
        chosen_for: list[Person] = []
        persons = list(db.persons)
        seen_by: dict[tuple[str, int | None], list[int]] = {}   # frame -> persons in it
        for number, person in enumerate(persons):
            for frame in frames_of(person):
                seen_by.setdefault(frame, []).append(number)
        for face in [f for f in db.unknown.faces
                     if f.file_name not in db.loaded_faces and not f.unfit]:
            free = np.ones(len(persons), dtype=bool)
            free[seen_by.get((face.source, face.frame), [])] = False
            candidates = self._candidates([[face]], db, free)
            if candidates:
                chosen = candidates[0][2]
                persons[chosen].add_face(face)
                seen_by.setdefault((face.source, face.frame), []).append(chosen)
                placed.append(face)
                chosen_for.append(persons[chosen])
        db.take_from_pool(placed, chosen_for)
        return len(placed)

    def _closest_mergeable_pair(self, db: Roster) -> tuple[Person, Person] | None:
        persons = [p for p in db.persons if p.faces]
        if len(persons) < 2:
            return None
        averages = np.array([p.encoding for p in persons])
        frames: dict[int, set[tuple[str, int]]] = {}
        for distance, i, j in close_pairs(averages, self.similarity_threshold):
            for k in (i, j):
                if k not in frames:
                    frames[k] = frames_of(persons[k])
            if (not (frames[i] & frames[j])
                    and self._may_merge(db, persons[i], persons[j])
                    and self._would_join(persons[i], persons[j], distance)):
                return persons[i], persons[j]
        return None

    def _would_join(self, a: Person, b: Person, apart: float) -> bool:
        """Whether the tracks of one person are close to the other (rule 1 on a track's
        average, as rule 5 matches a track; a face without a track is one): all of them, or
        MERGE_TRACK_SHARE of them when the averages are ``apart`` less than MERGE_CLOSE x -t."""
        share = MERGE_TRACK_SHARE if apart < MERGE_CLOSE * self.similarity_threshold else 1.0
        return self._tracks_match(a, b, share) or self._tracks_match(b, a, share)

    def _tracks_match(self, person: Person, other: Person, share: float) -> bool:
        tracks = track_averages(person.faces)
        matching = np.array([person_distance(other, track) for track in tracks]
                            ) < self.similarity_threshold
        if len(tracks) == 1 and not within_spread(tracks[0], track_averages(other.faces),
                                                  self.merge_spread_ratio):
            return False
        return bool(np.mean(matching) >= share)

    @staticmethod
    def _may_merge(db: Roster, a: Person, b: Person) -> bool:
        user_named = not is_automatic(a) and not is_automatic(b)
        both_sorted_before = a.name in db.loaded_persons and b.name in db.loaded_persons
        return not (user_named or both_sorted_before)


def faces_but(faces: list[Face], leaving: list[Face]) -> list[Face]:
    """``faces`` without those of ``leaving`` (the very records: a face is itself)."""
    gone = {id(face) for face in leaving}
    return [face for face in faces if id(face) not in gone]


def track_averages(faces: list[Face]) -> np.ndarray:
    """The average encoding of each track among ``faces`` (one row per face without a track),
    in the order the tracks first appear."""
    groups: dict[object, list[np.ndarray]] = {}
    for number, face in enumerate(faces):
        key = (face.source, face.track_id) if face.track_id is not None else number
        groups.setdefault(key, []).append(face.encoding)
    return np.array([mean_encoding(encodings) for encodings in groups.values()])


def within_spread(track: np.ndarray, tracks: np.ndarray, ratio: float) -> bool:
    """Whether a track's average distance to ``tracks`` is at most ``ratio`` times
    theirs to each other; True below MERGE_SPREAD_MIN_TRACKS of them (too few to say). Their
    spread is measured on at most SPREAD_SAMPLE of them, evenly picked: a person of thousands
    of tracks costs no more than one of a few hundred."""
    count = len(tracks)
    if count < MERGE_SPREAD_MIN_TRACKS:
        return True
    sample = tracks[::-(-count // SPREAD_SAMPLE)]
    squares = (sample ** 2).sum(axis=1)
    apart = np.sqrt(np.maximum(squares[:, None] + squares[None] - 2 * sample @ sample.T, 0))
    np.fill_diagonal(apart, 0)
    spread = apart.sum() / (len(sample) * (len(sample) - 1))
    return bool(np.linalg.norm(tracks - track, axis=1).mean() <= ratio * spread)


def each_near_the_others(encodings: np.ndarray, threshold: float) -> bool:
    """Whether every row is closer than ``threshold`` to the average of the other rows."""
    return bool(np.all(distances_to_the_others_average(encodings) < threshold))


Classifier = FaithfulClassifier | NeighbourClassifier


def make_classifier(similarity_threshold: float, faithful: bool = False,
                    encoder: EncoderKind = EncoderKind.DLIB) -> Classifier:
    """The default rules for ``encoder``'s encodings, or the post's with ``faithful``."""
    if faithful:
        return FaithfulClassifier(similarity_threshold)
    return NeighbourClassifier(similarity_threshold, distances_of(encoder).merge_spread_ratio)
