"""Which face is which from frame to frame, and when to detect and encode: rules on boxes only.

No dlib and no OpenCV here: boxes and small numpy arrays in, decisions out, so the rules are
tested in milliseconds with synthetic boxes. facesort.pipeline runs the detectors and the
followers these rules schedule.

A box is ``(top, right, bottom, left)`` in pixels of the original frame, as everywhere else.
A track is one face followed over consecutive looked-at frames; it is encoded when it appears
and again every so often, to catch a track that has jumped onto someone else.
"""
from __future__ import annotations

import itertools
import math
from dataclasses import dataclass, field
from typing import Any, Iterator

import numpy as np

from facesort.records.box import Box, box_size, contains, iou
from facesort.records.face import face_distance


def similarity(a: np.ndarray | None, b: np.ndarray | None) -> float:
    """Correlation of two appearance vectors (colour histograms of a face box), in [-1, 1].

    A cheap check that two boxes at the same place show the same face: across a cut,
    a new face can appear exactly where the old one was. 1.0 when either is unknown.
    """
    if a is None or b is None:
        return 1.0
    a = a.astype(np.float64).ravel() - a.mean()
    b = b.astype(np.float64).ravel() - b.mean()
    norm = math.sqrt(float(a @ a) * float(b @ b))
    return float(a @ b) / norm if norm > 0 else 0.0


# --- what a detection pass could have seen --------------------------------------------------
@dataclass(frozen=True)
class Coverage:
    """Which faces a detection pass could have found, so that a track is only blamed for
    missing when the pass was able to see it.

    ``min_size``: the smallest face the whole-frame pass finds (inf when there was none);
    ``regions``: the places searched at full resolution, for faces down to ``fine_min``.
    """

    min_size: float = math.inf
    regions: tuple[Box, ...] = ()
    fine_min: float = 24.0

    def sees(self, box: Box) -> bool:
        size = box_size(box)
        if size >= self.min_size:
            return True
        return size >= self.fine_min and any(contains(region, box) for region in self.regions)

    def __or__(self, other: Coverage) -> Coverage:
        return Coverage(min(self.min_size, other.min_size), self.regions + other.regions,
                        min(self.fine_min, other.fine_min))


@dataclass(frozen=True)
class Detection:
    """A face box found by a detection pass, and its appearance (see similarity())."""

    box: Box
    appearance: np.ndarray | None = field(default=None, compare=False, repr=False)
    # why it is not fit to encode (records.face.Unfit: too small, turned, doubtful, cut):
    # followed and shown, never encoded; None: fit
    unfit: str | None = None

    @property
    def encodable(self) -> bool:
        return self.unfit is None


# --- tracks ---------------------------------------------------------------------------------
@dataclass(eq=False)  # a track is itself: compared by identity
class Track:
    """One face followed from frame to frame.

    ``track_id`` is what faces of this track carry; it changes when a re-encoding shows the
    track has jumped onto another person (the rest of the track is someone new).
    ``follower`` is whatever moves the box between detections (the pipeline's correlation
    tracker), and ``followed_since_s`` the pipeline's note of since when its next face has
    been followed; the rules never look into them.
    """

    track_id: int
    box: Box
    born: int
    last_seen: int
    appearance: np.ndarray | None = field(default=None, repr=False)
    last_encoded: int | None = None
    encoded_on: int | None = None     # the look number of its last encoding
    encoded_size: float = 0.0         # the face's size when it was last encoded
    encoded_look: np.ndarray | None = field(default=None, repr=False)  # its appearance then
    unfit: str | None = None          # why its face, as last found, is not fit to encode
    times_encoded: int = 0
    misses: int = 0
    encodings: list[np.ndarray] = field(default_factory=list, repr=False)
    boxes_at: dict[int, Box] = field(default_factory=dict, repr=False)
    follower: Any = field(default=None, repr=False)
    # seconds, as faces carry them: the time of the track's last encoded face (of its birth
    # before the first), which its next face gets as Face.followed_from_s
    followed_since_s: float | None = None

    def box_at(self, index: int) -> Box:
        """Where the track was at frame ``index`` (its current box if not recorded)."""
        return self.boxes_at.get(index, self.box)

    @property
    def encodable(self) -> bool:
        """Whether its face, as last found, is fit to encode."""
        return self.unfit is None


