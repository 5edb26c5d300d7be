"""A run's pipeline from plain records (facesort.pipeline.build): each detector's own pass
tuning, settings refused outside their bounds, and a plan that pickles for a cluster's workers
and builds the same pipeline there."""
import functools
import pickle
from pathlib import Path

import pytest

from face_detector import FaceDetector
from facesort.detection.settings import DetectorSettings
from facesort.detection.yunet import DETECTION_SIDE, VIDEO_SCALE
from facesort.pipeline.build import RunPlan, make_pipeline, plan_run
from facesort.pipeline.faithful import FaithfulPipeline
from facesort.pipeline.pipeline import FacePipeline
from facesort.pipeline.settings import PipelineSettings
from facesort.records.modes import EncoderKind, FaceFinder, SmallFaces

YUNET = DetectorSettings(finder=FaceFinder.YUNET, yunet_model=Path("yunet.onnx"))


def plan(detector=DetectorSettings(), **flags):
    values = dict(faithful=False, resize_ratio=1.0, small_faces=SmallFaces.MOTION,
                  threshold=0.44, sampled=True, labels=False, live_files=False)
    return plan_run(detector, **{**values, **flags})


def test_yunet_gets_its_one_colour_pass_and_hog_its_small_face_passes():
    yunet = plan(YUNET).pipeline
    assert (yunet.coarse_scale, yunet.coarse_side, yunet.colour) == (1.0, DETECTION_SIDE, True)
    assert yunet.video_scale == VIDEO_SCALE and yunet.between_looks_scale == 0.5
    assert yunet.small_faces == SmallFaces.OFF            # HOG's way of finding small faces
    assert plan(YUNET, sampled=False).pipeline.video_scale == 1.0   # -S 0: looks at full size
    hog = plan(small_faces=SmallFaces.FULL).pipeline
    assert (hog.coarse_scale, hog.coarse_side, hog.colour, hog.small_faces) == (
        0.5, 0, False, SmallFaces.FULL)


def test_a_reencoding_switches_person_at_the_encoders_distance_or_at_t_when_larger():
    assert plan(threshold=0.44).pipeline.switch_distance == 0.6          # dlib's own
    assert plan(threshold=0.7).pipeline.switch_distance == 0.7
    mobile = DetectorSettings(encoder=EncoderKind.MOBILEFACENET)
    assert plan(mobile, threshold=1.0).pipeline.switch_distance == 1.2


@pytest.mark.parametrize("field, value", [("workers", -1), ("coarse_scale", 0.0),
                                          ("encodings_per_s", 0.0), ("max_encodes_waiting", 0),
                                          ("small_faces", "sometimes")])
def test_pipeline_settings_out_of_bounds_are_refused_in_one_line(field, value):
    with pytest.raises(ValueError) as refused:
        PipelineSettings(**{field: value})
    assert "\n" not in str(refused.value)
    assert field in str(refused.value) or str(value) in str(refused.value)


def test_the_plan_pickles_as_plain_records_and_builds_the_same_pipeline_on_a_worker():
    run_plan = plan(labels=True)
    maker = pickle.loads(pickle.dumps(functools.partial(make_pipeline, run_plan)))
    assert maker.args == (run_plan,) and isinstance(maker.args[0], RunPlan)
    pipeline = maker(FaceDetector, workers=0)     # as worker.run_job builds it
    try:
        assert isinstance(pipeline, FacePipeline)
        assert pipeline.settings == PipelineSettings(
            **{**vars(run_plan.pipeline), "workers": 0})
    finally:
        pipeline.close()


def test_the_workers_detector_is_the_chosen_one_at_full_size(tmp_path):
    asked = []

    def recording(settings=None):
        asked.append(settings)
        return FaceDetector(settings)

    mobile = DetectorSettings(resize_ratio=0.5, encoder=EncoderKind.MOBILEFACENET,
                              encoder_model=tmp_path / "m.onnx", yunet_model=tmp_path / "y.onnx")
    make_pipeline(plan(mobile, resize_ratio=0.5), recording, workers=0).close()
    # the passes apply -r; the encoder is the run's (HOG + MobileFaceNet got dlib's before)
    expected = DetectorSettings(encoder=EncoderKind.MOBILEFACENET,
                                encoder_model=tmp_path / "m.onnx", yunet_model=tmp_path / "y.onnx")
    assert asked and all(settings == expected for settings in asked)


def test_faithful_is_the_posts_detector_and_encoder():
    asked = []

    def recording(settings=None):
        asked.append(settings)
        return FaceDetector(settings)

    pipeline = make_pipeline(plan(faithful=True, resize_ratio=0.5), recording)
    assert isinstance(pipeline, FaithfulPipeline)
    assert asked == [DetectorSettings(resize_ratio=0.5, mirror_average=False, dlib_encoder=True)]
