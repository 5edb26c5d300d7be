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

Results on a file do not depend on timing: a detection pass of frame F is applied at a fixed
later frame. A live source (webcam) shows every frame while detection runs behind it.
"""
from __future__ import annotations

import itertools
from collections import deque
from dataclasses import dataclass, field, replace
from typing import Iterator

import numpy as np

from facesort.detection.passes import (
    RELIABLE,
    EncodeJob,
    PassSettings,
    coarse_job,
    colour_histogram,
    each_face_once,
    fine_job,
    motion_image,
    plan_fine,
    update_background,
)
from facesort.detection.protocol import DetectorFactory, Found
from facesort.detection.regions import FineBudget, Region, search_cost
from facesort.detection.workers import worker_pool
from facesort.imaging import crop_face
from facesort.inputs.stream import Inputs
from facesort.inputs.video import read_ahead
from facesort.pipeline.frames import FrameFaces, PipelineStats, TrackedBox
from facesort.records.box import Box, box_size, centre, clip, iou, shift
from facesort.records.face import Face, Unfit, face_file_name
from facesort.records.modes import FollowerKind, SmallFaces
from facesort.records.source import CAMERA_FALLBACK_FPS, PHOTO, VIDEO, SourceInfo
from facesort.tracking.shots import is_cut, scene_signature
from facesort.tracking.follower import Picture, make_follower
from facesort.tracking.tracker import (
    Coverage,
    Detection,
    DetectionSchedule,
    Passes,
    Track,
    TrackBook,
    TrackingRules,
    similarity,
)


# a re-encoding this far from its track's mean is someone else: dlib's own same-person
# threshold. A face turning on the stage clip stays within 0.51 of its track's running mean
# (0.41-0.63 from its first look: -t 0.44 split it), and different people are mostly farther
SWITCH_DISTANCE = 0.6


@dataclass(frozen=True)
class PipelineSettings:
    """How hard to look and how often; the defaults meet issue 8's speed and recall goals."""

    resize_ratio: float = 1.0          # -r
    coarse_scale: float = 0.5          # the big-face pass runs on a frame this size
    small_faces: SmallFaces = SmallFaces.MOTION
    colour: bool = False               # the coarse pass on colour (YuNet), else grey (HOG)
    coarse_side: int = 0               # > 0: coarse scale per input (PassSettings.for_frame)
    video_scale: float = 1.0           # with coarse_side, a video's at most (YuNet: 0.75)
    coarse_every_s: float = 0.2        # -S 0: between big-face passes
    # -S 0: the coarse passes between look frames (nothing is encoded there) run on a frame
    # at most this scale: they keep the tracks of big faces, and small faces are found at the
    # next look. YuNet 0.5 (see make_pipeline); HOG 1.0 (its coarse pass is at 0.5 already)
    between_looks_scale: float = 1.0
    fine_every_s: float = 0.5          # -S 0: between small-face passes
    fine_budget: float = 0.5           # whole-frame small-face searches per second of video
    full_every_s: float = 30.0         # a whole-frame small-face search at least this often
    # The encoding budget: tracks are encoded on look frames only, encodings_per_s of them a
    # second with -S 0 (every looked-at frame otherwise): first where a track is first found,
    # again second_look_s later (two faces make a person), then every reencode_every_s, or at
    # the next look when its look or size changed; a look that encodes one track encodes all
    # it found (TrackingRules.together). Measured on the dev pairs (-S 0.5, YuNet): this,
    # motion-pair F1 0.990 with 330 faces encoded on dev-a (the run ~60% slower than before
    # tracks); a second look after 1 s and re-encodings every 2 s (and fewer looks shared),
    # 0.986 with 217 faces (~20% slower), and -S 0 then sorted the slideshow pair worse than
    # -S 0.5 (F1 0.976 against 0.988); 1.5 s / 3 s, 0.961 with 148 faces (~5% slower)
    encodings_per_s: float = 2.0
    second_look_s: float = 0.5
    reencode_every_s: float = 1.0
    # each encoding the average of the face's and its mirror image's: twice the network's
    # work, ~12% of a run at -S 0.5 (dev-a: 8.6 s against 7.7 s). A track's encodings of a
    # still photo are alike, so their average keeps the photo's alignment error, which the
    # mirror image halves. Without it (dev pairs, -S 0.5 / -S 0): YuNet slideshow pair F1
    # 0.982 / 0.984 against 0.989 / 0.991, motion pair rerun 0.980 / 0.998 against 0.990 /
    # 0.998; HOG, slideshow pair F1 0.978 / 0.921 and motion pair rerun 0.963 at -S 0 (dev-a
    # alone at -S 0: 0.921 against 0.990). Mirroring a track's first encoding only: dev-a
    # -S 0 F1 0.984 (YuNet), 0.983 (HOG), against 0.991 and 0.990 with all
    mirror_average: bool = True
    switch_distance: float = SWITCH_DISTANCE  # a re-encoding this far away: someone else
    follower: FollowerKind = FollowerKind.TEMPLATE
    workers: int = 2                   # worker processes; 0 runs the jobs in this process
    labels_in_step: bool = False       # -d, -c: hand a file's frames out with their encodings
    lookahead: int = 3                 # -S > 0: looked-at frames detected ahead of the loop
    max_encodes_waiting: int = 8


