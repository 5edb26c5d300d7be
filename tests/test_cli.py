"""The command line end to end: real videos, real result folders, clear errors."""
import csv
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest

import face_classifier
from facesort.detection.protocol import Found
from facesort.records.face import Unfit
from facesort.records.modes import EncoderKind

from tests.big_png import write_black_png
from tests.conftest import (
    LEGACY_RESULT,
    PROJECT,
    assert_one_line_error,
    encoding_at,
    writable_copy,
)


def run_cli(*args, env=None, script="face_classifier.py"):
    environment = {**os.environ, **(env or {})}
    return subprocess.run([sys.executable, str(PROJECT / script), *map(str, args)],
                          capture_output=True, text=True, env=environment, timeout=300)


def persons_in(result):
    with open(result / "faces.csv", newline="") as file:
        return list(csv.DictReader(file))


@pytest.mark.parametrize("flags, words", [
    (["-t", "abc"], ["threshold", "not a number"]),
    (["-t", "0"], ["threshold", "outside"]),
    (["-t", "2.5"], ["threshold", "outside"]),
    (["-S", "-1"], ["seconds", "outside"]),
    (["-r", "0"], ["resize-ratio", "outside"]),
])
def test_bad_flag_values_are_usage_errors(tmp_path, flags, words):
    assert_one_line_error(run_cli("video.mp4", *flags), 2, *words)


def test_a_missing_file_is_one_clear_line(tmp_path):
    assert_one_line_error(run_cli(tmp_path / "nope.mp4", "--result", tmp_path / "r"), 1,
                          "no such file", "nope.mp4")
    assert not (tmp_path / "r").exists()


def test_a_file_that_is_not_a_video_is_one_clear_line(tmp_path):
    (tmp_path / "notes.mp4").write_text("hello")
    assert_one_line_error(run_cli(tmp_path / "notes.mp4", "--result", tmp_path / "r"), 1,
                          "cannot read", "as a video")


def test_a_camera_that_is_not_there_is_one_clear_line(tmp_path):
    assert_one_line_error(run_cli("99", "--result", tmp_path / "r"), 1, "cannot open camera 99")


def test_result_pointing_at_a_file_is_a_usage_error(tmp_path):
    (tmp_path / "result").write_text("mine")
    assert_one_line_error(run_cli("video.mp4", "--result", tmp_path / "result"), 2, "is a file")
    assert (tmp_path / "result").read_text() == "mine"


def test_display_without_a_screen_is_a_usage_error(tmp_path, demo_videos):
    completed = run_cli(demo_videos[0], "-d", "--result", tmp_path / "r",
                        env={"DISPLAY": "", "WAYLAND_DISPLAY": ""})
    assert_one_line_error(completed, 2, "-d needs a display")


def summary_counts(stdout):
    """(persons, known faces, unknown faces) of the last summary a run printed."""
    found = re.findall(r"^(\d+) persons?, (\d+) known faces?, (\d+) unknown faces?", stdout,
                       re.M)
    return tuple(map(int, found[-1]))


@pytest.mark.slow
@pytest.mark.parametrize("mode", [[], ["--faithful"]])
def test_two_people_are_found_then_a_renamed_folder_names_them_next_run(tmp_path, demo_videos,
                                                                        mode):
    first, second = demo_videos
    result = tmp_path / "result"
    completed = run_cli(first, "--result", result, *mode)
    assert completed.returncode == 0, completed.stderr
    persons, known, unknown = summary_counts(completed.stdout)
    # the original encodes each of the 10 faces on the frames it looks at; the default
    # encodes a face once while it stays in place, so fewer
    assert (persons, unknown) == (2, 0) and (known == 10 if mode else 6 <= known <= 10)
    assert sorted(p.name for p in result.iterdir() if p.is_dir()) == [
        "person_01", "person_02", "unknowns"]  # unknowns/ made, though empty, as the post does
    rows = persons_in(result)
    assert len(rows) == known
    assert {r["person"] for r in rows} == {"person_01", "person_02"}
    # no face row puts both people in one person within one frame
    frames = [(r["frame"], r["person"]) for r in rows]
    assert len(frames) == len(set(frames))

    hopper = next(r["person"] for r in rows if r["frame"] == "0")  # shot 1 shows Grace Hopper
    hopper_faces = sum(r["person"] == hopper for r in rows)
    (result / hopper).rename(result / "grace hopper")
    completed = run_cli(second, "--result", result, *mode)
    assert completed.returncode == 0, completed.stderr
    assert f"grace hopper has {hopper_faces} faces" in completed.stdout
    rows = persons_in(result)
    from_second = [r for r in rows if r["source"] == str(second)]
    assert len(from_second) == summary_counts(completed.stdout)[1] - known
    assert len(from_second) == 10 if mode else 6 <= len(from_second) <= 10
    assert {r["person"] for r in from_second if r["frame"] == "0"} == {"grace hopper"}
    assert len({r["person"] for r in rows}) == 2  # still two people, no new person_03


