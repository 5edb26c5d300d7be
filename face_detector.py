"""Find faces in an image and turn each into a Face record: box, 128-number encoding, crop.

A box is always ``(top, right, bottom, left)`` in pixels of the image given, as in the post.
dlib sits here and nowhere else; its models load lazily, once per FaceDetector. Boxes come from
dlib's HOG (the post's) or from YuNet (``finder``, when its model is installed: see
model_files), whose boxes are turned into the squares dlib's aligner expects. Encodings
come from MobileFaceNet (mobilefacenet, aligned on YuNet's landmarks) or from dlib's network
(DlibEncoder): run by onnxruntime (onnx_encoder, ~2.5 ms a face on one core; with numpy's
resnet_encoder when onnxruntime is missing, ~6.5 ms: the same numbers), or by dlib itself with
``dlib_encoder`` (~60 ms; --faithful: the original's code path).
"""
from __future__ import annotations

import contextlib
import importlib.util
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import cv2
import numpy as np

from facesort.detection import mobilefacenet, onnx_encoder, yunet
from facesort.detection.mobilefacenet import MobileFaceNetEncoder
from facesort.detection.model_files import cache_dir, find_model
from facesort.detection.protocol import Encoder, Found
from facesort.detection.resnet_encoder import CHIP_PADDING, CHIP_SIZE, read_network
from facesort.imaging import crop_face, face_in_crop, to_rgb
from facesort.records.box import Box, box_area, clip, iou
from facesort.records.face import Face, face_file_name
from facesort.records.modes import EncoderKind, FaceFinder

MODELS_PACKAGE = "face_recognition_models"
SHAPE_MODEL = "shape_predictor_5_face_landmarks.dat"
ENCODER_MODEL = "dlib_face_recognition_resnet_model_v1.dat"
# smallest face boxes dlib's HOG finds, measured on the package portraits: ~50 px at
# upsample 0 and ~24 px at upsample 1
HOG_MIN_BOX = 50.0
HOG_MIN_BOX_UPSAMPLED = 24.0
# around a face, what its mirror image is cut from (mirrored_window), in box sides: a chip
# with dlib's padding, turned 45 degrees, reaches ~0.6 of a side past the box
MIRROR_MARGIN = 1.0


class ModelsMissingError(RuntimeError):
    """The dlib model files could not be found."""


