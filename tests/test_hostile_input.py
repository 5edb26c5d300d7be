"""Hostile and broken input: each gets a clear one-line message and the right exit code, never a
traceback, and nothing of the user's is lost. The result directory first, then the command line."""
import io
import logging
import os
import pickle
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
import pytest

from facesort import storage
from facesort.result.layout import ENCODINGS_FILE, FACES_CSV, JOURNAL_FILE, LOCK_FILE, STAGING
from person_db import PersonDB
from tests.conftest import PROJECT, assert_one_line_error, encoding_at
from tests.crash_helpers import assert_nothing_lost, load_result, never_encode


def saved_result(result, make_face):
    """A result of one person (3 faces) and one unknown face; returns what it loads as."""
    db = PersonDB()
    db.new_person([make_face(0.0, 0.01 * k) for k in range(3)])
    db.unknown.add_face(make_face(5.0))
    db.save(result)
    return load_result(result)


def snapshot(folder):
    """Every file under ``folder`` (links not followed) -> its bytes or link target."""
    files = {}
    for path in sorted(folder.rglob("*")):
        if path.is_symlink():
            files[path.relative_to(folder)] = ("link", os.readlink(path))
        elif path.is_file():
            files[path.relative_to(folder)] = path.read_bytes()
    return files


def count_encoded():
    calls = []
    return calls, lambda image: calls.append(image.shape) or encoding_at(0.0, 0.5)


# --- the result directory ------------------------------------------------------------------

