"""A face box and its geometry.

A box is always ``(top, right, bottom, left)`` in pixels of the original frame, as in the post
(and face_recognition); ``bounds`` is an image's ``(height, width)``.
"""
from __future__ import annotations

import math

Box = tuple[int, int, int, int]  # (top, right, bottom, left)


def box_area(box: Box) -> int:
    top, right, bottom, left = box
    return max(0, bottom - top) * max(0, right - left)


def box_size(box: Box) -> float:
    """The side of the square with the box's area: one number for 'how big is this face'."""
    return math.sqrt(box_area(box))


def intersection_area(a: Box, b: Box) -> int:
    """The area two boxes share, 0 when they do not touch."""
    height = min(a[2], b[2]) - max(a[0], b[0])
    width = min(a[1], b[1]) - max(a[3], b[3])
    return height * width if height > 0 and width > 0 else 0


def iou(a: Box, b: Box) -> float:
    """Intersection over union of two boxes, 0 when they do not touch."""
    inter = intersection_area(a, b)
    return inter / (box_area(a) + box_area(b) - inter) if inter else 0.0


def share_inside(inner: Box, outer: Box) -> float:
    """The share of ``inner``'s area that lies inside ``outer``."""
    area = box_area(inner)
    return intersection_area(inner, outer) / area if area else 0.0


def grow(box: Box, factor: float, bounds: tuple[int, int], minimum: int = 0) -> Box:
    """The box with ``factor`` times its size (at least ``minimum`` px) added on every side,
    clipped to an image of ``bounds``."""
    top, right, bottom, left = box
    pad_y = max(minimum, int((bottom - top) * factor))
    pad_x = max(minimum, int((right - left) * factor))
    height, width = bounds
    return (max(0, top - pad_y), min(width, right + pad_x), min(height, bottom + pad_y),
            max(0, left - pad_x))


def contains(outer: Box, inner: Box) -> bool:
    return (outer[0] <= inner[0] and outer[1] >= inner[1] and outer[2] >= inner[2]
            and outer[3] <= inner[3])


def union_box(a: Box, b: Box) -> Box:
    return min(a[0], b[0]), max(a[1], b[1]), max(a[2], b[2]), min(a[3], b[3])


def shift(box: Box, dy: int, dx: int) -> Box:
    top, right, bottom, left = box
    return top + dy, right + dx, bottom + dy, left + dx


def centre(box: Box) -> tuple[float, float]:
    return (box[0] + box[2]) / 2, (box[1] + box[3]) / 2


def clip(box: Box, bounds: tuple[int, int]) -> Box | None:
    """The part of the box inside an image of ``bounds`` (its last row and column excluded,
    as dlib's boxes are), or None when nothing is left."""
    height, width = bounds
    top, right, bottom, left = box
    top, left = max(top, 0), max(left, 0)
    bottom, right = min(bottom, height - 1), min(right, width - 1)
    return (top, right, bottom, left) if bottom > top and right > left else None


def pin_inside(box: Box, bounds: tuple[int, int]) -> Box:
    """clip(), but never empty: a box that left the image keeps one pixel at its edge (a
    follower must always have somewhere to look)."""
    height, width = bounds
    top, right, bottom, left = box
    return (min(max(top, 0), height - 2), min(max(right, 1), width - 1),
            min(max(bottom, 1), height - 1), min(max(left, 0), width - 2))
