"""Rule 5 of the default classifier: a followed face is one person (synthetic encodings, exact
distances), through the sorting step as the frame loop calls it."""
import pytest

from facesort.records.face import Person
from facesort.sorting.classifier import FaithfulClassifier, NeighbourClassifier
from facesort.sorting.sort_step import TrackMemory, sort_new_faces
from person_db import PersonDB


@pytest.fixture
def db():
    return PersonDB()


@pytest.fixture
def track_face(make_face):
    """A face of track ``track`` at the given encoding offsets."""
    def build(track, *offsets, frame=None):
        face = make_face(*offsets)
        face.track_id = track
        if frame is not None:
            face.frame = frame
        return face
    return build


def sort(faces, db, tracks, classifier=NeighbourClassifier(0.44)):
    return sort_new_faces(faces, classifier, db, tracks)


def test_a_turning_face_stays_with_its_track(db, track_face):
    # three looks of one followed face, each 0.5 from the one before (a head turning):
    # alone, each would start a pool of its own; followed, they are one person
    tracks = TrackMemory()
    looks = [track_face(1, 0.0), track_face(1, 0.5), track_face(1, 1.0)]
    assert sort(looks[:1], db, tracks) == ["unknown"]
    assert sort(looks[1:2], db, tracks) == ["person_01"]
    assert sort(looks[2:], db, tracks) == ["person_01"]
    assert [p.faces for p in db.persons] == [looks]
    assert db.unknown.faces == []


def test_without_tracks_the_same_faces_stay_unknown(db, track_face):
    looks = [track_face(1, 0.0), track_face(1, 0.5), track_face(1, 1.0)]
    for face in looks:
        sort([face], db, None)
    assert db.persons == [] and len(db.unknown.faces) == 3


def test_a_two_face_track_that_matches_no_one_is_a_new_person(db, track_face):
    db.add_person(Person("giwoo", [track_face(None, 5.0)]))
    tracks = TrackMemory()
    first, second = track_face(7, 0.0), track_face(7, 0.3, 0.3)
    sort([first], db, tracks)
    assert sort([second], db, tracks) == ["person_01"]
    assert db.persons[-1].faces == [first, second]


def test_a_pooled_track_joins_the_person_its_average_matches(db, track_face):
    # each face alone is 0.5 from giwoo; their average is 0.3 from him
    giwoo = Person("giwoo", [track_face(None, 0.0)])
    db.add_person(giwoo)
    tracks = TrackMemory()
    first, second = track_face(3, 0.3, 0.4), track_face(3, 0.3, -0.4)
    assert sort([first], db, tracks) == ["unknown"]
    assert sort([second], db, tracks) == ["giwoo"]
    assert giwoo.faces[1:] == [first, second] and db.unknown.faces == []


def test_two_tracks_in_one_frame_are_two_people(db, track_face):
    tracks = TrackMemory()
    a1, b1 = track_face(1, 0.0, frame=10), track_face(2, 0.1, frame=10)
    sort([a1, b1], db, tracks)
    a2, b2 = track_face(1, 0.05, frame=20), track_face(2, 0.15, frame=20)
    names = sort([a2, b2], db, tracks)
    assert names == ["person_01", "person_02"]
    assert [set(map(id, p.faces)) for p in db.persons] == [{id(a1), id(a2)}, {id(b1), id(b2)}]


def test_a_pooled_track_does_not_join_a_person_seen_beside_it(db, track_face):
    # track 2 is close to person_01, but person_01 was in frame 10 with track 2's first face
    tracks = TrackMemory()
    sort([track_face(1, 0.0, frame=10), track_face(2, 0.1, frame=10)], db, tracks)
    sort([track_face(1, 0.02, frame=11)], db, tracks)          # person_01: track 1
    assert sort([track_face(2, 0.1, frame=12)], db, tracks) == ["person_02"]


def test_a_track_that_jumped_to_someone_else_is_sorted_anew(db, track_face):
    # the pipeline gives a track a new id when a re-encoding shows someone else
    tracks = TrackMemory()
    sort([track_face(1, 0.0)], db, tracks)
    sort([track_face(1, 0.1)], db, tracks)                      # person_01
    sort([track_face(9, 2.0)], db, tracks)                      # the new id: unknown
    assert sort([track_face(9, 2.1)], db, tracks) == ["person_02"]
    assert [len(p.faces) for p in db.persons] == [2, 2]