@pytest.mark.slow
def test_a_rerun_on_the_same_video_keeps_the_users_sorting(tmp_path, demo_videos):
    result = tmp_path / "result"
    assert run_cli(demo_videos[0], "--result", result).returncode == 0
    saved = len(persons_in(result))
    moved = sorted((result / "person_02").iterdir())[0]
    moved.rename(result / "person_01" / moved.name)
    completed = run_cli(demo_videos[0], "--result", result, "-c", tmp_path / "frames")
    assert completed.returncode == 0, completed.stderr
    rows = persons_in(result)
    assert len(rows) == saved  # the same faces, not saved twice
    assert next(r for r in rows if r["file"].endswith(moved.name))["person"] == "person_01"
    assert len(list((tmp_path / "frames").glob("*.png"))) == 8  # one annotated frame a second


@pytest.mark.slow
def test_person_db_main_prints_the_summary_and_table(tmp_path, demo_videos):
    result = tmp_path / "result"
    assert run_cli(demo_videos[0], "--result", result, "-S", "2").returncode == 0
    (result / "montage.person_01-00.png").unlink()
    completed = run_cli(result, script="person_db.py")
    assert completed.returncode == 0, completed.stderr
    assert re.search(r"^\d+ persons?, ", completed.stdout, re.M)
    assert "person_01  [ 0.000" in completed.stdout
    assert (result / "montage.person_01-00.png").exists()


@pytest.mark.slow
@pytest.mark.skipif(not LEGACY_RESULT.is_dir(), reason="../shared is absent")
def test_a_result_of_the_original_tool_is_taken_over(tmp_path):
    result = tmp_path / "legacy"
    writable_copy(LEGACY_RESULT, result)
    completed = run_cli(result, script="person_db.py")
    assert completed.returncode == 0, completed.stderr
    assert "2 persons, 6 known faces, 5 unknown faces" in completed.stdout
    assert "calculate encoding" not in completed.stdout
    assert len(persons_in(result)) == 11
    # said once, at the load that converts it; the old file stays, no longer read
    assert (f"11 face_encodings in {result / 'face_encodings'}, the original tool's file: "
            f"converted to {result / 'face_encodings.npz'} at the next save") in completed.stdout
    old_file = (LEGACY_RESULT / "face_encodings").read_bytes()
    assert (result / "face_encodings").read_bytes() == old_file
    again = run_cli(result, script="person_db.py")
    assert again.returncode == 0 and "calculate encoding" not in again.stdout
    assert "the original tool's file" not in again.stdout
    assert f"11 face_encodings in {result / 'face_encodings.npz'}" in again.stdout


def test_version():
    completed = run_cli("--version")
    assert completed.returncode == 0 and completed.stdout.startswith("face-classifier 0.")


def test_two_videos_of_one_name_are_a_usage_error(tmp_path, demo_videos):
    (tmp_path / "day2").mkdir()
    shutil.copy(demo_videos[0], tmp_path / "day2" / demo_videos[0].name)
    completed = run_cli(demo_videos[0], tmp_path / "day2" / demo_videos[0].name,
                        "--result", tmp_path / "r")
    assert_one_line_error(completed, 2, "same file name", "rename one")
    assert not (tmp_path / "r").exists()