def models_dir() -> Path:
    """Where face_recognition_models keeps its .dat files.

    Found without importing the package: its __init__ needs pkg_resources, which
    setuptools >= 81 no longer ships.
    """
    spec = importlib.util.find_spec(MODELS_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise ModelsMissingError(
            f"the dlib models are missing: pip install {MODELS_PACKAGE} (or run 'make install')")
    return Path(list(spec.submodule_search_locations)[0]) / "models"


def find_yunet_model() -> Path:
    """The installed YuNet model file (model_files.find_model: its size and sha256 checked),
    once OpenCV has loaded it. Raises model_files.ModelError, one line saying where it looked
    and how to install it."""
    found = find_model(yunet.MODEL.name)
    yunet.create_detector(found)  # ~2 ms, once per run
    return found


def find_mobilefacenet_model() -> Path:
    """The installed MobileFaceNet model file (model_files.find_model: its size and sha256
    checked). Raises model_files.ModelError, one line saying how to install it."""
    return find_model(mobilefacenet.MODEL.name)


def detector_for(encoder: str) -> FaceDetector:
    """A detector whose encoder is ``encoder`` (a result's), for face images without an
    encoding: the models it needs must be installed."""
    if encoder == EncoderKind.MOBILEFACENET:
        return FaceDetector(DetectorSettings(
            finder=FaceFinder.YUNET, yunet_model=find_yunet_model(),
            encoder=EncoderKind.MOBILEFACENET, encoder_model=find_mobilefacenet_model()))
    return FaceDetector()


def lazy_image_encoder(encoder_of: Callable[[], str]) -> Callable[[np.ndarray], np.ndarray]:
    """Encodes face images (encode_face_image) with the encoder ``encoder_of()`` names when
    the first image comes (a result's, known once its encodings are read); no model is
    loaded before."""
    detectors: dict[str, FaceDetector] = {}

    def encode(image: np.ndarray) -> np.ndarray:
        encoder = encoder_of()
        if encoder not in detectors:
            detectors[encoder] = detector_for(encoder)
        return detectors[encoder].encode_face_image(image)

    return encode


def frontal_face_detector(dlib):
    """dlib's HOG face detector, from a copy in the cache when there is one.

    dlib builds it from text compiled into the library, which takes ~0.4 s in every worker
    process; the saved copy loads in ~1 ms. Written under a temporary name and renamed, so
    a reader never sees half a file; without a writable cache the detector is built each time.
    """
    path = cache_dir() / f"frontal_face_detector-dlib{dlib.__version__}.svm"
    try:
        return dlib.fhog_object_detector(str(path))
    except (RuntimeError, OSError):
        pass  # no copy yet, or not readable: build it
    detector = dlib.get_frontal_face_detector()
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        detector.save(str(temporary))
        os.replace(temporary, path)
    except (RuntimeError, OSError):
        with contextlib.suppress(OSError):
            temporary.unlink()
    return detector


def mirrored_window(rgb: np.ndarray, box: Box) -> tuple[np.ndarray, Box]:
    """The face's mirror image: the image around it (MIRROR_MARGIN box sides on every side,
    within the image) mirrored left to right, and the face's box there. The aligner and the
    chip read no further, so this gives what the whole image mirrored gives, bit for bit
    (tested), and copies a small part of the frame instead of all of it (960x540: 1.5 ms)."""
    top, right, bottom, left = box
    reach = int(MIRROR_MARGIN * max(bottom - top, right - left)) + 1
    first_row, last_row = max(0, top - reach), min(rgb.shape[0], bottom + reach + 1)
    first_column, end = max(0, left - reach), min(rgb.shape[1], right + reach + 1)
    window = np.ascontiguousarray(rgb[first_row:last_row, first_column:end][:, ::-1])
    return window, (top - first_row, end - 1 - left, bottom - first_row, end - 1 - right)


@dataclass(frozen=True)
class DetectorSettings:
    """How to look: which detector finds the boxes (``finder``), dlib HOG upsampling, YuNet's
    score threshold and model file (None: find_yunet_model()'s), the detection-only resize
    ratio (-r), which network encodes the faces (``encoder``; MobileFaceNet's model file in
    ``encoder_model``, its landmarks found by the YuNet model), whether encodings average the
    face with its mirror image (False: as the original), and whether dlib's own encoder
    computes dlib's encodings (as the original; else onnxruntime, the same numbers)."""

    upsample: int = 1
    resize_ratio: float = 1.0
    mirror_average: bool = True
    dlib_encoder: bool = False
    finder: FaceFinder = FaceFinder.HOG
    score_threshold: float = yunet.DEFAULT_SCORE_THRESHOLD
    yunet_model: Path | None = None
    encoder: EncoderKind = EncoderKind.DLIB
    encoder_model: Path | None = None


class DlibEncoder:
    """dlib's 5-point aligner and face network (onnxruntime's, or dlib's own with
    ``dlib_encoder``), loaded on first use: the post's encodings."""

    name = EncoderKind.DLIB.value
    min_size = yunet.MIN_ENCODE_SIZE     # faces smaller (YuNet's box, px) are not encoded
    min_score = yunet.MIN_ENCODE_SCORE   # ... nor those YuNet doubts more

    def __init__(self, dlib_encoder: bool = False) -> None:
        self.dlib_encoder = dlib_encoder
        self._models: tuple | None = None

    def warm_up(self) -> None:
        """Load the models now rather than on the first face."""
        self._load()

    def _load(self) -> tuple:
        if self._models is None:
            import dlib  # imported here so that tools which never encode start fast

            directory = models_dir()
            network = directory / ENCODER_MODEL
            self._models = (
                dlib.shape_predictor(str(directory / SHAPE_MODEL)),
                dlib.face_recognition_model_v1(str(network)) if self.dlib_encoder
                else onnx_encoder.fastest(read_network(network)),
                dlib,
            )
        return self._models

    def encode(self, rgb: np.ndarray, boxes: list[Box],
               mirror_average: bool = True) -> list[np.ndarray]:
        """One 128-float encoding per box of an RGB image.

        With ``mirror_average``, each is the average of the face's encoding and its mirror
        image's: a face and its mirror are the same person, and averaging the two halves the
        alignment noise (dev videos: discovery B-cubed F1 0.85 -> 0.90, rerun accuracy 0.934
        -> 0.947, when each face was sorted alone; see PipelineSettings.mirror_average for a
        track's).
        """
        aligner, network, dlib = self._load()
        chips = []
        for box in boxes:
            views = [(rgb, box), mirrored_window(rgb, box)] if mirror_average else [(rgb, box)]
            for image, (top, right, bottom, left) in views:
                landmarks = aligner(image, dlib.rectangle(left, top, right, bottom))
                chips.append(dlib.get_face_chip(image, landmarks, CHIP_SIZE, CHIP_PADDING))
        if not chips:
            return []
        if self.dlib_encoder:
            encodings = np.array([network.compute_face_descriptor(chip) for chip in chips])
        else:
            encodings = network.encode(np.stack(chips))
        return list(encodings.reshape(len(boxes), len(chips) // len(boxes), -1).mean(axis=1))

    def encode_checked(self, rgb: np.ndarray, boxes: list[Box],
                       mirror_average: bool = True) -> list[tuple[np.ndarray, bool]]:
        """``encode``'s encodings, each taken as clear: dlib's network gives no measure."""
        return [(encoding, True) for encoding in self.encode(rgb, boxes, mirror_average)]


def make_encoder(settings: DetectorSettings) -> Encoder:
    """The encoder the settings name (MobileFaceNet needs both its model and YuNet's)."""
    if settings.encoder == EncoderKind.MOBILEFACENET:
        if settings.encoder_model is None or settings.yunet_model is None:
            raise ValueError("MobileFaceNet needs its model file and YuNet's")
        return MobileFaceNetEncoder(settings.encoder_model, settings.yunet_model)
    return DlibEncoder(settings.dlib_encoder)


class FaceDetector:
    """A face detector (dlib's HOG or YuNet) and a face encoder (make_encoder), each loaded on
    first use."""

    def __init__(self, settings: DetectorSettings = DetectorSettings()) -> None:
        FaceFinder(settings.finder)  # ValueError if it is none
        EncoderKind(settings.encoder)
        self.settings = settings
        self._hog = None
        self._yunet: yunet.YuNet | None = None
        self._encoder: Encoder | None = None
        self._image_finder: yunet.YuNet | None = None   # faces in saved face images
        self.uses_yunet = settings.finder == FaceFinder.YUNET

    @property
    def encoder(self) -> Encoder:
        if self._encoder is None:
            self._encoder = make_encoder(self.settings)
        return self._encoder

    def _hog_finder(self):
        if self._hog is None:
            import dlib  # imported here so that tools which never detect start fast

            self._hog = frontal_face_detector(dlib)
        return self._hog

    def _yunet_finder(self) -> yunet.YuNet:
        if self._yunet is None:
            settings = self.settings
            finder = yunet.YuNet(settings.score_threshold, scale=settings.resize_ratio,
                                 model_path=settings.yunet_model or find_yunet_model())
            finder.warm_up()
            self._yunet = finder
        return self._yunet

    def warm_up(self) -> None:
        """Load the models now rather than on the first face (worker processes do this)."""
        if self.uses_yunet:
            self._yunet_finder()
        else:
            self._hog_finder()
        self.encoder.warm_up()

    def locate(self, image: np.ndarray, upsample: int | None = None) -> list[Box]:
        """Face boxes in original pixels; detection runs on a copy resized by resize_ratio.

        HOG: a grey image is searched as it is (faster), a colour one as RGB, as the original
        did; ``upsample`` overrides the settings' for one call (one set of models serves
        passes at several scales). YuNet: a colour (BGR) image is best, grey is converted
        (it finds fewer faces then); its boxes become yunet.dlib_square()s, clipped to the
        image; ``upsample`` does not apply.
        """
        return [found.box for found in self.find(image, upsample)]

    def find(self, image: np.ndarray, upsample: int | None = None) -> list[Found]:
        """``locate``'s faces, each saying why its encoding cannot be trusted: with YuNet,
        faces scored below the encoder's ``min_score``, turned past yunet.MAX_ENCODE_YAW or cut by
        the image's edge (yunet.unfit_reasons; HOG finds upright frontal faces only: all of
        them are fit)."""
        bounds = image.shape[:2]
        if self.uses_yunet:
            rows = self._yunet_finder().detect(image)
            size = (image.shape[1], image.shape[0])
            reasons = (yunet.unfit_reasons(rows, self.encoder.min_score, image_size=size)
                       if len(rows) else [])
            squares = ((clip(yunet.dlib_square(*row[:4]), bounds), reason)
                       for row, reason in zip(rows, reasons))
            return [Found(box, reason) for box, reason in squares if box is not None]
        hog = self._hog_finder()
        ratio = self.settings.resize_ratio
        upsample = self.settings.upsample if upsample is None else upsample
        small = image if ratio == 1.0 else cv2.resize(image, (0, 0), fx=ratio, fy=ratio,
                                                      interpolation=cv2.INTER_AREA)
        found = (clip((int(rect.top() / ratio), int(rect.right() / ratio),
                       int(rect.bottom() / ratio), int(rect.left() / ratio)), bounds)
                 for rect in hog(small if small.ndim == 2 else to_rgb(small), upsample))
        return [Found(box) for box in found if box is not None]

    def smallest_face(self, upsample: int | None = None) -> float:
        """The smallest face box (px of the image searched) this detector finds."""
        if self.uses_yunet:
            return float(yunet.MIN_FACE)
        upsample = self.settings.upsample if upsample is None else upsample
        return HOG_MIN_BOX_UPSAMPLED if upsample else HOG_MIN_BOX

    def min_encode_size(self) -> float:
        """Faces whose box is smaller (box_size, px of the frame) are followed but not encoded:
        too small for the encoder's encodings to be trusted (its ``min_size``, measured on
        YuNet's faces). With HOG, 0: its faces are all encoded, as before."""
        return yunet.SQUARE_SIDE * self.encoder.min_size if self.uses_yunet else 0.0

    def encode(self, rgb: np.ndarray, boxes: list[Box],
               mirror_average: bool | None = None) -> list[np.ndarray]:
        """One 128-float encoding per box of an RGB image, by the encoder; ``mirror_average``
        None: the settings'."""
        if mirror_average is None:
            mirror_average = self.settings.mirror_average
        return self.encoder.encode(rgb, boxes, mirror_average) if boxes else []

    def encode_checked(self, rgb: np.ndarray, boxes: list[Box],
                       mirror_average: bool | None = None) -> list[tuple[np.ndarray, bool]]:
        """``encode``'s encodings, each with whether the encoder made the face out clearly
        (Encoder.encode_checked)."""
        if mirror_average is None:
            mirror_average = self.settings.mirror_average
        return self.encoder.encode_checked(rgb, boxes, mirror_average) if boxes else []

    def detect(self, bgr: np.ndarray, source: str = "", frame: int | None = None,
               time_s: float | None = None, stem: str = "") -> list[Face]:
        """All faces of a BGR frame, each with its encoding and crop, named after source+frame.

        ``stem`` names the faces instead of the source's file stem (photos add a hash to it).
        """
        boxes = self.locate(bgr)
        if not boxes:
            return []
        encodings = self.encode(to_rgb(bgr), boxes)
        return [
            Face(file_name=face_file_name(source, frame, index, stem), encoding=encoding, box=box,
                 source=source, frame=frame, time_s=time_s, crop=crop_face(bgr, box))
            for index, (box, encoding) in enumerate(zip(boxes, encodings))
        ]

    def encode_face_image(self, bgr: np.ndarray) -> np.ndarray:
        """Encoding of a face image: a crop the tool saved holds its face in its middle third
        (imaging.crop_face), encoded from there as its frame was; an image of the user's, its
        largest face; else its middle third."""
        return self.encode(to_rgb(bgr), [self._face_in_image(bgr)])[0]

    def _face_in_image(self, bgr: np.ndarray) -> Box:
        """Where the face of a face image is, by the encoder's own detector (MobileFaceNet's
        landmarks come from YuNet, dlib's chips were made from HOG's boxes)."""
        middle = face_in_crop(bgr.shape)
        if self.settings.encoder == EncoderKind.MOBILEFACENET:
            if self._image_finder is None:
                self._image_finder = yunet.YuNet(mobilefacenet.LANDMARK_SCORE,
                                                 model_path=self.settings.yunet_model)
            boxes = [clip(yunet.dlib_square(*row[:4]), bgr.shape[:2])
                     for row in self._image_finder.detect(bgr)]
            boxes = [box for box in boxes if box is not None]
            if any(iou(box, middle) >= mobilefacenet.LANDMARK_IOU for box in boxes):
                return middle     # a saved crop: its frame's box, its frame's encoding
        else:
            rects = list(self._hog_finder()(to_rgb(bgr), 1))
            boxes = [clip((rect.top(), rect.right(), rect.bottom(), rect.left()), bgr.shape[:2])
                     for rect in rects]
            boxes = [box for box in boxes if box is not None]
        return max(boxes, key=box_area, default=middle)
