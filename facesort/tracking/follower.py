"""Follow one face from frame to frame between detection passes.

- TemplateFollower (the default): the face's grey patch, shrunk to ~32 px, looked for with
  OpenCV's matchTemplate in a window around where it was. About 0.1 ms a face a frame, and
  OpenCV releases the GIL. It does not follow changes of size; the detection passes (every
  0.2 s at -S 0) restart it on the detected box.
- CorrelationFollower: dlib's correlation_tracker, which also follows size. About 3-5 ms a
  face a frame, holding the GIL: at -S 0 with two faces it alone takes the frame loop below
  the decode rate / 20 goal (measured, see README), so it is the option, not the default.

Both: ``start(picture, box)`` and ``update(picture) -> (box, confidence)``; a box is
``(top, right, bottom, left)`` in original pixels.
"""
from __future__ import annotations

from functools import cached_property

import cv2
import numpy as np

from facesort.imaging import to_rgb
from facesort.records.box import Box, grow, pin_inside
from facesort.records.modes import FollowerKind

TEMPLATE_SIDE = 32     # pixels of the template's longer side
SEARCH_MARGIN = 0.5    # the search window: the box grown by half its size on every side


class Picture:
    """One frame, with the RGB copy a follower may need, made once and only if asked for."""

    def __init__(self, bgr: np.ndarray) -> None:
        self.bgr = bgr

    def grey(self, box: Box) -> np.ndarray:
        """The grey pixels of ``box`` (clipped to the frame: the template follower's own
        windows; converting the whole frame cost ~0.6 ms a frame at -S 0)."""
        top, right, bottom, left = box
        piece = self.bgr[max(0, top):bottom, max(0, left):right]
        return cv2.cvtColor(piece, cv2.COLOR_BGR2GRAY) if piece.ndim == 3 else piece

    @cached_property
    def rgb(self) -> np.ndarray:
        return to_rgb(self.bgr)

    @property
    def bounds(self) -> tuple[int, int]:
        return self.bgr.shape[0], self.bgr.shape[1]


class TemplateFollower:
    """Where the face's grey template matches best, near where it was."""

    def __init__(self, picture: Picture, box: Box) -> None:
        self.box = pin_inside(box, picture.bounds)
        top, right, bottom, left = self.box
        self.scale = TEMPLATE_SIDE / max(right - left, bottom - top, 1)
        self.template = self._shrink(picture.grey(self.box))

    def _shrink(self, grey: np.ndarray) -> np.ndarray:
        height, width = grey.shape[:2]
        size = (max(1, round(width * self.scale)), max(1, round(height * self.scale)))
        return cv2.resize(grey, size, interpolation=cv2.INTER_AREA)

    def update(self, picture: Picture) -> tuple[Box, float]:
        top, right, bottom, left = self.box
        w_top, w_right, w_bottom, w_left = grow(self.box, SEARCH_MARGIN, picture.bounds)
        window = self._shrink(picture.grey((w_top, w_right, w_bottom, w_left)))
        if window.shape[0] < self.template.shape[0] or window.shape[1] < self.template.shape[1]:
            return self.box, 0.0  # at the edge of the frame: stay
        scores = cv2.matchTemplate(window, self.template, cv2.TM_CCOEFF_NORMED)
        _, best, _, (x, y) = cv2.minMaxLoc(scores)
        new_left = w_left + round(x / self.scale)
        new_top = w_top + round(y / self.scale)
        self.box = pin_inside((new_top, new_left + right - left, new_top + bottom - top, new_left),
                           picture.bounds)
        return self.box, float(best)


class CorrelationFollower:
    """dlib's correlation tracker (follows size too; about 30x the cost of a template)."""

    def __init__(self, picture: Picture, box: Box) -> None:
        import dlib

        top, right, bottom, left = pin_inside(box, picture.bounds)
        self._tracker = dlib.correlation_tracker()
        self._tracker.start_track(picture.rgb, dlib.rectangle(left, top, right, bottom))

    def update(self, picture: Picture) -> tuple[Box, float]:
        quality = self._tracker.update(picture.rgb)
        position = self._tracker.get_position()
        box = (int(round(position.top())), int(round(position.right())),
               int(round(position.bottom())), int(round(position.left())))
        # the peak-to-sidelobe ratio: above ~7 the tracker is sure; mapped onto about [0, 1]
        return pin_inside(box, picture.bounds), min(1.0, quality / 20.0)


def make_follower(kind: str, picture: Picture, box: Box):
    """A follower of ``kind`` started on ``box`` of ``picture``."""
    if kind == FollowerKind.CORRELATION:
        return CorrelationFollower(picture, box)
    return TemplateFollower(picture, box)