def test_broken_files_are_skipped_with_a_warning_and_kept(tmp_path, make_face, caplog):
    before = saved_result(tmp_path, make_face)
    person = tmp_path / "person_01"
    good_png = storage.encode_png(np.full((64, 64, 3), 90, np.uint8))
    hostile = {
        person / "empty.png": b"",
        person / "corrupt.png": os.urandom(500),
        person / "truncated.png": good_png[:len(good_png) // 2],
        person / "text.jpg": b"hello, not a picture",
        person / "notes.txt": b"who is who",
        tmp_path / "holiday docs" / "plan.pdf": b"%PDF-1.4 not ours",
        tmp_path / "holiday docs" / "list.txt": b"keep me",
    }
    for path, data in hostile.items():
        path.parent.mkdir(exist_ok=True)
        path.write_bytes(data)
    os.mkfifo(person / "pipe.png")  # reading it would hang forever
    (person / "folder.png").mkdir()
    mine = snapshot(tmp_path)
    db = PersonDB()
    with caplog.at_level(logging.WARNING):
        db.load(tmp_path, encode_image=never_encode)
    for name in ("empty.png", "corrupt.png", "truncated.png", "text.jpg", "pipe.png",
                 "folder.png"):
        assert name in caplog.text
    assert [p.name for p in db.persons] == ["person_01"]  # not "holiday docs"
    db.save(tmp_path)
    assert_nothing_lost(before, load_result(tmp_path))
    after = snapshot(tmp_path)
    for path in hostile:
        assert after[path.relative_to(tmp_path)] == mine[path.relative_to(tmp_path)]
    assert (person / "pipe.png").exists() and (person / "folder.png").is_dir()


def test_unicode_spaces_and_undecodable_bytes_in_names(tmp_path, make_face, caplog):
    saved_result(tmp_path, make_face)
    (tmp_path / "person_01").rename(tmp_path / "Jürgen Müller 李小龍")
    undecodable = os.fsdecode(b"caf\xe9 \xff")  # not UTF-8: Linux allows any bytes
    (tmp_path / undecodable).mkdir()
    face = next((tmp_path / "Jürgen Müller 李小龍").iterdir())
    shutil.copy(face, tmp_path / undecodable / "photo 1 ça.png")
    calls, encode = count_encoded()
    db = PersonDB()
    db.load(tmp_path, encode_image=encode)
    assert sorted(p.name for p in db.persons) == ["Jürgen Müller 李小龍", undecodable]
    assert len(calls) == 1  # only the added picture had no stored encoding
    db.save(tmp_path)
    loaded = load_result(tmp_path)
    assert loaded.folders()["photo 1 ça.png"] == undecodable
    assert (tmp_path / f"montage.{undecodable}-00.png").is_file()
    assert (tmp_path / "montage.Jürgen Müller 李小龍-00.png").is_file()
    assert b'src="montage.caf%E9%20%FF-00.png"' in (tmp_path / "report.html").read_bytes()
    assert "could not write" not in caplog.text


def test_the_same_face_file_name_in_two_folders(tmp_path, make_face, caplog):
    before = saved_result(tmp_path, make_face)
    face = sorted((tmp_path / "person_01").iterdir())[0]
    (tmp_path / "another person").mkdir()
    shutil.copy(face, tmp_path / "another person" / face.name)
    mine = snapshot(tmp_path)
    db = PersonDB()
    with caplog.at_level(logging.WARNING):
        db.load(tmp_path, encode_image=never_encode)
    assert "a face of the same name is already in another person" in caplog.text
    db.save(tmp_path)
    after = snapshot(tmp_path)
    for copy in (Path("person_01") / face.name, Path("another person") / face.name):
        assert after[copy] == mine[copy]  # both copies kept
    assert len(load_result(tmp_path, user_sorted=True).faces) == len(before.faces)


def test_symlinks_are_never_followed_out_of_the_result(tmp_path, make_face, caplog):
    result = tmp_path / "result"
    before = saved_result(result, make_face)
    outside = tmp_path / "outside"
    outside.mkdir()
    storage.write_image(outside / "stranger.png", np.full((48, 48, 3), 200, np.uint8))
    (outside / "faces.csv").write_text("person,file\nperson_01,../../etc/passwd\n")
    shutil.copy(result / ENCODINGS_FILE, outside / "encodings.npz")
    (result / "linked person").symlink_to(outside)
    (result / "person_07").symlink_to(outside)
    (result / "person_01" / "linked.png").symlink_to(outside / "stranger.png")
    (result / "unknowns" / "escape.png").symlink_to("../../outside/stranger.png")
    (result / FACES_CSV).unlink()
    (result / FACES_CSV).symlink_to(outside / "faces.csv")
    (result / ENCODINGS_FILE).unlink()
    (result / ENCODINGS_FILE).symlink_to(outside / "encodings.npz")
    outside_before = snapshot(outside)
    calls, encode = count_encoded()
    db = PersonDB()
    with caplog.at_level(logging.WARNING):
        db.load(result, encode_image=encode)
    assert caplog.text.count("symbolic links are not followed") == 6
    assert len(calls) == len(before.faces)  # the linked encodings were not read: re-encoded
    assert sorted(p.name for p in db.persons) == ["person_01"]
    assert db.new_person([]).name == "person_08"  # never person_07, a link's name
    db.persons.pop()
    db.save(result)
    assert snapshot(outside) == outside_before  # nothing written through a link
    assert not (result / FACES_CSV).is_symlink() and not (result / ENCODINGS_FILE).is_symlink()
    assert (result / "linked person").is_symlink()
    assert (result / "person_01" / "linked.png").is_symlink()
    assert load_result(result).folders() == before.folders()


def npz_bytes(**arrays):
    buffer = io.BytesIO()
    np.savez(buffer, **arrays)
    return buffer.getvalue()


class Exploit:
    def __reduce__(self):
        return (os.system, ("touch pwned",))


@pytest.mark.parametrize("damage", ["truncated", "empty", "wrong shapes", "NaNs", "a pickle",
                                    "object arrays", "not a zip"])
def test_a_damaged_encodings_file_never_loses_a_face_nor_runs_code(tmp_path, make_face,
                                                                   monkeypatch, damage):
    monkeypatch.chdir(tmp_path)
    result = tmp_path / "result"
    before = saved_result(result, make_face)
    path = result / ENCODINGS_FILE
    good = path.read_bytes()
    names = sorted(before.faces)
    payload = {
        "truncated": good[:len(good) // 2],
        "empty": b"",
        "wrong shapes": npz_bytes(names=np.array(names), encodings=np.zeros((len(names), 64))),
        "NaNs": npz_bytes(names=np.array(names),
                          encodings=np.vstack([np.full((1, 128), np.nan),
                                               np.zeros((len(names) - 1, 128))])),
        "a pickle": pickle.dumps({"x.png": Exploit()}),
        "object arrays": npz_bytes(names=np.array([Exploit()], dtype=object),
                                   encodings=np.zeros((1, 128))),
        "not a zip": b"PK\x03\x04" + os.urandom(300),
    }[damage]
    path.write_bytes(payload)
    calls, encode = count_encoded()
    db = PersonDB()
    db.load(result, encode_image=encode)
    assert not (tmp_path / "pwned").exists()
    assert len(calls) == (1 if damage == "NaNs" else len(names))  # re-encoded from the image
    assert sorted(f.file_name for _, f in db.all_faces()) == names
    db.save(result)
    assert load_result(result).folders() == before.folders()  # a sound file again


def test_a_journal_cannot_move_anything_out_of_the_result(tmp_path, make_face, caplog):
    result = tmp_path / "result"
    before = saved_result(result, make_face)
    outside = tmp_path / "outside.png"
    outside.write_bytes(b"mine")
    unknown = next(n for n, folder in before.folders().items() if folder == "unknowns")
    (result / JOURNAL_FILE).write_text(
        '{"moves": [["../outside.png", "person_01/x.png"], ["unknowns/%s", "../../stolen.png"],'
        ' ["/etc/passwd", "person_01/passwd.png"], ["unknowns/%s", "person_01/%s"]],'
        ' "files": {"../../evil.sh": "rm -rf /"}}'
        % (unknown, unknown, unknown))
    with caplog.at_level(logging.WARNING):
        after = load_result(result, user_sorted=True)
    assert "ignoring 4 entries that point outside" in caplog.text
    assert outside.read_bytes() == b"mine" and not (tmp_path / "evil.sh").exists()
    assert after.folders()[unknown] == "person_01"  # the one sound move was made
    assert after.faces.keys() == before.faces.keys()


def test_a_damaged_journal_stops_saves_until_it_is_moved_away(tmp_path, make_face, caplog):
    result = tmp_path / "result"
    before = saved_result(result, make_face)
    (result / JOURNAL_FILE).write_bytes(b"\x00garbage")
    db = PersonDB()
    with caplog.at_level(logging.WARNING):
        db.load(result, encode_image=never_encode)
    assert "is damaged" in caplog.text and "move it away" in caplog.text
    with pytest.raises(OSError, match="is damaged"):
        db.save(result)
    assert (result / JOURNAL_FILE).read_bytes() == b"\x00garbage"  # evidence kept
    (result / JOURNAL_FILE).unlink()
    db.save(result)
    assert load_result(result).faces == before.faces


def test_a_garbage_index_and_an_unencodable_picture_only_warn(tmp_path, make_face, caplog):
    result = tmp_path / "result"
    before = saved_result(result, make_face)
    (result / FACES_CSV).write_bytes(b"\xff\xfe\x00" + os.urandom(200))
    storage.write_image(result / "person_01" / "added.png", np.zeros((2, 2, 3), np.uint8))

    def encode_fails(image):
        raise RuntimeError("dlib could not align the face")

    db = PersonDB()
    with caplog.at_level(logging.WARNING):
        db.load(result, encode_image=encode_fails)
    assert "ignoring" in caplog.text and "cannot encode it" in caplog.text
    assert sorted(f.file_name for _, f in db.all_faces()) == sorted(before.faces)
    db.save(result)
    assert (result / "person_01" / "added.png").exists()


def test_a_file_where_the_unknowns_folder_goes_stops_the_save_not_the_data(tmp_path, make_face):
    result = tmp_path / "result"
    saved_result(result, make_face)
    shutil.rmtree(result / "unknowns")
    (result / "unknowns").write_text("my list of unknowns")
    db = PersonDB()
    db.load(result, encode_image=never_encode)
    db.unknown.add_face(make_face(8.0))
    with pytest.raises(NotADirectoryError, match="in the way"):
        db.save(result)
    assert (result / "unknowns").read_text() == "my list of unknowns"
    assert not (result / JOURNAL_FILE).exists()


# --- the command line ----------------------------------------------------------------------

def run_cli(*args, prefix=(), cwd=None, script="face_classifier.py"):
    return subprocess.run([*prefix, sys.executable, str(PROJECT / script), *map(str, args)],
                          capture_output=True, text=True, timeout=120, cwd=cwd)


@pytest.mark.parametrize("flags, words", [
    (["-t", "nan"], ["threshold", "outside"]),
    (["-t", "-0.3"], ["threshold", "outside"]),
    (["-S", "abc"], ["seconds", "not a number"]),
    (["-s", "-5"], ["stop", "outside"]),
    (["-k", "x"], ["skip", "not a number"]),
    (["--autosave", "-1"], ["autosave", "outside"]),
    (["--autosave", "soon"], ["autosave", "not a number"]),
    (["--bogus"], ["unrecognized arguments"]),
])
def test_more_bad_flags_are_usage_errors(tmp_path, flags, words):
    assert_one_line_error(run_cli("video.mp4", *flags, "--result", tmp_path / "r"), 2, *words)
    assert not (tmp_path / "r").exists()


def test_no_input_at_all_is_a_usage_error():
    assert_one_line_error(run_cli(), 2, "required", "INPUT")


@pytest.mark.parametrize("name, make, words", [
    ("in.mp4", lambda p: p.write_bytes(b""), ["is empty"]),
    ("in.mp4", lambda p: p.mkdir(), ["no photos in the folder"]),
    ("in.mp4", lambda p: p.write_bytes(b"\x00\x00\x00\x18ftypmp42" + os.urandom(2000)),
     ["cannot read", "as a video"]),
    ("in.png", lambda p: p.write_bytes(b""), ["cannot read", "as an image"]),
])
def test_an_input_that_is_not_a_video_is_one_line(tmp_path, name, make, words):
    make(tmp_path / name)
    assert_one_line_error(run_cli(tmp_path / name, "--result", tmp_path / "r"), 1, *words)
    assert not (tmp_path / "r").exists()


def test_a_photo_damaged_past_its_header_ends_the_run_with_exit_1(tmp_path):
    (tmp_path / "in.jpg").write_bytes(b"\xff\xd8\xff" + os.urandom(100))  # looks like a JPEG
    completed = run_cli(tmp_path / "in.jpg", "--result", tmp_path / "r")
    assert completed.returncode == 1 and "Traceback" not in completed.stderr
    assert completed.stderr.strip().splitlines()[-1].startswith(
        f"face-classifier: error: could not read '{tmp_path / 'in.jpg'}'")


def test_result_below_a_file_is_a_usage_error_and_a_file_after_c_is_an_input(tmp_path):
    (tmp_path / "file").write_text("mine")
    assert_one_line_error(run_cli("v.mp4", "--result", tmp_path / "file" / "r"), 2, "is a file")
    # a file can never be the folder for the captures: read as an INPUT (issue 17)
    assert_one_line_error(run_cli("--result", tmp_path / "r", "-c", tmp_path / "file"),
                          1, "cannot read", "file' as a video")
    assert (tmp_path / "file").read_text() == "mine"


@pytest.fixture
def shared_dir():
    """A folder anyone can look into (pytest's tmp_path is private to root)."""
    with tempfile.TemporaryDirectory(dir="/tmp") as name:
        os.chmod(name, 0o755)
        yield Path(name)


# Root may read and write anything: CAP_DAC_OVERRIDE and CAP_DAC_READ_SEARCH. Root without
# those two powers is held to the files' modes like anyone, yet still reads its own checkout,
# venv and interpreter wherever they lie, even in a 0700 home or a `mktemp -d` folder, where
# another user (nobody) cannot even start the script. Nobody is the fallback.
WITHOUT_ROOTS_POWERS = ("setpriv", "--inh-caps=-all", "--ambient-caps=-all",
                        "--bounding-set=-dac_override,-dac_read_search")
AS_NOBODY = ("setpriv", "--reuid=65534", "--regid=65534", "--clear-groups")


def why_not(prefix, folder):
    """Why the tool cannot be run through ``prefix`` to check permissions, or None if it can:
    it must start, and it must be refused a file of mode 0."""
    started = run_cli("--version", prefix=prefix, cwd=folder)
    if started.returncode != 0:
        return (started.stderr.strip().splitlines() or [f"exit {started.returncode}"])[-1]
    secret = folder / "mode-0"
    secret.write_bytes(b"")
    secret.chmod(0)
    opened = subprocess.run([*prefix, sys.executable, "-c", f"open({str(secret)!r})"],
                            capture_output=True, cwd=folder)
    secret.unlink()
    return "a file of mode 0 could still be read" if opened.returncode == 0 else None


@pytest.fixture
def unprivileged(shared_dir):
    """A command prefix that runs the tool without root's power over file modes; () unless
    root. Skips, saying why, when neither way works here."""
    if os.geteuid() != 0:
        return ()
    if not shutil.which("setpriv"):
        pytest.skip("running as root without setpriv: cannot give up root's powers")
    reasons = []
    for prefix in (WITHOUT_ROOTS_POWERS, AS_NOBODY):
        reason = why_not(prefix, shared_dir)
        if reason is None:
            return prefix
        reasons.append(f"{' '.join(prefix[:2])}...: {reason}")
    pytest.skip("cannot run the tool without root's powers here: " + "; ".join(reasons))


def test_an_unreadable_input_and_an_unwritable_result(unprivileged, shared_dir):
    video = shared_dir / "private.mp4"
    video.write_bytes(b"not readable anyway")
    video.chmod(0)
    writable = shared_dir / "open"
    writable.mkdir(mode=0o777)
    writable.chmod(0o777)
    assert_one_line_error(run_cli(video, "--result", writable / "r", prefix=unprivileged,
                                  cwd=shared_dir), 1, "no permission to read")
    locked = shared_dir / "locked"
    locked.mkdir(mode=0o555)
    assert_one_line_error(run_cli(video, "--result", locked / "r", prefix=unprivileged,
                                  cwd=shared_dir), 2, "no permission to write")


def copy_as_cloned(target):
    """The project's files as a clone of it would have them once committed (tracked and new
    files, nothing git ignores: no .venv, no results), copied into ``target``."""
    if not shutil.which("git") or not (PROJECT / ".git").exists():
        pytest.skip("not a git checkout")
    listed = subprocess.run(["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
                            cwd=PROJECT, capture_output=True, check=True).stdout
    for name in sorted(set(os.fsdecode(n) for n in listed.split(b"\0") if n)):
        if (PROJECT / name).is_file():  # not a file deleted but not yet committed
            (target / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(PROJECT / name, target / name)


def test_the_permission_test_passes_in_a_clone_inside_a_private_folder(tmp_path):
    """`make test` in a clone under a 0700 home or `mktemp -d` once failed here: the test
    above ran the tool as nobody, who could not open the clone's face_classifier.py."""
    home = tmp_path / "home"
    home.mkdir(mode=0o700)
    clone = home / "face-classifier"
    copy_as_cloned(clone)
    inner = "tests/test_hostile_input.py::test_an_unreadable_input_and_an_unwritable_result"
    completed = subprocess.run([sys.executable, "-m", "pytest", "-q", "-rs", "-p",
                                "no:cacheprovider", inner], cwd=clone, capture_output=True,
                               text=True, timeout=120,
                               env={**os.environ, "PYTHONPATH": str(clone)})
    lines = completed.stdout.strip().splitlines()
    last = lines[-1]
    if completed.returncode == 0 and "1 skipped" in last:
        why = next(line for line in lines if line.startswith("SKIPPED")).split(": ", 1)[-1]
        pytest.skip(f"the permission test skips in the clone: {why}")
    assert completed.returncode == 0 and "1 passed" in last, completed.stdout + completed.stderr


def test_a_result_in_use_by_another_run_is_refused(tmp_path, make_face, demo_videos):
    saved_result(tmp_path / "r", make_face)
    holder = storage.lock_exclusively(tmp_path / "r" / LOCK_FILE)
    try:
        # (--detector hog: where YuNet's model is missing, auto would add its notice)
        assert_one_line_error(run_cli(demo_videos[0], "--result", tmp_path / "r",
                                      "--detector", "hog"), 1,
                              "another face-classifier run is using")
        assert_one_line_error(run_cli(tmp_path / "r", script="person_db.py"), 1,
                              "another face-classifier run is using")
    finally:
        holder.close()


@pytest.mark.slow
def test_person_db_prints_any_name_and_skips_broken_files(tmp_path, make_face):
    saved_result(tmp_path, make_face)
    (tmp_path / os.fsdecode(b"caf\xe9")).mkdir()
    shutil.copy(next((tmp_path / "person_01").iterdir()),
                tmp_path / os.fsdecode(b"caf\xe9") / os.fsdecode(b"\xff added.png"))
    (tmp_path / "person_01" / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n" + b"x" * 40)
    completed = run_cli(tmp_path, script="person_db.py")
    assert completed.returncode == 0, completed.stderr
    assert "Traceback" not in completed.stderr
    assert "caf\\udce9 has 1 face" in completed.stdout  # printed, escaped
    assert completed.stderr.strip().splitlines() == [
        f"WARNING: skipping {tmp_path / 'person_01' / 'broken.png'}: not a readable image"]


@pytest.mark.slow
@pytest.mark.skipif(os.geteuid() != 0, reason="needs root to mount a small disk")
def test_a_disk_that_fills_during_a_run_keeps_the_previous_result(tmp_path, make_face,
                                                                  demo_videos):
    disk = tmp_path / "small"
    disk.mkdir()
    if os.system(f"mount -t tmpfs -o size=1m tmpfs '{disk}' 2>/dev/null") != 0:
        pytest.skip("cannot mount a tmpfs here")
    try:
        before = saved_result(disk / "result", make_face)
        with open(disk / "filler", "wb", buffering=0) as filler:
            with pytest.raises(OSError):
                while True:
                    filler.write(bytes(4096))
        completed = run_cli(demo_videos[0], "--result", disk / "result", "-S", "2",
                            "--detector", "hog")  # no notice where YuNet is not installed
        assert_one_line_error(completed, 1, "could not save", "No space left on device",
                              "last complete save")
        (disk / "filler").unlink()
        assert load_result(disk / "result").faces == before.faces
        assert not (disk / "result" / STAGING).exists()
    finally:
        os.system(f"umount --lazy '{disk}'")
