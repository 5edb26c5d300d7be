"""From frames to face boxes and encoded faces: detection at intervals, tracking in between.

The frame loop asks ``pipeline.run(capture, info, sampling)`` for one ``FrameFaces`` per
looked-at frame: every visible face box with its track id (to draw the name of its track) and
the new ``Face`` records encoded since the last frame (to classify and save).

- ``FacePipeline`` (the default). With ``-S 0`` every frame is looked at: dlib's correlation
  tracker follows each face from frame to frame, and a detection pass runs every
  ``coarse_every_s`` (big faces, on a half-size frame) and every ``fine_every_s`` (small faces,
  at full resolution upsampled, where they may be). With ``-S`` above one frame, each looked-at
  frame gets a detection pass and faces are linked from one to the next by box overlap. Either
  way a face is encoded when its track starts and again every ``reencode_every_s`` or when it
  looks different, not on every frame. Detection and encoding run in worker processes
  (face_workers), decoding in a thread, and the boxes-only rules live in tracker.py.
- ``FaithfulPipeline`` (``--faithful``): the original, every looked-at frame detected at full
  resolution upsampled once, every face encoded; each face is a track of its own.

Results on a file do not depend on timing: a detection pass of frame F is applied at a fixed
later frame. A live source (webcam) shows every frame while detection runs behind it.
"""
from __future__ import annotations

import itertools
from collections import deque
from dataclasses import dataclass, field
from typing import Iterator

import numpy as np

from facesort.sorting.classifier import DEFAULT_THRESHOLD
from facesort.detection.passes import (HOG_MIN_BOX, RELIABLE, EncodeJob, PassSettings, clip, coarse_job,
                            deduplicate, fine_job, motion_image, plan_fine, appearance,
                            update_background)
from face_detector import FaceDetector, crop_face, face_file_name
from facesort.tracking.follower import FOLLOWERS, Picture, make_follower
from facesort.detection.workers import WorkerPool
from person_db import Box, Face
from facesort.tracking.tracker import (Coverage, Detection, DetectionSchedule, FineBudget, Passes, Region, Track,
                     TrackBook, TrackingRules, box_size, centre, iou, search_cost, shift,
                     similarity)
from facesort.inputs.stream import Inputs
from facesort.inputs.video import CAMERA_FALLBACK_FPS, VIDEO, SourceInfo, read_ahead

SMALL_FACE_MODES = ("off", "motion", "full")


@dataclass(frozen=True)
class TrackedBox:
    """A face box on one frame and the track it belongs to."""

    box: Box
    track_id: int


@dataclass
class FrameFaces:
    """What the frame loop needs of one looked-at frame."""

    info: SourceInfo                 # the input it is a frame of
    index: int
    seconds: float
    frame: np.ndarray = field(repr=False)
    boxes: list[TrackedBox]
    new_faces: list[Face]            # encoded since the last FrameFaces: classify and save these
    detected_index: int | None       # the newest frame whose detection pass is reflected here
    looked_at: bool = True           # False: a live frame only shown, not analysed


@dataclass(frozen=True)
class PipelineSettings:
    """How hard to look and how often; the defaults meet issue 8's speed and recall goals."""

    resize_ratio: float = 1.0          # -r
    coarse_scale: float = 0.5          # the big-face pass runs on a frame this size
    small_faces: str = "motion"        # off | motion (where they may be) | full (whole frame)
    coarse_every_s: float = 0.2        # -S 0: between big-face passes
    fine_every_s: float = 0.5          # -S 0: between small-face passes
    fine_budget: float = 0.5           # whole-frame small-face searches per second of video
    full_every_s: float = 30.0         # a whole-frame small-face search at least this often
    second_look_s: float = 0.0         # a track's second encoding after this long (0: as
    reencode_every_s: float = 3.0      # the later ones), which come this often
    mirror_average: bool = True        # each encoding averages the face and its mirror image
    switch_distance: float = DEFAULT_THRESHOLD  # re-encoding this far away: someone else
    follower: str = "template"        # template | correlation (follower.py)
    workers: int = 2
    lookahead: int = 3                 # -S > 0: looked-at frames detected ahead of the loop
    max_encodes_waiting: int = 8


@dataclass
class PipelineStats:
    """What the pipeline did, for the benchmark and the debug log."""

    coarse_passes: int = 0
    fine_passes: int = 0
    full_frame_passes: int = 0
    fine_cost: float = 0.0           # in whole-frame searches at the original's scale
    coarse_seconds: float = 0.0      # worker time
    fine_seconds: float = 0.0
    encoded: int = 0


