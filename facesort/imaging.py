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
    padded = cv2.copyMakeBorder(image, height, height, width, width, cv2.BORDER_CONSTANT)
    return padded[top:bottom + 2 * height, left:right + 2 * width].copy()


def face_in_crop(crop_shape: tuple[int, ...]) -> Box:
    """Where the face of a crop_face() lies in it: its middle third."""
    height, width = crop_shape[:2]
    return (height // 3, 2 * width // 3, 2 * height // 3, width // 3)
