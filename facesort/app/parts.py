"""The parts of a run chosen from the flags' values: which detector and encoder (by what is
installed), and what the run says about them at its start."""
from __future__ import annotations

import logging
from dataclasses import replace

from facesort.detection.detectors import find_mobilefacenet_model, find_yunet_model
from facesort.detection.model_files import ModelError
from facesort.detection.settings import DetectorSettings
from facesort.records.distances import distances_of
from facesort.records.modes import EncoderKind, FaceFinder

log = logging.getLogger("face_classifier")  # its warnings are the command line's


def choose_detector(*, detector: str, encoder: str, faithful: bool, resize_ratio: float,
                    score_threshold: float) -> DetectorSettings:
    """--detector and --encoder (each a FaceFinder / EncoderKind value, or 'auto'): YuNet and
    MobileFaceNet when asked, or with 'auto' when their models are installed and sound; else
    dlib's HOG and network (with 'auto', saying why on stderr, once). HOG asked for keeps
    dlib's encoder unless MobileFaceNet is asked for too (it then finds its landmarks with
    YuNet). --faithful: HOG and dlib, the post's."""
    hog = DetectorSettings(resize_ratio=resize_ratio)
    wants_mobilefacenet = encoder == EncoderKind.MOBILEFACENET
    if faithful or (detector == FaceFinder.HOG and not wants_mobilefacenet):
        return hog
    try:
        yunet_model = find_yunet_model()
    except ModelError as error:
        if detector == FaceFinder.YUNET or wants_mobilefacenet:
            raise
        log.warning("%s; using dlib's HOG detector meanwhile", error)
        return hog
    settings = replace(hog, yunet_model=yunet_model)
    if detector != FaceFinder.HOG:
        settings = replace(settings, finder=FaceFinder.YUNET,
                           score_threshold=score_threshold)
    if encoder == EncoderKind.DLIB:
        return settings
    try:
        encoder_model = find_mobilefacenet_model()
    except ModelError as error:
        if wants_mobilefacenet:
            raise
        log.warning("%s; using dlib's encoder meanwhile", error)
        return settings
    return replace(settings, encoder=EncoderKind.MOBILEFACENET, encoder_model=encoder_model)


def threshold_notice(threshold: float, encoder: EncoderKind) -> str | None:
    """A line when -t lies far from the encoder's own default (under half or over 1.5 times
    it): most likely a distance of the other encoder (the post's -t 0.4 is dlib's)."""
    default = distances_of(encoder).threshold
    if default / 2 <= threshold <= 1.5 * default:
        return None
    others = [kind for kind in EncoderKind if kind != encoder]
    hint = " or ".join(f"--encoder {kind.value} (default -t {distances_of(kind).threshold})"
                       for kind in others)
    return (f"-t {threshold:g} is far from {encoder.value}'s own default {default}: "
            f"distances of different encoders differ; for the other's distances use {hint}")


def describe_detector(settings: DetectorSettings) -> str:
    """The detector a run uses, as its start says it."""
    if settings.finder != FaceFinder.YUNET:
        return "dlib HOG"
    return f"YuNet, score threshold {settings.score_threshold:g} ({settings.yunet_model})"


def describe_encoder(settings: DetectorSettings) -> str:
    """The encoder a run uses, as its start says it."""
    if settings.encoder == EncoderKind.MOBILEFACENET:
        return f"MobileFaceNet ({settings.encoder_model})"
    return "dlib ResNet"
