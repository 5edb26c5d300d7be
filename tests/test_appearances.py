"""Continuous appearances: the gap rule, the sampling interval read off the faces, renames, the
frames a face was followed over before it was encoded."""
import csv
from dataclasses import replace

import numpy as np
import pytest

from facesort.report.appearances import (
    APPEARANCES_CSV,
    Appearance,
    Sighting,
    find_appearances,
    sampling_interval,
    sightings_of,
)
from facesort.records.face import Face, Person
from person_db import PersonDB
from tests.conftest import encoding_at

FPS = 25.0


def seen(person, *seconds, source="clip.mp4"):
    """Sightings of a video sampled at FPS: frame index = seconds x FPS."""
    return [Sighting(person, source, s, round(s * FPS)) for s in seconds]


def spans(appearances, person=None):
    return [(a.start_s, a.end_s, a.faces) for a in appearances
            if person is None or a.person == person]


def test_a_person_gone_for_longer_than_the_gap_appears_twice():
    found = find_appearances(seen("ann", 0, 1, 2, 10, 11))
    assert found == [Appearance("ann", "clip.mp4", 0, 2, 3),
                     Appearance("ann", "clip.mp4", 10, 11, 2)]


def test_one_missed_frame_does_not_cut_an_appearance_but_two_do():
    # -S 2: frames looked at every 2 s; the gap allowed is twice that
    assert spans(find_appearances(seen("ann", 0, 2, 4, 8, 10))) == [(0, 10, 5)]
    assert spans(find_appearances(seen("ann", 0, 2, 4, 10, 12))) == [(0, 4, 3), (10, 12, 2)]


def test_at_every_frame_a_glance_away_of_under_two_seconds_is_no_exit():
    frames = [k / FPS for k in range(0, 50)]          # 0 .. 1.96 s, every frame
    back_soon = [2 + 1.5 + k / FPS for k in range(10)]  # after a 1.5 s hole
    back_late = [2 + 2.5 + k / FPS for k in range(10)]  # after a 2.5 s hole
    assert len(find_appearances(seen("ann", *frames, *back_soon))) == 1
    assert len(find_appearances(seen("ann", *frames, *back_late))) == 2


def test_the_interval_is_the_step_of_the_frames_even_when_faces_are_rare():
    assert sampling_interval(seen("ann", 0, 1, 3)) == pytest.approx(1.0)
    # faces only at 10 s and 100 s of a video sampled every 10 s: not one 90 s appearance
    rare = seen("ann", 10, 100) + seen("bob", 50)
    assert sampling_interval(rare) == pytest.approx(10.0)
    assert spans(find_appearances(rare), "ann") == [(10, 10, 1), (100, 100, 1)]


def test_a_webcam_uses_the_smallest_time_between_sightings():
    camera = "camera0@20250304-050607"
    start = 1_741_064_767.0
    sightings = [Sighting("ann", camera, start + t, frame) for t, frame in
                 ((0.0, 0), (1.1, 33), (2.0, 60), (3.4, 102), (12.0, 360))]
    assert sampling_interval(sightings) == pytest.approx(0.9)
    assert spans(find_appearances(sightings)) == [(start, start + 3.4, 4),
                                                  (start + 12, start + 12, 1)]


def test_sources_and_persons_are_kept_apart_and_listed_by_source_then_time():
    found = find_appearances(seen("bob", 5, 6) + seen("ann", 0, 1, 6)
                             + seen("ann", 2, source="b.mp4") + seen("ann", 0, source="a.jpg"))
    assert [(a.source, a.person, a.start_s) for a in found] == [
        ("a.jpg", "ann", 0), ("b.mp4", "ann", 2), ("clip.mp4", "ann", 0), ("clip.mp4", "bob", 5),
        ("clip.mp4", "ann", 6)]


def read_appearances(result_dir):
    with open(result_dir / APPEARANCES_CSV, newline="") as file:
        return list(csv.DictReader(file))


def test_appearances_csv_follows_a_renamed_folder_and_leaves_out_unknowns(tmp_path, make_face):
    db = PersonDB()
    ann = db.new_person([make_face(0.0), make_face(0.01)])
    db.new_person([make_face(1.0)])
    db.unknown.add_face(make_face(5.0))
    ann.add_face(make_face(0.02, with_crop=True))
    db.save(tmp_path)
    rows = read_appearances(tmp_path)
    assert list(rows[0]) == ["person", "source", "start_s", "end_s", "faces"]
    # make_face: frame k of clip.mp4 at k / 25 s, so faces 0, 1, 4 of person_01 are one appearance
    assert [(r["person"], r["start_s"], r["end_s"], r["faces"]) for r in rows] == [
        ("person_01", "0.000", "0.160", "3"), ("person_02", "0.080", "0.080", "1")]

    (tmp_path / "person_01").rename(tmp_path / "Ann Lee")
    reloaded = PersonDB()
    reloaded.load(tmp_path, encode_image=None)
    reloaded.save(tmp_path)
    assert [r["person"] for r in read_appearances(tmp_path)] == ["Ann Lee", "person_02"]


