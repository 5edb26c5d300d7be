"""Open a video file or a webcam and hand out the frames to look at (every -S seconds)."""
from __future__ import annotations

import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

# FFmpeg inside OpenCV prints its own complaints ("moov atom not found") unless told not to;
# we print one clear line instead. Read when FFmpeg starts, so set before cv2 loads it.
os.environ.setdefault("OPENCV_FFMPEG_LOGLEVEL", "-8")

import cv2  # noqa: E402
import numpy as np

CAMERA_FALLBACK_FPS = 30.0


class SourceError(Exception):
    """The input cannot be read; the message says why in one line."""


@dataclass(frozen=True)
class SourceInfo:
    """What we know about an opened input."""

    name: str          # the path as given, or "camera0@<start time>" for a webcam
    is_camera: bool
    fps: float
    frame_count: int   # 0 for a webcam
    width: int
    height: int


@dataclass(frozen=True)
class Sampling:
    """Which frames to look at: every ``every_s`` seconds (0: every frame), within [skip_s, stop_s)."""

    every_s: float = 1.0
    skip_s: float = 0.0
    stop_s: float = 0.0  # 0: until the end

    def step(self, fps: float) -> int:
        return max(1, round(fps * self.every_s))


def camera_index(text: str) -> int | None:
    """The webcam index when INPUT is an integer such as '0', else None."""
    return int(text) if text.strip().isdigit() else None


def quiet_opencv() -> None:
    # OpenCV prints its own warnings for missing files and cameras; we print one clear line
    logging = getattr(getattr(cv2, "utils", None), "logging", None)
    if logging is not None:
        logging.setLogLevel(logging.LOG_LEVEL_SILENT)


def open_source(text: str) -> tuple[cv2.VideoCapture, SourceInfo]:
    """Open INPUT; raise SourceError with a one-line reason when it cannot be read."""
    quiet_opencv()
    index = camera_index(text)
    if index is None:
        path = Path(text)
        if not path.exists():
            raise SourceError(f"no such file: '{text}'")
        if path.is_dir():
            raise SourceError(f"'{text}' is a directory, not a video file")
        if not os.access(path, os.R_OK):
            raise SourceError(f"no permission to read '{text}'")
        if path.stat().st_size == 0:
            raise SourceError(f"'{text}' is empty, not a video")
        capture = cv2.VideoCapture(str(path))
        if not capture.isOpened():
            raise SourceError(f"cannot read '{text}' as a video (not a video file, or damaged)")
        name = text
    else:
        capture = cv2.VideoCapture(index)
        if not capture.isOpened():
            raise SourceError(f"cannot open camera {index}: no such camera, or it is in use")
        name = f"camera{index}@{time.strftime('%Y%m%d-%H%M%S')}"
    fps = capture.get(cv2.CAP_PROP_FPS)
    if not fps or fps != fps or fps <= 0 or fps > 1000:
        fps = CAMERA_FALLBACK_FPS
    info = SourceInfo(name=name, is_camera=index is not None, fps=fps,
                      frame_count=0 if index is not None else
                      max(0, int(capture.get(cv2.CAP_PROP_FRAME_COUNT))),
                      width=int(capture.get(cv2.CAP_PROP_FRAME_WIDTH)),
                      height=int(capture.get(cv2.CAP_PROP_FRAME_HEIGHT)))
    return capture, info


def sampled_frames(capture: cv2.VideoCapture, info: SourceInfo,
                   sampling: Sampling) -> Iterator[tuple[int, float, np.ndarray]]:
    """Yield (0-based frame index, seconds, BGR frame) for the frames to look at.

    Frames in between are only grabbed, not converted. A file's time is video time;
    a webcam's is wall-clock seconds since it opened.
    """
    step = sampling.step(info.fps)
    started = time.monotonic()
    index = -1
    while True:
        index += 1
        seconds = time.monotonic() - started if info.is_camera else index / info.fps
        if sampling.stop_s > 0 and seconds > sampling.stop_s:
            return
        wanted = index % step == 0 and seconds >= sampling.skip_s
        if not wanted:
            if not capture.grab():
                return
            continue
        ok, frame = capture.read()
        if not ok or frame is None:
            return
        yield index, seconds, frame
