"""The pipeline's size guard: faces smaller than the detector's min_encode_size() are followed
and shown, never encoded as the track goes, and kept once, flagged unfit to sort, when their
track ends; and what a face's track was followed
over before it was encoded (Face.followed_from_s). Stand-in detectors, real workers."""
import cv2
import numpy as np
import pytest

from facesort.detection.protocol import Found
from facesort.records.face import Unfit

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

    def find(self, image, upsample=None):
        return [Found(box) for box in self.locate(image, upsample)]

    def smallest_face(self, upsample=None):
        return 14.0

    def min_encode_size(self):
        return 32.0

    def encode(self, rgb, boxes, mirror_average=None):
        return [np.full(128, 0.05) for _ in boxes]

    def encode_checked(self, rgb, boxes, mirror_average=None):
        return [(encoding, True) for encoding in self.encode(rgb, boxes, mirror_average)]

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
def test_a_face_under_the_encode_size_is_followed_and_kept_once_flagged_small(still_video,
                                                                              every_s):
    pipeline, frames, faces = run_pipeline(still_video, every_s, TwoFaces)
    looked_at = [found for found in frames if found.looked_at]
    assert len(looked_at) == (4 if every_s else 20)
    detected = [found for found in looked_at if found.detected_index is not None]
    assert len(detected) >= len(looked_at) - 2
    for found in detected:   # both faces followed and shown, each with its track
        shown = sorted(box.box for box in found.boxes)
        assert shown == sorted([BIG, SMALL]), shown
        assert all(box.track_id is not None for box in found.boxes)
    fit = [face for face in faces if face.unfit is None]
    assert fit and all(face.box == BIG for face in fit)   # the small one: never sorted
    kept, = [face for face in faces if face.unfit is not None]   # one face for its track
    assert (kept.box, kept.unfit, kept.frame) == (SMALL, "small", 0)
    assert kept.crop_png is not None and kept.encoding.shape == (128,)
    assert kept.track_id not in {face.track_id for face in fit}
    assert pipeline.stats.encoded == len(fit) and pipeline.stats.unfit == 1


def run_pipeline(video, every_s, detector, **settings):
    """The pipeline after a run over ``video``, the frames it handed out and the faces."""
    pipeline = FacePipeline(detector, PipelineSettings(coarse_scale=1.0, colour=True,
                                                       small_faces=SmallFaces.OFF, **settings))
    try:
        frames = list(pipeline.run(Inputs.open([str(video)], Sampling(every_s=every_s))))
        faces = [face for found in frames for face in found.new_faces] + pipeline.drain()
    finally:
        pipeline.close()
    return pipeline, frames, faces


def run(video, every_s, detector, workers=2):
    """The faces of a run that encodes a track on its first two looks 0.5 s apart, then
    every second (the two-second videos here would give the defaults two faces)."""
    return run_pipeline(video, every_s, detector, workers=workers, second_look_s=0.5,
                        reencode_every_s=1.0)[2]


@pytest.mark.parametrize("every_s", [0.5, 0])
def test_a_re_encoded_face_was_followed_from_the_face_encoded_before_it(still_video, every_s):
    faces = [face for face in run(still_video, every_s, TwoFaces) if face.box == BIG]
    assert len(faces) >= 3 and len({face.track_id for face in faces}) == 1
    first, *later = faces
    assert first.followed_from_s == first.time_s == 0.0   # born and encoded at once
    assert [face.followed_from_s for face in later] == [face.time_s for face in faces[:-1]]
    assert all(a.time_s < b.time_s for a, b in zip(faces, faces[1:]))


class TurnsIntoSomeoneElse(TwoFaces):
    """Encodes the first face as one person and the later ones as another, as when a track
    jumps onto someone else (run inline, workers=0, so that the calls come in order)."""

    def __init__(self, settings=None):
        self.encoded = 0

    def encode(self, rgb, boxes, mirror_average=None):
        self.encoded += len(boxes)
        return [np.full(128, 0.05 if self.encoded == 1 else 0.2) for _ in boxes]


def test_a_track_that_turned_into_someone_else_was_not_followed_before_the_switch(still_video):
    faces = [face for face in run(still_video, 0.5, TurnsIntoSomeoneElse, workers=0)
             if face.box == BIG]
    # encoded on looks 0 and 1 (the second look), 2 (every second look), and where it was
    # last found when the video ends (look 3)
    assert [(face.time_s, face.followed_from_s) for face in faces] == [
        (0.0, 0.0), (0.5, 0.5), (1.0, 0.5), (1.5, 1.0)]
    assert faces[0].track_id != faces[1].track_id == faces[2].track_id == faces[3].track_id


SQUARE = (30, 110, 110, 30)   # a flat-coloured square, the same in every frame
GROWING = [(57, 83, 83, 57), (52, 88, 88, 52)]   # 26 px, too small to encode; then 36 px


class GrowingFace(TwoFaces):
    """'Finds' one face in the square: 26 px while the frame's corner is dark, then 36 px."""

    def locate(self, image, upsample=None):
        return [GROWING[int(image[:40, -40:].mean() > 128)]]


