"""The modes a run can be set to; each a str, so that it compares equal to its flag value."""
from __future__ import annotations

from enum import Enum


class SmallFaces(str, Enum):
    """--small-faces: how hard to look for faces under ~100 px."""

    OFF = "off"          # not at all (fastest)
    MOTION = "motion"    # at full resolution where the picture changed (the default)
    FULL = "full"        # at full resolution in the whole frame, every time


class FollowerKind(str, Enum):
    """How a face is followed between detection passes (tracking.follower)."""

    TEMPLATE = "template"
    CORRELATION = "correlation"


class FineChoice(str, Enum):
    """What a small-face pass may search (detection.regions.FineBudget)."""

    FULL = "full"          # the whole frame
    REGIONS = "regions"    # where the picture changed, and around small faces
    CONFIRM = "confirm"    # only around small faces followed or lost


class FaceFinder(str, Enum):
    """Which detector finds the face boxes (face_detector.FaceDetector); dlib aligns and
    encodes them either way."""

    HOG = "hog"        # dlib's HOG, as the post (grey pieces, coarse and fine passes)
    YUNET = "yunet"    # OpenCV's YuNet CNN, when its model is installed (one colour pass)


class EncoderKind(str, Enum):
    """Which network turns a face into its 128 numbers (face_detector.FaceDetector)."""

    DLIB = "dlib"                    # dlib's ResNet on its 5-point chips, as the post
    MOBILEFACENET = "mobilefacenet"  # MobileFaceNet on ArcFace chips from YuNet's landmarks
