"""--cluster: the per-input work on a Dask cluster gives the result a local run gives, a worker
killed in the middle changes nothing, and every failure is one line with what was sorted saved.

The clusters are real (LocalCluster, worker processes) and so are the models; the inputs are the
demo videos and photos. Skipped when dask.distributed is not installed."""
from __future__ import annotations

import logging
import os
import re
import shutil
import signal
import subprocess
import sys
import time

import pytest

import face_classifier
from facesort.app import run as app_run
from facesort.cluster import connect as cluster_connect
from facesort.cluster import driver as cluster_driver
from facesort.inputs import stream
from facesort.inputs.stream import InputItem
from facesort.records.source import CAMERA, VIDEO
from facesort.result.encodings_file import read_stored
from tests.conftest import PROJECT
from tests.crash_helpers import load_result

distributed = pytest.importorskip("distributed")

FLAGS = ["-S", "0", "-q"]   # every frame: the most tracks, and re-encodings that switch


@pytest.fixture(autouse=True)
def signal_handlers_restored():
    saved = {sig: signal.getsignal(sig) for sig in (signal.SIGINT, signal.SIGTERM)}
    yield
    for sig, handler in saved.items():
        signal.signal(sig, handler)


@pytest.fixture(scope="module")
def inputs(demo_videos, tmp_path_factory):
    """Three videos and two folders of photos: the two portraits, and one of them again
    (the same picture in another folder: its faces once). The first video's shots last 4 s:
    its faces are encoded again after 3 s, which draws a track id that no face carries
    unless the face turned out to be someone else."""
    from facesort import demo

    folder = tmp_path_factory.mktemp("album")
    first, _ = demo.write_demo_photos(folder)
    again = tmp_path_factory.mktemp("again")
    shutil.copy(first, again / first.name)
    with pytest.MonkeyPatch.context() as monkeypatch:
        monkeypatch.setattr(demo, "SHOT_SECONDS", 4.0)
        long = demo.make_demo_video(folder.parent / "long.mp4", seed=5, shots=[(0,), (1, 0)])
    return [str(long), str(demo_videos[0]), str(demo_videos[1]), str(folder), str(again)]


@pytest.fixture(scope="module")
def cluster():
    """Two worker processes on this machine, as a scheduler's address (the driver connects)."""
    from distributed import Client, LocalCluster

    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                      dashboard_address=":0", silence_logs=logging.CRITICAL,
                      env=cluster_connect.WORKER_ENVIRONMENT) as local, Client(local) as client:
        yield local.scheduler_address, client


def sorted_faces(monkeypatch):
    """(file name, track id) of every face handed to the sorting step of the frame loop, which
    a local run and a cluster run both feed."""
    seen = []

    def recording(sort):
        def sort_new_faces(faces, classifier, db, tracks=None):
            seen.extend((face.file_name, face.track_id) for face in faces)
            return sort(faces, classifier, db, tracks)
        return sort_new_faces

    monkeypatch.setattr(app_run, "sort_new_faces", recording(app_run.sort_new_faces))
    return seen


def run_main(result, inputs, *flags):
    return face_classifier.main([*inputs, "--result", str(result), *FLAGS, *flags])


def result_files(result):
    """faces.csv, and every face's encoding as stored (in face_encodings.npz and the file of
    those added since, which autosaves at other instants split otherwise)."""
    stored = read_stored(result)
    return ((result / "faces.csv").read_bytes(),
            (stored.encoder, {name: e.tobytes() for name, e in stored.encodings.items()}))


@pytest.fixture(scope="module")
def local_run(inputs, tmp_path_factory):
    """The result of a run without --cluster, and the faces it sorted."""
    result = tmp_path_factory.mktemp("local") / "r"
    with pytest.MonkeyPatch.context() as monkeypatch:
        seen = sorted_faces(monkeypatch)
        assert run_main(result, inputs) == 0
    return result_files(result), seen


@pytest.mark.slow
def test_a_local_cluster_writes_the_same_result_with_the_same_track_ids(
        inputs, local_run, tmp_path, monkeypatch, capsys):
    (faces_csv, encodings), local_faces = local_run
    seen = sorted_faces(monkeypatch)
    assert run_main(tmp_path / "r", inputs, "--cluster", "local:2") == 0
    assert "cluster local:2: 2 workers" in capsys.readouterr().out
    assert result_files(tmp_path / "r") == (faces_csv, encodings)  # byte for byte
    assert seen == local_faces  # the same faces, in the same order, with the same track ids
    tracks = {track for _, track in seen}
    assert len(tracks) < len(seen)  # tracks of several faces
    assert max(tracks) > len(tracks)  # and ids that no face carries, before the next input's
    photos = [name for name, _ in seen if name.startswith("grace_hopper")]
    assert len(photos) == 1  # the picture in the second folder was skipped


