"""One process at a time on a result directory, and saves that Ctrl-C or SIGTERM cannot cut
short."""
from __future__ import annotations

import contextlib
import os
import signal
import threading
from pathlib import Path
from typing import IO, Iterator

from facesort import storage
from facesort.result.layout import LOCK_FILE

STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)


class ResultInUseError(Exception):
    """Another run holds the result directory."""


def lock_result(result_dir: Path) -> IO[bytes]:
    """Hold the result directory's lock until the returned file closes (created if missing).

    Raises ResultInUseError when another process holds it, OSError when it cannot be made.
    """
    result_dir.mkdir(parents=True, exist_ok=True)
    lock = storage.lock_exclusively(result_dir / LOCK_FILE)
    if lock is None:
        raise ResultInUseError(f"another face-classifier run is using '{result_dir}'; "
                               "wait for it to end, or choose another --result")
    return lock


@contextlib.contextmanager
def signals_held() -> Iterator[None]:
    """Hold SIGINT and SIGTERM until the block ends, then deliver them as usual.

    A Ctrl-C in the middle of a save then stops the program after the save, not inside it.
    """
    if threading.current_thread() is not threading.main_thread():
        yield  # only the main thread receives signals
        return
    received: list[int] = []

    def hold(signum: int, _frame: object) -> None:
        received.append(signum)
        os.write(2, b"\nface-classifier: saving the result, please wait\n")  # print() is not
        # safe in a signal handler: it may interrupt another print to the same stream

    previous = {sig: signal.signal(sig, hold) for sig in STOP_SIGNALS}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        for sig in dict.fromkeys(received):
            signal.raise_signal(sig)
