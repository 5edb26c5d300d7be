"""The sorting step's look-up of each person's nearest face: the same distances as comparing
with every face, one person at a time, while skipping the persons surely too far, and kept up
to date as persons change."""
import numpy as np
import pytest

from facesort.records.face import Face, Person, face_distance
from facesort.sorting import person_index
from facesort.sorting.person_index import PersonIndex, two_smallest

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


def indexed(persons):
    index = PersonIndex()
    index.sync(persons)
    return index


def nothing_skipped(persons):
    return np.zeros(len(persons), dtype=bool)


@pytest.mark.parametrize("spread", [0.01, 0.025])
@pytest.mark.parametrize("all_rows_from", [0.0, 1.0])  # one product over all rows; gathered
def test_every_person_near_enough_gets_its_exact_nearest_face(monkeypatch, spread,
                                                               all_rows_from):
    monkeypatch.setattr(person_index, "ALL_ROWS_FROM", all_rows_from)
    rng = np.random.default_rng(3)
    centres = rng.normal(0, 0.03, (30, 128))    # close persons: many are looked at
    persons = persons_around(rng, centres, rng.integers(1, 40, 30), spread)
    index = indexed(persons)
    for person in persons[::3]:   # faces arriving after the ball was last centred
        person.add_face(Face(f"{person.name}_late.png", person.encoding + 0.2))
    index.sync(persons)
    for _ in range(20):
        query = centres[rng.integers(30)] + rng.normal(0, spread, 128)
        found = index.nearest_faces(query, THRESHOLD, 6, nothing_skipped(persons))
        exact = np.array([one_at_a_time(p, query, 6) for p in persons])
        close = exact < THRESHOLD
        assert close.any() and np.array_equal(found[close], exact[close])
        assert np.isinf(found[~close]).all()


def test_persons_far_away_are_skipped_without_looking_at_their_faces(monkeypatch):
    rng = np.random.default_rng(4)
    persons = persons_around(rng, rng.normal(0, 0.1, (5, 128)), [50] * 5, 0.01)
    query = persons[2].faces[0].encoding + 0.001
    index = indexed(persons)
    compared = []
    measure = person_index.face_distance
    monkeypatch.setattr(person_index, "face_distance",
                        lambda rows, query: compared.append(len(rows)) or measure(rows, query))
    found = index.nearest_faces(query, THRESHOLD, 6, nothing_skipped(persons))
    assert compared == [5, 50] and np.isinf(np.delete(found, 2)).all()
    assert found[2] == one_at_a_time(persons[2], query, 6)


def test_the_index_follows_faces_added_taken_out_and_persons_gone():
    """After each change the index answers as one built afresh on the persons as they are."""
    rng = np.random.default_rng(5)
    centres = rng.normal(0, 0.03, (8, 128))
    persons = persons_around(rng, centres, [5] * 8, 0.02)
    index = indexed(persons)
    changes = [
        lambda: persons[1].add_face(Face("new.png", centres[1] + 0.01)),
        lambda: persons.extend(persons_around(rng, centres[:2], [3, 1], 0.02)),
        lambda: persons[3].remove_faces(persons[3].faces[:2]),
        lambda: persons.remove(persons[0]),
        lambda: persons[2].set_faces([]),
    ]
    for change in changes:
        change()
        index.sync(persons)
        assert index.persons == persons
        skip = nothing_skipped(persons)
        for query in centres + rng.normal(0, 0.02, (8, 128)):
            assert np.array_equal(index.nearest_faces(query, THRESHOLD, 6, skip),
                                  indexed(persons).nearest_faces(query, THRESHOLD, 6, skip))
        assert index.sizes.tolist() == [len(p.faces) for p in persons]


def test_skipped_persons_get_no_distance():
    rng = np.random.default_rng(6)
    persons = persons_around(rng, np.zeros((3, 128)), [4, 4, 4], 0.01)
    found = indexed(persons).nearest_faces(persons[0].faces[0].encoding, THRESHOLD, 6,
                                           np.array([False, True, False]))
    assert np.isfinite(found[[0, 2]]).all() and np.isinf(found[1])


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


def test_two_smallest_of_each_run_counts_a_repeated_value_twice():
    first, second = two_smallest(np.array([3.0, 1.0, 1.0, 5.0, 2.0, 4.0, 9.0]),
                                 np.array([3, 3, 1]))
    assert first.tolist() == [1.0, 2.0, 9.0] and second.tolist() == [1.0, 4.0, np.inf]
