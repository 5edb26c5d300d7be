"""A small result directory for the review's tests, built from synthetic faces in a second: a person
split in two, a user-named person with a stray face, unknown faces."""
from __future__ import annotations

import contextlib
import hashlib
import io
from pathlib import Path

import cv2
import numpy as np

from facesort.records.face import Face, Person
from facesort.storage import encode_png
from person_db import PersonDB
from tests.conftest import encoding_at

# person name -> encodings of its faces (first coordinates; see conftest.encoding_at)
LAYOUT = {
    "person_01": [(0.0, 0.0), (0.0, 0.05), (0.05, 0.0), (0.0, 0.1)],
    "person_02": [(0.5, 0.0), (0.5, 0.05), (0.55, 0.0)],                   # person_01 split
    "anna": [(2.0, 0.0), (2.0, 0.05), (2.05, 0.0), (4.0, 0.02)],           # the last one strayed
    "person_03": [(4.0, 0.0), (4.05, 0.0)],
    "unknowns": [(0.0, 0.5), (9.0, 0.0)],                                  # near person_01; nobody
}
COLORS = [(66, 133, 244), (219, 68, 55), (244, 180, 0), (15, 157, 88), (171, 71, 188),
          (0, 172, 193), (255, 112, 67), (158, 157, 36), (92, 107, 192), (240, 98, 146)]


def face_picture(number: int, shade: int, size: int = 96) -> np.ndarray:
    """A face-like drawing (BGR): a head coloured after ``shade``, two eyes, its number."""
    image = np.full((size, size, 3), 235, np.uint8)
    color = COLORS[shade % len(COLORS)]
    cv2.circle(image, (size // 2, size // 2), size // 2 - 6, color, -1)
    for x in (size // 3, 2 * size // 3):
        cv2.circle(image, (x, size // 2 - 8), 5, (255, 255, 255), -1)
    cv2.putText(image, str(number), (size // 2 - 14, size // 2 + 28), cv2.FONT_HERSHEY_SIMPLEX,
                0.8, (255, 255, 255), 2)
    return image


def build_result(result_dir: Path, layout: dict | None = None) -> dict[str, np.ndarray]:
    """Save a result of ``layout`` (default LAYOUT); returns face file name -> encoding."""
    db = PersonDB()
    encodings = {}
    number = 0
    for name, offsets in (layout or LAYOUT).items():
        faces = []
        for offset in offsets:
            number += 1
            frame = 25 * number
            face = Face(file_name=f"clip_f{frame:06d}_0.png", encoding=encoding_at(*offset),
                        box=(10, 90, 90, 10), source="clip.mp4", frame=frame,
                        time_s=frame / 25, followed_from_s=frame / 25 - 0.5,
                        crop_png=encode_png(face_picture(number, shade=int(offset[0] + 0.3))))
            faces.append(face)
            encodings[face.file_name] = face.encoding.copy()
        if name == "unknowns":
            db.unknown = Person("unknowns", faces)
        else:
            db.add_person(Person(name, faces))
    with contextlib.redirect_stdout(io.StringIO()):
        db.save(result_dir)
    return encodings


def load(result_dir: Path) -> PersonDB:
    db = PersonDB()
    with contextlib.redirect_stdout(io.StringIO()):
        db.load(result_dir, encode_image=None)
    return db


def folders(db: PersonDB) -> dict[str, list[str]]:
    """person -> its face file names, as loaded."""
    return {p.name: sorted(f.file_name for f in p.faces) for p in [*db.persons, db.unknown]
            if p.faces}


def tree(result_dir: Path) -> dict[str, str]:
    """Every file under the result (the lock file aside) -> a hash of its bytes."""
    return {path.relative_to(result_dir).as_posix(): hashlib.sha1(path.read_bytes()).hexdigest()
            for path in sorted(result_dir.rglob("*"))
            if path.is_file() and path.name != ".face-classifier.lock"}
