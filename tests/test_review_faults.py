"""A kill at any instant of a review change loses nothing: the result loads whole, as it was
before the change or as it is after it, every face with its encoding (or set aside with it).

Two ways: every change stopped before each file-system step it takes, in turn (fast); and the
real server killed with SIGKILL at random instants during a stream of changes (slow)."""
import contextlib
import http.client
import io
import json
import os
import random
import shutil
import subprocess
import sys
import time

import numpy as np
import pytest

from facesort.result.layout import JOURNAL_FILE
from facesort.review import changes
from facesort.review.changes import (
    Merge,
    MoveFaces,
    NewPerson,
    Rename,
    Restore,
    SetAside,
    apply_change,
)
from person_db import PersonDB
from tests.conftest import PROJECT
from tests.review_helpers import build_result, folders

STEPS = ("replace", "rename", "unlink", "rmdir", "mkdir")  # what a kill can come between


class Killed(BaseException):
    """Stands for a kill: nothing of the change runs after it (not even `except Exception`)."""


@contextlib.contextmanager
def killed_before_step(number):
    """Every file-system step from the ``number``-th on fails as if the process were gone."""
    real = {name: getattr(os, name) for name in STEPS}
    count = [0]

    def step(name):
        def run(*args, **kwargs):
            count[0] += 1
            if count[0] >= number:
                raise Killed(name)
            return real[name](*args, **kwargs)
        return run

    for name in STEPS:
        setattr(os, name, step(name))
    try:
        yield count
    finally:
        for name, function in real.items():
            setattr(os, name, function)


def whole(result, originals):
    """Load as the next run would; check every face is there once, with its encoding (in a
    person, in unknowns, or set aside). Returns (folders, set-aside names)."""
    encoded = []
    db = PersonDB()
    with contextlib.redirect_stdout(io.StringIO()):
        db.load(result, encode_image=lambda image: encoded.append(1) or np.zeros(128))
    assert not encoded, "a face lost its stored encoding"
    assert not (result / JOURNAL_FILE).exists()
    loaded = {face.file_name: face.encoding for _, face in db.all_faces()}
    set_aside = changes.set_aside_faces(result)
    assert not loaded.keys() & set_aside.keys(), "a face is in two places"
    assert loaded.keys() | set_aside.keys() == originals.keys(), "a face was lost"
    for name, encoding in loaded.items():
        np.testing.assert_array_equal(encoding, originals[name])
    for name, entry in set_aside.items():
        np.testing.assert_array_equal(entry["encoding"], originals[name])
    return folders(db), sorted(set_aside)


@pytest.fixture
def quick_saves(monkeypatch):
    """Montages and the report are drawn again from the folders at every save; without them
    a change takes a few file-system steps, not dozens."""
    monkeypatch.setattr(PersonDB, "save_montages", lambda self, result_dir, *rest: None)
    monkeypatch.setattr(PersonDB, "_write_report", lambda self, result_dir, roster: None)


CHANGES = [
    ("rename", [], Rename("person_01", "Grace")),
    ("merge", [], Merge("person_01", "person_02")),
    ("move", [], MoveFaces(("clip_f000275_0.png", "clip_f000025_0.png"), "person_03")),
    ("new person", [], NewPerson(("clip_f000200_0.png", "clip_f000350_0.png"), "Zoe")),
    ("set aside", [], SetAside(("clip_f000275_0.png", "clip_f000375_0.png",
                                "clip_f000300_0.png", "clip_f000325_0.png"))),
    ("restore", [SetAside(("clip_f000275_0.png", "clip_f000325_0.png"))],
     Restore(("clip_f000275_0.png", "clip_f000325_0.png"))),
]


