#!/usr/bin/env python3
"""face-classifier: find the faces in videos, photos or a webcam and sort them into persons.

Parses the flags, builds the parts of a run (detector, pipeline, classifier, result) and hands
them to the frame loop (facesort.app.run); prints what the post prints. Detection lives in
face_detector, the sorting rules in facesort.sorting, the result directory in person_db.
"""
from __future__ import annotations

import argparse
import functools
import logging
import os
import sys
from pathlib import Path
from typing import Callable

from face_detector import (
    DetectorSettings,
    FaceDetector,
    ModelsMissingError,
)
from facesort.app import arguments, parts
from facesort.app.arguments import DEFAULT_CAPTURE
from facesort.app.models_cli import main as models_main
from facesort.app.parts import describe_detector, describe_encoder, threshold_notice
from facesort.app.progress import Progress, progress_wanted
from facesort.app.run import (
    LoopSummary,
    Pipeline,
    finish_run,
    sort_frames,
    stopped_message,
    unreadable_message,
)
from facesort.app.session import ResultSession, SaveError
from facesort.app.view import FrameOutput, StopRequest
from facesort.cluster.connect import (
    ClusterError,
    ClusterUnavailable,
    connect,
    require_dask,
)
from facesort.cluster.driver import ClusterWork, usage_problem
from facesort.detection.model_files import ModelError
from facesort.detection.protocol import Detector
from facesort.detection.resnet_encoder import ModelFormatError
from facesort.inputs.stream import InputConflict, Inputs
from facesort.inputs.video import SourceError
from facesort.pipeline.build import RunPlan, make_pipeline, plan_run
from facesort.records.distances import distances_of
from facesort.records.modes import EncoderKind, FaceFinder, SmallFaces
from facesort.records.source import PHOTO, Sampling
from facesort.result.layout import UNKNOWNS
from facesort.result.lock import ResultInUseError
from facesort.review.cli import main as review_main
from facesort.sorting.classifier import make_classifier
from person_db import PersonDB

__version__ = "0.1.0"

log = logging.getLogger("face_classifier")

EXIT_OK, EXIT_FAILURE, EXIT_USAGE = 0, 1, 2


class UsageError(Exception):
    """The command line cannot work; exit code 2."""


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    """The flags (facesort.app.arguments), with every INPUT in ``args.inputs``."""
    return arguments.parse_args(argv, __version__)


def log_level(args: argparse.Namespace) -> int:
    """-q: errors only; default: warnings; -v: what is read; -vv: debugging detail."""
    if args.quiet:
        return logging.ERROR
    return max(logging.DEBUG, logging.WARNING - 10 * args.verbose)


def check_result_dir(result_dir: Path) -> None:
    """Fail before hours of work if the result cannot be saved there."""
    if result_dir.exists() and not result_dir.is_dir():
        raise UsageError(f"--result '{result_dir}' is a file, not a directory")
    existing = result_dir
    while not existing.exists():
        existing = existing.parent
    if not existing.is_dir():
        raise UsageError(f"--result '{result_dir}': '{existing}' is a file, not a directory")
    if not os.access(existing, os.W_OK | os.X_OK):
        raise UsageError(f"--result '{result_dir}': no permission to write in '{existing}'")


def check_display() -> None:
    # without a display OpenCV's window backend aborts the whole process, losing the result
    if sys.platform.startswith("linux") and not (os.environ.get("DISPLAY")
                                                 or os.environ.get("WAYLAND_DISPLAY")):
        raise UsageError("-d needs a display, and none is available (DISPLAY is not set); "
                         "run without -d, or use -c DIR to save annotated frames")


