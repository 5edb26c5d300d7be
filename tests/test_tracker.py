"""The tracking and scheduling rules on synthetic boxes: no dlib, no video, milliseconds."""
import itertools
import math

import numpy as np
import pytest

from facesort.detection.regions import (
    CONFIRM,
    FULL,
    REGIONS,
    FineBudget,
    Region,
    fine_regions,
    merge_regions,
    search_cost,
)
from facesort.records.box import grow, iou
from facesort.tracking.tracker import (
    Coverage,
    Detection,
    DetectionSchedule,
    TrackBook,
    TrackingRules,
    similarity,
)

FACE = (100, 200, 200, 100)           # (top, right, bottom, left): a 100 px face
SEES_ALL = Coverage(min_size=0)       # a pass that could have seen any face
SEES_NONE = Coverage()                # a pass that could have seen none


def look(seed: int) -> np.ndarray:
    """An appearance vector; the same seed looks the same, others look different."""
    return np.random.default_rng(seed).random(128)


def moved(box, dy=0, dx=0):
    top, right, bottom, left = box
    return top + dy, right + dx, bottom + dy, left + dx


def book(**rules) -> TrackBook:
    return TrackBook(TrackingRules(**rules))


# --- geometry -------------------------------------------------------------------------------
def test_iou_of_boxes():
    assert iou(FACE, FACE) == 1.0
    assert iou(FACE, moved(FACE, dx=100)) == 0.0
    assert iou(FACE, moved(FACE, dx=50)) == pytest.approx(50 * 100 / (2 * 10_000 - 5_000))


def test_grow_adds_a_share_of_the_size_and_stays_in_the_frame():
    assert grow(FACE, 0.5, (1000, 1000)) == (50, 250, 250, 50)
    assert grow(FACE, 2.0, (300, 1000)) == (0, 400, 300, 0)
    assert grow((10, 20, 20, 10), 0.0, (100, 100), minimum=40) == (0, 60, 60, 0)


def test_overlapping_regions_of_one_scale_merge_and_other_scales_stay_apart():
    a, b = Region((0, 100, 100, 0), 2.0), Region((50, 150, 150, 50), 2.0)
    far = Region((500, 600, 600, 500), 2.0)
    assert merge_regions([a, b, far]) == [Region((0, 150, 150, 0), 2.0), far]
    chain = [Region((0, 100, 100, 0), 2.0), Region((0, 300, 100, 200), 2.0),
             Region((50, 250, 80, 50), 2.0)]  # the third joins the first two
    assert merge_regions(chain) == [Region((0, 300, 100, 0), 2.0)]
    coarse = Region((50, 150, 150, 50), 1.0)
    assert sorted(merge_regions([a, coarse]), key=lambda r: r.scale) == [coarse, a]


def test_search_cost_is_area_times_scale_squared():
    assert search_cost([Region((0, 10, 10, 0), 2.0), Region((0, 10, 10, 0), 1.0)]) == 500


def test_similarity_of_appearances():
    assert similarity(look(1), look(1)) == pytest.approx(1.0)
    assert similarity(look(1), look(2)) < 0.5
    assert similarity(None, look(2)) == 1.0  # unknown: no evidence against


# --- what a pass could see ------------------------------------------------------------------
def test_coverage_blames_only_what_a_pass_could_see():
    coarse = Coverage(min_size=125)
    assert coarse.sees((0, 150, 150, 0)) and not coarse.sees(FACE)
    fine = Coverage(regions=((50, 250, 250, 50),), fine_min=24)
    assert fine.sees(FACE) and not fine.sees(moved(FACE, dx=300))
    assert not fine.sees((100, 110, 110, 100))  # 10 px: below what the fine pass finds
    assert (coarse | fine).sees(FACE) and (coarse | fine).sees((0, 400, 150, 250))