@pytest.fixture(scope="module")
def growing_video(tmp_path_factory):
    """Two seconds at 10 frames/s; from 1.0 s on the corner is white (the face has grown)."""
    path = tmp_path_factory.mktemp("growing") / "growing.mp4"
    picture = np.random.default_rng(6).integers(0, 256, (240, 320, 3), np.uint8)
    top, right, bottom, left = SQUARE
    picture[top:bottom, left:right] = (40, 120, 200)
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), 10, (320, 240))
    for index in range(20):
        frame = picture.copy()
        frame[:40, -40:] = 255 if index >= 10 else 0
        writer.write(frame)
    writer.release()
    return path


def test_a_face_first_encoded_when_it_grew_was_followed_from_the_track_s_birth(growing_video):
    faces = run(growing_video, 0.5, GrowingFace)
    assert faces and all(face.box == GROWING[1] for face in faces)
    assert len({face.track_id for face in faces}) == 1   # one track from 0.0 s
    assert (faces[0].time_s, faces[0].followed_from_s) == (1.0, 0.0)


class OneTurnedAway(TwoFaces):
    """'Finds' the big face as fit to encode and a second 60 px face as not (too turned)."""

    TURNED = (100, 300, 160, 240)

    def find(self, image, upsample=None):
        return [Found(BIG), Found(self.TURNED, unfit=Unfit.TURNED)]


@pytest.mark.parametrize("every_s", [0.5, 0])
def test_a_face_unfit_to_encode_is_followed_and_shown_and_kept_once_with_why(still_video,
                                                                             every_s):
    _, frames, faces = run_pipeline(still_video, every_s, OneTurnedAway)
    shown = [sorted(b.box for b in found.boxes) for found in frames if found.boxes]
    assert shown and all(boxes == sorted([BIG, OneTurnedAway.TURNED]) for boxes in shown)
    assert {face.box for face in faces if face.unfit is None} == {BIG}
    assert [(face.box, face.unfit) for face in faces if face.unfit] == [
        (OneTurnedAway.TURNED, "turned")]


class NearingFace(TwoFaces):
    """'Finds' one face, too small to encode, growing from 20 to 28 px and shrinking again."""

    SIZES = [20, 24, 28, 24]

    def find(self, image, upsample=None):
        side = self.SIZES[min(int(image[:40, -40:].mean() > 128) * 2
                              + int(image[-40:, :40].mean() > 128), 3)]
        return [Found((40, 40 + side, 40 + side, 40))]


def test_an_unfit_track_keeps_its_largest_look(tmp_path):
    """Four looks of 20, 24, 28 and 24 px (two corners of the frame say which): the 28 px
    one is kept."""
    path = tmp_path / "nearing.mp4"
    picture = np.random.default_rng(7).integers(0, 256, (240, 320, 3), np.uint8)
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), 10, (320, 240))
    for index in range(20):
        frame = picture.copy()
        look = min(index // 5, 3)
        frame[:40, -40:] = 255 if look >= 2 else 0
        frame[-40:, :40] = 255 if look in (1, 3) else 0
        writer.write(frame)
    writer.release()
    faces = run_pipeline(path, 0.5, NearingFace)[2]
    assert [(face.box, face.unfit, face.frame) for face in faces] == [
        ((40, 68, 68, 40), "small", 10)]


class SeesBySize(TwoFaces):
    """Finds BIG and SMALL scaled to the image it is given, as a detector would, but not a
    face under 14 px there; notes the width of every image it searched (run inline)."""

    def __init__(self, settings=None):
        self.widths = []

    def find(self, image, upsample=None):
        self.widths.append(image.shape[1])
        ratio = image.shape[1] / 320
        scaled = [tuple(round(side * ratio) for side in box) for box in (BIG, SMALL)]
        return [Found(box) for box in scaled if box[2] - box[0] >= 14]


def test_passes_between_looks_run_smaller_and_lose_no_track_they_could_not_see(still_video):
    detector = SeesBySize()
    pipeline, frames, faces = run_pipeline(still_video, 0, lambda settings=None: detector,
                                           workers=0, between_looks_scale=0.5)
    looks = pipeline.source.look_every // pipeline.source.coarse_every
    assert looks == 2 and pipeline.stats.coarse_passes == 10      # 20 frames, every 2nd
    assert detector.widths == [320, 160] * 5                      # a look, then one between
    # the 20 px face is not found at half size (10 px) and its track goes on all the same
    detected = [found for found in frames if found.detected_index is not None]
    assert all(sorted(b.box for b in found.boxes) == sorted([BIG, SMALL]) for found in detected)
    assert len({b.track_id for found in frames for b in found.boxes}) == 2
    assert {face.box for face in faces if face.unfit is None} == {BIG}
    assert [(face.box, face.unfit) for face in faces if face.unfit] == [(SMALL, "small")]


class BigFaceUnclear(TwoFaces):
    """As TwoFaces, but the encoder cannot make the big face out (a dim, blurred face)."""

    def encode_checked(self, rgb, boxes, mirror_average=None):
        return [(encoding, False) for encoding in self.encode(rgb, boxes, mirror_average)]


def test_a_face_the_encoder_cannot_make_out_is_kept_flagged_unclear_and_says_nothing_of_its_track(
        still_video):
    pipeline, _, faces = run_pipeline(still_video, 0.5, BigFaceUnclear, workers=0)
    big = [face for face in faces if face.box == BIG]
    assert big and all(face.unfit == Unfit.UNCLEAR for face in big)
    assert all(face.crop_png is not None and face.encoding.shape == (128,) for face in big)
    # its encodings never reached its track: no switch, one track throughout
    assert len({face.track_id for face in big}) == 1