def test_a_track_follows_its_face_into_a_group_formed_by_another(db, track_face):
    # track 1's face waits in the pool; rule 3 takes it into a person with track 2's faces
    tracks = TrackMemory()
    sort([track_face(1, 0.0)], db, tracks)
    sort([track_face(2, 0.1)], db, tracks)
    person = db.persons[0]
    assert sort([track_face(1, 0.9)], db, tracks) == [person.name]
    assert len(person.faces) == 3


def test_a_face_the_user_sorted_before_leads_its_track(db, track_face, tmp_path):
    # a rerun: the track's first face was saved and moved by the user into giwoo
    saved = track_face(4, 0.0)
    giwoo = Person("giwoo", [saved])
    db.add_person(giwoo)
    db.save(tmp_path, announce=False)
    db = PersonDB()
    db.load(tmp_path)
    giwoo = db.persons[0]
    tracks = TrackMemory()
    assert sort([saved], db, tracks) == ["giwoo"]
    assert sort([track_face(4, 0.9)], db, tracks) == ["giwoo"]
    assert len(giwoo.faces) == 2


def test_the_posts_rules_ignore_tracks(db, track_face):
    tracks = TrackMemory()
    for offset in (0.0, 0.5, 1.0):
        sort([track_face(1, offset)], db, tracks, FaithfulClassifier(0.44))
    assert db.persons == [] and len(db.unknown.faces) == 3


def test_a_track_that_joined_a_look_alike_leaves_when_its_later_faces_show_someone_else(
        db, track_face):
    # its first face is 0.4 from giwoo (under -t 0.44) and joins him; its next face is 0.8
    # away: the track's average, 0.6 from giwoo, says it was someone else all along
    giwoo = Person("giwoo", [track_face(None, 0.0), track_face(None, 0.05)])
    db.add_person(giwoo)
    tracks = TrackMemory()
    first, second, third = track_face(4, 0.4), track_face(4, 0.8), track_face(4, 0.8)
    assert sort([first], db, tracks) == ["giwoo"]
    assert sort([second], db, tracks) == ["person_01"]
    assert len(giwoo.faces) == 2 and db.persons[-1].faces == [first, second]
    assert sort([third], db, tracks) == ["person_01"]      # the track's person since
    assert giwoo.encoding[0] == pytest.approx(0.025)


def test_a_track_whose_faces_stay_near_the_person_stays(db, track_face):
    giwoo = Person("giwoo", [track_face(None, 0.0), track_face(None, 0.05)])
    db.add_person(giwoo)
    tracks = TrackMemory()
    looks = [track_face(4, 0.4), track_face(4, 0.0, 0.5), track_face(4, 0.2)]
    assert [sort([face], db, tracks) for face in looks] == [["giwoo"]] * 3
    assert giwoo.faces[2:] == looks


def test_a_big_person_is_joined_by_a_face_near_two_of_its_faces_not_one(db, make_face):
    """Rule 1 for a person of CORROBORATED_FROM faces or more: many faces give a look-alike
    many chances to come under -t by one of them; it must come under it by two."""
    from facesort.sorting.classifier import CORROBORATED_FROM

    person = Person("person_01", [make_face(0.0, 0.3 * k) for k in range(CORROBORATED_FROM)])
    db.add_person(person)
    # 0.4 from the last face only: 0.58 from the next, far from the average
    beside_one = make_face(0.4, 0.3 * (CORROBORATED_FROM - 1))
    assert sort([beside_one], db, TrackMemory()) == ["unknown"]
    # between the last two faces: under -t to both
    between_two = make_face(0.2, 0.3 * (CORROBORATED_FROM - 1.5))
    assert sort([between_two], db, TrackMemory()) == ["person_01"]
    small = Person("person_02", [make_face(5.0)])   # a person of one face: one is enough
    db.add_person(small)
    assert sort([make_face(5.4)], db, TrackMemory()) == ["person_02"]


def test_an_unfit_face_of_a_track_is_no_evidence_for_its_later_faces(db, track_face):
    """A track's unfit face waits in the unknowns; the track's next face is sorted alone
    (rule 5 would make a person of the two: two faces linked by following)."""
    tracks = TrackMemory()
    first = track_face(3, 0.0, frame=1)
    first.unfit = "small"
    assert sort([first], db, tracks) == ["unknown"]
    assert sort([track_face(3, 0.0, frame=2)], db, tracks) == ["unknown"]
    assert db.persons == [] and len(db.unknown.faces) == 2
