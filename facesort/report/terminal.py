"""The summary the post prints at the end of a run: the counts, then the distance table; and the
whole table as distances.csv in the result.

Up to MAX_TABLE_PERSONS persons the post's table, every person against every person; beyond,
a library's hundreds of persons would fill the terminal, so the persons with the most faces
each with their nearest others, and one line for the rest.
"""
from __future__ import annotations

import csv
import io
from pathlib import Path
from typing import Iterator

import numpy as np

from facesort import storage
from facesort.records.face import Person, Roster, face_distance

DISTANCES_CSV = "distances.csv"
MAX_TABLE_PERSONS = 20   # the post's table up to this many persons (its example has 8)
MAX_CSV_PERSONS = 2000   # distances.csv: the persons with most faces (2,000: ~24 MB)
NEAREST = 3              # beyond the table: each listed person's nearest others
BLOCK_ROWS = 256         # rows of distances computed at once: memory stays ~persons x 256


def counted(number: int, noun: str) -> str:
    """'1 unknown face', '2 unknown faces'."""
    return f"{number} {noun}{'' if number == 1 else 's'}"


def summary_line(db: Roster) -> str:
    """'2 persons, 10 known faces, 0 unknown faces', as the post prints it."""
    known = sum(len(p.faces) for p in db.persons)
    return (f"{counted(len(db.persons), 'person')}, {counted(known, 'known face')}, "
            f"{counted(len(db.unknown.faces), 'unknown face')}")


def persons_with_faces(db: Roster) -> list[Person]:
    return sorted((p for p in db.persons if p.faces), key=lambda p: p.name)


def most_faces(persons: list[Person], count: int) -> list[Person]:
    """The ``count`` persons with the most faces, in name order."""
    return sorted(sorted(persons, key=lambda p: -len(p.faces))[:count], key=lambda p: p.name)


def spread(person: Person) -> str:
    low, mean, high = person.distance_statistics()
    return f"{low:.3f}, {mean:.3f}, {high:.3f}, {counted(len(person.faces), 'face')}"


def distance_lines(db: Roster) -> list[str]:
    """The post's table up to MAX_TABLE_PERSONS persons (each person's distance to every
    person's average, then the min, mean and max distance of its faces to its own); beyond,
    the persons with the most faces, each with its nearest others, then one line."""
    persons = persons_with_faces(db)
    if not persons:
        return []
    width = max(10, *(len(p.name) for p in persons))  # the post's 10, wider for long names
    if len(persons) <= MAX_TABLE_PERSONS:
        averages = np.array([p.encoding for p in persons])
        return [f"{p.name:{width}} [ "
                + " ".join(f"{d:5.3f}" for d in face_distance(averages, p.encoding))
                + f" ] {spread(p)}" for p in persons]
    shown = most_faces(persons, MAX_TABLE_PERSONS)
    width = max(10, *(len(p.name) for p in shown))
    averages = np.array([p.encoding for p in persons])
    lines = [f"the {len(shown)} persons with the most faces, each with its {NEAREST} nearest "
             "persons (distance between averages), then its own faces' min, mean and max "
             "distance to its average:"]
    for person in shown:
        distances = face_distance(averages, person.encoding)
        order = [i for i in np.argsort(distances, kind="stable")
                 if persons[i] is not person][:NEAREST]
        nearest = "  ".join(f"{persons[i].name} {distances[i]:.3f}" for i in order)
        lines.append(f"{person.name:{width}} [ {nearest} ] {spread(person)}")
    rest = [p for p in persons if p not in shown]
    sizes = [len(p.faces) for p in rest]
    lines.append(f"and {counted(len(rest), 'more person')} ({min(sizes)}-{max(sizes)} faces "
                 f"each, {sum(sizes)} in all); every distance: {DISTANCES_CSV} in the result")
    return lines


def print_persons(db: Roster) -> None:
    """The counts and the distance table, on stdout (the output the post shows)."""
    print(summary_line(db))
    for line in distance_lines(db):
        print(line)


def distance_rows(persons: list[Person]) -> Iterator[list[str]]:
    """distances.csv's rows: a header, then per person its distance to every person's average,
    its own faces' min, mean and max distance to its average, and its number of faces."""
    yield ["person", *(p.name for p in persons), "min", "mean", "max", "faces"]
    averages = np.array([p.encoding for p in persons], dtype=np.float64)
    for start in range(0, len(persons), BLOCK_ROWS):
        block = averages[start:start + BLOCK_ROWS]
        squared = ((block * block).sum(1)[:, None] + (averages * averages).sum(1)[None, :]
                   - 2 * block @ averages.T)
        for person, row in zip(persons[start:start + BLOCK_ROWS],
                               np.sqrt(np.maximum(squared, 0))):
            low, mean, high = person.distance_statistics()
            yield [person.name, *(f"{d:.3f}" for d in row), f"{low:.3f}", f"{mean:.3f}",
                   f"{high:.3f}", str(len(person.faces))]


def write_distances_csv(result_dir: Path, db: Roster) -> None:
    """distances.csv: the whole table (the persons with most faces, beyond MAX_CSV_PERSONS)."""
    persons = most_faces(persons_with_faces(db), MAX_CSV_PERSONS)
    text = io.StringIO()
    csv.writer(text, lineterminator="\n").writerows(distance_rows(persons))
    storage.atomic_write_bytes(result_dir / DISTANCES_CSV,
                               text.getvalue().encode("utf-8", "surrogateescape"), durable=False)
