"""Sampling a video or webcam: which frames, and what time each carries."""
import time

import numpy as np

from facesort.inputs.video import sampled_frames
from facesort.records.source import (
    CAMERA,
    Sampling,
    SourceInfo,
    camera_source_name,
    format_time,
    is_camera_source,
)


class FakeCamera:
    """Stands in for cv2.VideoCapture on a webcam: endless frames, a little apart."""

    def __init__(self, frames: int) -> None:
        self.left = frames
        self.released = False

    def release(self) -> None:
        self.released = True

    def grab(self) -> bool:
        self.left -= 1
        return self.left >= 0

    def read(self):
        ok = self.grab()
        time.sleep(0.002)
        return ok, np.zeros((4, 4, 3), np.uint8) if ok else None


def test_webcam_frames_carry_the_wall_clock_time():
    info = SourceInfo(name=camera_source_name(0, time.time()), kind=CAMERA, fps=30.0,
                      frame_count=0, width=4, height=4)
    before = time.time()
    frames = list(sampled_frames(FakeCamera(12), info, Sampling(every_s=0)))
    after = time.time()
    times = [seconds for _, seconds, _ in frames]
    assert len(times) == 12
    assert before <= times[0] <= times[-1] <= after and times == sorted(times)
    assert Sampling().frames_to_look_at(info) is None  # a webcam has no end to count to


def test_a_webcam_source_name_says_which_camera_and_when_and_is_recognised():
    name = camera_source_name(2, time.mktime((2025, 3, 4, 5, 6, 7, 0, 0, -1)))
    assert name == "camera2@20250304-050607"
    assert is_camera_source(name)
    assert not is_camera_source("camera2.mp4") and not is_camera_source("videos/camera2@x.mp4")


def test_times_are_shown_as_video_time_or_as_the_clock():
    assert format_time(0) == "0:00.0"
    assert format_time(75.25) == "1:15.2"
    assert format_time(3725.0) == "1:02:05.0"
    moment = time.mktime((2025, 3, 4, 5, 6, 7, 0, 0, -1))
    assert format_time(moment, wall_clock=True) == "2025-03-04 05:06:07"


def numbered_frames(count: int):
    for index in range(count):
        yield index, index / 25, np.full((2, 2, 3), index % 256, np.uint8)


def test_read_ahead_hands_out_the_same_frames_in_order():
    from facesort.inputs.video import read_ahead

    assert [i for i, _, _ in read_ahead(numbered_frames(50), depth=3)] == list(range(50))


def test_read_ahead_raises_the_readers_error_and_stops_its_thread_when_closed():
    import threading

    import pytest

    from facesort.inputs.video import read_ahead

    def broken():
        yield from numbered_frames(2)
        raise OSError("disk gone")

    with pytest.raises(OSError, match="disk gone"):
        list(read_ahead(broken()))
    threads = threading.active_count()
    frames = read_ahead(numbered_frames(10_000), depth=2)
    next(frames)
    frames.close()  # the loop stopped early: the reader must not go on
    assert threading.active_count() == threads


class FakeVideo(FakeCamera):
    """A video file: frames as fast as asked for, each showing its number."""

    def __init__(self, frames: int) -> None:
        super().__init__(frames)
        self.number = -1

    def read(self):
        ok = self.grab()
        self.number += 1
        return ok, np.full((4, 4, 3), self.number % 256, np.uint8) if ok else None


def test_a_video_played_live_comes_at_its_rate_and_a_slow_reader_gets_the_newest_frame():
    from facesort.inputs.video import live_frames
    from facesort.records.source import VIDEO

    info = SourceInfo(name="clip.mp4", kind=VIDEO, fps=100.0, frame_count=50, width=4,
                      height=4)
    started = time.monotonic()
    got = []
    for index, seconds, frame in live_frames(FakeVideo(50), info, Sampling(every_s=0),
                                             paced=True):
        got.append((index, seconds, int(frame[0, 0, 0])))
        time.sleep(0.03)  # three frames' time: the ones in between are dropped
    took = time.monotonic() - started
    assert 0.45 <= took < 2.0  # played at 100 frames/s, not as fast as it decodes
    indexes = [index for index, _, _ in got]
    assert indexes == sorted(set(indexes)) and 8 <= len(got) <= 30
    assert all(number == index and seconds == index / 100 for index, seconds, number in got)


def test_a_video_played_live_skips_and_stops_by_its_own_time():
    from facesort.inputs.video import live_frames
    from facesort.records.source import VIDEO

    info = SourceInfo(name="clip.mp4", kind=VIDEO, fps=100.0, frame_count=50, width=4,
                      height=4)
    got = [i for i, _, _ in live_frames(FakeVideo(50), info,
                                        Sampling(every_s=0, skip_s=0.1, stop_s=0.3),
                                        paced=True)]
    assert got and got[0] >= 10 and got[-1] <= 30
