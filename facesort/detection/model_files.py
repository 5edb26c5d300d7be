"""The model files the project knows, where an installed one is found, and installing one.

One table (MODELS) holds each file's pinned URL, size, sha256 and licence: the only place these
are written. The files themselves are never part of the project: ``face-classifier models
install`` downloads them (or copies them ``--from`` a folder) into the user's cache, checked
before they land. Nothing is downloaded at run time.
"""
from __future__ import annotations

import hashlib
import http.client
import os
import sys
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Iterator

from tqdm import tqdm

from facesort.storage import atomic_write_bytes, atomic_write_chunks

PACKAGE_DIR = Path(__file__).with_name("models")   # where a packager may put the files
INSTALL_COMMAND = "face-classifier models install"
CHUNK_BYTES = 64 * 1024
# a connection that says nothing for this long is given up (no network: DNS fails at once)
DOWNLOAD_TIMEOUT_S = 30.0


@dataclass(frozen=True)
class ModelFile:
    """One model file: its short ``name`` (the command line's), its ``file_name``, the pinned
    ``url`` it is downloaded from (a commit, never a branch: the bytes cannot change), its
    ``size`` in bytes and ``sha256`` (any other file is refused), its ``licence``, what it is
    ``used_for``, and ``env_var``: a file path that, when set, is the only place looked at."""

    name: str
    file_name: str
    url: str
    size: int
    sha256: str
    licence: str
    used_for: str
    env_var: str

    @property
    def licence_file(self) -> str:
        """The licence's file name beside the model (as in ../shared/models)."""
        return f"LICENSE-{self.name}"


MODELS: dict[str, ModelFile] = {model.name: model for model in [
    ModelFile(
        name="yunet", file_name="yunet_s_640_640.onnx",
        url="https://github.com/ShiqiYu/libfacedetection.train/raw/"
            "0047ac24afb1a50a0c6105001c89d1b5b805dbf1/onnx/yunet_s_640_640.onnx",
        size=232_589,
        sha256="8f2383e4dd3cfbb4553ea8718107fc0423210dc964f9f4280604804ed2552fa4",
        licence="Apache-2.0", used_for="face detector (YuNet)", env_var="FACE_CLASSIFIER_YUNET"),
    ModelFile(
        name="mobilefacenet", file_name="MobileFaceNet.onnx",
        # self-contained: the repository's MobileFaceNet.onnx.data is not needed
        url="https://github.com/foamliu/MobileFaceNet/raw/"
            "a6cc9032a659b615f477833e1a70b5e7931bcccc/weights/MobileFaceNet.onnx",
        size=3_998_070,
        sha256="b7120c095d60094f28a4a54ba6a8bf51b297a6273fb40ef6350dfec1f63d9507",
        licence="Apache-2.0", used_for="face encoder (MobileFaceNet)",
        env_var="FACE_CLASSIFIER_MOBILEFACENET"),
]}


class ModelError(Exception):
    """A model file cannot be used or installed; the message is one line saying what to do."""


class ModelMissingError(ModelError):
    """The model file is not where it was looked for."""


class ModelDamagedError(ModelError):
    """A file is there but is not the published model (its size or sha256 differ)."""


class ModelDownloadError(ModelError):
    """The download failed: no network, an HTTP error, or a connection cut short."""


def cache_dir() -> Path:
    """The user's cache folder: $XDG_CACHE_HOME/face-classifier, else ~/.cache/face-classifier.
    Models are installed here, and derived files that are safe to lose are kept here."""
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "face-classifier"


def places(model: ModelFile) -> list[Path]:
    """Where a model is looked for, in this order: the file its env var names (when set, the
    only place: the user chose it), the package's detection/models/ folder, the user's cache."""
    chosen = os.environ.get(model.env_var)
    if chosen:
        return [Path(chosen).expanduser()]
    return [PACKAGE_DIR / model.file_name, cache_dir() / model.file_name]


def install_target(model: ModelFile) -> Path:
    """Where install puts a model: the file its env var names when set (a run looks nowhere
    else then), else the user's cache."""
    return places(model)[0] if os.environ.get(model.env_var) else cache_dir() / model.file_name


def install_hint(model: ModelFile, again: str = "") -> str:
    """The commands that install a model, for the end of an error message."""
    return (f"to install it{again}: {INSTALL_COMMAND} {model.name} "
            f"(offline: {INSTALL_COMMAND} {model.name} --from FOLDER)")


def find_model(name: str) -> Path:
    """The installed file of model ``name``: the first of places() that exists, once its size
    and sha256 are checked (~10 ms for 4 MB). Raises ModelMissingError or ModelDamagedError."""
    model = MODELS[name]
    looked = places(model)
    found = next((place for place in looked if place.exists()), None)
    if found is None:
        where = (f"${model.env_var} names {looked[0]}, which does not exist"
                 if os.environ.get(model.env_var) else
                 f"no {model.file_name} in {' nor '.join(str(place.parent) for place in looked)}")
        raise ModelMissingError(f"the {model.name} model is not installed: {where}; "
                                f"{install_hint(model)}")
    read_checked(model, found)
    return found


