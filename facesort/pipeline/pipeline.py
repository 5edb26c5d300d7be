"""From frames to face boxes and encoded faces: detection at intervals, tracking in between.

The frame loop asks ``pipeline.run(inputs)`` for one ``FrameFaces`` per
looked-at frame: every visible face box with its track id (to draw the name of its track) and
the new ``Face`` records encoded since the last frame (to classify and save).

- ``FacePipeline`` (the default). With ``-S 0`` every frame is looked at: dlib's correlation
  tracker follows each face from frame to frame, and a detection pass runs every
  ``coarse_every_s`` (big faces, on a half-size frame) and every ``fine_every_s`` (small faces,
  at full resolution upsampled, where they may be). With ``-S`` above one frame, each looked-at
  frame gets a detection pass and faces are linked from one to the next by box overlap. Either
  way a face is encoded when its track starts and again every ``reencode_every_s`` or when it
  looks different, not on every frame; each face says since when its track was followed up to
  it (``Face.followed_from_s``), so that the frames in between count as seen. Detection and
  encoding run in worker processes (detection.workers, each with a detector from the factory
  it is given), decoding in a thread, and the boxes-only rules live in tracking.tracker.
- ``FaithfulPipeline`` (faithful.py, ``--faithful``): the original, every looked-at frame
  detected at full resolution upsampled once, every face encoded; each a track of its own.

FacePipeline drives the frames and applies the passes' results to the tracks; its other two
jobs have their own modules: planning.PassPlanner sends the passes, encoding.EncodeQueue the
faces to encode (state.py: what it keeps per input; settings.py: PipelineSettings).

Results on a file do not depend on timing: a detection pass of frame F is applied at a fixed
later frame. A live source (webcam) shows every frame while detection runs behind it.
"""
from __future__ import annotations

import itertools
from typing import Iterator

import numpy as np

from facesort.detection.passes import PassSettings
from facesort.detection.protocol import DetectorFactory
from facesort.detection.regions import FineBudget
from facesort.detection.workers import worker_pool
from facesort.imaging import crop_face
from facesort.inputs.stream import Inputs
from facesort.inputs.video import read_ahead
from facesort.pipeline.encoding import EncodeQueue
from facesort.pipeline.frames import FrameFaces, PipelineStats, TrackedBox
from facesort.pipeline.planning import PassPlanner
from facesort.pipeline.settings import PipelineSettings
from facesort.pipeline.state import LastLook, PendingPass, SourceState, UnfitLook, frames_in
from facesort.records.box import Box, box_size, centre, iou, shift
from facesort.records.face import Face
from facesort.records.source import CAMERA_FALLBACK_FPS, PHOTO, VIDEO, SourceInfo
from facesort.tracking.shots import is_cut, scene_signature
from facesort.tracking.follower import Picture, make_follower
from facesort.tracking.tracker import (
    DetectionSchedule,
    Track,
    TrackBook,
    TrackingRules,
)