# --- tracks ---------------------------------------------------------------------------------
def test_a_new_face_starts_a_track_and_is_encoded_on_its_first_two_looks():
    tracks = book(reencode_looks=0)
    update = tracks.update([Detection(FACE, look(1))], 0, SEES_ALL, look=0)
    assert [t.track_id for t in update.born] == [1]
    assert [(r.track.track_id, r.index, r.box) for r in update.encode] == [(1, 0, FACE)]
    encoded_at = []
    for index in range(5, 100, 5):  # the same face drifting: one track; looks every 25 frames
        update = tracks.update([Detection(moved(FACE, dx=index // 5), look(1))], index,
                               SEES_ALL, look=index // 25 if index % 25 == 0 else None)
        assert [t.track_id for t, _ in update.matched] == [1] and update.born == []
        encoded_at += [r.index for r in update.encode]
    assert encoded_at == [25]  # the second look (two faces make a person), then no more


def test_a_face_is_encoded_only_on_look_frames():
    tracks = book()
    update = tracks.update([Detection(FACE, look(1))], 5, SEES_ALL, look=None)
    assert update.born and update.encode == []   # born between looks: waits for the next
    update = tracks.update([Detection(FACE, look(1))], 10, SEES_ALL, look=1)
    assert [r.index for r in update.encode] == [10]


def looks_encoded(tracks: TrackBook) -> dict[int, list[int]]:
    """The looks on which each of two faces is encoded; the second appears on look 2."""
    encoded_at: dict[int, list[int]] = {1: [], 2: []}
    for number in range(10):
        faces = [Detection(FACE, look(1))]
        if number >= 2:
            faces.append(Detection(moved(FACE, dx=300), look(2)))
        for request in tracks.update(faces, number * 10, SEES_ALL, look=number).encode:
            encoded_at[request.track.track_id].append(number)
    return encoded_at


def test_later_encodings_of_every_track_fall_on_the_same_looks():
    assert looks_encoded(book(reencode_looks=3, together=0)) == {
        1: [0, 1, 3, 6, 9], 2: [2, 3, 6, 9]}


def test_a_look_that_encodes_one_face_encodes_every_face_found_on_it():
    assert looks_encoded(book(reencode_looks=3, together=1)) == {
        1: [0, 1, 2, 3, 6, 9], 2: [2, 3, 6, 9]}
    # ... that was not encoded on the look before (together=2)
    assert looks_encoded(book(reencode_looks=3, together=2)) == {
        1: [0, 1, 3, 6, 9], 2: [2, 3, 6, 9]}


def test_a_second_look_comes_after_the_looks_asked_for():
    tracks = book(second_look=2, reencode_looks=0)
    encoded = [len(tracks.update([Detection(FACE, look(1))], n, SEES_ALL, look=n).encode)
               for n in range(5)]
    assert encoded == [1, 0, 1, 0, 0]


def test_a_face_too_small_to_encode_is_followed_and_never_encoded():
    tracks = book(min_encode_size=50)
    small = (100, 140, 140, 100)
    for number in range(5):
        update = tracks.update([Detection(small, look(1))], number, SEES_ALL, look=number)
        assert update.encode == []
    assert len(tracks.tracks) == 1
    update = tracks.update([Detection(FACE, look(1))], 5, SEES_ALL, look=5)  # it came closer
    assert [r.index for r in update.encode] == [5]


def test_a_face_that_changed_its_look_is_encoded_again_to_check_it():
    tracks = book(verify_similarity=0.9, min_similarity=0.5, reencode_looks=0)
    tracks.update([Detection(FACE, look(1))], 0, SEES_ALL, look=0)
    tracks.update([Detection(FACE, look(1))], 5, SEES_ALL, look=1)   # the second look
    assert tracks.update([Detection(FACE, look(1))], 10, SEES_ALL, look=2).encode == []
    changed = 0.5 * look(1) + 0.5 * look(2)  # alike, but not as alike as when encoded
    assert 0.5 < similarity(look(1), changed) < 0.9
    update = tracks.update([Detection(FACE, changed)], 15, SEES_ALL, look=None)
    assert [t.track_id for t, _ in update.matched] == [1] and update.encode == []
    update = tracks.update([Detection(FACE, changed)], 20, SEES_ALL, look=4)
    assert [r.index for r in update.encode] == [20]   # on the next look frame


def test_a_face_that_grew_is_encoded_again():
    tracks = book(resize_ratio=1.3, reencode_looks=0)
    for number in range(3):
        tracks.update([Detection(FACE, look(1))], number, SEES_ALL, look=number)
    bigger = (90, 220, 220, 90)   # 130 px from 100
    update = tracks.update([Detection(bigger, look(1))], 3, SEES_ALL, look=3)
    assert [r.index for r in update.encode] == [3]


def test_someone_else_in_the_same_place_is_a_new_track_and_ends_the_old_one():
    tracks = book()
    tracks.update([Detection(FACE, look(1))], 0, SEES_ALL)
    update = tracks.update([Detection(moved(FACE, dx=5), look(2))], 5, SEES_NONE)
    assert update.matched == []
    assert [t.track_id for t in update.born] == [2]
    assert [t.track_id for t in update.ended] == [1]  # replaced, even by a pass blind to it
    assert [t.track_id for t in tracks.tracks] == [2]


def test_detections_go_to_the_tracks_they_overlap_most():
    tracks = book()
    left, right = FACE, moved(FACE, dx=120)
    tracks.update([Detection(left, look(1)), Detection(right, look(2))], 0, SEES_ALL)
    # both drift right by 40 px: each detection overlaps both tracks, its own one more
    update = tracks.update([Detection(moved(right, dx=40), look(2)),
                            Detection(moved(left, dx=40), look(1))], 5, SEES_ALL)
    assert sorted((t.track_id, d.box) for t, d in update.matched) == [
        (1, moved(left, dx=40)), (2, moved(right, dx=40))]


def test_a_missed_track_ends_after_max_misses_of_passes_that_could_see_it():
    tracks = book(max_misses=2, max_unseen=1000)
    tracks.update([Detection(FACE, look(1))], 0, SEES_ALL)
    assert tracks.update([], 5, SEES_NONE).ended == []      # blind pass: no blame
    assert tracks.update([], 10, SEES_NONE).ended == []
    assert tracks.update([], 15, SEES_ALL).ended == []      # first miss
    assert [t.track_id for t in tracks.update([], 20, SEES_ALL).ended] == [1]
    assert tracks.tracks == []


def test_a_track_no_pass_can_see_still_ends_when_unseen_too_long():
    tracks = book(max_unseen=75)
    tracks.update([Detection(FACE, look(1))], 0, SEES_ALL)
    assert tracks.update([], 75, SEES_NONE).ended == []
    assert len(tracks.update([], 80, SEES_NONE).ended) == 1


def test_a_late_pass_is_matched_where_the_tracks_were_at_its_frame():
    tracks = book()
    tracks.update([Detection(FACE, look(1))], 0, SEES_ALL)
    track = tracks.tracks[0]
    for index in range(1, 11):  # the follower moves the face 20 px a frame
        tracks.move(track, moved(FACE, dx=20 * index), index)
    # the pass of frame 5 is applied now, at frame 10: the face is where it was at 5
    update = tracks.update([Detection(moved(FACE, dx=100), look(1))], 5, SEES_ALL)
    assert [t.track_id for t, _ in update.matched] == [1] and update.born == []
    tracks.remember_positions(10, keep_after=8)
    assert sorted(track.boxes_at) == [8, 9, 10]


def test_a_reencoding_far_from_the_track_starts_a_new_id():
    tracks = book(switch_distance=0.44)
    tracks.update([Detection(FACE, look(1))], 0, SEES_ALL)
    track = tracks.tracks[0]
    same, other = np.zeros(128), np.zeros(128)
    other[0] = 0.6
    assert tracks.accept_encoding(track, same) == 1
    near = same.copy()
    near[1] = 0.2
    assert tracks.accept_encoding(track, near) == 1
    assert tracks.accept_encoding(track, other) == 2  # someone else from here on
    assert track.track_id == 2


def test_track_ids_are_unique_across_books_that_share_a_counter():
    ids = itertools.count(1)
    first, second = TrackBook(ids=ids), TrackBook(ids=ids)
    first.update([Detection(FACE)], 0, SEES_ALL)
    second.update([Detection(FACE)], 0, SEES_ALL)
    assert [first.tracks[0].track_id, second.tracks[0].track_id] == [1, 2]


# --- scheduling -----------------------------------------------------------------------------
def test_the_schedule_runs_each_pass_at_its_interval():
    schedule = DetectionSchedule(coarse_every=5, fine_every=10)
    passes = [(i, schedule.passes(i)) for i in range(0, 21)]
    assert [i for i, p in passes if p.coarse] == [0, 5, 10, 15, 20]
    assert [i for i, p in passes if p.fine] == [0, 10, 20]
    assert [i for i, p in passes if p.any] == [0, 5, 10, 15, 20]


def test_the_fine_budget_first_searches_the_whole_frame_then_what_it_can_afford():
    budget = FineBudget(per_second=0.2, full_every_s=30)
    assert budget.choose(0.0, cost=0.1, confirm_cost=0.0) == FULL      # the bucket: 0
    assert budget.choose(0.25, cost=0.1, confirm_cost=0.0) == CONFIRM  # 0.05 saved
    assert budget.choose(0.5, cost=0.1, confirm_cost=0.0) == REGIONS   # 0.1: now it can
    assert budget.tokens == pytest.approx(0.0)
    assert budget.choose(1.5, cost=0.5, confirm_cost=0.05) == CONFIRM  # the motion waits
    assert budget.tokens == pytest.approx(0.15)


def test_the_fine_budget_searches_everything_when_saved_up_and_much_moved():
    budget = FineBudget(per_second=0.5, full_every_s=30, large=0.5)
    budget.choose(0.0, 0.0, 0.0)
    assert budget.choose(1.0, cost=0.9, confirm_cost=0.0) == CONFIRM   # half a bucket
    assert budget.choose(2.0, cost=0.9, confirm_cost=0.0) == FULL      # a full one: a pan
    assert budget.choose(3.0, cost=0.0, confirm_cost=0.0) == REGIONS


def test_a_still_scene_gets_a_whole_frame_search_every_full_every_s():
    budget = FineBudget(per_second=0.3, full_every_s=10)
    choices = [budget.choose(t * 0.5, 0.0, 0.0) for t in range(0, 61)]
    assert [t * 0.5 for t, c in enumerate(choices) if c == FULL] == [0.0, 10.0, 20.0, 30.0]


def test_the_budget_never_owes_more_than_one_whole_frame():
    budget = FineBudget(per_second=0.0)
    budget.choose(0.0, 0.0, 0.0)
    for t in range(1, 20):
        budget.choose(float(t), cost=2.0, confirm_cost=0.5)
    assert budget.tokens == -1.0


def test_fine_regions_search_motion_closely_and_confirm_small_tracks_cheaply():
    bounds = (540, 960)
    motion = [(100, 140, 140, 100)]
    small, medium = (300, 340, 330, 310), (300, 800, 400, 700)
    regions, cost = fine_regions(motion, [small, medium], [], bounds, full_scale=2.4,
                                 reliable_size=62.5, min_margin=40, whole_scale=2.0)
    assert Region((60, 180, 180, 60), 2.4) in regions          # motion: only HOG's margin
    assert Region((260, 380, 370, 270), 2.4) in regions        # a 30 px face: closely
    assert Region((260, 840, 440, 660), 1.0) in regions        # 100 px: at scale 1
    expected = (120 * 120 * 2.4 ** 2 + 110 * 110 * 2.4 ** 2 + 180 * 180 * 1.0 ** 2) / (
        540 * 960 * 4)
    assert cost == pytest.approx(expected)
    assert fine_regions([], [], [], bounds) == ([], 0.0)
    assert math.isclose(fine_regions([], [], [(0, 960, 540, 0)], bounds)[1], 1.0)
