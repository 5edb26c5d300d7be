"""Corrections to a result directory made in the review: rename a person, merge two, move faces
(to a person, to unknowns, to a new person), set a false detection aside and bring it back,
dismiss a suggestion.

Every change is made like a run's save: under the result's lock, on persons loaded fresh from
the directory, then written by PersonDB.save (journaled), so a kill at any instant leaves the
result as it was before the change or after it, and the next run uses the corrections (a moved
face keeps its encoding, which is keyed by its file name).

Set-aside faces lie in ``.set-aside/`` inside the result: a hidden folder, which PersonDB.load
skips like every folder whose name starts with a dot, so they are no person and no unknown.
``.set-aside/set-aside.json`` keeps each one's encoding, metadata and person, so it can be
brought back as it was. Dismissed suggestions are remembered in ``.face-classifier-dismissed.json``.
"""
from __future__ import annotations

import contextlib
import io
import json
from pathlib import Path
from typing import Callable, Collection, Iterator

import numpy as np

from facesort import storage
from facesort.records.face import Face, Person
from facesort.result import journal as pending_moves
from facesort.result.dismissals import read_dismissed, write_dismissed
from facesort.result.layout import JOURNAL_FILE, SET_ASIDE, UNKNOWNS
from facesort.result.lock import ResultInUseError, lock_result
from facesort.review.change_records import (  # noqa: F401 (callers read them here)
    CHANGES,
    Change,
    ChangeError,
    Dismiss,
    Merge,
    MoveFaces,
    NewPerson,
    Rename,
    Restore,
    ResultBusyError,
    SetAside,
    change_from_json,
    check_name,
)
from person_db import PersonDB

SET_ASIDE_INDEX = "set-aside.json"

EncodeImage = Callable[[np.ndarray], np.ndarray]


def entries_of(result_dir: Path) -> set[str]:
    try:
        return {path.name for path in result_dir.iterdir()}
    except OSError:
        return set()


# --- the changes in memory -----------------------------------------------------------------
def person_named(db: PersonDB, name: str, unknowns: bool = False) -> Person:
    if unknowns and name == UNKNOWNS:
        return db.unknown
    for person in db.persons:
        if person.name == name:
            return person
    raise ChangeError(f"there is no person {name!r} (the result changed? reload the page)")


def take_faces(db: PersonDB, names: Collection[str]) -> list[tuple[Person, Face]]:
    """Remove the faces of these file names from their persons (unknowns too); persons left
    without faces are dropped. Raises ChangeError, changing nothing, when one is missing."""
    wanted = set(names)
    found = [(person, face) for person, face in db.all_faces() if face.file_name in wanted]
    missing = wanted - {face.file_name for _, face in found}
    if missing:
        raise ChangeError(f"no face {sorted(missing)[0]!r} (the result changed? reload the page)")
    for person in {id(p): p for p, _ in found}.values():
        person.remove_faces([face for holder, face in found if holder is person])
    db.persons = [p for p in db.persons if p.faces]
    return found


def give_faces(person: Person, faces: list[Face]) -> None:
    person.add_faces(faces)


def rename(db: PersonDB, old: str, new: str, taken: Collection[str]) -> None:
    person = person_named(db, old)
    if new == old:
        raise ChangeError(f"{old!r} is already named so")
    check_name(new, taken)
    person.name = new


def merge(db: PersonDB, kept: str, absorbed: str) -> None:
    if kept == absorbed:
        raise ChangeError("a person cannot be merged with itself")
    db.merge_persons(person_named(db, kept), person_named(db, absorbed))


def move_faces(db: PersonDB, names: Collection[str], to: str) -> None:
    target = person_named(db, to, unknowns=True)
    if all(db.person_of(name) is target for name in names):
        raise ChangeError(f"these faces are in {to!r} already")
    faces = [face for _, face in take_faces(db, names)]
    if target is not db.unknown and target not in db.persons:
        db.add_person(target)  # emptied by taking its own faces out: back, with them
    give_faces(target, faces)


