"""report.html and appearances.csv: who was seen when, written into the result on every save.

The page is self-contained: the timeline chart is inline SVG (report.timeline), and the
montage pages next to it in the result directory are linked by relative paths, so it opens
from disk, or anywhere the result directory is copied to, with no network.
"""
from __future__ import annotations

import html
import logging
import re
import time
from pathlib import Path

from facesort import storage
from facesort.records.face import Person, Roster
from facesort.records.source import format_time
from facesort.report.appearances import (
    APPEARANCES_CSV,
    Appearance,
    appearances_csv,
    find_appearances,
)
from facesort.report.memo import ReportMemo
from facesort.report.review_section import review_section
from facesort.report.timeline import UNKNOWN_COLOR, timeline_svg
from facesort.report.sections import (
    FEW_FACES,
    FOLD_FROM,
    Shown,
    counted,
    few_faces_section,
    person_section,
    persons_table,
    sources_section,
    unfit_section,
)
from facesort.report.terminal import summary_line, write_distances_csv
from facesort.result.layout import UNKNOWNS
from facesort.result.montages import montage_pages

log = logging.getLogger(__name__)

REPORT_HTML = "report.html"
PALETTE = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2",
           "#bcbd22", "#17becf", "#aec7e8", "#ffbb78", "#98df8a", "#ff9896", "#c5b0d5",
           "#c49c94", "#f7b6d2", "#dbdb8d", "#9edae5"]  # matplotlib's tab20 without its greys
STYLE = """
body { font-family: system-ui, sans-serif; margin: 2em auto; max-width: 1000px; padding: 0 1em;
       color: #222; }
h1 { margin-bottom: 0.2em; } h2 { margin-top: 1.8em; border-bottom: 1px solid #ccc; }
.facts { color: #555; }
img { max-width: 100%; height: auto; }
img.montage { display: block; margin: 0.5em 0; border: 1px solid #ddd; }
table { border-collapse: collapse; margin: 0.5em 0; }
th, td { text-align: left; padding: 0.2em 0.8em 0.2em 0; border-bottom: 1px solid #eee;
         overflow-wrap: anywhere; }
.wide { max-width: 100%; overflow-x: auto; }
span[title] { text-decoration: underline dotted #999; }
.count { color: #777; font-weight: normal; font-size: 0.8em; }
details summary { cursor: pointer; color: #1f4fa0; margin: 0.5em 0; }
.cards { display: flex; flex-wrap: wrap; gap: 0.8em; }
figure.card { margin: 0; padding: 0.4em; border: 1px solid #ddd; border-radius: 4px;
              max-width: 270px; font-size: 0.85em; color: #444; }
figure.card img.montage { max-width: 256px; margin: 0 0 0.3em; }
td.n { text-align: right; }
.swatch { display: inline-block; width: 0.8em; height: 0.8em; margin-right: 0.4em; }
figure.unfit { display: inline-block; margin: 0 0.4em 0.6em 0; text-align: center;
               font-size: 0.8em; color: #555; }
figure.unfit img { width: 72px; height: 72px; object-fit: cover; border: 1px solid #ddd; }
"""


def write_report(result_dir: Path, db: Roster, memo: ReportMemo | None = None) -> None:
    """Write appearances.csv and report.html from ``db`` as it is now (folder names included).
    ``memo``: what the last report of this run was drawn from (None: draw it all afresh)."""
    memo = memo or ReportMemo()
    found = find_appearances(sighting for person in [*db.persons, db.unknown]
                             for sighting in memo.sightings(person))
    memo.forget_the_rest()
    # surrogateescape: a folder name that is not UTF-8 is written back as the bytes it was
    storage.atomic_write_bytes(result_dir / APPEARANCES_CSV, appearances_csv(
        a for a in found if a.person != UNKNOWNS).encode("utf-8", "surrogateescape"),
        durable=False)  # every save writes the report's files again
    colors = person_colors(db)
    chart = timeline_svg(found, colors)
    page = report_html(result_dir, db, found, chart, colors, written_at=time.time())
    storage.atomic_write_bytes(result_dir / REPORT_HTML, page.encode("utf-8", "surrogateescape"),
                               durable=False)
    write_distances_csv(result_dir, db)
    log.info("%s and %s written", result_dir / REPORT_HTML, result_dir / APPEARANCES_CSV)


