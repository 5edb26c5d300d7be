"""One class per face detector, behind detection.protocol.Detector: ``HogDetector`` (dlib's
HOG, the post's) and ``YuNetDetector`` (OpenCV's YuNet). Each finds boxes its own way and hands
them to the encoder its settings name (make_encoder); both load their models on first use.

A box is always ``(top, right, bottom, left)`` in pixels of the image given, as in the post.
YuNet's boxes are turned into the squares dlib's aligner expects (yunet.dlib_square).
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

import cv2
import numpy as np

from facesort.detection import mobilefacenet, yunet
from facesort.detection.dlib_models import (
    HOG_MIN_BOX,
    HOG_MIN_BOX_UPSAMPLED,
    DlibEncoder,
    load_hog,
)
from facesort.detection.mobilefacenet import MobileFaceNetEncoder
from facesort.detection.model_files import find_model
from facesort.detection.protocol import Encoder, Found
from facesort.detection.settings import DetectorSettings, PassTuning
from facesort.imaging import crop_face, face_in_crop, to_rgb
from facesort.records.box import Box, box_area, clip, iou
from facesort.records.face import Face, face_file_name
from facesort.records.modes import EncoderKind, FaceFinder


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


def make_encoder(settings: DetectorSettings) -> Encoder:
    """The encoder the settings name (MobileFaceNet needs both its model and YuNet's)."""
    if settings.encoder == EncoderKind.MOBILEFACENET:
        if settings.encoder_model is None or settings.yunet_model is None:
            raise ValueError("MobileFaceNet needs its model file and YuNet's")
        return MobileFaceNetEncoder(settings.encoder_model, settings.yunet_model)
    return DlibEncoder(settings.dlib_encoder)


def biggest_face(boxes: list[Box | None], middle: Box) -> Box:
    """The largest of the boxes found in a face image; its middle third when none was."""
    return max((box for box in boxes if box is not None), key=box_area, default=middle)


def hog_face_in_image(bgr: np.ndarray, hog: Any) -> Box:
    """Where dlib's chips of a face image come from: HOG's largest face, upsampled once."""
    bounds = bgr.shape[:2]
    return biggest_face([clip((r.top(), r.right(), r.bottom(), r.left()), bounds)
                         for r in hog(to_rgb(bgr), 1)], face_in_crop(bgr.shape))


def yunet_face_in_image(bgr: np.ndarray, finder: yunet.YuNet) -> Box:
    """Where MobileFaceNet's landmarks of a face image come from: a crop the tool saved keeps
    its frame's box (its middle third) when YuNet sees a face there; else YuNet's largest."""
    middle = face_in_crop(bgr.shape)
    boxes = [clip(yunet.dlib_square(*row[:4]), bgr.shape[:2]) for row in finder.detect(bgr)]
    if any(box is not None and iou(box, middle) >= mobilefacenet.LANDMARK_IOU
           for box in boxes):
        return middle     # a saved crop: its frame's box, its frame's encoding
    return biggest_face(boxes, middle)


class BaseDetector:
    """What every detector shares: the encoder (made on first use), encoding, whole-frame
    detection and face images. A subclass finds the boxes (``find``) and says its limits."""

    def __init__(self, settings: DetectorSettings = DetectorSettings()) -> None:
        self.settings = settings
        self._encoder: Encoder | None = None
        self._hog: Any = None
        self._image_finder: yunet.YuNet | None = None   # faces in saved face images

    @property
    def encoder(self) -> Encoder:
        if self._encoder is None:
            self._encoder = make_encoder(self.settings)
        return self._encoder

    def hog(self) -> Any:
        """dlib's HOG detector, loaded on first use (HOG's boxes; dlib's face images)."""
        if self._hog is None:
            self._hog = load_hog()
        return self._hog

    def locate(self, image: np.ndarray, upsample: int | None = None) -> list[Box]:
        """Face boxes in original pixels (``find``'s, without their reasons)."""
        return [found.box for found in self.find(image, upsample)]

    def find(self, image: np.ndarray, upsample: int | None = None) -> list[Found]:
        raise NotImplementedError

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
        largest face by the encoder's own detector (MobileFaceNet's landmarks come from
        YuNet, dlib's chips were made from HOG's boxes); else its middle third."""
        if self.settings.encoder == EncoderKind.MOBILEFACENET:
            if self._image_finder is None:
                self._image_finder = yunet.YuNet(mobilefacenet.LANDMARK_SCORE,
                                                 model_path=self.settings.yunet_model)
            box = yunet_face_in_image(bgr, self._image_finder)
        else:
            box = hog_face_in_image(bgr, self.hog())
        return self.encode(to_rgb(bgr), [box])[0]


class HogDetector(BaseDetector):
    """dlib's HOG, as in the post: upright frontal faces from ~50 px (~24 px upsampled)."""

    tuning = PassTuning()   # a half-size grey coarse pass, small faces searched apart

    def warm_up(self) -> None:
        """Load the models now rather than on the first face (worker processes do this)."""
        self.hog()
        self.encoder.warm_up()

    def find(self, image: np.ndarray, upsample: int | None = None) -> list[Found]:
        """Face boxes; detection runs on a copy resized by resize_ratio. A grey image is
        searched as it is (faster), a colour one as RGB, as the original did; ``upsample``
        overrides the settings' for one call (one set of models serves passes at several
        scales). HOG's faces are all fit to encode."""
        bounds = image.shape[:2]
        ratio = self.settings.resize_ratio
        upsample = self.settings.upsample if upsample is None else upsample
        small = image if ratio == 1.0 else cv2.resize(image, (0, 0), fx=ratio, fy=ratio,
                                                      interpolation=cv2.INTER_AREA)
        found = (clip((int(rect.top() / ratio), int(rect.right() / ratio),
                       int(rect.bottom() / ratio), int(rect.left() / ratio)), bounds)
                 for rect in self.hog()(small if small.ndim == 2 else to_rgb(small), upsample))
        return [Found(box) for box in found if box is not None]

    def smallest_face(self, upsample: int | None = None) -> float:
        """The smallest face box (px of the image searched) HOG finds."""
        upsample = self.settings.upsample if upsample is None else upsample
        return HOG_MIN_BOX_UPSAMPLED if upsample else HOG_MIN_BOX

    def min_encode_size(self) -> float:
        """0: HOG's faces are all encoded, as in the post."""
        return 0.0


