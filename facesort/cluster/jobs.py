"""What the driver and the workers of a cluster run exchange: a job per input, the faces it
finds in numbered batches, and how the input ended.

A worker's attempt at a job sends its faces as batches, each stored on that worker under the key
``facesort-<run>-<input>-<attempt>-<batch>`` and announced in the input's queue on the
scheduler; the driver fetches them in order. If the worker dies, Dask runs the job again
elsewhere, under a new attempt: its faces are the same, in the same order (a pipeline's
results do not depend on timing), so the driver skips those it has sorted already.
"""
from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from facesort.detection.protocol import DetectorFactory
from facesort.inputs.stream import InputItem
from facesort.pipeline.frames import PipelineStats
from facesort.records.face import Face
from facesort.records.source import Sampling, SourceInfo


class PipelineMaker(Protocol):
    """Builds a run's pipeline from a detector factory and a number of worker processes
    (pipeline.build.make_pipeline with the run's RunPlan); sent to the workers, so picklable."""

    def __call__(self, make_detector: Callable[..., object], workers: int): ...


class InputNotReadable(Exception):
    """A worker cannot open an input that the driver can: not the same files there."""


@dataclass(frozen=True)
class InputJob:
    """One input of the command line, for a worker to turn into faces."""

    run: str                        # this run's name on the scheduler
    number: int                     # the input's place in the run, from 0
    item: InputItem                 # as the driver planned it; its text names the faces
    sampling: Sampling
    make_pipeline: PipelineMaker
    make_detector: DetectorFactory
    batch_faces: int                # faces per batch (fewer when they come slowly)
    cwd: str                        # the driver's: a relative INPUT is found from there

    @property
    def path(self) -> str:
        """Where the workers open the input: the same absolute path as on the driver."""
        return os.path.join(self.cwd, self.item.text)

    @property
    def queue(self) -> str:
        return f"facesort-{self.run}-{self.number}"

    @property
    def stop_event(self) -> str:
        return f"facesort-{self.run}-stop"

    @property
    def progress_topic(self) -> str:
        return f"facesort-{self.run}-progress"

    def batch_key(self, attempt: str, batch: int) -> str:
        return f"{self.queue}-{attempt}-{batch}"


def attempt_and_batch(key: str) -> tuple[str, int]:
    """The attempt and the batch number a batch's key names (see InputJob.batch_key)."""
    attempt, batch = key.rsplit("-", 2)[-2:]
    return attempt, int(batch)


@dataclass(frozen=True)
class InputEnd:
    """How a job's input ended: sent with its last batch."""

    info: SourceInfo | None         # None when it could not be read
    track_ids: int                  # its faces carry track ids 1..track_ids (none unused by
    frames: int                     # a local run in between); frames looked at
    stats: PipelineStats


@dataclass
class FaceBatch:
    """Faces of one input, in the order the pipeline handed them out (whole frames)."""

    attempt: str
    number: int                     # 0, 1, ... within the attempt
    faces: list[Face]               # each with its crop as PNG bytes
    end: InputEnd | None = None     # on the last batch
