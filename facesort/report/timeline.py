"""The report's timeline: who was seen when, one panel per video or webcam session, a row per
person and a bar per appearance, as SVG written straight into report.html.

Written as text rather than drawn by a plotting library: a save no longer imports matplotlib
and renders a picture (3 s of a 25 s run at -S 0, cProfile), and the browser draws the names
in its own fonts, whatever their script, sharp at any zoom.
"""
from __future__ import annotations

import html
import math
import time
from collections import Counter
from pathlib import Path

from facesort.records.source import CAMERA, PHOTO, format_time, source_kind
from facesort.report.appearances import Appearance
from facesort.result.layout import UNKNOWNS

MAX_CHART_SOURCES = 8    # videos and webcam sessions drawn; all are in appearances.csv
MAX_CHART_ROWS = 30      # persons per source drawn, those with the most faces first
MAX_NAME = 24            # characters of a name shown beside its row
UNKNOWN_COLOR = "#9e9e9e"
# the layout, in CSS pixels: the chart is WIDTH wide, names left of PLOT_LEFT
WIDTH, PLOT_LEFT, PLOT_RIGHT = 960, 170, 20
TITLE_H, ROW_H, AXIS_H, GAP_H = 26, 30, 26, 22
BAR_SHARE = 0.7           # of a row's height
MIN_BAR_SHARE = 1 / 150   # of the time shown: the narrowest bar, so a glimpse can be seen
TICKS = 10                # at most this many ticks, on whole seconds at steps a clock reads well
TICK_STEPS = (1, 1.5, 2, 3, 5, 6, 10)


def timeline_svg(found: list[Appearance], colors: dict[str, str]) -> str | None:
    """The chart of the appearances in videos and webcam sessions (the first
    MAX_CHART_SOURCES of them); None when there are none (photos have no time to draw)."""
    by_source: dict[str, list[Appearance]] = {}
    for appearance in found:
        if appearance.kind != PHOTO:
            by_source.setdefault(appearance.source, []).append(appearance)
    if not by_source:
        return None
    parts: list[str] = []
    height = 0
    for source in sorted(by_source)[:MAX_CHART_SOURCES]:
        height = panel(parts, source, by_source[source], colors, height)
    return (f'<svg class="timeline" xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" '
            f'height="{height}" viewBox="0 0 {WIDTH} {height}" role="img" '
            f'aria-label="timeline: who appears when, per video">'
            f'<style>text {{ font: 12px system-ui, sans-serif; fill: #222 }} '
            f'.tick {{ fill: #555; font-size: 11px }}</style>'
            + "".join(parts) + "</svg>")


def panel(parts: list[str], source: str, appearances: list[Appearance],
          colors: dict[str, str], top: int) -> int:
    """Draw one source's panel from ``top`` down into ``parts``; return where it ends."""
    camera = source_kind(source) == CAMERA
    origin = min(a.start_s for a in appearances) if camera else 0.0
    span = max(max(a.end_s for a in appearances) - origin, 1.0)
    shown = span * 1.02
    names = chart_rows(appearances)
    plot_top, plot_width = top + TITLE_H, WIDTH - PLOT_LEFT - PLOT_RIGHT
    plot_height = ROW_H * len(names)
    x_of = lambda seconds: PLOT_LEFT + seconds / shown * plot_width  # noqa: E731

    title = (f"{Path(source).name}  (webcam, from {format_time(origin, wall_clock=True)})"
             if camera else f"{Path(source).name}  (video time)")
    parts.append(f'<text x="{PLOT_LEFT}" y="{top + 17}">{html.escape(title)}</text>')
    for tick in ticks(shown):
        x = x_of(tick)
        label = (time.strftime("%H:%M:%S", time.localtime(origin + tick)) if camera
                 else format_time(tick).rsplit(".", 1)[0])
        parts.append(f'<line x1="{x:.1f}" y1="{plot_top}" x2="{x:.1f}" '
                     f'y2="{plot_top + plot_height}" stroke="#e5e5e5"/>'
                     f'<text class="tick" x="{x:.1f}" y="{plot_top + plot_height + 16}" '
                     f'text-anchor="middle">{html.escape(label)}</text>')
    by_person: dict[str, list[Appearance]] = {}
    for a in appearances:
        by_person.setdefault(a.person, []).append(a)
    bar_height = ROW_H * BAR_SHARE
    for row, name in enumerate(names):
        middle = plot_top + ROW_H * (row + 0.5)
        shown_name = name if len(name) <= MAX_NAME else name[:MAX_NAME - 1] + "…"
        parts.append(f'<text x="{PLOT_LEFT - 8}" y="{middle + 4:.1f}" text-anchor="end">'
                     f'<title>{html.escape(name)}</title>{html.escape(shown_name)}</text>')
        bars = [(a.start_s - origin, max(a.end_s - a.start_s, span * MIN_BAR_SHARE))
                for a in by_person[name]]
        color = html.escape(colors.get(name, UNKNOWN_COLOR))
        for start, width in overlaps_joined(bars):
            parts.append(f'<rect x="{x_of(start):.1f}" y="{middle - bar_height / 2:.1f}" '
                         f'width="{max(width / shown * plot_width, 1.0):.1f}" '
                         f'height="{bar_height:.1f}" fill="{color}"/>')
    parts.append(f'<rect x="{PLOT_LEFT}" y="{plot_top}" width="{plot_width}" '
                 f'height="{plot_height}" fill="none" stroke="#999"/>')
    return plot_top + plot_height + AXIS_H + GAP_H


def chart_rows(appearances: list[Appearance]) -> list[str]:
    """The persons of one source, most faces first (capped), drawn in order of first sight,
    the unknown faces last."""
    faces: Counter[str] = Counter()
    first: dict[str, float] = {}
    for a in appearances:
        faces[a.person] += a.faces
        first.setdefault(a.person, a.start_s)
    kept = [p for p, _ in faces.most_common(MAX_CHART_ROWS)]
    people = sorted((p for p in kept if p != UNKNOWNS), key=lambda p: (first[p], p))
    return people + ([UNKNOWNS] if UNKNOWNS in kept else [])


def ticks(limit: float) -> list[float]:
    """Tick places from 0 up to ``limit`` seconds: whole seconds, at most TICKS of them, at the
    smallest step of the form TICK_STEPS x 10^k that allows it."""
    magnitude = 10 ** max(0, math.floor(math.log10(max(limit / TICKS, 1.0))))
    step = next(s * magnitude for s in (*TICK_STEPS, 15)
                if s * magnitude >= 1 and limit / (s * magnitude) <= TICKS)
    if step != int(step):   # 1.5 x 10^0: not whole seconds
        step = 2 * magnitude
    return [k * step for k in range(int(limit // step) + 1)]


def overlaps_joined(bars: list[tuple[float, float]]) -> list[tuple[float, float]]:
    """(start, width) bars of one colour, those that overlap drawn as one: the same picture,
    and a long webcam session's many short appearances are not drawn one by one."""
    joined: list[tuple[float, float]] = []
    for start, width in sorted(bars):
        if joined and start < joined[-1][0] + joined[-1][1]:
            first, first_width = joined[-1]
            joined[-1] = (first, max(first_width, start + width - first))
        else:
            joined.append((start, width))
    return joined
