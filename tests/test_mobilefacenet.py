"""MobileFaceNet: the alignment geometry (no model), then encodings of real faces (the
package-shipped portraits) where the models are installed, skipped elsewhere."""
from __future__ import annotations

import cv2
import numpy as np
import pytest

from face_detector import (
    DetectorSettings,
    FaceDetector,
    find_mobilefacenet_model,
    find_yunet_model,
)
from facesort.detection import mobilefacenet
from facesort.detection.model_files import ModelError
from facesort.detection.mobilefacenet import (
    CHIP_SIZE,
    TEMPLATE,
    align,
    box_landmarks,
    similarity_transform,
    unit_length,
)
from facesort.imaging import crop_face, face_in_crop, to_rgb
from facesort.records.distances import distances_of
from facesort.records.modes import EncoderKind, FaceFinder


def installed_settings() -> DetectorSettings | None:
    try:
        return DetectorSettings(finder=FaceFinder.YUNET, yunet_model=find_yunet_model(),
                                encoder=EncoderKind.MOBILEFACENET,
                                encoder_model=find_mobilefacenet_model())
    except ModelError:
        return None


SETTINGS = installed_settings()
needs_models = pytest.mark.skipif(SETTINGS is None,
                                  reason="the YuNet and MobileFaceNet models are not installed")
THRESHOLD = distances_of(EncoderKind.MOBILEFACENET).threshold


# --- geometry, no model -------------------------------------------------------------------
def test_similarity_transform_recovers_a_rotation_scale_and_shift():
    angle, scale, shift = 0.3, 1.7, np.array([12.0, -5.0])
    rotation = np.array([[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]])
    target = TEMPLATE @ (scale * rotation).T + shift
    matrix = similarity_transform(TEMPLATE, target)
    np.testing.assert_allclose(matrix[:, :2], scale * rotation, atol=1e-9)
    np.testing.assert_allclose(matrix[:, 2], shift, atol=1e-9)


def test_similarity_transform_never_mirrors():
    mirrored = TEMPLATE * [-1, 1]
    matrix = similarity_transform(mirrored, TEMPLATE)
    assert np.linalg.det(matrix[:, :2]) > 0   # a rotation and a scale, no reflection


def test_align_puts_the_landmarks_on_the_template():
    image = np.zeros((400, 400, 3), np.uint8)
    landmarks = TEMPLATE * 2.5 + [60, 40]      # the face 2.5x the chip's size, shifted
    for x, y in landmarks:
        cv2.circle(image, (round(x), round(y)), 4, (255, 255, 255), -1)
    chip = align(image, landmarks)
    assert chip.shape == (CHIP_SIZE, CHIP_SIZE, 3)
    for x, y in TEMPLATE:
        assert chip[round(y), round(x)].max() > 200, (x, y)
    assert chip[5, 5].max() == 0 and chip[100, 56].max() == 0   # nothing else is lit


def test_box_landmarks_place_the_template_inside_the_box():
    points = box_landmarks((100, 300, 300, 100))
    assert ((points >= 100) & (points <= 300)).all()
    eyes, mouth = points[:2], points[3:]
    assert eyes[0, 0] < eyes[1, 0] and mouth[0, 0] < mouth[1, 0]   # the image's left first
    assert eyes[:, 1].max() < points[2, 1] < mouth[:, 1].min()      # eyes, nose, mouth


def test_unit_length_scales_rows_and_keeps_zeros():
    rows = unit_length(np.array([[3.0, 4.0], [0.0, 0.0]]))
    np.testing.assert_allclose(rows, [[0.6, 0.8], [0.0, 0.0]])


# --- real faces ---------------------------------------------------------------------------
@pytest.fixture(scope="module")
def encoder_detector():
    return FaceDetector(SETTINGS)


def face_box(detector: FaceDetector, bgr: np.ndarray):
    (box,) = detector.locate(bgr)
    return box


@needs_models
@pytest.mark.slow
def test_two_people_are_far_apart_and_one_person_close(encoder_detector, portraits):
    encodings = {}
    for name, bgr in enumerate(portraits):
        box = face_box(encoder_detector, bgr)
        encodings[name] = encoder_detector.encode(to_rgb(bgr), [box])[0]
        # the same face in a smaller, slightly brighter copy of the picture
        small = cv2.convertScaleAbs(cv2.resize(bgr, None, fx=0.6, fy=0.6), alpha=1.1)
        again = encoder_detector.encode(to_rgb(small), [face_box(encoder_detector, small)])[0]
        assert np.linalg.norm(encodings[name] - again) < 0.5 * THRESHOLD, name
    for encoding in encodings.values():
        assert abs(np.linalg.norm(encoding) - 1) < 1e-6
    first, second = encodings.values()
    assert np.linalg.norm(first - second) > THRESHOLD


