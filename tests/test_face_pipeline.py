"""The face pipeline end to end on the demo video: real dlib models, real worker processes."""
import time

import pytest

from face_detector import FaceDetector
from facesort.inputs.stream import Inputs
from facesort.pipeline.faithful import FaithfulPipeline
from facesort.pipeline.pipeline import FacePipeline, PipelineSettings
from facesort.records.source import Sampling
from facesort.storage import decode_image

pytestmark = pytest.mark.slow


def run_pipeline(video, sampling, live=False, **settings):
    """Every FrameFaces of one run, the faces handed out at the end, and the pipeline."""
    pipeline = FacePipeline(FaceDetector, PipelineSettings(**settings), live_files=live)
    try:
        frames = list(pipeline.run(Inputs.open([str(video)], sampling)))
        leftover = pipeline.drain()
    finally:
        pipeline.close()
    return frames, leftover, pipeline


def faces_of(frames, leftover):
    return [face for found in frames for face in found.new_faces] + leftover


def test_every_frame_gets_its_boxes_and_each_face_is_encoded_once_per_track(demo_videos):
    frames, leftover, pipeline = run_pipeline(demo_videos[0], Sampling(every_s=0))
    assert [found.index for found in frames] == list(range(200))  # 8 s at 25 frames/s
    with_faces = [found for found in frames if found.boxes]
    assert len(with_faces) >= 180  # every shot shows someone
    faces = faces_of(frames, leftover)
    # one encoding when a track starts (and a check now and then), not one a frame
    assert 8 <= len(faces) <= 30
    assert pipeline.stats.encoded == len(faces)
    tracks = {face.track_id for face in faces}
    assert all(b.track_id is not None for found in frames for b in found.boxes)
    assert {b.track_id for found in frames for b in found.boxes} >= tracks
    for face in faces:  # a saved face is a real record: its crop, box and frame
        assert face.encoding.shape == (128,)
        top, right, bottom, left = face.box  # its image: the face with a margin of its size
        assert decode_image(face.crop_png).shape == (3 * (bottom - top), 3 * (right - left), 3)
        assert face.file_name == f"first_f{face.frame:06d}_{face.file_name[-5]}.png"


def test_looked_at_frames_every_second_link_faces_by_overlap(demo_videos):
    frames, leftover, _ = run_pipeline(demo_videos[0], Sampling(every_s=1))
    assert [found.index for found in frames] == list(range(0, 200, 25))
    faces = faces_of(frames, leftover)
    faithful = FaithfulPipeline.__name__  # the original encodes all 10 faces it sees
    assert 6 <= len(faces) <= 10, faithful
    assert sum(len(found.boxes) for found in frames) >= 9  # 10 faces on those frames


def test_the_same_video_gives_the_same_faces_whatever_the_timing(demo_videos):
    first = faces_of(*run_pipeline(demo_videos[1], Sampling(every_s=0))[:2])
    second = faces_of(*run_pipeline(demo_videos[1], Sampling(every_s=0), workers=1)[:2])

    def key(faces):
        grouped = {}
        for face in faces:
            grouped.setdefault(face.track_id, []).append(face.file_name)
        return sorted((f.file_name, f.frame, f.box) for f in faces), sorted(grouped.values())

    assert key(first) == key(second)


@pytest.mark.realtime
def test_a_video_played_live_is_shown_at_its_rate_with_detection_at_most_half_a_second_behind(
        demo_videos):
    shown = []
    pipeline = FacePipeline(FaceDetector, PipelineSettings(), live_files=True)
    time.sleep(2)  # the worker processes start (the command line does so while it loads)
    started = time.monotonic()
    try:
        for found in pipeline.run(Inputs.open([str(demo_videos[0])], Sampling(every_s=0))):
            shown.append((time.monotonic() - started, found.index, found.detected_index,
                          len(found.boxes)))
        pipeline.drain()
    finally:
        pipeline.close()
    took = shown[-1][0]
    assert 7.5 <= took <= 9.0  # 8 s of video, played at its own rate
    assert len(shown) >= 0.8 * 200  # the window keeps up with the frames
    first = next(n for n, (*_, detected, _) in enumerate(shown) if detected is not None)
    assert shown[first][0] < 1.5  # the first detection is there quickly
    lags = sorted((index - detected) / 25 for _, index, detected, _ in shown[first:])
    assert lags[int(0.9 * len(lags))] <= 0.5  # 9 frames in 10 show detections < 0.5 s old
    assert sum(1 for *_, boxes in shown if boxes) >= 0.8 * len(shown)


