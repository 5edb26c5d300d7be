"""What the pipeline keeps while it reads an input: the passes in flight (PendingPass), each
track's last look since its encoding, and one input's tracks, schedule and motion."""
from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field

import numpy as np

from facesort.detection.passes import PassSettings
from facesort.detection.protocol import Found
from facesort.detection.regions import FineBudget, Region
from facesort.records.box import Box
from facesort.records.source import SourceInfo
from facesort.tracking.follower import Picture
from facesort.tracking.tracker import DetectionSchedule, Track, TrackBook


@dataclass
class PendingPass:
    """A detection pass in flight on frame ``index``, and what it needs to be planned."""

    index: int
    seconds: float
    frame: np.ndarray = field(repr=False)
    picture: Picture | None = field(repr=False)   # to start followers on (when following)
    coarse: bool
    fine: bool
    motion: np.ndarray | None = field(default=None, repr=False)     # motion image of frame
    known: list[Box] = field(default_factory=list)     # faces known at this frame
    before: list[Box] = field(default_factory=list)    # big faces of the frame before
    followed: list[Box] = field(default_factory=list)  # faces of ~60 px+ followed lately
    small: list[Box] = field(default_factory=list)
    ended: list[Box] = field(default_factory=list)
    gone: list[Track] = field(default_factory=list)  # tracks whose face is no longer there
    coarse_ticket: int | None = None
    coarse_found: list[Found] | None = None
    fine_ticket: int | None = None
    planned: bool = False
    regions: list[Region] = field(default_factory=list)
    full_frame: bool = False
    cut_before: bool = False    # a cut lies between the frame looked at before and this one
    look: int | None = None     # the number of this look frame; None: encode nothing here
    passes: PassSettings | None = None  # the coarse pass's settings, when not the input's


@dataclass
class LastLook:
    """Where a detection pass last found a track's face since its last encoding: encoded
    when the track ends, so that its faces reach to where it was last seen."""

    pending: PendingPass
    box: Box
    number: int    # its face's number among the faces of that frame


@dataclass
class UnfitLook:
    """A track's largest look so far while it has never been fit to encode: kept, flagged, as
    its one face when it ends unencoded (its crop, since the frame is not kept)."""

    crop: np.ndarray = field(repr=False)
    box: Box
    index: int
    seconds: float
    number: int    # its face's number among the faces of that frame
    reason: str    # records.face.Unfit


@dataclass
class SourceState:
    """What belongs to one input: its tracks, detection schedule, passes in flight, motion."""

    info: SourceInfo | None
    fps: float
    book: TrackBook
    budget: FineBudget
    coarse_every: int
    look_every: int                       # frames from one look frame (encodings) to the next
    schedule: DetectionSchedule = field(default_factory=DetectionSchedule)
    pending: deque[PendingPass] = field(default_factory=deque)  # passes sent, not yet applied
    reference: np.ndarray | None = None   # motion image: last fine pass, all searched
    background: np.ndarray | None = None  # motion image of the scene without news
    ended: list[Box] = field(default_factory=list)  # where small faces were lost since then
    previous_coarse: list[Box] = field(default_factory=list)  # big faces of the last frame planned
    detected_index: int | None = None     # the newest frame whose passes are applied
    scene: np.ndarray | None = None       # the last frame's scene_signature(): cuts end tracks
    last_looks: dict[Track, LastLook] = field(default_factory=dict)  # found since encoded
    unfit_looks: dict[Track, UnfitLook] = field(default_factory=dict)  # never fit so far
    looks: int = 0                        # look frames so far
    last_look: int | None = None          # the frame of the last one


def frames_in(seconds: float, fps: float) -> int:
    """Seconds of video as a number of frames (0 stays 0: 'never')."""
    return max(1, round(seconds * fps)) if seconds > 0 else 0
