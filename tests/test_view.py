"""Names drawn on frames: every face's name is whole inside the frame, wherever the face is."""
import numpy as np
import pytest

from facesort.app.view import draw_face

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
    for seconds in times:
        window.now += work_s  # the pipeline's time for the frame
        output.show(np.zeros((20, 20, 3), np.uint8), [], [], "x", stop, info=info,
                    seconds=seconds)
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
