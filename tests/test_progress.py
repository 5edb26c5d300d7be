"""The progress bar: an ETA when frames are counted, a rate for a webcam, silent off a terminal."""
import io
import logging
import time

from facesort.app.progress import Progress, progress_wanted
from facesort.records.source import CAMERA, PHOTO, VIDEO, SourceInfo, camera_source_name

VIDEO_INFO = SourceInfo("videos/clip.mp4", VIDEO, 25.0, 100, 64, 48)


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_a_known_number_of_frames_gives_a_percentage_and_an_eta():
    stream = io.StringIO()
    progress = Progress(total=4, enabled=True, stream=stream)
    for number in range(4):
        progress.advance(VIDEO_INFO, number * 1.0, "1 persons, 2 known faces")
        time.sleep(0.12)  # tqdm redraws at most every 0.1 s
    progress.close()
    last = stream.getvalue().replace("\r", "\n").strip().splitlines()[-1]
    assert last.startswith("100%|") and "4/4 [" in last and "frame/s]" in last
    assert last.endswith("] clip.mp4 @ 0:03.0, 1 persons, 2 known faces")
    assert " 50%|" in stream.getvalue() and "<00:0" in stream.getvalue()  # an ETA on the way


def test_a_webcam_gives_a_count_and_a_live_rate_at_the_clock_time():
    stream = io.StringIO()
    camera = SourceInfo(camera_source_name(0, time.time()), CAMERA, 30.0, 0, 64, 48)
    progress = Progress(total=None, enabled=True, stream=stream)
    for _ in range(3):
        progress.advance(camera, time.time(), "0 persons, 0 known faces, 3 unknown faces")
        time.sleep(0.01)
    progress.close()
    last = stream.getvalue().replace("\r", "\n").strip().splitlines()[-1]
    assert last.startswith("3 frames [") and "frame/s]" in last and "%" not in last
    assert "camera0@" in last and time.strftime("%Y-%m-%d") in last


def test_photos_show_their_name_without_a_time():
    stream = io.StringIO()
    progress = Progress(total=1, enabled=True, stream=stream)
    progress.advance(SourceInfo("album/me.jpg", PHOTO, 0.0, 1, 64, 48), 0.0, "summary")
    progress.close()
    assert "] me.jpg, summary" in stream.getvalue()


def test_off_a_terminal_or_with_q_nothing_is_drawn():
    assert not progress_wanted(quiet=False, stream=io.StringIO())
    assert not progress_wanted(quiet=True, stream=Terminal())
    assert progress_wanted(quiet=False, stream=Terminal())
    stream = io.StringIO()
    progress = Progress(total=3, enabled=False, stream=stream)
    progress.advance(VIDEO_INFO, 0.0, "summary")
    progress.close()
    assert stream.getvalue() == ""


def test_log_messages_go_above_the_bar_not_through_it(capsys):
    logging.basicConfig()  # a console handler to be redirected, as main() sets up
    stream = Terminal()
    progress = Progress(total=2, enabled=True, stream=stream)
    progress.advance(VIDEO_INFO, 0.0, "summary")
    logging.getLogger("face_classifier").warning("something odd")
    progress.close()
    assert "something odd" in capsys.readouterr().err


def test_more_frames_than_counted_turn_the_bar_into_a_count_and_a_rate():
    """tqdm drops a total that is passed and shows "0%| | 140/? [00:04<00:00]": no percentage
    and no ETA, then, but the frames, the time and the rate."""
    stream = io.StringIO()
    progress = Progress(total=2, enabled=True, stream=stream)
    for number in range(5):
        progress.advance(VIDEO_INFO, number * 1.0, "summary")
        time.sleep(0.12)
    progress.close()
    last = stream.getvalue().replace("\r", "\n").strip().splitlines()[-1]
    assert last.startswith("5 frames [00:0") and "frame/s] clip.mp4 @ 0:04.0" in last, last
    assert "/?" not in stream.getvalue() and "%" not in last
    assert "100%|" in stream.getvalue()  # the count was right up to its total
