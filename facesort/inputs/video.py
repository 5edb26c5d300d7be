"""Open a video file or a webcam and hand out the frames to look at (every -S seconds).

Decoding can run in its own thread (read_ahead), and a live source hands out its newest
frame only (live_frames), so a slow consumer never falls behind the camera.
"""
from __future__ import annotations

import os
import queue
import threading
import time
from pathlib import Path
from typing import Iterator, TypeVar

# FFmpeg inside OpenCV prints its own complaints ("moov atom not found") unless told not to;
# we print one clear line instead. Read when FFmpeg starts, so set before cv2 loads it.
os.environ.setdefault("OPENCV_FFMPEG_LOGLEVEL", "-8")

import cv2  # noqa: E402
import numpy as np

from facesort.records.source import (
    CAMERA,
    CAMERA_FALLBACK_FPS,
    VIDEO,
    Sampling,
    SourceInfo,
    camera_source_name,
)

T = TypeVar("T")

# FFmpeg's decoding threads. The frame loop's two worker processes keep two cores busy;
# decoding with one thread instead of FFmpeg's several costs 25-35% less CPU for the same
# frames (the 91 s dev video: 1.18 s against 1.59 s, all frames read) and takes as long
# on an idle machine, so on two cores the workers get the difference; more cores go to it.
DECODE_THREADS = max(1, (os.cpu_count() or 1) - 2)


class SourceError(Exception):
    """The input cannot be read; the message says why in one line."""


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
        capture = cv2.VideoCapture(str(path), cv2.CAP_ANY,
                                   [cv2.CAP_PROP_N_THREADS, DECODE_THREADS])
        if not capture.isOpened():
            raise SourceError(f"cannot read '{text}' as a video (not a video file, or damaged)")
        name, kind = text, VIDEO
    else:
        capture = cv2.VideoCapture(index)
        if not capture.isOpened():
            raise SourceError(f"cannot open camera {index}: no such camera, or it is in use")
        name, kind = camera_source_name(index, time.time()), CAMERA
    fps = capture.get(cv2.CAP_PROP_FPS)
    if not fps or fps != fps or fps <= 0 or fps > 1000:
        fps = CAMERA_FALLBACK_FPS
    info = SourceInfo(name=name, kind=kind, fps=fps,
                      frame_count=0 if index is not None else
                      max(0, int(capture.get(cv2.CAP_PROP_FRAME_COUNT))),
                      width=int(capture.get(cv2.CAP_PROP_FRAME_WIDTH)),
                      height=int(capture.get(cv2.CAP_PROP_FRAME_HEIGHT)),
                      stem=Path(name).stem)
    return capture, info


def sampled_frames(capture: cv2.VideoCapture, info: SourceInfo,
                   sampling: Sampling) -> Iterator[tuple[int, float, np.ndarray]]:
    """Yield (0-based frame index, seconds, BGR frame) for the frames to look at.

    Frames in between are only grabbed, not converted. A file's time is video time. A
    webcam's is the wall-clock time (Unix seconds) the frame was read, so that its faces say
    when they were seen; -s and -k count seconds since the camera opened.
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
        yield index, time.time() if info.is_camera else seconds, frame


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


def sleep_until(moment: float) -> None:
    """Wait until time.monotonic() reaches ``moment`` (not at all when it has)."""
    delay = moment - time.monotonic()
    if delay > 0:
        time.sleep(delay)


def live_frames(capture: cv2.VideoCapture, info: SourceInfo, sampling: Sampling,
                paced: bool = False) -> Iterator[tuple[int, float, np.ndarray]]:
    """Every frame of a live source as it comes, for a window at the camera's rate.

    A thread reads the source all the time; the consumer gets the newest frame, and frames it
    was too slow for are dropped, as a camera drops them. ``paced`` plays a video file as if it
    were a camera: frame i is released at i/fps seconds after the start (for tests and demos).
    Times are as sampled_frames() gives them: a camera's the wall-clock time (Unix seconds), a
    paced file's its video time; -k and -s count seconds since the start.
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
                    sleep_until(started + index / info.fps)
                ok, frame = capture.read()
                if not ok or frame is None:
                    break
                elapsed = index / info.fps if paced else time.monotonic() - started
                if sampling.stop_s > 0 and elapsed > sampling.stop_s:
                    break
                if elapsed < sampling.skip_s:
                    continue
                seconds = time.time() if info.is_camera else elapsed
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
