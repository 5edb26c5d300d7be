"""dlib's network run with numpy gives dlib's own encodings, on real faces and on noise."""
import numpy as np
import pytest

from face_detector import ENCODER_MODEL, DetectorSettings, FaceDetector, models_dir
from facesort.detection.resnet_encoder import CHIP_SIZE, ModelFormatError, add_padded, read_network


@pytest.fixture(scope="module")
def network():
    return read_network(models_dir() / ENCODER_MODEL)


def test_tensors_of_unequal_sizes_add_as_in_dlib():
    a = np.ones((1, 3, 3, 2), np.float32)
    b = np.full((1, 4, 4, 1), 2, np.float32)
    total = add_padded(a, b)
    assert total.shape == (1, 4, 4, 2)
    assert total[0, 0, 0].tolist() == [3, 1]       # both
    assert total[0, 3, 3].tolist() == [2, 0]       # only b reaches there
    assert total[0, 0, 0, 1] == 1                  # only a has a second channel


def test_a_file_that_is_not_the_network_is_refused(tmp_path):
    other = tmp_path / "other.dat"
    other.write_bytes(b"\x01\x05con_4" + bytes(64))
    with pytest.raises(ModelFormatError):
        read_network(other)


def test_a_model_file_cut_short_is_refused(tmp_path):
    cut = tmp_path / "cut.dat"
    cut.write_bytes((models_dir() / ENCODER_MODEL).read_bytes()[:400_000])
    with pytest.raises(ModelFormatError, match="damaged"):
        read_network(cut)


@pytest.mark.slow
def test_noise_chips_encode_as_dlib_encodes_them(network):
    import dlib

    reference = dlib.face_recognition_model_v1(str(models_dir() / ENCODER_MODEL))
    chips = np.random.default_rng(5).integers(0, 256, (3, CHIP_SIZE, CHIP_SIZE, 3), np.uint8)
    ours = network.encode(chips)
    theirs = np.array([reference.compute_face_descriptor(chip) for chip in chips])
    assert ours.shape == (3, 128)
    np.testing.assert_allclose(ours, theirs, atol=1e-5)


@pytest.mark.slow
def test_real_faces_encode_as_with_dlibs_encoder(portraits):
    ours = FaceDetector()
    dlibs = FaceDetector(DetectorSettings(dlib_encoder=True))
    for image in portraits:
        mine, theirs = ours.detect(image), dlibs.detect(image)
        assert [f.box for f in mine] == [f.box for f in theirs]
        for a, b in zip(mine, theirs):
            assert np.linalg.norm(a.encoding - b.encoding) < 1e-5
