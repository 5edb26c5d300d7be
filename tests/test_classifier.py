"""The post's sorting rules on synthetic encodings (exact distances, no dlib)."""
import numpy as np
import pytest

from facesort.records.face import Person
from facesort.sorting.classifier import FaithfulClassifier as FaceClassifier
from facesort.sorting.classifier import NeighbourClassifier
from person_db import PersonDB


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


# --- the default rules ------------------------------------------------------------------
from facesort.sorting.classifier import NeighbourClassifier, make_classifier  # noqa: E402


def frame_of(make_face, frame, *offsets_list):
    """Faces seen together in one frame."""
    faces = [make_face(*offsets) for offsets in offsets_list]
    for face in faces:
        face.frame = frame
    return faces


def test_make_classifier_picks_the_rules():
    assert isinstance(make_classifier(0.5), NeighbourClassifier)
    assert make_classifier(0.5, faithful=True) == FaceClassifier(0.5)


def test_a_face_near_one_look_of_a_person_joins_even_far_from_the_average(db, make_face):
    # two looks 0.8 apart: the average sits 0.4 from each, a new face near one look is
    # 0.1 from it but 0.5 from the average
    db.add_person(Person("giwoo", [make_face(0.0), make_face(0.8)]))
    face = make_face(-0.1)
    assert FaceClassifier(0.44).classify(face, db) is None
    db2 = PersonDB()
    db2.add_person(Person("giwoo", [make_face(0.0), make_face(0.8)]))
    assert NeighbourClassifier(0.44).classify_frame([make_face(-0.1)], db2)[0].name == "giwoo"


@pytest.mark.parametrize("fewer, joins", [(1, True), (0, False)])
def test_a_face_near_a_few_faces_of_a_large_person_but_far_from_their_middle(
        db, make_face, fewer, joins):
    # a person of many looks (one face each) at the origin and two at 0.6; a look-alike 0.05
    # from those two but 0.6 from the average: among CENTRED_FROM looks that is not enough
    from facesort.sorting.nearest import CENTRED_FROM

    looks = CENTRED_FROM - fewer
    faces = [make_face(0.0) for _ in range(looks - 2)] + [make_face(0.6), make_face(0.6)]
    db.add_person(Person("giwoo", faces))
    found = NeighbourClassifier(0.44).classify_frame([make_face(0.65)], db)[0]
    assert (found is not None and found.name == "giwoo") is joins


def test_two_faces_of_one_frame_never_join_one_person(db, make_face):
    db.add_person(Person("giwoo", [make_face(0.0)]))
    near, nearer = frame_of(make_face, 7, (0.2,), (0.1,))
    assigned = NeighbourClassifier(0.44).classify_frame([near, nearer], db)
    assert assigned[1].name == "giwoo"          # the closer face wins the person
    assert assigned[0] is None                  # the other waits in the pool
    assert db.unknown.faces == [near]


def test_two_faces_of_one_frame_never_pair_into_a_new_person(db, make_face):
    classifier = NeighbourClassifier(0.44)
    assert classifier.classify_frame(frame_of(make_face, 3, (0.0,), (0.1,)), db) == [None, None]
    assert db.persons == [] and len(db.unknown.faces) == 2
    later = make_face(0.05)
    assert classifier.classify_frame([later], db)[0].name == "person_01"


def test_persons_closer_than_the_threshold_merge_under_the_users_name(db, make_face):
    db.add_person(Person("person_02", [make_face(0.0), make_face(0.1)]))
    db.add_person(Person("giwoo", [make_face(0.4), make_face(0.45)]))  # averages 0.375 apart
    db.add_person(Person("person_05", [make_face(3.0)]))
    changes = NeighbourClassifier(0.44).consolidate(db)
    assert changes == ["person_02 merged into giwoo"]
    assert [p.name for p in db.persons] == ["giwoo", "person_05"]
    assert len(db.persons[0].faces) == 4


def test_persons_whose_averages_are_close_but_faces_are_not_stay_apart(db, make_face):
    # averages 0.4 apart, but every face 0.6 from the other's average and 0.75 from its faces
    db.add_person(Person("person_01", [make_face(0.2, 0.45, 0.0), make_face(0.2, -0.45, 0.0)]))
    db.add_person(Person("person_02", [make_face(-0.2, 0.0, 0.45), make_face(-0.2, 0.0, -0.45)]))
    assert NeighbourClassifier(0.44).consolidate(db) == []
    assert len(db.persons) == 2


def test_persons_seen_in_one_frame_or_both_named_never_merge(db, make_face):
    together = frame_of(make_face, 9, (0.0,), (0.2,))
    db.add_person(Person("person_01", [together[0], make_face(0.05)]))
    db.add_person(Person("person_02", [together[1], make_face(0.15)]))
    db.add_person(Person("alice", [make_face(5.0)]))
    db.add_person(Person("bob", [make_face(5.1)]))
    assert NeighbourClassifier(0.44).consolidate(db) == []
    assert len(db.persons) == 4


