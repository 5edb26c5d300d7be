"""The distances the sorting rules and the review's suggestions use, one set per encoder.

Two encoders' numbers are not comparable: dlib's encodings of one person lie ~0.4 apart,
MobileFaceNet's (of unit length) ~0.8. Each value was measured for its encoder; how is in
docs/tuning.md. Most rules that compare distances with each other (ratios) need no second value; rule 4's
spread test does (MobileFaceNet's looks of one person lie relatively further apart).
"""
from __future__ import annotations

from dataclasses import dataclass

from facesort.records.modes import EncoderKind


@dataclass(frozen=True, kw_only=True)
class EncoderDistances:
    """Distances between two encodings of one encoder."""

    threshold: float        # -t: closer encodings are one person
    switch: float           # a track's re-encoding this far from its average: someone else
    suggest_merge: float    # the review suggests merging two persons closer than this
    suggest_averages: float  # ... and looks only at pairs whose averages are closer than this
    suggest_place: float    # an unknown face this close to a person is suggested for them
    merge_spread_ratio: float  # rule 4: a one-track person this far, relative to the
    #                            spread of the other's tracks, is a look-alike, not them


DISTANCES = {
    EncoderKind.DLIB: EncoderDistances(threshold=0.44, switch=0.6, suggest_merge=0.58,
                                       suggest_averages=0.75, suggest_place=0.55,
                                       merge_spread_ratio=1.25),
    EncoderKind.MOBILEFACENET: EncoderDistances(threshold=1.0, switch=1.2,
                                                suggest_merge=1.18, suggest_averages=1.37,
                                                suggest_place=1.13, merge_spread_ratio=1.35),
}


def distances_of(encoder: EncoderKind | str) -> EncoderDistances:
    """The distances measured for ``encoder``."""
    return DISTANCES[EncoderKind(encoder)]
