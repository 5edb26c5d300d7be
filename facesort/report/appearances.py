"""Who was seen when: a person's faces in one source, joined into continuous appearances.

Times are a file's video time, and a webcam's wall-clock time (Unix seconds). Each face is
seen over an interval: from the time its track was followed from (``Face.followed_from_s``:
the track's previous encoded face, or its first detection) to its own time, as the tracker
followed the face over the frames in between without encoding it; a face without that time
(a photo, --faithful, an older result) is seen at its own time only. The interval belongs to
the face, so a face the user moves to another person takes its interval along.

A person's appearance is the union of their faces' intervals in one source: it ends where
the person goes unseen for longer than ``max_gap`` between one interval's end and the next
one's start: twice the source's sampling interval, and at least MIN_GAP_S. Twice, so that one
frame in which the detector missed the face (turned away, blurred) does not cut an appearance
in two; at least two seconds, so that at -S 0 (every frame) a glance away is not an exit either.

The sampling interval is read off the faces themselves, because a result directory collects
faces of many runs with different -S. A file's frames looked at are multiples of one step
(-S x fps frames), so the greatest common divisor of its faces' frame indices is that step
(or a multiple of it when faces are rare, which only joins more); its video time per frame
turns it into seconds. A webcam's frames have no fixed time, so there it is the smallest time
between two sightings.
"""
from __future__ import annotations

import csv
import io
import math
import statistics
from dataclasses import dataclass
from typing import Iterable

import numpy as np

from facesort.records.face import Face, Roster
from facesort.records.source import SourceKind, is_camera_source, source_kind

APPEARANCES_CSV = "appearances.csv"
APPEARANCE_COLUMNS = ["person", "source", "start_s", "end_s", "faces"]
MIN_GAP_S = 2.0
GAP_INTERVALS = 2
TIME_RESOLUTION_S = 0.001  # faces.csv keeps times to the millisecond


@dataclass(frozen=True)
class Sighting:
    """One face of a person: where and when it was seen (followed from when, if known)."""

    person: str
    source: str
    time_s: float
    frame: int | None = None
    followed_from_s: float | None = None

    @property
    def start_s(self) -> float:
        """When the person was seen from, up to this face: the start of its interval."""
        if self.followed_from_s is None:
            return self.time_s
        return min(self.followed_from_s, self.time_s)


@dataclass(frozen=True)
class Appearance:
    """A person seen continuously in one source from start_s to end_s, in ``faces`` faces."""

    person: str
    source: str
    start_s: float
    end_s: float
    faces: int
    kind: SourceKind | None = None  # the source's (told from its name when not given)

    def __post_init__(self) -> None:
        if self.kind is None:
            object.__setattr__(self, "kind", source_kind(self.source))


def sightings_of(db: Roster) -> list[Sighting]:
    """Every face with a source and a time, under the name of the folder it is in now."""
    return [sighting for person in [*db.persons, db.unknown]
            for sighting in person_sightings(person.name, person.faces)]


def person_sightings(name: str, faces: Iterable[Face]) -> list[Sighting]:
    """The faces of the person ``name`` that have a source and a time, as sightings."""
    return [Sighting(name, face.source, face.time_s, face.frame,
                     face.followed_from_s if known(face.followed_from_s) else None)
            for face in faces if face.source and known(face.time_s)]


def known(time_s: float | None) -> bool:
    return time_s is not None and math.isfinite(time_s)


def sampling_interval(sightings: Iterable[Sighting]) -> float:
    """Seconds between the frames looked at in one source (0 when it cannot be told)."""
    sightings = list(sightings)
    times = np.unique(np.rint(np.array([s.time_s for s in sightings]) / TIME_RESOLUTION_S))
    if len(times) < 2:
        return 0.0
    frames = np.array([s.frame for s in sightings if s.frame is not None and s.frame >= 0],
                      dtype=np.int64)
    per_frame = [s.time_s / s.frame for s in sightings if s.frame and s.time_s > 0]
    if len(frames) and per_frame and not is_camera_source(sightings[0].source):
        return int(np.gcd.reduce(frames)) * statistics.median(per_frame)
    return float(np.diff(times).min()) * TIME_RESOLUTION_S


def max_gap(interval: float) -> float:
    """The longest time a person may go unseen within one appearance."""
    return max(GAP_INTERVALS * interval, MIN_GAP_S)


def find_appearances(sightings: Iterable[Sighting]) -> list[Appearance]:
    """Join each person's sightings in each source into appearances, by source then time."""
    by_source: dict[str, list[Sighting]] = {}
    for sighting in sightings:
        by_source.setdefault(sighting.source, []).append(sighting)
    found = []
    for source, seen in by_source.items():
        gap = max_gap(sampling_interval(seen))
        kind = source_kind(source)
        by_person: dict[str, list[Sighting]] = {}
        for sighting in seen:
            by_person.setdefault(sighting.person, []).append(sighting)
        for person, theirs in by_person.items():
            found += [Appearance(person, source, start, end, faces, kind)
                      for start, end, faces in joined(theirs, gap)]
    return sorted(found, key=lambda a: (a.source, a.start_s, a.person))


def joined(sightings: list[Sighting], gap: float) -> list[tuple[float, float, int]]:
    """(start, end, faces) of the appearances of one person's ``sightings`` in one source:
    their intervals in order of start, cut where the next starts more than ``gap`` after all
    before it ended."""
    starts = np.array([s.start_s for s in sightings])
    ends = np.array([s.time_s for s in sightings])
    order = np.lexsort((ends, starts))
    starts, ends = starts[order], np.maximum.accumulate(ends[order])
    # an interval starts no later than it ends, so the running end of all before a cut is
    # the end of the appearance the cut closes
    cuts = np.flatnonzero(starts[1:] - ends[:-1] > gap + TIME_RESOLUTION_S) + 1
    firsts = np.concatenate([[0], cuts])
    lasts = np.concatenate([cuts, [len(starts)]]) - 1
    return [(float(starts[f]), float(ends[last]), int(last - f + 1))
            for f, last in zip(firsts, lasts)]


def appearances_csv(appearances: Iterable[Appearance]) -> str:
    """appearances.csv: person,source,start_s,end_s,faces; times to the millisecond."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(APPEARANCE_COLUMNS)
    for a in appearances:
        writer.writerow([a.person, a.source, f"{a.start_s:.3f}", f"{a.end_s:.3f}", a.faces])
    return buffer.getvalue()
