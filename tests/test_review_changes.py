"""Review changes on a saved result: each one saved through PersonDB.save, seen by the next load,
refused in one clear line (and nothing changed) when it cannot be made."""
import json

import numpy as np
import pytest

from facesort import storage
from facesort.report.suggestions import suggest
from facesort.result.dismissals import DISMISSED_FILE, read_dismissed
from facesort.result.layout import ENCODINGS_FILE, FACES_CSV, LOCK_FILE, UNKNOWNS
from facesort.review import changes
from facesort.review.changes import (
    SET_ASIDE,
    ChangeError,
    Dismiss,
    Merge,
    MoveFaces,
    NewPerson,
    Rename,
    Restore,
    ResultBusyError,
    SetAside,
    apply_change,
    change_from_json,
)
from tests.review_helpers import build_result, folders, load, tree


@pytest.fixture
def result(tmp_path):
    result_dir = tmp_path / "result"
    encodings = build_result(result_dir)
    return result_dir, encodings


def stored_encodings(result_dir):
    return storage.load_encodings(result_dir / ENCODINGS_FILE)[0]


def assert_encodings_kept(result_dir, encodings, names=None):
    stored = stored_encodings(result_dir)
    for name in names or encodings:
        np.testing.assert_array_equal(stored[name], encodings[name])


def faces_csv_persons(result_dir):
    import csv
    with open(result_dir / FACES_CSV, newline="") as file:
        return {row["file"]: row["person"] for row in csv.DictReader(file)}


def test_rename_is_saved_and_the_next_load_sees_it(result):
    result_dir, encodings = result
    before = folders(load(result_dir))
    said = apply_change(result_dir, Rename("person_01", "Grace Hopper"))
    assert said == "person_01 is now Grace Hopper"
    after = folders(load(result_dir))
    assert after["Grace Hopper"] == before["person_01"] and "person_01" not in after
    assert not (result_dir / "person_01").exists()  # the emptied folder is gone
    assert (result_dir / "montage.Grace Hopper-00.png").is_file()
    assert not (result_dir / "montage.person_01-00.png").exists()
    assert set(faces_csv_persons(result_dir).values()) >= {"Grace Hopper"}
    assert_encodings_kept(result_dir, encodings)


BAD_NAMES = {
    "": "empty", "../x": "/ or \\", "/etc": "/ or \\", "a\\b": "/ or \\", "a/b": "/ or \\",
    "a\0b": "control characters", "two\nlines": "control characters",
    ".hidden": "start with '.'", "..": "start with '.'", "unknowns": "unknown faces",
    "Unknowns": "unknown faces", "montage.x": "tool's own files",
    "montage.person_02-00.png": "tool's own files", "faces.csv": "tool's own files",
    "x" * 101: "at most 100 characters", "é" * 101: "at most 100 characters",
    "한" * 70: "at most 200 bytes",  # 70 characters, 210 bytes
    " anna": "space", "person_02": "already exists", "ANNA": "already exists",
    "person_03": "already exists",
}


@pytest.mark.parametrize("bad_name", BAD_NAMES)
def test_a_bad_name_is_refused_in_one_line_and_nothing_changes(result, bad_name):
    result_dir, _ = result
    before = tree(result_dir)
    with pytest.raises(ChangeError) as refused:
        apply_change(result_dir, Rename("person_01", bad_name))
    message = str(refused.value)
    assert BAD_NAMES[bad_name] in message and "\n" not in message.replace(repr(bad_name), "")
    assert tree(result_dir) == before


def test_a_bad_name_for_a_new_person_is_refused_too(result):
    result_dir, _ = result
    before = tree(result_dir)
    face = folders(load(result_dir))["anna"][0]
    with pytest.raises(ChangeError, match="unknown faces"):
        apply_change(result_dir, NewPerson((face,), "unknowns"))
    with pytest.raises(ChangeError, match="start with '.'"):
        apply_change(result_dir, NewPerson((face,), ".set-aside"))
    assert tree(result_dir) == before


