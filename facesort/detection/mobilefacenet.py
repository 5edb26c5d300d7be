"""MobileFaceNet, a face encoder trained with ArcFace's loss: 112x112 chips aligned on five
landmarks in, 128 numbers of unit length out, run by onnxruntime.

The model (``MobileFaceNet.onnx`` of foamliu/MobileFaceNet, installed as model_files says)
takes an RGB chip normalised with ImageNet's mean and std (its repository's data_gen.py).
A chip is the face warped by the similarity transform that puts its eye centres, nose tip and
mouth corners nearest to ArcFace's five-point template. Those landmarks come from YuNet, run
again on the face's surroundings: the encoder then takes boxes, as dlib's does, so that a face
of a frame, a face image saved in a result and a box of dlib's HOG are encoded the same way.
"""
from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from facesort.detection import yunet
from facesort.detection.model_files import MODELS
from facesort.detection.onnx_models import any_input_size, new_session
from facesort.records.box import Box, iou

MODEL = MODELS["mobilefacenet"]      # weights/ of github.com/foamliu/MobileFaceNet
CHIP_SIZE = 112
# ArcFace's template for 112x112 chips (insightface), in YuNet's order: the person's right eye
# (on the image's left), left eye, nose tip, right and left mouth corners
TEMPLATE = np.array([[38.2946, 51.6963], [73.5318, 51.5014], [56.0252, 71.7366],
                     [41.5493, 92.3655], [70.7299, 92.2041]], np.float64)
MEAN = np.array([0.485, 0.456, 0.406], np.float32) * 255   # ImageNet's, of RGB
STD = np.array([0.229, 0.224, 0.225], np.float32) * 255
INPUT = "input0"
# YuNet is run again on the box grown by this many box sides on every side (a face image saved
# in a result holds one side: imaging.crop_face), shrunk to at most WINDOW_SIDE px
WINDOW_MARGIN = 0.5
WINDOW_SIDE = 320
LANDMARK_SCORE = 0.3         # YuNet's score for a face already found: take what it sees
LANDMARK_IOU = 0.3           # its square must overlap the box this much to be the same face
# the network's output length before scaling says how clearly it made the face out: dim,
# blurred faces fall under this and mix people (docs/tuning.md)
MIN_CLARITY = 9.6


def similarity_transform(source: np.ndarray, target: np.ndarray) -> np.ndarray:
    """The 2x3 matrix of the rotation, uniform scale and shift that carries the points
    ``source`` (N, 2) nearest to ``target`` (N, 2) in least squares (Umeyama 1991)."""
    source_mean, target_mean = source.mean(axis=0), target.mean(axis=0)
    centred_source, centred_target = source - source_mean, target - target_mean
    covariance = centred_target.T @ centred_source / len(source)
    u, singular, vt = np.linalg.svd(covariance)
    sign = np.diag([1.0, np.sign(np.linalg.det(u) * np.linalg.det(vt)) or 1.0])
    rotation = u @ sign @ vt
    scale = np.trace(np.diag(singular) @ sign) / centred_source.var(axis=0).sum()
    shift = target_mean - scale * rotation @ source_mean
    return np.hstack([scale * rotation, shift[:, None]])


def align(rgb: np.ndarray, landmarks: np.ndarray) -> np.ndarray:
    """The 112x112 chip of a face whose five landmarks (5, 2) are given in ``rgb``'s pixels."""
    matrix = similarity_transform(landmarks.astype(np.float64), TEMPLATE)
    return cv2.warpAffine(rgb, matrix, (CHIP_SIZE, CHIP_SIZE), flags=cv2.INTER_LINEAR,
                          borderMode=cv2.BORDER_CONSTANT, borderValue=0)


def network_input(chips: np.ndarray) -> np.ndarray:
    """(N, 112, 112, 3) RGB uint8 chips -> (N, 3, 112, 112) float32, as the model was trained."""
    return np.ascontiguousarray(((chips.astype(np.float32) - MEAN) / STD).transpose(0, 3, 1, 2))


def unit_length(encodings: np.ndarray) -> np.ndarray:
    """Each row scaled to length 1 (a row of zeros stays zeros)."""
    norms = np.linalg.norm(encodings, axis=1, keepdims=True)
    return encodings / np.maximum(norms, 1e-12)


@dataclass(frozen=True)
class Landmarks:
    """A face's five landmarks (5, 2) in an image's pixels, and whether YuNet placed them
    (False: they were guessed from the box alone, see box_landmarks)."""

    points: np.ndarray
    found: bool


def box_landmarks(box: Box) -> np.ndarray:
    """Where the five landmarks of a frontal face lie, from its box alone: the template placed
    on the box as YuNet's landmarks lie on its dlib_square (BOX_TEMPLATE)."""
    top, right, bottom, left = box
    side = np.array([right - left, bottom - top], np.float64)
    return np.array([left, top], np.float64) + BOX_TEMPLATE * side


