"""A save interrupted at every step it takes (a kill, a full disk) leaves the previous save or
the new one, and loses nothing. The random SIGKILLs of real runs are in test_fault_injection."""
import copy
import errno
import os
import shutil

import pytest

from facesort.app.session import ResultSession, SaveError
from facesort.result.layout import ADDED_ENCODINGS_FILE, ENCODINGS_FILE, JOURNAL_FILE, STAGING
from facesort.sorting.classifier import FaithfulClassifier
from person_db import PersonDB
from tests.crash_helpers import assert_nothing_lost, load_result

# every call that changes the disk during a save: an instant before each is an instant a
# kill can hit (file contents are written to temporary files first, see atomic_write_bytes)
MUTATIONS = ("rename", "replace", "mkdir", "rmdir", "unlink", "fsync")


def previous_and_changed(result_dir, make_face):
    """A saved result the user has worked on, then a run's changes not yet saved: new faces
    for a known person, an unknown that pairs up into a new person, new unknowns, and a saved
    person merged into the new one (the 13 faces of person_02 change folder)."""
    db = PersonDB()
    db.new_person([make_face(0.0, 0.01 * k) for k in range(3)])
    db.new_person([make_face(1.0, 0.01 * k) for k in range(13)])  # two montage pages
    db.unknown.add_face(make_face(5.0))
    db.unknown.add_face(make_face(7.0))
    db.save(result_dir)
    (result_dir / "person_01").rename(result_dir / "grace hopper")
    (result_dir / "notes.txt").write_text("mine")
    (result_dir / "montage.trip-2019.png").write_bytes(b"mine too")

    db = PersonDB()
    db.load(result_dir)
    previous = load_result(result_dir, user_sorted=True)
    classifier = FaithfulClassifier(0.44)
    already_on_disk = [make_face(0.0, 0.02), make_face(5.1), make_face(3.0)]
    for face in already_on_disk:  # found earlier in the run: their images are staged
        classifier.classify(face, db)
    db.write_new_faces(result_dir, already_on_disk)
    for face in (make_face(0.0, 0.03), make_face(1.0, 0.2), make_face(9.0)):
        classifier.classify(face, db)  # just found: the save writes their images
    assert [p.name for p in db.persons] == ["grace hopper", "person_02", "person_03"]
    db.merge_persons(db.persons[2], db.persons[1])
    return db, previous


class Interrupter:
    """Wraps the os calls a save makes; before the n-th: copy the directory (what a kill at
    that instant leaves), or raise ENOSPC (a full disk)."""

    def __init__(self, monkeypatch, result_dir, snapshots_dir=None, fail_at=None):
        self.result_dir, self.snapshots_dir, self.fail_at = result_dir, snapshots_dir, fail_at
        self.calls = 0
        self.busy = False
        for name in MUTATIONS:
            monkeypatch.setattr(os, name, self.wrap(getattr(os, name)))

    def wrap(self, real):
        def call(*args, **kwargs):
            if not self.busy:
                self.calls += 1
                if self.calls == self.fail_at:
                    raise OSError(errno.ENOSPC, "No space left on device")
                if self.snapshots_dir is not None:
                    self.busy = True
                    try:
                        shutil.copytree(self.result_dir, self.snapshots_dir / f"{self.calls:04d}",
                                        symlinks=True)
                    finally:
                        self.busy = False
            return real(*args, **kwargs)
        return call


def test_a_kill_at_any_step_of_a_save_leaves_the_previous_or_the_new_result(
        tmp_path, make_face, monkeypatch):
    result = tmp_path / "result"
    db, previous = previous_and_changed(result, make_face)
    interrupter = Interrupter(monkeypatch, result, snapshots_dir=tmp_path / "kills")
    db.save(result)
    monkeypatch.undo()
    new = load_result(result)
    assert new.faces != previous.faces and len(new.faces) == len(previous.faces) + 6
    assert_nothing_lost(previous, new, may_move=("person_02",))

    outcomes = {"previous": 0, "new": 0}
    for snapshot in sorted((tmp_path / "kills").iterdir()):
        # loading finishes an interrupted save, as the next run would
        loaded = load_result(snapshot, user_sorted=True)
        outcome = "new" if loaded == new else "previous"
        if outcome == "previous":
            assert loaded.faces == previous.faces, snapshot.name
        outcomes[outcome] += 1
        assert (snapshot / "notes.txt").read_text() == "mine"
        assert (snapshot / "montage.trip-2019.png").read_bytes() == b"mine too"
    assert interrupter.calls >= 30  # the save has that many steps, each one tried
    assert outcomes["previous"] > 5 and outcomes["new"] > 5, outcomes
    print(f"{interrupter.calls} instants of a save: {outcomes}")


def in_memory(db):
    """What loading the result should give once ``db`` is completely saved."""
    return {face.file_name: (person.name, face.encoding.tobytes(), face.frame)
            for person, face in db.all_faces()}


@pytest.mark.slow  # a few seconds: the save is repeated once per step
def test_a_disk_that_fills_at_any_step_of_a_save_loses_nothing(tmp_path, make_face, monkeypatch):
    original_db, previous = previous_and_changed(tmp_path / "original", make_face)
    steps = None
    step = 1
    while steps is None or step <= steps:
        result = tmp_path / f"try{step:03d}"
        shutil.copytree(tmp_path / "original", result, symlinks=True)
        db = copy.deepcopy(original_db)  # the same run, about to save
        session = ResultSession(db, result, autosave_s=0)
        with monkeypatch.context() as patch:
            interrupter = Interrupter(patch, result, fail_at=step)
            try:
                session.save()
                steps = interrupter.calls  # this save took fewer steps: every one was tried
            except SaveError as error:
                assert "No space left on device" in str(error)
                assert "last complete save" in str(error)
        # the next run, had this one died now, finds the previous save or the new one
        shutil.copytree(result, tmp_path / "next run", symlinks=True)
        next_run = load_result(tmp_path / "next run", user_sorted=True)
        assert next_run.faces in (previous.faces, in_memory(db))
        shutil.rmtree(tmp_path / "next run")
        # this run, once there is space again, saves everything at its next save
        session.finish()
        assert load_result(result).faces == in_memory(db)
        shutil.rmtree(result)
        step += 1
    assert steps >= 30
    print(f"a full disk at each of {steps} steps of a save")


