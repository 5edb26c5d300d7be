"""The roster: persons and the unknown pool in memory, with no OpenCV, dlib or disk."""
import subprocess
import sys
from pathlib import Path

import numpy as np

from facesort.records.face import Face, Person
from facesort.sorting.roster import Roster

ROOT = Path(__file__).resolve().parents[1]


def face(name: str, value: float) -> Face:
    encoding = np.zeros(128)
    encoding[:2] = value, 0.5   # not of unit length: a plain mean
    return Face(file_name=name, encoding=encoding)


def test_the_classifier_imports_with_opencv_and_dlib_blocked():
    code = ("import sys; sys.modules['cv2'] = None; sys.modules['dlib'] = None\n"
            "import facesort.sorting.classifier, facesort.sorting.sort_step\n"
            "assert 'cv2' not in {n for n, m in sys.modules.items() if m is not None}")
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr


def test_a_person_keeps_its_average_as_faces_come_and_go():
    a, b, c = face("a.png", 1.0), face("b.png", 2.0), face("c.png", 6.0)
    person = Person("x", [a])
    person.add_faces([b, c])
    assert person.encoding[0] == 3.0
    person.remove_faces([c])
    assert [f.file_name for f in person.faces] == ["a.png", "b.png"] and person.encoding[0] == 1.5
    person.set_faces([c])
    assert person.encoding[0] == 6.0


def test_new_persons_are_numbered_after_every_name_seen():
    roster = Roster()
    roster.note_name("person_07")
    roster.note_name("giwoo")
    roster.add_person(Person("person_03", [face("a.png", 1.0)]))
    assert roster.new_person([face("b.png", 2.0)]).name == "person_08"


def test_taking_faces_from_the_pool_and_merging_keep_averages_right():
    roster = Roster()
    pooled = [face("a.png", 1.0), face("b.png", 3.0)]
    roster.unknown.add_faces(pooled)
    kept = roster.person_from_pool(pooled[:1], face("d.png", 1.0))
    assert [f.file_name for f in roster.unknown.faces] == ["b.png"] and roster.unknown.encoding[0] == 3.0
    assert roster.departures() == [(pooled[0], kept)] and roster.departures() == []
    absorbed = roster.new_person([face("c.png", 5.0)])
    roster.merge_persons(kept, absorbed)
    assert len(roster.persons) == 1 and roster.persons[0] is kept and kept.encoding[0] == 7 / 3
    assert roster.person_of("c.png") is kept and roster.person_of("b.png") is roster.unknown
