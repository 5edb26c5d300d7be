"""The sorting step's look-up of each person's nearest face: the same distances as comparing
with every face, one person at a time, while skipping the persons surely too far."""
import numpy as np
import pytest

from facesort.records.face import Face, Person, face_distance
from facesort.sorting import nearest
from facesort.sorting.nearest import nearest_face_distances, two_smallest

THRESHOLD = 0.44


def persons_around(rng, centres, sizes, spread):
    persons = []
    for number, (centre, size) in enumerate(zip(centres, sizes)):
        person = Person(f"person_{number:02d}")
        for k in range(size):
            person.add_face(Face(f"p{number}_{k}.png", centre + rng.normal(0, spread, 128)))
        persons.append(person)
    return persons


def one_at_a_time(person, encoding, corroborated_from):
    distances = np.sort(face_distance(np.array([f.encoding for f in person.faces]), encoding))
    return distances[1] if len(distances) >= corroborated_from else distances[0]


@pytest.mark.parametrize("spread", [0.01, 0.025])
def test_every_person_near_enough_gets_its_exact_nearest_face(spread):
    rng = np.random.default_rng(3)
    centres = rng.normal(0, 0.03, (30, 128))    # close persons: many are looked at
    persons = persons_around(rng, centres, rng.integers(1, 40, 30), spread)
    for person in persons[::3]:   # faces arriving after the ball was last centred
        person.add_face(Face(f"{person.name}_late.png", person.encoding + 0.2))
    for _ in range(20):
        query = centres[rng.integers(30)] + rng.normal(0, spread, 128)
        found = nearest_face_distances(persons, query, THRESHOLD, 6)
        exact = np.array([one_at_a_time(p, query, 6) for p in persons])
        close = exact < THRESHOLD
        assert close.any() and np.array_equal(found[close], exact[close])
        assert np.all(found[~close] >= THRESHOLD)


def test_persons_far_away_are_skipped_without_looking_at_their_faces(monkeypatch):
    rng = np.random.default_rng(4)
    persons = persons_around(rng, rng.normal(0, 0.1, (5, 128)), [50] * 5, 0.01)
    query = persons[2].faces[0].encoding + 0.001
    compared = []
    measure = nearest.face_distance
    monkeypatch.setattr(nearest, "face_distance",
                        lambda rows, query: compared.append(len(rows)) or measure(rows, query))
    found = nearest_face_distances(persons, query, THRESHOLD, 6)
    assert compared == [5, 50] and np.isinf(np.delete(found, 2)).all()
    assert found[2] == one_at_a_time(persons[2], query, 6)


def test_two_smallest_of_each_run_counts_a_repeated_value_twice():
    first, second = two_smallest(np.array([3.0, 1.0, 1.0, 5.0, 2.0, 4.0, 9.0]),
                                 np.array([3, 3, 1]))
    assert first.tolist() == [1.0, 2.0, 9.0] and second.tolist() == [1.0, 4.0, np.inf]


def test_a_centred_persons_corroboration_stops_early_only_when_two_first_faces_are_near(
        make_face):
    from facesort.records.face import Person
    from facesort.sorting.nearest import FIRST_ROWS, corroborating_distance, nearest_of_person

    far = [make_face(1.0, 0.01 * k) for k in range(FIRST_ROWS)]
    near_later = Person("late", far + [make_face(0.0, 0.01), make_face(0.0, 0.02)])
    encoding = make_face(0.0).encoding
    # the two near faces come after the first FIRST_ROWS: measured exactly, all of them
    assert corroborating_distance(near_later, encoding, 0.44) == pytest.approx(
        nearest_of_person(near_later, encoding)) == pytest.approx(0.02)
    near_first = Person("early", [make_face(0.0, 0.03), make_face(0.0, 0.04)] + far
                        + [make_face(0.0, 0.01)])
    # two of the first are under -t: under -t too, without the last faces (exactly 0.01)
    assert 0.01 < corroborating_distance(near_first, encoding, 0.44) < 0.44
    assert nearest_of_person(near_first, encoding) == pytest.approx(0.03)
