"""faces.csv: one row per face, with its person, file, source, frame, time, box, the time its
track was followed from, and why it is not fit to sort (records.face.Unfit; empty when it is).
Files of older versions lack the last columns: their faces load as followed from an unknown
time, and fit."""
from __future__ import annotations

import csv
import io
import logging
import math
from pathlib import Path
from typing import Iterable

import numpy as np

from facesort.records.box import Box
from facesort.records.face import Face
from facesort.result.layout import regular_file

log = logging.getLogger(__name__)

CSV_COLUMNS = ["person", "file", "source", "frame", "time_s", "top", "right", "bottom", "left",
               "followed_from_s", "unfit"]


def faces_csv_text(rows: Iterable[tuple[str, Face, str | None]]) -> str:
    """The file for (person name, face, where its image lies in the result) rows."""
    return FacesCsvRows().text(rows)


class FacesCsvRows:
    """Writes faces.csv again and again, formatting only the rows whose content changed since
    the last time (a face that is new, moved, or whose person was renamed)."""

    def __init__(self) -> None:
        self._rows: dict[int, tuple[tuple, str]] = {}  # id(face) -> (what it shows, its line)

    def text(self, rows: Iterable[tuple[str, Face, str | None]]) -> str:
        """The file for (person name, face, where its image lies: 'folder/file') rows."""
        lines = [",".join(CSV_COLUMNS) + "\n"]
        kept: dict[int, tuple[tuple, str]] = {}
        for person, face, location in rows:
            shown = (face, person, location, face.source, face.frame, face.time_s, face.box,
                     face.followed_from_s, face.unfit)
            known = self._rows.get(id(face))
            if known is None or not same_row(known[0], shown):
                known = (shown, row_text(person, face, location))
            kept[id(face)] = known
            lines.append(known[1])
        self._rows = kept
        return "".join(lines)


def same_row(a: tuple, b: tuple) -> bool:
    """Whether two rows show the same: the very face (``is``), and equal fields."""
    return a[0] is b[0] and a[1:] == b[1:]


def row_text(person: str, face: Face, location: str | None) -> str:
    """One face's line of faces.csv."""
    buffer = io.StringIO()
    box = face.box or ("", "", "", "")
    csv.writer(buffer, lineterminator="\n").writerow(
        [person, location or "", face.source, "" if face.frame is None else face.frame,
         seconds(face.time_s), *box, seconds(face.followed_from_s), face.unfit or ""])
    return buffer.getvalue()


def seconds(time_s: float | None) -> str:
    """A time as faces.csv writes it: to the millisecond, empty when unknown."""
    return "" if time_s is None else f"{time_s:.3f}"


def read_faces_csv(path: Path) -> dict[str, dict[str, str]]:
    """face file name -> its row of faces.csv (source, frame, time, box); {} when unreadable."""
    if not regular_file(path):
        return {}
    try:
        with path.open(newline="", encoding="utf-8", errors="surrogateescape") as file:
            reader = csv.DictReader(file)
            if not {"person", "file"} <= set(reader.fieldnames or ()):
                raise ValueError("it has no person and file columns")
            return {Path(row["file"]).name: row for row in reader if row.get("file")}
    except (OSError, UnicodeDecodeError, csv.Error, KeyError, ValueError) as error:
        log.warning("ignoring %s: %s", path, error)
        return {}


def face_of_row(file_name: str, encoding: np.ndarray, row: dict[str, str]) -> Face:
    """The face stored as ``file_name`` with its row of faces.csv ({} when it has none)."""
    return Face(file_name=file_name, encoding=encoding, box=parse_box(row),
                source=row.get("source", ""), frame=parse_int(row.get("frame")),
                time_s=parse_float(row.get("time_s", "")),
                followed_from_s=parse_float(row.get("followed_from_s", "")),
                unfit=parse_unfit(row))


def parse_unfit(row: dict[str, str]) -> str | None:
    """Why a row's face is not fit to sort; None when it is (an empty or a missing column)."""
    return (row.get("unfit") or "").strip() or None


def parse_int(text: str | None) -> int | None:
    try:
        return int(text) if text not in (None, "") else None
    except ValueError:
        return None


def parse_float(text: str | None) -> float | None:
    """A finite number, else None."""
    try:
        value = float(text)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None
    return value if math.isfinite(value) else None


def parse_box(row: dict[str, str]) -> Box | None:
    values = [parse_int(row.get(key)) for key in ("top", "right", "bottom", "left")]
    return None if None in values else tuple(values)  # type: ignore[return-value]