def test_pooled_faces_join_a_person_that_grew_towards_them(db, make_face):
    classifier = NeighbourClassifier(0.44)
    db.add_person(Person("person_01", [make_face(0.0), make_face(0.1)]))
    early = make_face(0.55)                     # 0.45 from the nearest face: pooled
    classifier.classify_frame([early], db)
    for offset in (0.3, 0.35):                  # they join person_01, whose average moves
        assert classifier.classify_frame([make_face(offset)], db)[0].name == "person_01"
    assert db.unknown.faces == [early]
    assert classifier.consolidate(db) == ["1 unknown faces now match a person"]  # 0.36 away
    assert db.unknown.faces == [] and early in db.persons[0].faces


def test_a_group_whose_faces_each_match_the_others_becomes_a_person(db, make_face):
    classifier = NeighbourClassifier(0.44)
    # three looks of one person, pairwise 0.5 apart: no pair is close enough, but each is
    # 0.433 from the average of the other two
    corners = [make_face(0.0, 0.0), make_face(0.5, 0.0), make_face(0.25, 0.433)]
    far = make_face(3.0)
    for face in (corners[0], far, corners[1]):
        assert classifier.classify_frame([face], db) == [None]
    person = classifier.classify_frame([corners[2]], db)[0]
    assert person is not None and sorted(person.faces, key=id) == sorted(corners, key=id)
    assert db.unknown.faces == [far]


def test_a_group_needs_every_face_near_the_others(db, make_face):
    classifier = NeighbourClassifier(0.44)
    # the third face is 0.433 from the average of the first two, but each of those is
    # 0.50 from the average of the other two: no person
    for face in (make_face(0.0, 0.0), make_face(0.6, 0.0), make_face(0.3, 0.433)):
        assert classifier.classify_frame([face], db) == [None]
    assert db.persons == []


def test_a_group_takes_one_face_per_frame(db, make_face):
    classifier = NeighbourClassifier(0.44)
    same_frame = frame_of(make_face, 7, (0.0, 0.0), (0.5, 0.0))
    assert classifier.classify_frame(same_frame, db) == [None, None]
    assert classifier.classify_frame([make_face(0.25, 0.433)], db) == [None]
    assert db.persons == [] and len(db.unknown.faces) == 3


def test_what_the_user_sorted_before_this_run_is_not_undone(tmp_path, make_face):
    before = PersonDB()
    before.add_person(Person("person_01", [make_face(0.0), make_face(0.1)]))
    before.add_person(Person("person_02", [make_face(0.3), make_face(0.35)]))  # 0.275 apart
    before.unknown.add_face(make_face(0.05, name="moved_there_by_the_user.png"))
    before.save(tmp_path)
    db = PersonDB()
    db.load(tmp_path)
    classifier = NeighbourClassifier(0.44)
    assert classifier.consolidate(db) == []
    assert [f.file_name for f in db.unknown.faces] == ["moved_there_by_the_user.png"]
    db.new_person([make_face(0.2), make_face(0.25)])  # a new person near both: one merge
    assert classifier.consolidate(db) == ["person_03 merged into person_02"]  # the closer


def test_nearest_distances_match_the_plain_ones_chunk_by_chunk():
    from facesort.records.face import nearest_distances

    rng = np.random.default_rng(3)
    rows, others = rng.normal(size=(7, 128)), rng.normal(size=(5, 128))
    plain = np.linalg.norm(rows[:, None] - others[None], axis=2).min(axis=1)
    np.testing.assert_allclose(nearest_distances(rows, others, chunk=3), plain)


def consolidate_two(db, first, second):
    """Rule 4 on two persons made of the faces given (``db``'s others are dropped)."""
    db.persons.clear()
    db.add_person(Person("person_01", first))
    db.add_person(Person("person_02", second))
    return NeighbourClassifier(0.44).consolidate(db)


def tracked(make_face, track, *offsets):
    """A face of track ``track`` at the given encoding offsets."""
    face = make_face(*offsets)
    face.track_id = track
    return face


def test_one_odd_track_in_four_does_not_keep_a_person_in_two(db, make_face):
    def consolidate(first, second):   # a face a track
        return consolidate_two(db, [tracked(make_face, n, *at) for n, at in enumerate(first)],
                               [tracked(make_face, 10 + n, *at) for n, at in enumerate(second)])

    # each person: tracks near the other's, and a face caught turning (0.6 from everything of
    # the other); averages 0.32 apart
    assert consolidate([(0.0,), (0.05,), (0.1,), (0.0, 0.6)],
                       [(0.15,), (0.2,), (0.1,), (0.1, -0.6)]) == ["person_02 merged into person_01"]
    # the same, 0.36 apart (over 3/4 of -t): every track of one must match
    assert consolidate([(0.0,), (0.05,), (0.1,), (0.0, 0.6)],
                       [(0.15,), (0.2,), (0.1,), (0.1, -0.68)]) == []
    # two odd tracks in four on each side: they stay apart (averages 0.1 apart)
    assert consolidate([(0.0,), (0.05,), (0.0, 0.6), (0.0, -0.6)],
                       [(0.15,), (0.2,), (0.1, 0.0, 0.62), (0.1, 0.0, -0.62)]) == []
    # all tracks of a person of two must match
    assert consolidate([(0.0,), (0.0, 0.6)], [(0.1,), (0.1, -0.6)]) == []


