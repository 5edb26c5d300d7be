"""Open a video file or a webcam and hand out the frames to look at (every -S seconds).

Decoding can run in its own thread (read_ahead), and a live source hands out its newest
frame only (live_frames), so a slow consumer never falls behind the camera.
"""
from __future__ import annotations

import os
import queue
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator, TypeVar

# FFmpeg inside OpenCV prints its own complaints ("moov atom not found") unless told not to;
# we print one clear line instead. Read when FFmpeg starts, so set before cv2 loads it.
os.environ.setdefault("OPENCV_FFMPEG_LOGLEVEL", "-8")

import cv2  # noqa: E402
import numpy as np

CAMERA_FALLBACK_FPS = 30.0
T = TypeVar("T")


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


def _quiet_opencv() -> None:
    # OpenCV prints its own warnings for missing files and cameras; we print one clear line
    logging = getattr(getattr(cv2, "utils", None), "logging", None)
    if logging is not None:
        logging.setLogLevel(logging.LOG_LEVEL_SILENT)


def open_source(text: str) -> tuple[cv2.VideoCapture, SourceInfo]:
    """Open INPUT; raise SourceError with a one-line reason when it cannot be read."""
    _quiet_opencv()
    index = camera_index(text)
    if index is None:
        path = Path(text)
        if not path.exists():
            raise SourceError(f"no such file: '{text}'")
        if path.is_dir():
            raise SourceError(f"'{text}' is a directory, not a video file")
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


_END = object()


def read_ahead(frames: Iterator[T], depth: int = 4) -> Iterator[T]:
    """The same items, produced by a thread up to ``depth`` items ahead.

    OpenCV decodes with the GIL released, so decoding runs on the other core while the
    frame loop works. Closing the iterator stops the thread; an error in it is re-raised here.
    """
    items: queue.Queue = queue.Queue(maxsize=depth)
    stop = threading.Event()

    def produce() -> None:
        try:
            for item in frames:
                while not stop.is_set():
                    try:
                        items.put(item, timeout=0.1)
                        break
                    except queue.Full:
                        continue
                if stop.is_set():
                    return
            items.put(_END)
        except BaseException as error:  # handed to the consumer, raised there
            items.put(error)

    thread = threading.Thread(target=produce, daemon=True, name="frame-reader")
    thread.start()
    try:
        while True:
            item = items.get()
            if item is _END:
                return
            if isinstance(item, BaseException):
                raise item
            yield item
    finally:
        stop.set()
        while thread.is_alive():  # unblock a put() so the thread sees the stop
            try:
                items.get(timeout=0.1)
            except queue.Empty:
                pass
        thread.join()


def live_frames(capture: cv2.VideoCapture, info: SourceInfo, sampling: Sampling,
                paced: bool = False) -> Iterator[tuple[int, float, np.ndarray]]:
    """Every frame of a live source as it comes, for a window at the camera's rate.

    A thread reads the source all the time; the consumer gets the newest frame, and frames it
    was too slow for are dropped, as a camera drops them. ``paced`` plays a video file as if it
    were a camera: frame i is released at i/fps seconds after the start (for tests and demos).
    Times are wall-clock seconds for a camera and video time for a paced file; -k and -s apply.
    """
    newest: list = [None]           # (index, seconds, frame) or _END or an exception
    ready = threading.Condition()
    stop = threading.Event()

    def produce() -> None:
        started = time.monotonic()
        index = -1
        try:
            while not stop.is_set():
                index += 1
                if paced:
                    delay = started + index / info.fps - time.monotonic()
                    if delay > 0:
                        time.sleep(delay)
                ok, frame = capture.read()
                if not ok or frame is None:
                    break
                seconds = index / info.fps if paced else time.monotonic() - started
                if sampling.stop_s > 0 and seconds > sampling.stop_s:
                    break
                if seconds < sampling.skip_s:
                    continue
                with ready:
                    newest[0] = (index, seconds, frame)
                    ready.notify()
            item: object = _END
        except BaseException as error:  # handed to the consumer, raised there
            item = error
        with ready:
            newest[0] = item
            ready.notify()

    thread = threading.Thread(target=produce, daemon=True, name="live-reader")
    thread.start()
    last = -1
    try:
        while True:
            with ready:
                while newest[0] is None or (isinstance(newest[0], tuple) and newest[0][0] == last):
                    ready.wait()
                item = newest[0]
            if item is _END:
                return
            if isinstance(item, BaseException):
                raise item
            last = item[0]
            yield item
    finally:
        stop.set()
        thread.join()
