"""What the user sees of a run: each face with its name drawn on the frame, in the -d window
and the -c folder; and the request to stop ('q', Ctrl-C, SIGTERM)."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from facesort import storage
from facesort.records.box import Box

BOX_COLOR = (0, 0, 255)  # BGR red, as in the post
LABEL_FONT = cv2.FONT_HERSHEY_DUPLEX
WINDOW = "Frame"


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
class FrameOutput:
    """Where annotated frames go: the -d window and the -c directory."""

    display: bool
    capture_dir: Path | None
    captures: int = 0

    def show(self, frame: np.ndarray, boxes: list[Box], names: list[str], stem: str,
             stop: StopRequest, capture: bool = True) -> None:
        capture = capture and self.capture_dir is not None and bool(boxes)
        if not (self.display or capture):
            return
        for box, name in zip(boxes, names):
            draw_face(frame, box, name)
        if capture:
            storage.write_image(self.capture_dir / f"{stem}.png", frame)
            self.captures += 1
        if self.display:
            cv2.imshow(WINDOW, frame)
            if cv2.waitKey(1) & 0xFF == ord("q"):
                stop.request()

    def close(self) -> None:
        if self.display:
            cv2.destroyAllWindows()