def read_checked(model: ModelFile, path: Path) -> bytes:
    """A model file's bytes once checked against the table. Raises ModelMissingError,
    ModelDamagedError or ModelError (unreadable), each one line."""
    return b"".join(checked(model, file_chunks(model, path),
                            f"the {model.name} model is damaged: {path}",
                            then=install_hint(model, again=" again")))


def file_chunks(model: ModelFile, path: Path) -> Iterator[bytes]:
    """A file's bytes in pieces; a missing or unreadable file is a one-line ModelError."""
    try:
        with path.open("rb") as file:
            while chunk := file.read(CHUNK_BYTES):
                yield chunk
    except FileNotFoundError:
        raise ModelMissingError(f"the {model.name} model is missing: {path}; "
                                f"{install_hint(model)}") from None
    except OSError as error:
        raise ModelError(f"the {model.name} model cannot be read: {path}: "
                         f"{error.strerror or error}") from None


def checked(model: ModelFile, chunks: Iterable[bytes], origin: str, then: str) -> Iterator[bytes]:
    """``chunks`` handed on while counting and hashing them; after the last one (or as soon as
    there are too many bytes) a file that is not the published one raises ModelDamagedError:
    ``origin`` says where the bytes came from, ``then`` what to do."""
    digest, size = hashlib.sha256(), 0
    for chunk in chunks:
        size += len(chunk)
        if size > model.size:   # stop reading: a wrong file may be endless
            break
        digest.update(chunk)
        yield chunk
    if size != model.size or digest.hexdigest() != model.sha256:
        got = (f"more than {model.size:,} bytes" if size > model.size else
               f"{size:,} bytes" if size != model.size else f"sha256 {digest.hexdigest()}")
        raise ModelDamagedError(
            f"{origin} is not the published {model.file_name}: it has {got}, expected "
            f"{model.size:,} bytes of sha256 {model.sha256}; {then}")


def downloaded(model: ModelFile, timeout: float = DOWNLOAD_TIMEOUT_S) -> Iterator[bytes]:
    """The pinned file's bytes as they arrive, with a progress bar on stderr when it is a
    terminal (as pip shows one). No network, an HTTP error or a connection closed early are a
    one-line ModelDownloadError naming --from."""
    offline = f"without network: {INSTALL_COMMAND} {model.name} --from FOLDER_OR_FILE"
    try:
        with urllib.request.urlopen(model.url, timeout=timeout) as response:
            expected = int(response.headers.get("Content-Length") or model.size)
            received = 0
            with tqdm(total=expected, desc=model.file_name, unit="B", unit_scale=True,
                      unit_divisor=1024, file=sys.stderr, disable=None, leave=False) as bar:
                while chunk := response.read(CHUNK_BYTES):
                    received += len(chunk)
                    bar.update(len(chunk))
                    yield chunk
            if received < expected:   # http.client returns b"" when the server hangs up
                raise ModelDownloadError(
                    f"the download of {model.file_name} from {model.url} was cut short after "
                    f"{received:,} of {expected:,} bytes: nothing installed; try again, or "
                    f"{offline}")
    except urllib.error.HTTPError as error:
        raise ModelDownloadError(f"cannot download {model.file_name} from {model.url}: HTTP "
                                 f"{error.code} {error.reason}; {offline}") from None
    except (urllib.error.URLError, http.client.HTTPException, OSError) as error:
        reason = getattr(error, "reason", None) or error.__class__.__name__
        raise ModelDownloadError(f"cannot download {model.file_name} from {model.url} "
                                 f"({reason}); {offline}") from None


def source_file(model: ModelFile, source: Path) -> Path:
    """The file to copy for --from: the model's file in a folder, or the file given."""
    return source / model.file_name if source.is_dir() else source


def install(model: ModelFile, source: Path | None = None) -> Path:
    """Install one model into install_target(): downloaded from its pinned URL, or copied from
    ``source`` (a folder holding its file_name, or the file itself). The bytes go to a
    temporary file beside the target, renamed over it only once size and sha256 are right:
    a wrong file or a cut download leaves nothing a run would load. A licence file in the
    ``source`` folder (LICENSE-NAME) is copied beside it. Returns where it went."""
    target = install_target(model)
    if source is None:
        chunks, origin = downloaded(model), f"the download from {model.url}"
    else:
        copied = source_file(model, source)
        if not copied.is_file():
            raise ModelMissingError(f"--from {source}: no {model.file_name} there" if
                                    source.is_dir() else f"--from {source}: no such file")
        chunks, origin = file_chunks(model, copied), str(copied)
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        atomic_write_chunks(target, checked(model, chunks, origin,
                                            then="refused: nothing installed"))
        licence = None if source is None else source / model.licence_file
        if licence is not None and licence.is_file():
            atomic_write_bytes(target.with_name(model.licence_file), licence.read_bytes())
    except OSError as error:
        raise ModelError(f"cannot install {model.file_name} into {target.parent}: "
                         f"{error.strerror or error}") from None
    return target
