"""Where HOG's small-face pass looks: regions of the frame at a scale each, joined where they
overlap, and the budget that decides how much of the frame a pass may search.

Rules on boxes only (no dlib, no OpenCV): tested with synthetic boxes in milliseconds.
"""
from __future__ import annotations

import itertools
from dataclasses import dataclass
from typing import Iterable

from facesort.records.box import Box, box_area, box_size, contains, grow, iou, union_box
from facesort.records.modes import FineChoice


@dataclass(frozen=True)
class Region:
    """A part of the frame to search, and at what scale: ``scale`` pixels looked at per
    original pixel (2: upsampled once, the scale that finds faces down to ~24 px)."""

    box: Box
    scale: float


def merge_regions(regions: Iterable[Region]) -> list[Region]:
    """Overlapping regions of one scale joined into their bounding box until none overlap:
    a face cut in two by a region border is found by neither part. Regions of different
    scales stay apart (joined, the larger scale would be paid for the whole)."""
    merged = [r for r in regions if box_area(r.box) > 0]
    changed = True
    while changed:
        changed = False
        for i, j in itertools.combinations(range(len(merged)), 2):
            a, b = merged[i].box, merged[j].box
            if merged[i].scale == merged[j].scale and (
                    iou(a, b) > 0 or contains(a, b) or contains(b, a)):
                joined = Region(union_box(a, b), merged[i].scale)
                merged = [r for k, r in enumerate(merged) if k not in (i, j)] + [joined]
                changed = True
                break
    return sorted(merged, key=lambda r: (r.box, r.scale))


def search_cost(regions: Iterable[Region]) -> float:
    """Pixels HOG looks at: area times scale squared."""
    return sum(box_area(r.box) * r.scale ** 2 for r in regions)


# --- appearance -----------------------------------------------------------------------------
FULL, REGIONS, CONFIRM = FineChoice.FULL, FineChoice.REGIONS, FineChoice.CONFIRM


@dataclass
class FineBudget:
    """How much small-face searching the fine passes may do, in whole-frame searches.

    A bucket that fills at ``per_second`` (seconds of video) up to one whole-frame search:
    - the first pass searches the whole frame; later ones do when the bucket is full and
      either most of the frame moved (a camera pan) or ``full_every_s`` has passed since the
      last whole-frame search (a still face the other passes never had reason to look at);
    - otherwise the regions around motion, small tracks and lost faces are searched closely
      when the bucket holds their cost (REGIONS);
    - else only the small tracks and lost faces are (CONFIRM), and the motion waits for a
      pass that can afford it (the caller still looks at it for faces of ~60 px and more).
    """

    per_second: float = 0.3
    full_every_s: float = 10.0
    large: float = 0.5              # regions costing more than this: search the whole frame
    tokens: float = 1.0
    last_seconds: float | None = None
    last_full: float | None = None

    def choose(self, seconds: float, cost: float, confirm_cost: float) -> str:
        """FULL, REGIONS or CONFIRM for a fine pass at ``seconds``; ``cost`` (which includes
        ``confirm_cost``) as a fraction of a whole-frame search."""
        if self.last_seconds is not None:
            elapsed = max(0.0, seconds - self.last_seconds)
            self.tokens = min(1.0, self.tokens + self.per_second * elapsed)
        self.last_seconds = seconds
        if self.last_full is None or (self.tokens >= 1.0 and (
                cost > self.large or seconds - self.last_full >= self.full_every_s)):
            self.tokens -= 1.0
            self.last_full = seconds
            return FULL
        if cost <= self.tokens:
            self.tokens -= cost
            return REGIONS
        self.tokens = max(-1.0, self.tokens - confirm_cost)
        return CONFIRM


def fine_regions(motion: list[Box], small_tracks: list[Box], ended: list[Box],
                 bounds: tuple[int, int], full_scale: float = 2.0, reliable_size: float = 62.5,
                 motion_scale: float | None = None, margin: float = 0.5, min_margin: int = 40,
                 whole_scale: float | None = None) -> tuple[list[Region], float]:
    """Where to look for small faces, and how closely.

    Around motion (at ``motion_scale``, by default ``full_scale``: any face size), around each
    small track (to confirm it; at half of ``whole_scale`` when it is ``reliable_size`` px or
    more, a quarter of the cost), and where small tracks just ended (the face may be there).
    HOG needs some context around a face, hence ``min_margin``. Returns the merged regions and
    their search cost as a fraction of a whole-frame search at ``whole_scale`` (by default
    ``full_scale``).
    """
    motion_scale = full_scale if motion_scale is None else motion_scale
    whole = full_scale if whole_scale is None else whole_scale
    # a motion box is no face box: only HOG's context margin around it
    regions = [Region(grow(box, 0.0, bounds, min_margin), motion_scale) for box in motion]
    regions += [Region(grow(box, margin / 2, bounds, min_margin),
                       whole / 2 if box_size(box) >= reliable_size else full_scale)
                for box in small_tracks]
    regions += [Region(grow(box, margin, bounds, min_margin), full_scale) for box in ended]
    regions = merge_regions(regions)
    height, width = bounds
    return regions, search_cost(regions) / (height * width * whole ** 2)
