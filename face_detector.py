"""Find faces in an image and turn each into a Face record: box, 128-number encoding, crop.

The post's name for the detector, kept as a thin front: ``FaceDetector(settings)`` is the
detector the settings name, one class per detector in facesort.detection.detectors (dlib's
HOG, the post's, or YuNet, when its model is installed: see model_files), each handing its
boxes to one encoder (MobileFaceNet, aligned on YuNet's landmarks, or dlib's network: run by
onnxruntime, ~2.5 ms a face on one core, or by dlib itself with ``dlib_encoder``, ~60 ms:
the original's code path). A box is always ``(top, right, bottom, left)``, as in the post.
"""
from __future__ import annotations

from typing import Callable

import numpy as np

from facesort.detection.detectors import (
    BaseDetector,
    HogDetector,
    YuNetDetector,
    find_mobilefacenet_model,
    find_yunet_model,
    make_detector,
    make_encoder,
)
from facesort.detection.dlib_models import (
    ENCODER_MODEL,
    HOG_MIN_BOX,
    HOG_MIN_BOX_UPSAMPLED,
    MIRROR_MARGIN,
    SHAPE_MODEL,
    DlibEncoder,
    ModelsMissingError,
    frontal_face_detector,
    mirrored_window,
    models_dir,
)
from facesort.detection.settings import DetectorSettings
from facesort.imaging import to_rgb
from facesort.records.modes import EncoderKind, FaceFinder

__all__ = ["ENCODER_MODEL", "HOG_MIN_BOX", "HOG_MIN_BOX_UPSAMPLED", "MIRROR_MARGIN",
           "SHAPE_MODEL", "BaseDetector", "DetectorSettings", "DlibEncoder", "FaceDetector",
           "HogDetector", "ModelsMissingError", "YuNetDetector", "detector_for",
           "find_mobilefacenet_model", "find_yunet_model", "frontal_face_detector",
           "lazy_image_encoder", "make_encoder", "mirrored_window", "models_dir", "to_rgb"]


def FaceDetector(  # noqa: N802 (the post's name)
        settings: DetectorSettings = DetectorSettings()) -> HogDetector | YuNetDetector:
    """The post's FaceDetector: the detector the settings name (HogDetector or
    YuNetDetector), its models loaded on first use. Picklable as a factory (a function, or a
    functools.partial of it), as the worker processes need."""
    return make_detector(settings)


def detector_for(encoder: str) -> HogDetector | YuNetDetector:
    """A detector whose encoder is ``encoder`` (a result's), for face images without an
    encoding: the models it needs must be installed."""
    if encoder == EncoderKind.MOBILEFACENET:
        return make_detector(DetectorSettings(
            finder=FaceFinder.YUNET, yunet_model=find_yunet_model(),
            encoder=EncoderKind.MOBILEFACENET, encoder_model=find_mobilefacenet_model()))
    return make_detector()


def lazy_image_encoder(encoder_of: Callable[[], str]) -> Callable[[np.ndarray], np.ndarray]:
    """Encodes face images (encode_face_image) with the encoder ``encoder_of()`` names when
    the first image comes (a result's, known once its encodings are read); no model is
    loaded before."""
    detectors: dict[str, HogDetector | YuNetDetector] = {}

    def encode(image: np.ndarray) -> np.ndarray:
        encoder = encoder_of()
        if encoder not in detectors:
            detectors[encoder] = detector_for(encoder)
        return detectors[encoder].encode_face_image(image)

    return encode
