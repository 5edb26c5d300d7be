#!/usr/bin/env python3
"""Run face_classifier once in this process and print what it cost, as one line of JSON.

The benchmark starts one of these per mode, so that each mode's peak memory is its own.
``decode`` instead of face_classifier flags only decodes the video (the floor).

``encoders`` times one encoding by dlib's own encoder and by the default one (dlib's network
on onnxruntime, onnx_encoder).

usage: bench/run_mode.py decode VIDEO
       bench/run_mode.py classify FACE_CLASSIFIER_FLAGS...
       bench/run_mode.py encoders
"""
from __future__ import annotations

import contextlib
import io
import json
import resource
import sys
import time
from pathlib import Path

PROJECT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(PROJECT))


def decode(video: str) -> dict:
    import cv2

    capture = cv2.VideoCapture(video)
    frames = 0
    started = time.perf_counter()
    while capture.read()[0]:
        frames += 1
    return {"frames": frames, "seconds": time.perf_counter() - started}


def encoders() -> dict:
    """Seconds per face image through the network (grace_hopper's face and its mirror image,
    as the default encodes a face)."""
    from face_detector import DetectorSettings, FaceDetector
    from facesort.demo import package_faces
    from facesort.imaging import to_rgb

    bgr = package_faces()[0]
    rgb = to_rgb(bgr)
    seconds = {}
    for name, settings in (("dlib", DetectorSettings(dlib_encoder=True)),
                           ("default", DetectorSettings())):
        detector = FaceDetector(settings)
        boxes = detector.locate(bgr)
        detector.encode(rgb, boxes)  # models loaded
        started = time.perf_counter()
        for _ in range(10):
            detector.encode(rgb, boxes)
        seconds[name] = (time.perf_counter() - started) / 20   # 10 faces + their mirrors
    return seconds


def classify(flags: list[str]) -> dict:
    import face_classifier
    from facesort.pipeline.frames import PipelineStats

    loops = []  # how the frame loop went: the pipeline's counts
    started = time.perf_counter()
    with contextlib.redirect_stdout(io.StringIO()):
        code = face_classifier.main(flags, on_summary=loops.append)
    seconds = time.perf_counter() - started
    stats = loops[0].stats if loops else PipelineStats()
    return {"code": code, "seconds": seconds, "encoded": stats.encoded,
            "fine_cost": round(stats.fine_cost, 2), "coarse_passes": stats.coarse_passes}


def main() -> int:
    what, rest = sys.argv[1], sys.argv[2:]
    if what == "encoders":
        print(json.dumps(encoders()))
        return 0
    figures = decode(rest[0]) if what == "decode" else classify(rest)
    own = resource.getrusage(resource.RUSAGE_SELF)
    workers = resource.getrusage(resource.RUSAGE_CHILDREN)  # the largest worker process
    figures.update({"peak_mb": own.ru_maxrss / 1024, "worker_peak_mb": workers.ru_maxrss / 1024,
                    "cpu_seconds": own.ru_utime + own.ru_stime + workers.ru_utime
                    + workers.ru_stime})
    print(json.dumps(figures))
    return 0


if __name__ == "__main__":
    sys.exit(main())