class FacePipeline:
    """Detection at intervals, tracking in between, one encoding per track (and re-checks)."""

    def __init__(self, make_detector: DetectorFactory,
                 settings: PipelineSettings = PipelineSettings(), live_files: bool = False) -> None:
        self.settings = settings
        self.live_files = live_files   # play video files as if they were webcams
        detector = make_detector()  # (its models load in the workers, not here)
        passes = PassSettings(coarse_scale=settings.coarse_scale,
                                   resize_ratio=settings.resize_ratio,
                                   min_box=detector.smallest_face(upsample=0),
                                   min_box_upsampled=detector.smallest_face(upsample=1),
                                   colour=settings.colour, coarse_side=settings.coarse_side,
                                   video_scale=settings.video_scale)
        self.min_encode_size = detector.min_encode_size()  # smaller faces: followed only
        self.stats = PipelineStats()
        self.track_ids_drawn = 0
        self._track_ids = self._draw_track_ids()  # unique over all the inputs of a run
        self._pool = worker_pool(settings.workers, make_detector)  # 0: inline
        self.planner = PassPlanner(self._pool, settings, self.stats, passes,
                                   self.min_encode_size)
        self.queue = EncodeQueue(self._pool, settings, self.stats)
        self._running: Iterator[FrameFaces] | None = None
        self._start_source(None)

    def _draw_track_ids(self) -> Iterator[int]:
        """Track ids 1, 2, ..., all drawn while a detection pass is applied, in frame order:
        each input's ids are one block, the same on every run (facesort.cluster relies on it,
        and on ``track_ids_drawn``, to number them on the cluster as here)."""
        for track_id in itertools.count(1):
            self.track_ids_drawn = track_id
            yield track_id

    def _start_source(self, info: SourceInfo | None, step: int = 1) -> None:
        """Tracks, schedules and motion belong to one input; the workers to the whole run.

        ``step``: frames between the frames looked at (1: every frame, followed).
        """
        fps = info.fps if info is not None and info.fps > 0 else CAMERA_FALLBACK_FPS
        if info is not None:
            self.planner.passes = self.passes.for_frame(info.width, info.height,
                                                        info.kind == PHOTO)
        settings = self.settings
        coarse_every = max(1, frames_in(settings.coarse_every_s, fps))
        if step > 1:
            look_every = step
        else:  # on coarse passes, as near to encodings_per_s as they fall
            look_every = coarse_every * max(1, round(fps / settings.encodings_per_s / coarse_every))
        book = TrackBook(TrackingRules(
            min_encode_size=self.min_encode_size,
            reencode_looks=max(1, round(frames_in(settings.reencode_every_s, fps) / look_every))
            if settings.reencode_every_s > 0 else 0,
            second_look=max(1, round(frames_in(settings.second_look_s, fps) / look_every)),
            max_unseen=frames_in(3.0, fps),
            switch_distance=settings.switch_distance), ids=self._track_ids)
        self.source = SourceState(
            info, fps, book, FineBudget(settings.fine_budget, settings.full_every_s),
            coarse_every=coarse_every, look_every=look_every)
        self.planner.source = self.source

    @property
    def passes(self) -> PassSettings:
        """The pass settings of the input being read."""
        return self.planner.passes

    def _frames(self, seconds: float) -> int:
        return frames_in(seconds, self.source.fps)

    # --- the frame loop's side ----------------------------------------------------------
    def run(self, inputs: Inputs) -> Iterator[FrameFaces]:
        """FrameFaces for the looked-at frames of every input (every frame of a webcam)."""
        self._running = self._run_inputs(inputs)
        return self._running

    def _run_inputs(self, inputs: Inputs) -> Iterator[FrameFaces]:
        live = lambda info: info.is_camera or (self.live_files and info.kind == VIDEO)  # noqa
        sources = inputs.sources(live=live)
        try:
            for info, frames in sources:
                self._finish_source()
                step = inputs.sampling.step(info.fps if info.fps > 0 else CAMERA_FALLBACK_FPS)
                self._start_source(info, step)
                reader = frames if live(info) else read_ahead(frames)
                try:
                    if live(info):
                        yield from self._run_live(reader, tracking=step == 1,
                                                  every_s=inputs.sampling.every_s)
                    elif step == 1 and info.kind == VIDEO:
                        yield from self._run_tracking(reader)
                    else:
                        yield from self._run_sampled(reader)
                finally:  # stop the reading threads before the input is closed
                    for iterator in (reader, frames):
                        getattr(iterator, "close", lambda: None)()
        finally:
            sources.close()

    def _finish_source(self) -> None:
        """Apply the passes still pending on the input just read (their encodings go on);
        its tracks end there."""
        while self.source.pending:
            pending = self.source.pending.popleft()
            self._apply(pending, pending.index, None)
        self._end_tracks(self.source.book.end_all())

    def drain(self) -> list[Face]:
        """Finish the passes and encodings still running; the faces not handed out yet.

        Call after the loop over run() ends (or stops early)."""
        self._finish_source()
        return self.queue.drain()

    def close(self) -> None:
        """Stop reading frames and stop the workers."""
        if self._running is not None:
            self._running.close()
        self._pool.close()

    # --- drivers ------------------------------------------------------------------------
    def _run_tracking(self, frames) -> Iterator[FrameFaces]:
        """-S 0 on a file: follow every frame; the pass of frame F is applied at F + interval,
        so that it runs in a worker while the followers go on."""
        fine_every = self.source.coarse_every * max(
            1, round(self._frames(self.settings.fine_every_s) / self.source.coarse_every))
        self.source.schedule = DetectionSchedule(self.source.coarse_every, fine_every)
        for index, seconds, frame in frames:
            if self._cut(frame):
                self._end_shot()
            picture = Picture(frame)
            self._follow(picture, index)
            pending = self.source.pending
            while pending and pending[0].index <= index - self.source.coarse_every:
                self._apply(self.source.pending.popleft(), index, picture)
            self.planner.plan_ready()
            passes = self.source.schedule.passes(index)
            if passes.any:
                self.planner.start(index, seconds, frame, picture, passes)
            self._remember_positions(index)
            yield self._frame_faces(index, seconds, frame, self.source.book.tracks)

    def _run_sampled(self, frames) -> Iterator[FrameFaces]:
        """-S above one frame: every looked-at frame gets a pass; tracks link by overlap.

        A frame's fine pass is planned as soon as its coarse pass is back, with the tracks
        as the passes applied so far left them, so that ``lookahead`` frames are searched
        at once while the loop goes on; the results are applied in frame order.
        """
        self.source.schedule = DetectionSchedule(1, 1)  # every looked-at frame
        for index, seconds, frame in frames:
            cut = self._cut(frame)
            self.planner.start(index, seconds, frame, None, self.source.schedule.passes(index))
            self.source.pending[-1].cut_before = cut
            self.planner.plan_ready()
            while len(self.source.pending) > self.settings.lookahead:
                yield self._apply_and_show(self.source.pending.popleft())
        while self.source.pending:
            yield self._apply_and_show(self.source.pending.popleft())

    def _run_live(self, frames, tracking: bool, every_s: float) -> Iterator[FrameFaces]:
        """A camera: every frame is shown at once while one pass at a time runs behind it.

        With -S 0 the faces are followed on every frame; otherwise a pass runs every -S
        seconds and its boxes stay up until the next one, or until a cut.
        """
        if tracking:
            fine_every = self._frames(self.settings.fine_every_s)
            self.source.schedule = DetectionSchedule(self.source.coarse_every, fine_every)
        else:
            every = max(1, self._frames(every_s))
            self.source.schedule = DetectionSchedule(every, every)
        shown: list[Track] = []
        for index, seconds, frame in frames:
            if self._cut(frame):  # the old shot's passes are applied and its tracks end
                self._end_shot()
                shown = []
            picture = Picture(frame) if tracking else None
            if tracking:
                self._follow(picture, index)
            if self.source.pending:
                head = self.source.pending[0]
                if not head.planned and (head.coarse_ticket is None
                                         or self._pool.done(head.coarse_ticket)):
                    self.planner.plan(head)
                if head.planned and (head.fine_ticket is None
                                     or self._pool.done(head.fine_ticket)):
                    self._apply(self.source.pending.popleft(), index, picture)
                    shown = [t for t in self.source.book.tracks if t.last_seen == head.index]
            looked_at = False
            if not self.source.pending:
                passes = self.source.schedule.passes(index)
                if passes.any:
                    self.planner.start(index, seconds, frame, picture, passes)
                    looked_at = True
            self._remember_positions(index)
            visible = self.source.book.tracks if tracking else shown
            yield self._frame_faces(index, seconds, frame, visible, looked_at, live=True)

    # --- shots --------------------------------------------------------------------------
    def _cut(self, frame: np.ndarray) -> bool:
        """Whether a cut lies between the frame looked at before and this one."""
        scene = scene_signature(frame)
        cut = is_cut(self.source.scene, scene)
        self.source.scene = scene
        return cut

    def _end_shot(self) -> None:
        """A cut while following: the passes of the old shot are applied, then its tracks end
        (their followers would go on on whatever lies where their faces were)."""
        self._finish_source()
        self.source.ended = []

    def _apply(self, pending: PendingPass, index: int, picture: Picture | None) -> None:
        """Apply the passes of frame F = detection.index to the tracks, which are now at
        frame ``index`` (its ``picture`` when following).

        Tracks are matched where they were at F. With followers (tracking), a matched track's
        tracker restarts on the detected box moved by what the track moved since F, and a new
        track's tracker starts on F and catches up with the current frame in one step.
        """
        detections, coverage = self.planner.detections_of(pending)
        if pending.cut_before:
            self._end_tracks(self.source.book.end_all())
        update = self.source.book.update(detections, pending.index, coverage, pending.look)
        matched = {id(track) for track, _ in update.matched}
        for track in pending.gone:
            if id(track) not in matched and track in self.source.book.tracks:
                self.source.book.end(track)
                update.ended.append(track)
        self.source.detected_index = pending.index
        self.stats.tracks += len(update.born)
        following = pending.picture is not None
        for track, found in update.matched:
            if not following:
                self.source.book.move(track, found.box, pending.index)
                continue
            then = track.box_at(pending.index)
            if iou(then, found.box) < 0.7 and picture is not None:
                (now_y, now_x), (then_y, then_x) = centre(track.box), centre(then)
                box = shift(found.box, round(now_y - then_y), round(now_x - then_x))
                track.follower = self._follower(picture, box)
                self.source.book.move(track, box, index)
        for track in update.born:
            track.followed_since_s = pending.seconds
            if following:
                track.follower = self._follower(pending.picture, track.box)
                if picture is not None and picture is not pending.picture:
                    self.source.book.move(track, track.follower.update(picture)[0], index)
        self.source.ended += [track.box_at(pending.index) for track in update.ended
                        if box_size(track.box_at(pending.index)) < self.passes.coarse_min
                        and track not in pending.gone]  # (those are searched already)
        self._end_tracks(update.ended)
        for request in update.encode:
            self.source.last_looks.pop(request.track, None)
            self.source.unfit_looks.pop(request.track, None)
        self._encode_faces([(request.track, pending, request.box, number)
                      for number, request in enumerate(update.encode)])
        asked = {id(request.track) for request in update.encode}
        found = [*((t, d.box) for t, d in update.matched),
                 *((t, t.box_at(pending.index)) for t in update.born)]
        unencoded = [(t, box) for t, box in found if id(t) not in asked]
        for number, (track, box) in enumerate(unencoded, start=len(update.encode)):
            if pending.look is None:
                continue
            if (track.encodable and box_size(box) >= self.min_encode_size
                    and (track.encoded_on is None or pending.look > track.encoded_on)):
                self.source.last_looks[track] = LastLook(pending, box, number)
            elif not track.encodable and track.times_encoded == 0:
                self._note_unfit(track, pending, box, number)

    def _note_unfit(self, track: Track, pending: PendingPass, box: Box, number: int) -> None:
        """A look of a track never fit to encode so far: kept when it is its largest."""
        kept = self.source.unfit_looks.get(track)
        if kept is None or box_size(box) > box_size(kept.box):
            self.source.unfit_looks[track] = UnfitLook(
                crop_face(pending.frame, box), box, pending.index, pending.seconds, number,
                track.unfit)

    def _end_tracks(self, tracks: list[Track]) -> None:
        """Tracks that ended: each one found since its last encoding is encoded as last seen
        (its last face: the person was there until then)."""
        last = []
        for track in tracks:
            look = self.source.last_looks.pop(track, None)
            if look is not None:
                self.source.book.encoded(track, look.pending.index, look.box, look.pending.look)
                last.append((track, look.pending, look.box, look.number))
        self._encode_faces(last)
        unfit = [(track, self.source.unfit_looks.pop(track)) for track in tracks
                 if track in self.source.unfit_looks and track.times_encoded == 0]
        self.queue.keep_unfit(unfit, self.source.info, self.source.book)

    def _encode_faces(self, faces: list[tuple[Track, PendingPass, Box, int]]) -> None:
        """Encode faces of the input being read (EncodeQueue.encode)."""
        self.queue.encode(faces, self.source.info, self.source.book)

    def _apply_and_show(self, pending: PendingPass) -> FrameFaces:
        self._apply(pending, pending.index, None)
        visible = [t for t in self.source.book.tracks if t.last_seen == pending.index]
        return self._frame_faces(pending.index, pending.seconds, pending.frame, visible)

    # --- following ----------------------------------------------------------------------
    def _follow(self, picture: Picture, index: int) -> None:
        for track in self.source.book.tracks:
            self.source.book.move(track, track.follower.update(picture)[0], index)

    def _follower(self, picture: Picture, box: Box):
        return make_follower(self.settings.follower, picture, box)

    def _remember_positions(self, index: int) -> None:
        oldest = self.source.pending[0].index if self.source.pending else index
        self.source.book.remember_positions(index, keep_after=oldest)

    # --- encoding -----------------------------------------------------------------------

    def _frame_faces(self, index: int, seconds: float, frame: np.ndarray,
                     visible: list[Track], looked_at: bool = True,
                     live: bool = False) -> FrameFaces:
        """The frame with its faces' boxes, and the faces encoded since the last one. From a
        file, when its faces are drawn (``labels_in_step``), every encoding asked for so far
        comes with it (waiting for them), so that the names drawn on it are those its faces
        were sorted into, whatever the workers' timing; a live frame is shown at once, with
        what is back."""
        faces = self.queue.whole_frames(block=self.settings.labels_in_step and not live)
        return FrameFaces(self.source.info, index, seconds, frame,
                          [TrackedBox(t.box, t.track_id) for t in visible], faces,
                          self.source.detected_index, looked_at)