@pytest.mark.slow
def test_a_worker_killed_in_the_middle_of_a_video_changes_nothing(
        cluster, inputs, local_run, tmp_path, monkeypatch, caplog):
    address, client = cluster
    (faces_csv, encodings), local_faces = local_run
    monkeypatch.setattr(cluster_driver, "BATCH_FACES", 2)  # the first faces come early
    killed = []
    sort = app_run.sort_new_faces

    def kill_the_first_videos_worker(faces, classifier, db, tracks=None):
        if faces and not killed:  # the first faces of the first video: its worker goes
            busy = [worker for worker, keys in client.processing().items()
                    if any("-0-job-" in key for key in keys)]
            pids = client.run(os.getpid, workers=busy)
            killed.extend(pids.values())
            for pid in pids.values():
                os.kill(pid, signal.SIGKILL)
        return sort(faces, classifier, db, tracks)

    monkeypatch.setattr(app_run, "sort_new_faces", kill_the_first_videos_worker)
    seen = sorted_faces(monkeypatch)
    caplog.set_level(logging.WARNING, logger=cluster_driver.__name__)  # -q hides it
    assert run_main(tmp_path / "r", inputs, "--cluster", address) == 0
    assert len(killed) == 1
    assert "a worker reading" in caplog.text and "died" in caplog.text  # it was mid-video
    assert result_files(tmp_path / "r") == (faces_csv, encodings)
    assert seen == local_faces  # each face sorted once
    client.wait_for_workers(2, timeout=30)  # the nanny starts another (for the next tests)


@pytest.mark.slow
def test_an_input_a_worker_cannot_open_is_one_line_before_any_work(
        cluster, demo_videos, tmp_path, monkeypatch, capsys):
    address, _ = cluster
    moved = tmp_path / "elsewhere.mp4"
    video = tmp_path / "only-here.mp4"
    shutil.copy(demo_videos[1], video)
    plan = stream.check_video_stems

    def planned_then_gone(items):  # the driver sees it; the workers will not
        plan(items)
        video.rename(moved)

    monkeypatch.setattr(stream, "check_video_stems", planned_then_gone)
    code = run_main(tmp_path / "r", [str(demo_videos[0]), str(video)], "--cluster", address)
    err = capsys.readouterr().err
    assert code == 1
    lines = err.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in err
    assert f"cannot open '{video}'" in lines[0] and "no such file" in lines[0]
    assert "same path on every worker (a shared filesystem)" in lines[0]
    assert not load_result(tmp_path / "r").faces  # nothing was sorted


@pytest.mark.slow
def test_when_every_worker_is_gone_the_run_stops_and_what_was_sorted_is_saved(
        inputs, tmp_path, monkeypatch, capsys):
    from distributed import LocalCluster

    monkeypatch.setattr(cluster_driver, "NO_WORKERS_GRACE_S", 1.0)
    monkeypatch.setattr(cluster_driver, "BATCH_FACES", 2)
    with LocalCluster(n_workers=1, threads_per_worker=1, processes=True,
                      dashboard_address=":0", silence_logs=logging.CRITICAL) as local:
        sort = app_run.sort_new_faces

        def gone_after_the_first_faces(faces, classifier, db, tracks=None):
            if faces:
                local.scale(0)
            return sort(faces, classifier, db, tracks)

        monkeypatch.setattr(app_run, "sort_new_faces", gone_after_the_first_faces)
        code = run_main(tmp_path / "r", inputs, "--cluster", local.scheduler_address)
    err = capsys.readouterr().err
    assert code == 1
    assert err.strip().splitlines() == [
        (f"face-classifier: error: stopped early, results so far were saved: every worker of "
         f"the Dask cluster at '{local.scheduler_address}' is gone (none for 1 s)")]
    assert len(load_result(tmp_path / "r").faces) >= 2


@pytest.mark.slow
def test_ctrl_c_stops_the_workers_tasks_and_saves(cluster, inputs, tmp_path, monkeypatch,
                                                   capsys):
    address, client = cluster
    monkeypatch.setattr(cluster_driver, "BATCH_FACES", 2)
    sort = app_run.sort_new_faces
    calls = []

    def interrupted(faces, classifier, db, tracks=None):
        if faces:
            calls.append(len(faces))
            if len(calls) == 1:
                os.kill(os.getpid(), signal.SIGINT)  # the session turns it into a stop request
        return sort(faces, classifier, db, tracks)

    monkeypatch.setattr(app_run, "sort_new_faces", interrupted)
    assert run_main(tmp_path / "r", inputs, "--cluster", address) == 0
    last = capsys.readouterr().out.strip().splitlines()[-1]
    assert 1 <= len(load_result(tmp_path / "r").faces) < 20
    # where it stopped, as a local run says it (issue 27: it said "before the first frame")
    assert re.fullmatch(rf"Stopped at {re.escape(inputs[0])} 0:0\d\.\d; the faces found up "
                        rf"to there are saved in '{re.escape(str(tmp_path / 'r'))}'\.", last), last
    deadline = time.monotonic() + 10  # the workers see the run's stop event
    while any(client.processing().values()) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not any(client.processing().values())