def persons_shown(db: Roster) -> list[Person]:
    """The persons with faces, in the order of their names read as a person reads them
    (person_2 before person_10)."""
    return sorted((p for p in db.persons if p.faces), key=lambda p: natural_order(p.name))


def natural_order(name: str) -> list[str | int]:
    """A sort key that takes the runs of digits in ``name`` as numbers."""
    return [int(part) if part.isdigit() else part.casefold()
            for part in re.split(r"(\d+)", name)]


def person_colors(db: Roster) -> dict[str, str]:
    """One colour per person, the same in the chart and on the page."""
    named = {p.name: PALETTE[i % len(PALETTE)] for i, p in enumerate(persons_shown(db))}
    return {**named, UNKNOWNS: UNKNOWN_COLOR}


# --- the page ----------------------------------------------------------------------------
def report_html(result_dir: Path, db: Roster, found: list[Appearance], chart: str | None,
                colors: dict[str, str], written_at: float) -> str:
    """The whole page: summary, timeline, a section per person, the unknowns, the sources."""
    e = html.escape
    by_person: dict[str, list[Appearance]] = {}
    for appearance in found:
        by_person.setdefault(appearance.person, []).append(appearance)

    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>face-classifier: {e(result_dir.name or str(result_dir))}</title>",
        f"<style>{STYLE}</style></head><body>",
        "<h1>Who was there, and when</h1>",
        f'<p class="facts">{e(summary_line(db))} &middot; written '
        f'{e(format_time(written_at, wall_clock=True))} by face-classifier</p>',
        "<h2>Timeline</h2>",
    ]
    if chart is not None:
        parts.append(chart)
        parts.append('<p class="facts">A bar is a continuous appearance (see '
                     'appearances.csv); grey is faces nobody was matched to.</p>')
    else:
        parts.append("<p>Nobody was seen in a video or webcam yet.</p>")

    parts.append(persons_part(result_dir, db, by_person, colors))
    parts.append(review_section(result_dir, db))  # suggestions and the distance table
    parts.append(sources_section(db))
    parts.append("</body></html>\n")
    return "\n".join(parts)


def persons_part(result_dir: Path, db: Roster, by_person: dict[str, list[Appearance]],
                 colors: dict[str, str]) -> str:
    """The persons table and their sections, those seen once or twice folded apart; then the
    unknown faces."""
    shown = [Shown(p, by_person.get(p.name, []), f"person-{number}", colors[p.name])
             for number, p in enumerate(persons_shown(db), 1)]
    folding = len(shown) > FOLD_FROM
    many = [item for item in shown if not folding or len(item.person.faces) > FEW_FACES]
    few = [item for item in shown if folding and len(item.person.faces) <= FEW_FACES]
    parts = ["<h2>Persons</h2>"]
    if not shown:
        parts.append("<p>No persons yet.</p>")
    if many:
        parts.append(persons_table(many))
    if few:
        parts.append(f'<p class="facts"><a href="#seen-few">{counted(len(few), "person")} '
                     f"seen once or twice</a> ({FEW_FACES} faces at most) are listed apart.</p>")
    pages = montage_pages(result_dir)
    parts += [person_section(pages, item) for item in many]
    parts.append(few_faces_section(pages, few))
    if db.unknown.faces:
        unknowns = Shown(db.unknown, by_person.get(UNKNOWNS, []), "unknowns", UNKNOWN_COLOR)
        parts.append(person_section(pages, unknowns, title="Unknown faces"))
        parts.append(unfit_section(db.unknown))
    return "\n".join(parts)
