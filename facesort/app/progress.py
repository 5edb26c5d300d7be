"""The frame loop's progress bar (tqdm): an ETA when the number of frames to look at is known
(files, photos), else the frames so far, the time elapsed and the rate (a webcam, a file
played live). Drawn only on a terminal."""
from __future__ import annotations

import contextlib
import os
import sys
from pathlib import Path
from typing import TextIO

from tqdm import tqdm
from tqdm.contrib.logging import logging_redirect_tqdm

from facesort.records.source import PHOTO, SourceInfo, format_time

# the bar and the counts first: on a narrow terminal tqdm trims the end of the line
FALLBACK_SIZE = (100, 24)  # columns, rows: for a terminal that does not tell its size
KNOWN_TOTAL = ("{percentage:3.0f}%|{bar:16}| {n_fmt}/{total_fmt} "
               "[{elapsed}<{remaining}, {rate_fmt}] {desc}")
OPEN_ENDED = "{n_fmt} frames [{elapsed}, {rate_fmt}] {desc}"


def progress_wanted(quiet: bool, stream: TextIO = sys.stderr) -> bool:
    """A bar is drawn unless -q, or the output goes to a file or a pipe (logs stay clean)."""
    return not quiet and stream.isatty()


def terminal_columns(stream: TextIO) -> int:
    """The width of the terminal ``stream`` is, 0 when it does not say (or is no terminal)."""
    try:
        return os.get_terminal_size(stream.fileno()).columns
    except (OSError, ValueError, AttributeError):  # io.UnsupportedOperation is an OSError
        return 0


class Progress:
    """One bar for the whole run; each frame looked at advances it by one.

    While it is shown, log messages are printed above the bar instead of through it.
    """

    def __init__(self, total: int | None, enabled: bool, stream: TextIO | None = None) -> None:
        stream = stream or sys.stderr
        # a terminal of size 0x0 (a bare pseudo-terminal) would make tqdm draw nothing
        sized = terminal_columns(stream) > 0
        columns, rows = (None, None) if sized else FALLBACK_SIZE
        self._bar = tqdm(total=total, unit="frame", file=stream, disable=not enabled,
                         dynamic_ncols=sized, ncols=columns, nrows=rows, smoothing=0.1,
                         bar_format=KNOWN_TOTAL if total is not None else OPEN_ENDED)
        self._logging = contextlib.ExitStack()
        if enabled:
            self._logging.enter_context(logging_redirect_tqdm())

    def advance(self, info: SourceInfo, seconds: float, summary: str, frames: int = 1) -> None:
        """``frames`` more frames done (one of ``info``, at ``seconds``, when the frame loop
        calls; any inputs' on a cluster); ``summary`` is the db's counts."""
        self.describe(info, seconds, summary, refresh=False)
        if self._bar.total is not None and self._bar.n >= self._bar.total:
            # more frames than counted (a video whose header undercounts): tqdm would show
            # "0%| | 140/? [00:04<00:00]", so show the count and the rate from here on
            self._bar.total = None
            self._bar.bar_format = OPEN_ENDED
        self._bar.update(frames)

    def describe(self, info: SourceInfo, seconds: float, summary: str,
                 refresh: bool = True) -> None:
        """Show where the run is and the db's counts (faces still being encoded when the
        frames ran out change them after the last frame)."""
        where = Path(info.name).name or info.name
        if info.kind != PHOTO:
            where += f" @ {format_time(seconds, wall_clock=info.is_camera)}"
        self._bar.set_description_str(f"{where}, {summary}", refresh=refresh)

    def close(self) -> None:
        self._bar.close()
        self._logging.close()
