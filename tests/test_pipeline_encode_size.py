"""The pipeline's size guard: faces smaller than the detector's min_encode_size() are followed
and shown, but never encoded (so never sorted or saved). A stand-in detector, real workers."""
import cv2
import numpy as np
import pytest

from facesort.inputs.stream import Inputs
from facesort.pipeline.pipeline import FacePipeline, PipelineSettings
from facesort.records.modes import SmallFaces
from facesort.records.source import Sampling

BIG, SMALL = (40, 100, 100, 40), (40, 220, 60, 200)   # 60 px and 20 px faces


class TwoFaces:
    """'Finds' a 60 px and a 20 px face on every frame; faces under 32 px are not to be encoded."""

    def __init__(self, settings=None):
        pass

    def warm_up(self):
        pass

    def locate(self, image, upsample=None):
        return [BIG, SMALL]

    def smallest_face(self, upsample=None):
        return 14.0

    def min_encode_size(self):
        return 32.0

    def encode(self, rgb, boxes, mirror_average=None):
        return [np.full(128, 0.05) for _ in boxes]

    def detect(self, *args, **kwargs):
        raise AssertionError("the pipeline locates and encodes; it never calls detect")

    def encode_face_image(self, bgr):
        raise AssertionError("no saved faces to encode here")


@pytest.fixture(scope="module")
def still_video(tmp_path_factory):
    """Two seconds of one noisy picture at 10 frames/s: the same faces stay put."""
    path = tmp_path_factory.mktemp("still") / "still.mp4"
    picture = np.random.default_rng(5).integers(0, 256, (240, 320, 3), np.uint8)
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), 10, (320, 240))
    for _ in range(20):
        writer.write(picture)
    writer.release()
    return path


@pytest.mark.parametrize("every_s", [0.5, 0])
def test_a_face_under_the_encode_size_is_followed_but_never_encoded(still_video, every_s):
    pipeline = FacePipeline(TwoFaces, PipelineSettings(coarse_scale=1.0, colour=True,
                                                       small_faces=SmallFaces.OFF))
    try:
        frames = list(pipeline.run(Inputs.open([str(still_video)], Sampling(every_s=every_s))))
        faces = [face for found in frames for face in found.new_faces] + pipeline.drain()
    finally:
        pipeline.close()
    looked_at = [found for found in frames if found.looked_at]
    assert len(looked_at) == (4 if every_s else 20)
    detected = [found for found in looked_at if found.detected_index is not None]
    assert len(detected) >= len(looked_at) - 2
    for found in detected:   # both faces followed and shown, each with its track
        shown = sorted(box.box for box in found.boxes)
        assert shown == sorted([BIG, SMALL]), shown
        assert all(box.track_id is not None for box in found.boxes)
    assert faces and all(face.box == BIG for face in faces)   # the small one: never encoded
    assert pipeline.stats.encoded == len(faces)
