"""Review suggestions on synthetic encodings: merges, unknown faces, misplaced faces, dismissals."""
import numpy as np
import pytest

from facesort.records.face import Person
from facesort.report.suggestions import MergeSuggestion, distances_without_each, suggest
from tests.conftest import encoding_at


def person(name, faces):
    return Person(name, list(faces))


def moved_to_frame(face, frame, source="clip.mp4"):
    face.source, face.frame = source, frame
    return face


def test_a_person_split_in_two_is_suggested_as_one_pair(make_face):
    a = person("person_01", [make_face(0.0, 0.05 * k) for k in range(4)])
    b = person("person_02", [make_face(0.5, 0.05 * k) for k in range(3)])
    far = person("person_03", [make_face(3.0), make_face(3.1)])
    found = suggest([a, b, far], person("unknowns", []))
    assert [(s.kept, s.absorbed) for s in found.merges] == [("person_01", "person_02")]
    assert found.merges[0].distance == pytest.approx(0.5, abs=0.001)
    assert (found.merges[0].joining, found.merges[0].smaller) == (0, 3)


def test_merges_are_ranked_closest_first_and_keep_the_users_name(make_face):
    a = person("person_04", [make_face(0.0)])
    b = person("anna", [make_face(0.55)])
    c = person("person_02", [make_face(0.0, 0.5)])
    found = suggest([a, b, c], person("unknowns", []))
    assert [(s.kept, s.absorbed, round(s.distance, 3)) for s in found.merges] == [
        ("person_02", "person_04", 0.5), ("anna", "person_04", 0.55)]


def test_two_persons_with_faces_in_the_same_frame_are_never_suggested(make_face):
    a = person("person_01", [make_face(0.0), moved_to_frame(make_face(0.01), 500)])
    b = person("person_02", [moved_to_frame(make_face(0.3), 500)])
    assert suggest([a, b], person("unknowns", [])).merges == []
    # the same frame number of another video is another frame
    b.faces[0].source = "other.mp4"
    assert len(suggest([a, b], person("unknowns", [])).merges) == 1


def test_two_names_the_user_gave_are_never_suggested(make_face):
    a = person("anna", [make_face(0.0)])
    b = person("bob", [make_face(0.3)])
    assert suggest([a, b], person("unknowns", [])).merges == []
    b.name = "person_07"  # one automatic name: worth asking
    assert len(suggest([a, b], person("unknowns", [])).merges) == 1


def test_a_dismissed_suggestion_is_never_made_again(make_face):
    a = person("person_01", [make_face(0.0)])
    b = person("person_02", [make_face(0.3)])
    unknown = person("unknowns", [make_face(0.1, 0.5)])
    found = suggest([a, b], unknown)
    assert len(found.merges) == 1 and len(found.unknowns) == 1
    dismissed = {found.merges[0].key, found.unknowns[0].key}
    again = suggest([a, b], unknown, dismissed=dismissed)
    assert again.merges == [] and again.unknowns == []
    # the key does not depend on which of the two is kept
    assert MergeSuggestion("person_02", "person_01", 0.3, 0.3, 0, 1).key == found.merges[0].key


def test_an_unknown_face_is_suggested_to_the_nearest_person(make_face):
    a = person("person_01", [make_face(0.0), make_face(0.0, 0.4)])
    b = person("person_02", [make_face(2.0)])
    near_a_face = make_face(0.0, 0.9)   # 0.5 from a's second face, 0.7 from a's average
    too_far = make_face(5.0)
    found = suggest([a, b], person("unknowns", [too_far, near_a_face]))
    assert [(s.face, s.person) for s in found.unknowns] == [(near_a_face.file_name, "person_01")]
    assert found.unknowns[0].distance == pytest.approx(0.5)


def test_an_unknown_face_unfit_to_sort_is_never_suggested(make_face):
    a = person("person_01", [make_face(0.0), make_face(0.0, 0.4)])
    unfit, fit = make_face(0.0, 0.1), make_face(0.0, 0.2)
    unfit.unfit = "doubtful"
    found = suggest([a], person("unknowns", [unfit, fit]))
    assert [(s.face, s.person) for s in found.unknowns] == [(fit.file_name, "person_01")]


