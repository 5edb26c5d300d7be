"""The post's sorting rules on synthetic encodings (exact distances, no dlib)."""
import numpy as np
import pytest

from classifier import FaceClassifier
from person_db import Person, PersonDB


@pytest.fixture
def db():
    return PersonDB()


def test_first_face_joins_the_unknown_pool(db, make_face):
    assert FaceClassifier(0.44).classify(make_face(0.0), db) is None
    assert len(db.unknown.faces) == 1 and db.persons == []


def test_a_close_unknown_pair_becomes_a_new_person(db, make_face):
    classifier = FaceClassifier(0.44)
    first, far, close = make_face(0.0), make_face(1.0), make_face(0.3)
    for face in (first, far):
        classifier.classify(face, db)
    person = classifier.classify(close, db)
    assert person is not None and person.name == "person_01"
    assert person.faces == [first, close]
    assert db.unknown.faces == [far]
    np.testing.assert_allclose(person.encoding[0], 0.15)


def test_distance_equal_to_the_threshold_is_not_a_match(db, make_face):
    classifier = FaceClassifier(0.5)
    classifier.classify(make_face(0.0), db)
    assert classifier.classify(make_face(0.5), db) is None
    assert classifier.classify(make_face(0.0, 0.499), db).name == "person_01"


def test_a_known_person_takes_the_face_and_its_average_moves(db, make_face):
    classifier = FaceClassifier(0.44)
    for offset in (0.0, 0.2):
        classifier.classify(make_face(offset), db)
    person = classifier.classify(make_face(0.4), db)  # 0.3 from the average 0.1
    assert person.name == "person_01" and len(person.faces) == 3
    np.testing.assert_allclose(person.encoding[0], 0.2)


def test_known_persons_are_tried_before_a_closer_unknown_face(db, make_face):
    classifier = FaceClassifier(0.44)
    classifier.classify(make_face(0.0), db)
    classifier.classify(make_face(0.1), db)          # person_01 at 0.05
    classifier.classify(make_face(0.6), db)          # unknown
    person = classifier.classify(make_face(0.4), db)  # 0.35 from person_01, 0.2 from the unknown
    assert person.name == "person_01"
    assert len(db.unknown.faces) == 1


def test_the_nearest_of_two_persons_wins(db, make_face):
    classifier = FaceClassifier(0.44)
    for offset in (0.0, 0.05, 1.0, 1.05):
        classifier.classify(make_face(offset), db)
    assert [p.name for p in db.persons] == ["person_01", "person_02"]
    assert classifier.classify(make_face(0.7), db).name == "person_02"


def test_numbering_continues_after_the_highest_number_loaded(db, make_face):
    db.add_person(Person("person_07", [make_face(5.0)]))
    db.add_person(Person("giwoo", [make_face(9.0)]))
    classifier = FaceClassifier(0.44)
    classifier.classify(make_face(0.0), db)
    assert classifier.classify(make_face(0.1), db).name == "person_08"