def test_log_levels_and_a_damaged_photo_in_a_folder(tmp_path):
    (tmp_path / "album").mkdir()
    (tmp_path / "album" / "b.jpg").write_bytes(b"\xff\xd8\xff\xe0 truncated")
    runs = {flag: run_cli(tmp_path / "album", "--result", tmp_path / "r", *flag)
            for flag in ((), ("-q",), ("-v",))}
    for completed in runs.values():
        assert completed.returncode == 1, completed.stderr  # nothing lost, but not all read
        assert completed.stderr.strip().splitlines()[-1] == (
            f"face-classifier: error: could not read '{tmp_path / 'album' / 'b.jpg'}' "
            f"(1 of 1 inputs); the rest was saved")
        assert "0 persons, 0 known faces, 0 unknown faces" in completed.stdout
        assert "%|" not in completed.stderr  # no progress bar when stderr is not a terminal
    assert "WARNING: skipping" in runs[()].stderr and "INFO" not in runs[()].stderr
    assert_one_line_error(runs[("-q",)], 1, "could not read")
    assert "INFO: reading" in runs[("-v",)].stderr and "WARNING: skipping" in runs[("-v",)].stderr
    assert run_cli("x.mp4", "-q", "-v").returncode == 2  # one or the other


def write_portraits(folder, portraits, name):
    """Each portrait as ``name`` in its own subfolder: photos that share a file name."""
    paths = []
    for number, image in enumerate(portraits):
        (folder / f"day{number}").mkdir(parents=True)
        paths.append(folder / f"day{number}" / name)
        assert cv2.imwrite(str(paths[-1]), image)
    return paths


@pytest.mark.slow
def test_videos_photos_and_folders_in_one_run(tmp_path, demo_videos, portraits):
    first = demo_videos[0]
    photos = write_portraits(tmp_path / "album", portraits, "IMG_0001.jpg")
    result = tmp_path / "result"
    inputs = [first, tmp_path / "album" / "day0", photos[1]]
    completed = run_cli(*inputs, "--result", result, "-S", "2")
    assert completed.returncode == 0, completed.stderr
    faces = int(re.findall(r"^2 persons, (\d+) known faces, 0 unknown faces", completed.stdout,
                           re.M)[-1])
    rows = persons_in(result)
    assert len(rows) == faces >= 6
    assert {r["source"] for r in rows} == {str(first), *map(str, photos)}
    photo_rows = [r for r in rows if r["source"] in map(str, photos)]
    assert [(r["frame"], r["time_s"]) for r in photo_rows] == [("0", "0.000")] * 2
    assert len({r["file"] for r in photo_rows}) == 2  # one name, two folders: two face names
    by_photo = {r["source"]: r["person"] for r in photo_rows}
    hopper = next(r["person"] for r in rows if r["source"] == str(first) and r["frame"] == "0")
    assert by_photo[str(photos[0])] == hopper != by_photo[str(photos[1])]

    with open(result / "appearances.csv", newline="") as file:
        appearances = list(csv.DictReader(file))
    assert {a["source"] for a in appearances} == {r["source"] for r in rows}
    assert sum(int(a["faces"]) for a in appearances) == faces
    assert "Who was there, and when" in (result / "report.html").read_text(encoding="utf-8")

    again = run_cli(*inputs, "--result", result, "-S", "2", "-q")  # the same: nothing twice
    assert again.returncode == 0, again.stderr
    assert len(persons_in(result)) == faces and again.stderr == ""


def run_on_a_terminal(video, columns, rows, *flags):
    """Run with stderr on a pseudo-terminal of ``columns`` x ``rows``: (exit code, what the
    terminal showed with each redraw on its own line, stdout)."""
    import fcntl
    import pty
    import struct
    import termios

    leader, follower = pty.openpty()
    fcntl.ioctl(follower, termios.TIOCSWINSZ, struct.pack("HHHH", rows, columns, 0, 0))
    process = subprocess.Popen([sys.executable, str(PROJECT / "face_classifier.py"), video,
                                *map(str, flags)],
                               stdout=subprocess.PIPE, stderr=follower, text=True)
    os.close(follower)
    seen = b""
    while True:
        try:
            chunk = os.read(leader, 4096)
        except OSError:  # the process closed its end
            break
        if not chunk:
            break
        seen += chunk
    stdout, _ = process.communicate(timeout=300)
    os.close(leader)
    return process.returncode, seen.decode(errors="replace").replace("\r", "\n"), stdout


@pytest.mark.slow
@pytest.mark.parametrize("columns, rows", [(120, 40), (0, 0)])  # 0x0: a terminal of no size
def test_a_terminal_gets_a_progress_bar_with_an_eta(tmp_path, demo_videos, columns, rows):
    code, bar, stdout = run_on_a_terminal(demo_videos[0], columns, rows,
                                          "-S", "3", "--result", tmp_path / "r")
    assert code == 0
    assert "100%|" in bar and "3/3 [" in bar and "frame/s]" in bar, bar
    summary = re.findall(r"^\d+ persons?, \d+ known faces?", stdout, re.M)[-1]  # after saving
    assert f"first.mp4 @ 0:06.0, {summary}" in bar  # the counts at the last frame
    assert "%|" not in stdout  # the bar is on stderr, the post's lines on stdout