# The landmarks' median place in a yunet.dlib_square (fractions of its sides), measured on the
# 166 LFW dev faces of |yaw| under 0.6: used only for a face YuNet does not find again
BOX_TEMPLATE = np.array([[0.283, 0.309], [0.697, 0.306], [0.491, 0.541],
                         [0.324, 0.722], [0.676, 0.719]], np.float64)


class MobileFaceNetEncoder:
    """Encodes faces given by their boxes: their landmarks found by YuNet around each box, the
    chips aligned, the faces of one call run through the network together.

    The model file is read on the first ``encode`` (or ``warm_up``); one encoder is not safe to
    share between threads.
    """

    name = "mobilefacenet"
    # it misses small and doubtful faces rather than mixing them, so it encodes smaller and
    # less sure faces than dlib's (docs/tuning.md)
    min_size = 24
    min_score = 0.80

    def __init__(self, model_path, landmark_model) -> None:
        self.model_path = model_path
        self.landmark_model = landmark_model
        self._session = None
        self._finder: yunet.YuNet | None = None

    def warm_up(self) -> None:
        """Read the models now rather than on the first face."""
        self._load()

    def _load(self):
        if self._session is None:
            self._session = new_session(any_input_size(self.model_path.read_bytes()))
            self._finder = yunet.YuNet(LANDMARK_SCORE, model_path=self.landmark_model)
        return self._session

    def landmarks(self, rgb: np.ndarray, box: Box) -> Landmarks:
        """The five landmarks of the face in ``box``: of the face YuNet finds around it that
        overlaps it most, else guessed from the box. (Averaging them with those found in the
        mirror image raised same-person pairs found at a false-match rate of 1e-4 on 500 LFW
        people from 0.956 to 0.959, and cost a fifth of a run at -S 0.5: docs/tuning.md.)"""
        self._load()
        top, right, bottom, left = box
        side = max(bottom - top, right - left, 1)
        reach = int(round(WINDOW_MARGIN * side))
        first_row, first_column = max(0, top - reach), max(0, left - reach)
        window = np.ascontiguousarray(rgb[first_row:min(rgb.shape[0], bottom + reach + 1),
                                          first_column:min(rgb.shape[1], right + reach + 1)])
        inside = (top - first_row, right - first_column, bottom - first_row, left - first_column)
        self._finder.scale = min(1.0, WINDOW_SIDE / max(window.shape[:2]))
        points = self._points(window, inside)
        if points is None:
            return Landmarks(box_landmarks(box), found=False)
        return Landmarks(points + [first_column, first_row], found=True)

    def _points(self, rgb: np.ndarray, box: Box) -> np.ndarray | None:
        """The landmarks (5, 2) of the face YuNet finds in ``rgb`` that overlaps ``box`` most
        (None: none overlaps it by LANDMARK_IOU)."""
        rows = self._finder.detect(cv2.cvtColor(np.ascontiguousarray(rgb), cv2.COLOR_RGB2BGR))
        overlaps = [iou(yunet.dlib_square(*row[:4]), box) for row in rows]
        if not overlaps or max(overlaps) < LANDMARK_IOU:
            return None
        return rows[int(np.argmax(overlaps)), 5:15].reshape(5, 2).astype(np.float64)

    def chips(self, rgb: np.ndarray, boxes: list[Box]) -> np.ndarray:
        """(N, 112, 112, 3) aligned RGB chips of the faces in ``boxes``."""
        return np.stack([align(rgb, self.landmarks(rgb, box).points) for box in boxes])

    def encode(self, rgb: np.ndarray, boxes: list[Box],
               mirror_average: bool = True) -> list[np.ndarray]:
        """One encoding of unit length per box of an RGB image; with ``mirror_average``, of
        the face and its mirror image averaged."""
        return [encoding for encoding, _ in self.encode_checked(rgb, boxes, mirror_average)]

    def encode_checked(self, rgb: np.ndarray, boxes: list[Box],
                       mirror_average: bool = True) -> list[tuple[np.ndarray, bool]]:
        """``encode``'s encodings, each with whether the network's output, before it is scaled
        to unit length, is at least MIN_CLARITY long: the length falls as a face gets dim or
        blurred (MagFace, AdaFace), and such faces' encodings gather, whoever they are."""
        if not boxes:
            return []
        session = self._load()
        chips = self.chips(rgb, boxes)
        if mirror_average:
            chips = np.concatenate([chips, chips[:, :, ::-1]])
        (out,) = session.run(None, {INPUT: network_input(chips)})
        # the model's last Reshape writes batch 1: its rows come out one after the other
        raw = out.reshape(len(chips), -1).astype(np.float64)
        lengths = np.linalg.norm(raw, axis=1)
        encodings = unit_length(raw)
        if mirror_average:
            encodings = unit_length(encodings[:len(boxes)] + encodings[len(boxes):])
            lengths = (lengths[:len(boxes)] + lengths[len(boxes):]) / 2
        return [(encoding, bool(length >= MIN_CLARITY))
                for encoding, length in zip(encodings, lengths)]
