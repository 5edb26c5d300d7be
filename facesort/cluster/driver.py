"""The driver's side of --cluster: the inputs go to the workers as jobs, one per input, and
their faces come back here, input after input in command-line order, to the run's one frame
loop (app.run.sort_frames), which sorts them while the workers go on with the next inputs.

What stays here: the result's lock, the sorting (sequential by design), the saves and the
report. Faces arrive in batches (jobs.py); each input's track ids are renumbered as a local run
numbers them: a pipeline draws an input's ids as one block (FacePipeline._draw_track_ids), so
input k's ids are the worker's plus the ids the inputs before it drew.

Faults: a worker that dies is replaced by Dask, which runs its job again on another worker;
the batches of the dead attempt that were not fetched are dropped, and the faces of the new
attempt that were sorted already are skipped (same faces, same order). Every worker gone for
NO_WORKERS_GRACE_S, a worker that cannot open an input, a job failing: the run stops with
one line, and what was sorted is saved. Ctrl-C sets the run's stop event and cancels the jobs.
"""
from __future__ import annotations

import dataclasses
import logging
import os
import threading
import time
import uuid

from typing import Any, Generator, Iterator

from facesort.cluster.connect import ClusterError, Connection
from facesort.cluster.jobs import (
    FaceBatch,
    InputEnd,
    InputJob,
    InputNotReadable,
    PipelineMaker,
    attempt_and_batch,
)
from facesort.cluster.worker import run_job, unreadable_input
from facesort.detection.protocol import DetectorFactory
from facesort.inputs.stream import InputItem, Inputs
from facesort.pipeline.frames import FrameFaces, PipelineStats
from facesort.records.face import Face
from facesort.records.source import CAMERA, PHOTO, SourceInfo

log = logging.getLogger(__name__)

BATCH_FACES = 32          # faces per batch: ~3 MB of 960x540 video's crops
NO_WORKERS_GRACE_S = 30.0  # without any worker this long, the run stops (a restart takes ~2 s)
POLL_S = 0.05             # between looks at the queue when nothing came
HEALTH_EVERY_S = 1.0      # between looks at the jobs and the workers
FETCH_PATIENCE_S = 60.0   # a batch announced but not fetchable this long: lost with its worker
RESUBMITS = 2             # a job ended without its last batch reaching us: run it again


def usage_problem(display: bool, capture: object, live: bool,
                  items: list[InputItem]) -> str | None:
    """Why these flags or inputs cannot run on a cluster, or None."""
    if display or capture is not None:
        return ("-d and -c draw on the frames, which stay on the workers with --cluster; "
                "run without --cluster to watch")
    if live:
        return "--as-live plays a video on this machine; run it without --cluster"
    cameras = [item.text for item in items if item.kind == CAMERA]
    if cameras:
        return (f"'{cameras[0]}' is a webcam of this machine: the workers of --cluster cannot "
                f"read it; run without --cluster")
    return None


class ClusterWork:
    """The per-input work of a run on a Dask cluster: a pipeline for the frame loop whose
    items are the faces the workers send (no frame to show), in input order."""

    def __init__(self, connection: Connection, make_pipeline: PipelineMaker,
                 make_detector: DetectorFactory, batch_faces: int | None = None) -> None:
        self.connection = connection
        self.make_pipeline = make_pipeline
        self.make_detector = make_detector
        self.batch_faces = batch_faces or BATCH_FACES
        self.stats = PipelineStats()
        self._running: Generator[FrameFaces, None, None] | None = None

    def run(self, inputs: Inputs) -> Iterator[FrameFaces]:
        """The faces of every input as the workers send them, renumbered as a local run
        numbers them; an item also while waiting, so that the loop can stop the run."""
        self._running = _Run(self, inputs).faces()
        return self._running

    def drain(self) -> list[Face]:
        """Nothing is left: an input's faces all come through ``run``."""
        return []

    def close(self) -> None:
        """Stop the jobs still running (closing ``run``'s items), then leave the cluster."""
        if self._running is not None:
            self._running.close()
        self.connection.close()


