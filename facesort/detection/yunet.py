"""YuNet, OpenCV's small CNN face detector, and the geometry that hands its boxes to dlib's
5-point aligner and face encoder. Its network runs on onnxruntime (yunet_onnx, ~2.4x faster),
or in ``cv2.FaceDetectorYN`` when onnxruntime is not installed: the same detections. The
model file is not part of the project: ``face-classifier models install`` puts it in the
user's cache; model_files knows its size and sha256 and where it is looked for. It is checked
byte for byte before use and never downloaded at run time.

A detection is one row of 15 numbers in the pixels of the image given::

    left, top, width, height, score,
    right eye x, y, left eye x, y, nose tip x, y, right mouth corner x, y, left mouth corner x, y

"right" and "left" are the person's own: the right eye is the one on the image's left in a
frontal face. The project's boxes are ``(top, right, bottom, left)`` as in face_recognition;
``dlib_square`` turns a YuNet box into one. Images are taken as OpenCV reads them: BGR (grey
and BGRA are converted), since YuNet was trained on colour and finds far fewer faces in grey.
"""
from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

from facesort.detection import yunet_onnx
from facesort.detection.model_files import MODELS, ModelError, find_model, read_checked
from facesort.records.face import Unfit

MODEL = MODELS["yunet"]     # its file name, size and sha256: any other file is refused

# scores below this are dropped: <= 5 false detections, >= 55% recall on WIDER FACE
# (docs/tuning.md)
DEFAULT_SCORE_THRESHOLD = 0.75
# faces scored lower are followed and drawn but not encoded: mostly backs of heads, ears and
# half-hidden faces, which make odd persons (docs/tuning.md)
MIN_ENCODE_SCORE = 0.88
NMS_THRESHOLD = 0.3         # OpenCV's default: overlapping boxes of one face are merged
TOP_K = 5000                # boxes kept before NMS: OpenCV's default, far above any crowd

# dlib_square(): YuNet's box reaches from forehead to chin, dlib's aligner was trained on
# HOG's tighter square, set lower on the face; this one encodes as HOG's does (docs/tuning.md)
SQUARE_SIDE = 0.98          # side of the square / sqrt(width * height) of YuNet's box
SQUARE_DROP = 0.04          # the square's centre lies this many box heights below the box's

# smaller faces' encodings stray from their person's too often to form persons (docs/tuning.md)
MIN_ENCODE_SIZE = 32        # px, sqrt(width * height) of the YuNet box
# profiles' encodings lie too far from their person's; a lower limit lost recall (docs/tuning.md)
MAX_ENCODE_YAW = 2.0        # |yaw_proxy|: the nose tip past an eye: a profile
# a box past the image's edge by more than this share of its side is half a face, and
# half-faces made persons of many people (docs/tuning.md)
MAX_CUT = 0.1

# detection cost grows with the pixels; at this side a 1080p frame keeps the faces big enough
# to encode (docs/tuning.md)
DETECTION_SIDE = 960        # px, the longer side detection needs for frames larger than this
# sampled video frames (-S > 0) at most at this scale: a face just big enough to encode is
# still found (24 px), for ~half the detection time; -S 0 and photos at full size
# (docs/tuning.md)
VIDEO_SCALE = 0.75

# where half of the LFW faces shrunk to this side are still found (docs/tuning.md)
MIN_FACE = 14               # px, the side of dlib_square, in pixels of the image searched

RIGHT_EYE, LEFT_EYE, NOSE, RIGHT_MOUTH, LEFT_MOUTH = (slice(5 + 2 * i, 7 + 2 * i) for i in range(5))


class YuNetModelError(ModelError):
    """OpenCV cannot load a YuNet model file that passed the size and sha256 checks (missing
    and damaged files are model_files' ModelMissingError and ModelDamagedError)."""


def load_model_bytes(path: Path) -> np.ndarray:
    """The model file's bytes once checked: present, of the expected size and hash.

    Raises model_files.ModelError with a one-line message saying what is wrong and what to do.
    """
    return np.frombuffer(read_checked(MODEL, path), np.uint8)


def create_detector(path: Path) -> cv2.FaceDetectorYN:
    """An OpenCV FaceDetectorYN from the checked model file (input size set per image)."""
    data = load_model_bytes(path)
    # OpenCV 5 warns on stderr at every create that it ignores the target device; silenced
    # here, and the caller's log level put back
    level = cv2.utils.logging.getLogLevel()
    cv2.utils.logging.setLogLevel(cv2.utils.logging.LOG_LEVEL_ERROR)
    try:
        return cv2.FaceDetectorYN.create("onnx", data, np.empty(0, np.uint8), (320, 320),
                                         DEFAULT_SCORE_THRESHOLD, NMS_THRESHOLD, TOP_K)
    except cv2.error as error:
        message = str(error).strip().splitlines()[-1] if str(error).strip() else "unknown error"
        raise YuNetModelError(f"OpenCV cannot load the YuNet face model {path}: {message}") from None
    finally:
        cv2.utils.logging.setLogLevel(level)