@dataclass
class PendingPass:
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
    coarse_found: list[Found] | None = None
    fine_ticket: int | None = None
    planned: bool = False
    regions: list[Region] = field(default_factory=list)
    full_frame: bool = False
    cut_before: bool = False    # a cut lies between the frame looked at before and this one
    look: int | None = None     # the number of this look frame; None: encode nothing here
    passes: PassSettings | None = None  # the coarse pass's settings, when not the input's


@dataclass
class LastLook:
    """Where a detection pass last found a track's face since its last encoding: encoded
    when the track ends, so that its faces reach to where it was last seen."""

    pending: PendingPass
    box: Box
    number: int    # its face's number among the faces of that frame


@dataclass
class UnfitLook:
    """A track's largest look so far while it has never been fit to encode: kept, flagged, as
    its one face when it ends unencoded (its crop, since the frame is not kept)."""

    crop: np.ndarray = field(repr=False)
    box: Box
    index: int
    seconds: float
    number: int    # its face's number among the faces of that frame
    reason: str    # records.face.Unfit


@dataclass
class SourceState:
    """What belongs to one input: its tracks, detection schedule, passes in flight, motion."""

    info: SourceInfo | None
    fps: float
    book: TrackBook
    budget: FineBudget
    coarse_every: int
    look_every: int                       # frames from one look frame (encodings) to the next
    schedule: DetectionSchedule = field(default_factory=DetectionSchedule)
    pending: deque[PendingPass] = field(default_factory=deque)  # passes sent, not yet applied
    reference: np.ndarray | None = None   # motion image: last fine pass, all searched
    background: np.ndarray | None = None  # motion image of the scene without news
    ended: list[Box] = field(default_factory=list)  # where small faces were lost since then
    previous_coarse: list[Box] = field(default_factory=list)  # big faces of the last frame planned
    detected_index: int | None = None     # the newest frame whose passes are applied
    scene: np.ndarray | None = None       # the last frame's scene_signature(): cuts end tracks
    last_looks: dict[Track, LastLook] = field(default_factory=dict)  # found since encoded
    unfit_looks: dict[Track, UnfitLook] = field(default_factory=dict)  # never fit so far
    looks: int = 0                        # look frames so far
    last_look: int | None = None          # the frame of the last one


def frames_in(seconds: float, fps: float) -> int:
    """Seconds of video as a number of frames (0 stays 0: 'never')."""
    return max(1, round(seconds * fps)) if seconds > 0 else 0


@dataclass
class _Encoding:
    ticket: int
    slot: int      # its place among the faces of that job
    track: Track
    face: Face
    switch_id: int | None  # the track's id from this face on, should it be someone else


