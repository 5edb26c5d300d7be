"""The summary the post prints: counts said in words, the distance table aligned whatever the
names, a library's hundreds of persons in a few lines, and the whole table in distances.csv."""
import csv
import re

import numpy as np

from facesort.records.face import Person
from facesort.report.terminal import (
    DISTANCES_CSV,
    MAX_TABLE_PERSONS,
    NEAREST,
    distance_lines,
    summary_line,
    write_distances_csv,
)
from person_db import PersonDB


def roster(make_face, spots: dict[str, list[tuple[float, ...]]], unknown: int = 0) -> PersonDB:
    """A PersonDB of persons named as ``spots``' keys, a face at each of their offsets."""
    db = PersonDB()
    for name, offsets in spots.items():
        person = Person(name)
        person.faces = [make_face(*o) for o in offsets]
        person.calculate_average_encoding()
        db.add_person(person)
    db.unknown.faces = [make_face(9.0) for _ in range(unknown)]
    return db


def test_the_counts_say_one_face_and_several_faces(make_face):
    db = roster(make_face, {"anna": [(0.0,)]}, unknown=1)
    assert summary_line(db) == "1 person, 1 known face, 1 unknown face"
    db = roster(make_face, {"anna": [(0.0,), (0.1,)], "bob": [(1.0,)]}, unknown=2)
    assert summary_line(db) == "2 persons, 3 known faces, 2 unknown faces"


def test_the_table_stays_in_columns_with_long_names(make_face):
    db = roster(make_face, {"Grace Brewster Hopper": [(0.0,), (0.2,)], "ed": [(1.0,)],
                            "person_03": [(0.0, 3.0)]})
    lines = distance_lines(db)
    assert len(lines) == 3
    assert len({line.index("[") for line in lines}) == 1     # every row's distances line up
    assert len({line.index("]") for line in lines}) == 1
    by_name = {line.split("[")[0].strip(): line for line in lines}
    assert by_name["ed"].split("[ ")[1].split(" ]")[0] == "0.900 0.000 3.162"
    assert by_name["Grace Brewster Hopper"].endswith("] 0.100, 0.100, 0.100, 2 faces")
    assert by_name["ed"].endswith("1 face")


def test_a_library_prints_the_persons_with_most_faces_their_nearest_and_one_line(make_face):
    # 300 persons in pairs: person 2k and 2k+1 lie 0.1 apart, pairs 10 apart from each other
    spots = {}
    for number in range(300):
        where = (10.0 * (number // 2) + 0.1 * (number % 2),)
        spots[f"p{number:03d}"] = [where] * (1 + (number % 7 == 0) * (number % 5 + 2))
    db = roster(make_face, spots)
    lines = distance_lines(db)
    assert len(lines) == MAX_TABLE_PERSONS + 2
    rows = lines[1:-1]
    most = sorted(spots, key=lambda name: -len(spots[name]))[:MAX_TABLE_PERSONS]
    assert sorted(row.split()[0] for row in rows) == sorted(most)
    for row in rows:
        name = row.split()[0]
        number = int(name[1:])
        nearest = re.findall(r"(p\d{3}) (\d\.\d{3}|\d+\.\d{3})", row.split("[")[1])
        assert len(nearest) == NEAREST and name not in [n for n, _ in nearest]
        assert nearest[0] == (f"p{number ^ 1:03d}", "0.100")  # its pair first
        assert float(nearest[1][1]) >= 9.9                   # then another pair
    assert lines[-1].startswith(f"and {300 - MAX_TABLE_PERSONS} more persons")
    assert DISTANCES_CSV in lines[-1]


def test_distances_csv_holds_every_distance(make_face, tmp_path):
    spots = {f"p{number:02d}": [(float(number), 0.0), (float(number), 0.5)]
             for number in range(MAX_TABLE_PERSONS + 5)}
    spots["a, b"] = [(0.0, 3.0)]  # a comma in a folder's name is quoted
    db = roster(make_face, spots)
    write_distances_csv(tmp_path, db)
    with open(tmp_path / DISTANCES_CSV, newline="", encoding="utf-8") as file:
        rows = list(csv.reader(file))
    names = rows[0][1:-4]
    assert rows[0][0] == "person" and rows[0][-4:] == ["min", "mean", "max", "faces"]
    assert sorted(names) == sorted(spots) and [row[0] for row in rows[1:]] == names
    table = np.array([[float(x) for x in row[1:-4]] for row in rows[1:]])
    assert np.allclose(table, table.T, atol=1e-3) and np.allclose(np.diag(table), 0, atol=1e-3)
    where = {p.name: p.encoding for p in db.persons}
    for i, a in enumerate(names):
        for j, b in enumerate(names):
            assert abs(table[i, j] - np.linalg.norm(where[a] - where[b])) < 2e-3
    assert rows[names.index("p03") + 1][-4:] == ["0.250", "0.250", "0.250", "2"]
    assert rows[names.index("a, b") + 1][names.index("p03") + 1] == "4.070"  # (0, 3) to (3, .25)
