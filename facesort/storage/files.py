"""Files of ours on disk: written atomically, temporary files a kill left, folders that must
be ours, moves that never replace, the advisory lock."""
from __future__ import annotations

import errno
import os
import re
import tempfile
from pathlib import Path
from typing import IO, Callable, Iterable

try:
    import fcntl
except ImportError:  # Windows
    fcntl = None  # type: ignore[assignment]


# Temporary files are named so that they can be told apart from the user's files: a kill
# can leave one behind, and only files of exactly this shape are ever cleaned up.
TEMP_PREFIX, TEMP_SUFFIX = ".face-classifier-", ".tmp"
TEMP_NAME = re.compile(re.escape(TEMP_PREFIX) + r"[a-z0-9_]{8}" + re.escape(TEMP_SUFFIX))


def atomic_write_bytes(path: Path, data: bytes, durable: bool = True) -> None:
    """Write a file so that readers see the old content or the new, never a part of it.

    A symbolic link at ``path`` is replaced, not followed. ``durable``: on disk before it
    replaces the old one, so that a power loss cannot leave it empty; False for a file drawn
    again from the faces anyway (the report, a montage page), which saves a disk flush.
    """
    atomic_write_with(path, lambda file: file.write(data), durable)


def atomic_write_chunks(path: Path, chunks: Iterable[bytes]) -> None:
    """atomic_write_bytes for content that arrives in pieces (a download). When taking the next
    piece raises, nothing is written: the temporary file is removed and the error goes on, so
    an iterator that checks what it handed out can still refuse the whole file at its end."""
    def write_chunks(file: IO[bytes]) -> None:
        for chunk in chunks:
            file.write(chunk)

    atomic_write_with(path, write_chunks)


def atomic_write_with(path: Path, write: Callable[[IO[bytes]], object],
                      durable: bool = True) -> None:
    """atomic_write_bytes for content that ``write`` puts into an open file (a large archive:
    never held whole in memory). When ``write`` raises, nothing is written."""
    fd, temp_name = tempfile.mkstemp(dir=path.parent, prefix=TEMP_PREFIX, suffix=TEMP_SUFFIX)
    try:
        if hasattr(os, "fchmod"):  # mkstemp's 0600 would hide the result from other users
            os.fchmod(fd, _new_file_mode(path))
        with os.fdopen(fd, "wb") as temp_file:
            write(temp_file)
            temp_file.flush()
            if durable:
                os.fsync(temp_file.fileno())
        os.replace(temp_name, path)
    except BaseException:
        Path(temp_name).unlink(missing_ok=True)
        raise


def _new_file_mode(path: Path) -> int:
    """The mode the file has now, else what the umask gives a new file (as open() would)."""
    try:
        if not path.is_symlink():
            return path.stat().st_mode & 0o7777
    except OSError:
        pass
    umask = os.umask(0o022)  # reading the umask means setting it: put it straight back
    os.umask(umask)
    return 0o666 & ~umask


def remove_temp_files(folder: Path) -> int:
    """Delete the temporary files a killed run left in ``folder``; return how many."""
    removed = 0
    for path in folder.iterdir():
        if TEMP_NAME.fullmatch(path.name) and not path.is_symlink() and path.is_file():
            path.unlink(missing_ok=True)
            removed += 1
    return removed


def sync_folder(folder: Path) -> None:
    """Make renames and new files in ``folder`` durable (power loss, not only a kill)."""
    try:
        fd = os.open(folder, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    except OSError:
        return  # not every platform can open a folder; the files themselves were synced
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def check_folder(folder: Path) -> None:
    """Refuse a symbolic link or a file where a folder of ours goes (never write through one)."""
    if folder.is_symlink() or (folder.exists() and not folder.is_dir()):
        raise NotADirectoryError(errno.ENOTDIR, "a file or a symbolic link is in the way",
                                 str(folder))


def own_folder(folder: Path) -> None:
    """Create ``folder`` if missing, after check_folder."""
    check_folder(folder)
    folder.mkdir(exist_ok=True)


def move_without_replacing(source: Path, target: Path) -> bool:
    """Rename ``source`` to ``target`` unless something already lies at ``target``."""
    if target.exists() or target.is_symlink():
        return False
    os.rename(source, target)
    return True


def lock_exclusively(path: Path) -> IO[bytes] | None:
    """Hold an exclusive lock on ``path`` (created if missing) until the returned file closes.

    None when another process holds it. The kernel drops the lock when the process dies,
    however it dies, so a killed run never leaves a stale lock.
    """
    file = open(path, "ab")
    if fcntl is None:
        return file  # no advisory locks on this platform: run unlocked
    try:
        fcntl.flock(file.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        file.close()
        return None
    except OSError:
        return file  # the filesystem has no locks (some network shares): run unlocked
    return file
