"""Pixels: colour conversions and the face crop, each done one way for the whole program."""
from __future__ import annotations

import cv2
import numpy as np

from facesort.records.box import Box


def to_rgb(image: np.ndarray) -> np.ndarray:
    """A C-contiguous RGB copy of a BGR, BGRA or grey image: dlib misreads numpy views with
    negative strides."""
    if image.ndim == 2:
        return cv2.cvtColor(image, cv2.COLOR_GRAY2RGB)
    if image.shape[2] == 4:
        return cv2.cvtColor(image, cv2.COLOR_BGRA2RGB)
    return cv2.cvtColor(image, cv2.COLOR_BGR2RGB)


def to_grey(image: np.ndarray) -> np.ndarray:
    """A grey copy of a BGR or BGRA image (a grey one as it is)."""
    if image.ndim == 2:
        return image
    code = cv2.COLOR_BGRA2GRAY if image.shape[2] == 4 else cv2.COLOR_BGR2GRAY
    return cv2.cvtColor(image, code)


def to_hsv(image: np.ndarray) -> np.ndarray:
    return cv2.cvtColor(image, cv2.COLOR_BGR2HSV)


def crop_face(image: np.ndarray, box: Box) -> np.ndarray:
    """The face with one box-size of margin on every side, padded black past the edges.

    The face therefore sits in the middle third of the crop: face_in_crop() says where.
    """
    top, right, bottom, left = box
    height, width = bottom - top, right - left
    crop = np.zeros((3 * height, 3 * width, *image.shape[2:]), image.dtype)
    first_row, first_column = top - height, left - width   # of the crop, in the image
    rows = slice(max(0, first_row), min(image.shape[0], bottom + height))
    columns = slice(max(0, first_column), min(image.shape[1], right + width))
    if rows.start < rows.stop and columns.start < columns.stop:
        crop[rows.start - first_row:rows.stop - first_row,
             columns.start - first_column:columns.stop - first_column] = image[rows, columns]
    return crop


def face_in_crop(crop_shape: tuple[int, ...]) -> Box:
    """Where the face of a crop_face() lies in it: its middle third."""
    height, width = crop_shape[:2]
    return (height // 3, 2 * width // 3, 2 * height // 3, width // 3)
