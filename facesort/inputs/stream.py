"""The command line's INPUTs as one stream of frames: video files, photos, folders of photos
and webcams, read one after another, each frame tagged with the source it came from.

Everything named on the command line is checked before the run starts (a missing file, a file
that is no video, a folder without photos stop it at once). A photo inside a folder that turns
out to be damaged is skipped with a warning and counted in ``Inputs.unreadable``.
"""
from __future__ import annotations

import hashlib
import logging
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterator

import cv2
import numpy as np

from facesort import storage
from facesort.inputs.video import (
    SourceError,
    camera_index,
    live_frames,
    open_source,
    sampled_frames,
)
from facesort.records.source import (
    CAMERA,
    IMAGE_SUFFIXES,
    PHOTO,
    VIDEO,
    Sampling,
    SourceInfo,
    SourceKind,
)

log = logging.getLogger(__name__)

PHOTO_HASH_LENGTH = 8  # hex digits of the photo's SHA-1 in its face names
# A photo is decoded whole and searched at full resolution: a run's peak memory grows with its
# pixels (about 33 bytes a pixel with the default --small-faces: 1.5 GB for 8000x6000), so a
# bigger photo is skipped with a warning. 50 MP lets through what cameras and phones take
# (8000x6000 is 48 MP); a PNG of 1 MB can hold 20000x20000 pixels, 12 GB and 3 minutes.
MAX_PHOTO_PIXELS = 50_000_000

Frame = tuple[SourceInfo, int, float, np.ndarray]  # source, frame index, time_s, BGR image


class InputConflict(SourceError):
    """Two inputs would give their faces the same file names: a usage error."""


@dataclass(frozen=True)
class InputItem:
    """One thing to read, planned before the run: a video file, a webcam, or a photo."""

    text: str                        # as given, or "<folder>/<photo>" for a folder's photo
    kind: SourceKind
    info: SourceInfo | None = None   # known up front for videos and webcams
    folder: str | None = None        # the folder it was found in, for photos of a folder


def is_photo(path: Path) -> bool:
    return path.suffix.lower() in IMAGE_SUFFIXES


def photos_in(folder: Path) -> list[Path]:
    """The photos directly inside a folder, sorted by name (hidden files left out)."""
    return sorted(p for p in folder.iterdir()
                  if not p.name.startswith(".") and p.is_file() and is_photo(p))


def read_photo(path: Path, text: str,
               max_pixels: int = MAX_PHOTO_PIXELS) -> tuple[SourceInfo, np.ndarray] | None:
    """A photo as a one-frame source, or None when it is not a readable image or has more
    than ``max_pixels`` pixels (known from its header, before decoding it).

    Its faces are named ``<stem>-<hash>_f000000_<i>.png``: the hash of the photo's bytes keeps
    IMG_0001.jpg of one folder apart from IMG_0001.jpg of another, and gives the same picture
    the same names wherever it lies, so a rerun does not add it twice.
    """
    try:
        data = path.read_bytes()
    except OSError as error:
        log.warning("skipping %s: %s", text, error.strerror or error)
        return None
    size = storage.image_size(data)
    if size is not None and size[0] * size[1] > max_pixels:
        log.warning("skipping %s: %dx%d pixels, more than the %s a photo may have; shrink it "
                    "to read it", text, size[0], size[1], megapixels(max_pixels))
        return None
    image = storage.decode_image(data)
    if image is None:
        log.warning("skipping %s: not a readable image", text)
        return None
    digest = hashlib.sha1(data).hexdigest()[:PHOTO_HASH_LENGTH]
    height, width = image.shape[:2]
    info = SourceInfo(name=text, kind=PHOTO, fps=0.0, frame_count=1, width=width,
                      height=height, stem=f"{path.stem}-{digest}")
    return info, image


def megapixels(pixels: int) -> str:
    return f"{pixels / 1e6:g} megapixels"