@pytest.mark.slow
def test_a_video_played_live_shows_frames_time_and_rate_not_a_percentage(tmp_path, demo_videos):
    """Played live (--as-live, as a webcam is), every frame shown counts, not only those
    looked at: the count of frames to look at would be passed at once ("0%| | 140/?")."""
    code, bar, _ = run_on_a_terminal(demo_videos[0], 120, 40, "--as-live", "-s", "2",
                                     "--result", tmp_path / "r")
    assert code == 0
    assert "%|" not in bar and "/?" not in bar, bar
    assert re.search(r"^\d{2,} frames \[00:0\d, +[\d.]+frame/s\] first.mp4 @ 0:0", bar, re.M), bar


# --- the original post's spelling: -i INPUT, -c without a folder (issue 17) ----------------

def parsed(tmp_path, monkeypatch, *argv):
    """The flags as face_classifier reads them, run from ``tmp_path``."""
    import face_classifier

    monkeypatch.chdir(tmp_path)
    return face_classifier.parse_args([str(word) for word in argv])


def test_inputs_with_i_come_first_and_flags_may_sit_between_inputs(tmp_path, monkeypatch):
    args = parsed(tmp_path, monkeypatch, "a.mp4", "-t", "0.4", "b.mp4", "-i", "c.mp4",
                  "--input", "d.mp4", "e.mp4")
    assert args.inputs == ["c.mp4", "d.mp4", "a.mp4", "b.mp4", "e.mp4"]
    assert args.threshold == 0.4 and args.capture is None


def test_c_alone_saves_frames_in_captures(tmp_path, monkeypatch):
    args = parsed(tmp_path, monkeypatch, "-i", "in.mp4", "-t", "0.4", "-c", "-S", "0.5")
    assert args.inputs == ["in.mp4"] and args.seconds == 0.5
    assert args.capture == Path("captures")
    assert parsed(tmp_path, monkeypatch, "in.mp4", "-c").capture == Path("captures")


def test_a_file_or_a_camera_after_c_is_an_input_a_folder_or_a_new_name_is_the_folder(
        tmp_path, monkeypatch):
    (tmp_path / "video.mp4").write_bytes(b"")
    (tmp_path / "frames").mkdir()
    args = parsed(tmp_path, monkeypatch, "a.mp4", "-c", "video.mp4")
    assert args.inputs == ["video.mp4", "a.mp4"] and args.capture == Path("captures")
    args = parsed(tmp_path, monkeypatch, "-c", "0")
    assert args.inputs == ["0"] and args.capture == Path("captures")
    for folder in ("frames", "new-folder"):
        args = parsed(tmp_path, monkeypatch, "video.mp4", "-c", folder)
        assert args.inputs == ["video.mp4"] and args.capture == Path(folder)
    assert parsed(tmp_path, monkeypatch, "--capture=frames", "video.mp4").capture == Path("frames")


def test_a_folder_after_c_and_no_input_says_how_to_read_it(tmp_path):
    (tmp_path / "album").mkdir()
    assert_one_line_error(run_cli("-c", tmp_path / "album"), 2, "required: INPUT",
                          "taken as the folder for the captures", "give it before -c")


def test_a_file_named_captures_in_the_way_of_c_is_a_usage_error(tmp_path):
    (tmp_path / "captures").write_text("mine")
    completed = subprocess.run([sys.executable, str(PROJECT / "face_classifier.py"), "v.mp4",
                                "-c", "--result", "r"], cwd=tmp_path, capture_output=True,
                               text=True, timeout=120)
    assert_one_line_error(completed, 2, "-c 'captures' is a file")
    assert (tmp_path / "captures").read_text() == "mine"


