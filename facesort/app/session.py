"""A run's hold on its result directory: one run at a time, new faces written to disk as they
are found, an autosave every few seconds, and saves that Ctrl-C or SIGTERM cannot cut short.

An autosave writes in a background thread, from a snapshot of the persons taken in the frame
loop, so that the loop goes on sorting while a library's save takes seconds; one save at a
time, and every other save (the final one) waits for it first. Ctrl-C and SIGTERM are held from
the snapshot until the loop sees the save done (only the main thread can hold them).

What survives what (see person_db.PersonDB.save for how): a kill at any instant leaves the
previous save or the new one; a crash loses the faces found since the last autosave that was
written whole began: at most an autosave interval and the time an autosave takes (two of
these when they take longer than the interval, for the loop never waits for one).
"""
from __future__ import annotations

import contextlib
import logging
import os
import signal
import time
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Callable, Iterable

from facesort.records.face import Face
from facesort.result.lock import STOP_SIGNALS, lock_result, signals_held
from person_db import PersonDB

log = logging.getLogger(__name__)

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
        self._writer: ThreadPoolExecutor | None = None   # the autosaves' thread, once needed
        self._in_flight: Future[None] | None = None      # the autosave being written
        self._held = contextlib.ExitStack()               # signals held while it is
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
        """Write the new faces' images to disk now; start an autosave when one is due.

        Called once a frame, with or without faces: an idle webcam is not saved again and again.
        Raises SaveError when the last autosave failed.
        """
        try:
            self._unsaved += self.db.write_new_faces(self.result_dir, faces)
        except OSError as error:
            raise SaveError(self._failure(error)) from None
        if self._in_flight is not None:
            if not self._in_flight.done():
                return  # one at a time: a due autosave starts once this one is written
            self.wait_for_autosave()
        since = self._clock() - self._last_save
        if self.autosave_s > 0 and self._unsaved and since >= self.autosave_s:
            self._start_autosave()

    def _start_autosave(self) -> None:
        """A snapshot of the persons now, written by the autosave thread."""
        snapshot = self.db.snapshot()
        if self._writer is None:
            self._writer = ThreadPoolExecutor(1, thread_name_prefix="face-classifier-save")
        self._held.enter_context(signals_held())
        try:
            self._in_flight = self._writer.submit(self.db.save, self.result_dir, False, snapshot)
        except BaseException:
            self._held.close()
            raise
        self._last_save = self._clock()
        self._unsaved = 0
        self.autosaves += 1

    def wait_for_autosave(self) -> None:
        """Wait for the autosave being written, then deliver the signals held meanwhile.
        Raises SaveError when it failed (the faces it had are saved by the next save)."""
        if self._in_flight is None:
            return
        in_flight, self._in_flight = self._in_flight, None
        try:
            error = in_flight.exception()
        finally:
            self._held.close()
        if isinstance(error, OSError):
            self._unsaved += 1  # not saved after all
            raise SaveError(self._failure(error)) from None
        if error is not None:
            raise error

    def save(self, announce: bool = True) -> None:
        """Save now (after the autosave being written, if any), with Ctrl-C and SIGTERM held
        until the result is whole again."""
        with contextlib.suppress(SaveError):  # this save writes all a failed autosave had
            self.wait_for_autosave()
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
        """The autosave being written ends, the usual signal handlers come back and the lock
        goes."""
        try:
            self.wait_for_autosave()
        except SaveError as error:  # the run is ending on another error already
            log.warning("%s", error)
        finally:
            if self._writer is not None:
                self._writer.shutdown()
                self._writer = None
            for sig, handler in self._restore_signals.items():
                signal.signal(sig, handler)
            self._restore_signals.clear()
            self._lock.close()

    def _failure(self, error: OSError) -> str:
        where = f" '{error.filename}'" if error.filename else ""
        return (f"could not save to '{self.result_dir}': {error.strerror or error}{where}; "
                f"it still holds the last complete save")