def plan_inputs(texts: list[str]) -> list[InputItem]:
    """Check every INPUT and list what to read, in order; raise SourceError when one cannot work.

    Videos and webcams are opened once here to learn their size and frame rate. Photos are only
    checked to be images (by their first bytes); they are decoded when reached.
    """
    items: list[InputItem] = []
    seen: set[str] = set()
    for text in texts:
        index = camera_index(text)
        path = Path(text)
        if index is None and path.is_dir():
            photos = photos_in(path)
            if not photos:
                raise SourceError(f"no photos in the folder '{text}' (looked for "
                                  f"{', '.join(sorted(IMAGE_SUFFIXES))})")
            found = [InputItem(os.path.join(text, p.name), PHOTO, folder=text) for p in photos]
        elif index is None and is_photo(path) and path.is_file():
            if not cv2.haveImageReader(str(path)):
                raise SourceError(f"cannot read '{text}' as an image (not an image, or damaged)")
            found = [InputItem(text, PHOTO)]
        else:
            # raises SourceError for a missing file, a non-video, a camera that is not there;
            # closed again until reached, so a webcam's session starts when it is read
            capture, info = open_source(text)
            capture.release()
            found = [InputItem(text, info.kind, info=info)]
        for item in found:
            key = item.text if item.kind == CAMERA else os.path.realpath(item.text)
            if key in seen:
                log.warning("%s is given twice: reading it once", item.text)
                continue
            seen.add(key)
            items.append(item)
    check_video_stems(items)
    return items


def check_video_stems(items: list[InputItem]) -> None:
    """Refuse two different videos with one file stem: their faces would share names."""
    by_stem: dict[str, str] = {}
    for item in items:
        if item.kind != VIDEO or item.info is None:
            continue
        other = by_stem.setdefault(item.info.stem, item.text)
        if other != item.text:
            raise InputConflict(f"'{other}' and '{item.text}' have the same file name, and face "
                                f"images are named after it: rename one of them")


class Inputs:
    """The planned INPUTs, read in order as one stream of frames."""

    def __init__(self, items: list[InputItem], sampling: Sampling,
                 max_photo_pixels: int = MAX_PHOTO_PIXELS) -> None:
        self.items = items
        self.sampling = sampling
        self.max_photo_pixels = max_photo_pixels
        self.unreadable: list[str] = []  # inputs skipped during the run, with a warning

    @classmethod
    def open(cls, texts: list[str], sampling: Sampling,
             max_photo_pixels: int = MAX_PHOTO_PIXELS) -> Inputs:
        return cls(plan_inputs(texts), sampling, max_photo_pixels)

    @property
    def total_frames(self) -> int | None:
        """Frames the run will look at, for an ETA; None when a webcam makes it open-ended."""
        total = 0
        for item in self.items:
            count = 1 if item.kind == PHOTO else self.sampling.frames_to_look_at(item.info)
            if count is None:
                return None
            total += count
        return total

    def sources(self, live: Callable[[SourceInfo], bool] = lambda info: False,
                ) -> Iterator[tuple[SourceInfo, Iterator[tuple[int, float, np.ndarray]]]]:
        """Each readable input in turn: its SourceInfo and its (frame index, time_s, image)s.

        An input for which ``live`` says so is read as a webcam is shown: every frame as it
        comes, the newest first (video.live_frames); a video file so is played at its
        own frame rate.
        """
        photo_stems: set[str] = set()
        for item in self.items:
            if item.kind == PHOTO:
                log.info("reading %s", item.text)
                photo = read_photo(Path(item.text), item.text, self.max_photo_pixels)
                if photo is None:
                    self.unreadable.append(item.text)
                    continue
                info, image = photo
                if info.stem in photo_stems:  # the same picture twice: its faces once
                    log.info("skipping %s: the same picture was read before", item.text)
                    continue
                photo_stems.add(info.stem)
                yield info, iter([(0, 0.0, image)])
                continue
            try:
                capture, info = open_source(item.text)
            except SourceError as error:  # it opened while planning: gone or damaged since
                log.warning("skipping %s: %s", item.text, error)
                self.unreadable.append(item.text)
                continue
            log.info("reading %s: %dx%d, %.2f frame/s, %d frames", info.name, info.width,
                     info.height, info.fps, info.frame_count)
            try:
                if live(info):
                    yield info, live_frames(capture, info, self.sampling,
                                            paced=not info.is_camera)
                else:
                    yield info, sampled_frames(capture, info, self.sampling)
            finally:
                capture.release()

    def frames(self) -> Iterator[Frame]:
        """Every frame to look at, of every input, tagged with its source."""
        for info, frames in self.sources():
            for index, seconds, image in frames:
                yield info, index, seconds, image
