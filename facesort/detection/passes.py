"""The two detection passes and the jobs a worker process runs for them.

- The coarse pass looks for big faces on the whole frame at reduced size (cheap). With YuNet
  (``colour``, ``coarse_side``) it is the only pass: the colour frame, shrunk only when larger
  than ``coarse_side`` (yunet.detection_scale), finds faces down to ~14 px.
- The fine pass looks for small faces at full resolution, upsampled once, only where they may
  be: where the picture changed since the last fine pass (away from faces already known),
  around followed faces too small for the coarse pass, and where a small face was lost. On the
  first frame, every ``full_every_s``, and (at most every ``full_min_gap_s``) when most of the
  frame changed, it covers the whole frame: that is the original's detector.

Planning happens in the frame loop's process (cheap numpy on quarter-size grey frames);
workers only run dlib on the pieces they are sent. Boxes are in original pixels.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, replace

import cv2
import numpy as np

from facesort import storage
from facesort.detection.protocol import Detector, Found
from facesort.detection.regions import (
    FULL,
    REGIONS,
    FineBudget,
    Region,
    fine_regions,
    merge_regions,
)
from facesort.detection.yunet import detection_scale
from facesort.imaging import face_in_crop, to_grey, to_rgb
from facesort.records.box import Box, contains, grow, iou, share_inside
from facesort.records.bounds import bounded, check_bounds
from facesort.records.face import Unfit

MOTION_SCALE = 0.25     # motion is judged on a quarter-size grey frame
# a face's appearance: its box's hue x saturation histogram. Measured on the dev video's
# pairs of overlapping boxes 0.5 s apart: the same face correlates >= 0.97 (5th percentile),
# two different people <= 0.81; 16x16 grey thumbnails overlapped (box jitter)
APPEARANCE_BINS = [16, 8]
RELIABLE = 1.25           # a face this much above the minimum is found every time
IGNORE_AROUND_FACE = 1.0  # motion within a face's size of a known face is that person moving
BACKGROUND_RATE = 0.05    # how fast the background model follows the picture, per fine pass
MIN_MARGIN = 40           # pixels of context HOG needs around a face
ALIGN = 10                # fine pieces start on this grid (see fine_job)


@dataclass(frozen=True, kw_only=True)
class PassSettings:
    """Scales of the two passes; ``resize_ratio`` is -r, applied on top of both. Bounds beside
    each field, checked when made."""

    coarse_scale: float = bounded(0.5, 1e-3, 1.0)
    resize_ratio: float = bounded(1.0, 1e-6, 4.0)
    motion_threshold: int = bounded(24, 0, 255)   # grey levels of change that count as motion
    # regions are searched a little closer than the original's whole frame (2x): faces of
    # 30-36 px, at HOG's limit there, are found wherever the region's edges fall
    region_scale: float = bounded(2.4, 0.1, 8.0)
    # the detector's smallest face boxes (Detector.smallest_face) at upsample 0 and 1: dlib
    # HOG's measured ~50 and ~24 px (so ~100 px on a half-size frame)
    min_box: float = bounded(50.0, 1.0, 1000.0)
    min_box_upsampled: float = bounded(24.0, 1.0, 1000.0)
    colour: bool = False     # the coarse pass sends colour, not grey (YuNet: far fewer in grey)
    # > 0: the coarse pass's scale follows the frame (for_frame): 1 up to this longer side, and
    # frames larger than that shrunk to it (YuNet: yunet.DETECTION_SIDE); 0: coarse_scale
    coarse_side: int = bounded(0, 0, 100_000)
    video_scale: float = bounded(1.0, 1e-3, 1.0)  # with coarse_side: a video's at most this

    def __post_init__(self) -> None:
        check_bounds(self)

    def for_frame(self, width: int, height: int, photo: bool = False) -> PassSettings:
        """These settings for the frames of one input (its coarse_scale, with coarse_side)."""
        if not self.coarse_side:
            return self
        most = 1.0 if photo else self.video_scale
        return replace(self, coarse_scale=detection_scale(width, height, self.coarse_side, most))

    @property
    def coarse_min(self) -> float:
        """The smallest face box the reduced whole-frame pass finds reliably."""
        return RELIABLE * self.min_box / (self.coarse_scale * self.resize_ratio)

    @property
    def fine_min(self) -> float:
        return self.min_box_upsampled / self.resize_ratio


# --- what the workers run -------------------------------------------------------------------
@dataclass
class Piece:
    """Part of a frame, already scaled, for HOG at ``upsample``."""

    image: np.ndarray   # grey for dlib's HOG (~30% faster than colour, finds as many); BGR
                        # for YuNet (PassSettings.colour)
    upsample: int
    scale: float        # piece pixels per original pixel
    top: int = 0        # where the piece starts in the original frame
    left: int = 0
    # which of its edges (top, right, bottom, left) cut through the frame, rather than being
    # the frame's own: a face found against one of them is cut too, its box a part of a face
    cut: tuple[bool, bool, bool, bool] = (False, False, False, False)

    def cut_through(self, box: Box) -> bool:
        """Whether ``box`` (the piece's pixels, clipped to it) ends at one of its cut edges."""
        top, right, bottom, left = box
        height, width = self.image.shape[:2]
        against = (top <= 0, right >= width - 1, bottom >= height - 1, left <= 0)
        return any(edge and cut for edge, cut in zip(against, self.cut))


@dataclass
class LocateJob:
    """Find the faces in some pieces of one frame."""

    pieces: list[Piece]

    def run(self, detector: Detector) -> tuple[list[Found], float]:
        """The faces found, their boxes in original pixels, and the seconds it took."""
        started = time.perf_counter()
        found = []
        for piece in self.pieces:
            for face in detector.find(piece.image, upsample=piece.upsample):
                top, right, bottom, left = face.box
                # a face cut by the piece's edge is followed and drawn, never encoded: its box
                # is part of a face, whose encoding would be someone else's
                cut = Unfit.CUT if piece.cut_through(face.box) else None
                found.append(Found((piece.top + int(top / piece.scale),
                                    piece.left + int(right / piece.scale),
                                    piece.top + int(bottom / piece.scale),
                                    piece.left + int(left / piece.scale)),
                                   face.unfit or cut))
        return found, time.perf_counter() - started


@dataclass
class EncodeJob:
    """The encodings of the faces of some crop_face() crops of frames (each face in its
    crop's middle third), and each crop as a PNG file: compressing it here spares the frame
    loop's process.

    The crops are set side by side in one image, so that their faces go through the network
    together (a batch of two costs ~12% less a face than two alone). A face's aligned chip
    reaches a quarter of its size past its box, well inside its crop's margin of its whole
    size, so a neighbour's pixels never reach its encoding.
    """

    crops: list[np.ndarray]
    mirror_average: bool = True

    def run(self, detector: Detector) -> list[tuple[np.ndarray, bytes, bool]]:
        """Each face's encoding, its crop as a PNG file, and whether it came out clear."""
        canvas, boxes = side_by_side(self.crops)
        encodings = detector.encode_checked(canvas, boxes, self.mirror_average)
        return [(encoding, storage.encode_png(crop), clear)
                for (encoding, clear), crop in zip(encodings, self.crops)]


def side_by_side(crops: list[np.ndarray]) -> tuple[np.ndarray, list[Box]]:
    """One RGB image of BGR crop_face() crops side by side, and where each one's face is."""
    canvas = np.zeros((max(crop.shape[0] for crop in crops),
                       sum(crop.shape[1] for crop in crops), 3), np.uint8)
    boxes, left = [], 0
    for crop in crops:
        height, width = crop.shape[:2]
        canvas[:height, left:left + width] = crop if crop.ndim == 3 else crop[..., None]
        top, right, bottom, face_left = face_in_crop(crop.shape)
        boxes.append((top, left + right, bottom, left + face_left))
        left += width
    return to_rgb(canvas), boxes


# --- planning, in the frame loop's process -------------------------------------------------
def coarse_job(frame: np.ndarray, settings: PassSettings) -> LocateJob:
    scale = settings.coarse_scale * settings.resize_ratio
    # INTER_AREA averages every pixel in, and costs ~1 ms a 960x540 frame at a scale of
    # 0.75 (0.2 ms at 0.5); down to half size, bilinear takes in every pixel too, for 0.2 ms
    shrink = cv2.INTER_LINEAR if scale >= 0.5 else cv2.INTER_AREA
    small = frame if scale == 1.0 else cv2.resize(frame, (0, 0), fx=scale, fy=scale,
                                                  interpolation=shrink)
    return LocateJob([Piece(small if settings.colour else to_grey(small), upsample=0,
                            scale=scale)])


def fine_job(frame: np.ndarray, regions: list[Region]) -> LocateJob:
    """Pieces of the frame at their regions' scales; above 1, dlib's own upsampling doubles
    them (over the whole frame at scale 2 this is exactly the original's detector)."""
    pieces = []
    height, width = frame.shape[:2]
    for region in regions:
        top, right, bottom, left = region.box
        # cut on a 10-px grid: scaled by 1.2 (and then 2 by dlib), the piece has the pixels
        # and HOG cells of the whole frame there, so a face is found as a whole-frame search
        # finds it, wherever the region's edge falls
        top, left = top - top % ALIGN, left - left % ALIGN
        upsample = 1 if region.scale > 1.0 else 0
        resize = region.scale / 2 if upsample else region.scale
        piece = to_grey(frame[top:bottom, left:right])
        if resize != 1.0:
            piece = cv2.resize(piece, (0, 0), fx=resize, fy=resize,
                               interpolation=cv2.INTER_AREA if resize < 1 else cv2.INTER_LINEAR)
        pieces.append(Piece(np.ascontiguousarray(piece), upsample=upsample, scale=resize,
                            top=top, left=left,
                            cut=(top > 0, right < width, bottom < height, left > 0)))
    return LocateJob(pieces)


def motion_image(bgr: np.ndarray) -> np.ndarray:
    """A small, slightly blurred grey copy: compression noise should not count as motion."""
    small = cv2.resize(bgr, (0, 0), fx=MOTION_SCALE, fy=MOTION_SCALE,
                       interpolation=cv2.INTER_AREA)
    return cv2.GaussianBlur(to_grey(small), (3, 3), 0)


def motion_boxes(reference: np.ndarray, current: np.ndarray, ignore: list[Box],
                 threshold: int, background: np.ndarray | None = None) -> list[Box]:
    """Boxes (original pixels) around what changed between two motion_image()s.

    Left out: the head and shoulders around the ``ignore`` faces (followed or just found:
    their own motion is not news), and places that changed back to the ``background``
    (someone left: nobody new to find there).
    """
    changed = cv2.absdiff(reference, current) > threshold
    if background is not None:
        changed &= cv2.absdiff(background, current) > threshold
    changed = changed.astype(np.uint8)
    bounds = changed.shape[:2]
    for box in ignore:
        top, right, bottom, left = grow(tuple(int(v * MOTION_SCALE) for v in box),
                                        IGNORE_AROUND_FACE, bounds)
        changed[top:bottom, left:right] = 0
    changed = cv2.dilate(changed, np.ones((3, 3), np.uint8), iterations=2)
    count, _, stats, _ = cv2.connectedComponentsWithStats(changed, connectivity=8)
    return [tuple(int(v / MOTION_SCALE) for v in (y, x + width, y + height, x))
            for x, y, width, height, area in stats[1:count] if area >= 4]


@dataclass(frozen=True)
class FinePlan:
    """Where the fine pass looks, and whether that covers all the motion since the last one."""

    regions: list[Region]
    full_frame: bool
    motion_covered: bool


def update_background(background: np.ndarray | None, current: np.ndarray,
                      rate: float = BACKGROUND_RATE) -> np.ndarray:
    """A slow running average of the motion images: what the scene looks like empty."""
    if background is None or background.shape != current.shape:
        return current.copy()
    return cv2.addWeighted(background, 1.0 - rate, current, rate, 0.0)


def plan_fine(frame: np.ndarray, reference: np.ndarray | None, current: np.ndarray,
              here: list[Box], before: list[Box], followed: list[Box],
              small_tracks: list[Box], ended: list[Box],
              settings: PassSettings, budget: FineBudget, seconds: float,
              everywhere: bool = False, background: np.ndarray | None = None) -> FinePlan:
    """The regions of the fine pass on ``frame``.

    ``current`` is its motion image, ``reference`` that of the last frame whose motion was
    all searched. ``here``: the faces known on this frame; ``before``: the big faces of the
    frame looked at before (their leaving is no news for small faces; where one is not in
    ``here`` is searched for faces of ~60 px and more); ``followed``: faces of ~60 px and more
    followed lately, wherever they are now. Motion away from all of them is searched for small
    faces (closely, within the budget); or else, if it is away from the first two, for faces of
    ~60 px and more (at full resolution, a quarter of the cost, always).
    """
    height, width = frame.shape[:2]
    bounds = (height, width)
    full_scale = 2 * settings.resize_ratio
    whole = FinePlan([Region((0, width, height, 0), full_scale)], True, True)
    if everywhere:  # --small-faces full: as closely as the regions, all of the frame
        close = settings.region_scale * settings.resize_ratio
        return FinePlan([Region((0, width, height, 0), close)], True, True)
    moved = [] if reference is None else motion_boxes(
        reference, current, here + before, settings.motion_threshold, background)
    news = moved if reference is None or not followed else motion_boxes(
        reference, current, here + before + followed, settings.motion_threshold, background)

    def plan(motion: list[Box]) -> tuple[list[Region], float]:
        return fine_regions(motion, small_tracks, ended, bounds,
                            settings.region_scale * settings.resize_ratio,
                            RELIABLE * settings.min_box, min_margin=MIN_MARGIN,
                            whole_scale=full_scale)

    regions, cost = plan(news)
    confirm, confirm_cost = plan([])
    choice = budget.choose(seconds, cost, confirm_cost)
    if choice == FULL:
        return whole
    close = regions if choice == REGIONS else confirm
    # a big face of the frame before that the coarse pass no longer finds has left, or shrunk
    # below what it sees (a zoom out: the demo's 144 px face was 88 px 0.5 s later, and its
    # motion was masked as its own): where it was is searched for faces of ~60 px and more
    lost = [box for box in before if not any(iou(box, face) >= 0.3 for face in here)]
    middle = merge_regions(
        [Region(grow(box, 0.0, bounds, MIN_MARGIN), full_scale / 2) for box in moved
         if not any(contains(r.box, box) for r in close if r.scale > 1)]
        + [Region(grow(box, 0.25, bounds, MIN_MARGIN), full_scale / 2) for box in lost])
    return FinePlan(close + middle, False, choice == REGIONS)


def colour_histogram(bgr: np.ndarray, box: Box) -> np.ndarray:
    """What the face in ``box`` looks like, for tracker.similarity(): a colour histogram."""
    top, right, bottom, left = box
    patch = bgr[max(top, 0):max(bottom, top + 1), max(left, 0):max(right, left + 1)]
    hsv = cv2.cvtColor(patch, cv2.COLOR_BGR2HSV)
    return cv2.calcHist([hsv], [0, 1], None, APPEARANCE_BINS, [0, 180, 0, 256]).ravel()


def deduplicate(boxes: list[Box], overlap: float = 0.4) -> list[Box]:
    """Boxes in order, leaving out any that overlaps an earlier one (the same face twice)."""
    kept: list[Box] = []
    for box in boxes:
        if all(iou(box, other) <= overlap for other in kept):
            kept.append(box)
    return kept


def each_face_once(encodable: dict[Box, bool]) -> list[Box]:
    """The boxes one frame's passes found (in the order found: the full-resolution box first,
    the more precise), each saying whether it is fit to encode, with every face once.

    A box fit to encode comes before one that is not (a face cut by a fine piece's edge, found
    whole by the coarse pass), which is left out when it lies mostly in such a box: a part of
    that face."""
    boxes = deduplicate(sorted(encodable, key=lambda box: not encodable[box]))
    return [box for box in boxes if encodable[box] or not any(
        encodable[whole] and share_inside(box, whole) > 0.5 for whole in boxes)]


