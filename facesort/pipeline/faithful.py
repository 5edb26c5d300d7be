"""The original post's pipeline (--faithful): every looked-at frame searched whole, every face
encoded and sorted on its own."""
from __future__ import annotations

import itertools
from typing import Iterator

from facesort.detection.protocol import Detector
from facesort.inputs.stream import Inputs
from facesort.pipeline.frames import FrameFaces, PipelineStats, TrackedBox
from facesort.records.face import Face


class FaithfulPipeline:
    """The original algorithm: every looked-at frame at full resolution, upsampled once, and
    every face found encoded and classified on its own (a track of one face)."""

    def __init__(self, detector: Detector) -> None:
        self.detector = detector
        self.stats = PipelineStats()

    def run(self, inputs: Inputs) -> Iterator[FrameFaces]:
        track_ids = itertools.count(1)
        for info, index, seconds, frame in inputs.frames():
            faces = self.detector.detect(frame, source=info.name, frame=index, time_s=seconds,
                                         stem=info.stem)
            for face in faces:
                # a track of one frame: nothing was followed, so followed_from_s stays None
                # (the face is seen at its own time only, as the original saw it)
                face.track_id = next(track_ids)
            self.stats.encoded += len(faces)
            yield FrameFaces(info, index, seconds, frame,
                             [TrackedBox(f.box, f.track_id) for f in faces], faces, index)

    def drain(self) -> list[Face]:
        return []

    def close(self) -> None:
        pass