@dataclass
class _Pass:
    """A detection pass in flight on frame ``index``, and what it needs to be planned."""

    index: int
    seconds: float
    frame: np.ndarray = field(repr=False)
    picture: Picture | None = field(repr=False)   # to start followers on (when following)
    coarse: bool
    fine: bool
    motion: np.ndarray | None = field(default=None, repr=False)     # motion image of frame
    known: list[Box] = field(default_factory=list)     # faces known at this frame
    before: list[Box] = field(default_factory=list)    # big faces of the frame before
    followed: list[Box] = field(default_factory=list)  # faces of ~60 px+ followed lately
    small: list[Box] = field(default_factory=list)
    ended: list[Box] = field(default_factory=list)
    gone: list[Track] = field(default_factory=list)  # tracks whose face is no longer there
    coarse_ticket: int | None = None
    coarse_boxes: list[Box] | None = None
    fine_ticket: int | None = None
    planned: bool = False
    regions: list[Region] = field(default_factory=list)
    full_frame: bool = False


@dataclass
class _Encoding:
    ticket: int
    track: Track
    face: Face


class FacePipeline:
    """Detection at intervals, tracking in between, one encoding per track (and re-checks)."""

    def __init__(self, settings: PipelineSettings = PipelineSettings(),
                 live_files: bool = False) -> None:
        if settings.small_faces not in SMALL_FACE_MODES:
            raise ValueError(f"small_faces must be one of {SMALL_FACE_MODES}")
        if settings.follower not in FOLLOWERS:
            raise ValueError(f"follower must be one of {FOLLOWERS}")
        self.settings = settings
        self.live_files = live_files   # play video files as if they were webcams
        self.passes = PassSettings(coarse_scale=settings.coarse_scale,
                                   resize_ratio=settings.resize_ratio)
        self.stats = PipelineStats()
        self._track_ids = itertools.count(1)   # unique over all the inputs of a run
        self._pool = WorkerPool(settings.workers)
        self._encodings: deque[_Encoding] = deque()
        self._ready_faces: list[Face] = []     # encoded while waiting, not yet handed out
        self._running: Iterator[FrameFaces] | None = None
        self._start_source(None)

    def _start_source(self, info: SourceInfo | None) -> None:
        """Tracks, schedules and motion belong to one input; the workers to the whole run."""
        self.info = info
        self.fps = info.fps if info is not None and info.fps > 0 else CAMERA_FALLBACK_FPS
        self.book = TrackBook(TrackingRules(
            second_look=self._frames(self.settings.second_look_s
                                     or self.settings.reencode_every_s),
            reencode_every=self._frames(self.settings.reencode_every_s),
            max_unseen=self._frames(3.0),
            switch_distance=self.settings.switch_distance), ids=self._track_ids)
        self._budget = FineBudget(self.settings.fine_budget, self.settings.full_every_s)
        self._coarse_every = max(1, self._frames(self.settings.coarse_every_s))
        self._schedule = DetectionSchedule()
        self._detections: deque[_Pass] = deque()
        self._reference: np.ndarray | None = None   # motion image: last fine pass, all searched
        self._background: np.ndarray | None = None  # motion image of the scene without news
        self._ended: list[Box] = []                 # where small faces were lost since then
        self._previous_coarse: list[Box] = []       # big faces of the last frame planned
        self._detected_index: int | None = None

    def _frames(self, seconds: float) -> int:
        """Seconds of video as a number of frames (0 stays 0: 'never')."""
        return max(1, round(seconds * self.fps)) if seconds > 0 else 0

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
                self._start_source(info)
                step = inputs.sampling.step(self.fps)
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
        """Apply the passes still pending on the input just read (their encodings go on)."""
        while self._detections:
            detection = self._detections.popleft()
            self._apply(detection, detection.index, None)

    def drain(self) -> list[Face]:
        """Finish the passes and encodings still running; the faces not handed out yet.

        Call after the loop over run() ends (or stops early)."""
        self._finish_source()
        faces = self._ready_faces + self._collect(block=True)
        self._ready_faces = []
        return faces

    def close(self) -> None:
        """Stop reading frames and stop the workers."""
        if self._running is not None:
            self._running.close()
        self._pool.close()

    # --- drivers ------------------------------------------------------------------------
    def _run_tracking(self, frames) -> Iterator[FrameFaces]:
        """-S 0 on a file: follow every frame; the pass of frame F is applied at F + interval,
        so that it runs in a worker while the followers go on."""
        fine_every = self._coarse_every * max(
            1, round(self._frames(self.settings.fine_every_s) / self._coarse_every))
        self._schedule = DetectionSchedule(self._coarse_every, fine_every)
        for index, seconds, frame in frames:
            picture = Picture(frame)
            self._follow(picture, index)
            while self._detections and self._detections[0].index <= index - self._coarse_every:
                self._apply(self._detections.popleft(), index, picture)
            self._plan_ready()
            passes = self._schedule.passes(index)
            if passes.any:
                self._start(index, seconds, frame, picture, passes)
            self._remember_positions(index)
            yield self._frame_faces(index, seconds, frame, self.book.tracks)

    def _run_sampled(self, frames) -> Iterator[FrameFaces]:
        """-S above one frame: every looked-at frame gets a pass; tracks link by overlap.

        A frame's fine pass is planned as soon as its coarse pass is back, with the tracks
        as the passes applied so far left them, so that ``lookahead`` frames are searched
        at once while the loop goes on; the results are applied in frame order.
        """
        self._schedule = DetectionSchedule(1, 1)  # every looked-at frame
        for index, seconds, frame in frames:
            self._start(index, seconds, frame, None, self._schedule.passes(index))
            self._plan_ready()
            while len(self._detections) > self.settings.lookahead:
                yield self._apply_and_show(self._detections.popleft())
        while self._detections:
            yield self._apply_and_show(self._detections.popleft())

    def _run_live(self, frames, tracking: bool, every_s: float) -> Iterator[FrameFaces]:
        """A camera: every frame is shown at once while one pass at a time runs behind it.

        With -S 0 the faces are followed on every frame; otherwise a pass runs every -S
        seconds and its boxes stay up until the next one.
        """
        if tracking:
            fine_every = self._frames(self.settings.fine_every_s)
            self._schedule = DetectionSchedule(self._coarse_every, fine_every)
        else:
            every = max(1, self._frames(every_s))
            self._schedule = DetectionSchedule(every, every)
        shown: list[Track] = []
        for index, seconds, frame in frames:
            picture = Picture(frame) if tracking else None
            if tracking:
                self._follow(picture, index)
            if self._detections:
                head = self._detections[0]
                if not head.planned and (head.coarse_ticket is None
                                         or self._pool.done(head.coarse_ticket)):
                    self._plan(head)
                if head.planned and (head.fine_ticket is None
                                     or self._pool.done(head.fine_ticket)):
                    self._apply(self._detections.popleft(), index, picture)
                    shown = [t for t in self.book.tracks if t.last_seen == head.index]
            looked_at = False
            if not self._detections:
                passes = self._schedule.passes(index)
                if passes.any:
                    self._start(index, seconds, frame, picture, passes)
                    looked_at = True
            self._remember_positions(index)
            visible = self.book.tracks if tracking else shown
            yield self._frame_faces(index, seconds, frame, visible, looked_at)

    # --- detection ----------------------------------------------------------------------
    def _start(self, index: int, seconds: float, frame: np.ndarray, picture: Picture | None,
               passes: Passes) -> None:
        """Send the coarse pass of a frame; the fine pass is planned when that is back.

        The tracks are taken as they are now, when the frame is read, so that what the
        passes know does not depend on when their results come back.
        """
        mode = self.settings.small_faces
        fine = passes.fine and mode != "off"
        detection = _Pass(index, seconds, frame, picture, coarse=passes.coarse, fine=fine)
        if fine:
            detection.motion = motion_image(frame)
        self._snapshot(detection)
        if passes.coarse:
            detection.coarse_ticket = self._pool.submit(coarse_job(frame, self.passes),
                                                        urgent=True)
        self._detections.append(detection)

    def _snapshot(self, detection: _Pass) -> None:
        """The tracks as the passes of this frame should know them.

        Followed tracks (a follower on every frame) are where their faces are now: motion
        around them is theirs. Tracks only linked between looked-at frames are where their
        faces were (``before``): their leaving is no news for small faces. A track
        whose box no longer shows its face (a cut, or the person left) is gone: it ends, and
        where it was small is searched again.
        """
        detection.known, detection.gone = [], []
        following = detection.picture is not None
        # without followers: where the big faces of the frame before were, and the tracks of
        # faces of ~60 px and more (small ones may have moved anywhere near: worth a look)
        detection.followed = [] if following else [
            t.box for t in self.book.tracks if box_size(t.box) >= RELIABLE * HOG_MIN_BOX]
        min_similarity = self.book.rules.min_similarity
        for track in self.book.tracks:
            here = appearance(detection.frame, track.box)
            if similarity(here, track.appearance) >= min_similarity:
                if following:
                    detection.known.append(track.box)
            else:
                detection.gone.append(track)
                if box_size(track.box) < self.passes.coarse_min:
                    self._ended.append(track.box)
        detection.small = [t.box for t in self.book.tracks
                           if box_size(t.box) < self.passes.coarse_min
                           and t not in detection.gone]
        detection.ended, self._ended = self._ended, []

    def _coarse_boxes(self, detection: _Pass) -> list[Box]:
        if detection.coarse_boxes is None:
            detection.coarse_boxes = []
            if detection.coarse_ticket is not None:
                detection.coarse_boxes, took = self._pool.result(detection.coarse_ticket)
                self.stats.coarse_passes += 1
                self.stats.coarse_seconds += took
        return detection.coarse_boxes

    def _plan(self, detection: _Pass) -> None:
        """Plan and send the fine pass of a frame whose coarse pass is back (waits if not)."""
        if detection.planned:
            return
        detection.planned = True
        coarse = self._coarse_boxes(detection)
        if not detection.fine:
            return
        if detection.picture is None:   # linked, not followed: the big faces of the frame before
            detection.before = self._previous_coarse
        self._previous_coarse = coarse
        plan = plan_fine(detection.frame, self._reference, detection.motion,
                         detection.known + coarse, detection.before, detection.followed,
                         detection.small,
                         detection.ended,
                         self.passes, self._budget, detection.seconds,
                         everywhere=self.settings.small_faces == "full",
                         background=self._background)
        self._background = update_background(self._background, detection.motion)
        if plan.motion_covered:  # else the motion stays news until a pass can afford it
            self._reference = detection.motion
        detection.regions, detection.full_frame = plan.regions, plan.full_frame
        height, width = detection.frame.shape[:2]
        self.stats.fine_cost += search_cost(plan.regions) / (height * width * 4)
        if plan.regions:
            detection.fine_ticket = self._pool.submit(
                fine_job(detection.frame, plan.regions), urgent=True)

    def _plan_ready(self) -> None:
        """Plan the fine passes whose coarse pass is back, in frame order (no waiting)."""
        for detection in self._detections:
            if detection.planned:
                continue
            if detection.coarse_ticket is not None and not self._pool.done(
                    detection.coarse_ticket):
                return
            self._plan(detection)

    def _detections_of(self, detection: _Pass) -> tuple[list[Detection], Coverage]:
        """Both passes' faces (waiting for them) and what the passes could see."""
        self._plan(detection)
        settings = self.passes
        boxes = []
        if detection.fine_ticket is not None:
            boxes, took = self._pool.result(detection.fine_ticket)
            self.stats.fine_passes += 1
            self.stats.full_frame_passes += detection.full_frame
            self.stats.fine_seconds += took
        bounds = detection.frame.shape[:2]
        boxes = [b for b in (clip(box, bounds) for box in boxes + self._coarse_boxes(detection))
                 if b is not None]
        # the full-resolution box comes first: it is the more precise one
        detections = [Detection(box, appearance(detection.frame, box))
                      for box in deduplicate(boxes)]
        coverage = Coverage(fine_min=settings.fine_min)
        if detection.coarse:
            coverage = Coverage(min_size=settings.coarse_min, fine_min=settings.fine_min)
        if detection.regions:
            # a region searched at scale k finds faces down to HOG's minimum / k
            coverage = coverage | Coverage(
                regions=tuple(r.box for r in detection.regions),
                fine_min=max(settings.fine_min,
                             RELIABLE * HOG_MIN_BOX / max(r.scale for r in detection.regions)))
        return detections, coverage

    def _apply(self, detection: _Pass, index: int, picture: Picture | None) -> None:
        """Apply the passes of frame F = detection.index to the tracks, which are now at
        frame ``index`` (its ``picture`` when following).

        Tracks are matched where they were at F. With followers (tracking), a matched track's
        tracker restarts on the detected box moved by what the track moved since F, and a new
        track's tracker starts on F and catches up with the current frame in one step.
        """
        detections, coverage = self._detections_of(detection)
        update = self.book.update(detections, detection.index, coverage)
        matched = {id(track) for track, _ in update.matched}
        for track in detection.gone:
            if id(track) not in matched and track in self.book.tracks:
                self.book.end(track)
                update.ended.append(track)
        self._detected_index = detection.index
        following = detection.picture is not None
        for track, found in update.matched:
            if not following:
                self.book.move(track, found.box, detection.index)
                continue
            then = track.box_at(detection.index)
            if iou(then, found.box) < 0.7 and picture is not None:
                (now_y, now_x), (then_y, then_x) = centre(track.box), centre(then)
                box = shift(found.box, round(now_y - then_y), round(now_x - then_x))
                track.follower = self._follower(picture, box)
                self.book.move(track, box, index)
        for track in update.born:
            if following:
                track.follower = self._follower(detection.picture, track.box)
                if picture is not None and picture is not detection.picture:
                    self.book.move(track, track.follower.update(picture)[0], index)
        self._ended += [track.box_at(detection.index) for track in update.ended
                        if box_size(track.box_at(detection.index)) < self.passes.coarse_min
                        and track not in detection.gone]  # (those are searched already)
        for number, request in enumerate(update.encode):
            self._encode(request.track, detection, request.box, number)

    def _apply_and_show(self, detection: _Pass) -> FrameFaces:
        self._apply(detection, detection.index, None)
        visible = [t for t in self.book.tracks if t.last_seen == detection.index]
        return self._frame_faces(detection.index, detection.seconds, detection.frame, visible)

    # --- following ----------------------------------------------------------------------
    def _follow(self, picture: Picture, index: int) -> None:
        for track in self.book.tracks:
            self.book.move(track, track.follower.update(picture)[0], index)

    def _follower(self, picture: Picture, box: Box):
        return make_follower(self.settings.follower, picture, box)

    def _remember_positions(self, index: int) -> None:
        oldest = self._detections[0].index if self._detections else index
        self.book.remember_positions(index, keep_after=oldest)

    # --- encoding -----------------------------------------------------------------------
    def _encode(self, track: Track, detection: _Pass, box: Box, number: int) -> None:
        while len(self._encodings) >= self.settings.max_encodes_waiting:
            self._ready_faces.extend(self._collect(block=True, limit=1))
        crop = crop_face(detection.frame, box)
        top, right, bottom, left = box
        height, width = bottom - top, right - left
        ticket = self._pool.submit(EncodeJob(crop, (height, 2 * width, 2 * height, width),
                                             self.settings.mirror_average))
        info = self.info
        face = Face(file_name=face_file_name(info.name, detection.index, number, info.stem),
                    encoding=np.zeros(0), box=box, source=info.name, frame=detection.index,
                    time_s=detection.seconds)  # its image comes back with the encoding
        self._encodings.append(_Encoding(ticket, track, face))
        self.stats.encoded += 1

    def _collect(self, block: bool, limit: int | None = None) -> list[Face]:
        """Faces whose encodings are back, in the order they were asked for."""
        faces = []
        while self._encodings and (limit is None or len(faces) < limit):
            head = self._encodings[0]
            if not block and not self._pool.done(head.ticket):
                break
            head.face.encoding, head.face.crop_png = self._pool.result(head.ticket)
            head.face.track_id = self.book.accept_encoding(head.track, head.face.encoding)
            self._encodings.popleft()
            faces.append(head.face)
        return faces

    def _frame_faces(self, index: int, seconds: float, frame: np.ndarray,
                     visible: list[Track], looked_at: bool = True) -> FrameFaces:
        faces = self._ready_faces + self._collect(block=False)
        self._ready_faces = []
        return FrameFaces(self.info, index, seconds, frame,
                          [TrackedBox(t.box, t.track_id) for t in visible], faces,
                          self._detected_index, looked_at)


class FaithfulPipeline:
    """The original algorithm: every looked-at frame at full resolution, upsampled once, and
    every face found encoded and classified on its own (a track of one face)."""

    def __init__(self, detector: FaceDetector) -> None:
        self.detector = detector
        self.stats = PipelineStats()

    def run(self, inputs: Inputs) -> Iterator[FrameFaces]:
        track_ids = itertools.count(1)
        for info, index, seconds, frame in inputs.frames():
            faces = self.detector.detect(frame, source=info.name, frame=index, time_s=seconds,
                                         stem=info.stem)
            for face in faces:
                face.track_id = next(track_ids)
            self.stats.encoded += len(faces)
            yield FrameFaces(info, index, seconds, frame,
                             [TrackedBox(f.box, f.track_id) for f in faces], faces, index)

    def drain(self) -> list[Face]:
        return []

    def close(self) -> None:
        pass