class OpenCvYuNet:
    """cv2.FaceDetectorYN with yunet_onnx.OnnxYuNet's ``detect``."""

    def __init__(self, detector: cv2.FaceDetectorYN) -> None:
        self._detector = detector
        self._input_size: tuple[int, int] | None = None

    def detect(self, bgr: np.ndarray, score_threshold: float) -> np.ndarray:
        size = (bgr.shape[1], bgr.shape[0])
        if size != self._input_size:    # set only on a change: alternating two sizes cost no
            self._detector.setInputSize(size)   # more than each size alone (measured), so
            self._input_size = size             # one detector serves photos of every size
        self._detector.setScoreThreshold(score_threshold)
        _, found = self._detector.detect(np.ascontiguousarray(bgr))
        return np.empty((0, 15), np.float32) if found is None else found


def load_detector(path: Path) -> OpenCvYuNet | yunet_onnx.OnnxYuNet:
    """The checked model on onnxruntime when it is installed, else in OpenCV."""
    model = load_model_bytes(path)
    try:
        return yunet_onnx.OnnxYuNet(model.tobytes(), NMS_THRESHOLD, TOP_K)
    except ImportError:     # not installed, or its library does not load on this machine
        return OpenCvYuNet(create_detector(path))


def to_bgr(image: np.ndarray) -> np.ndarray:
    """A 3-channel uint8 BGR image from BGR, grey or BGRA."""
    if image.dtype != np.uint8:
        raise ValueError(f"images must be uint8, not {image.dtype}")
    if image.ndim == 2:
        return cv2.cvtColor(image, cv2.COLOR_GRAY2BGR)
    if image.ndim == 3 and image.shape[2] == 4:
        return cv2.cvtColor(image, cv2.COLOR_BGRA2BGR)
    if image.ndim == 3 and image.shape[2] == 3:
        return image
    raise ValueError(f"not an image of 1, 3 or 4 channels: shape {image.shape}")


class YuNet:
    """YuNet face detector; the model is checked and loaded on the first ``detect``.

    ``score_threshold``: detections scoring below are dropped (see DEFAULT_SCORE_THRESHOLD).
    ``scale``: detection runs on the image resized by this factor (0.5 halves each side: ~4x
    faster, and faces under ~32 px in the original are then mostly lost, see DETECTION_SIDE);
    rows come back in the original's pixels. ``detection_scale()`` picks one for a frame size.
    ``model_path``: the ONNX file (None: the installed one, model_files.find_model).

    One instance is not safe to share between threads; make one per thread or process.
    """

    def __init__(self, score_threshold: float = DEFAULT_SCORE_THRESHOLD, scale: float = 1.0,
                 model_path: Path | None = None) -> None:
        if not 0.0 <= score_threshold <= 1.0:
            raise ValueError(f"score_threshold must be within 0..1, not {score_threshold}")
        if not scale > 0:
            raise ValueError(f"scale must be positive, not {scale}")
        self.score_threshold = score_threshold
        self.scale = scale
        self.model_path = None if model_path is None else Path(model_path)
        self._detector: OpenCvYuNet | yunet_onnx.OnnxYuNet | None = None

    def warm_up(self) -> None:
        """Check and load the model now rather than on the first image."""
        self._load()

    def _load(self) -> OpenCvYuNet | yunet_onnx.OnnxYuNet:
        if self._detector is None:
            self._detector = load_detector(self.model_path or find_model(MODEL.name))
        return self._detector

    def detect(self, bgr: np.ndarray) -> np.ndarray:
        """Faces of a BGR image (grey and BGRA accepted) as an (N, 15) float32 array of rows
        (left, top, width, height, score, 10 landmark coordinates), best score first.

        Boxes may reach past the image's edges (a face cut by the frame).
        """
        detector = self._load()
        image = to_bgr(bgr)
        if self.scale != 1.0:
            height, width = image.shape[:2]
            size = (max(round(width * self.scale), 1), max(round(height * self.scale), 1))
            image = cv2.resize(image, size, interpolation=cv2.INTER_AREA if self.scale < 1
                               else cv2.INTER_LINEAR)
        found = detector.detect(image, self.score_threshold)
        # OpenCV puts the score last; here it follows the box
        rows = np.concatenate([found[:, :4], found[:, 14:15], found[:, 4:14]], axis=1)
        rows = rows[np.argsort(-rows[:, 4], kind="stable")]
        if self.scale != 1.0:
            rows[:, :4] /= self.scale
            rows[:, 5:] /= self.scale
        return rows.astype(np.float32)