def print_inputs(inputs: Inputs, args: argparse.Namespace) -> None:
    """The post's lines about its source, for each video or webcam; one line per photo folder."""
    photos: dict[str | None, list[str]] = {}
    for item in inputs.items:
        if item.kind == PHOTO:
            photos.setdefault(item.folder, []).append(item.text)
            continue
        info = item.info
        print("source", item.text)
        print(f"original: {info.width}x{info.height}, {round(info.fps, 2):g} frame/sec")
        if args.resize_ratio != 1.0:
            print(f"RESIZE_RATIO: {args.resize_ratio:g} -> "
                  f"{int(info.width * args.resize_ratio)}x{int(info.height * args.resize_ratio)}")
        print(f"process every {inputs.sampling.step(info.fps)} frame")
    for folder, texts in photos.items():
        named = folder or ", ".join(texts[:3]) + (", ..." if len(texts) > 3 else "")
        print(f"source {named}: {len(texts)} photo{'s' if len(texts) > 1 else ''}")
    print("similarity threshold:", args.threshold)
    if args.stop > 0:
        print(f"Detecting will be stopped after {args.stop:g} second.")


def make_unknowns(result_dir: Path) -> None:
    """unknowns/ is always there, as the post's, for the user to drag faces into (a file or a
    link of that name is the user's: left alone)."""
    unknowns = result_dir / UNKNOWNS
    if not (unknowns.exists() or unknowns.is_symlink()):
        unknowns.mkdir()


def choose_detector(args: argparse.Namespace) -> DetectorSettings:
    """--detector and --encoder (parts.choose_detector)."""
    return parts.choose_detector(detector=args.detector, encoder=args.encoder,
                                 faithful=args.faithful, resize_ratio=args.resize_ratio,
                                 score_threshold=args.detector_threshold)


def run_plan(args: argparse.Namespace, detector: DetectorSettings) -> RunPlan:
    """The flags the pipeline needs, as plain records (built once; sent to cluster workers)."""
    return plan_run(detector, faithful=args.faithful, resize_ratio=args.resize_ratio,
                    small_faces=SmallFaces(args.small_faces), threshold=args.threshold,
                    sampled=args.seconds > 0, labels=bool(args.display or args.capture),
                    live_files=args.as_live)


def start_pipeline(args: argparse.Namespace, plan: RunPlan,
                   make_detector: Callable[..., Detector]) -> Pipeline:
    """The run's pipeline here, or --cluster's work: its workers build the plan's pipeline."""
    if not args.cluster:
        return make_pipeline(plan, make_detector)
    connection = connect(args.cluster, verbose=args.verbose >= 2)
    print(f"cluster {args.cluster}: {connection.workers} workers")
    return ClusterWork(connection, functools.partial(make_pipeline, plan), make_detector)


def open_inputs(args: argparse.Namespace) -> Inputs:
    """The inputs, once the flags are known to work together (UsageError, one line, if not)."""
    check_result_dir(args.result)
    if args.faithful and args.detector == FaceFinder.YUNET:
        raise UsageError("--faithful uses the post's detector, dlib's HOG: leave out --detector")
    if args.faithful and args.encoder == EncoderKind.MOBILEFACENET:
        raise UsageError("--faithful uses the post's encoder, dlib's: leave out --encoder")
    if args.cluster:
        require_dask()
    if args.capture is not None and args.capture.exists() and not args.capture.is_dir():
        raise UsageError(f"-c '{args.capture}' is a file, not a directory")
    if args.display:
        check_display()
    sampling = Sampling(every_s=args.seconds, skip_s=args.skip, stop_s=args.stop)
    inputs = Inputs.open(args.inputs, sampling)
    problem = args.cluster and usage_problem(args.display, args.capture, args.as_live,
                                             inputs.items)
    if problem:
        raise UsageError(problem)
    return inputs


def exit_code(loop: LoopSummary, failure: Exception | None, inputs: Inputs,
              result_dir: Path) -> int:
    """The run's last lines (where a stopped run stopped, what failed) and its exit code."""
    if loop.stopped and loop.failure is None:
        print(stopped_message(loop, result_dir))
    if failure is not None:
        print(f"face-classifier: error: stopped early, results so far were saved: {failure}",
              file=sys.stderr)
        return EXIT_FAILURE
    if inputs.unreadable:
        print(f"face-classifier: error: {unreadable_message(inputs.unreadable, len(inputs.items))}",
              file=sys.stderr)
        return EXIT_FAILURE
    return EXIT_OK