def new_person(db: PersonDB, names: Collection[str], name: str, taken: Collection[str]) -> Person:
    if name:
        check_name(name, taken)
    faces = [face for _, face in take_faces(db, names)]
    if not name:
        return db.new_person(faces)
    person = Person(name, faces)
    db.add_person(person)
    return person


# --- the result directory ------------------------------------------------------------------
@contextlib.contextmanager
def locked(result_dir: Path) -> Iterator[None]:
    """Hold the result's lock, as a run does, or raise ResultBusyError."""
    if not result_dir.is_dir():
        raise ChangeError(f"no result directory '{result_dir}'")
    try:
        lock = lock_result(result_dir)
    except ResultInUseError:
        raise ResultBusyError("a face-classifier run is using this result: changes wait until "
                              "it ends (then reload the page)") from None
    except OSError as error:
        raise ChangeError(f"cannot use '{result_dir}': {error.strerror or error}") from None
    try:
        yield
    finally:
        lock.close()


def load_quietly(result_dir: Path, encode_image: EncodeImage | None = None) -> PersonDB:
    """The persons as the next run would load them (an interrupted save finished first).
    Call it with the lock held: loading tidies what a killed run left."""
    db = PersonDB()
    try:
        with contextlib.redirect_stdout(io.StringIO()):  # its progress lines are for the terminal
            db.load(result_dir, encode_image=encode_image)
    except OSError as error:  # a damaged journal, a folder that cannot be read
        raise ChangeError(f"cannot load '{result_dir}': {error.strerror or error}") from None
    return db


def save_quietly(db: PersonDB, result_dir: Path) -> None:
    try:
        db.save(result_dir, announce=False)
    except OSError as error:
        raise ChangeError(f"could not save: {error.strerror or error}; the result still holds "
                          "its last complete save") from None


def apply_change(result_dir: Path, change: Change,
                 encode_image: EncodeImage | None = None) -> str:
    """Make ``change`` on the result directory: lock, load, change, save. One line back."""
    with locked(result_dir):
        if isinstance(change, Dismiss):
            dismiss(result_dir, change.key)
            return "suggestion dismissed"
        db = load_quietly(result_dir, encode_image)
        taken = entries_of(result_dir)
        emptied: list[str] = []  # folders that may be left empty
        if isinstance(change, Rename):
            rename(db, change.person, change.new_name, taken)
            emptied, said = [change.person], f"{change.person} is now {change.new_name}"
        elif isinstance(change, Merge):
            merge(db, change.kept, change.absorbed)
            emptied, said = [change.absorbed], f"{change.absorbed} merged into {change.kept}"
        elif isinstance(change, MoveFaces):
            before = {p.name for p in db.persons}
            move_faces(db, change.faces, change.to)
            emptied = sorted(before - {p.name for p in db.persons})
            said = f"{counted(change.faces)} moved to {change.to}"
        elif isinstance(change, NewPerson):
            before = {p.name for p in db.persons}
            person = new_person(db, change.faces, change.name, taken)
            emptied = sorted(before - {p.name for p in db.persons})
            said = f"{counted(change.faces)} moved to a new person, {person.name}"
        elif isinstance(change, SetAside):
            emptied = set_aside(result_dir, db, change.faces)
            said = f"{counted(change.faces)} set aside in {SET_ASIDE}/"
        elif isinstance(change, Restore):
            said = restore(result_dir, db, change.faces, encode_image)
        else:
            raise ChangeError(f"unknown change {change!r}")
        if not isinstance(change, Restore):
            save_quietly(db, result_dir)
        for name in emptied:
            remove_if_empty(result_dir / name)
        if isinstance(change, Rename):
            update_dismissed(result_dir, renamed={change.person: change.new_name})
        elif isinstance(change, Merge):
            update_dismissed(result_dir, gone={change.absorbed})
        return said


def counted(faces: Collection[str]) -> str:
    return f"{len(faces)} face{'' if len(faces) == 1 else 's'}"


