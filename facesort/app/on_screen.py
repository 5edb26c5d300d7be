"""Which boxes a live frame may show: only where a face still is.

A live source (a webcam, a file played --as-live) shows every frame at once while the detector
runs behind it, so the boxes on a frame are those of the last pass applied, up to a second or
more old. After a cut, or once a face has left, they would sit on whatever is there now: a
webcam user sees that whenever someone leaves or the camera turns. So on a live frame a box is
drawn only if the detector saw its face after the last cut (tracking.shots) and its place
still looks as it did when the detector last saw it there (the tracker's own appearance rule).
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from facesort.detection.passes import colour_histogram
from facesort.pipeline.frames import FrameFaces
from facesort.tracking.shots import is_cut, scene_signature
from facesort.tracking.tracker import TrackingRules, similarity


@dataclass
class Seen:
    """A track's face as the first frame shown after a detection pass had it."""

    detected_index: int
    appearance: np.ndarray = field(repr=False)


@dataclass
class OnScreen:
    """Decides, frame after frame of one live run, which of a frame's boxes are drawn."""

    min_similarity: float = TrackingRules.min_similarity
    _scene: np.ndarray | None = field(default=None, repr=False)
    _source: str | None = None
    _cut_at: int | None = None           # the frame of the last cut (in this source)
    _seen: dict[int, Seen] = field(default_factory=dict)  # track id -> its face, last seen

    def visible(self, found: FrameFaces) -> list[bool]:
        """For each of ``found.boxes``, whether it is drawn (call before drawing on it)."""
        if found.info.name != self._source:  # a new input: no cut before its first frame
            self._source, self._scene, self._cut_at, self._seen = found.info.name, None, None, {}
        scene = scene_signature(found.frame)
        if is_cut(self._scene, scene):
            self._cut_at, self._seen = found.index, {}
        self._scene = scene
        detected = found.detected_index
        if detected is None or (self._cut_at is not None and detected < self._cut_at):
            return [False] * len(found.boxes)  # no pass since the cut: whatever was, is gone
        shown = []
        for tracked in found.boxes:
            here = colour_histogram(found.frame, tracked.box)
            seen = self._seen.get(tracked.track_id)
            if seen is None or seen.detected_index < detected:  # a newer pass had it here
                self._seen[tracked.track_id] = seen = Seen(detected, here)
            shown.append(similarity(here, seen.appearance) >= self.min_similarity)
        return shown