@pytest.mark.slow
def test_ctrl_c_on_a_local_cluster_run_saves_and_ends_its_worker_processes(demo_videos,
                                                                         tmp_path):
    videos = []
    for number in range(6):  # long enough to be interrupted
        videos.append(tmp_path / f"clip{number}.mp4")
        shutil.copy(demo_videos[number % 2], videos[-1])
    process = subprocess.Popen(
        [sys.executable, "-u", str(PROJECT / "face_classifier.py"), *map(str, videos), "-S", "0",
         "--cluster", "local:2", "--result", str(tmp_path / "r"), "--autosave", "1e-9"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True)
    deadline = time.monotonic() + 60
    while not (tmp_path / "r" / "faces.csv").exists() and time.monotonic() < deadline:
        time.sleep(0.05)  # saved after every batch: the first faces are sorted
    workers = children(process.pid)
    os.killpg(process.pid, signal.SIGINT)  # as a terminal does: to every process of the run
    stdout, stderr = process.communicate(timeout=60)
    assert process.returncode == 0, stderr
    assert "Traceback" not in stderr
    assert "persons" in stdout and 1 <= len(load_result(tmp_path / "r").faces) < 60
    deadline = time.monotonic() + 10
    while any(alive(pid) for pid in workers) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert len(workers) >= 2 and not any(alive(pid) for pid in workers)


def children(pid):
    """The child processes of ``pid``, started by any of its threads (Linux)."""
    found = []
    for task in os.listdir(f"/proc/{pid}/task"):
        with open(f"/proc/{pid}/task/{task}/children") as file:
            found += [int(p) for p in file.read().split()]
    return found


def alive(pid):
    try:
        with open(f"/proc/{pid}/stat") as file:
            return file.read().split()[2] != "Z"
    except FileNotFoundError:
        return False


# --- the command line, without a cluster ----------------------------------------------------
def test_without_dask_cluster_is_one_line_and_exit_2(demo_videos, tmp_path, monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, "distributed", None)  # import distributed fails
    code = face_classifier.main([str(demo_videos[0]), "--result", str(tmp_path / "r"),
                                 "--cluster", "local:2"])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(err) == 1
    assert "--cluster needs Dask" in err[0] and "pip install 'face-classifier[cluster]'" in err[0]


def test_an_unreachable_scheduler_is_one_line_and_exit_1(demo_videos, tmp_path, monkeypatch,
                                                       capsys):
    monkeypatch.setattr(cluster_connect, "CONNECT_TIMEOUT_S", 0.5)
    code = face_classifier.main([str(demo_videos[0]), "--result", str(tmp_path / "r"),
                                 "--cluster", "tcp://127.0.0.1:9"])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 1 and len(err) == 1, err
    assert "cannot reach the Dask scheduler at 'tcp://127.0.0.1:9'" in err[0]
    assert "dask scheduler" in err[0]


@pytest.mark.parametrize("address", ["local:0", "nowhere", "local:two"])
def test_a_malformed_address_is_a_usage_error(address, demo_videos, tmp_path, capsys):
    with pytest.raises(SystemExit) as exit_:
        face_classifier.main([str(demo_videos[0]), "--cluster", address])
    assert exit_.value.code == 2
    assert "--cluster" in capsys.readouterr().err


def test_what_a_cluster_cannot_do_is_said_before_the_run():
    video = [InputItem("a.mp4", VIDEO)]
    assert cluster_driver.usage_problem(False, None, False, video) is None
    assert "-d and -c" in cluster_driver.usage_problem(True, None, False, video)
    assert "-d and -c" in cluster_driver.usage_problem(False, "frames", False, video)
    assert "--as-live" in cluster_driver.usage_problem(False, None, True, video)
    assert "webcam" in cluster_driver.usage_problem(False, None, False,
                                                    [*video, InputItem("0", CAMERA)])


class MadeDetector:
    """A detector stand-in that counts how many were made (a class: picklable by name)."""

    made = 0

    def __init__(self, settings=None):
        MadeDetector.made += 1


def test_a_worker_makes_each_detector_once_per_thread_and_keeps_them_on_itself(monkeypatch):
    import threading

    from facesort.cluster.worker import CachedDetectors, detector_cache

    class FakeWorker:   # stands for distributed.Worker: the cache lives on it
        pass

    monkeypatch.setattr(MadeDetector, "made", 0)
    worker = FakeWorker()
    factory = CachedDetectors(MadeDetector, detector_cache(worker))
    first = factory("a")
    assert factory("a") is first and factory("b") is not first    # per arguments
    again = CachedDetectors(MadeDetector, detector_cache(worker))  # the worker's next job
    assert again("a") is first and MadeDetector.made == 2
    other = []
    thread = threading.Thread(target=lambda: other.append(again("a")))
    thread.start()
    thread.join()
    assert other[0] is not first and MadeDetector.made == 3        # per thread
    fresh = CachedDetectors(MadeDetector, detector_cache(FakeWorker()))
    assert fresh("a") is not first                                 # per worker process