def remove_if_empty(folder: Path) -> None:
    """A person's folder left empty by a change goes; one holding anything stays."""
    with contextlib.suppress(OSError):
        if not folder.is_symlink():
            folder.rmdir()


def move_with_journal(result_dir: Path, moves: list[tuple[str, str]]) -> set[str]:
    """Move face images (``folder/file`` paths) all or none, through the save's journal: a kill
    in the middle is finished by the next load. Returns the targets now in place."""
    journal_path = result_dir / JOURNAL_FILE
    journal = pending_moves.Journal(moves=moves)
    try:
        pending_moves.finish(journal_path, result_dir)
        in_place = pending_moves.apply(journal_path, result_dir, journal)
    except OSError as error:
        raise ChangeError(f"could not move the faces: {error.strerror or error}") from None
    return in_place


# --- set aside -----------------------------------------------------------------------------
def read_set_aside(result_dir: Path) -> dict[str, dict]:
    """face file name -> what was stored when it was set aside (person, encoding, metadata)."""
    path = result_dir / SET_ASIDE / SET_ASIDE_INDEX
    if not path.is_file() or path.is_symlink():
        return {}
    try:
        faces = json.loads(path.read_bytes().decode("ascii"))["faces"]
        return {str(name): entry for name, entry in faces.items() if isinstance(entry, dict)}
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return {}


def write_set_aside(result_dir: Path, index: dict[str, dict]) -> None:
    text = json.dumps({"faces": index}, ensure_ascii=True, indent=0, sort_keys=True)
    storage.atomic_write_bytes(result_dir / SET_ASIDE / SET_ASIDE_INDEX, text.encode("ascii"))


def set_aside_faces(result_dir: Path) -> dict[str, dict]:
    """The set-aside faces whose image is still in .set-aside/ (the user may have moved some)."""
    folder = result_dir / SET_ASIDE
    return {name: entry for name, entry in read_set_aside(result_dir).items()
            if pending_moves.is_plain_name(name) and (folder / name).is_file()
            and not (folder / name).is_symlink()}


def set_aside(result_dir: Path, db: PersonDB, names: Collection[str]) -> list[str]:
    """Faces out of their persons into .set-aside/; returns the persons' names left empty.

    The order keeps every face whole at every instant: its encoding and metadata go into the
    set-aside index first, then the images move (journaled), then the save forgets them.
    """
    before = {p.name for p in db.persons}
    taken = take_faces(db, names)
    folder = result_dir / SET_ASIDE
    clashes = [face.file_name for _, face in taken if (folder / face.file_name).exists()]
    if clashes:
        raise ChangeError(f"{clashes[0]!r} is in {SET_ASIDE}/ already; move that file away first")
    try:
        storage.own_folder(folder)
        storage.remove_temp_files(folder)  # of an index write a kill cut short
        index = read_set_aside(result_dir)
        for person, face in taken:
            index[face.file_name] = {
                "person": person.name, "encoding": [float(x) for x in face.encoding],
                "source": face.source, "frame": face.frame, "time_s": face.time_s,
                "followed_from_s": face.followed_from_s, "unfit": face.unfit,
                "box": list(face.box) if face.box else None}
        write_set_aside(result_dir, index)
    except OSError as error:
        raise ChangeError(f"could not write {SET_ASIDE}/: {error.strerror or error}") from None
    in_place = move_with_journal(result_dir, [
        (f"{person.name}/{face.file_name}", f"{SET_ASIDE}/{face.file_name}")
        for person, face in taken])
    for person, face in taken:  # a face that could not move stays where it was
        if f"{SET_ASIDE}/{face.file_name}" not in in_place:
            target = person if person is db.unknown else next(
                (p for p in db.persons if p.name == person.name), None)
            if target is None:
                target = person
                db.add_person(target)
            give_faces(target, [face])
    return sorted(before - {p.name for p in db.persons})


