"""File formats of the result directory: atomic writes, images, and stored encodings.

Encodings are kept in an .npz read with allow_pickle=False, so loading one can never run
code. The original tool's pickled ``face_encodings`` is still read, through an unpickler
that admits nothing but a dict of names to numpy float arrays.
"""
from __future__ import annotations

import errno
import logging
import os
import pickle
import re
import struct
import tempfile
from pathlib import Path
from typing import IO, Callable, Iterable

try:
    import fcntl
except ImportError:  # Windows
    fcntl = None  # type: ignore[assignment]

import cv2
import numpy as np

from facesort.records.face import ENCODING_SIZE, LEGACY_ENCODER

log = logging.getLogger(__name__)


# Temporary files are named so that they can be told apart from the user's files: a kill
# can leave one behind, and only files of exactly this shape are ever cleaned up.
TEMP_PREFIX, TEMP_SUFFIX = ".face-classifier-", ".tmp"
TEMP_NAME = re.compile(re.escape(TEMP_PREFIX) + r"[a-z0-9_]{8}" + re.escape(TEMP_SUFFIX))


def atomic_write_bytes(path: Path, data: bytes) -> None:
    """Write a file so that readers see the old content or the new, never a part of it.

    A symbolic link at ``path`` is replaced, not followed.
    """
    atomic_write_chunks(path, [data])


def atomic_write_chunks(path: Path, chunks: Iterable[bytes]) -> None:
    """atomic_write_bytes for content that arrives in pieces (a download). When taking the next
    piece raises, nothing is written: the temporary file is removed and the error goes on, so
    an iterator that checks what it handed out can still refuse the whole file at its end."""
    def write_chunks(file: IO[bytes]) -> None:
        for chunk in chunks:
            file.write(chunk)

    atomic_write_with(path, write_chunks)


def atomic_write_with(path: Path, write: Callable[[IO[bytes]], None]) -> None:
    """atomic_write_bytes for content that ``write`` puts into an open file (a large archive:
    never held whole in memory). When ``write`` raises, nothing is written."""
    fd, temp_name = tempfile.mkstemp(dir=path.parent, prefix=TEMP_PREFIX, suffix=TEMP_SUFFIX)
    try:
        if hasattr(os, "fchmod"):  # mkstemp's 0600 would hide the result from other users
            os.fchmod(fd, _new_file_mode(path))
        with os.fdopen(fd, "wb") as temp_file:
            write(temp_file)
            temp_file.flush()
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


# zlib's fastest level with the "up" filter: on 120 face crops of a dev video (504x504 px),
# files 29% smaller than OpenCV's default and decoded 30% faster (1.8 ms against 2.5 ms a
# crop: montage pages read every face), as fast to write (3.5 ms)
PNG_PARAMS = [cv2.IMWRITE_PNG_COMPRESSION, 1,
              *((cv2.IMWRITE_PNG_FILTER, cv2.IMWRITE_PNG_FILTER_UP)
                if hasattr(cv2, "IMWRITE_PNG_FILTER") else ())]


def encode_png(image: np.ndarray) -> bytes:
    ok, buffer = cv2.imencode(".png", image, PNG_PARAMS)
    if not ok:
        raise ValueError("could not encode the image as PNG")
    return buffer.tobytes()


def write_image(path: Path, image: np.ndarray) -> None:
    atomic_write_bytes(path, encode_png(image))


def read_image(path: Path) -> np.ndarray | None:
    """A BGR image, or None when the file is not a readable image."""
    try:
        data = np.fromfile(path, dtype=np.uint8)
    except OSError:
        return None
    return decode_image(data)


def decode_image(data: bytes | np.ndarray) -> np.ndarray | None:
    """The BGR image in a file's bytes (EXIF rotation applied), or None when it is not one."""
    buffer = np.frombuffer(data, np.uint8) if isinstance(data, bytes) else data
    if buffer.size == 0:
        return None
    image = cv2.imdecode(buffer, cv2.IMREAD_COLOR)
    if image is None or image.size == 0:
        return None
    return image


# JPEG's start-of-frame markers, which carry the size: every SOFn but DHT (C4), JPG (C8), DAC (CC)
JPEG_FRAME_MARKERS = set(range(0xC0, 0xD0)) - {0xC4, 0xC8, 0xCC}


def image_size(data: bytes) -> tuple[int, int] | None:
    """(width, height) from the header of a PNG, JPEG, BMP, WebP or TIFF file, without
    decoding its pixels; None for another format or a header cut short.

    A file of 1 MB can hold 20000x20000 pixels, which OpenCV would decode whole (1.2 GB and
    more): the size must be known before the decoding is.
    """
    try:
        if data.startswith(b"\x89PNG\r\n\x1a\n") and data[12:16] == b"IHDR":
            return struct.unpack(">II", data[16:24])
        if data.startswith(b"\xff\xd8"):
            return _jpeg_size(data)
        if data.startswith(b"BM"):
            if struct.unpack("<I", data[14:18])[0] == 12:  # the old OS/2 header: 16-bit sizes
                return struct.unpack("<HH", data[18:22])
            width, height = struct.unpack("<ii", data[18:26])
            return abs(width), abs(height)  # a negative height: rows stored top-down
        if data.startswith(b"RIFF") and data[8:12] == b"WEBP":
            return _webp_size(data)
        if data[:4] in (b"II*\x00", b"MM\x00*"):
            return _tiff_size(data)
    except struct.error:  # cut short
        return None
    return None


