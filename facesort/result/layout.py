"""The result directory's names: a folder per person, the unknowns, and the files of ours.

    <person name>/<face>.png     one folder per person, named after the person
    unknowns/<face>.png          faces that match nobody yet
    montage.<name>-NN.png        128x128 tiles, 6x2 per page, for looking through a person
    face_encodings.npz           face file name -> 128-number encoding (not pickle)
    face_encodings-added.npz     the encodings of faces found since the run wrote the one
                                 above, which they extend (encodings_file.py)
    faces.csv                    one row per face: person, file, source, frame, time, box,
                                 the time its track was followed from

Hidden files of ours: new face images wait in .face-classifier-new/ until a save puts them in
their folder; .face-classifier-journal.json exists while a save moves faces (journal.py);
.face-classifier.lock keeps a second run out (lock.py); .set-aside/ holds the false detections
the user set aside (recoverable: face-classifier review brings them back).
"""
from __future__ import annotations

import logging
from pathlib import Path

from facesort.records.face import AUTOMATIC_NAME, UNKNOWN_POOL

log = logging.getLogger(__name__)

UNKNOWNS = UNKNOWN_POOL
ENCODINGS_FILE = "face_encodings.npz"
ADDED_ENCODINGS_FILE = "face_encodings-added.npz"
LEGACY_ENCODINGS_FILE = "face_encodings"  # the original tool's pickle
FACES_CSV = "faces.csv"
PERSON_NUMBER = AUTOMATIC_NAME  # person_NN, the names the tool gives
STAGING = ".face-classifier-new"
JOURNAL_FILE = ".face-classifier-journal.json"
LOCK_FILE = ".face-classifier.lock"
SET_ASIDE = ".set-aside"  # false detections the user set aside in the review page


def regular_file(path: Path) -> bool:
    """A file of ours to read: a symbolic link is never followed out of the result directory."""
    if path.is_symlink():
        log.warning("skipping %s: symbolic links are not followed", path)
        return False
    return path.is_file()