@pytest.mark.slow
def test_the_posts_own_command_runs(tmp_path, demo_videos):
    """`python face_classifier.py -i ~/Videos/prc.mp4 -t 0.4 -c -S 0.5`, from the post, with
    the post's encoder (-t 0.4 is a distance of dlib's)."""
    completed = subprocess.run([sys.executable, str(PROJECT / "face_classifier.py"), "-i",
                                demo_videos[0], "-t", "0.4", "-c", "-S", "0.5",
                                "--encoder", "dlib"], cwd=tmp_path,
                               capture_output=True, text=True, timeout=300)
    assert completed.returncode == 0, completed.stderr
    assert f"Captured frames are saved in '{tmp_path / 'captures'}' directory." in completed.stdout
    assert len(list((tmp_path / "captures").glob("*.png"))) == 17  # frames 0, 12, ... 192 of 200
    assert summary_counts(completed.stdout)[0] == 2
    assert (tmp_path / "result" / "faces.csv").is_file()


# a run under a wrapper that prints the peak resident memory of the run's processes, in MB
PEAK_MEMORY = """
import resource, subprocess, sys
completed = subprocess.run(sys.argv[1:], capture_output=True, text=True)
sys.stdout.write(completed.stdout)
sys.stderr.write(completed.stderr)
print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss // 1024)
sys.exit(completed.returncode)
"""


@pytest.mark.slow
def test_a_photo_of_20000x20000_pixels_is_skipped_in_a_second_and_the_rest_is_read(
        tmp_path, portraits):
    """A 1.2 MB PNG of 20000x20000 pixels was decoded whole and searched: 171 s, 12 GB."""
    album = tmp_path / "album"
    album.mkdir()
    huge = write_black_png(album / "a-huge.png", 20000, 20000)
    assert huge.stat().st_size < 2_000_000
    assert cv2.imwrite(str(album / "b-grace.jpg"), portraits[0])
    completed = subprocess.run([sys.executable, "-c", PEAK_MEMORY, sys.executable,
                                str(PROJECT / "face_classifier.py"), album, "--result",
                                tmp_path / "r"], capture_output=True, text=True, timeout=120)
    assert completed.returncode == 1
    lines = [line for line in completed.stderr.strip().splitlines()   # where YuNet is not
             if "the YuNet face model is not installed" not in line]  # installed: HOG, said once
    assert lines == [
        f"WARNING: skipping {huge}: 20000x20000 pixels, more than the 50 megapixels a photo "
        f"may have; shrink it to read it",
        f"face-classifier: error: could not read '{huge}' (1 of 2 inputs); the rest was saved"]
    assert summary_counts(completed.stdout) == (0, 0, 1)  # Grace Hopper's face, saved
    peak_mb = int(completed.stdout.strip().splitlines()[-1])
    assert peak_mb < 500, f"{peak_mb} MB"


# --- --detector: YuNet when its model is installed, else dlib HOG --------------------------
def a_photo(folder):
    """A small photo without faces: a run on it takes no time after the detector is chosen."""
    path = folder / "wall.png"
    assert cv2.imwrite(str(path), np.full((48, 64, 3), 128, np.uint8))
    return path


def yunet_installed() -> bool:
    from face_detector import find_yunet_model
    from facesort.detection.model_files import ModelError

    try:
        find_yunet_model()
    except ModelError:
        return False
    return True


@pytest.mark.parametrize("model", ["absent", "damaged"])
def test_detector_yunet_without_a_sound_model_is_one_line_and_exit_1(tmp_path, model):
    path = tmp_path / "yunet.onnx"
    if model == "damaged":
        path.write_bytes(b"\x08\x07" + bytes(2000))
    completed = run_cli(a_photo(tmp_path), "--detector", "yunet", "--result", tmp_path / "r",
                        env={"FACE_CLASSIFIER_YUNET": str(path)})
    words = (["not installed", "does not exist", "face-classifier models install yunet"]
             if model == "absent" else ["damaged", "2,002 bytes", "to install it again"])
    assert_one_line_error(completed, 1, str(path), *words)
    assert not (tmp_path / "r").exists()


@pytest.mark.parametrize("model", ["absent", "damaged"])
def test_auto_falls_back_to_hog_with_a_one_line_notice(tmp_path, model):
    path = tmp_path / "yunet.onnx"
    if model == "damaged":
        path.write_bytes(bytes(1000))
    env = {"FACE_CLASSIFIER_YUNET": str(path)}
    completed = run_cli(a_photo(tmp_path), "--result", tmp_path / "r", env=env)
    assert completed.returncode == 0, completed.stderr
    notice = completed.stderr.strip().splitlines()
    assert len(notice) == 1 and str(path) in notice[0] and "using dlib's HOG" in notice[0]
    assert "face detector: dlib HOG" in completed.stdout.splitlines()
    quiet = run_cli(a_photo(tmp_path), "--result", tmp_path / "r", "-q", env=env)
    assert quiet.returncode == 0 and quiet.stderr == ""   # -q: errors only
    chosen = run_cli(a_photo(tmp_path), "--result", tmp_path / "r", "--detector", "hog", env=env)
    assert chosen.returncode == 0 and chosen.stderr == ""  # HOG asked for: nothing to say