class YuNetDetector(BaseDetector):
    """OpenCV's YuNet: more faces, smaller and more turned ones, each scored; faces its
    encoder should not trust are found flagged (yunet.unfit_reasons)."""

    # one pass over the whole colour frame, shrunk when larger than yunet.DETECTION_SIDE;
    # between look frames at most half size; no small-face passes (HOG's way)
    tuning = PassTuning(coarse_scale=1.0, coarse_side=yunet.DETECTION_SIDE, colour=True,
                        video_scale=yunet.VIDEO_SCALE, between_looks_scale=0.5,
                        small_face_passes=False)

    def __init__(self, settings: DetectorSettings = DetectorSettings()) -> None:
        super().__init__(settings)
        self._yunet: yunet.YuNet | None = None

    def finder(self) -> yunet.YuNet:
        if self._yunet is None:
            settings = self.settings
            finder = yunet.YuNet(settings.score_threshold, scale=settings.resize_ratio,
                                 model_path=settings.yunet_model or find_yunet_model())
            finder.warm_up()
            self._yunet = finder
        return self._yunet

    def warm_up(self) -> None:
        """Load the models now rather than on the first face (worker processes do this)."""
        self.finder()
        self.encoder.warm_up()

    def find(self, image: np.ndarray, upsample: int | None = None) -> list[Found]:
        """Face boxes in original pixels, each saying why its encoding cannot be trusted:
        scored below the encoder's ``min_score``, turned past yunet.MAX_ENCODE_YAW or cut by
        the image's edge. A colour (BGR) image is best, grey is converted (fewer faces); the
        boxes are yunet.dlib_square()s clipped to the image; ``upsample`` does not apply."""
        rows = self.finder().detect(image)
        size = (image.shape[1], image.shape[0])
        reasons = (yunet.unfit_reasons(rows, self.encoder.min_score, image_size=size)
                   if len(rows) else [])
        squares = ((clip(yunet.dlib_square(*row[:4]), image.shape[:2]), reason)
                   for row, reason in zip(rows, reasons))
        return [Found(box, reason) for box, reason in squares if box is not None]

    def smallest_face(self, upsample: int | None = None) -> float:
        return float(yunet.MIN_FACE)

    def min_encode_size(self) -> float:
        """Faces whose box is smaller (box_size, px of the frame) are followed but not encoded:
        too small for the encoder's encodings to be trusted (its ``min_size``, measured on
        YuNet's faces)."""
        return yunet.SQUARE_SIDE * self.encoder.min_size


DETECTORS: dict[FaceFinder, type[HogDetector] | type[YuNetDetector]] = {
    FaceFinder.HOG: HogDetector, FaceFinder.YUNET: YuNetDetector}


def make_detector(settings: DetectorSettings = DetectorSettings()) -> HogDetector | YuNetDetector:
    """The detector the settings' ``finder`` names."""
    return DETECTORS[FaceFinder(settings.finder)](settings)


def pass_tuning(settings: DetectorSettings) -> PassTuning:
    """How the pipeline's passes suit the detector the settings name."""
    return DETECTORS[FaceFinder(settings.finder)].tuning
