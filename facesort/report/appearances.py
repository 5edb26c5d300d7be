"""Who was seen when: a person's faces in one source, joined into continuous appearances.

Times are a file's video time, and a webcam's wall-clock time (Unix seconds). An appearance
ends where the person goes unseen for longer than ``max_gap``: twice the source's sampling
interval, and at least MIN_GAP_S. Twice, so that one frame in which the detector missed the
face (turned away, blurred) does not cut an appearance in two; at least two seconds, so that
at -S 0 (every frame) a glance away is not an exit either.

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
from functools import reduce
from typing import Iterable

from facesort.records.face import Roster
from facesort.records.source import is_camera_source

APPEARANCES_CSV = "appearances.csv"
APPEARANCE_COLUMNS = ["person", "source", "start_s", "end_s", "faces"]
MIN_GAP_S = 2.0
GAP_INTERVALS = 2
TIME_RESOLUTION_S = 0.001  # faces.csv keeps times to the millisecond


@dataclass(frozen=True)
class Sighting:
    """One face of a person: where and when it was seen."""

    person: str
    source: str
    time_s: float
    frame: int | None = None


@dataclass(frozen=True)
class Appearance:
    """A person seen continuously in one source from start_s to end_s, in ``faces`` faces."""

    person: str
    source: str
    start_s: float
    end_s: float
    faces: int


def sightings_of(db: Roster) -> list[Sighting]:
    """Every face with a source and a time, under the name of the folder it is in now."""
    return [Sighting(person.name, face.source, face.time_s, face.frame)
            for person, face in db.all_faces()
            if face.source and face.time_s is not None and math.isfinite(face.time_s)]


def sampling_interval(sightings: Iterable[Sighting]) -> float:
    """Seconds between the frames looked at in one source (0 when it cannot be told)."""
    sightings = list(sightings)
    times = sorted({round(s.time_s / TIME_RESOLUTION_S) for s in sightings})
    if len(times) < 2:
        return 0.0
    frames = [s.frame for s in sightings if s.frame is not None and s.frame >= 0]
    per_frame = [s.time_s / s.frame for s in sightings if s.frame and s.time_s > 0]
    if frames and per_frame and not is_camera_source(sightings[0].source):
        return reduce(math.gcd, frames) * statistics.median(per_frame)
    return min(b - a for a, b in zip(times, times[1:])) * TIME_RESOLUTION_S


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
        by_person: dict[str, list[float]] = {}
        for sighting in seen:
            by_person.setdefault(sighting.person, []).append(sighting.time_s)
        for person, times in by_person.items():
            times.sort()
            start = previous = times[0]
            faces = 0
            for time_s in times:
                if time_s - previous > gap + TIME_RESOLUTION_S:
                    found.append(Appearance(person, source, start, previous, faces))
                    start, faces = time_s, 0
                previous = time_s
                faces += 1
            found.append(Appearance(person, source, start, previous, faces))
    return sorted(found, key=lambda a: (a.source, a.start_s, a.person))


def appearances_csv(appearances: Iterable[Appearance]) -> str:
    """appearances.csv: person,source,start_s,end_s,faces; times to the millisecond."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(APPEARANCE_COLUMNS)
    for a in appearances:
        writer.writerow([a.person, a.source, f"{a.start_s:.3f}", f"{a.end_s:.3f}", a.faces])
    return buffer.getvalue()