def restore(result_dir: Path, db: PersonDB, names: Collection[str],
            encode_image: EncodeImage | None) -> str:
    """Set-aside faces back to their person (unknowns when it is gone).

    The save that gives them their encodings comes first, then the images move (journaled),
    then a fresh load and save list them in faces.csv (with the source, time and box their
    index entry kept) and the montages.
    """
    stored = set_aside_faces(result_dir)
    missing = [name for name in names if name not in stored]
    if missing:
        raise ChangeError(f"{missing[0]!r} is not set aside (the result changed? reload the page)")
    places = []
    restored = {}
    for name in names:
        entry = stored[name]
        face = restored[name] = face_from_entry(name, entry)
        wanted = entry.get("person")
        person = next((p for p in db.persons if p.name == wanted), db.unknown)
        give_faces(person, [face])
        places.append(person.name)
    save_quietly(db, result_dir)
    in_place = move_with_journal(result_dir, [
        (f"{SET_ASIDE}/{name}", f"{place}/{name}") for name, place in zip(names, places)])
    index = read_set_aside(result_dir)
    for name, place in zip(names, places):
        if f"{place}/{name}" in in_place:
            index.pop(name, None)
    with contextlib.suppress(OSError):  # an entry left over is harmless: its file is gone
        write_set_aside(result_dir, index)
    fresh = load_quietly(result_dir, encode_image)
    for _, face in fresh.all_faces():  # faces.csv had no row for them: their index entry has
        known = restored.get(face.file_name)
        if known is not None:
            face.source, face.frame, face.time_s = known.source, known.frame, known.time_s
            face.box, face.followed_from_s = known.box, known.followed_from_s
            face.unfit = known.unfit
    save_quietly(fresh, result_dir)
    where = sorted(set(places))
    return f"{counted(names)} back in {', '.join(where)}"


def face_from_entry(name: str, entry: dict) -> Face:
    try:
        encoding = np.array(entry["encoding"], dtype=np.float64)
    except (KeyError, TypeError, ValueError):
        encoding = None
    if not storage.valid_encoding(encoding):
        raise ChangeError(f"{name!r} has no stored encoding in {SET_ASIDE}/{SET_ASIDE_INDEX}; "
                          "move its file into a person's folder by hand")
    box = entry.get("box")
    frame = entry.get("frame")
    return Face(file_name=name, encoding=encoding,
                box=tuple(int(v) for v in box) if isinstance(box, list) and len(box) == 4 else None,
                source=str(entry.get("source") or ""),
                frame=frame if isinstance(frame, int) else None,
                time_s=number_or_none(entry.get("time_s")),
                followed_from_s=number_or_none(entry.get("followed_from_s")),
                unfit=str(entry["unfit"]) if entry.get("unfit") else None)


def number_or_none(value: object) -> float | None:
    """A time of the set-aside index (JSON: a number or null; absent in older indexes)."""
    return float(value) if isinstance(value, (int, float)) else None


# --- dismissed suggestions (result/dismissals.py keeps them) --------------------------------
def dismiss(result_dir: Path, key: str) -> None:
    if not key or len(key) > 4096:
        raise ChangeError("not a suggestion's key")
    keys = read_dismissed(result_dir)
    try:
        write_dismissed(result_dir, keys | {key})
    except OSError as error:
        raise ChangeError(f"could not remember it: {error.strerror or error}") from None


def update_dismissed(result_dir: Path, renamed: dict[str, str] | None = None,
                     gone: Collection[str] = ()) -> None:
    """Keep dismissals in step with the persons: follow a rename, forget a merged person's."""
    keys = read_dismissed(result_dir)
    updated = set()
    for key in keys:
        try:
            kind, *parts = json.loads(key)
        except (ValueError, TypeError):
            updated.add(key)
            continue
        persons = slice(0, 2) if kind == "merge" else slice(1, 2)  # which parts are persons
        named = parts[persons]
        if any(name in gone for name in named):
            continue
        parts[persons] = [(renamed or {}).get(name, name) for name in named]
        if kind == "merge":
            parts = sorted(parts)
        updated.add(json.dumps([kind, *parts], ensure_ascii=True))
    if updated != keys:
        with contextlib.suppress(OSError):  # a stale dismissal is harmless
            write_dismissed(result_dir, updated)
