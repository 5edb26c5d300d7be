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
    area_a = (a[2] - a[0]) * (a[1] - a[3])
    area_b = (b[2] - b[0]) * (b[1] - b[3])
    return inter / (area_a + area_b - inter)


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

    from face_detector import frontal_face_detector
    from facesort.detection.model_files import cache_dir

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


# --- YuNet as the finder ---------------------------------------------------------------------
def test_the_yunet_settings_make_a_picklable_worker_factory_and_say_its_limits(tmp_path):
    import functools
    import pickle

    from face_detector import HogDetector, YuNetDetector
    from facesort.detection import yunet
    from facesort.records.modes import FaceFinder

    settings = DetectorSettings(finder=FaceFinder.YUNET, score_threshold=0.8,
                                yunet_model=tmp_path / "model.onnx")
    factory = pickle.loads(pickle.dumps(functools.partial(FaceDetector, settings)))
    detector = factory()   # nothing is loaded yet: the model may even be absent here
    assert detector.settings == settings and isinstance(detector, YuNetDetector)
    assert detector.smallest_face(upsample=0) == detector.smallest_face(upsample=1) == 14
    assert detector.min_encode_size() == pytest.approx(yunet.SQUARE_SIDE * 32)
    assert isinstance(FaceDetector(), HogDetector)
    assert FaceDetector().min_encode_size() == 0   # HOG: every face found is encoded
    with pytest.raises(ValueError):
        FaceDetector(DetectorSettings(finder="cnn"))


@pytest.mark.parametrize("field, value", [("score_threshold", 1.5), ("resize_ratio", 0.0),
                                          ("upsample", -1), ("encoder", "facenet")])
def test_detector_settings_out_of_bounds_are_refused_in_one_line(field, value):
    with pytest.raises(ValueError) as refused:
        DetectorSettings(**{field: value})
    assert field in str(refused.value) or value in str(refused.value)
    assert "\n" not in str(refused.value)
    with pytest.raises(TypeError):  # keyword-only: no setting is given by its place
        DetectorSettings(1)  # type: ignore[misc]


def installed_yunet():
    from face_detector import find_yunet_model
    from facesort.detection.model_files import ModelError

    try:
        return find_yunet_model()
    except ModelError:
        return None


@pytest.mark.slow
@pytest.mark.skipif(installed_yunet() is None, reason="the YuNet model is not installed here")
def test_yunet_boxes_are_dlib_squares_inside_the_image_and_encode_like_hogs(portraits, detector):
    import cv2

    from facesort.records.modes import FaceFinder

    finder = FaceDetector(DetectorSettings(finder=FaceFinder.YUNET))
    for image in portraits:
        (box,) = finder.locate(image)
        top, right, bottom, left = box
        assert abs((right - left) - (bottom - top)) <= 1
        assert 0 <= left < right < image.shape[1] and 0 <= top < bottom < image.shape[0]
        assert overlap(box, detector.locate(image)[0]) > 0.5
        (grey,) = finder.locate(cv2.cvtColor(image, cv2.COLOR_BGR2GRAY))   # grey: converted
        assert overlap(grey, box) > 0.8
        (face,) = finder.detect(image)
        (hog_face,) = detector.detect(image)
        assert face_distance(np.array([hog_face.encoding]), face.encoding)[0] < 0.1
    cut = np.ascontiguousarray(portraits[0][:, 200:])   # Grace Hopper's face cut by the edge
    assert all(b[3] >= 0 and b[1] < cut.shape[1] for b in finder.locate(cut))


@pytest.mark.slow
def test_faces_encoded_together_get_the_encodings_each_gets_alone(portraits):
    # an encode job sets its crops side by side and runs the network once for all of them
    from facesort.detection.passes import EncodeJob

    detector = FaceDetector()
    crops = [crop_face(image, box) for image in portraits for box in detector.locate(image)]
    assert len(crops) >= 2
    crops.append(crops[0][::2, ::2].copy())   # a smaller crop beside bigger ones
    together = EncodeJob(crops).run(detector)
    assert len(together) == len(crops)
    for crop, (encoding, png, clear) in zip(crops, together):
        [(alone, alone_png, alone_clear)] = EncodeJob([crop]).run(detector)
        assert np.linalg.norm(encoding - alone) < 1e-5
        assert png == alone_png and clear == alone_clear


def test_a_faces_mirror_image_is_cut_from_around_it_as_from_the_whole_image_mirrored(
        portraits, detector):
    # mirrored_window copies the face's surroundings only; the chips must be the same bit for
    # bit, for a face in the middle and for faces cut by each edge of the frame
    import dlib
    from face_detector import SHAPE_MODEL, mirrored_window, models_dir

    aligner = dlib.shape_predictor(str(models_dir() / SHAPE_MODEL))
    grace = portraits[0]
    frame = np.zeros((700, 1200, 3), np.uint8)
    frame[50:650, 300:812] = grace
    frames = [frame, grace, grace[:, 200:], grace[:, :330], grace[170:, :], grace[:300, :]]
    compared = 0
    for bgr in frames:
        rgb = to_rgb(bgr)
        mirrored, width = np.ascontiguousarray(rgb[:, ::-1]), rgb.shape[1]
        for box in detector.locate(bgr):
            top, right, bottom, left = box
            whole = dlib.rectangle(width - 1 - right, top, width - 1 - left, bottom)
            expected = dlib.get_face_chip(mirrored, aligner(mirrored, whole), 150, 0.25)
            window, (top, right, bottom, left) = mirrored_window(rgb, box)
            rect = dlib.rectangle(left, top, right, bottom)
            if bgr is frame:
                assert window.size < rgb.size / 2     # a part of the frame, not all of it
            np.testing.assert_array_equal(
                dlib.get_face_chip(window, aligner(window, rect), 150, 0.25), expected)
            compared += 1
    assert compared >= 5