def test_faithful_keeps_the_posts_detector(tmp_path):
    completed = run_cli(a_photo(tmp_path), "--faithful", "--result", tmp_path / "r",
                        env={"FACE_CLASSIFIER_YUNET": str(tmp_path / "absent.onnx")})
    assert completed.returncode == 0 and completed.stderr == ""   # no notice: HOG is meant
    assert "face detector: dlib HOG" in completed.stdout.splitlines()
    assert_one_line_error(run_cli("x.mp4", "--faithful", "--detector", "yunet"), 2,
                          "--faithful", "HOG")


def test_the_help_gives_the_score_threshold_and_its_measured_default():
    text = " ".join(run_cli("--help").stdout.split())
    assert "--detector {auto,hog,yunet}" in text and "--detector-threshold SCORE" in text
    assert "default=0.75: measured on 100 WIDER FACE photos" in text
    assert "HOG only" in text   # --small-faces
    assert "face-classifier review [--result DIR]" in text  # the review page, found from here
    assert "press f in the window for full speed" in text   # -d plays a file at its pace
    assert_one_line_error(run_cli("x.mp4", "--detector-threshold", "1.5"), 2,
                          "detector-threshold", "outside")


@pytest.mark.slow
@pytest.mark.skipif(not yunet_installed(), reason="the YuNet model is not installed here")
def test_yunet_finds_both_people_of_the_demo(tmp_path, demo_videos):
    completed = run_cli(demo_videos[0], "--detector", "yunet", "--result", tmp_path / "r")
    assert completed.returncode == 0 and completed.stderr == "", completed.stderr
    assert any(line.startswith("face detector: YuNet, score threshold 0.75 (")
               for line in completed.stdout.splitlines())
    persons, known, unknown = summary_counts(completed.stdout)
    assert (persons, unknown) == (2, 0) and known >= 8   # a face a second at least, 8 seconds
    rows = persons_in(tmp_path / "r")
    assert all(abs((int(r["right"]) - int(r["left"])) - (int(r["bottom"]) - int(r["top"]))) <= 1
               for r in rows)   # dlib_square()s


def test_a_threshold_far_from_the_encoders_own_is_pointed_out():
    from face_classifier import threshold_notice

    notice = threshold_notice(0.4, EncoderKind.MOBILEFACENET)
    assert notice is not None and "\n" not in notice
    from facesort.records.distances import distances_of

    assert str(distances_of(EncoderKind.MOBILEFACENET).threshold) in notice
    assert "--encoder dlib" in notice
    assert threshold_notice(0.9, EncoderKind.MOBILEFACENET) is None
    assert threshold_notice(0.4, EncoderKind.DLIB) is None
    assert "--encoder mobilefacenet" in (threshold_notice(1.0, EncoderKind.DLIB) or "")


# --- faces unfit to sort, through a whole run on photos (a stand-in detector, real workers) --
FIT_BOX, CUT_BOX, SMALL_BOX = (40, 100, 100, 40), (60, 320, 120, 260), (160, 220, 180, 200)


class PaintedFaces:
    """A detector stand-in for 320x240 photos: a face wherever one of three boxes is painted,
    the one at CUT_BOX cut by the edge, the 20 px one at SMALL_BOX too small to encode; an
    encoding is the face's grey level / 100, so that faces painted alike are one person."""

    def __init__(self, settings=None):
        pass

    def warm_up(self):
        pass

    def find(self, image, upsample=None):
        scale = image.shape[1] / 320
        found = []
        for box, why in ((FIT_BOX, None), (CUT_BOX, Unfit.CUT), (SMALL_BOX, None)):
            top, right, bottom, left = (round(side * scale) for side in box)
            if image[top:bottom, left:min(right, image.shape[1])].mean() > 0:
                found.append(Found((top, min(right, image.shape[1] - 1), bottom, left), why))
        return found

    def locate(self, image, upsample=None):
        return [found.box for found in self.find(image, upsample)]

    def smallest_face(self, upsample=None):
        return 14.0

    def min_encode_size(self):
        return 32.0

    def encode(self, rgb, boxes, mirror_average=None):
        return [encoding_at(rgb[top:bottom, left:right].mean() / 100)
                for top, right, bottom, left in boxes]

    def encode_checked(self, rgb, boxes, mirror_average=None):
        return [(encoding, True) for encoding in self.encode(rgb, boxes, mirror_average)]

    def encode_face_image(self, bgr):
        raise AssertionError("stored encodings must be used")