def test_a_one_track_look_alike_near_a_persons_average_but_not_among_their_tracks_stays_apart(
        db, make_face):
    def consolidate(looks, lone):     # a look a track; the lone person one track of two faces
        return consolidate_two(db, [tracked(make_face, n, *at) for n, at in enumerate(looks)],
                               [tracked(make_face, 99, *lone), tracked(make_face, 99, *lone)])

    # four looks of one person, 0.28 apart on average (a triangle of side 0.35 and its
    # middle), their average at (0.175, 0.101)
    looks = [(0.0, 0.0), (0.35, 0.0), (0.175, 0.303), (0.175, 0.101)]
    # a one-track person 0.42 from that average, 0.42-0.47 from each look: 1.65x their spread
    assert consolidate(looks, (0.175, 0.101, 0.42)) == []
    # one lying among the looks (0.26 from them on average) is a piece of that person
    assert consolidate(looks, (0.175, 0.101, 0.2)) == ["person_02 merged into person_01"]
    # two looks are too few to measure a spread: the average decides, as before
    assert consolidate(looks[:2], (0.175, 0.0, 0.42)) == ["person_02 merged into person_01"]


def test_a_one_track_piece_1_3_times_the_spread_away_merges_by_mobilefacenets_ratio_only(
        db, make_face):
    # the looks above; a one-track person 0.31 from their average (-t 0.36) and 1.29x their
    # spread from them: a look-alike by dlib's ratio (1.25), a piece of that person by
    # MobileFaceNet's (1.35); three looks lie 0.37 from it, so only its own track can match
    from facesort.records.modes import EncoderKind

    looks = [(0.0, 0.0), (0.35, 0.0), (0.175, 0.303), (0.175, 0.101)]
    merged = {}
    for encoder in EncoderKind:
        db.persons.clear()
        db.add_person(Person("person_01", [tracked(make_face, n, *at)
                                           for n, at in enumerate(looks)]))
        db.add_person(Person("person_02", [tracked(make_face, 99, 0.175, 0.101, 0.31)
                                           for _ in range(2)]))
        merged[encoder] = make_classifier(0.36, encoder=encoder).consolidate(db)
    assert merged == {EncoderKind.DLIB: [],
                      EncoderKind.MOBILEFACENET: ["person_02 merged into person_01"]}


def unfit_face(make_face, *offsets, why="small"):
    face = make_face(*offsets)
    face.unfit = why
    return face


@pytest.mark.parametrize("kind", [FaceClassifier, NeighbourClassifier])
def test_two_unfit_faces_never_make_a_person(db, make_face, kind):
    classifier = kind(0.44)
    twins = [unfit_face(make_face, 0.0, why="small"), unfit_face(make_face, 0.0, why="cut")]
    for face in twins:
        assert classifier.classify_frame([face], db) == [None]
    assert db.persons == [] and db.unknown.faces == twins
    assert classifier.consolidate(db) == [] and db.persons == []


@pytest.mark.parametrize("kind", [FaceClassifier, NeighbourClassifier])
def test_a_fit_face_never_pairs_with_a_pooled_unfit_one(db, make_face, kind):
    classifier = kind(0.44)
    pooled = unfit_face(make_face, 0.0, why="turned")
    classifier.classify_frame([pooled], db)
    fit = make_face(0.01)
    assert classifier.classify_frame([fit], db) == [None]
    assert db.persons == [] and db.unknown.faces == [pooled, fit]
    # a second fit face makes a person with the first, never with the unfit one
    person = classifier.classify_frame([make_face(0.02)], db)[0]
    assert person is not None and pooled not in person.faces and fit in person.faces
    assert db.unknown.faces == [pooled]


@pytest.mark.parametrize("kind", [FaceClassifier, NeighbourClassifier])
def test_an_unfit_face_never_joins_a_person_it_matches(db, make_face, kind):
    classifier = kind(0.44)
    person = db.new_person([make_face(0.0), make_face(0.01)])
    unfit, fit = unfit_face(make_face, 0.0, why="doubtful"), make_face(0.0, 0.02)
    unfit.frame = fit.frame   # one frame: sorted together
    assert classifier.classify_frame([unfit, fit], db) == [None, person]
    assert db.unknown.faces == [unfit] and unfit not in person.faces


def test_pooled_unfit_faces_are_not_placed_with_a_person_on_save(db, make_face):
    classifier = NeighbourClassifier(0.44)
    person = db.new_person([make_face(0.0), make_face(0.01)])
    unfit, fit = unfit_face(make_face, 0.02, why="cut"), make_face(0.02)
    db.unknown.faces += [unfit, fit]   # pooled before the person was formed
    assert classifier.consolidate(db) == ["1 unknown faces now match a person"]
    assert db.unknown.faces == [unfit] and fit in person.faces
