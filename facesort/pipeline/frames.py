"""What a pipeline hands the frame loop: one FrameFaces per frame (or, from a cluster, per
batch of faces), and its statistics."""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from facesort.records.box import Box
from facesort.records.face import Face
from facesort.records.source import SourceInfo


@dataclass(frozen=True)
class TrackedBox:
    """A face box on one frame and the track it belongs to."""

    box: Box
    track_id: int


@dataclass
class FrameFaces:
    """What the frame loop needs of one looked-at frame."""

    info: SourceInfo                 # the input it is a frame of
    index: int
    seconds: float
    frame: np.ndarray | None = field(repr=False)  # None: faces from a cluster's workers
    boxes: list[TrackedBox]
    new_faces: list[Face]            # encoded since the last FrameFaces: classify and save these
    detected_index: int | None       # the newest frame whose detection pass is reflected here
    looked_at: bool = True           # False: a live frame only shown, not analysed
    frames: int = 1                  # frames done since the last one (a cluster's: 0 or more)


@dataclass
class PipelineStats:
    """What the pipeline did, for the benchmark and the debug log."""

    coarse_passes: int = 0
    fine_passes: int = 0
    full_frame_passes: int = 0
    fine_cost: float = 0.0           # in whole-frame searches at the original's scale
    coarse_seconds: float = 0.0      # worker time
    fine_seconds: float = 0.0
    encoded: int = 0
    unfit: int = 0                   # faces kept unfit to sort (one per track never fit)
    tracks: int = 0                  # tracks started (faces followed)

    def add(self, other: PipelineStats) -> None:
        """Count ``other``'s work in (a cluster's inputs, each done by some worker)."""
        for name in vars(self):
            setattr(self, name, getattr(self, name) + getattr(other, name))