def painted_photo(path, **grey_at):
    """A black 320x240 photo with faces painted at the named boxes, each in its grey level."""
    image = np.zeros((240, 320, 3), np.uint8)
    for name, grey in grey_at.items():
        top, right, bottom, left = {"fit": FIT_BOX, "cut": CUT_BOX, "small": SMALL_BOX}[name]
        image[top:bottom, left:right] = grey
    assert cv2.imwrite(str(path), image)


def faces_csv_rows(result):
    with open(result / "faces.csv", newline="") as file:
        return {Path(row["file"]).name: row for row in csv.DictReader(file)}


@pytest.mark.skipif(not yunet_installed(), reason="the YuNet model is not installed")
def test_faces_unfit_to_sort_are_kept_in_unknowns_flagged_and_never_sorted(tmp_path, capsys):
    photos, result = tmp_path / "photos", tmp_path / "result"
    photos.mkdir()
    # the fit faces (grey 200) are one person; the cut and the small face (grey 50) are alike
    painted_photo(photos / "one.png", fit=200, cut=50)
    painted_photo(photos / "two.png", fit=200, small=50)
    assert face_classifier.main([str(photos), "--result", str(result)],
                                make_detector=PaintedFaces) == 0
    rows = faces_csv_rows(result)
    assert sorted((row["person"], row["unfit"]) for row in rows.values()) == [
        ("person_01", ""), ("person_01", ""), ("unknowns", "cut"), ("unknowns", "small")]
    assert all((result / row["file"]).is_file() for row in rows.values())
    assert 'id="unfit"' in (result / "report.html").read_text(encoding="utf-8")

    # a rerun with a fit face like them: it is not paired with them, and they stay flagged
    painted_photo(photos / "three.png", fit=50)
    small = next(name for name, row in rows.items() if row["unfit"] == "small")
    assert face_classifier.main([str(photos), "--result", str(result)],
                                make_detector=PaintedFaces) == 0
    rows = faces_csv_rows(result)
    assert sorted((row["person"], row["unfit"]) for row in rows.values()) == [
        ("person_01", ""), ("person_01", ""), ("unknowns", ""), ("unknowns", "cut"),
        ("unknowns", "small")]
    assert rows[small]["file"] == f"unknowns/{small}"
    capsys.readouterr()


@pytest.mark.slow
@pytest.mark.skipif(not yunet_installed(), reason="the YuNet model is not installed")
def test_a_tiny_face_in_two_photos_is_kept_twice_flagged_small_and_never_a_person(
        tmp_path, portraits, capsys):
    """Grace Hopper shrunk to a ~19 px face (YuNet finds it; too small to trust for every
    encoder: MobileFaceNet's floor is 24 px, dlib's 32) in two photos: two faces of one
    person, which a run would pair if they were fit to sort."""
    photos, result = tmp_path / "photos", tmp_path / "result"
    photos.mkdir()
    grace = portraits[0]    # her YuNet box: ~190 px
    tiny = cv2.resize(grace, (0, 0), fx=0.10, fy=0.10, interpolation=cv2.INTER_AREA)
    for number, (top, left) in enumerate([(60, 100), (120, 180)]):
        photo = np.full((240, 320, 3), 128, np.uint8)
        photo[top:top + tiny.shape[0], left:left + tiny.shape[1]] = tiny
        assert cv2.imwrite(str(photos / f"tiny{number}.png"), photo)
    for _ in range(2):   # the rerun reads the flags back from faces.csv
        assert face_classifier.main([str(photos), "--result", str(result), "--detector",
                                     "yunet"]) == 0
        rows = faces_csv_rows(result)
        assert [(row["person"], row["unfit"]) for row in rows.values()] == [
            ("unknowns", "small")] * 2
        assert all((result / row["file"]).is_file() for row in rows.values())
    capsys.readouterr()