def test_merge_keeps_the_faces_and_their_encodings(result):
    result_dir, encodings = result
    before = folders(load(result_dir))
    apply_change(result_dir, Merge("person_01", "person_02"))
    after = folders(load(result_dir))
    assert after["person_01"] == sorted(before["person_01"] + before["person_02"])
    assert "person_02" not in after and not (result_dir / "person_02").exists()
    assert_encodings_kept(result_dir, encodings)
    with pytest.raises(ChangeError, match="no person 'person_02'"):
        apply_change(result_dir, Merge("person_01", "person_02"))


def test_moved_faces_keep_their_encodings(result):
    result_dir, encodings = result
    stray = folders(load(result_dir))["anna"][-1]
    first = folders(load(result_dir))["person_01"][0]
    apply_change(result_dir, MoveFaces((stray,), "person_03"))
    apply_change(result_dir, MoveFaces((first,), UNKNOWNS))
    db = load(result_dir)
    assert stray in folders(db)["person_03"] and first in folders(db)[UNKNOWNS]
    assert (result_dir / "person_03" / stray).is_file()
    assert faces_csv_persons(result_dir)[f"person_03/{stray}"] == "person_03"
    assert_encodings_kept(result_dir, encodings)
    loaded = {f.file_name: f.encoding for _, f in db.all_faces()}
    np.testing.assert_array_equal(loaded[stray], encodings[stray])
    with pytest.raises(ChangeError, match="already"):
        apply_change(result_dir, MoveFaces((stray,), "person_03"))


def test_moving_every_face_of_a_person_removes_it(result):
    result_dir, encodings = result
    faces = tuple(folders(load(result_dir))["person_03"])
    apply_change(result_dir, MoveFaces(faces, "anna"))
    after = folders(load(result_dir))
    assert "person_03" not in after and not (result_dir / "person_03").exists()
    assert set(faces) <= set(after["anna"])


def test_faces_to_a_new_person_named_or_numbered(result):
    result_dir, encodings = result
    anna = folders(load(result_dir))["anna"]
    said = apply_change(result_dir, NewPerson((anna[-1],)))
    assert said.endswith("person_04")
    apply_change(result_dir, NewPerson((anna[0], anna[1]), "Ann Two"))
    after = folders(load(result_dir))
    assert after["person_04"] == [anna[-1]] and after["Ann Two"] == [anna[0], anna[1]]
    assert_encodings_kept(result_dir, encodings)


def test_a_set_aside_face_stays_on_disk_is_no_person_and_comes_back(result):
    result_dir, encodings = result
    stray = folders(load(result_dir))["anna"][-1]
    unknown = folders(load(result_dir))[UNKNOWNS][-1]
    apply_change(result_dir, SetAside((stray, unknown)))
    assert (result_dir / SET_ASIDE / stray).is_file() and (result_dir / SET_ASIDE / unknown).is_file()
    db = load(result_dir)
    assert SET_ASIDE not in folders(db)
    assert stray not in {f.file_name for _, f in db.all_faces()}
    assert stray not in stored_encodings(result_dir)
    assert not any(stray in path for path in faces_csv_persons(result_dir))
    index = changes.set_aside_faces(result_dir)
    assert index[stray]["person"] == "anna"
    np.testing.assert_array_equal(index[stray]["encoding"], encodings[stray])

    apply_change(result_dir, Restore((stray,)))
    db = load(result_dir)
    assert stray in folders(db)["anna"] and not (result_dir / SET_ASIDE / stray).exists()
    back = next(face for _, face in db.all_faces() if face.file_name == stray)
    assert (back.source, back.frame, back.time_s, back.box) == (
        "clip.mp4", index[stray]["frame"], index[stray]["time_s"], (10, 90, 90, 10))
    assert_encodings_kept(result_dir, encodings, [stray])
    assert faces_csv_persons(result_dir)[f"anna/{stray}"] == "anna"
    assert list(changes.set_aside_faces(result_dir)) == [unknown]