@pytest.mark.realtime
def test_the_window_shows_a_webcam_like_video_at_its_rate_with_names(demo_videos, tmp_path,
                                                                     monkeypatch):
    import cv2

    import face_classifier
    from facesort.app import view

    shown, names = [], []
    monkeypatch.setenv("DISPLAY", ":99")  # no real window: OpenCV's calls are stubbed
    monkeypatch.setattr(cv2, "imshow", lambda window, frame: shown.append(time.monotonic()))
    monkeypatch.setattr(cv2, "waitKey", lambda delay: -1)
    monkeypatch.setattr(cv2, "destroyAllWindows", lambda: None)
    draw = view.draw_face
    monkeypatch.setattr(view, "draw_face",
                        lambda frame, box, name: (names.append(name), draw(frame, box, name)))
    code = face_classifier.main([str(demo_videos[0]), "--as-live", "-d", "-S", "0", "-q",
                                 "--result", str(tmp_path / "r")])
    assert code == 0
    assert len(shown) >= 0.8 * 200 and 7.5 <= shown[-1] - shown[0] <= 9.0
    assert {"person_01", "person_02"} <= set(names)  # boxes named after their tracks


def worker_pids(pid):
    """The child processes of ``pid`` (Linux)."""
    with open(f"/proc/{pid}/task/{pid}/children") as file:
        return [int(p) for p in file.read().split()]


def alive(pid):
    try:
        with open(f"/proc/{pid}/stat") as file:
            return file.read().split()[2] != "Z"
    except FileNotFoundError:
        return False


def test_ctrl_c_saves_the_faces_found_so_far_and_stops_the_workers(demo_videos, tmp_path):
    import csv
    import signal
    import subprocess
    import sys

    from tests.conftest import PROJECT

    process = subprocess.Popen([sys.executable, "-u", str(PROJECT / "face_classifier.py"),
                                str(demo_videos[0]), "-S", "0", "--as-live",
                                "--result", str(tmp_path / "r")],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    for line in process.stdout:
        if line.startswith("Press ^C"):
            break
    time.sleep(4)  # half the video, played at its rate
    workers = worker_pids(process.pid)
    process.send_signal(signal.SIGINT)
    stdout, stderr = process.communicate(timeout=60)
    assert process.returncode == 0, stderr
    assert "Traceback" not in stderr
    with open(tmp_path / "r" / "faces.csv", newline="") as file:
        assert len(list(csv.DictReader(file))) >= 1
    deadline = time.monotonic() + 5  # multiprocessing's resource tracker ends just after
    while any(alive(pid) for pid in workers) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert len(workers) >= 2 and not any(alive(pid) for pid in workers)


@pytest.mark.parametrize("every_s", [0.5, 0])
def test_a_live_source_shows_no_box_of_a_shot_after_its_cut(tmp_path, portraits, every_s):
    # three shots cut hard (Grace Hopper, the astronaut, nobody; 60 frames each), played live:
    # a box shown on a frame belongs to a track first shown in that frame's shot, as the
    # tracks of a shot end at its cut (for files as for cameras)
    from tests.test_live_display import SHOT_FRAMES, write_clip

    clip = tmp_path / "cuts.mp4"
    write_clip(clip, portraits)
    frames, _, _ = run_pipeline(clip, Sampling(every_s=every_s), live=True)
    first_shot = {}
    for found in frames:
        for tracked in found.boxes:
            first_shot.setdefault(tracked.track_id, found.index // SHOT_FRAMES)
    stale = [(found.index, tracked.track_id) for found in frames for tracked in found.boxes
             if first_shot[tracked.track_id] != found.index // SHOT_FRAMES]
    assert not stale
    assert {found.index // SHOT_FRAMES for found in frames if found.boxes} == {0, 1}
