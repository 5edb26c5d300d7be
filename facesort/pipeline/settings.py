"""How hard the pipeline looks and how often: one frozen, keyword-only record, each field's
bounds beside it (checked when it is made); what the constants were measured on is in
docs/tuning.md."""
from __future__ import annotations

from dataclasses import dataclass

from facesort.records.bounds import bounded, check_bounds
from facesort.records.modes import FollowerKind, SmallFaces

# a re-encoding this far from its track's mean is someone else: dlib's own same-person
# threshold (a face turning on the stage clip stays within 0.51 of its track's mean)
SWITCH_DISTANCE = 0.6


@dataclass(frozen=True, kw_only=True)
class PipelineSettings:
    """How hard to look and how often; the defaults meet issue 8's speed and recall goals."""

    resize_ratio: float = bounded(1.0, 1e-6, 4.0)        # -r
    coarse_scale: float = bounded(0.5, 0.05, 1.0)        # the big-face pass's frame size
    small_faces: SmallFaces = SmallFaces.MOTION
    colour: bool = False               # the coarse pass on colour (YuNet), else grey (HOG)
    coarse_side: int = bounded(0, 0, 10_000)   # > 0: coarse scale per input (PassSettings)
    video_scale: float = bounded(1.0, 0.05, 1.0)  # with coarse_side, a video's at most
    coarse_every_s: float = bounded(0.2, 0.0, 60.0)   # -S 0: between big-face passes
    # -S 0: coarse passes between look frames (nothing is encoded there) at most this scale:
    # they keep the tracks of big faces; small faces are found at the next look
    between_looks_scale: float = bounded(1.0, 0.05, 1.0)
    fine_every_s: float = bounded(0.5, 0.0, 60.0)     # -S 0: between small-face passes
    fine_budget: float = bounded(0.5, 0.0, 100.0)     # whole-frame small-face searches a second
    full_every_s: float = bounded(30.0, 0.0, 1e6)     # a whole-frame one at least this often
    # the encoding budget (docs/tuning.md): tracks are encoded on look frames only, first
    # where found, again second_look_s later (two faces make a person), then every
    # reencode_every_s or when their look or size changed
    encodings_per_s: float = bounded(2.0, 1e-3, 1000.0)
    second_look_s: float = bounded(0.5, 0.0, 3600.0)
    reencode_every_s: float = bounded(1.0, 0.0, 3600.0)
    # each encoding the average of the face's and its mirror image's: halves a still face's
    # alignment error for ~12% of a run's time (docs/tuning.md)
    mirror_average: bool = True
    switch_distance: float = bounded(SWITCH_DISTANCE, 0.0, 4.0)  # a re-encoding this far away:
    # someone else
    follower: FollowerKind = FollowerKind.TEMPLATE
    workers: int = bounded(2, 0, 256)  # worker processes; 0 runs the jobs in this process
    labels_in_step: bool = False       # -d, -c: hand a file's frames out with their encodings
    lookahead: int = bounded(3, 0, 1000)   # -S > 0: looked-at frames detected ahead of the loop
    max_encodes_waiting: int = bounded(8, 1, 100_000)

    def __post_init__(self) -> None:
        SmallFaces(self.small_faces), FollowerKind(self.follower)  # ValueError if not
        check_bounds(self)
