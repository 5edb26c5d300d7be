"""report.html's sections below the chart: the persons table, a section per person, the persons
seen once or twice folded under one heading, the faces not fit to sort, the sources.

Sources are shown by their file name, the whole path on hover, so that tables fit the page;
images load as they scroll into view (a library's result has a thousand montage pages).
"""
from __future__ import annotations

import html
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

from facesort.records.face import Person, Roster
from facesort.records.source import CAMERA, PHOTO, format_time, source_kind
from facesort.report.appearances import APPEARANCES_CSV, Appearance
from facesort.result.layout import FACES_CSV, UNKNOWNS
from facesort.result.montages import MONTAGE_GRID, MONTAGE_TILE

MAX_LISTED = 25          # appearances or photos listed under a person
MAX_UNFIT_SHOWN = 120    # faces unfit to sort shown; all are in faces.csv
FEW_FACES = 2            # persons with at most this many faces are folded (Immich's "minimum
FOLD_FROM = 20           # faces") when there are more persons than this: strangers in the
                         # background do not bury the people that matter
ADDED_BY_HAND = "(added by hand)"

e = html.escape


@dataclass(frozen=True)
class Shown:
    """A person as the page shows them: their appearances, anchor and colour."""

    person: Person
    seen: list[Appearance]
    anchor: str
    color: str


def counted(number: int, noun: str) -> str:
    return f"{number} {noun}{'' if number == 1 else 's'}"


def place(source: str) -> str:
    """HTML of a source: its file name, the whole path on hover."""
    name = Path(source).name or source
    return e(name) if name == source else f'<span title="{e(source)}">{e(name)}</span>'


def when(appearance: Appearance, end: bool = False) -> str:
    """HTML of where and when: "clip.mp4 at 1:02.5"; a photo is just its name."""
    kind = appearance.kind
    if kind == PHOTO:
        return place(appearance.source)
    seconds = appearance.end_s if end else appearance.start_s
    return f"{place(appearance.source)} at {e(format_time(seconds, wall_clock=kind == CAMERA))}"


def first_and_last(seen: list[Appearance]) -> tuple[str, str]:
    """Where a person was first and last seen: in videos if any, else in photos."""
    timed = [a for a in seen if a.kind != PHOTO] or seen
    return (when(timed[0]), when(timed[-1], end=True)) if timed else ("", "")


def persons_table(shown: list[Shown]) -> str:
    """One row per person: faces, appearances, photos, first and last seen."""
    rows = ['<div class="wide"><table class="persons"><tr><th>person</th><th>faces</th>'
            "<th>appearances</th><th>photos</th><th>first seen</th><th>last seen</th></tr>"]
    for item in shown:
        photos = sum(a.kind == PHOTO for a in item.seen)
        first, last = first_and_last(item.seen)
        rows.append(
            f'<tr><td><span class="swatch" style="background:{item.color}"></span>'
            f'<a href="#{item.anchor}">{e(item.person.name)}</a></td>'
            f'<td class="n">{len(item.person.faces)}</td>'
            f'<td class="n">{len(item.seen) - photos}</td><td class="n">{photos}</td>'
            f"<td>{first}</td><td>{last}</td></tr>")
    rows.append("</table></div>")
    return "\n".join(rows)


