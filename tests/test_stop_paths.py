"""Every way a run ends saves what it found: the end of the video, q, Ctrl-C, SIGTERM, and an
error inside the frame loop. dlib is replaced by a scripted detector (one synthetic face per
frame), so these run in a second on the real demo video."""
import os
import signal
import time

import cv2
import numpy as np
import pytest

import face_classifier
from facesort.records.face import Face, face_file_name
from tests.conftest import encoding_at
from tests.crash_helpers import load_result


@pytest.fixture(autouse=True)
def signal_handlers_restored():
    """A run that dies inside the loop never hands its handlers back; the next test needs them."""
    saved = {sig: signal.getsignal(sig) for sig in (signal.SIGINT, signal.SIGTERM)}
    yield
    for sig, handler in saved.items():
        signal.signal(sig, handler)


def scripted_detector(at_call=None, action=None):
    """A FaceDetector stand-in: one face per frame, Grace and the astronaut in turn; on call
    number ``at_call`` it runs ``action`` first."""

    class ScriptedDetector:
        calls = 0

        def __init__(self, settings=None):
            pass

        def encode_face_image(self, image):
            raise AssertionError("stored encodings must be used")

        def detect(self, bgr, source="", frame=None, time_s=None, stem=""):
            ScriptedDetector.calls += 1
            if ScriptedDetector.calls == at_call:
                action()
            who = ScriptedDetector.calls % 2
            encoding = encoding_at(float(who), 0.001 * ScriptedDetector.calls)
            return [Face(face_file_name(source, frame, 0, stem), encoding, (10, 60, 60, 10), source,
                         frame, time_s, crop=np.ascontiguousarray(bgr[:48, :48]))]

    return ScriptedDetector


def run_main(monkeypatch, capsys, video, result, *flags, detector=None):
    # --faithful: its loop calls the detector on every looked-at frame, in this process
    # (the default pipeline's stop paths: tests/test_face_pipeline.py)
    code = face_classifier.main([str(video), "--result", str(result), "--faithful", *flags],
                                make_detector=detector or scripted_detector())
    return code, capsys.readouterr()


def test_the_end_of_the_video_saves(tmp_path, demo_videos, monkeypatch, capsys):
    code, output = run_main(monkeypatch, capsys, demo_videos[0], tmp_path / "r")
    assert code == 0 and output.err == ""
    assert len(load_result(tmp_path / "r").faces) == 8  # one frame a second, 8 seconds
    assert "2 persons, 8 known faces, 0 unknown faces" in output.out
    assert "Stopped" not in output.out  # a finished run does not say it was stopped
    assert (tmp_path / "r" / "unknowns").is_dir()  # made, though empty, as the post does
    assert "original: 640x360, 25 frame/sec" in output.out


def test_an_error_in_the_loop_saves_then_says_one_line_and_exits_1(tmp_path, demo_videos,
                                                                   monkeypatch, capsys):
    def fail():
        raise RuntimeError("the detector broke")

    code, output = run_main(monkeypatch, capsys, demo_videos[0], tmp_path / "r",
                            detector=scripted_detector(5, fail))
    assert code == 1
    assert output.err.strip().splitlines() == [
        "face-classifier: error: stopped early, results so far were saved: the detector broke"]
    assert len(load_result(tmp_path / "r").faces) == 4


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_ctrl_c_and_sigterm_stop_and_save(tmp_path, demo_videos, monkeypatch, capsys, sig):
    code, output = run_main(monkeypatch, capsys, demo_videos[0], tmp_path / "r",
                            detector=scripted_detector(3, lambda: os.kill(os.getpid(), sig)))
    assert code == 0
    assert len(load_result(tmp_path / "r").faces) == 3  # the frame being read is finished
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler  # handed back
    # said last, after the summary: where it stopped (one frame a second: the third at 2 s)
    assert output.out.strip().splitlines()[-1] == (
        f"Stopped at {demo_videos[0]} 0:02.0; the faces found up to there are saved in "
        f"'{tmp_path / 'r'}'.")


def test_ctrl_c_twice_still_saves_everything(tmp_path, demo_videos, monkeypatch, capsys):
    def twice():
        os.kill(os.getpid(), signal.SIGINT)
        os.kill(os.getpid(), signal.SIGINT)

    code, output = run_main(monkeypatch, capsys, demo_videos[0], tmp_path / "r",
                            detector=scripted_detector(2, twice))
    assert code == 0 and len(load_result(tmp_path / "r").faces) == 2