def detection_scale(width: int, height: int, longest_side: int = DETECTION_SIDE,
                    most: float = 1.0) -> float:
    """The ``scale`` for a frame: ``most`` up to ``longest_side``, else shrunk to it (1080p:
    0.5)."""
    return min(most, longest_side / max(width, height, 1))


def dlib_square(left: float, top: float, width: float, height: float,
                image_size: tuple[int, int] | None = None) -> tuple[int, int, int, int]:
    """The ``(top, right, bottom, left)`` square for dlib's aligner and encoder that matches a
    YuNet box: side SQUARE_SIDE * sqrt(width * height), centre SQUARE_DROP * height lower.

    With ``image_size`` (width, height) the square is clipped to the image, as the HOG boxes
    are (it is then no longer square at an edge).
    """
    side = SQUARE_SIDE * float(np.sqrt(width * height))
    centre_x = left + width / 2
    centre_y = top + height / 2 + SQUARE_DROP * height
    square_left = round(centre_x - side / 2)
    square_top = round(centre_y - side / 2)
    square_right = square_left + round(side)
    square_bottom = square_top + round(side)
    if image_size is not None:
        image_width, image_height = image_size
        square_left, square_top = max(square_left, 0), max(square_top, 0)
        square_right = min(square_right, image_width - 1)
        square_bottom = min(square_bottom, image_height - 1)
    return square_top, square_right, square_bottom, square_left


def face_size(rows: np.ndarray) -> np.ndarray:
    """sqrt(width * height) of each detection's box, in pixels: (N, 15) -> (N,)."""
    rows = np.atleast_2d(rows)
    return np.sqrt(np.clip(rows[:, 2], 0, None) * np.clip(rows[:, 3], 0, None))


def yaw_proxy(rows: np.ndarray) -> np.ndarray:
    """How far each face is turned, from its landmarks: (N, 15) -> (N,).

    The nose tip projected on the line from the right eye to the left eye: 0 when it lies
    midway (frontal), -1 / +1 when it lies over the right / left eye (about 40 degrees
    of head turn), beyond when it passes the eye (a profile). The same measured between the
    mouth corners is averaged in, so that no single landmark decides.
    """
    rows = np.atleast_2d(rows)

    def position(first: slice, second: slice) -> np.ndarray:
        axis = rows[:, second] - rows[:, first]
        length2 = np.maximum((axis ** 2).sum(axis=1), 1e-6)
        along = ((rows[:, NOSE] - rows[:, first]) * axis).sum(axis=1) / length2
        return 2 * along - 1

    return (position(RIGHT_EYE, LEFT_EYE) + position(RIGHT_MOUTH, LEFT_MOUTH)) / 2


def cut_by_edge(rows: np.ndarray, image_size: tuple[int, int]) -> np.ndarray:
    """Which detections' boxes reach past the image's edge by more than MAX_CUT of their
    width or height (a face cut by the frame): (N, 15) -> (N,) bools. ``image_size`` is
    (width, height)."""
    width, height = image_size
    left, top, box_width, box_height = rows[:, 0], rows[:, 1], rows[:, 2], rows[:, 3]
    past_x = np.maximum(-left, 0) + np.maximum(left + box_width - width, 0)
    past_y = np.maximum(-top, 0) + np.maximum(top + box_height - height, 0)
    return (past_x > MAX_CUT * box_width) | (past_y > MAX_CUT * box_height)


def unfit_reasons(rows: np.ndarray, min_score: float | None = None,
                  max_yaw: float | None = None,
                  image_size: tuple[int, int] | None = None) -> list[Unfit | None]:
    """Why each detection's encoding cannot be trusted, None for one sure, frontal and whole
    enough: (N, 15) -> N reasons, the first of records.face.Unfit's order when several apply.
    With ``image_size`` (width, height), a face cut by the image's edge is not fit. Size is
    judged in the frame's pixels, by the pipeline."""
    min_score = MIN_ENCODE_SCORE if min_score is None else min_score
    max_yaw = MAX_ENCODE_YAW if max_yaw is None else max_yaw
    checks = [(Unfit.DOUBTFUL, rows[:, 4] < min_score),
              (Unfit.TURNED, np.abs(yaw_proxy(rows)) > max_yaw)]
    if image_size is not None:
        checks.append((Unfit.CUT, cut_by_edge(rows, image_size)))
    return [next((reason for reason, failed in checks if failed[row]), None)
            for row in range(len(rows))]


def fit_to_encode(rows: np.ndarray, min_score: float | None = None,
                  max_yaw: float | None = None,
                  image_size: tuple[int, int] | None = None) -> np.ndarray:
    """Which detections are fit to encode (unfit_reasons() gives none): (N, 15) -> (N,) bools."""
    reasons = unfit_reasons(rows, min_score, max_yaw, image_size)
    return np.array([reason is None for reason in reasons], dtype=bool)