def _jpeg_size(data: bytes) -> tuple[int, int] | None:
    position = 2
    while position + 4 <= len(data):
        if data[position] != 0xFF:
            return None
        marker = data[position + 1]
        if marker == 0xFF:  # fill byte
            position += 1
            continue
        if marker == 0x01 or 0xD0 <= marker <= 0xD9:  # markers without a length
            position += 2
            continue
        if marker in JPEG_FRAME_MARKERS:
            height, width = struct.unpack(">HH", data[position + 5:position + 9])
            return width, height
        position += 2 + struct.unpack(">H", data[position + 2:position + 4])[0]
    return None


def _webp_size(data: bytes) -> tuple[int, int] | None:
    kind = data[12:16]
    if kind == b"VP8 ":  # lossy: a key frame's 14-bit sizes after its start code
        width, height = struct.unpack("<HH", data[26:30])
        return width & 0x3FFF, height & 0x3FFF
    if kind == b"VP8L":  # lossless: 14 bits each, minus one, after a signature byte
        bits = struct.unpack("<I", data[21:25])[0]
        return (bits & 0x3FFF) + 1, ((bits >> 14) & 0x3FFF) + 1
    if kind == b"VP8X":  # extended: the canvas, 24 bits each, minus one
        return (int.from_bytes(data[24:27], "little") + 1,
                int.from_bytes(data[27:30], "little") + 1)
    return None


def _tiff_size(data: bytes) -> tuple[int, int] | None:
    """ImageWidth (256) and ImageLength (257) of the first image's directory."""
    order = "<" if data[:2] == b"II" else ">"
    directory = struct.unpack(order + "I", data[4:8])[0]
    count = struct.unpack(order + "H", data[directory:directory + 2])[0]
    found = {}
    for number in range(count):
        entry = directory + 2 + 12 * number
        tag, kind = struct.unpack(order + "HH", data[entry:entry + 4])
        if tag in (256, 257):
            value = data[entry + 8:entry + 12]
            found[tag] = struct.unpack(order + ("H" if kind == 3 else "I"),
                                       value[:2] if kind == 3 else value)[0]
    return (found[256], found[257]) if len(found) == 2 else None


def valid_encoding(value: object) -> bool:
    """A finite 128-number vector."""
    return (isinstance(value, np.ndarray) and value.shape == (ENCODING_SIZE,)
            and np.issubdtype(value.dtype, np.floating) and bool(np.isfinite(value).all()))


def save_encodings(path: Path, encodings: dict[str, np.ndarray], encoder: str) -> None:
    """Store face file name -> encoding as two plain arrays in one .npz, with the name of the
    encoder that made them (encodings of two encoders are not comparable). Written straight
    into the file: 100,000 faces' encodings are 100 MB, not to be copied twice in memory."""
    names = sorted(encodings)
    matrix = np.zeros((len(names), ENCODING_SIZE))
    for row, name in enumerate(names):
        matrix[row] = encodings[name]
    atomic_write_with(path, lambda file: np.savez(
        file, names=np.array(names, dtype=str), encodings=matrix, encoder=np.array(encoder)))


def load_encodings(path: Path) -> tuple[dict[str, np.ndarray], str]:
    """Read an .npz written by save_encodings: the encodings and their encoder's name (files
    written before encoders were named hold dlib's). A damaged file gives {} and a warning."""
    try:
        with np.load(path, allow_pickle=False) as archive:
            names, matrix = archive["names"], archive["encodings"]
            encoder = str(archive["encoder"]) if "encoder" in archive.files else LEGACY_ENCODER
            if names.ndim != 1 or matrix.shape != (len(names), ENCODING_SIZE):
                raise ValueError(f"wrong shapes {names.shape} and {matrix.shape}")
            loaded = {str(n): matrix[i].astype(np.float64) for i, n in enumerate(names)}
    except Exception as error:  # any damage: the images are still there to re-encode
        log.warning("ignoring %s: %s", path, error)
        return {}, LEGACY_ENCODER
    good = {name: e for name, e in loaded.items() if valid_encoding(e)}
    if len(good) < len(loaded):
        log.warning("%s: ignoring %d encodings that are not 128 finite numbers",
                    path, len(loaded) - len(good))
    return good, encoder


class _EncodingsUnpickler(pickle.Unpickler):
    """Admits only what numpy needs to rebuild float arrays; anything else is refused."""

    ALLOWED = {
        ("numpy._core.multiarray", "_reconstruct"), ("numpy.core.multiarray", "_reconstruct"),
        ("numpy", "ndarray"), ("numpy", "dtype"),
    }

    def find_class(self, module: str, name: str):
        if (module, name) not in self.ALLOWED:
            raise pickle.UnpicklingError(f"refusing to load {module}.{name}")
        return super().find_class(module, name)


def load_legacy_encodings(path: Path) -> dict[str, np.ndarray]:
    """Read the original tool's pickled dict of face file name -> encoding, safely."""
    try:
        with path.open("rb") as file:
            data = _EncodingsUnpickler(file).load()
    except Exception as error:
        log.warning("ignoring %s: not a plain pickle of encodings (%s)", path, error)
        return {}
    if not isinstance(data, dict):
        log.warning("ignoring %s: holds a %s, not a dict of encodings", path, type(data).__name__)
        return {}
    good = {name: np.asarray(e, dtype=np.float64) for name, e in data.items()
            if isinstance(name, str) and valid_encoding(e)}
    if len(good) < len(data):
        log.warning("%s: ignoring %d entries that are not 128 finite numbers",
                    path, len(data) - len(good))
    return good