@pytest.mark.skipif(os.geteuid() != 0 or not shutil.which("mount"), reason="needs root to mount")
def test_a_real_full_disk_keeps_the_previous_save(tmp_path, make_face):
    disk = tmp_path / "small"
    disk.mkdir()
    if os.system(f"mount -t tmpfs -o size=1m tmpfs '{disk}' 2>/dev/null") != 0:
        pytest.skip("cannot mount a tmpfs here")
    try:
        result = disk / "result"
        db, previous = previous_and_changed(result, make_face)
        session = ResultSession(db, result, autosave_s=0)
        with open(disk / "filler", "wb", buffering=0) as filler:  # another program fills it
            with pytest.raises(OSError, match="No space left"):
                while True:
                    filler.write(bytes(4096))
        with pytest.raises(SaveError, match="No space left on device"):
            session.save()
        shutil.copytree(result, tmp_path / "next run", symlinks=True)  # had it died now
        assert load_result(tmp_path / "next run", user_sorted=True).faces == previous.faces
        assert (result / "notes.txt").read_text() == "mine"
        (disk / "filler").unlink()
        session.finish()
        assert load_result(result).faces == in_memory(db)
    finally:
        os.system(f"umount --lazy '{disk}'")


def test_a_result_left_mid_save_is_finished_by_the_next_save_too(tmp_path, make_face,
                                                                   monkeypatch):
    result = tmp_path / "result"
    db, previous = previous_and_changed(result, make_face)
    real_rename = os.rename
    moved = []

    def rename_then_die(source, target):  # the process dies after the second move
        if len(moved) == 2:
            raise KeyboardInterrupt
        moved.append(target)
        real_rename(source, target)

    monkeypatch.setattr(os, "rename", rename_then_die)
    with pytest.raises(KeyboardInterrupt):
        db.save(result)
    monkeypatch.undo()
    assert (result / JOURNAL_FILE).exists() and any((result / STAGING).iterdir())
    db.save(result)  # the same run saves again (its final save): the journal is finished first
    assert not (result / JOURNAL_FILE).exists()
    after = load_result(result)
    assert_nothing_lost(previous, after, may_move=("person_02",))
    assert len(after.faces) == len(previous.faces) + 6


def test_an_unsaved_face_image_left_by_a_kill_is_tidied_and_the_rest_loads(tmp_path, make_face):
    result = tmp_path / "result"
    db, previous = previous_and_changed(result, make_face)
    db.write_new_faces(result, [face for _, face in db.all_faces()])
    (result / ".face-classifier-abcd1234.tmp").write_bytes(b"half a file")
    (result / STAGING / ".face-classifier-abcd1234.tmp").write_bytes(b"half an image")
    (result / ".my-own.tmp").write_text("not ours")
    # killed here: six faces are on disk, but no save has recorded them
    assert load_result(result, user_sorted=True).faces == previous.faces
    assert sorted(p.name for p in result.iterdir() if p.name.startswith(".")) == [".my-own.tmp"]


def test_encodings_are_written_before_any_face_image_reaches_a_folder(tmp_path, make_face,
                                                                      monkeypatch):
    result = tmp_path / "result"
    db, _ = previous_and_changed(result, make_face)
    stored_before_move = []
    real_rename = os.rename

    def check_then_rename(source, target):
        from facesort.storage import load_encodings
        stored, _ = load_encodings(result / ENCODINGS_FILE)
        stored_before_move.append(os.path.basename(target) in stored)
        real_rename(source, target)

    monkeypatch.setattr(os, "rename", check_then_rename)
    db.save(result)
    assert stored_before_move and all(stored_before_move)


def test_a_kill_at_any_step_of_a_save_that_writes_only_the_added_encodings(
        tmp_path, make_face, monkeypatch):
    """The same as above for a run's second save, which writes the encodings of the faces
    found since its first (face_encodings-added.npz), not them all."""
    result = tmp_path / "result"
    db, _ = previous_and_changed(result, make_face)
    db.save(result)  # the run's first save writes every encoding
    previous = load_result(result)
    whole = (result / ENCODINGS_FILE).stat()
    classifier = FaithfulClassifier(0.44)
    for face in (make_face(0.0, 0.04), make_face(1.0, 0.21), make_face(9.5)):
        classifier.classify(face, db)
    interrupter = Interrupter(monkeypatch, result, snapshots_dir=tmp_path / "kills")
    db.save(result)
    monkeypatch.undo()
    assert (result / ENCODINGS_FILE).stat().st_mtime_ns == whole.st_mtime_ns
    assert (result / ADDED_ENCODINGS_FILE).is_file()
    new = load_result(result)
    assert len(new.faces) == len(previous.faces) + 3
    assert_nothing_lost(previous, new)
    outcomes = {"previous": 0, "new": 0}
    for snapshot in sorted((tmp_path / "kills").iterdir()):
        loaded = load_result(snapshot)
        outcome = "new" if loaded == new else "previous"
        if outcome == "previous":
            assert loaded.faces == previous.faces, snapshot.name
        outcomes[outcome] += 1
    assert interrupter.calls >= 10
    assert outcomes["previous"] > 2 and outcomes["new"] > 2, outcomes
