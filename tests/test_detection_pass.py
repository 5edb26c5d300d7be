"""Planning the detection passes on synthetic pictures: where to look, at what scale (no dlib)."""
import numpy as np
import pytest

from facesort.detection.passes import (
    LocateJob,
    PassSettings,
    Piece,
    coarse_job,
    colour_histogram,
    deduplicate,
    each_face_once,
    fine_job,
    motion_boxes,
    motion_image,
    plan_fine,
    update_background,
)
from facesort.detection.protocol import Found
from facesort.detection.regions import FineBudget, Region
from facesort.records.box import clip, contains
from facesort.records.face import Unfit

HEIGHT, WIDTH = 540, 960


def picture(*squares, value=200):
    """A grey frame with bright squares (top, left, side) on it, BGR."""
    frame = np.full((HEIGHT, WIDTH, 3), 60, np.uint8)
    for top, left, side in squares:
        frame[top:top + side, left:left + side] = value
    return frame


def test_motion_is_found_where_something_appeared():
    before, after = motion_image(picture()), motion_image(picture((200, 400, 60)))
    [box] = motion_boxes(before, after, ignore=[], threshold=24)
    top, right, bottom, left = box
    assert top <= 200 and left <= 400 and bottom >= 260 and right >= 460
    assert bottom - top < 120 and right - left < 120
    assert motion_boxes(after, after, ignore=[], threshold=24) == []


def test_motion_around_a_known_face_or_back_to_the_background_is_no_news():
    before, after = motion_image(picture()), motion_image(picture((200, 400, 60)))
    assert motion_boxes(before, after, ignore=[(200, 460, 260, 400)], threshold=24) == []
    # someone left: the picture went back to what the scene looks like empty
    left = motion_image(picture())
    assert motion_boxes(after, left, [], 24, background=motion_image(picture())) == []
    assert motion_boxes(after, left, [], 24) != []


def test_the_background_follows_the_picture_slowly():
    empty, busy = motion_image(picture()), motion_image(picture((0, 0, 540)))
    background = update_background(None, empty)
    assert np.array_equal(background, empty)
    background = update_background(background, busy, rate=0.1)
    assert 60 < background[10, 10] < 80


def plan(reference, current_frame, budget, **lists):
    frame = current_frame
    return plan_fine(frame, reference, motion_image(frame), lists.get("here", []),
                     lists.get("before", []), lists.get("followed", []),
                     lists.get("small", []), lists.get("ended", []),
                     PassSettings(), budget, lists.get("seconds", 1.0))


def test_the_first_fine_pass_searches_the_whole_frame_as_the_original_does():
    result = plan(None, picture(), FineBudget())
    assert result.full_frame and result.regions == [Region((0, WIDTH, HEIGHT, 0), 2.0)]
    settings = PassSettings(resize_ratio=0.5)
    assert plan_fine(picture(), None, motion_image(picture()), [], [], [], [], [], settings,
                     FineBudget(), 0.0).regions == [Region((0, WIDTH, HEIGHT, 0), 1.0)]


def test_new_motion_is_searched_closely_when_affordable():
    budget = FineBudget(per_second=0.3)
    plan(None, picture(), budget, seconds=0.0)  # the whole frame, once
    result = plan(motion_image(picture()), picture((200, 400, 40)), budget, seconds=1.0)
    assert not result.full_frame and result.motion_covered
    [region] = result.regions
    assert region.scale == 2.4
    top, right, bottom, left = region.box
    assert top < 200 and left < 400 and bottom > 240 and right > 440


def test_unaffordable_motion_waits_but_faces_of_60_px_and_more_are_looked_for():
    budget = FineBudget(per_second=0.01)
    plan(None, picture(), budget, seconds=0.0)
    result = plan(motion_image(picture()), picture((100, 100, 300)), budget, seconds=1.0,
                  small=[(400, 840, 430, 810)])
    assert not result.motion_covered and not result.full_frame
    assert sorted(r.scale for r in result.regions) == [1.0, 2.4]  # motion; the small face


