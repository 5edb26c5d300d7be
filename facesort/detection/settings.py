"""How a detector looks, and how the pipeline's passes suit it: frozen, keyword-only records,
each field's bounds beside it, checked when the record is made (ValueError, one line)."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from facesort.detection import yunet
from facesort.records.bounds import bounded, check_bounds
from facesort.records.modes import EncoderKind, FaceFinder


@dataclass(frozen=True, kw_only=True)
class DetectorSettings:
    """How to look: which detector finds the boxes (``finder``), dlib HOG upsampling, YuNet's
    score threshold and model file (None: find_yunet_model()'s), the detection-only resize
    ratio (-r), which network encodes the faces (``encoder``; MobileFaceNet's model file in
    ``encoder_model``, its landmarks found by the YuNet model), whether encodings average the
    face with its mirror image (False: as the original), and whether dlib's own encoder
    computes dlib's encodings (as the original; else onnxruntime, the same numbers)."""

    upsample: int = bounded(1, 0, 4)
    resize_ratio: float = bounded(1.0, 1e-6, 4.0)
    mirror_average: bool = True
    dlib_encoder: bool = False
    finder: FaceFinder = FaceFinder.HOG
    score_threshold: float = bounded(yunet.DEFAULT_SCORE_THRESHOLD, 0.0, 1.0)
    yunet_model: Path | None = None
    encoder: EncoderKind = EncoderKind.DLIB
    encoder_model: Path | None = None

    def __post_init__(self) -> None:
        FaceFinder(self.finder)  # ValueError if it is none
        EncoderKind(self.encoder)
        check_bounds(self)


@dataclass(frozen=True, kw_only=True)
class PassTuning:
    """How the pipeline's detection passes suit a detector (each detector class says its
    own): the coarse pass's scale, or its longest side per input (``coarse_side`` > 0), a
    sampled video's scale at most, colour or grey, the scale between look frames, and whether
    it needs the small-face passes (HOG misses faces under ~100 px at half size)."""

    coarse_scale: float = bounded(0.5, 0.05, 1.0)
    coarse_side: int = bounded(0, 0, 10_000)
    video_scale: float = bounded(1.0, 0.05, 1.0)
    colour: bool = False
    between_looks_scale: float = bounded(1.0, 0.05, 1.0)
    small_face_passes: bool = True

    def __post_init__(self) -> None:
        check_bounds(self)
