"""ResultSession: faces to disk as they come, autosave, the lock, and signals during a save."""
import os
import shutil
import signal

import pytest

from facesort.app.session import ResultSession, SaveError
from facesort.result import journal as pending_moves
from facesort.result.layout import STAGING
from facesort.result.lock import ResultInUseError, signals_held
from facesort.sorting.classifier import FaithfulClassifier
from person_db import PersonDB
from tests.crash_helpers import load_result


class FakeClock:
    def __init__(self):
        self.now = 0.0

    def __call__(self):
        return self.now


def classified(db, faces):
    for face in faces:
        FaithfulClassifier(0.44).classify(face, db)
    return faces


def test_face_images_go_to_disk_as_they_come_not_into_memory(tmp_path, make_face):
    db = PersonDB()
    session = ResultSession(db, tmp_path / "result", autosave_s=0)
    faces = classified(db, [make_face(0.0), make_face(0.1), make_face(3.0)])
    session.add_faces(faces)
    assert all(face.crop is None for face in faces)
    staged = sorted(p.name for p in (tmp_path / "result" / STAGING).iterdir())
    assert staged == sorted(face.file_name for face in faces)
    session.finish()
    loaded = load_result(tmp_path / "result")
    assert {name: folder for name, folder in loaded.folders().items()} == {
        faces[0].file_name: "person_01", faces[1].file_name: "person_01",
        faces[2].file_name: "unknowns"}


def test_autosave_comes_every_interval_and_zero_turns_it_off(tmp_path, make_face):
    clock = FakeClock()
    db = PersonDB()
    session = ResultSession(db, tmp_path / "r", autosave_s=60, clock=clock)
    session.add_faces(classified(db, [make_face(0.0)]))
    clock.now = 59.9
    session.add_faces(classified(db, [make_face(0.1)]))
    assert session.autosaves == 0 and not (tmp_path / "r" / "faces.csv").exists()
    clock.now = 60.0
    session.add_faces(classified(db, [make_face(0.2)]))
    session.wait_for_autosave()  # it is written in the background
    assert session.autosaves == 1 and len(load_result(tmp_path / "r").faces) == 3
    clock.now = 100.0
    session.add_faces(classified(db, [make_face(0.3)]))
    assert session.autosaves == 1  # the next one is due at 120 s
    clock.now = 120.0
    session.add_faces(classified(db, [make_face(0.4)]))
    clock.now = 500.0
    session.add_faces([])  # frames without faces: nothing new to save
    assert session.autosaves == 2
    session.finish()

    off = ResultSession(PersonDB(), tmp_path / "off", autosave_s=0, clock=clock)
    clock.now = 1e9
    off.add_faces(classified(off.db, [make_face(0.0)]))
    assert off.autosaves == 0 and not (tmp_path / "off" / "faces.csv").exists()
    off.finish()


def test_a_second_run_on_the_same_result_is_refused_until_the_first_ends(tmp_path):
    first = ResultSession(PersonDB(), tmp_path / "r")
    with pytest.raises(ResultInUseError, match="another face-classifier run is using"):
        ResultSession(PersonDB(), tmp_path / "r")
    first.finish()
    ResultSession(PersonDB(), tmp_path / "r").finish()


def interrupt_in_the_middle_of_saves(monkeypatch, *signals):
    """Send ``signals`` to ourselves while a save is moving faces: after the journal is
    written, before the moves."""
    real = pending_moves.carry_out

    def carry_out(*args):
        for sig in signals:
            os.kill(os.getpid(), sig)
        return real(*args)

    monkeypatch.setattr(pending_moves, "carry_out", carry_out)


def test_ctrl_c_during_a_save_waits_for_the_save_to_end(tmp_path, make_face, monkeypatch):
    db = PersonDB()
    session = ResultSession(db, tmp_path / "r", autosave_s=0)
    faces = classified(db, [make_face(0.0), make_face(0.1), make_face(3.0)])
    interrupt_in_the_middle_of_saves(monkeypatch, signal.SIGINT)
    with pytest.raises(KeyboardInterrupt):  # delivered, but only once the save is done
        session.save()
    monkeypatch.undo()
    assert len(load_result(tmp_path / "r").faces) == 3
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler
    session.finish()
    assert faces[0].crop is None


def test_ctrl_c_twice_and_sigterm_during_the_final_save_only_ask_to_stop(tmp_path, make_face,
                                                                        monkeypatch):
    db = PersonDB()
    session = ResultSession(db, tmp_path / "r", autosave_s=0)
    stops = []
    session.stop_on_signals(lambda: stops.append(1))
    os.kill(os.getpid(), signal.SIGINT)  # the first Ctrl-C: the loop would end now
    classified(db, [make_face(0.0), make_face(0.1)])
    interrupt_in_the_middle_of_saves(monkeypatch, signal.SIGINT, signal.SIGTERM)
    session.finish()
    assert len(stops) == 3
    assert len(load_result(tmp_path / "r").faces) == 2
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler
    assert signal.getsignal(signal.SIGTERM) == signal.SIG_DFL


def test_signals_held_delivers_nothing_when_nothing_came():
    with signals_held():
        pass
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler


def test_a_staging_folder_that_is_a_link_is_refused(tmp_path, make_face):
    outside = tmp_path / "outside"
    outside.mkdir()
    (tmp_path / "r").mkdir()
    (tmp_path / "r" / STAGING).symlink_to(outside)
    db = PersonDB()
    session = ResultSession(db, tmp_path / "r", autosave_s=0)
    with pytest.raises(SaveError, match="symbolic link is in the way"):
        session.add_faces(classified(db, [make_face(0.0)]))
    assert list(outside.iterdir()) == []


def test_saved_files_get_the_usual_permissions_not_private_ones(tmp_path, make_face):
    old_umask = os.umask(0o022)
    try:
        db = PersonDB()
        session = ResultSession(db, tmp_path / "r", autosave_s=0)
        session.add_faces(classified(db, [make_face(0.0), make_face(0.1)]))
        session.finish()
    finally:
        os.umask(old_umask)
    for path in [tmp_path / "r" / "faces.csv", tmp_path / "r" / "face_encodings.npz",
                 *(tmp_path / "r" / "person_01").iterdir()]:
        assert path.stat().st_mode & 0o777 == 0o644, path


def test_an_autosave_is_written_in_the_background_and_the_final_save_waits_for_it(
        tmp_path, make_face, monkeypatch):
    import threading
    import time

    clock = FakeClock()
    db = PersonDB()
    session = ResultSession(db, tmp_path / "r", autosave_s=60, clock=clock)
    release = threading.Event()
    real_save = PersonDB.save
    savers = []

    def slow_save(self, *args, **kwargs):
        savers.append(threading.current_thread().name)
        if kwargs.get("snapshot") or len(args) > 2:  # the autosave: held until released
            release.wait(10)
        real_save(self, *args, **kwargs)

    monkeypatch.setattr(PersonDB, "save", slow_save)
    session.add_faces(classified(db, [make_face(0.0)]))
    clock.now = 60.0
    started = time.perf_counter()
    session.add_faces(classified(db, [make_face(0.1)]))  # due: the snapshot of two faces
    assert time.perf_counter() - started < 1 and session.autosaves == 1
    session.add_faces(classified(db, [make_face(3.0)]))  # sorted while the autosave is written
    assert not (tmp_path / "r" / "faces.csv").exists()
    release.set()
    session.wait_for_autosave()
    shutil.copytree(tmp_path / "r", tmp_path / "peek")  # a load drops the staged third face
    assert len(load_result(tmp_path / "peek").faces) == 2  # the snapshot's only
    session.finish()
    assert len(load_result(tmp_path / "r").faces) == 3
    assert savers[0].startswith("face-classifier-save") and savers[1] == "MainThread"


def test_ctrl_c_during_a_background_autosave_comes_once_it_is_written(tmp_path, make_face,
                                                                       monkeypatch):
    clock = FakeClock()
    db = PersonDB()
    session = ResultSession(db, tmp_path / "r", autosave_s=60, clock=clock)
    interrupt_in_the_middle_of_saves(monkeypatch, signal.SIGINT)
    session.add_faces(classified(db, [make_face(0.0)]))
    clock.now = 60.0
    session.add_faces(classified(db, [make_face(0.1)]))
    with pytest.raises(KeyboardInterrupt):  # held in the loop, delivered after the save
        session.wait_for_autosave()
    monkeypatch.undo()
    assert len(load_result(tmp_path / "r").faces) == 2
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler
    session.finish()


def test_a_failed_background_autosave_is_one_line_at_the_next_frame(tmp_path, make_face,
                                                                    monkeypatch):
    clock = FakeClock()
    db = PersonDB()
    session = ResultSession(db, tmp_path / "r", autosave_s=60, clock=clock)

    def full_disk(*_args):
        raise OSError(28, "No space left on device")

    session.add_faces(classified(db, [make_face(0.0)]))
    monkeypatch.setattr(pending_moves, "carry_out", full_disk)
    clock.now = 60.0
    session.add_faces(classified(db, [make_face(0.1)]))
    with pytest.raises(SaveError, match="No space left on device.*last complete save"):
        session.wait_for_autosave()
    monkeypatch.undo()
    session.finish()
    assert len(load_result(tmp_path / "r").faces) == 2


def test_the_final_save_is_made_even_when_the_autosave_before_it_failed(tmp_path, make_face,
                                                                          monkeypatch):
    clock = FakeClock()
    db = PersonDB()
    session = ResultSession(db, tmp_path / "r", autosave_s=60, clock=clock)
    real = pending_moves.carry_out
    failures = []

    def full_disk_once(*args):
        if not failures:
            failures.append(1)
            raise OSError(28, "No space left on device")
        return real(*args)

    monkeypatch.setattr(pending_moves, "carry_out", full_disk_once)
    session.add_faces(classified(db, [make_face(0.0)]))
    clock.now = 60.0
    session.add_faces(classified(db, [make_face(0.1)]))  # this autosave fails
    session.finish()  # waits for it, then saves everything
    assert len(load_result(tmp_path / "r").faces) == 2