class _Attempts:
    """The batches of one input from its attempts, each face taken once, in order."""

    def __init__(self, job: InputJob) -> None:
        self.job = job
        self.sorted_names: list[str] = []   # faces taken so far, from whichever attempt
        self.attempt: str | None = None
        self.batches = 0                    # batches of the current attempt taken
        self.position = 0                   # faces of the current attempt seen
        self.dropped: set[str] = set()      # attempts whose worker died
        self.end: InputEnd | None = None

    def wanted(self, attempt: str) -> bool:
        return attempt not in self.dropped

    def lost(self, attempt: str) -> None:
        """The attempt's worker died: its batches are not fetched any more."""
        if attempt not in self.dropped:
            log.warning("a worker reading %s died; Dask runs it again on another",
                        self.job.item.text)
        self.dropped.add(attempt)
        if attempt == self.attempt:
            self.attempt = None

    def take(self, batch: FaceBatch) -> list[Face]:
        """The batch's faces not taken before (a new attempt starts again from the first)."""
        if batch.attempt != self.attempt:
            if self.attempt is not None:  # a newer attempt: Dask gave up on the older one
                self.lost(self.attempt)
            if batch.number != 0:         # the start of this attempt was lost: drop it
                self.lost(batch.attempt)
                return []
            self.attempt, self.batches, self.position = batch.attempt, 0, 0
        elif batch.number != self.batches:
            self.lost(batch.attempt)
            return []
        self.batches += 1
        new = []
        for face in batch.faces:
            if self.position < len(self.sorted_names):
                if face.file_name != self.sorted_names[self.position]:
                    raise ClusterError(
                        f"'{self.job.item.text}' gave other faces when run again after its "
                        f"worker died ({face.file_name}, not {self.sorted_names[self.position]})"
                        f"; the faces sorted so far were saved")
            else:
                new.append(face)
                self.sorted_names.append(face.file_name)
            self.position += 1
        if batch.end is not None:
            self.end = batch.end
        return new


