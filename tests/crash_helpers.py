"""What a result directory holds, as the next run would load it: for comparing before and after."""
from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

from facesort.result.layout import FACES_CSV, JOURNAL_FILE, STAGING
from person_db import PersonDB


def never_encode(image):
    raise AssertionError("every face image of ours must find its stored encoding")


@dataclass(frozen=True)
class Loaded:
    """face file name -> (folder, encoding as bytes, frame) and faces.csv's file -> person."""

    faces: dict[str, tuple[str, bytes, int | None]]
    csv_persons: dict[str, str]

    def folders(self) -> dict[str, str]:
        return {name: folder for name, (folder, _, _) in self.faces.items()}


def load_result(result_dir: Path, user_sorted: bool = False) -> Loaded:
    """Load like the next run would (finishing an interrupted save), then check that the
    directory is whole: nothing left pending, every image with its encoding, faces.csv in step
    (its person column only when the user has not sorted folders since the last save)."""
    db = PersonDB()
    db.load(result_dir, encode_image=never_encode)
    assert not (result_dir / JOURNAL_FILE).exists()
    assert not (result_dir / STAGING).exists()
    faces = {face.file_name: (person.name, face.encoding.tobytes(), face.frame)
             for person, face in db.all_faces()}
    csv_persons = {}
    if (result_dir / FACES_CSV).exists():
        with open(result_dir / FACES_CSV, newline="", encoding="utf-8",
                  errors="surrogateescape") as file:
            csv_persons = {Path(row["file"]).name: row["person"] for row in csv.DictReader(file)}
    loaded = Loaded(faces, csv_persons)
    if user_sorted:
        assert csv_persons.keys() == faces.keys(), "faces.csv does not list the faces"
    else:
        assert csv_persons == loaded.folders(), "faces.csv does not describe the folders"
    return loaded


def assert_nothing_lost(before: Loaded, after: Loaded, may_move: tuple[str, ...] = ()) -> None:
    """Every face saved before is still there with the same encoding and metadata; faces in a
    person stay in that person; only pooled unknowns (and faces of ``may_move``) may move."""
    for name, (folder, encoding, frame) in before.faces.items():
        assert name in after.faces, f"{name} was lost"
        new_folder, new_encoding, new_frame = after.faces[name]
        assert new_encoding == encoding and new_frame == frame, f"{name} changed"
        if folder != "unknowns" and folder not in may_move:
            assert new_folder == folder, f"{name} moved from {folder} to {new_folder}"
