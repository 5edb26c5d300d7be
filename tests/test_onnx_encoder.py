"""dlib's network written as an ONNX graph and run by onnxruntime gives numpy's encodings."""
import sys

import numpy as np
import pytest

from face_detector import ENCODER_MODEL, SHAPE_MODEL, models_dir
from facesort.detection import onnx_encoder
from facesort.detection.onnx_encoder import OnnxFaceNetwork, onnx_model
from facesort.detection.resnet_encoder import CHIP_SIZE, FaceNetwork, read_network


@pytest.fixture(scope="module")
def network():
    return read_network(models_dir() / ENCODER_MODEL)


@pytest.fixture(scope="module")
def face_chips(portraits, detector):
    """The package portraits' faces aligned by dlib, and one of them mirrored."""
    import dlib

    aligner = dlib.shape_predictor(str(models_dir() / SHAPE_MODEL))
    chips = []
    for image in portraits:
        rgb = np.ascontiguousarray(image[:, :, ::-1])
        for top, right, bottom, left in detector.locate(image):
            landmarks = aligner(rgb, dlib.rectangle(left, top, right, bottom))
            chips.append(dlib.get_face_chip(rgb, landmarks, CHIP_SIZE))
    assert chips, "the portraits have faces"
    return np.stack(chips + [chips[0][:, ::-1]])


def test_the_graph_is_a_valid_onnx_model(network):
    onnx = pytest.importorskip("onnx")
    model = onnx.load_from_string(onnx_model(network))
    onnx.checker.check_model(model, full_check=True)
    assert [d.dim_value for d in model.graph.output[0].type.tensor_type.shape.dim][1:] == [128]


@pytest.mark.slow
def test_real_faces_encode_as_with_numpy(network, face_chips):
    ours = OnnxFaceNetwork(network).encode(face_chips)
    assert ours.shape == (len(face_chips), 128) and ours.dtype == np.float64
    np.testing.assert_allclose(ours, network.encode(face_chips), atol=1e-5)
    # and they are encodings of faces, not noise: the mirrored face stays close to its face
    assert np.linalg.norm(ours[0] - ours[-1]) < 0.3


def test_noise_encodes_as_with_numpy_alone_or_in_a_batch(network):
    chips = np.random.default_rng(7).integers(0, 256, (3, CHIP_SIZE, CHIP_SIZE, 3), np.uint8)
    runner = OnnxFaceNetwork(network)
    batch = runner.encode(chips)
    np.testing.assert_allclose(batch, network.encode(chips), atol=1e-5)
    one_by_one = np.concatenate([runner.encode(chip[None]) for chip in chips])
    np.testing.assert_allclose(batch, one_by_one, atol=1e-6)


def test_chips_of_another_size_are_refused(network):
    with pytest.raises(ValueError, match="150"):
        OnnxFaceNetwork(network).encode(np.zeros((1, 100, 100, 3), np.uint8))


def test_worker_processes_run_it_on_one_thread(network, monkeypatch):
    monkeypatch.setenv("OMP_NUM_THREADS", "1")
    runner = OnnxFaceNetwork(network)
    assert runner._session.get_session_options().intra_op_num_threads == 1


def test_without_onnxruntime_the_numpy_network_is_used(network, monkeypatch):
    assert isinstance(onnx_encoder.fastest(network), OnnxFaceNetwork)
    monkeypatch.setitem(sys.modules, "onnxruntime", None)     # import onnxruntime fails
    assert isinstance(onnx_encoder.fastest(network), FaceNetwork)
