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

# Scores below this are dropped. On 100 WIDER FACE validation photos (bench/detector_bench.py,
# valid faces >= 16 px, IoU >= 0.4): 0.70 finds 66.2% with 16 false detections, 0.74 62.5% / 5,
# 0.75 61.1% / 4, 0.76 59.4% / 3, 0.80 51.5% / 1. Looked at, the 4 left at 0.75 are real faces
# whose box misses the label or that are unlabelled; the non-faces seen (hands, hair, a statue,
# a fist on the stage clip at 0.74) all scored below 0.75. The goal: <= 5 false, >= 55% recall.
DEFAULT_SCORE_THRESHOLD = 0.75
# Faces scored below this are followed and drawn but not encoded. On the motion dev video
# (devm-a, -S 0, 631 faces saved at 0.75) the faces that are no tile's subject (backs of heads,
# ears, people half hidden behind the subject: 114) scored a median 0.87, the subjects' 0.93
# (10th percentile 0.92); at 0.88 60% of the former and 4% of the latter are left out, and the
# former no longer make a "person" of odd faces that draws real ones in: motion pair F1 at
# -S 0.5 / 0: 0.982 / 0.958 at 0.75 (no yaw limit); with the yaw limit 1.0, 0.980 / 0.964 at
# 0.85, 0.982 / 0.972 at 0.88, 0.984 / 0.975 at 0.90; 0.986 / 0.977 at 0.88 with no limit. On the stage clip the performer scores 0.90-0.92, dim faces behind the
# pianist 0.77-0.84 (followed, not encoded).
MIN_ENCODE_SCORE = 0.88
NMS_THRESHOLD = 0.3         # OpenCV's default: overlapping boxes of one face are merged
TOP_K = 5000                # boxes kept before NMS: OpenCV's default, far above any crowd

# dlib_square(): YuNet's box reaches from forehead to chin, dlib's 5-point aligner and encoder
# were trained on HOG's tighter square, set lower on the face. On 179 LFW faces found by both
# (bench/detector_bench.py --encoding) the encoding from this square lies a median 0.044 from
# the one from HOG's own box (90th percentile 0.072), as close as HOG's box moved by 2 px
# (0.041); YuNet's own box gives 0.066. The aligner makes the exact values matter little:
# sides 0.90-1.06 and drops 0-0.08 all gave medians of 0.040-0.044.
SQUARE_SIDE = 0.98          # side of the square / sqrt(width * height) of YuNet's box
SQUARE_DROP = 0.04          # the square's centre lies this many box heights below the box's

# Faces to trust for forming persons (bench/detector_bench.py --encoding). 168 LFW faces of 12
# people, each shrunk to a size: the share whose encoding lies further than 0.44 (the project's
# -t) from its person's mean of frontal full-size faces is 0.6% at full size (~64 px), 1.2% at
# 60 px, 1.8% at 40, 3.6% at 32, 6.0% at 28, 15.5% at 24, 39% at 20, 78% at 16.
MIN_ENCODE_SIZE = 32        # px, sqrt(width * height) of the YuNet box
# Turned faces: up to |yaw| 1.15 none of the LFW faces (14 past 0.6: at most 0.43) nor the
# clip's performer (10 past 0.6: at most 0.40) lay further than 0.44 from their person's mean
# of frontal faces (frontal faces themselves: median 0.31). Obama in the clip's audience,
# |yaw| 1.3-3.8 (3/4 view to profile), lay 0.52-0.59 from his frontal photos (n=21; dim, hand at the chin). At 32 px, LFW faces past |yaw| 0.6
# split at 14% against 3% for frontal ones: few turned faces were at hand, so this is a bound.
# Profiles (|yaw| past 2: the nose tip beyond an eye by half their distance) are not encoded:
# on the motion dev pair (-S 0.5 / 0, with MIN_ENCODE_SCORE) the limit 1.0 lost recall: F1
# 0.982 / 0.972, against 0.986 / 0.977 with no limit; 2.0 gave 0.986 at -S 0.5.
MAX_ENCODE_YAW = 2.0        # |yaw_proxy|: the nose tip past an eye: a profile
# A face whose box reaches past the image's edge by more than this share of its side is cut
# by the frame: its encoding is of half a face. On the dev library (LFW photos, 150 px,
# centred on their subject) such faces of the people beside the subject made "persons" of
# half-faces of many people (docs/tuning.md).
MAX_CUT = 0.1

# Detection cost grows with the pixels: a 1920x1080 frame takes ~120 ms on one core, at
# scale 0.75 ~73 ms, at 0.5 ~26-36 ms. YuNet finds LFW faces shrunk to 16 px 53% of the time,
# 20 px 91%, 24 px 98%. Detecting a 1080p frame at DETECTION_SIDE px (scale 0.5) thus keeps
# faces of 48 px and up, loses some of 32-40 px (found 53-91%), and mostly ones under 32 px,
# too small to encode well anyway (MIN_ENCODE_SIZE); scale 0.75 keeps the 32 px ones (98%).
DETECTION_SIDE = 960        # px, the longer side detection needs for frames larger than this
# Sampled video frames (-S > 0) are searched at most at this scale: a face just big enough to
# encode (MIN_ENCODE_SIZE) is then 24 px, where YuNet finds 98% of LFW faces; faces under
# ~19 px (~14 px at full size), too small to encode, are no longer found and drawn. A 960x540
# frame costs 14 ms of one core instead of 25 ms, the largest share of a run at -S 0.5 after
# the encodings. Measured on the dev pairs at -S 0.5: F1 0.982 / 0.992 (slideshow / motion)
# against 0.982 / 0.990 at full size. At -S 0 it split a person more on each pair (F1 0.974 /
# 0.972 against 0.984 / 0.993; each a pair of persons whose averages lie near -t, so perhaps
# chance), and there the looks stay at full size. Photos are searched at full size (up to
# DETECTION_SIDE): each is looked at once.
VIDEO_SCALE = 0.75

# The smallest face found (bench/detector_bench.py --smallest): the 180 LFW dev faces shrunk so
# that the side of their dlib_square is N px, each on a plain 320x240 frame, at the default
# score threshold: 10 px 1%, 12 px 13%, 14 px 45%, 16 px 73%, 18 px 84%, 20 px 94%, 24 px 96%,
# 28 px 100%. HOG's figures (face_detector.HOG_MIN_BOX) are its smallest boxes seen; YuNet's
# fade out smoothly, so this is where half of them are found.
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
