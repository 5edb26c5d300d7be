"""A run's hold on its result directory: one run at a time, new faces written to disk as they
are found, an autosave every few seconds, and saves that Ctrl-C or SIGTERM cannot cut short.

What survives what (see person_db.PersonDB.save for how): a kill at any instant leaves the
previous save or the new one; a crash loses at most the faces of one autosave interval.
"""
from __future__ import annotations

import os
import signal
import time
from pathlib import Path
from typing import Callable, Iterable

from facesort.records.face import Face
from facesort.result.lock import STOP_SIGNALS, lock_result, signals_held
from person_db import PersonDB

DEFAULT_AUTOSAVE_S = 60.0


class SaveError(Exception):
    """The result could not be written; the last complete save is still there."""


class ResultSession:
    """Saves ``db`` to ``result_dir``: as faces come, every ``autosave_s`` seconds (0: never),
    and once at the end (``finish``). Holds the directory's lock from creation to ``close``."""

    def __init__(self, db: PersonDB, result_dir: Path, autosave_s: float = DEFAULT_AUTOSAVE_S,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.db = db
        self.result_dir = result_dir
        self.autosave_s = autosave_s
        self.autosaves = 0
        self._clock = clock
        self._last_save = clock()
        self._unsaved = 0  # faces written since the last save
        self._restore_signals: dict[int, object] = {}
        try:
            self._lock = lock_result(result_dir)
        except OSError as error:
            raise SaveError(f"cannot use '{result_dir}': {error.strerror or error}") from None

    def stop_on_signals(self, request_stop: Callable[[], None]) -> None:
        """Until ``close``: SIGINT and SIGTERM call ``request_stop`` instead of killing the
        run, so that it ends through the final save."""
        requested = []

        def handle(_signum: int, _frame: object) -> None:
            if requested:
                os.write(2, b"\nface-classifier: stopping, the result is being saved\n")
            requested.append(True)
            request_stop()

        for sig in STOP_SIGNALS:
            self._restore_signals.setdefault(sig, signal.signal(sig, handle))

    def add_faces(self, faces: Iterable[Face]) -> None:
        """Write the new faces' images to disk now; autosave when one is due.

        Called once a frame, with or without faces: an idle webcam is not saved again and again.
        """
        try:
            self._unsaved += self.db.write_new_faces(self.result_dir, faces)
        except OSError as error:
            raise SaveError(self._failure(error)) from None
        if (self.autosave_s > 0 and self._unsaved
                and self._clock() - self._last_save >= self.autosave_s):
            self.save(announce=False)
            self.autosaves += 1

    def save(self, announce: bool = True) -> None:
        """Save now, with Ctrl-C and SIGTERM held until the result is whole again."""
        try:
            with signals_held():
                self.db.save(self.result_dir, announce=announce)
        except OSError as error:
            raise SaveError(self._failure(error)) from None
        self._last_save = self._clock()
        self._unsaved = 0

    def finish(self) -> None:
        """The final save, then ``close``."""
        try:
            self.save()
        finally:
            self.close()

    def close(self) -> None:
        """The usual signal handlers come back and the lock goes."""
        for sig, handler in self._restore_signals.items():
            signal.signal(sig, handler)
        self._restore_signals.clear()
        self._lock.close()

    def _failure(self, error: OSError) -> str:
        where = f" '{error.filename}'" if error.filename else ""
        return (f"could not save to '{self.result_dir}': {error.strerror or error}{where}; "
                f"it still holds the last complete save")