class FacePipeline:
    """Detection at intervals, tracking in between, one encoding per track (and re-checks)."""

    def __init__(self, make_detector: DetectorFactory,
                 settings: PipelineSettings = PipelineSettings(), live_files: bool = False) -> None:
        SmallFaces(settings.small_faces), FollowerKind(settings.follower)  # ValueError if not
        self.settings = settings
        self.live_files = live_files   # play video files as if they were webcams
        detector = make_detector()  # (its models load in the workers, not here)
        self.passes = PassSettings(coarse_scale=settings.coarse_scale,
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
        self._encodings: deque[_Encoding] = deque()
        self._job_results: dict[int, list] = {}   # the encodings of a job whose faces are
                                                   # being collected
        self._ready_faces: list[Face] = []     # encoded while waiting, not yet handed out
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
            self.passes = self.passes.for_frame(info.width, info.height, info.kind == PHOTO)
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
        fine_every = self.source.coarse_every * max(
            1, round(self._frames(self.settings.fine_every_s) / self.source.coarse_every))
        self.source.schedule = DetectionSchedule(self.source.coarse_every, fine_every)
        for index, seconds, frame in frames:
            if self._cut(frame):
                self._end_shot()
            picture = Picture(frame)
            self._follow(picture, index)
            while self.source.pending and self.source.pending[0].index <= index - self.source.coarse_every:
                self._apply(self.source.pending.popleft(), index, picture)
            self._plan_ready()
            passes = self.source.schedule.passes(index)
            if passes.any:
                self._start(index, seconds, frame, picture, passes)
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
            self._start(index, seconds, frame, None, self.source.schedule.passes(index))
            self.source.pending[-1].cut_before = cut
            self._plan_ready()
            while len(self.source.pending) > self.settings.lookahead:
                yield self._apply_and_show(self.source.pending.popleft())
        while self.source.pending:
            yield self._apply_and_show(self.source.pending.popleft())

    def _run_live(self, frames, tracking: bool, every_s: float) -> Iterator[FrameFaces]:
        """A camera: every frame is shown at once while one pass at a time runs behind it.

        With -S 0 the faces are followed on every frame; otherwise a pass runs every -S
        seconds and its boxes stay up until the next one.
        """
        if tracking:
            fine_every = self._frames(self.settings.fine_every_s)
            self.source.schedule = DetectionSchedule(self.source.coarse_every, fine_every)
        else:
            every = max(1, self._frames(every_s))
            self.source.schedule = DetectionSchedule(every, every)
        shown: list[Track] = []
        for index, seconds, frame in frames:
            picture = Picture(frame) if tracking else None
            if tracking:
                self._follow(picture, index)
            if self.source.pending:
                head = self.source.pending[0]
                if not head.planned and (head.coarse_ticket is None
                                         or self._pool.done(head.coarse_ticket)):
                    self._plan(head)
                if head.planned and (head.fine_ticket is None
                                     or self._pool.done(head.fine_ticket)):
                    self._apply(self.source.pending.popleft(), index, picture)
                    shown = [t for t in self.source.book.tracks if t.last_seen == head.index]
            looked_at = False
            if not self.source.pending:
                passes = self.source.schedule.passes(index)
                if passes.any:
                    self._start(index, seconds, frame, picture, passes)
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

    # --- detection ----------------------------------------------------------------------
    def _start(self, index: int, seconds: float, frame: np.ndarray, picture: Picture | None,
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
        self._snapshot(pending)
        if passes.coarse:
            most = self.settings.between_looks_scale
            if pending.look is None and self.passes.coarse_scale > most:
                pending.passes = replace(self.passes, coarse_scale=most)
            pending.coarse_ticket = self._pool.submit(
                coarse_job(frame, pending.passes or self.passes), urgent=True)
        self.source.pending.append(pending)

    def _snapshot(self, pending: PendingPass) -> None:
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
            t.box for t in self.source.book.tracks if box_size(t.box) >= RELIABLE * self.passes.min_box]
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

    def _coarse_found(self, pending: PendingPass) -> list[Found]:
        if pending.coarse_found is None:
            pending.coarse_found = []
            if pending.coarse_ticket is not None:
                pending.coarse_found, took = self._pool.result(pending.coarse_ticket)
                self.stats.coarse_passes += 1
                self.stats.coarse_seconds += took
        return pending.coarse_found

    def _plan(self, pending: PendingPass) -> None:
        """Plan and send the fine pass of a frame whose coarse pass is back (waits if not)."""
        if pending.planned:
            return
        pending.planned = True
        coarse = [found.box for found in self._coarse_found(pending)]
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

    def _plan_ready(self) -> None:
        """Plan the fine passes whose coarse pass is back, in frame order (no waiting)."""
        for pending in self.source.pending:
            if pending.planned:
                continue
            if pending.coarse_ticket is not None and not self._pool.done(
                    pending.coarse_ticket):
                return
            self._plan(pending)

    def _detections_of(self, pending: PendingPass) -> tuple[list[Detection], Coverage]:
        """Both passes' faces (waiting for them) and what the passes could see."""
        self._plan(pending)
        settings = pending.passes or self.passes
        found = []
        if pending.fine_ticket is not None:
            found, took = self._pool.result(pending.fine_ticket)
            self.stats.fine_passes += 1
            self.stats.full_frame_passes += pending.full_frame
            self.stats.fine_seconds += took
        bounds = pending.frame.shape[:2]
        unfit: dict[Box, str | None] = {}   # a box found fit by either pass is fit
        for face in found + self._coarse_found(pending):
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
                fine_min=max(settings.fine_min,
                             RELIABLE * self.passes.min_box / max(r.scale for r in pending.regions)))
        return detections, coverage

    def _apply(self, pending: PendingPass, index: int, picture: Picture | None) -> None:
        """Apply the passes of frame F = detection.index to the tracks, which are now at
        frame ``index`` (its ``picture`` when following).

        Tracks are matched where they were at F. With followers (tracking), a matched track's
        tracker restarts on the detected box moved by what the track moved since F, and a new
        track's tracker starts on F and catches up with the current frame in one step.
        """
        detections, coverage = self._detections_of(pending)
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
        self._encode([(request.track, pending, request.box, number)
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
        self._encode(last)
        self._keep_unfit([(track, self.source.unfit_looks.pop(track)) for track in tracks
                          if track in self.source.unfit_looks and track.times_encoded == 0])

    def _keep_unfit(self, looks: list[tuple[Track, UnfitLook]]) -> None:
        """One face for each ended track that was never fit to encode: its largest look,
        flagged with why. It is encoded all the same, so that every saved face has its
        encoding, but that encoding is never trusted (records.face.Unfit)."""
        if not looks:
            return
        self._make_room(len(looks))
        ticket = self._pool.submit(EncodeJob([look.crop for _, look in looks],
                                             self.settings.mirror_average))
        info = self.source.info
        for slot, (track, look) in enumerate(looks):
            face = Face(file_name=face_file_name(info.name, look.index, look.number, info.stem),
                        encoding=np.zeros(0), box=look.box, source=info.name, frame=look.index,
                        time_s=look.seconds, track_id=track.track_id,
                        followed_from_s=track.followed_since_s, unfit=look.reason)
            self._encodings.append(_Encoding(ticket, slot, track, face, None))
            self.stats.unfit += 1

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
    def _encode(self, faces: list[tuple[Track, PendingPass, Box, int]]) -> None:
        """Encode faces, each (its track, the pass that found it, its box, its number among
        the faces of that frame), in one job."""
        if not faces:
            return
        self._make_room(len(faces))
        ticket = self._pool.submit(EncodeJob(
            [crop_face(pending.frame, box) for _, pending, box, _ in faces],
            self.settings.mirror_average))
        info = self.source.info
        for slot, (track, pending, box, number) in enumerate(faces):
            face = Face(file_name=face_file_name(info.name, pending.index, number, info.stem),
                        encoding=np.zeros(0), box=box, source=info.name, frame=pending.index,
                        time_s=pending.seconds,  # its image comes back with the encoding
                        followed_from_s=track.followed_since_s)
            track.followed_since_s = pending.seconds
            # a re-encoding may show someone else: the id for that is drawn now, not when the
            # encoding comes back, so that ids do not depend on the workers' timing
            switch_id = self.source.book.new_id() if track.times_encoded > 1 else None
            self._encodings.append(_Encoding(ticket, slot, track, face, switch_id))
            self.stats.encoded += 1

    def _make_room(self, count: int) -> None:
        """Wait for encodings to come back until ``count`` more may be asked for."""
        while self._encodings and (len(self._encodings) + count
                                   > self.settings.max_encodes_waiting):
            self._ready_faces.extend(self._collect(block=True, limit=1))

    def _collect(self, block: bool, limit: int | None = None) -> list[Face]:
        """Faces whose encodings are back, in the order they were asked for."""
        faces = []
        while self._encodings and (limit is None or len(faces) < limit):
            head = self._encodings[0]
            job = self._job_results.get(head.ticket)
            if job is None:
                if not block and not self._pool.done(head.ticket):
                    break
                job = self._job_results[head.ticket] = self._pool.result(head.ticket)
            head.face.encoding, head.face.crop_png, clear = job[head.slot]
            if not clear and head.face.unfit is None:
                head.face.unfit = Unfit.UNCLEAR
            if head.slot == len(job) - 1:
                del self._job_results[head.ticket]
            before = head.track.track_id
            if head.face.unfit is None:   # an unfit face's encoding says nothing of its track
                head.face.track_id = self.source.book.accept_encoding(
                    head.track, head.face.encoding, head.switch_id)
            if head.face.track_id != before:  # someone else now, since when is not known:
                head.face.followed_from_s = head.face.time_s  # not before this face
            self._encodings.popleft()
            faces.append(head.face)
        return faces

    def _frame_faces(self, index: int, seconds: float, frame: np.ndarray,
                     visible: list[Track], looked_at: bool = True,
                     live: bool = False) -> FrameFaces:
        """The frame with its faces' boxes, and the faces encoded since the last one. From a
        file, when its faces are drawn (``labels_in_step``), every encoding asked for so far
        comes with it (waiting for them), so that the names drawn on it are those its faces
        were sorted into, whatever the workers' timing; a live frame is shown at once, with
        what is back."""
        faces = self._ready_faces + self._collect(
            block=self.settings.labels_in_step and not live)
        # the faces of a frame go out together, as the same-frame rule sorts them (two faces
        # of one frame are two people): a frame whose last faces are still being encoded waits
        whole = len(faces)
        if self._encodings:
            waiting = self._encodings[0].face
            while whole and (faces[whole - 1].source, faces[whole - 1].frame) == (
                    waiting.source, waiting.frame):
                whole -= 1
        faces, self._ready_faces = faces[:whole], faces[whole:]
        return FrameFaces(self.source.info, index, seconds, frame,
                          [TrackedBox(t.box, t.track_id) for t in visible], faces,
                          self.source.detected_index, looked_at)
