"""The review's suggestions, read-only, as a section of report.html: the distance table and the
suggestions ranked best first (face-classifier review acts on them)."""
from __future__ import annotations

import html
from pathlib import Path
from typing import Collection

import numpy as np

from facesort.records.distances import distances_of
from facesort.records.face import Person, Roster, merge_rank
from facesort.report.suggestions import Suggestions, suggest
from facesort.result.dismissals import read_dismissed

MAX_TABLE_PERSONS = 30   # the distance table's rows and columns: the persons with most faces
MAX_LISTED = 25          # suggestions of each kind


def review_section(result_dir: Path, db: Roster) -> str:
    """The section for report.html, with the dismissals remembered in ``result_dir``."""
    return suggestions_html(db, read_dismissed(result_dir))


def suggestions_html(db: Roster, dismissed: Collection[str] = ()) -> str:
    """HTML (one <section>) of the distance table and the suggestions; no script, no image."""
    persons = sorted((p for p in db.persons if p.faces), key=merge_rank)
    distances = distances_of(db.encoder)
    threshold = distances.threshold
    found = suggest(persons, db.unknown, dismissed, distances)
    return "\n".join([
        '<section id="suggestions">',
        "<h2>Distances and suggestions</h2>",
        '<p class="facts">Distances between 128-number encodings; two faces closer than '
        f"{threshold} are one person. Run <code>face-classifier review</code> to act on the "
        "suggestions (a dismissed one is not shown again).</p>",
        distance_table_html(persons),
        suggestion_lists_html(found),
        "</section>",
    ])


def distance_table_html(persons: list[Person]) -> str:
    """The console's distance table: each person's distance to every person's average, then the
    min, mean and max distance of its own faces to its average, and its number of faces."""
    e = html.escape
    if not persons:
        return "<p>No persons yet.</p>"
    shown = sorted(sorted(persons, key=lambda p: -len(p.faces))[:MAX_TABLE_PERSONS],
                   key=lambda p: p.name)
    averages = np.array([p.encoding for p in shown])
    lines = ['<table class="distances"><tr><th>person</th>',
             *(f'<th class="n">{e(p.name)}</th>' for p in shown),
             '<th class="n">min</th><th class="n">mean</th><th class="n">max</th>'
             '<th class="n">faces</th></tr>']
    for person in shown:
        distances = np.linalg.norm(averages - person.encoding, axis=1)
        low, mean, high = person.distance_statistics()
        cells = "".join(f'<td class="n">{d:.3f}</td>' for d in distances)
        lines.append(f"<tr><td>{e(person.name)}</td>{cells}<td class='n'>{low:.3f}</td>"
                     f"<td class='n'>{mean:.3f}</td><td class='n'>{high:.3f}</td>"
                     f"<td class='n'>{len(person.faces)}</td></tr>")
    lines.append("</table>")
    if len(persons) > len(shown):
        lines.append(f"<p>The {len(shown)} persons with the most faces of {len(persons)}.</p>")
    return "\n".join(lines)


def suggestion_lists_html(found: Suggestions) -> str:
    e = html.escape
    parts = ["<h3>Persons that may be one</h3>"]
    parts.append(listing(
        [f"<b>{e(s.kept)}</b> and <b>{e(s.absorbed)}</b>: distance {s.distance:.3f} "
         f"(averages {s.average_distance:.3f} apart; {s.joining} of {s.smaller} faces of the "
         "smaller within the threshold)" for s in found.merges],
        "No two persons look like one."))
    parts.append("<h3>Unknown faces near a person</h3>")
    parts.append(listing(
        [f"{e(s.face)} near <b>{e(s.person)}</b>: distance {s.distance:.3f}"
         for s in found.unknowns], "No unknown face is near a person."))
    parts.append("<h3>Faces far from their person</h3>")
    parts.append(listing(
        [f"{e(s.face)} in <b>{e(s.person)}</b>: distance {s.distance:.3f} from the others; "
         + ("nearer to nobody" if s.move_to_distance is None
            else f"nearer to {e(s.move_to)} ({s.move_to_distance:.3f})")
         for s in found.misplaced], "Every face is near its person."))
    return "\n".join(parts)


def listing(items: list[str], empty: str) -> str:
    if not items:
        return f"<p>{empty}</p>"
    more = (f"<p>and {len(items) - MAX_LISTED} more in face-classifier review</p>"
            if len(items) > MAX_LISTED else "")
    return "<ol>" + "".join(f"<li>{item}</li>" for item in items[:MAX_LISTED]) + "</ol>" + more
