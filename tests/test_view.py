"""Names drawn on frames: every face's name is whole inside the frame, wherever the face is."""
import numpy as np
import pytest

from facesort.app.on_screen import OnScreen
from facesort.app.view import draw_face
from facesort.pipeline.frames import FrameFaces, TrackedBox

WIDTH, HEIGHT = 320, 180


def name_pixels(box, name="person_10"):
    """Where draw_face put white (the name; the box marks are red) on a black frame."""
    frame = np.zeros((HEIGHT, WIDTH, 3), np.uint8)
    draw_face(frame, box, name)
    white = np.all(frame == 255, axis=2)
    rows, columns = np.nonzero(white)
    return white, rows, columns


@pytest.mark.parametrize("box, where", [
    ((40, 160, 100, 100), "below"),      # room under the face: the post's place
    ((110, 160, 178, 100), "above"),     # a face at the bottom edge
    ((2, 318, 178, 2), "inside"),        # a face filling the frame
    ((120, 319, 179, 270), "above"),     # bottom right corner
])
def test_the_whole_name_is_drawn_inside_the_frame(box, where):
    top, right, bottom, left = box
    white, rows, columns = name_pixels(box)
    assert white.sum() > 150, "the name is drawn"
    # nothing cut at the frame's edges: the text keeps a margin on the sides it could cross
    assert rows.max() < HEIGHT - 1 and columns.max() < WIDTH - 1 and rows.min() > 0
    if where == "below":
        assert rows.min() > bottom
    elif where == "above":
        assert rows.max() < top
    else:
        assert top < rows.min() and rows.max() < bottom


def test_a_name_under_a_face_is_as_in_the_post():
    """A few pixels under the box, from its left edge."""
    white, rows, columns = name_pixels((40, 200, 100, 100))
    assert 100 < rows.min() <= 115 and 100 <= columns.min() <= 112


class FakeWindow:
    """cv2's window stand-in on a fake clock: waitKey lets the clock run for its delay and
    answers with the keys queued for given frames."""

    def __init__(self, keys=None):
        self.now, self.waits, self.shown, self.keys = 100.0, [], 0, keys or {}

    def imshow(self, name, frame):
        self.shown += 1

    def waitKey(self, delay):  # noqa: N802 (cv2's name)
        self.waits.append(delay)
        self.now += delay / 1000
        return self.keys.get(self.shown, -1)


def play(monkeypatch, info, times, keys=None, work_s=0.0):
    from facesort.app import view

    window = FakeWindow(keys)
    monkeypatch.setattr(view.cv2, "imshow", window.imshow)
    monkeypatch.setattr(view.cv2, "waitKey", window.waitKey)
    output = view.FrameOutput(display=True, capture_dir=None,
                              pace=view.Pace(clock=lambda: window.now))
    stop = view.StopRequest()
    for index, seconds in enumerate(times):
        window.now += work_s  # the pipeline's time for the frame
        found = FrameFaces(info, index, seconds, np.zeros((20, 20, 3), np.uint8), [], [], None)
        output.show(found, [], "x", stop)
    return window, stop


def source(kind, name="clip.mp4"):
    from facesort.records.source import SourceInfo

    return SourceInfo(name=name, kind=kind, width=20, height=20, fps=25.0, frame_count=250)


def test_a_video_file_plays_at_its_own_pace_in_the_window(monkeypatch):
    from facesort.records.source import VIDEO

    times = [k * 0.5 for k in range(9)]  # -S 0.5: a frame every half second, 4 s of video
    window, _ = play(monkeypatch, source(VIDEO), times, work_s=0.1)
    assert window.now - 100.0 == pytest.approx(4.0 + 0.1 + 0.001, abs=0.01)  # the video's 4 s
    assert window.waits[1:] == [399] + [400] * 7  # each waits out what the work left of it


def test_f_plays_at_full_speed_and_q_stops(monkeypatch):
    from facesort.records.source import VIDEO

    window, stop = play(monkeypatch, source(VIDEO), [k * 0.5 for k in range(6)],
                        keys={2: ord("f"), 5: ord("q")})
    assert window.waits[2:] == [1] * 4 and stop.requested


def test_a_webcam_and_a_slow_run_are_not_held_back(monkeypatch):
    from facesort.records.source import CAMERA, VIDEO

    window, _ = play(monkeypatch, source(CAMERA, "camera0@20250101-000000"), [0, 0.5, 1.0])
    assert window.waits == [1, 1, 1]
    # a pipeline slower than the video: no waiting, and no rush once it is faster again
    window, _ = play(monkeypatch, source(VIDEO), [0, 0.5, 1.0, 1.5], work_s=1.0)
    assert window.waits == [1, 1, 1, 1]


def scene(background, face=None, box=(40, 100, 100, 40)):
    """A 320x180 frame of one colour, with a 'face' (a patch of two colours) in ``box``."""
    frame = np.full((HEIGHT, WIDTH, 3), background, np.uint8)
    if face is not None:
        top, right, bottom, left = box
        frame[top:bottom, left:right] = face
        frame[top:(top + bottom) // 2, left:right] = (30, 60, 200)
    return frame


def test_a_live_frame_shows_a_box_only_where_its_face_still_is():
    from facesort.records.source import CAMERA, SourceInfo

    camera = SourceInfo(name="camera0@20250101-000000", kind=CAMERA, width=WIDTH,
                        height=HEIGHT, fps=25.0, frame_count=0)
    face, other = (40, 60, 220), (200, 40, 40)
    on_screen = OnScreen()
    box = TrackedBox((40, 100, 100, 40), track_id=1)

    def visible(index, frame, detected):
        return on_screen.visible(FrameFaces(camera, index, index / 25, frame, [box], [],
                                            detected, looked_at=False))

    shot_a = scene((90, 160, 90), face)
    assert visible(0, shot_a, None) == [False]     # nothing detected yet
    assert visible(5, shot_a, 2) == [True]         # the pass of frame 2, the face still there
    assert visible(6, scene((90, 160, 90)), 2) == [False]   # the face left: its box goes
    assert visible(7, shot_a, 2) == [True]                  # and comes back with it
    cut = scene((240, 240, 240), other)          # a cut to another shot, another face there
    assert visible(8, cut, 2) == [False]           # the pass of frame 2 predates the cut
    assert visible(12, cut, 6) == [False]
    assert visible(20, cut, 9) == [True]           # a pass after the cut found a face there