def test_the_departure_of_a_face_seen_before_is_no_news_for_small_faces():
    budget = FineBudget(per_second=0.3)
    plan(None, picture(), budget, seconds=0.0)
    reference = motion_image(picture((200, 400, 120)))
    assert any(r.scale > 1 for r in plan(reference, picture(), budget).regions)
    # where it was is looked at once for faces of ~60 px and more (it may have shrunk below
    # what the coarse pass sees), never closely
    gone = plan(reference, picture(), budget, before=[(200, 520, 320, 400)]).regions
    assert [r.scale for r in gone] == [1.0] and contains(gone[0].box, (200, 520, 320, 400))


def test_a_big_face_that_shrank_out_of_the_coarse_pass_is_looked_for_where_it_was():
    # the demo zooming out: a 144 px face of the frame before, 88 px now, its motion masked
    budget = FineBudget(per_second=0.3)
    plan(None, picture(), budget, seconds=0.0)
    before = (150, 544, 294, 400)
    reference = motion_image(picture((150, 400, 144)))
    now = plan(reference, picture((178, 428, 88)), budget, before=[before]).regions
    assert any(r.scale == 1.0 and contains(r.box, (178, 516, 266, 428)) for r in now)
    # found again by the coarse pass (here): nothing to look for
    assert plan(reference, picture((150, 400, 144)), budget, before=[before],
                here=[before]).regions == []


def test_a_face_followed_lately_masks_only_the_close_search():
    budget = FineBudget(per_second=0.3)
    plan(None, picture(), budget, seconds=0.0)
    reference = motion_image(picture((200, 400, 120)))
    result = plan(reference, picture(), budget, followed=[(200, 520, 320, 400)])
    assert [r.scale for r in result.regions] == [1.0]  # faces of 60 px+: still looked for


def test_fine_job_pieces_are_cut_and_scaled_for_hog():
    frame = picture()
    job = fine_job(frame, [Region((100, 300, 200, 100), 2.4), Region((0, 100, 50, 0), 1.0)])
    close, middle = job.pieces
    assert close.upsample == 1 and close.scale == pytest.approx(1.2)
    assert close.image.shape[:2] == (120, 240) and (close.top, close.left) == (100, 100)
    assert middle.upsample == 0 and middle.scale == 1.0 and middle.image.shape[:2] == (50, 100)


def test_a_fine_piece_has_the_pixels_of_the_whole_frame_scaled_alike():
    import cv2

    frame = np.random.default_rng(4).integers(0, 256, (300, 400, 3), np.uint8)
    piece, = fine_job(frame, [Region((33, 250, 150, 47), 2.4)]).pieces
    assert (piece.top, piece.left) == (30, 40)                 # on the 10-px grid
    whole = cv2.resize(cv2.cvtColor(frame, cv2.COLOR_BGR2GRAY), (0, 0), fx=1.2, fy=1.2,
                       interpolation=cv2.INTER_LINEAR)
    top, left = 36, 48                                          # 30 and 40, scaled by 1.2
    height, width = piece.image.shape
    inner = (slice(2, height - 2), slice(2, width - 2))         # the edges interpolate alone
    np.testing.assert_array_equal(piece.image[inner],
                                  whole[top:top + height, left:left + width][inner])


