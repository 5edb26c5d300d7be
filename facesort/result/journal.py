"""The journal of a save in progress: which face images move where, and the index files to
write once they have moved.

A save writes the journal (atomically) before it moves the first face image, carries it out,
and deletes it. When a kill or a power cut interrupts, the next load or save carries out the
rest. So a result directory is always either the previous save or the new one, never a mix,
even when faces change folders (an unknown face that becomes part of a new person).
"""
from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from pathlib import Path

from facesort import storage

log = logging.getLogger(__name__)


class PendingMovesError(OSError):
    """An interrupted save cannot be finished; the journal is kept so nothing is lost."""


@dataclass(frozen=True)
class Journal:
    """Moves of face images (``folder/file`` paths relative to the result directory),
    then whole files to write (name in the result directory -> text)."""

    moves: list[tuple[str, str]] = field(default_factory=list)
    files: dict[str, str] = field(default_factory=dict)


def is_face_path(text: str) -> bool:
    """``folder/file``, nothing more: a journal can never reach outside the result directory."""
    path = Path(text)
    return (not path.is_absolute() and not path.drive and len(path.parts) == 2
            and all(part not in (".", "..") for part in path.parts))


def is_plain_name(text: str) -> bool:
    return is_face_path(f"x/{text}") and not text.startswith(".")


def write(path: Path, journal: Journal) -> None:
    """Store the journal; from now on the save counts as done (a load will finish it)."""
    # ensure_ascii keeps any undecodable byte of a file name (a lone surrogate) intact
    text = json.dumps({"moves": journal.moves, "files": journal.files}, ensure_ascii=True)
    storage.atomic_write_bytes(path, text.encode("ascii"))
    storage.sync_folder(path.parent)


def read(path: Path) -> Journal | None:
    """The journal at ``path``; None when there is none. Entries that could reach outside the
    result directory are dropped with a warning."""
    if not path.exists() and not path.is_symlink():
        return None
    try:
        if path.is_symlink():
            raise ValueError("it is a symbolic link")
        data = json.loads(path.read_bytes().decode("ascii"))
        moves = [(str(a), str(b)) for a, b in data["moves"]]
        files = {str(k): str(v) for k, v in data["files"].items()}
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as error:
        raise PendingMovesError(f"{path} is damaged ({error}); move it away to go on") from None
    good_moves = [(a, b) for a, b in moves if is_face_path(a) and is_face_path(b)]
    good_files = {k: v for k, v in files.items() if is_plain_name(k)}
    if len(good_moves) < len(moves) or len(good_files) < len(files):
        log.warning("%s: ignoring %d entries that point outside the result directory", path,
                    len(moves) - len(good_moves) + len(files) - len(good_files))
    return Journal(good_moves, good_files)


def carry_out(result_dir: Path, journal: Journal) -> set[str]:
    """Make every move still to be made, write the files; return the targets now in place.

    Idempotent: a move whose source is gone was made already (or the user moved the face,
    and the user wins). A file already lying at a target is never replaced.
    Raises PendingMovesError, leaving the journal for the next try, when a target folder
    cannot be used.
    """
    in_place: set[str] = set()
    touched: set[Path] = set()
    failed = []
    for source_text, target_text in journal.moves:
        source, target = result_dir / source_text, result_dir / target_text
        if not source.exists() or source.is_symlink():
            if target.exists():
                in_place.add(target_text)
            continue
        try:
            storage.own_folder(target.parent)
            moved = storage.move_without_replacing(source, target)
        except OSError as error:
            failed.append(f"{source_text} -> {target_text}: {error.strerror or error}")
            continue
        if moved:
            in_place.add(target_text)
            touched.update((source.parent, target.parent))
        else:
            log.warning("not moving %s: %s already exists, and it is kept", source, target)
    for folder in touched:
        storage.sync_folder(folder)
    if failed:
        raise PendingMovesError(f"cannot move {failed[0]}" +
                                (f" (and {len(failed) - 1} more)" if len(failed) > 1 else ""))
    for name, text in journal.files.items():
        storage.atomic_write_bytes(result_dir / name, text.encode("utf-8", "surrogateescape"))
    return in_place


def apply(path: Path, result_dir: Path, journal: Journal) -> set[str]:
    """Write ``journal`` at ``path``, carry it out, delete it; return the targets in place."""
    write(path, journal)
    in_place = carry_out(result_dir, journal)
    remove(path)
    return in_place


def finish(path: Path, result_dir: Path) -> bool:
    """Carry out a journal an interrupted save left at ``path``, then delete it.

    True when there was one. Raises PendingMovesError when it cannot be finished.
    """
    journal = read(path)
    if journal is None:
        return False
    log.warning("finishing a save that was interrupted: %d face moves", len(journal.moves))
    carry_out(result_dir, journal)
    remove(path)
    return True


def remove(path: Path) -> None:
    path.unlink(missing_ok=True)
    storage.sync_folder(path.parent)
