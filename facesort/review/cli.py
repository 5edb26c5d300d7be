"""face-classifier review [--result DIR] [--port N] [--no-browser]: the result directory in a
local web page, to rename, merge and move persons and faces, and to act on suggestions."""
from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import Callable

import numpy as np

from facesort.review.changes import ChangeError
from facesort.review.server import UnusableResult, serve

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2


class OneLineParser(argparse.ArgumentParser):
    """argparse, but a usage error is one line that says where to look next."""

    def error(self, message: str) -> None:  # type: ignore[override]
        self.exit(EXIT_USAGE, f"{self.prog}: error: {message} (see --help)\n")


def port_number(text: str) -> int:
    try:
        port = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"'{text}' is not a port number") from None
    if not 0 <= port <= 65535:
        raise argparse.ArgumentTypeError(f"{port} is not a port number (0-65535)")
    return port


def parser() -> argparse.ArgumentParser:
    parser = OneLineParser(prog="face-classifier review", description=__doc__.split(":", 1)[1]
                           .strip().replace("\n", " "))
    parser.add_argument("--result", type=Path, default=Path("result"), metavar="DIR",
                        help="the result directory to review (default: result)")
    parser.add_argument("--port", type=port_number, default=0, metavar="N",
                        help="the port to listen on, on 127.0.0.1 only (default: a free one)")
    parser.add_argument("--no-browser", action="store_true",
                        help="print the page's URL without opening a browser")
    return parser


def lazy_encoder(result_dir: Path) -> Callable[[np.ndarray], np.ndarray]:
    """Encodes the face images the user added without an encoding, as a run would, with the
    encoder of the result's encodings; the models load when the first one is met."""
    from face_detector import lazy_image_encoder
    from person_db import stored_encoder

    return lazy_image_encoder(lambda: stored_encoder(result_dir))


def main(argv: list[str] | None = None) -> int:
    """Run the review of ``--result`` until Ctrl-C; the exit code as the command's."""
    args = parser().parse_args(argv)
    prog = "face-classifier review"
    if not args.result.is_dir():
        print(f"{prog}: error: no result directory '{args.result}' (run face-classifier on "
              "a video first, or give --result DIR)", file=sys.stderr)
        return EXIT_USAGE
    if not os.access(args.result, os.W_OK | os.X_OK):
        print(f"{prog}: error: --result '{args.result}': no permission to write in it",
              file=sys.stderr)
        return EXIT_USAGE
    try:
        serve(args.result, port=args.port, open_browser=not args.no_browser,
              encode_image=lazy_encoder(args.result))
    except UnusableResult as error:  # not writable, or damaged: as the main command says it
        print(f"{prog}: error: --result '{args.result}': {error}", file=sys.stderr)
        return EXIT_USAGE
    except ChangeError as error:  # the result cannot be locked or read
        print(f"{prog}: error: {error}", file=sys.stderr)
        return EXIT_FAILED
    except OSError as error:
        print(f"{prog}: error: cannot serve on port {args.port}: {error.strerror or error}",
              file=sys.stderr)
        return EXIT_FAILED
    return EXIT_OK


if __name__ == "__main__":
    sys.exit(main())