def montage_images(pages: dict[str, list[str]], person: Person) -> list[str]:
    """The person's montage ``pages``, each sized as drawn, loaded when scrolled to."""
    per_page = MONTAGE_GRID[0] * MONTAGE_GRID[1]
    images = []
    for number, page in enumerate(pages.get(person.name, [])):
        faces = max(1, min(per_page, len(person.faces) - number * per_page))
        columns = min(MONTAGE_GRID[0], faces)
        rows = -(-faces // MONTAGE_GRID[0])
        images.append(f'<img class="montage" src="{quote(page, errors="surrogateescape")}" '
                      f'width="{columns * MONTAGE_TILE[0]}" height="{rows * MONTAGE_TILE[1]}" '
                      f'loading="lazy" alt="faces of {e(person.name)}, page {number + 1}">')
    return images


def person_facts(person: Person, seen: list[Appearance]) -> list[str]:
    timed = [a for a in seen if a.kind != PHOTO]
    photos = {a.source for a in seen if a.kind == PHOTO}
    facts = [counted(len(person.faces), "face")]
    if timed:
        videos = counted(len({a.source for a in timed}), "video")
        facts.append(f"{counted(len(timed), 'appearance')} in {videos}")
        facts.append(f"first seen {when(timed[0])}")
        facts.append(f"last seen {when(timed[-1], end=True)}")
    if photos:
        facts.append(f"in {counted(len(photos), 'photo')}")
    return facts


def person_section(pages: dict[str, list[str]], item: Shown, title: str | None = None) -> str:
    """A person's montage ``pages`` (montages.montage_pages), counts, first and last sight,
    and appearances."""
    person, seen = item.person, item.seen
    timed = [a for a in seen if a.kind != PHOTO]
    photos = sorted({a.source for a in seen if a.kind == PHOTO})
    lines = [f'<section id="{item.anchor}">',
             f'<h2><span class="swatch" style="background:{item.color}"></span>'
             f"{e(title or person.name)}</h2>",
             f'<p class="facts">{" · ".join(person_facts(person, seen))}</p>',
             *montage_images(pages, person)]
    if timed and person.name != UNKNOWNS:
        lines.append('<div class="wide"><table><tr><th>source</th><th>from</th><th>to</th>'
                     "<th>faces</th></tr>")
        for a in timed[:MAX_LISTED]:
            camera = a.kind == CAMERA
            lines.append(f"<tr><td>{place(a.source)}</td>"
                         f"<td>{e(format_time(a.start_s, wall_clock=camera))}</td>"
                         f"<td>{e(format_time(a.end_s, wall_clock=camera))}</td>"
                         f'<td class="n">{a.faces}</td></tr>')
        lines.append("</table></div>")
        if len(timed) > MAX_LISTED:
            lines.append(f"<p>and {len(timed) - MAX_LISTED} more in {APPEARANCES_CSV}</p>")
    if photos:
        listed = ", ".join(place(p) for p in photos[:MAX_LISTED])
        more = f" and {len(photos) - MAX_LISTED} more" if len(photos) > MAX_LISTED else ""
        lines.append(f"<p>Photos: {listed}{more}</p>")
    lines.append("</section>")
    return "\n".join(lines)


def few_faces_section(pages: dict[str, list[str]], few: list[Shown]) -> str:
    """The persons seen once or twice, under one heading that gives their counts, folded: a
    compact card each (name, facts, faces), reachable from their own table."""
    if not few:
        return ""
    faces = sum(len(item.person.faces) for item in few)
    lines = ['<section id="seen-few">',
             f"<h2>Seen once or twice <span class=\"count\">({counted(len(few), 'person')}, "
             f"{counted(faces, 'face')})</span></h2>",
             '<details><summary>Persons with at most '
             f"{counted(FEW_FACES, 'face')}: often strangers in the background. "
             "Show them</summary>", persons_table(few), '<div class="cards">']
    for item in few:
        photos = sorted({a.source for a in item.seen if a.kind == PHOTO})
        listed = f"<br>Photos: {', '.join(place(p) for p in photos)}" if photos else ""
        lines += [f'<figure class="card" id="{item.anchor}">',
                  *montage_images(pages, item.person),
                  f'<figcaption><span class="swatch" style="background:{item.color}"></span>'
                  f"<strong>{e(item.person.name)}</strong><br>"
                  f"{' · '.join(person_facts(item.person, item.seen))}{listed}"
                  "</figcaption></figure>"]
    lines.append("</div></details></section>")
    return "\n".join(lines)


def unfit_section(unknown: Person) -> str:
    """The unknown faces not fit to sort (Face.unfit): how many for each reason, and the
    faces with theirs. They are kept for the user to see, never put in a person by the tool."""
    unfit = [face for face in unknown.faces if face.unfit]
    if not unfit:
        return ""
    reasons = Counter(face.unfit for face in unfit)
    said = ", ".join(f"{count} {e(reason)}" for reason, count in sorted(reasons.items()))
    lines = ['<section id="unfit">', "<h2>Faces not fit to sort</h2>",
             f'<p class="facts">{counted(len(unfit), "face")} in {UNKNOWNS}/ whose encoding '
             f"is not trusted: {said}. The tool never puts them in a person; move one into a "
             "person's folder to give it to them.</p>"]
    for face in unfit[:MAX_UNFIT_SHOWN]:
        src = quote(f"{UNKNOWNS}/{face.file_name}", errors="surrogateescape")
        lines.append(f'<figure class="unfit"><img src="{src}" alt="{e(face.file_name)}" '
                     f'title="{e(face.file_name)}" width="72" height="72" loading="lazy">'
                     f"<figcaption>{e(face.unfit)}</figcaption></figure>")
    if len(unfit) > MAX_UNFIT_SHOWN:
        lines.append(f"<p>and {len(unfit) - MAX_UNFIT_SHOWN} more in {FACES_CSV} "
                     "(its unfit column)</p>")
    lines.append("</section>")
    return "\n".join(lines)


def sources_section(db: Roster) -> str:
    """Every source with its kind, its number of faces and of persons, as faces.csv records
    them."""
    faces: Counter[str] = Counter()
    persons: dict[str, set[str]] = {}
    for person, face in db.all_faces():
        source = face.source or ADDED_BY_HAND
        faces[source] += 1
        if person.name != UNKNOWNS:
            persons.setdefault(source, set()).add(person.name)
    if not faces:
        return ""
    lines = ["<h2>Sources</h2>", '<div class="wide"><table><tr><th>source</th><th>kind</th>'
             "<th>faces</th><th>persons</th></tr>"]
    for source in sorted(faces):
        kind = "" if source == ADDED_BY_HAND else source_kind(source).value
        lines.append(f"<tr><td>{place(source)}</td><td>{kind}</td>"
                     f"<td class='n'>{faces[source]}</td>"
                     f"<td class='n'>{len(persons.get(source, ()))}</td></tr>")
    lines.append("</table></div>")
    return "\n".join(lines)
