"""The detector on real faces shipped in PyPI packages, and the crop geometry."""
import numpy as np
import pytest

from face_detector import DetectorSettings, FaceDetector
from facesort.imaging import crop_face, to_rgb
from facesort.records.face import face_distance, face_file_name


def test_crop_puts_the_face_in_the_middle_third_and_pads_past_the_edges():
    image = np.arange(100 * 100 * 3, dtype=np.uint8).reshape(100, 100, 3)
    crop = crop_face(image, (0, 30, 20, 10))  # a 20x20 box touching the top edge
    assert crop.shape == (60, 60, 3)
    assert not crop[:20].any()                       # padding above the image
    np.testing.assert_array_equal(crop[20:40, 20:40], image[0:20, 10:30])


def test_face_file_names_are_stable_and_safe():
    assert face_file_name("/videos/my clip.mp4", 25, 1) == "my_clip_f000025_1.png"
    assert face_file_name("/videos/my clip.mp4", 25, 1) == face_file_name("my clip.mp4", 25, 1)


def test_to_rgb_gives_dlib_a_contiguous_array():
    bgr = np.zeros((4, 4, 3), np.uint8)
    bgr[..., 0] = 255
    rgb = to_rgb(bgr[:, ::-1])
    assert rgb.flags["C_CONTIGUOUS"] and rgb[0, 0, 2] == 255


@pytest.mark.slow
def test_two_real_people_are_far_apart_and_one_is_close_to_itself(portraits, detector):
    hopper, astronaut = portraits
    faces = [detector.detect(image, source="x.png") for image in portraits]
    assert [len(f) for f in faces] == [1, 1]
    apart = face_distance(np.array([faces[0][0].encoding]), faces[1][0].encoding)[0]
    assert 0.6 < apart < 0.8
    smaller = detector.detect(np.ascontiguousarray(hopper[::2, ::2]))[0]
    assert face_distance(np.array([smaller.encoding]), faces[0][0].encoding)[0] < 0.2


def overlap(a, b):
    """Intersection over union of two (top, right, bottom, left) boxes."""
    height = min(a[2], b[2]) - max(a[0], b[0])
    width = min(a[1], b[1]) - max(a[3], b[3])
    inter = max(0, height) * max(0, width)
    area = lambda box: (box[2] - box[0]) * (box[1] - box[3])
    return inter / (area(a) + area(b) - inter)


@pytest.mark.slow
def test_resize_ratio_detects_small_but_reports_original_pixels(portraits, detector):
    hopper = portraits[0]
    full = detector.detect(hopper)[0].box
    half = FaceDetector(DetectorSettings(resize_ratio=0.5)).detect(hopper)[0].box
    assert overlap(full, half) > 0.6, (full, half)  # unscaled boxes would overlap ~0.25


@pytest.mark.slow
def test_a_saved_crop_encodes_back_to_its_face(portraits, detector):
    face = detector.detect(portraits[1])[0]
    again = detector.encode_face_image(face.crop)
    assert face_distance(np.array([again]), face.encoding)[0] < 0.15


def test_a_box_that_is_not_square_sits_in_the_middle_third_of_its_crop():
    image = np.zeros((200, 200, 3), np.uint8)
    image[50:80, 60:120] = 255                     # the face: 30 rows, 60 columns
    crop = crop_face(image, (50, 120, 80, 60))
    assert crop.shape == (90, 180, 3)              # a box-size of margin on every side
    assert crop[30:60, 60:120].all() and crop.sum() == image.sum()


@pytest.mark.slow
def test_the_hog_detector_is_kept_in_the_cache_and_a_damaged_copy_is_rebuilt(
        tmp_path, monkeypatch, portraits):
    import dlib

    from face_detector import cache_dir, frontal_face_detector

    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    built = frontal_face_detector(dlib)
    saved = list(cache_dir().iterdir())
    assert [p.suffix for p in saved] == [".svm"]
    rgb = to_rgb(portraits[0])
    assert list(frontal_face_detector(dlib)(rgb, 1)) == list(built(rgb, 1))  # from the copy
    saved[0].write_bytes(saved[0].read_bytes()[:5000])                       # damaged
    assert len(frontal_face_detector(dlib)(rgb, 1)) == 1
    assert saved[0].stat().st_size > 5000                                    # rebuilt
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "file"))
    (tmp_path / "file").write_text("not a folder")
    assert len(frontal_face_detector(dlib)(rgb, 1)) == 1                     # no cache: works
