"""The command line's flags: face-classifier's parser, and the flags it reads as the post did
(INPUTs and flags in any order, '-c VIDEO' read as an INPUT)."""
from __future__ import annotations

import argparse
from pathlib import Path

from facesort.app.flags import OneLineParser, cluster_address, number_in
from facesort.app.session import DEFAULT_AUTOSAVE_S
from facesort.detection.yunet import DEFAULT_SCORE_THRESHOLD, DETECTION_SIDE
from facesort.inputs.stream import MAX_PHOTO_PIXELS, megapixels
from facesort.inputs.video import camera_index
from facesort.records.distances import distances_of
from facesort.records.modes import EncoderKind, FaceFinder, SmallFaces

DEFAULT_CAPTURE = "captures"  # -c without a folder; beside --result, never inside it (a folder
                              # of images there would be loaded as a person)
AUTO = "auto"   # --detector: YuNet when its model is installed, else HOG
EPILOG = ("Then: 'face-classifier review [--result DIR]' opens the result in a local web page, to "
          "rename, merge and move persons and faces and act on suggestions (docs/review.md); "
          "'face-classifier models [install]' lists or installs the face models.")


def build_parser(version: str) -> argparse.ArgumentParser:
    """The command line's parser (``version`` for --version)."""
    parser = OneLineParser(
        prog="face-classifier",
        description="Find the faces in video files, photos or a webcam and sort them into "
                    "persons, including people never seen before. Results go to --result: a "
                    "folder of face images per person, which you may rename and correct between "
                    "runs, and report.html, who was seen when.",
        epilog=EPILOG)
    add_input_flags(parser)
    add_output_flags(parser)
    add_run_flags(parser, version)
    return parser


def add_input_flags(parser: argparse.ArgumentParser) -> None:
    """What is read, how often it is looked at, and when two faces are one person."""
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


def add_output_flags(parser: argparse.ArgumentParser) -> None:
    """What is shown and saved, and which models find and encode the faces."""
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


def add_run_flags(parser: argparse.ArgumentParser, version: str) -> None:
    """Where the work runs, where the result goes, and how much is said."""
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
    parser.add_argument("--version", action="version", version=f"%(prog)s {version}")


def parse_args(argv: list[str] | None, version: str) -> argparse.Namespace:
    """The flags, with every INPUT in ``args.inputs`` and ``args.capture`` a Path or None.

    Flags and INPUTs may come in any order (the post writes ``-i VIDEO -t 0.4 -c -S 0.5``).
    """
    parser = build_parser(version)
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