@needs_models
@pytest.mark.slow
def test_the_faces_of_one_call_are_encoded_as_each_alone(encoder_detector, portraits):
    images = list(portraits)
    height = max(image.shape[0] for image in images)
    canvas = np.concatenate([cv2.copyMakeBorder(image, 0, height - image.shape[0], 0, 0,
                                                cv2.BORDER_CONSTANT) for image in images], axis=1)
    boxes = encoder_detector.locate(canvas)
    assert len(boxes) == 2
    rgb = to_rgb(canvas)
    together = encoder_detector.encode(rgb, boxes)
    for box, encoding in zip(boxes, together):
        np.testing.assert_allclose(encoder_detector.encode(rgb, [box])[0], encoding, atol=1e-5)


@needs_models
@pytest.mark.slow
def test_a_mirrored_picture_gives_nearly_the_same_encoding(encoder_detector, portraits):
    bgr = portraits[0]   # Grace Hopper
    mirrored = np.ascontiguousarray(bgr[:, ::-1])
    first = encoder_detector.encode(to_rgb(bgr), [face_box(encoder_detector, bgr)])[0]
    second = encoder_detector.encode(to_rgb(mirrored), [face_box(encoder_detector, mirrored)])[0]
    assert np.linalg.norm(first - second) < 0.35   # well under -t: the template is not quite symmetric, and YuNet places landmarks a little differently in a mirror image


@needs_models
@pytest.mark.slow
def test_landmarks_are_found_again_around_a_found_face(encoder_detector, portraits):
    encoder = encoder_detector.encoder
    for bgr in portraits:
        box = face_box(encoder_detector, bgr)
        landmarks = encoder.landmarks(to_rgb(bgr), box)
        assert landmarks.found
        top, right, bottom, left = box
        assert ((landmarks.points >= [left, top]) & (landmarks.points <= [right, bottom])).all()


@needs_models
@pytest.mark.slow
def test_no_face_around_a_box_falls_back_to_the_box(encoder_detector):
    grey = np.full((300, 300, 3), 128, np.uint8)
    landmarks = encoder_detector.encoder.landmarks(grey, (100, 200, 200, 100))
    assert not landmarks.found
    np.testing.assert_allclose(landmarks.points, box_landmarks((100, 200, 200, 100)))
    (encoding,) = encoder_detector.encode(grey, [(100, 200, 200, 100)])
    assert np.isfinite(encoding).all()


@needs_models
@pytest.mark.slow
def test_a_saved_face_image_encodes_as_its_frame_did(encoder_detector, portraits):
    """A result made with another encoder is converted from its face images: a crop as the
    tool saves it must give back (nearly) the frame's own encoding."""
    for bgr in portraits:
        box = face_box(encoder_detector, bgr)
        from_frame = encoder_detector.encode(to_rgb(bgr), [box])[0]
        crop = crop_face(bgr, box)
        from_crop = encoder_detector.encode_face_image(crop)
        assert np.linalg.norm(from_frame - from_crop) < 0.1
        middle = encoder_detector.encode(to_rgb(crop), [face_in_crop(crop.shape)])[0]
        assert np.linalg.norm(from_frame - middle) < 0.1


def test_model_is_the_published_file():
    assert mobilefacenet.MODEL.file_name == "MobileFaceNet.onnx"


@needs_models
@pytest.mark.slow
def test_a_dim_blurred_face_is_not_made_out_clearly(encoder_detector, portraits):
    """The network's output before it is scaled to unit length shrinks as a face gets dim and
    blurred: such a face's encoding is not trusted (records.face.Unfit.UNCLEAR)."""
    bgr = portraits[0]
    box = face_box(encoder_detector, bgr)
    dim = cv2.convertScaleAbs(cv2.GaussianBlur(bgr, (0, 0), 12), alpha=0.2)   # her face: 186 px
    (_, clear), = encoder_detector.encode_checked(to_rgb(bgr), [box])
    (encoding, dim_clear), = encoder_detector.encode_checked(to_rgb(dim), [box])
    assert clear and not dim_clear
    assert abs(np.linalg.norm(encoding) - 1) < 1e-6     # still an encoding, of unit length