def test_an_unknown_face_is_never_suggested_to_a_person_seen_in_its_frame(make_face):
    a = person("person_01", [make_face(0.0), moved_to_frame(make_face(0.0, 0.1), 42)])
    b = person("person_02", [make_face(0.0, 0.55)])
    face = moved_to_frame(make_face(0.0, 0.2), 42)
    found = suggest([a, b], person("unknowns", [face]))
    assert [(s.person, round(s.distance, 3)) for s in found.unknowns] == [("person_02", 0.35)]


def test_a_face_far_from_its_person_is_suggested_as_misplaced(make_face):
    stray = make_face(2.0, 0.1)
    a = person("person_01", [make_face(0.0, 0.05 * k) for k in range(5)] + [stray])
    b = person("person_02", [make_face(2.0), make_face(2.0, 0.05)])
    found = suggest([a, b], person("unknowns", []))
    assert [(s.face, s.person, s.move_to) for s in found.misplaced] == [
        (stray.file_name, "person_01", "person_02")]
    assert found.misplaced[0].move_to_distance == pytest.approx(0.05)
    # with nobody nearer, it would go to the unknowns
    b.faces = []
    found = suggest([a], person("unknowns", []))
    assert [(s.face, s.move_to, s.move_to_distance) for s in found.misplaced] == [
        (stray.file_name, "unknowns", None)]


def test_distance_without_each_face_matches_the_tools_rule(make_face):
    rng = np.random.default_rng(3)
    encodings = rng.normal(size=(300, 128)) * 0.05  # more than one chunk
    got = distances_without_each(encodings, chunk=64)
    for index in (0, 63, 64, 299):
        others = np.delete(encodings, index, axis=0)
        to_average = np.linalg.norm(encodings[index] - others.mean(axis=0))
        to_nearest = np.linalg.norm(others - encodings[index], axis=1).min()
        assert got[index] == pytest.approx(min(to_average, to_nearest))


def test_no_persons_no_suggestions(make_face):
    found = suggest([], person("unknowns", [make_face(0.0)]))
    assert len(found) == 0
    assert len(suggest([person("person_01", [make_face(0.0)])], person("unknowns", []))) == 0


def test_a_large_person_is_checked_in_chunks_quickly(make_face):
    rng = np.random.default_rng(5)
    faces = [make_face(with_crop=False) for _ in range(3000)]
    for face, row in zip(faces, rng.normal(size=(3000, 128)) * 0.02):
        face.encoding = row
    found = suggest([person("person_01", faces)], person("unknowns", []))
    assert found.misplaced == []
    assert encoding_at(1.0)[0] == 1.0


def test_merge_pairs_are_looked_for_among_each_persons_nearest_averages():
    from facesort.records.face import close_pairs
    from facesort.report.suggestions import neighbour_pairs

    rows = np.random.default_rng(7).normal(0, 1, (40, 128))
    every = close_pairs(rows, np.inf)
    assert neighbour_pairs(rows, np.inf, 39) == every   # all the others: every pair
    nearest = neighbour_pairs(rows, np.inf, 3, block_bytes=4096)   # blocks of a few rows
    assert set(nearest) < set(every)
    apart = np.linalg.norm(rows[:, None] - rows[None], axis=2)
    np.fill_diagonal(apart, np.inf)
    ranks = np.argsort(np.argsort(apart, axis=1), axis=1)
    assert {(i, j) for _, i, j in nearest} == {
        (i, j) for i in range(40) for j in range(i + 1, 40) if min(ranks[i, j], ranks[j, i]) < 3}


def test_faces_to_persons_distances_do_not_depend_on_how_many_are_computed_at_once(
        monkeypatch, make_face):
    from facesort.report import suggestions

    rng = np.random.default_rng(8)
    persons = [person(f"person_{k:02d}", [make_face(*rng.normal(0, 0.3, 2)) for _ in range(k + 1)])
               for k in range(6)]
    faces = [make_face(*rng.normal(0, 0.3, 2)) for _ in range(9)]
    whole = suggestions.distances_to_persons(faces, persons)
    monkeypatch.setattr(suggestions, "BLOCK_ENTRIES", 30)   # one face at a time
    assert np.allclose(suggestions.distances_to_persons(faces, persons), whole, atol=1e-12)
    expected = [[min(np.linalg.norm(f.encoding - p.encoding),
                     min(np.linalg.norm(f.encoding - g.encoding) for g in p.faces))
                 for p in persons] for f in faces]
    assert np.allclose(whole, expected, atol=1e-9)
