"""YuNet: the model file's checks, the box geometry for dlib, and faces found in real photos
(the package-shipped portraits of matplotlib and scikit-image). The tests that need the model
run where it is installed (face_detector.find_yunet_model: `make install` installs it) and skip
elsewhere."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from face_detector import find_yunet_model
from facesort.detection import yunet
from facesort.detection.model_files import ModelError
from facesort.detection.yunet import (
    YuNet,
    YuNetModelError,
    detection_scale,
    dlib_square,
    face_size,
    fit_to_encode,
    unfit_reasons,
    yaw_proxy,
)

SHARED = Path(__file__).resolve().parents[2] / "shared"


def installed_model() -> Path | None:
    try:
        return find_yunet_model()
    except ModelError:
        return None


MODEL = installed_model()
needs_model = pytest.mark.skipif(
    MODEL is None, reason="the YuNet model is not installed here (face-classifier models install)")


def row(left=0.0, top=0.0, width=0.0, height=0.0, score=1.0, right_eye=(0, 0), left_eye=(0, 0),
        nose=(0, 0), right_mouth=(0, 0), left_mouth=(0, 0)) -> np.ndarray:
    """One detection row as YuNet.detect gives it."""
    return np.array([left, top, width, height, score, *right_eye, *left_eye, *nose,
                     *right_mouth, *left_mouth], np.float32)


def frontal_face(nose_x: float = 50.0, size: float = 100.0) -> np.ndarray:
    """A face box at (0, 0) with eyes at x 30 and 70, the mouth corners at 35 and 65."""
    k = size / 100
    return row(0, 0, 100 * k, 110 * k, 0.9, (30 * k, 45 * k), (70 * k, 45 * k),
               (nose_x * k, 65 * k), (35 * k, 85 * k), (65 * k, 85 * k))


def assert_one_line(error: pytest.ExceptionInfo, *words: str) -> None:
    message = str(error.value)
    assert "\n" not in message and message, message
    for word in words:
        assert word in message, message


# --- geometry, no model -------------------------------------------------------------------

def test_dlib_square_is_a_square_of_the_box_geometric_mean_moved_down():
    top, right, bottom, left = dlib_square(100, 200, 80, 100)
    side = 0.98 * np.sqrt(80 * 100)
    assert right - left == bottom - top == round(side)
    assert (left + right) / 2 == pytest.approx(140, abs=1)          # same centre across
    assert (top + bottom) / 2 == pytest.approx(250 + 0.04 * 100, abs=1)  # 4 px lower


def test_dlib_square_clipped_to_the_image_when_asked():
    assert min(dlib_square(-10, -10, 50, 50)) < 0
    top, right, bottom, left = dlib_square(-10, -10, 50, 50, image_size=(30, 20))
    assert (top, left) == (0, 0) and right <= 29 and bottom <= 19


def test_yaw_proxy_is_zero_for_a_frontal_face_and_one_with_the_nose_over_an_eye():
    assert yaw_proxy(frontal_face())[0] == pytest.approx(0, abs=1e-6)
    # the nose over the left eye (x 70): 1 from the eyes, 2 * 35/30 - 1 from the mouth corners
    over_left_eye = yaw_proxy(frontal_face(nose_x=70))[0]
    assert over_left_eye == pytest.approx((1 + (2 * 35 / 30 - 1)) / 2, abs=1e-5)
    assert yaw_proxy(frontal_face(nose_x=30))[0] == pytest.approx(-over_left_eye, abs=1e-5)


def test_fit_to_encode_refuses_turned_and_doubtful_faces():
    doubtful = frontal_face()
    doubtful[4] = 0.8
    rows = np.stack([frontal_face(size=100), frontal_face(nose_x=90), doubtful])
    assert fit_to_encode(rows).tolist() == [True, False, False]
    assert face_size(rows)[0] == pytest.approx(np.sqrt(100 * 110), rel=1e-5)


def test_fit_to_encode_refuses_faces_cut_by_the_image_edge():
    inside, touching, cut_left, cut_bottom = (frontal_face() for _ in range(4))
    inside[:2] = 20, 20
    touching[:2] = 0, 90           # its box ends on the bottom edge: whole
    cut_left[0] = -0.2 * 100       # a fifth of it past the left edge
    cut_bottom[1] = 200 - 110 + 0.3 * 110
    rows = np.stack([inside, touching, cut_left, cut_bottom])
    assert fit_to_encode(rows, image_size=(300, 200)).tolist() == [True, True, False, False]
    assert fit_to_encode(rows).tolist() == [True] * 4   # no image size: not judged


def test_unfit_reasons_say_why_the_first_of_doubtful_turned_cut():
    doubtful_and_turned, turned_and_cut = frontal_face(nose_x=90), frontal_face(nose_x=90)
    cut = frontal_face()
    doubtful_and_turned[4] = 0.8
    turned_and_cut[0] = cut[0] = -0.2 * 100
    rows = np.stack([frontal_face(size=100), doubtful_and_turned, turned_and_cut, cut])
    assert unfit_reasons(rows, image_size=(300, 200)) == [None, "doubtful", "turned", "cut"]
    assert unfit_reasons(rows) == [None, "doubtful", "turned", None]  # no image size: not cut


def test_detection_scale_brings_large_frames_down_to_the_detection_side():
    assert detection_scale(1920, 1080) == 0.5
    assert detection_scale(640, 360) == 1.0
    assert detection_scale(640, 360, most=0.75) == 0.75          # a video's frames
    assert detection_scale(1920, 1080, most=0.75) == 0.5


def test_bad_settings_are_refused():
    with pytest.raises(ValueError):
        YuNet(score_threshold=1.5)
    with pytest.raises(ValueError):
        YuNet(scale=0)


# --- the model file's checks, no model needed ---------------------------------------------

def test_nothing_is_loaded_until_the_first_image(tmp_path):
    YuNet(model_path=tmp_path / "absent.onnx")   # no error: the model loads on first use


def test_a_missing_model_is_a_one_line_error(tmp_path):
    detector = YuNet(model_path=tmp_path / "absent.onnx")
    with pytest.raises(ModelError) as error:
        detector.detect(np.zeros((32, 32, 3), np.uint8))
    assert_one_line(error, "missing", "absent.onnx")


def test_a_model_of_garbage_bytes_is_a_one_line_error(tmp_path):
    garbage = tmp_path / "garbage.onnx"
    garbage.write_bytes(np.random.default_rng(1).bytes(yunet.MODEL.size))   # the right size
    with pytest.raises(ModelError) as error:
        YuNet(model_path=garbage).warm_up()
    assert_one_line(error, "damaged", "garbage.onnx")


def test_a_model_opencv_cannot_read_is_a_one_line_error(monkeypatch, tmp_path):
    # a file passing the hash yet unreadable cannot be made: hand OpenCV garbage directly
    monkeypatch.setattr(yunet, "load_model_bytes",
                        lambda path: np.frombuffer(b"\x08\x07not onnx" * 100, np.uint8))
    with pytest.raises(YuNetModelError) as error:
        yunet.create_detector(tmp_path / "model.onnx")
    assert_one_line(error, "OpenCV cannot load", "model.onnx")


@needs_model
def test_a_truncated_model_is_a_one_line_error(tmp_path):
    truncated = tmp_path / "truncated.onnx"
    truncated.write_bytes(MODEL.read_bytes()[:100_000])
    with pytest.raises(ModelError) as error:
        YuNet(model_path=truncated).warm_up()
    assert_one_line(error, "damaged", "100,000 bytes")


# --- real faces ---------------------------------------------------------------------------

@pytest.fixture(scope="module")
def portraits() -> dict[str, np.ndarray]:
    """Grace Hopper (matplotlib) and the astronaut Eileen Collins (scikit-image), BGR."""
    cbook = pytest.importorskip("matplotlib.cbook")
    skimage_data = pytest.importorskip("skimage.data")
    import cv2

    hopper = cv2.imread(str(cbook.get_sample_data("grace_hopper.jpg", asfileobj=False)))
    astronaut = cv2.cvtColor(skimage_data.astronaut(), cv2.COLOR_RGB2BGR)
    return {"hopper": hopper, "astronaut": astronaut}


@pytest.fixture(scope="module")
def detector() -> YuNet:
    return YuNet(model_path=MODEL)


def iou(a: np.ndarray, b: np.ndarray) -> float:
    """IoU of two (left, top, width, height) boxes."""
    width = min(a[0] + a[2], b[0] + b[2]) - max(a[0], b[0])
    height = min(a[1] + a[3], b[1] + b[3]) - max(a[1], b[1])
    inter = max(width, 0) * max(height, 0)
    return inter / (a[2] * a[3] + b[2] * b[3] - inter)


@pytest.mark.slow
@needs_model
@pytest.mark.parametrize("name", ["hopper", "astronaut"])
def test_finds_the_one_face_of_a_portrait_and_its_square_lies_inside(portraits, detector, name):
    image = portraits[name]
    rows = detector.detect(image)
    assert rows.shape == (1, 15) and rows.dtype == np.float32
    left, top, width, height, score = rows[0, :5]
    assert score > 0.9
    assert 0.15 < height / image.shape[0] < 0.7          # a portrait's face, not a speck
    landmarks = rows[0, 5:].reshape(5, 2)
    assert ((landmarks >= (left, top)) & (landmarks <= (left + width, top + height))).all()
    right_eye, left_eye = landmarks[0], landmarks[1]
    assert right_eye[0] < left_eye[0]                   # the person's right eye is on the left
    assert abs(yaw_proxy(rows)[0]) < 0.5
    top_, right, bottom, left_ = dlib_square(left, top, width, height)
    assert 0 <= left_ < right < image.shape[1] and 0 <= top_ < bottom < image.shape[0]
    assert fit_to_encode(rows).all()


@pytest.mark.slow
@needs_model
def test_scale_detects_on_a_smaller_copy_but_answers_in_the_images_pixels(portraits, detector):
    image = portraits["hopper"]
    full = detector.detect(image)[0]
    half = YuNet(scale=0.5, model_path=MODEL).detect(image)[0]
    assert iou(full[:4], half[:4]) > 0.8, (full[:4], half[:4])   # unscaled: ~0.25
    np.testing.assert_allclose(half[5:], full[5:], atol=0.05 * full[3])


@pytest.mark.slow
@needs_model
def test_one_detector_serves_images_of_any_size_in_turn(portraits, detector):
    import cv2

    hopper = portraits["hopper"]
    first = detector.detect(hopper)
    small = cv2.resize(hopper, None, fx=0.5, fy=0.5, interpolation=cv2.INTER_AREA)
    wide = cv2.copyMakeBorder(hopper, 0, 0, 300, 0, cv2.BORDER_CONSTANT)
    assert len(detector.detect(small)) == 1
    moved = detector.detect(wide)
    assert len(moved) == 1 and moved[0, 0] == pytest.approx(first[0, 0] + 300, abs=3)
    np.testing.assert_allclose(detector.detect(hopper), first)   # the same as the first time


@pytest.mark.slow
@needs_model
def test_grey_and_bgra_images_are_taken(portraits, detector):
    import cv2

    hopper = portraits["hopper"]
    grey = detector.detect(cv2.cvtColor(hopper, cv2.COLOR_BGR2GRAY))
    bgra = detector.detect(cv2.cvtColor(hopper, cv2.COLOR_BGR2BGRA))
    assert len(grey) == 1 and len(bgra) == 1
    assert iou(grey[0, :4], detector.detect(hopper)[0, :4]) > 0.8


@pytest.mark.slow
@needs_model
def test_noise_and_blank_images_have_no_faces(detector):
    noise = np.random.default_rng(3).integers(0, 256, (480, 640, 3), dtype=np.uint8)
    for image in (noise, np.zeros((240, 320, 3), np.uint8), np.zeros((1, 1, 3), np.uint8)):
        found = detector.detect(image)
        assert found.shape == (0, 15) and found.dtype == np.float32


@pytest.mark.slow
@needs_model
def test_the_square_encodes_like_the_hog_box(portraits):
    """dlib's encoding from dlib_square(YuNet's box) matches the one from HOG's own box."""
    from face_detector import FaceDetector, to_rgb

    faces = FaceDetector()
    for image in portraits.values():
        rgb = to_rgb(image)
        hog_box = faces.locate(image)[0]
        square = dlib_square(*YuNet(model_path=MODEL).detect(image)[0, :4])
        from_hog, from_square = faces.encode(rgb, [hog_box, square])
        assert np.linalg.norm(from_hog - from_square) < 0.1


@pytest.mark.slow
@needs_model
@pytest.mark.skipif(not (SHARED / "data" / "photos").is_dir(), reason="../shared is absent")
def test_two_people_in_one_photo(detector):
    import cv2

    image = cv2.imread(str(SHARED / "data" / "photos" / "two_people.jpg"))
    assert len(detector.detect(image)) == 2