def test_q_in_the_window_stops_and_saves(tmp_path, demo_videos, monkeypatch, capsys):
    monkeypatch.setenv("DISPLAY", ":99")  # no real window: OpenCV's calls are stubbed
    monkeypatch.setattr(cv2, "imshow", lambda *args: None)
    monkeypatch.setattr(cv2, "destroyAllWindows", lambda: None)
    keys = iter([-1, -1, ord("q")])
    monkeypatch.setattr(cv2, "waitKey", lambda delay: next(keys))
    code, output = run_main(monkeypatch, capsys, demo_videos[0], tmp_path / "r", "-d")
    assert code == 0 and len(load_result(tmp_path / "r").faces) == 3
    assert output.out.strip().splitlines()[-1].startswith(f"Stopped at {demo_videos[0]} 0:02.0;")


def test_autosaves_keep_a_crashed_runs_faces(tmp_path, demo_videos, monkeypatch, capsys):
    def crash():  # a crash that skips every handler, like a kill: os._exit would end pytest
        raise SystemExit(137)

    with pytest.raises(SystemExit):
        run_main(monkeypatch, capsys, demo_videos[0], tmp_path / "r", "--autosave", "1e-9",
                 detector=scripted_detector(6, crash))
    # an autosave is started after every frame while none is being written, and the one
    # being written when the run dies is finished first: how many faces it has depends on
    # how fast saves are here, never on where the crash hit
    assert 1 <= len(load_result(tmp_path / "r").faces) <= 5


def test_ctrl_c_while_loading_is_one_line_and_exit_130(tmp_path, demo_videos, monkeypatch,
                                                       capsys):
    from person_db import PersonDB

    def interrupted_load(self, *args, **kwargs):
        raise KeyboardInterrupt  # Ctrl-C before the frame loop: the default handler is in place

    monkeypatch.setattr(PersonDB, "load", interrupted_load)
    code, output = run_main(monkeypatch, capsys, demo_videos[0], tmp_path / "r")
    assert code == 130
    assert output.err.strip().splitlines() == [
        "face-classifier: interrupted; the result is as the last save left it"]


def test_a_load_that_fails_lets_go_of_the_result(tmp_path, demo_videos, monkeypatch, capsys):
    from facesort.result.lock import lock_result
    from person_db import PersonDB

    def failing_load(self, *args, **kwargs):
        raise RuntimeError("a bug while loading")

    monkeypatch.setattr(PersonDB, "load", failing_load)
    with pytest.raises(RuntimeError) as raised:  # its traceback keeps the run's objects alive
        run_main(monkeypatch, capsys, demo_videos[0], tmp_path / "r")
    lock_result(tmp_path / "r").close()  # ResultInUseError while the run's session holds it
    del raised


def test_a_stopped_photo_is_named_without_a_time_and_a_webcam_at_its_clock_time(tmp_path):
    from facesort.app.run import LoopSummary
    from facesort.pipeline.frames import FrameFaces, PipelineStats
    from facesort.records.source import CAMERA, PHOTO, SourceInfo

    def stopped_at(info, seconds):
        frame = FrameFaces(info, 0, seconds, np.zeros((2, 2, 3), np.uint8), [], [], None)
        return face_classifier.stopped_message(
            LoopSummary(1.0, None, PipelineStats(), True, frame), tmp_path)

    photo = SourceInfo("album/me.jpg", PHOTO, 0.0, 1, 64, 48)
    assert stopped_at(photo, 0.0).startswith("Stopped at album/me.jpg; the faces found")
    camera = SourceInfo("camera0@20250101-120000", CAMERA, 30.0, 0, 64, 48)
    at = time.mktime((2025, 1, 1, 12, 0, 5, 0, 0, -1))
    assert stopped_at(camera, at).startswith(
        "Stopped at camera0@20250101-120000 2025-01-01 12:00:05;")
    nothing = LoopSummary(0.1, None, PipelineStats(), True, None)
    assert face_classifier.stopped_message(nothing, tmp_path).startswith(
        "Stopped before the first frame")