def test_moved_set_aside_and_restored_faces_keep_the_time_they_were_followed_from(result):
    result_dir, _ = result
    anna = folders(load(result_dir))["anna"]
    since = {f.file_name: f.followed_from_s for _, f in load(result_dir).all_faces()}
    assert since[anna[0]] is not None
    apply_change(result_dir, MoveFaces((anna[0],), "person_03"))
    apply_change(result_dir, SetAside((anna[1],)))
    assert changes.set_aside_faces(result_dir)[anna[1]]["followed_from_s"] == since[anna[1]]
    apply_change(result_dir, Restore((anna[1],)))
    db = load(result_dir)
    assert anna[0] in folders(db)["person_03"] and anna[1] in folders(db)["anna"]
    assert {f.file_name: f.followed_from_s for _, f in db.all_faces()} == since


def test_a_restored_face_whose_person_is_gone_goes_to_unknowns(result):
    result_dir, encodings = result
    faces = folders(load(result_dir))["person_03"]
    apply_change(result_dir, SetAside(tuple(faces)))
    assert "person_03" not in folders(load(result_dir))
    apply_change(result_dir, Restore((faces[0],)))
    assert faces[0] in folders(load(result_dir))[UNKNOWNS]
    assert_encodings_kept(result_dir, encodings, [faces[0]])


def test_a_dismissed_suggestion_is_remembered_and_follows_a_rename(result):
    result_dir, _ = result
    db = load(result_dir)
    merge = suggest(db.persons, db.unknown).merges[0]
    assert (merge.kept, merge.absorbed) == ("person_01", "person_02")
    apply_change(result_dir, Dismiss(merge.key))
    dismissed = read_dismissed(result_dir)
    assert merge.key in dismissed
    assert json.loads((result_dir / DISMISSED_FILE).read_text())["dismissed"] == [merge.key]
    db = load(result_dir)
    assert suggest(db.persons, db.unknown, dismissed).merges == []
    apply_change(result_dir, Rename("person_02", "Bob"))
    db = load(result_dir)
    assert suggest(db.persons, db.unknown, read_dismissed(result_dir)).merges == []


def test_a_change_while_a_run_holds_the_lock_is_refused(result):
    result_dir, _ = result
    before = tree(result_dir)
    held = storage.lock_exclusively(result_dir / LOCK_FILE)
    try:
        with pytest.raises(ResultBusyError, match="a face-classifier run is using this result"):
            apply_change(result_dir, Rename("person_01", "Grace"))
    finally:
        held.close()
    assert tree(result_dir) == before
    apply_change(result_dir, Rename("person_01", "Grace"))


def test_changes_from_the_pages_json(result):
    assert change_from_json({"action": "rename", "person": "a", "new_name": "b"}) == Rename("a", "b")
    assert change_from_json({"action": "new_person", "faces": ["x.png", "x.png"]}) == NewPerson(
        ("x.png",))
    for bad in [None, [], {"action": "format_disk"}, {"action": "rename", "person": "a"},
                {"action": "move", "faces": "x.png", "to": "a"}, {"action": "move", "faces": [],
                                                                  "to": "a"},
                {"action": "rename", "person": 1, "new_name": "b"}]:
        with pytest.raises(ChangeError):
            change_from_json(bad)


def test_a_rerun_keeps_what_the_review_sorted(result):
    """The run's merge rules do not undo the review: two persons sorted before are never
    merged, names stay, moved faces stay where they were put."""
    from facesort.sorting.classifier import NeighbourClassifier

    result_dir, _ = result
    stray = folders(load(result_dir))["anna"][-1]
    apply_change(result_dir, MoveFaces((stray,), "person_03"))
    apply_change(result_dir, Rename("person_03", "carl"))
    db = load(result_dir)
    NeighbourClassifier(0.6).consolidate(db)  # person_01 and person_02 are 0.5 apart
    assert folders(db) == folders(load(result_dir))