@dataclass(frozen=True)
class TrackingRules:
    """The knobs of association and encoding, in frames of the video."""

    min_iou: float = 0.3             # a detection continues a track when they overlap this much
    min_similarity: float = 0.5      # ... and their appearances correlate at least this much
    max_misses: int = 2              # detection passes that could see a track but did not
    max_unseen: int = 75             # frames without a detection after which a track ends
    # Encodings happen on look frames only, numbered passes that the caller picks (the budget:
    # at most one encoding of a track per look). A track is encoded on the first look it is
    # found on, again on the next (two faces make a person), then on the looks numbered a
    # multiple of ``reencode_looks`` (those of every track fall on one frame: two faces of
    # one frame are two people), and on any look where its face looks less alike than
    # ``verify_similarity`` to when it was last encoded, or grew or shrank by
    # ``resize_ratio``: a new look of the person, or someone else (an encoding will tell)
    min_encode_size: float = 0.0     # smaller faces are followed, never encoded
    second_look: int = 1             # looks from a track's first encoding to its second (0: none)
    together: int = 1                # a look that encodes a track encodes every track it
                                     # found that was not encoded on the last together-1 looks
                                     # (0: none; 1: all)
    reencode_looks: int = 3          # 0: never again (but for a change of look or size)
    verify_similarity: float = 0.9
    resize_ratio: float = 1.3
    switch_distance: float = 0.6     # a re-encoding this far from the track: someone else


@dataclass
class EncodeRequest:
    """Encode this track's face as found at frame ``index`` in ``box``."""

    track: Track
    index: int
    box: Box


@dataclass
class Update:
    """What one detection pass changed."""

    matched: list[tuple[Track, Detection]] = field(default_factory=list)
    born: list[Track] = field(default_factory=list)
    ended: list[Track] = field(default_factory=list)
    encode: list[EncodeRequest] = field(default_factory=list)


