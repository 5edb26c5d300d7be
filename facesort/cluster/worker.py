"""The workers' side of --cluster: one input of the run through the pipeline, its faces sent
back in batches while it runs (see jobs.py), progress reported, a stop obeyed.

The pipeline runs in the Dask worker's own process (its jobs inline: ``workers=0``): Dask
runs one worker process per core already. Each worker thread loads the models once and
keeps them for the next inputs: ``CachedDetectors`` holds them on the Dask worker object
itself (``DetectorCache``), per thread; this module keeps no state.
"""
from __future__ import annotations

import logging
import os
import pickle
import signal
import threading
import time
import uuid
from dataclasses import dataclass, replace
from typing import Any

from facesort import storage
from facesort.cluster.jobs import FaceBatch, InputEnd, InputJob, InputNotReadable
from facesort.detection.protocol import Detector, DetectorFactory
from facesort.inputs.stream import InputItem, Inputs
from facesort.pipeline.frames import PipelineStats
from facesort.records.face import Face
from facesort.records.source import Sampling

log = logging.getLogger(__name__)

REPORT_EVERY_S = 0.5    # progress to the driver, and a look at whether it asks to stop
SEND_EVERY_S = 2.0      # faces waiting longer than this go in a batch, however few

CACHE_ATTRIBUTE = "facesort_detectors"   # where a Dask worker keeps its DetectorCache


class DetectorCache:
    """The detectors a worker process made, by factory, arguments and thread."""

    def __init__(self) -> None:
        self.detectors: dict[tuple[bytes, int], Detector] = {}
        self.lock = threading.Lock()


def detector_cache(worker: Any) -> DetectorCache:
    """The worker's DetectorCache, made on its first job (two jobs starting at once may each
    make one: one is kept, the other's detectors are made again, once)."""
    cache = getattr(worker, CACHE_ATTRIBUTE, None)
    if cache is None:
        cache = DetectorCache()
        setattr(worker, CACHE_ATTRIBUTE, cache)
    return cache


@dataclass(frozen=True)
class CachedDetectors:
    """A detector factory that makes each detector once per worker process and thread."""

    make_detector: DetectorFactory
    cache: DetectorCache

    def __call__(self, *args: Any) -> Detector:
        try:
            key = (pickle.dumps((self.make_detector, args)), threading.get_ident())
        except (pickle.PicklingError, TypeError, AttributeError):  # a lambda: made anew each time
            return self.make_detector(*args)
        with self.cache.lock:
            if key not in self.cache.detectors:
                self.cache.detectors[key] = self.make_detector(*args)
            return self.cache.detectors[key]


class NamedInputs(Inputs):
    """One input opened at ``path`` and named ``item.text``, as on the driver: a relative
    INPUT names its faces the same way wherever the worker runs."""

    def __init__(self, item: InputItem, path: str, sampling: Sampling) -> None:
        super().__init__([replace(item, text=path)], sampling)
        self._name = item.text

    def sources(self, live=lambda info: False):
        for info, frames in super().sources(live):
            yield replace(info, name=self._name), frames


def check_readable(job: InputJob, worker: str) -> None:
    """Raise InputNotReadable, in one line, when this machine cannot open the input."""
    path = job.path
    reason = ("no such file" if not os.path.exists(path) else
              "no permission to read it" if not os.access(path, os.R_OK) else None)
    if reason is not None:
        raise InputNotReadable(
            f"worker {worker} cannot open '{job.item.text}' ({path}: {reason}); every INPUT "
            f"must be readable at the same path on every worker (a shared filesystem)")


def run_job(job: InputJob) -> int:
    """Turn one input into faces and send them to the driver; returns how many were sent.

    Runs as a Dask task. The faces go in batches (jobs.FaceBatch) of whole frames, the last
    one with the input's end; every REPORT_EVERY_S the frames done go to the driver's
    progress bar, and the run's stop event (Ctrl-C on the driver) is looked at.
    """
    from distributed import Event, Queue, get_client, get_worker

    worker = get_worker()
    check_readable(job, worker.address)
    client = get_client()
    sender = _BatchSender(job, client, Queue(job.queue, client=client), worker.address)
    stop = Event(job.stop_event, client=client)
    pipeline = job.make_pipeline(CachedDetectors(job.make_detector, detector_cache(worker)),
                                 workers=0)
    inputs = NamedInputs(job.item, job.path, job.sampling)
    info, frames, highest = None, 0, 0
    last_report = time.monotonic()
    try:
        for found in pipeline.run(inputs):
            info, frames = found.info, frames + 1
            highest = max([highest] + [face.track_id or 0 for face in found.new_faces])
            sender.add(found.new_faces)
            if time.monotonic() - last_report >= REPORT_EVERY_S:
                last_report = time.monotonic()
                worker.log_event(job.progress_topic, {"input": job.number, "frames": frames})
                if stop.is_set():
                    return sender.sent
                sender.send_if_due()
        last = pipeline.drain()
        highest = max([highest] + [face.track_id or 0 for face in last])
        sender.add(last)
    finally:
        pipeline.close()
    # a pipeline that draws track ids it may leave unused says how many it drew (FacePipeline)
    drawn = getattr(pipeline, "track_ids_drawn", highest)
    sender.send(InputEnd(info if not inputs.unreadable else None, drawn, frames,
                         getattr(pipeline, "stats", PipelineStats())))
    return sender.sent


class _BatchSender:
    """Faces into batches, each stored on this worker and announced in the input's queue."""

    def __init__(self, job: InputJob, client: Any, queue: Any, worker: str) -> None:
        self.job = job
        self.attempt = uuid.uuid4().hex[:12]   # this run of the job (Dask may run it again)
        self.sent = 0
        self._client = client
        self._queue = queue
        self._worker = worker
        self._faces: list[Face] = []
        self._batches = 0
        self._waiting_since = time.monotonic()

    def add(self, faces: list[Face]) -> None:
        """Faces of whole frames, as the pipeline hands them out."""
        if faces and not self._faces:
            self._waiting_since = time.monotonic()
        for face in faces:
            if face.crop_png is None and face.crop is not None:  # --faithful's: PNG is smaller
                face.crop_png, face.crop = storage.encode_png(face.crop), None
        self._faces.extend(faces)
        if len(self._faces) >= self.job.batch_faces:
            self.send()

    def send_if_due(self) -> None:
        if self._faces and time.monotonic() - self._waiting_since >= SEND_EVERY_S:
            self.send()

    def send(self, end: InputEnd | None = None) -> None:
        key = self.job.batch_key(self.attempt, self._batches)
        batch = FaceBatch(self.attempt, self._batches, self._faces, end)
        # the batch stays in this worker's memory (spilled to disk under pressure) until the
        # driver fetches it: the driver's memory does not grow with the workers' lead
        stored = self._client.scatter({key: batch}, workers=[self._worker], hash=False)
        self._queue.put(stored[key])
        self.sent += len(self._faces)
        self._batches += 1
        self._faces = []


def unreadable_input(jobs: list[InputJob], dask_worker: Any = None) -> str | None:
    """On every worker (Client.run), before the run: the first input it cannot open, as a
    one-line message, or None."""
    address = dask_worker.address if dask_worker is not None else "?"
    for job in jobs:
        try:
            check_readable(job, address)
        except InputNotReadable as error:
            return str(error)
    return None


def dask_setup(worker: Any) -> None:
    """Run by Dask in each worker process of ``local:N`` (its preload): a Ctrl-C on the
    terminal reaches every process of the run, and the driver decides when they stop."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
