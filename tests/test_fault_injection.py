"""Real runs on the demo video, killed (SIGKILL) or interrupted (Ctrl-C, twice, SIGTERM) at
random instants, over and over on one result directory that a user keeps sorting in between.
After each: the result loads, every face saved before is still there with its encoding and
the user's sorting, and nothing of the user's was touched."""
import os
import random
import signal
import subprocess
import sys
import time
from collections import Counter

import pytest

from facesort.result.layout import JOURNAL_FILE, STAGING
from facesort.storage import TEMP_NAME
from tests.conftest import PROJECT
from tests.crash_helpers import Loaded, assert_nothing_lost, load_result

TRIALS = 24
INTERRUPTS = ["ctrl-c", "ctrl-c twice", "sigterm"]  # every fourth run; the others are killed


def start_run(video, result, rng):
    """A run that finds new faces (frames not sampled before) and autosaves often.

    The video plays at its own rate (--as-live), so that the run lasts the 3-8 s of video it
    reads and the random instants below fall within it: read as fast as it decodes, it would
    be over in about a second."""
    flags = ["-S", str(rng.choice([0.08, 0.12, 0.16, 0.2])), "-k", f"{rng.uniform(0, 5):.2f}",
             "-r", "0.5", "--autosave", str(rng.choice([0.05, 0.2, 0.5])), "--as-live"]
    return subprocess.Popen([sys.executable, str(PROJECT / "face_classifier.py"), str(video),
                             "--result", str(result), *flags],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env={**os.environ, "PYTHONUNBUFFERED": "1"})


def wait_for_the_loop(process):
    """Read the output until the run says it is looking at frames (its stop handlers are set)."""
    for line in process.stdout:
        if line.startswith("Press ^C"):
            return
    raise AssertionError("the run ended before its frame loop")


def left_behind(result):
    """What a kill left for the next run to finish or tidy up."""
    staging = result / STAGING
    return {
        "journal": (result / JOURNAL_FILE).exists(),
        "unsaved faces": staging.is_dir() and any(p.suffix == ".png" for p in staging.iterdir()),
        "temporary files": any(TEMP_NAME.fullmatch(p.name) for folder in (result, staging)
                               if folder.is_dir() for p in folder.iterdir()),
    }


def summary_of(loaded):
    folders = list(loaded.folders().values())
    known = [f for f in folders if f != "unknowns"]
    def said(number, noun):
        return f"{number} {noun}{'' if number == 1 else 's'}"

    return (f"{said(len(set(known)), 'person')}, {said(len(known), 'known face')}, "
            f"{said(folders.count('unknowns'), 'unknown face')}")


def sort_like_a_user(result, rng):
    """Rename a person, or move a face from one person to another, as between runs."""
    persons = sorted(p for p in result.iterdir() if p.is_dir() and p.name.startswith("person_"))
    if len(persons) < 2:
        return
    if rng.random() < 0.5:
        persons[0].rename(result / f"named {rng.randrange(1000)} ü")
    else:
        face = sorted(persons[0].glob("*.png"))[0]
        face.rename(persons[1] / face.name)


@pytest.mark.slow
def test_random_kills_and_interrupts_never_lose_a_saved_face(tmp_path, demo_videos):
    rng = random.Random(20251125)
    result = tmp_path / "result"
    (result / "my own folder").mkdir(parents=True)
    (result / "my own folder" / "keep.txt").write_text("mine")
    (result / "notes.txt").write_text("who is who")
    saved = Loaded({}, {})
    stats = Counter()
    for trial in range(TRIALS):
        action = INTERRUPTS[trial // 4 % 3] if trial % 4 == 1 else "kill"
        process = start_run(demo_videos[trial % 2], result, rng)
        if action == "kill":
            if rng.random() < 0.25:  # any instant: starting, loading, finishing a killed save
                time.sleep(rng.uniform(0.0, 2.0))
            else:  # any instant of the frame loop and its autosaves
                wait_for_the_loop(process)
                time.sleep(rng.uniform(0.0, 2.5))
            process.kill()
            process.communicate()
            stats.update(k for k, v in left_behind(result).items() if v)
        else:
            wait_for_the_loop(process)
            time.sleep(rng.uniform(0.0, 1.5))
            if action == "sigterm":
                process.terminate()
            else:
                process.send_signal(signal.SIGINT)
                if action == "ctrl-c twice":  # the second lands in the save, most often
                    time.sleep(rng.uniform(0.0, 0.3))
                    process.send_signal(signal.SIGINT)
            out, err = process.communicate(timeout=60)
            assert "Traceback" not in err
            if process.returncode == -signal.SIGINT:  # the second Ctrl-C came as Python exited,
                assert "unknown faces" in out  # after the save and the summary: nothing lost
                stats["second ctrl-c ended python's exit"] += 1
            else:
                assert process.returncode == 0, err
            if "please wait" in err:
                stats["second ctrl-c held during the save"] += 1
        stats[action] += 1

        loaded = load_result(result, user_sorted=True)  # as the next run will find it
        assert_nothing_lost(saved, loaded)
        assert all(frame is not None for _, _, frame in loaded.faces.values())  # metadata kept
        if action != "kill":
            assert summary_of(loaded) in out  # what the run said it saved is what is there
        elif len(loaded.faces) > len(saved.faces):
            stats["kills after an autosave"] += 1
        assert (result / "notes.txt").read_text() == "who is who"
        assert (result / "my own folder" / "keep.txt").read_text() == "mine"
        if trial % 4 == 3:
            sort_like_a_user(result, rng)
            loaded = load_result(result, user_sorted=True)
        saved = loaded

    final = start_run(demo_videos[0], result, rng)
    out, err = final.communicate(timeout=120)
    assert final.returncode == 0, err
    loaded = load_result(result)  # faces.csv now describes the folders exactly
    assert_nothing_lost(saved, loaded)
    assert not any(left_behind(result).values())
    print(f"\n{TRIALS} interrupted runs: {dict(stats)}; {len(loaded.faces)} faces at the end")
    assert stats["kill"] == 18  # (how many landed after an autosave depends on the machine)
