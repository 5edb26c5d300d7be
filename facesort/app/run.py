"""A run's frame loop: frames from the pipeline (or batches of faces from a cluster's workers,
facesort.cluster.driver), their new faces sorted and written to the result, every face shown
with its name; then the end of the run (merges, the final save)."""
from __future__ import annotations

import logging
import time
from pathlib import Path
from dataclasses import dataclass
from typing import Iterator, Protocol

from facesort.app.progress import Progress
from facesort.app.session import ResultSession
from facesort.app.view import FrameOutput, StopRequest
from facesort.inputs.stream import Inputs
from facesort.pipeline.frames import FrameFaces, PipelineStats
from facesort.records.face import Face, frame_stem
from facesort.records.source import PHOTO, format_time
from facesort.report.terminal import summary_line
from facesort.sorting.classifier import Classifier
from facesort.sorting.sort_step import TrackMemory, sort_new_faces
from person_db import PersonDB

log = logging.getLogger(__name__)

UNSORTED = "unknown"  # the label of a face until its track is sorted (as the post's unknowns)


class Pipeline(Protocol):
    """Frames in, faces out (facesort.pipeline: the default one and --faithful's; and
    facesort.cluster.driver.ClusterWork, whose items carry no frame)."""

    stats: PipelineStats

    def run(self, inputs: Inputs) -> Iterator[FrameFaces]: ...

    def drain(self) -> list[Face]: ...

    def close(self) -> None: ...


@dataclass(frozen=True)
class LoopSummary:
    """How the frame loop went."""

    elapsed_s: float
    failure: Exception | None        # what stopped it early, if anything did
    stats: PipelineStats
    stopped: bool                    # q, Ctrl-C or SIGTERM
    last_frame: FrameFaces | None    # where it was when it ended


def sort_frames(pipeline: Pipeline, inputs: Inputs, classifier: Classifier, db: PersonDB,
                session: ResultSession, output: FrameOutput, progress: Progress,
                stop: StopRequest) -> LoopSummary:
    """Run the frame loop until the inputs end or ``stop`` is requested.

    An error inside the loop ends it early and is returned, not raised: what was collected is
    kept. The pipeline, the progress bar and the window are closed on the way out.
    """
    track_names: dict[int, str] = {}  # the name last given to a face of each track
    tracks = TrackMemory()            # where the faces of each track went
    failure = None
    started = time.time()
    found = None
    try:
        for found in pipeline.run(inputs):
            names = sort_new_faces(found.new_faces, classifier, db, tracks)
            session.add_faces(found.new_faces)  # their images go to disk now; autosave when due
            track_names.update(zip((face.track_id for face in found.new_faces), names))
            if found.frame is not None:
                output.show(found, [track_names.get(b.track_id, UNSORTED) for b in found.boxes],
                            frame_stem(found.info.name, found.index, found.info.stem), stop)
            progress.advance(found.info, found.seconds, summary_line(db), found.frames)
            if stop.requested:  # checked after the frame: a frame handed out is finished
                break
        last = pipeline.drain()  # faces still being encoded when the frames ran out
        sort_new_faces(last, classifier, db, tracks)
        session.add_faces(last)
        if found is not None:
            progress.describe(found.info, found.seconds, summary_line(db))
    except Exception as error:  # keep what was collected, then report
        failure = error
        log.debug("the frame loop failed", exc_info=True)
    finally:
        pipeline.close()
        progress.close()
        output.close()
    return LoopSummary(time.time() - started, failure, pipeline.stats, stop.requested, found)


def finish_run(classifier: Classifier, db: PersonDB, session: ResultSession) -> Exception | None:
    """The end of a run: persons merged where the rules say so, the final save, the summary.

    Returns an error of the merging step (the faces are saved as they were sorted); an error
    of the save is raised.
    """
    failure = None
    try:
        for change in classifier.consolidate(db):
            print(change)
    except Exception as error:  # the faces are still saved, as they were sorted
        failure = error
        log.debug("consolidating failed", exc_info=True)
    try:
        session.save()  # a Ctrl-C from here on only asks to stop again
        db.print_persons()
    finally:
        session.close()
    return failure


def unreadable_message(unreadable: list[str], total: int) -> str:
    """One line naming the inputs skipped during the run (their warnings may be hidden by -q)."""
    more = f" and {len(unreadable) - 1} more" if len(unreadable) > 1 else ""
    return (f"could not read '{unreadable[0]}'{more} ({len(unreadable)} of {total} inputs); "
            f"the rest was saved")


def stopped_message(loop: LoopSummary, result_dir: Path) -> str:
    """The last line of a run stopped by q, Ctrl-C or SIGTERM, which otherwise ends as a
    finished run does: where it stopped, so that a rerun can go on with -k, and that the
    faces found are kept."""
    if loop.last_frame is None:
        return f"Stopped before the first frame; the result in '{result_dir}' is as it was."
    info = loop.last_frame.info
    where = info.name
    if info.kind != PHOTO:
        where += " " + format_time(loop.last_frame.seconds, wall_clock=info.is_camera)
    return f"Stopped at {where}; the faces found up to there are saved in '{result_dir}'."