def test_faces_without_a_source_or_time_are_not_sightings(make_face):
    db = PersonDB()
    hand_added = make_face(0.0)
    hand_added.source, hand_added.time_s = "", None
    db.new_person([make_face(0.0), hand_added])
    assert [s.person for s in sightings_of(db)] == ["person_01"]


def followed(person, *faces, source="clip.mp4", fps=10.0):
    """Sightings of faces encoded at time_s whose track was followed from from_s, given as
    (from_s, time_s) pairs, in a video of ``fps`` frames a second."""
    return [Sighting(person, source, time_s, round(time_s * fps), from_s)
            for from_s, time_s in faces]


def test_a_face_is_seen_over_the_frames_its_track_was_followed_before_it():
    # -S 0.5 at 10 frames/s; a performer followed from 2.9 s to 7.0 s, encoded only 3 times
    faces = followed("ann", (2.9, 3.0), (3.0, 5.5), (5.5, 7.0))
    assert sampling_interval(faces) == pytest.approx(0.5)
    assert spans(find_appearances(faces)) == [(2.9, 7.0, 3)]
    # the same instants without what was followed: 3.0 to 5.5 is a 2.5 s gap, over the 2 s
    instants = [replace(face, followed_from_s=None) for face in faces]
    assert spans(find_appearances(instants)) == [(3.0, 3.0, 1), (5.5, 7.0, 2)]


def test_the_gap_is_from_the_end_of_one_interval_to_the_start_of_the_next():
    # a track lost at 1.0 s, the next one born at 3.1 (2.1 s unseen) or 2.9 (1.9 s)
    assert spans(find_appearances(followed("ann", (0.5, 1.0), (3.1, 4.0)))) == [
        (0.5, 1.0, 1), (3.1, 4.0, 1)]
    assert spans(find_appearances(followed("ann", (0.5, 1.0), (2.9, 4.0)))) == [(0.5, 4.0, 2)]


def test_overlapping_tracks_of_one_person_make_one_appearance_with_all_their_faces():
    # a long track and a short one inside it (the person's face twice, e.g. in a mirror)
    faces = followed("ann", (0.0, 10.0), (2.0, 3.0), (9.0, 12.0))
    assert spans(find_appearances(faces)) == [(0.0, 12.0, 3)]


def test_a_followed_from_time_after_the_face_or_unknown_counts_as_the_face_time_only():
    faces = followed("ann", (9.0, 5.0), (None, 20.0))
    assert [face.start_s for face in faces] == [5.0, 20.0]
    assert spans(find_appearances(faces)) == [(5.0, 5.0, 1), (20.0, 20.0, 1)]


def followed_face(number, from_s, time_s):
    return Face(file_name=f"clip_f{round(time_s * 10):06d}_0.png", encoding=encoding_at(number),
                source="clip.mp4", frame=round(time_s * 10), time_s=time_s,
                followed_from_s=from_s)


def test_a_face_moved_to_another_person_takes_its_interval_along():
    db = PersonDB()
    ann = Person("ann", [followed_face(0.0, 2.9, 3.0), followed_face(0.0, 3.0, 5.5),
                         followed_face(0.0, 5.5, 7.0)])
    bob = Person("bob", [followed_face(1.0, 8.0, 9.0)])
    db.persons = [ann, bob]
    moved = ann.faces.pop(1)     # as the review moves a face: the same record, another person
    bob.add_face(moved)
    found = find_appearances(sightings_of(db))
    assert [(a.person, a.start_s, a.end_s, a.faces) for a in found] == [
        ("ann", 2.9, 3.0, 1), ("bob", 3.0, 5.5, 1), ("ann", 5.5, 7.0, 1), ("bob", 8.0, 9.0, 1)]


def test_appearances_csv_spans_the_followed_frames_after_a_reload(tmp_path):
    db = PersonDB()
    faces = [followed_face(0.0, 2.9, 3.0), followed_face(0.0, 3.0, 5.5),
             followed_face(0.0, 5.5, 7.0)]
    for face in faces:
        face.crop = np.full((48, 48, 3), 128, np.uint8)
    db.new_person(faces)
    db.save(tmp_path)
    assert [(r["start_s"], r["end_s"], r["faces"]) for r in read_appearances(tmp_path)] == [
        ("2.900", "7.000", "3")]
    reloaded = PersonDB()
    reloaded.load(tmp_path, encode_image=None)
    reloaded.save(tmp_path)
    assert [(r["start_s"], r["end_s"], r["faces"]) for r in read_appearances(tmp_path)] == [
        ("2.900", "7.000", "3")]