class _Run:
    """One run's jobs, queues and progress on the cluster."""

    def __init__(self, work: ClusterWork, inputs: Inputs) -> None:
        self.work = work
        self.client = work.connection.client
        self.inputs = inputs
        name = uuid.uuid4().hex[:12]
        cwd = os.getcwd()
        self.jobs = [InputJob(name, number, item, inputs.sampling, work.make_pipeline,
                              work.make_detector, work.batch_faces, cwd)
                     for number, item in enumerate(inputs.items)]
        self.futures: dict[int, Any] = {}
        self.resubmits: dict[int, int] = {}
        self.queues: dict[int, Any] = {}
        self.stop_event: Any = None
        self.track_offset = 0            # track ids drawn by the inputs sorted so far
        self.photo_stems: set[str] = set()
        self.frames_done: dict[int, int] = {}   # input -> frames looked at, by any attempt
        self.frames_lock = threading.Lock()
        self.frames_shown = 0
        self.info: SourceInfo | None = None     # what the progress bar describes
        self.seconds = 0.0
        self.last_health = 0.0
        self.no_workers_since: float | None = None

    # --- start and end --------------------------------------------------------------------
    def start(self) -> None:
        from distributed import Event, Queue

        self.check_inputs_on_workers()
        first = self.jobs[0] if self.jobs else None
        if first is None:
            return
        self.stop_event = Event(first.stop_event, client=self.client)
        self.client.subscribe_topic(first.progress_topic, self.on_progress)
        for job in self.jobs:
            self.queues[job.number] = Queue(job.queue, client=self.client)
            self.submit(job)

    def check_inputs_on_workers(self) -> None:
        """Before any work: each worker there now can open every input (else one line)."""
        try:
            self.client.wait_for_workers(1, timeout=NO_WORKERS_GRACE_S)
        except TimeoutError:
            raise ClusterError(f"no worker joined the Dask scheduler at "
                               f"'{self.work.connection.address}' in {NO_WORKERS_GRACE_S:g} s; "
                               f"start some with 'dask worker ADDRESS'") from None
        answers = self.client.run(unreadable_input, self.jobs)
        for problem in answers.values():
            if problem:
                raise ClusterError(problem)

    def submit(self, job: InputJob) -> None:
        again = self.resubmits.get(job.number, 0)
        self.futures[job.number] = self.client.submit(
            run_job, job, key=f"{job.queue}-job-{again}", pure=False, priority=-job.number)

    def finish(self) -> None:
        """Stop whatever still runs for this run: the workers see the stop event at once."""
        if not self.jobs:
            return
        try:
            if self.stop_event is not None:
                self.stop_event.set()
            running = [f for f in self.futures.values() if f.status in ("pending", "lost")]
            if running:
                self.client.cancel(running)
            for queue in self.queues.values():
                queue.close()
            self.client.unsubscribe_topic(self.jobs[0].progress_topic)
        except Exception:  # the scheduler may be gone: nothing left to stop
            log.debug("stopping the cluster's jobs failed", exc_info=True)

    # --- the inputs, in order -------------------------------------------------------------
    def faces(self) -> Generator[FrameFaces, None, None]:
        """Every input's faces in order; the jobs are stopped when this ends or is closed
        (the frame loop stops the run by no longer asking)."""
        try:
            self.start()
            for job in self.jobs:
                if job.item.info is not None:
                    self.info, self.seconds = job.item.info, 0.0
                end = yield from self.input_faces(job)
                self.end_input(job, end)
            yield from self.progress_item([])
        finally:
            self.finish()

    def input_faces(self, job: InputJob) -> Generator[FrameFaces, None, InputEnd]:
        """An input's faces as they come; returns its end."""
        attempts = _Attempts(job)
        held: list[Face] = []  # a photo's faces wait for its end: the same picture twice
        queue = self.queues[job.number]
        while attempts.end is None:
            items = self.scheduler(queue.get, batch=True)
            if not items:
                self.wait_a_little(job, attempts)
                yield from self.progress_item([])  # the loop may stop the run here
                continue
            for item in items:
                attempt, _ = attempt_and_batch(item.key)
                batch = self.fetch(item) if attempts.wanted(attempt) else None
                item.release()
                if batch is None:
                    attempts.lost(attempt)
                    continue
                faces = attempts.take(batch)
                if job.item.kind == PHOTO:
                    held += faces
                else:
                    yield from self.progress_item(self.renumbered(faces))
        end = attempts.end
        if job.item.kind == PHOTO and end.info is not None:
            if end.info.stem in self.photo_stems:  # as Inputs.sources skips it in a local run
                log.info("skipping %s: the same picture was read before", job.item.text)
                return dataclasses.replace(end, track_ids=0)
            self.photo_stems.add(end.info.stem)
            self.info = end.info
            yield from self.progress_item(self.renumbered(held))
        return end

    def renumbered(self, faces: list[Face]) -> list[Face]:
        """Faces with the track ids a local run gives them (this input's ids come after
        those the inputs before it drew)."""
        for face in faces:
            if face.track_id is not None:
                face.track_id += self.track_offset
        if faces:
            self.seconds = faces[-1].time_s or 0.0
        return faces

    def end_input(self, job: InputJob, end: InputEnd) -> None:
        self.track_offset += end.track_ids
        if end.info is None:
            log.warning("skipping %s: a worker could not read it", job.item.text)
            self.inputs.unreadable.append(job.item.text)
        self.work.stats.add(end.stats)
        with self.frames_lock:
            self.frames_done[job.number] = end.frames
        future = self.futures.pop(job.number)
        future.release()
        self.queues.pop(job.number).close()

    # --- batches --------------------------------------------------------------------------
    def fetch(self, item: Any) -> FaceBatch | None:
        """A batch's faces from the worker that holds them; None if they died with it."""
        waited = time.monotonic()
        while item.status not in ("finished", "lost", "cancelled", "error"):
            if time.monotonic() - waited > FETCH_PATIENCE_S:
                return None
            time.sleep(POLL_S)
        if item.status != "finished":
            return None
        try:
            return item.result(timeout=FETCH_PATIENCE_S)
        except Exception:  # lost with its worker while being fetched
            log.debug("a batch was lost", exc_info=True)
            return None

    def wait_a_little(self, job: InputJob, attempts: _Attempts) -> None:
        """Nothing came: look at the workers' health, wait."""
        if time.monotonic() - self.last_health >= HEALTH_EVERY_S:
            self.last_health = time.monotonic()
            self.check_health(job, attempts)
        time.sleep(POLL_S)

    def check_health(self, current: InputJob, attempts: _Attempts) -> None:
        """Raise ClusterError when a job failed or every worker is gone; run a job again
        whose faces stopped short of its end."""
        for number, future in self.futures.items():
            if future.status == "error":
                raise ClusterError(self.job_failure(self.jobs[number], future))
        if self.scheduler(self.client.nthreads):
            self.no_workers_since = None
        elif self.no_workers_since is None:
            self.no_workers_since = time.monotonic()
        elif time.monotonic() - self.no_workers_since > NO_WORKERS_GRACE_S:
            raise ClusterError(
                f"every worker of the Dask cluster at '{self.work.connection.address}' is gone "
                f"(none for {NO_WORKERS_GRACE_S:g} s)")
        future = self.futures[current.number]
        if future.status in ("finished", "cancelled") and attempts.end is None:
            # it ended, yet its last batch never came (lost with a worker after the end):
            # the queue had it by then, so a second look first
            if self.scheduler(self.queues[current.number].qsize):
                return
            again = self.resubmits.get(current.number, 0) + 1
            if again > RESUBMITS:
                raise ClusterError(f"the faces of '{current.item.text}' were lost "
                                   f"{again} times with their workers")
            self.resubmits[current.number] = again
            attempts.lost(attempts.attempt or "")
            self.submit(current)

    def job_failure(self, job: InputJob, future: Any) -> str:
        from distributed.scheduler import KilledWorker

        error = future.exception()
        if isinstance(error, InputNotReadable):
            return str(error)
        if isinstance(error, KilledWorker):
            return (f"the workers reading '{job.item.text}' died again and again (out of "
                    f"memory?); it was given up")
        return f"a worker failed on '{job.item.text}': {type(error).__name__}: {error}"

    def scheduler(self, call, *args, **kwargs):
        """A call to the scheduler; losing it is a ClusterError."""
        try:
            return call(*args, **kwargs)
        except (OSError, TimeoutError) as error:
            raise ClusterError(f"lost the Dask scheduler at '{self.work.connection.address}' "
                               f"({error or type(error).__name__})") from None

    # --- progress -------------------------------------------------------------------------
    def on_progress(self, event: tuple[float, dict]) -> None:
        """A worker's frames done so far on an input (called in the client's thread)."""
        _, message = event
        with self.frames_lock:
            number = message["input"]
            self.frames_done[number] = max(self.frames_done.get(number, 0), message["frames"])

    def progress_item(self, faces: list[Face]) -> Iterator[FrameFaces]:
        """The faces for the frame loop, with the frames the workers did since the last item
        (none before the first input is known: a photo's is known at its end)."""
        with self.frames_lock:
            done = sum(self.frames_done.values())
        if self.info is None:
            if faces:  # never dropped: a video's info is planned, a photo's comes with its end
                raise ClusterError(f"faces of '{faces[0].source}' came before their input "
                                   f"was known; the faces sorted so far were saved")
            return
        frames, self.frames_shown = done - self.frames_shown, done
        yield FrameFaces(self.info, 0, self.seconds, None, [], faces, None, frames=frames)
