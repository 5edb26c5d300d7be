"""Worker processes that run dlib for the frame loop: detection passes and encodings.

dlib's Python calls hold the GIL (measured: two threads running HOG or the encoder take as
long as one thread doing both), so using both cores takes processes. Each worker loads its own
models once (a detector made by the factory it is given); a job is any object with
``run(detector)``. Detection jobs go before encodings
(the frame loop waits for detections, not for encodings); results are collected by ticket.
``InlinePool`` has the same API and runs each job at once in the calling process: for a
pipeline inside a process that is already one per core (a Dask worker, facesort.cluster).
"""
from __future__ import annotations

import contextlib
import logging
import multiprocessing
import os
import signal
import threading
from collections import deque
from dataclasses import dataclass
from multiprocessing.connection import Connection, wait
from typing import Any

from facesort.detection.protocol import DetectorFactory

log = logging.getLogger(__name__)


class WorkerError(RuntimeError):
    """A worker process failed or died; the message says how."""


def worker_main(connection: Connection, make_detector: DetectorFactory) -> None:
    """The loop of one worker process: receive a job, run it, send back its result."""
    # Ctrl-C reaches the whole process group; the main process decides when we stop
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    detector = make_detector()
    try:
        detector.warm_up()
    except Exception:  # reported with the first job, which fails the same way
        pass
    while True:
        try:
            job = connection.recv()
        except (EOFError, OSError):
            return
        if job is None:
            return
        try:
            connection.send(("ok", job.run(detector)))
        except Exception as error:  # sent back as one line; the main process decides
            connection.send(("error", f"{type(error).__name__}: {error}"))


@contextlib.contextmanager
def single_threaded_blas():
    """Processes started in this block multiply matrices on one thread: the workers are
    one per core already, and OpenBLAS threads of their own would fight over the cores."""
    names = ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS")
    saved = {name: os.environ.get(name) for name in names}
    os.environ.update({name: "1" for name in names})
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


@dataclass
class _Worker:
    process: Any
    connection: Connection
    ticket: int | None = None   # the job it is running


class WorkerPool:
    """A few worker processes fed from two queues: urgent jobs first, then the others."""

    def __init__(self, count: int, make_detector: DetectorFactory) -> None:
        context = multiprocessing.get_context("spawn")  # no fork of a threaded process
        self._workers: list[_Worker] = []
        for _ in range(max(1, count)):
            here, there = context.Pipe()
            process = context.Process(target=worker_main, args=(there, make_detector), daemon=True,
                                      name="face-worker")
            with single_threaded_blas():
                process.start()
            there.close()
            self._workers.append(_Worker(process, here))
        self._urgent: deque[tuple[int, Any]] = deque()
        self._normal: deque[tuple[int, Any]] = deque()
        self._results: dict[int, tuple[str, Any]] = {}
        self._next_ticket = 0
        self._broken: str | None = None
        self._closing = False
        self._lock = threading.Condition()
        self._receiver = threading.Thread(target=self._receive, daemon=True,
                                          name="face-worker-results")
        self._receiver.start()

    def submit(self, job: Any, urgent: bool = False) -> int:
        """Queue a job; returns its ticket."""
        with self._lock:
            self._raise_if_broken()
            ticket = self._next_ticket
            self._next_ticket += 1
            (self._urgent if urgent else self._normal).append((ticket, job))
            self._dispatch()
            return ticket

    def done(self, ticket: int) -> bool:
        with self._lock:
            self._raise_if_broken()
            return ticket in self._results

    def result(self, ticket: int) -> Any:
        """Wait for a job's result; raise WorkerError if it failed."""
        with self._lock:
            while ticket not in self._results:
                self._raise_if_broken()
                self._lock.wait()
            status, value = self._results.pop(ticket)
        if status != "ok":
            raise WorkerError(f"a face worker failed: {value}")
        return value

    def close(self) -> None:
        """Stop the workers (jobs not yet run are dropped)."""
        with self._lock:
            self._closing = True
            self._urgent.clear()
            self._normal.clear()
        for worker in self._workers:
            try:
                worker.connection.send(None)
            except (OSError, ValueError):
                pass
        for worker in self._workers:
            worker.process.join(timeout=5)
            if worker.process.is_alive():
                worker.process.terminate()
                worker.process.join(timeout=5)
        self._receiver.join(timeout=5)
        for worker in self._workers:
            worker.connection.close()

    # --- inside the lock ----------------------------------------------------------------
    def _raise_if_broken(self) -> None:
        if self._broken is not None:
            raise WorkerError(self._broken)

    def _dispatch(self) -> None:
        """Hand queued jobs to idle workers."""
        for worker in self._workers:
            if worker.ticket is not None:
                continue
            queue = self._urgent or self._normal
            if not queue:
                return
            ticket, job = queue.popleft()
            worker.ticket = ticket
            try:
                worker.connection.send(job)
            except (OSError, ValueError) as error:  # the worker is gone
                self._broken = f"a face worker process is gone ({error})"
                self._lock.notify_all()
                raise WorkerError(self._broken) from None

    # --- the receiving thread -----------------------------------------------------------
    def _receive(self) -> None:
        connections = {worker.connection: worker for worker in self._workers}
        while connections:
            for connection in wait(list(connections)):
                worker = connections[connection]
                try:
                    message = connection.recv()
                except (EOFError, OSError):
                    del connections[connection]
                    with self._lock:
                        if not self._closing and self._broken is None:
                            worker.process.join(timeout=1)
                            code = worker.process.exitcode
                            self._broken = (f"a face worker process died (exit code {code}); "
                                            f"out of memory?")
                        self._lock.notify_all()
                    continue
                with self._lock:
                    if worker.ticket is not None:
                        self._results[worker.ticket] = message
                    worker.ticket = None
                    if not self._closing:
                        self._dispatch()
                    self._lock.notify_all()


class InlinePool:
    """WorkerPool's API without processes: each job runs when it is submitted, here."""

    def __init__(self, make_detector: DetectorFactory) -> None:
        self._detector = make_detector()
        self._results: dict[int, tuple[Any, Exception | None]] = {}
        self._next_ticket = 0

    def submit(self, job: Any, urgent: bool = False) -> int:
        """Run a job now; returns its ticket (its result or error waits for ``result``)."""
        ticket = self._next_ticket
        self._next_ticket += 1
        try:
            self._results[ticket] = (job.run(self._detector), None)
        except Exception as error:  # raised by result(), as a worker process's would be
            self._results[ticket] = (None, error)
        return ticket

    def done(self, ticket: int) -> bool:
        return ticket in self._results

    def result(self, ticket: int) -> Any:
        """The job's result; raise WorkerError if it failed."""
        value, error = self._results.pop(ticket)
        if error is not None:
            raise WorkerError(f"a face worker failed: {type(error).__name__}: {error}") from error
        return value

    def close(self) -> None:
        self._results.clear()


def worker_pool(count: int, make_detector: DetectorFactory) -> WorkerPool | InlinePool:
    """``count`` worker processes; with 0, none: the jobs run inline (InlinePool)."""
    return InlinePool(make_detector) if count == 0 else WorkerPool(count, make_detector)
