"""Sampling a video or webcam: which frames, and what time each carries."""
import time

import numpy as np

from video_source import (CAMERA, Sampling, SourceInfo, camera_source_name, format_time,
                          is_camera_source, sampled_frames)


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
