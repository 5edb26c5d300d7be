"""YuNet on onnxruntime finds what OpenCV's FaceDetectorYN finds, at every image size, and
the model edit that lets it take any size gives a valid ONNX model. Skipped where the YuNet
model is not installed (face-classifier models install)."""
from __future__ import annotations

import sys

import cv2
import numpy as np
import pytest

from facesort.detection import yunet, yunet_onnx
from facesort.detection.onnx_models import any_input_size
from facesort.detection.yunet import OpenCvYuNet, YuNet
from test_yunet import MODEL, needs_model

pytestmark = needs_model


@pytest.fixture(scope="module")
def both():
    model = yunet.load_model_bytes(MODEL).tobytes()
    return (OpenCvYuNet(yunet.create_detector(MODEL)),
            yunet_onnx.OnnxYuNet(model, yunet.NMS_THRESHOLD, yunet.TOP_K))


def scenes(portraits) -> list[np.ndarray]:
    """The portraits as they are, shrunk (small faces), side by side on a wide frame, cut to
    sizes that are no multiple of 32, and a blank image."""
    grace, astronaut = portraits
    wide = np.zeros((400, 1000, 3), np.uint8)
    wide[:300, :225] = cv2.resize(grace, (225, 300))
    wide[50:250, 700:900] = cv2.resize(astronaut, (200, 200))
    return [grace, astronaut, cv2.resize(astronaut, (100, 100)), wide, wide[:333, :777],
            np.zeros((45, 61, 3), np.uint8)]


def test_the_same_faces_as_opencv(both, portraits):
    opencv, onnx_runtime = both
    found = 0
    for image in scenes(portraits):
        theirs, ours = opencv.detect(image, 0.5), onnx_runtime.detect(image, 0.5)
        assert ours.shape == theirs.shape and ours.dtype == np.float32
        np.testing.assert_allclose(ours[np.argsort(-ours[:, 14])],
                                   theirs[np.argsort(-theirs[:, 14])], atol=0.01)
        found += len(ours)
    assert found >= 6           # each portrait twice, both on the wide frame


def test_a_higher_threshold_drops_the_weaker_faces(both, portraits):
    _, onnx_runtime = both
    wide = scenes(portraits)[3]
    scores = onnx_runtime.detect(wide, 0.3)[:, 14]
    assert len(onnx_runtime.detect(wide, 0.99)) == int((scores > 0.99).sum())


def test_the_yunet_class_runs_on_onnxruntime_when_installed(monkeypatch):
    assert isinstance(YuNet(model_path=MODEL)._load(), yunet_onnx.OnnxYuNet)
    monkeypatch.setitem(sys.modules, "onnxruntime", None)     # import onnxruntime fails
    assert isinstance(YuNet(model_path=MODEL)._load(), OpenCvYuNet)


def test_the_edited_model_is_valid_and_takes_any_size():
    onnx = pytest.importorskip("onnx")
    model = onnx.load_from_string(any_input_size(yunet.load_model_bytes(MODEL).tobytes()))
    onnx.checker.check_model(model)
    dimensions = model.graph.input[0].type.tensor_type.shape.dim
    assert [d.dim_param for d in dimensions] == ["input_0", "input_1", "input_2", "input_3"]
    assert len(model.graph.output) == 12 and not model.graph.value_info
    assert len(model.graph.node) == 106          # the network itself is as it was


def test_bytes_that_are_no_model_are_refused():
    with pytest.raises(ValueError, match="not an ONNX model"):
        any_input_size(b"\x0f\xff")
