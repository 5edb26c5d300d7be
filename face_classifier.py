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
from facesort.app import parts
from facesort.app.flags import OneLineParser, number_in
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
from facesort.app.session import DEFAULT_AUTOSAVE_S, ResultSession, SaveError
from facesort.app.view import FrameOutput, StopRequest
from facesort.cluster.connect import (
    ClusterError,
    ClusterUnavailable,
    cluster_address,
    connect,
    require_dask,
)
from facesort.cluster.driver import ClusterWork, usage_problem
from facesort.detection.model_files import ModelError
from facesort.detection.protocol import Detector
from facesort.detection.resnet_encoder import ModelFormatError
from facesort.detection.yunet import DEFAULT_SCORE_THRESHOLD, DETECTION_SIDE
from facesort.inputs.stream import MAX_PHOTO_PIXELS, InputConflict, Inputs, megapixels
from facesort.inputs.video import SourceError, camera_index
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
DEFAULT_CAPTURE = "captures"  # -c without a folder; beside --result, never inside it (a folder
                              # of images there would be loaded as a person)
AUTO = "auto"   # --detector: YuNet when its model is installed, else HOG
EPILOG = ("Then: 'face-classifier review [--result DIR]' opens the result in a local web page, to "
          "rename, merge and move persons and faces and act on suggestions (docs/review.md); "
          "'face-classifier models [install]' lists or installs the face models.")


class UsageError(Exception):
    """The command line cannot work; exit code 2."""