class TrackBook:
    """The live tracks: association of detections, births, deaths, and encoding schedule."""

    def __init__(self, rules: TrackingRules = TrackingRules(),
                 ids: Iterator[int] | None = None) -> None:
        self.rules = rules
        self.tracks: list[Track] = []
        self._ids = ids if ids is not None else itertools.count(1)

    def new_id(self) -> int:
        return next(self._ids)

    def update(self, detections: list[Detection], index: int, coverage: Coverage,
               look: int | None = None) -> Update:
        """Associate the detections of frame ``index`` with the tracks as they were then.

        Greedy by overlap: the best-overlapping pair first. A detection that continues no
        track starts one; a track that the pass could see but that got no detection has
        missed once, and ends after ``max_misses``. A new track lying on an unmatched old
        one replaces it (the old tracker has drifted onto the new face). ``look``: this
        pass's look number, None when it is not a look frame (nothing is encoded then).
        """
        rules = self.rules
        update = Update()
        used_tracks: set[int] = set()
        used_detections: set[int] = set()
        waiting: list[EncodeRequest] = []   # found on this look, not due
        for _, t, d in self._overlapping(detections, index):
            if t in used_tracks or d in used_detections:
                continue
            track, detection = self.tracks[t], detections[d]
            alike = similarity(track.appearance, detection.appearance)
            if alike < rules.min_similarity:
                continue
            used_tracks.add(t)
            used_detections.add(d)
            update.matched.append((track, detection))
            track.last_seen = index
            track.misses = 0
            if detection.appearance is not None:
                track.appearance = detection.appearance
            track.unfit = detection.unfit
            self._request(track, index, detection, look, update.encode, waiting)
        for d, detection in enumerate(detections):
            if d in used_detections:
                continue
            track = Track(self.new_id(), detection.box, born=index, last_seen=index,
                          appearance=detection.appearance, unfit=detection.unfit)
            track.boxes_at[index] = detection.box
            update.born.append(track)
            self._request(track, index, detection, look, update.encode, waiting)
        if update.encode and rules.together and look is not None:
            # the faces of one frame are encoded together: the same-frame rule sees them
            update.encode += [request for request in waiting if request.track.encodable
                              and box_size(request.box) >= rules.min_encode_size
                              and (request.track.encoded_on is None
                                   or look - request.track.encoded_on >= rules.together)]
        update.ended = self._unmatched_ending(used_tracks, update.born, index, coverage)
        for request in update.encode:
            self.encoded(request.track, index, request.box, look)
        ended = {id(track) for track in update.ended}
        self.tracks = [t for t in self.tracks if id(t) not in ended] + update.born
        return update

    def _overlapping(self, detections: list[Detection],
                     index: int) -> list[tuple[float, int, int]]:
        """(overlap, track, detection) of every pair overlapping at least min_iou on frame
        ``index``, best overlap first."""
        pairs = []
        for t, track in enumerate(self.tracks):
            then = track.box_at(index)
            for d, detection in enumerate(detections):
                overlap = iou(then, detection.box)
                if overlap >= self.rules.min_iou:
                    pairs.append((overlap, t, d))
        return sorted(pairs, key=lambda p: (-p[0], p[1], p[2]))

    def _request(self, track: Track, index: int, detection: Detection, look: int | None,
                 due: list[EncodeRequest], waiting: list[EncodeRequest]) -> None:
        """The track's face on this pass goes to ``due`` when its encoding is due, else to
        ``waiting`` (it may still be encoded with the others of its frame)."""
        request = EncodeRequest(track, index, detection.box)
        (due if self._encoding_due(track, look, detection) else waiting).append(request)

    def _unmatched_ending(self, used: set[int], born: list[Track], index: int,
                          coverage: Coverage) -> list[Track]:
        """The tracks this pass did not match that end now: replaced by a new track on them,
        missed ``max_misses`` times where the pass could see them, or unseen too long."""
        ended = []
        for t, track in enumerate(self.tracks):
            if t in used:
                continue
            replaced = any(iou(track.box_at(index), new.box) > 0.5 for new in born)
            if replaced or coverage.sees(track.box_at(index)):
                track.misses += 1
            if (replaced or track.misses >= self.rules.max_misses
                    or index - track.last_seen > self.rules.max_unseen):
                ended.append(track)
        return ended

    def _encoding_due(self, track: Track, look: int | None, detection: Detection) -> bool:
        """Whether to encode the track's face as found on this pass, look number ``look``
        (None: not a look frame); see TrackingRules."""
        rules = self.rules
        if (look is None or not detection.encodable
                or box_size(detection.box) < rules.min_encode_size):
            return False
        if track.times_encoded == 0:
            return True
        if track.times_encoded == 1 and rules.second_look:
            return track.encoded_on is not None and look - track.encoded_on >= rules.second_look
        if rules.reencode_looks and look % rules.reencode_looks == 0:
            return True
        size, encoded_size = box_size(detection.box), track.encoded_size
        resized = encoded_size > 0 and max(size, encoded_size) >= rules.resize_ratio * min(
            size, encoded_size)
        changed = similarity(track.encoded_look, detection.appearance) < rules.verify_similarity
        return resized or changed

    def encoded(self, track: Track, index: int, box: Box, look: int | None = None) -> None:
        """The track's face is encoded as found at frame ``index`` in ``box``."""
        track.last_encoded = index
        track.encoded_on = look
        track.encoded_size = box_size(box)
        track.encoded_look = track.appearance
        track.times_encoded += 1

    def move(self, track: Track, box: Box, index: int) -> None:
        """The follower moved the track to ``box`` at frame ``index``."""
        track.box = box
        track.boxes_at[index] = box

    def remember_positions(self, index: int, keep_after: int) -> None:
        """Record every track's box at ``index`` and forget positions before ``keep_after``."""
        for track in self.tracks:
            track.boxes_at[index] = track.box
            for old in [i for i in track.boxes_at if i < keep_after]:
                del track.boxes_at[old]

    def end(self, track: Track) -> None:
        self.tracks = [t for t in self.tracks if t is not track]

    def end_all(self) -> list[Track]:
        """End every track (a cut: no face on the new shot continues one of the old)."""
        ended, self.tracks = self.tracks, []
        return ended

    def accept_encoding(self, track: Track, encoding: np.ndarray,
                        new_id: int | None = None) -> int:
        """The track id the face with this encoding gets.

        A re-encoding far from the track's faces so far means the track now follows someone
        else: from here on it carries a new id (``new_id``, or one drawn now), so its faces are
        not merged with the old ones.
        """
        if track.encodings:
            mean = np.mean(track.encodings, axis=0)
            if face_distance(np.array([mean]), encoding)[0] > self.rules.switch_distance:
                track.track_id = new_id if new_id is not None else self.new_id()
                track.encodings = []
        track.encodings.append(np.asarray(encoding))
        return track.track_id


# --- which passes run on which frame --------------------------------------------------------
@dataclass(frozen=True)
class Passes:
    """The detection work for one frame."""

    coarse: bool = False       # whole frame at reduced size: the big faces
    fine: bool = False         # full resolution, upsampled, where faces may be: the small ones

    @property
    def any(self) -> bool:
        return self.coarse or self.fine


@dataclass
class DetectionSchedule:
    """When to run each pass: every ``coarse_every`` and ``fine_every`` frames."""

    coarse_every: int = 1
    fine_every: int = 1
    last_coarse: int | None = None
    last_fine: int | None = None

    def passes(self, index: int) -> Passes:
        """The passes due at ``index``; calling it means they run."""
        coarse = self.last_coarse is None or index - self.last_coarse >= self.coarse_every
        fine = self.last_fine is None or index - self.last_fine >= self.fine_every
        if coarse:
            self.last_coarse = index
        if fine:
            self.last_fine = index
        return Passes(coarse=coarse, fine=fine)
