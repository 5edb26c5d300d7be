"""What an input is: its kind, name, size and rate, which of its frames are looked at, and
how its times are shown."""
from __future__ import annotations

import os
import re
import time
from dataclasses import dataclass
from enum import Enum

CAMERA_FALLBACK_FPS = 30.0


class SourceKind(str, Enum):
    """What an input is; a str, so that it compares equal to its name in files."""

    VIDEO = "video"
    CAMERA = "camera"
    PHOTO = "photo"


VIDEO, CAMERA, PHOTO = SourceKind.VIDEO, SourceKind.CAMERA, SourceKind.PHOTO
IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".bmp", ".webp", ".tif", ".tiff"}
# a webcam's source name says which camera and when it opened: camera0@20250101-120000
CAMERA_SOURCE = re.compile(r"camera\d+@\d{8}-\d{6}")


@dataclass(frozen=True)
class SourceInfo:
    """What we know about an opened input."""

    name: str          # the path as given, or "camera0@<start time>" for a webcam
    kind: SourceKind
    fps: float         # 0 for a photo
    frame_count: int   # 0 for a webcam, 1 for a photo
    width: int
    height: int
    stem: str = ""     # names its faces: <stem>_f<frame>_<i>.png (default: the file stem)

    @property
    def is_camera(self) -> bool:
        return self.kind == CAMERA


@dataclass(frozen=True)
class Sampling:
    """Which frames to look at: every ``every_s`` seconds (0: every frame), within [skip_s, stop_s)."""

    every_s: float = 1.0
    skip_s: float = 0.0
    stop_s: float = 0.0  # 0: until the end

    def step(self, fps: float) -> int:
        return max(1, round(fps * self.every_s))

    def frames_to_look_at(self, info: SourceInfo) -> int | None:
        """How many frames sampled_frames() will hand out; None when unknown (a webcam)."""
        if info.kind == PHOTO:
            return 1
        if info.is_camera or info.frame_count <= 0:
            return None
        last = info.frame_count - 1
        if self.stop_s > 0:
            last = min(last, int(self.stop_s * info.fps))
        first = int(-(-self.skip_s * info.fps // 1))  # ceil: the first frame at or after skip_s
        step = self.step(info.fps)
        first = -(-first // step) * step  # and on the step grid
        return max(0, (last - first) // step + 1)


def camera_source_name(index: int, opened_at: float) -> str:
    """The source name of a webcam session: which camera, and when it opened (local time)."""
    return f"camera{index}@{time.strftime('%Y%m%d-%H%M%S', time.localtime(opened_at))}"


def is_camera_source(name: str) -> bool:
    """Whether a face's source is a webcam, whose times are wall-clock Unix seconds."""
    return CAMERA_SOURCE.fullmatch(name) is not None


def source_kind(name: str) -> SourceKind:
    """VIDEO, CAMERA or PHOTO, told from a face's source as faces.csv records it."""
    if is_camera_source(name):
        return CAMERA
    # os.path, not Path: the report asks this of every face (100,000 Paths took 1.5 s)
    return PHOTO if os.path.splitext(name)[1].lower() in IMAGE_SUFFIXES else VIDEO


def format_time(seconds: float, wall_clock: bool = False) -> str:
    """Video time as [h:]m:ss.s; a webcam's wall-clock time as local date and time."""
    if wall_clock:
        return time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(seconds))
    minutes, secs = divmod(max(seconds, 0.0), 60)
    hours, minutes = divmod(int(minutes), 60)
    return (f"{hours}:{minutes:02d}:{secs:04.1f}" if hours else f"{minutes}:{secs:04.1f}")