def build_parser() -> argparse.ArgumentParser:
    parser = OneLineParser(
        prog="face-classifier",
        description="Find the faces in video files, photos or a webcam and sort them into "
                    "persons, including people never seen before. Results go to --result: a "
                    "folder of face images per person, which you may rename and correct between "
                    "runs, and report.html, who was seen when.",
        epilog=EPILOG)
    parser.add_argument("inputs", nargs="*", metavar="INPUT",
                        help="video files, photos or folders of photos, read in turn; or '0' "
                             "(a camera index) for a webcam. A photo of more than "
                             f"{megapixels(MAX_PHOTO_PIXELS)} is skipped with a warning (the "
                             "run goes on, and ends with exit code 1)")
    parser.add_argument("-i", "--input", dest="named_inputs", action="append", default=None,
                        metavar="INPUT",
                        help="an INPUT, as the original post spells it; may be repeated. INPUTs "
                             "given with -i are read first, then the others, each in the order "
                             "given")
    parser.add_argument("-t", "--threshold", type=number_in(0, 2, low_open=True, high_open=True),
                        default=None,
                        help="threshold of the similarity: faces closer than this are one person; "
                             "each encoder measures its own distances (default: " + ", ".join(
                                 f"{kind.value} {distances_of(kind).threshold}"
                                 for kind in EncoderKind) + ")")
    parser.add_argument("-S", "--seconds", type=number_in(0, 3600), default=1.0,
                        help="seconds between captures; 0 looks at every frame (default=1); "
                             "a photo is always looked at once")
    parser.add_argument("-s", "--stop", type=number_in(0, float("inf")), default=0,
                        help="stop detecting after # seconds of each video or webcam "
                             "(default=0: run to the end)")
    parser.add_argument("-k", "--skip", type=number_in(0, float("inf")), default=0,
                        help="skip detecting for # seconds from the start of each video or webcam")
    parser.add_argument("-d", "--display", action="store_true",
                        help="display the frame in real time, with a box and a name on each face; "
                             "a video file plays at its own pace (press f in the window for full "
                             "speed, q to stop)")
    parser.add_argument("-c", "--capture", nargs="?", const=DEFAULT_CAPTURE, metavar="DIR",
                        help="save the frames with faces, annotated, in the DIR directory "
                             f"(default: '{DEFAULT_CAPTURE}' in the current directory; the "
                             "folder is printed when the run starts). A word after -c that "
                             "names an existing file or a camera number is read as an INPUT "
                             "(as if given with -i), not taken as DIR: '-c video.mp4' reads "
                             "video.mp4 and saves its frames in the default folder")
    parser.add_argument("-r", "--resize-ratio", type=number_in(0, 4, low_open=True), default=1.0,
                        help="resize the frame for detection only (less time, fewer small faces); "
                             "boxes and saved faces stay in original pixels (default=1.0)")
    parser.add_argument("--faithful", action="store_true",
                        help="the original post's algorithm: every looked-at frame searched at "
                             "full resolution and every face found encoded by dlib (about 10x "
                             "slower), sorted with its rules (nearest average only, pairs only, "
                             "no same-frame rule, no merging)")
    parser.add_argument("--detector", choices=[AUTO, *(finder.value for finder in FaceFinder)],
                        default=AUTO,
                        help="what finds the faces: 'yunet', OpenCV's YuNet network (more "
                             "faces, smaller and more turned ones; its model is installed by "
                             "'face-classifier models install'), 'hog', dlib's HOG as in the "
                             "post; 'auto' "
                             "YuNet when its model is installed, else HOG with a notice "
                             "(default=auto). --faithful always uses HOG")
    parser.add_argument("--encoder", choices=[AUTO, *(kind.value for kind in EncoderKind)],
                        default=AUTO,
                        help="what turns a face into numbers: 'mobilefacenet', a modern network "
                             "(far fewer different people in one person; needs its model and "
                             "YuNet's: face-classifier models), 'dlib', dlib's network as in the "
                             "post; 'auto' MobileFaceNet when its model and YuNet's are "
                             "installed, else dlib with a notice (default=auto). --faithful "
                             "always uses dlib. A result sorted with another encoder has its "
                             "faces encoded again, once")
    parser.add_argument("--detector-threshold", type=number_in(0, 1),
                        default=DEFAULT_SCORE_THRESHOLD, metavar="SCORE",
                        help="YuNet's score threshold: lower finds more faces, and more that "
                             f"are not faces (default={DEFAULT_SCORE_THRESHOLD}: measured on 100 "
                             "WIDER FACE photos, 61%% of their faces and 4 false ones)")
    parser.add_argument("--small-faces", choices=[mode.value for mode in SmallFaces],
                        default=SmallFaces.MOTION.value,
                        help="HOG only: faces under ~100 px: 'motion' looks for them at full "
                             "resolution where the picture changed (default), 'full' in the "
                             "whole frame every time (slower), 'off' not at all (fastest). "
                             "YuNet's one pass finds faces down to ~14 px in frames up to "
                             f"{DETECTION_SIDE} px wide (~19 px with -S > 0; in larger frames "
                             "relatively larger faces)")
    parser.add_argument("--cluster", type=cluster_address, metavar="ADDRESS",
                        help="decode, detect and encode on the workers of a Dask cluster, sort "
                             "here: a scheduler's address (tcp://host:8786) or local:N for N "
                             "worker processes on this machine; every INPUT must be readable "
                             "at the same path on every worker (a shared filesystem); needs "
                             "pip install 'face-classifier[cluster]'")
    # play a video file as if it were a webcam, at its own frame rate (tests, demos)
    parser.add_argument("--as-live", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--result", type=Path, default=Path("result"), metavar="DIR",
                        help="result directory, loaded at start and saved at the end "
                             "(default=result)")
    parser.add_argument("--autosave", type=number_in(0, float("inf")), metavar="SECONDS",
                        default=DEFAULT_AUTOSAVE_S,
                        help="also save every # seconds, so a crash loses at most that much; "
                             f"0 saves only at the end (default={DEFAULT_AUTOSAVE_S:g})")
    chatter = parser.add_mutually_exclusive_group()
    chatter.add_argument("-v", "--verbose", action="count", default=0,
                         help="tell more on stderr: -v what is read, -vv debugging detail")
    chatter.add_argument("-q", "--quiet", action="store_true",
                         help="no progress bar and no warnings, only errors on stderr")
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    return parser


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    """The flags, with every INPUT in ``args.inputs`` and ``args.capture`` a Path or None.

    Flags and INPUTs may come in any order (the post writes ``-i VIDEO -t 0.4 -c -S 0.5``).
    """
    parser = build_parser()
    args = parser.parse_intermixed_args(argv)
    named = list(args.named_inputs or [])
    if args.capture is not None and names_an_input(args.capture):
        named.append(args.capture)  # '-c video.mp4': a file can never be the capture folder
        args.capture = DEFAULT_CAPTURE
    args.inputs = named + args.inputs
    if not args.inputs:
        hint = ""
        if args.capture is not None and Path(args.capture).is_dir():
            hint = (f"; '{args.capture}' after -c is taken as the folder for the captures: "
                    f"to read its photos, give it before -c or with -i")
        parser.error(f"the following arguments are required: INPUT{hint}")
    if args.capture is not None:
        args.capture = Path(args.capture)
    return args


def names_an_input(word: str) -> bool:
    """Whether the word after -c is an INPUT: an existing file (not a folder) or a camera."""
    return camera_index(word) is not None or (Path(word).exists() and not Path(word).is_dir())


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
    loop = sort_frames(pipeline, inputs, classifier, db, session, output, progress, stop)
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
