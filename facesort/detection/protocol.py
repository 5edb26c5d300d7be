"""What the pipeline needs of a face detector (dlib's HOG or YuNet) and of a face encoder
(dlib's network or MobileFaceNet), whichever they are.

A detector is handed to the app, never built inside it: the worker processes get a
``DetectorFactory`` (a picklable callable, such as the detector's class or a
``functools.partial`` of it) and build one detector each.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Protocol

import numpy as np

from facesort.records.box import Box
from facesort.records.face import Face


@dataclass(frozen=True)
class Found:
    """A face box a detector found, and why its encoding cannot be trusted (records.face.Unfit;
    None: it can): a face too turned, too doubtful to be a face at all or cut by the image's
    edge is followed and shown, and kept flagged, but never sorted."""

    box: Box
    unfit: str | None = None

    @property
    def encodable(self) -> bool:
        return self.unfit is None


class Encoder(Protocol):
    """Turns the faces of an image, given by their boxes, into encodings; its model loads
    lazily, once per encoder. Encodings of different encoders are not comparable."""

    name: str   # records.modes.EncoderKind's value: a result remembers it

    @property
    def min_size(self) -> float:
        """Faces smaller (YuNet's box side, px) are not encoded: not fit to sort."""

    @property
    def min_score(self) -> float:
        """Nor faces YuNet scores lower."""

    def warm_up(self) -> None:
        """Load the model now rather than on the first face."""

    def encode(self, rgb: np.ndarray, boxes: list[Box],
               mirror_average: bool = True) -> list[np.ndarray]:
        """One 128-number encoding per box of an RGB image; with ``mirror_average``, the
        face's and its mirror image's averaged."""

    def encode_checked(self, rgb: np.ndarray, boxes: list[Box],
                       mirror_average: bool = True) -> list[tuple[np.ndarray, bool]]:
        """``encode``'s encodings, each with whether the encoder made the face out clearly
        enough for its encoding to be trusted."""


class Detector(Protocol):
    """Finds faces and encodes them; models load lazily, once per detector."""

    def warm_up(self) -> None:
        """Load the models now rather than on the first face."""

    def locate(self, image: np.ndarray, upsample: int | None = None) -> list[Box]:
        """Face boxes of a BGR (or grey) image, in its pixels."""

    def find(self, image: np.ndarray, upsample: int | None = None) -> list[Found]:
        """``locate``'s faces, each saying why it is not fit to encode (None: it is)."""

    def smallest_face(self, upsample: int | None = None) -> float:
        """The smallest face box (px of the image searched) that ``locate`` finds."""

    def min_encode_size(self) -> float:
        """Faces with smaller boxes (px) are followed but not encoded (0: all are encoded)."""

    def encode(self, rgb: np.ndarray, boxes: list[Box],
               mirror_average: bool | None = None) -> list[np.ndarray]:
        """One 128-number encoding per box of an RGB image."""

    def encode_checked(self, rgb: np.ndarray, boxes: list[Box],
                       mirror_average: bool | None = None) -> list[tuple[np.ndarray, bool]]:
        """``encode``'s encodings, each with whether the encoder made the face out clearly."""

    def detect(self, bgr: np.ndarray, source: str = "", frame: int | None = None,
               time_s: float | None = None, stem: str = "") -> list[Face]:
        """Every face of a frame, located and encoded, with its crop."""

    def encode_face_image(self, bgr: np.ndarray) -> np.ndarray:
        """The encoding of a saved face image (a crop with the face in its middle third)."""


DetectorFactory = Callable[[], Detector]
