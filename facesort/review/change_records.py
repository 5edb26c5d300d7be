"""The corrections the review can make, as records, read from the page's JSON, and the rules
a person's new name must follow (it becomes a folder of the result)."""
from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from typing import Collection

from facesort.result.layout import (
    ADDED_ENCODINGS_FILE,
    ENCODINGS_FILE,
    FACES_CSV,
    LEGACY_ENCODINGS_FILE,
    UNKNOWNS,
)

MAX_NAME_LENGTH = 100          # characters; a montage page adds 15 to the folder's name
MAX_NAME_BYTES = 200           # file systems allow 255 bytes a name
TOOL_FILES = {ENCODINGS_FILE, ADDED_ENCODINGS_FILE, LEGACY_ENCODINGS_FILE, FACES_CSV, "appearances.csv", "report.html",
              "distances.csv"}


class ChangeError(Exception):
    """A change that cannot be made, said in one line; the result is as it was."""


class ResultBusyError(ChangeError):
    """A face-classifier run holds the result's lock."""


# --- the changes ---------------------------------------------------------------------------
@dataclass(frozen=True)
class Rename:
    person: str
    new_name: str


@dataclass(frozen=True)
class Merge:
    """``absorbed``'s faces join ``kept``, whose name stays."""

    kept: str
    absorbed: str


@dataclass(frozen=True)
class MoveFaces:
    """Faces (file names) to an existing person or to ``unknowns``."""

    faces: tuple[str, ...]
    to: str


@dataclass(frozen=True)
class NewPerson:
    """Faces to a new person named ``name``, or the next ``person_NN`` when it is empty."""

    faces: tuple[str, ...]
    name: str = ""


@dataclass(frozen=True)
class SetAside:
    """False detections out of the persons, into .set-aside/ (never deleted)."""

    faces: tuple[str, ...]


@dataclass(frozen=True)
class Restore:
    """Set-aside faces back to the person they were set aside from (unknowns when it is gone)."""

    faces: tuple[str, ...]


@dataclass(frozen=True)
class Dismiss:
    """A suggestion (its key) that is never made again."""

    key: str


Change = Rename | Merge | MoveFaces | NewPerson | SetAside | Restore | Dismiss
CHANGES = {"rename": Rename, "merge": Merge, "move": MoveFaces, "new_person": NewPerson,
           "set_aside": SetAside, "restore": Restore, "dismiss": Dismiss}


def change_from_json(data: object) -> Change:
    """A change from the page's JSON: {"action": "rename", "person": ..., "new_name": ...}."""
    if not isinstance(data, dict) or data.get("action") not in CHANGES:
        raise ChangeError(f"unknown action; one of: {', '.join(CHANGES)}")
    kind = CHANGES[data["action"]]
    fields = kind.__dataclass_fields__
    values = {}
    for name in fields:
        if name not in data:
            if name == "name":
                continue  # NewPerson's name may be left out
            raise ChangeError(f"{data['action']} needs '{name}'")
        value = data[name]
        if name == "faces":
            if (not isinstance(value, list) or not value
                    or not all(isinstance(v, str) for v in value)):
                raise ChangeError("'faces' must be a list of face file names")
            value = tuple(dict.fromkeys(value))
        elif not isinstance(value, str):
            raise ChangeError(f"'{name}' must be a string")
        values[name] = value
    return kind(**values)


# --- person names --------------------------------------------------------------------------
def check_name(name: str, taken: Collection[str] = ()) -> None:
    """Raise ChangeError when ``name`` cannot be a person's folder in the result directory.

    ``taken``: the names of everything in the result directory now (no name may clash).
    """
    if not name:
        raise ChangeError("a name cannot be empty")
    if name != name.strip():
        raise ChangeError("a name cannot start or end with a space")
    if "/" in name or "\\" in name:
        raise ChangeError(f"{name!r}: a name cannot contain / or \\ (it is a folder's name)")
    if any(unicodedata.category(c) in ("Cc", "Cs") for c in name):  # NUL, newline, ...
        raise ChangeError(f"{name!r}: a name cannot contain control characters")
    if name.startswith("."):
        raise ChangeError(f"{name!r}: a name cannot start with '.' (hidden folders are no persons)")
    if len(name) > MAX_NAME_LENGTH:
        raise ChangeError(f"a name can have at most {MAX_NAME_LENGTH} characters")
    if len(name.encode("utf-8")) > MAX_NAME_BYTES:
        raise ChangeError(f"a name can have at most {MAX_NAME_BYTES} bytes in UTF-8 (this one "
                          f"has {len(name.encode('utf-8'))}: letters outside ASCII take 2-4)")
    if name.casefold() == UNKNOWNS:
        raise ChangeError(f"'{UNKNOWNS}' is the folder of unknown faces, not a person's name "
                          "(move the faces there instead)")
    if name.casefold().startswith("montage.") or name in TOOL_FILES:
        raise ChangeError(f"{name!r} clashes with the tool's own files; choose another name")
    folded = {t.casefold() for t in taken}
    if name.casefold() in folded:
        raise ChangeError(f"{name!r} already exists in the result directory "
                          "(to join two persons, merge them)")