@pytest.mark.parametrize("label, setup, change", CHANGES, ids=[c[0] for c in CHANGES])
def test_a_change_stopped_before_any_step_leaves_it_undone_or_done(tmp_path, quick_saves,
                                                                   label, setup, change):
    base = tmp_path / "base"
    originals = build_result(base)
    for earlier in setup:
        apply_change(base, earlier)
    before = whole(base, originals)
    done = tmp_path / "done"
    shutil.copytree(base, done)
    apply_change(done, change)
    after = whole(done, originals)
    assert after != before
    outcomes = {"before": 0, "after": 0}
    for number in range(1, 200):
        result = tmp_path / f"killed-{number}"
        shutil.copytree(base, result)
        try:
            with killed_before_step(number):
                apply_change(result, change)
        except Killed:
            pass
        else:
            break  # the change ran to its end without reaching step ``number``
        state = whole(result, originals)
        assert state in (before, after), f"stopped before step {number}: {state}"
        outcomes["before" if state == before else "after"] += 1
        shutil.rmtree(result)
    else:
        raise AssertionError("the change never ended")
    assert outcomes["before"] and outcomes["after"], outcomes


def start_server(result):
    process = subprocess.Popen(
        [sys.executable, "-m", "facesort.review.cli", "--result", str(result), "--no-browser"],
        cwd=PROJECT, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
        env={**os.environ, "PYTHONPATH": str(PROJECT), "PYTHONUNBUFFERED": "1"})
    for line in process.stdout:
        if "http://" in line:
            url = line.strip()
            port = int(url.split(":")[2].split("/")[0])
            return process, port, url.split("token=")[1]
    raise AssertionError("the review printed no URL")


def random_change(state, rng):
    """A change a user could make on this state (some are refused: that is fine too)."""
    persons = [p["name"] for p in state["persons"]]
    faces = [f["name"] for p in state["persons"] for f in p["faces"]] + [
        f["name"] for f in state["unknowns"]]
    set_aside = [f["name"] for f in state["set_aside"]]
    some = rng.sample(faces, min(len(faces), rng.randint(1, 3))) if faces else []
    choices = []
    if persons:
        choices.append({"action": "rename", "person": rng.choice(persons),
                        "new_name": f"name {rng.randrange(10_000)} é"})
        if some:
            choices.append({"action": "move", "faces": some,
                            "to": rng.choice([*persons, "unknowns"])})
    if len(persons) > 1:
        kept, absorbed = rng.sample(persons, 2)
        choices.append({"action": "merge", "kept": kept, "absorbed": absorbed})
    if some:
        choices.append({"action": "new_person", "faces": some, "name": rng.choice(["", "new"])})
        choices.append({"action": "set_aside", "faces": some[:1]})
    if set_aside:
        choices.append({"action": "restore", "faces": rng.sample(set_aside, 1)})
    return rng.choice(choices)


@pytest.mark.slow
def test_the_server_killed_at_random_instants_loses_nothing(tmp_path):
    rng = random.Random(20261201)
    result = tmp_path / "result"
    originals = build_result(result)
    made = 0
    kills_inside = 0
    for trial in range(10):
        process, port, token = start_server(result)
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        connection.request("GET", f"/api/state?token={token}")
        state = json.loads(connection.getresponse().read())
        kill_at = time.monotonic() + rng.uniform(0.05, 0.8)
        try:
            while True:
                body = json.dumps({"token": token, **random_change(state, rng)})
                if time.monotonic() >= kill_at:
                    connection.request("POST", "/api/change", body,
                                       {"Content-Type": "application/json"})
                    time.sleep(rng.uniform(0, 0.08))  # the kill falls inside this change
                    kills_inside += 1
                    break
                connection.request("POST", "/api/change", body,
                                   {"Content-Type": "application/json"})
                answer = json.loads(connection.getresponse().read())
                state = answer.get("state") or state
                made += "message" in answer
        finally:
            process.kill()  # SIGKILL
            process.wait()
            connection.close()
        whole(result, originals)
    assert made >= 5 and kills_inside == 10  # about 30 changes are made here