def test_the_coarse_pass_is_grey_and_half_size_for_hog_and_colour_for_yunet():
    frame = picture((100, 100, 50))
    hog = coarse_job(frame, PassSettings()).pieces[0]
    assert hog.image.shape == (HEIGHT // 2, WIDTH // 2) and hog.scale == 0.5
    yunet = PassSettings(coarse_scale=1.0, colour=True, coarse_side=960)
    piece = coarse_job(frame, yunet.for_frame(WIDTH, HEIGHT)).pieces[0]
    assert piece.image.shape == (HEIGHT, WIDTH, 3) and piece.scale == 1.0   # up to 960: whole
    full_hd = np.zeros((1080, 1920, 3), np.uint8)
    piece = coarse_job(full_hd, yunet.for_frame(1920, 1080)).pieces[0]
    assert piece.image.shape == (540, 960, 3) and piece.scale == 0.5        # 1080p: halved
    assert yunet.for_frame(1920, 1080).for_frame(640, 360).coarse_scale == 1.0  # per input
    assert PassSettings().for_frame(1920, 1080) == PassSettings()   # HOG: coarse_scale as set
    # the smallest face the pass finds reliably follows the scale: ~1.25 x 14 px, x2 at 1080p
    small = PassSettings(coarse_scale=1.0, coarse_side=960, min_box=14, min_box_upsampled=14)
    assert small.for_frame(640, 360).coarse_min == pytest.approx(17.5)
    assert small.for_frame(1920, 1080).coarse_min == pytest.approx(35)


class BoxesAt:
    """A stand-in detector that 'finds' one box per piece, in the piece's own pixels."""

    def find(self, image, upsample=None):
        return [Found((10, 30, 30, 10))]


def test_located_boxes_come_back_in_original_pixels():
    job = LocateJob([Piece(np.zeros((10, 10, 3), np.uint8), upsample=1, scale=0.5, top=100,
                           left=200)])
    found, seconds = job.run(BoxesAt())
    assert found == [Found((120, 260, 160, 220))] and seconds >= 0


class FaceAt:
    """A stand-in detector that finds one face, given in the piece's pixels, clipped to it
    as the real detectors clip theirs."""

    def __init__(self, box):
        self.box = box

    def find(self, image, upsample=None):
        return [Found(clip(self.box, image.shape[:2]))]


def test_a_face_cut_by_a_pieces_edge_inside_the_frame_is_never_encoded():
    # the demo's astronaut, 86 px wide, was found 49 px wide by a piece ending across her
    # face; that box's encoding made a person of its own
    frame = picture()
    piece, = fine_job(frame, [Region((100, 300, 300, 100), 1.0)]).pieces
    assert piece.cut == (True, True, True, True)
    across_the_right_edge = FaceAt((50, 260, 130, 170))     # the face runs to x = 260 of 200
    assert LocateJob([piece]).run(across_the_right_edge)[0] == [
        Found((150, 299, 230, 270), unfit=Unfit.CUT)]        # followed and drawn only
    inside = FaceAt((50, 150, 130, 70))
    assert LocateJob([piece]).run(inside)[0] == [Found((150, 250, 230, 170))]
    # at the frame's own edges a face is only as whole as the frame shows it: encoded
    corner, = fine_job(frame, [Region((0, WIDTH, 200, 700), 1.0)]).pieces
    assert corner.cut == (False, False, True, True)
    at_the_frame_edge = FaceAt((-20, 300, 60, 200))
    assert LocateJob([corner]).run(at_the_frame_edge)[0] == [Found((0, 959, 60, 900))]


def test_a_part_of_a_face_gives_way_to_the_whole_face():
    whole, part = (90, 362, 234, 218), (106, 308, 192, 242)       # the demo's frame 156
    profile = (100, 700, 180, 620)                               # elsewhere: not fit to encode
    assert each_face_once({part: False, whole: True, profile: False}) == [whole, profile]
    # overlapping boxes: the one fit to encode is kept, though found later
    coarse = (92, 360, 236, 220)
    assert each_face_once({(90, 362, 234, 218): False, coarse: True}) == [coarse]


def test_boxes_found_twice_are_kept_once_and_clipped_to_the_frame():
    assert deduplicate([(0, 100, 100, 0), (5, 105, 105, 5), (0, 300, 100, 200)]) == [
        (0, 100, 100, 0), (0, 300, 100, 200)]
    assert clip((-10, 2000, 600, 900), (HEIGHT, WIDTH)) == (0, WIDTH - 1, HEIGHT - 1, 900)
    assert clip((10, 5, 20, 5), (HEIGHT, WIDTH)) is None


def test_appearance_tells_one_face_from_another():
    from facesort.tracking.tracker import similarity

    rng = np.random.default_rng(3)
    face = rng.integers(0, 255, (100, 100, 3), np.uint8)
    other = rng.integers(0, 120, (100, 100, 3), np.uint8)
    frame = np.concatenate([face, face, other], axis=1)
    one, same, two = (colour_histogram(frame, (0, x + 100, 100, x)) for x in (0, 100, 200))
    assert similarity(one, same) == pytest.approx(1.0)
    assert similarity(one, two) < similarity(one, same)


@pytest.mark.parametrize("field, value", [("coarse_scale", 0.0), ("video_scale", 1.5),
                                          ("motion_threshold", 300), ("min_box", 0.0)])
def test_pass_settings_out_of_bounds_are_refused_in_one_line(field, value):
    with pytest.raises(ValueError, match=f"PassSettings.{field} = "):
        PassSettings(**{field: value})
    with pytest.raises(TypeError):   # keyword-only
        PassSettings(0.5)  # type: ignore[misc]
