"""A run's pipeline from plain records: ``RunPlan`` (built once from the command line, sent as
it is to a cluster's workers) and ``make_pipeline``, which builds the pipeline it describes."""
from __future__ import annotations

import functools
from dataclasses import dataclass, replace
from typing import Callable

from facesort.detection.detectors import pass_tuning
from facesort.detection.protocol import Detector
from facesort.detection.settings import DetectorSettings
from facesort.pipeline.faithful import FaithfulPipeline
from facesort.pipeline.pipeline import FacePipeline
from facesort.pipeline.settings import PipelineSettings
from facesort.records.distances import distances_of
from facesort.records.modes import SmallFaces

@dataclass(frozen=True, kw_only=True)
class RunPlan:
    """What a run's pipeline is built from: the detector's settings, the pipeline's, and
    whether it is --faithful's (the original) or plays video files live (--as-live)."""

    detector: DetectorSettings
    pipeline: PipelineSettings
    faithful: bool = False
    live_files: bool = False


def plan_run(detector: DetectorSettings, *, faithful: bool, resize_ratio: float,
             small_faces: SmallFaces, threshold: float, sampled: bool, labels: bool,
             live_files: bool) -> RunPlan:
    """The plan of a run: detection at intervals with the detector's own pass tuning
    (detectors.PassTuning: YuNet one pass over the colour frame, a sampled video's shrunk to
    yunet.VIDEO_SCALE), re-encodings switching person at the encoder's own distance (or -t,
    when larger); ``labels`` (-d, -c) hands frames out with their encodings."""
    tuning = pass_tuning(detector)
    pipeline = PipelineSettings(
        resize_ratio=resize_ratio,
        small_faces=small_faces if tuning.small_face_passes else SmallFaces.OFF,
        switch_distance=max(distances_of(detector.encoder).switch, threshold),
        labels_in_step=labels, coarse_scale=tuning.coarse_scale, coarse_side=tuning.coarse_side,
        colour=tuning.colour, video_scale=tuning.video_scale if sampled else 1.0,
        between_looks_scale=tuning.between_looks_scale)
    return RunPlan(detector=detector, pipeline=pipeline, faithful=faithful,
                   live_files=live_files)


def make_pipeline(plan: RunPlan, make_detector: Callable[..., Detector],
                  workers: int | None = None) -> FacePipeline | FaithfulPipeline:
    """The original algorithm with --faithful, else detection at intervals and tracking, with
    ``workers`` worker processes (None: the plan's; 0: in this process, as on a cluster's
    worker). ``make_detector`` is called with a DetectorSettings."""
    if plan.faithful:
        return FaithfulPipeline(make_detector(DetectorSettings(   # the post's, as it was
            resize_ratio=plan.pipeline.resize_ratio, mirror_average=False, dlib_encoder=True)))
    settings = plan.pipeline if workers is None else replace(plan.pipeline, workers=workers)
    # the workers' detectors (the passes apply -r); a partial of a class is picklable
    detector = replace(plan.detector, resize_ratio=1.0)
    return FacePipeline(functools.partial(make_detector, detector), settings,
                        live_files=plan.live_files)
