"""The pipeline's pass planning: a frame's coarse pass sent with the tracks as they are when
it is read, its fine pass (small faces, where they may be) planned once the coarse pass is
back, and both passes' faces gathered with what the passes could see (Coverage)."""
from __future__ import annotations

from dataclasses import replace

import numpy as np

from facesort.detection.passes import (
    RELIABLE,
    PassSettings,
    coarse_job,
    colour_histogram,
    each_face_once,
    fine_job,
    motion_image,
    plan_fine,
    update_background,
)
from facesort.detection.protocol import Found
from facesort.detection.regions import search_cost
from facesort.detection.workers import InlinePool, WorkerPool
from facesort.pipeline.frames import PipelineStats
from facesort.pipeline.settings import PipelineSettings
from facesort.pipeline.state import PendingPass, SourceState
from facesort.records.box import Box, box_size, clip
from facesort.records.face import Unfit
from facesort.records.modes import SmallFaces
from facesort.tracking.follower import Picture
from facesort.tracking.tracker import Coverage, Detection, Passes, similarity


class PassPlanner:
    """Sends a frame's detection passes to the workers and gathers their faces, for the
    input being read (``source``, set by the pipeline for each input; ``passes`` its pass
    settings)."""

    def __init__(self, pool: WorkerPool | InlinePool, settings: PipelineSettings,
                 stats: PipelineStats, passes: PassSettings, min_encode_size: float) -> None:
        self._pool = pool
        self.settings = settings
        self.stats = stats
        self.passes = passes
        self.min_encode_size = min_encode_size   # smaller faces: followed only
        self.source: SourceState

    def start(self, index: int, seconds: float, frame: np.ndarray, picture: Picture | None,
              passes: Passes) -> None:
        """Send the coarse pass of a frame; the fine pass is planned when that is back.

        The tracks are taken as they are now, when the frame is read, so that what the
        passes know does not depend on when their results come back.
        """
        mode = self.settings.small_faces
        fine = passes.fine and mode != SmallFaces.OFF
        pending = PendingPass(index, seconds, frame, picture, coarse=passes.coarse, fine=fine)
        source = self.source
        if source.last_look is None or index - source.last_look >= source.look_every:
            pending.look, source.looks, source.last_look = source.looks, source.looks + 1, index
        if fine:
            pending.motion = motion_image(frame)
        self.snapshot(pending)
        if passes.coarse:
            most = self.settings.between_looks_scale
            if pending.look is None and self.passes.coarse_scale > most:
                pending.passes = replace(self.passes, coarse_scale=most)
            pending.coarse_ticket = self._pool.submit(
                coarse_job(frame, pending.passes or self.passes), urgent=True)
        self.source.pending.append(pending)

    def snapshot(self, pending: PendingPass) -> None:
        """The tracks as the passes of this frame should know them.

        Followed tracks (a follower on every frame) are where their faces are now: motion
        around them is theirs. Tracks only linked between looked-at frames are where their
        faces were (``before``): their leaving is no news for small faces. A track
        whose box no longer shows its face (a cut, or the person left) is gone: it ends, and
        where it was small is searched again.
        """
        pending.known, pending.gone = [], []
        following = pending.picture is not None
        # without followers: where the big faces of the frame before were, and the tracks of
        # faces of ~60 px and more (small ones may have moved anywhere near: worth a look)
        pending.followed = [] if following else [
            t.box for t in self.source.book.tracks
            if box_size(t.box) >= RELIABLE * self.passes.min_box]
        min_similarity = self.source.book.rules.min_similarity
        for track in self.source.book.tracks:
            here = colour_histogram(pending.frame, track.box)
            if similarity(here, track.appearance) >= min_similarity:
                if following:
                    pending.known.append(track.box)
            else:
                pending.gone.append(track)
                if box_size(track.box) < self.passes.coarse_min:
                    self.source.ended.append(track.box)
        pending.small = [t.box for t in self.source.book.tracks
                           if box_size(t.box) < self.passes.coarse_min
                           and t not in pending.gone]
        pending.ended, self.source.ended = self.source.ended, []

    def coarse_found(self, pending: PendingPass) -> list[Found]:
        if pending.coarse_found is None:
            pending.coarse_found = []
            if pending.coarse_ticket is not None:
                pending.coarse_found, took = self._pool.result(pending.coarse_ticket)
                self.stats.coarse_passes += 1
                self.stats.coarse_seconds += took
        return pending.coarse_found

    def plan(self, pending: PendingPass) -> None:
        """Plan and send the fine pass of a frame whose coarse pass is back (waits if not)."""
        if pending.planned:
            return
        pending.planned = True
        coarse = [found.box for found in self.coarse_found(pending)]
        if not pending.fine:
            return
        if pending.picture is None:   # linked, not followed: the big faces of the frame before
            pending.before = self.source.previous_coarse
        self.source.previous_coarse = coarse
        plan = plan_fine(pending.frame, self.source.reference, pending.motion,
                         pending.known + coarse, pending.before, pending.followed,
                         pending.small,
                         pending.ended,
                         self.passes, self.source.budget, pending.seconds,
                         everywhere=self.settings.small_faces == SmallFaces.FULL,
                         background=self.source.background)
        self.source.background = update_background(self.source.background, pending.motion)
        if plan.motion_covered:  # else the motion stays news until a pass can afford it
            self.source.reference = pending.motion
        pending.regions, pending.full_frame = plan.regions, plan.full_frame
        height, width = pending.frame.shape[:2]
        self.stats.fine_cost += search_cost(plan.regions) / (height * width * 4)
        if plan.regions:
            pending.fine_ticket = self._pool.submit(
                fine_job(pending.frame, plan.regions), urgent=True)

    def plan_ready(self) -> None:
        """Plan the fine passes whose coarse pass is back, in frame order (no waiting)."""
        for pending in self.source.pending:
            if pending.planned:
                continue
            if pending.coarse_ticket is not None and not self._pool.done(
                    pending.coarse_ticket):
                return
            self.plan(pending)

    def detections_of(self, pending: PendingPass) -> tuple[list[Detection], Coverage]:
        """Both passes' faces (waiting for them) and what the passes could see."""
        self.plan(pending)
        settings = pending.passes or self.passes
        found = []
        if pending.fine_ticket is not None:
            found, took = self._pool.result(pending.fine_ticket)
            self.stats.fine_passes += 1
            self.stats.full_frame_passes += pending.full_frame
            self.stats.fine_seconds += took
        bounds = pending.frame.shape[:2]
        unfit: dict[Box, str | None] = {}   # a box found fit by either pass is fit
        for face in found + self.coarse_found(pending):
            box = clip(face.box, bounds)
            if box is not None:
                reason = Unfit.SMALL if box_size(box) < self.min_encode_size else face.unfit
                earlier = unfit.get(box, reason)
                unfit[box] = None if earlier is None or reason is None else earlier
        detections = [Detection(box, colour_histogram(pending.frame, box), unfit[box])
                      for box in each_face_once({box: not why for box, why in unfit.items()})]
        coverage = Coverage(fine_min=settings.fine_min)
        if pending.coarse:
            coverage = Coverage(min_size=settings.coarse_min, fine_min=settings.fine_min)
        if pending.regions:
            # a region searched at scale k finds faces down to HOG's minimum / k
            coverage = coverage | Coverage(
                regions=tuple(r.box for r in pending.regions),
                fine_min=max(settings.fine_min, RELIABLE * self.passes.min_box
                             / max(r.scale for r in pending.regions)))
        return detections, coverage