def run(args: argparse.Namespace, make_detector: Callable[..., Detector] = FaceDetector,
        on_summary: Callable[[LoopSummary], None] | None = None) -> int:
    """The whole run; ``make_detector`` makes the detector (called with a DetectorSettings),
    ``on_summary`` is told how the frame loop went."""
    inputs = open_inputs(args)
    settings = choose_detector(args)
    if args.threshold is None:
        args.threshold = distances_of(settings.encoder).threshold
    elif notice := threshold_notice(args.threshold, settings.encoder):
        log.warning(notice)
    print_inputs(inputs, args)
    print("face detector:", describe_detector(settings))
    print("face encoder:", describe_encoder(settings))

    detector = make_detector(settings)
    plan = run_plan(args, settings)
    db = PersonDB()
    session = ResultSession(db, args.result, autosave_s=args.autosave)  # one run at a time
    try:  # its worker processes start while the result loads
        pipeline = start_pipeline(args, plan, make_detector)
    except BaseException:
        session.close()
        raise
    try:
        db.load(args.result, encode_image=detector.encode_face_image,
                encoder=settings.encoder.value)
    except BaseException:  # the lock too: tests and benches call main in one process
        pipeline.close()
        session.close()
        raise
    db.print_persons()
    make_unknowns(args.result)
    if args.capture:
        args.capture.mkdir(parents=True, exist_ok=True)
        shown = args.capture.absolute() if args.capture == Path(DEFAULT_CAPTURE) else args.capture
        print(f"Captured frames are saved in '{shown}' directory.")
    classifier = make_classifier(args.threshold, faithful=args.faithful,
                                 encoder=settings.encoder)
    output = FrameOutput(display=args.display, capture_dir=args.capture, live_files=args.as_live)
    stop = StopRequest()
    session.stop_on_signals(stop.request)  # until the final save and summary are done
    print("Press q to stop detecting..." if args.display else "Press ^C to stop detecting...")
    # played live, every frame shown counts, not only those looked at: no total to show
    plays_live = args.as_live and not args.faithful
    progress = Progress(None if plays_live else inputs.total_frames,
                        enabled=progress_wanted(args.quiet))
    try:
        loop = sort_frames(pipeline, inputs, classifier, db, session, output, progress, stop)
    except BaseException:  # the autosave being written ends before the lock goes
        session.close()
        raise
    print(f"total elapsed time: {loop.elapsed_s:.3f} second")
    failure = finish_run(classifier, db, session)
    failure = loop.failure or failure
    if on_summary is not None:
        on_summary(loop)
    return exit_code(loop, failure, inputs, args.result)


def main(argv: list[str] | None = None, make_detector: Callable[..., Detector] = FaceDetector,
         on_summary: Callable[[LoopSummary], None] | None = None) -> int:
    """The command line; the keywords let tests and benchmarks pass their own parts in."""
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["review"]:  # face-classifier review [--result DIR]: the review page
        return review_main(argv[1:])
    if argv[:1] == ["models"]:  # face-classifier models [install ...]: the model files
        return models_main(argv[1:])
    args = parse_args(argv)
    logging.basicConfig(level=log_level(args), format="%(levelname)s: %(message)s")
    if hasattr(sys.stdout, "reconfigure"):  # a file name that is not UTF-8 still prints
        sys.stdout.reconfigure(errors="backslashreplace")
    try:
        return run(args, make_detector, on_summary)
    except (UsageError, InputConflict, ClusterUnavailable) as error:
        print(f"face-classifier: error: {error}", file=sys.stderr)
        return EXIT_USAGE
    except (SourceError, ModelsMissingError, ModelFormatError, ModelError,
            ResultInUseError, SaveError, ClusterError) as error:
        print(f"face-classifier: error: {error}", file=sys.stderr)
        return EXIT_FAILURE
    except KeyboardInterrupt:  # before the frame loop: nothing new to save
        print("face-classifier: interrupted; the result is as the last save left it",
              file=sys.stderr)
        return 130
    except OSError as error:
        print(f"face-classifier: error: {error.strerror or error}: "
              f"'{error.filename or args.result}'", file=sys.stderr)
        return EXIT_FAILURE


if __name__ == "__main__":
    sys.exit(main())
