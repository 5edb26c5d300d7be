"""The encodings file: face file name -> encoding, in an .npz read with allow_pickle=False, so
loading one can never run code. The original tool's pickled ``face_encodings`` is still read,
through an unpickler that admits nothing but a dict of names to numpy float arrays."""
from __future__ import annotations

import logging
import pickle
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from facesort.records.face import ENCODING_SIZE, LEGACY_ENCODER
from facesort.storage.files import atomic_write_with

log = logging.getLogger(__name__)


def valid_encoding(value: object) -> bool:
    """A finite 128-number vector."""
    return (isinstance(value, np.ndarray) and value.shape == (ENCODING_SIZE,)
            and np.issubdtype(value.dtype, np.floating) and bool(np.isfinite(value).all()))


@dataclass(frozen=True)
class StoredEncodings:
    """What an encodings file holds: face file name -> encoding, the encoder that made them,
    and the generation it belongs to (facesort.result.encodings_file; "" in older files)."""

    encodings: dict[str, np.ndarray]
    encoder: str
    generation: str = ""


def save_encodings(path: Path, encodings: dict[str, np.ndarray], encoder: str,
                   generation: str = "") -> None:
    """Store face file name -> encoding as two plain arrays in one .npz, with the name of the
    encoder that made them (encodings of two encoders are not comparable) and ``generation``.
    Written straight into the file: 100,000 faces' encodings are 100 MB, not to be copied
    twice in memory."""
    names = sorted(encodings)
    matrix = np.zeros((len(names), ENCODING_SIZE))
    for row, name in enumerate(names):
        matrix[row] = encodings[name]
    atomic_write_with(path, lambda file: np.savez(
        file, names=np.array(names, dtype=str), encodings=matrix, encoder=np.array(encoder),
        generation=np.array(generation)))


def load_encodings(path: Path) -> tuple[dict[str, np.ndarray], str]:
    """Read an .npz written by save_encodings: the encodings and their encoder's name (files
    written before encoders were named hold dlib's). A damaged file gives {} and a warning."""
    stored = read_encodings(path)
    return stored.encodings, stored.encoder


def read_encodings(path: Path) -> StoredEncodings:
    """load_encodings, with the file's generation."""
    try:
        with np.load(path, allow_pickle=False) as archive:
            names, matrix = archive["names"], archive["encodings"]
            encoder = str(archive["encoder"]) if "encoder" in archive.files else LEGACY_ENCODER
            generation = str(archive["generation"]) if "generation" in archive.files else ""
            if names.ndim != 1 or matrix.shape != (len(names), ENCODING_SIZE):
                raise ValueError(f"wrong shapes {names.shape} and {matrix.shape}")
            loaded = {str(n): matrix[i].astype(np.float64) for i, n in enumerate(names)}
    except Exception as error:  # any damage: the images are still there to re-encode
        log.warning("ignoring %s: %s", path, error)
        return StoredEncodings({}, LEGACY_ENCODER)
    good = {name: e for name, e in loaded.items() if valid_encoding(e)}
    if len(good) < len(loaded):
        log.warning("%s: ignoring %d encodings that are not 128 finite numbers",
                    path, len(loaded) - len(good))
    return StoredEncodings(good, encoder, generation)


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
