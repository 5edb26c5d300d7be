"""What the user sees of a run: each face with its name drawn on the frame, in the -d window
(a video file played at its own pace, 'f' for full speed) and the -c folder; and the request to
stop ('q', Ctrl-C, SIGTERM). A live frame shows only the boxes whose face is still there
(app.on_screen)."""
from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import cv2
import numpy as np

from facesort import storage
from facesort.app.on_screen import OnScreen
from facesort.pipeline.frames import FrameFaces
from facesort.records.box import Box
from facesort.records.source import VIDEO, SourceInfo

BOX_COLOR = (0, 0, 255)  # BGR red, as in the post
LABEL_FONT = cv2.FONT_HERSHEY_DUPLEX
WINDOW = "Frame"
STOP_KEY, FULL_SPEED_KEY = ord("q"), ord("f")
MAX_LAG_S = 0.5  # further behind the video's clock (a slow pass): catch up, do not rush


@dataclass
class StopRequest:
    """Set by Ctrl-C, SIGTERM or 'q'; the loop checks it between frames."""

    requested: bool = False

    def request(self, *_: object) -> None:
        self.requested = True


def draw_face(frame: np.ndarray, box: Box, name: str) -> None:
    """Corner marks around the face and the name under it, like the post's screenshots."""
    top, right, bottom, left = box
    arm_x = min(20, (right - left) // 3)
    arm_y = min(20, (bottom - top) // 3)
    for x, y, dx, dy in ((left, top, arm_x, arm_y), (right, top, -arm_x, arm_y),
                         (left, bottom, arm_x, -arm_y), (right, bottom, -arm_x, -arm_y)):
        cv2.line(frame, (x, y), (x + dx, y), BOX_COLOR, 2)
        cv2.line(frame, (x, y), (x, y + dy), BOX_COLOR, 2)
    (width, height), descent = cv2.getTextSize(name, LABEL_FONT, 1.0, 1)
    cv2.putText(frame, name, label_origin(box, (width, height, descent), frame.shape[:2]),
                LABEL_FONT, 1.0, (255, 255, 255), 1)


def label_origin(box: Box, text: tuple[int, int, int], frame_size: tuple[int, int]
                 ) -> tuple[int, int]:
    """Where a name of ``text`` = (width, height, descent) pixels starts (its baseline's left
    end): under the face as in the post, above it when a face at the bottom edge leaves no
    room there, else inside the box; always whole inside the frame."""
    top, right, bottom, left = box
    width, height, descent = text
    frame_height, frame_width = frame_size
    x = max(0, min(left + 6, frame_width - width))
    below, above = bottom + 4 + height, top - 6 - descent
    if below + descent <= frame_height:
        y = below
    elif above - height >= 0:
        y = above
    else:
        y = bottom - 8 - descent
    return x, max(height, min(y, frame_height - descent))


@dataclass
class Pace:
    """Keeps a video file's frames on its own clock in the window (not a live source: it comes
    at its own pace); 'f' turns it off for the rest of the run."""

    clock: Callable[[], float] = time.monotonic
    full_speed: bool = False
    _anchor: tuple[str, float, float] | None = None  # source, its time, the clock's then

    def delay_ms(self, info: SourceInfo | None, seconds: float) -> int:
        """How long to keep the window waiting before the next frame, at least 1 ms."""
        if self.full_speed or info is None or info.kind != VIDEO:
            return 1
        now = self.clock()
        if self._anchor is None or self._anchor[0] != info.name or seconds < self._anchor[1]:
            self._anchor = (info.name, seconds, now)
        due = self._anchor[2] + seconds - self._anchor[1]
        if now - due > MAX_LAG_S:
            self._anchor = (info.name, seconds, now)
            return 1
        return max(1, round((due - now) * 1000))


@dataclass
class FrameOutput:
    """Where annotated frames go: the -d window and the -c directory. ``live_files``: video
    files are played live (--as-live), as webcams are."""

    display: bool
    capture_dir: Path | None
    captures: int = 0
    pace: Pace = field(default_factory=Pace)
    live_files: bool = False
    on_screen: OnScreen = field(default_factory=OnScreen)

    def show(self, found: FrameFaces, names: list[str], stem: str, stop: StopRequest) -> None:
        """Draw the faces of ``found`` with their ``names`` on its frame; save and show it."""
        capture = found.looked_at and self.capture_dir is not None and bool(found.boxes)
        if not (self.display or capture):
            return
        frame, boxes = found.frame, [tracked.box for tracked in found.boxes]
        live = found.info.is_camera or (self.live_files and found.info.kind == VIDEO)
        if live:
            shown = self.on_screen.visible(found)
            boxes, names = [b for b, ok in zip(boxes, shown) if ok], [
                n for n, ok in zip(names, shown) if ok]
        for box, name in zip(boxes, names):
            draw_face(frame, box, name)
        if capture:
            storage.write_image(self.capture_dir / f"{stem}.png", frame)
            self.captures += 1
        if self.display:
            cv2.imshow(WINDOW, frame)
            # a live source comes at its own pace: waiting here would only drop its frames
            key = cv2.waitKey(1 if live else self.pace.delay_ms(found.info, found.seconds)) & 0xFF
            if key == STOP_KEY:
                stop.request()
            elif key == FULL_SPEED_KEY:
                self.pace.full_speed = True

    def close(self) -> None:
        if self.display:
            cv2.destroyAllWindows()
