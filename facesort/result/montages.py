"""The montage pages: a person's faces as 128x128 tiles, 6x2 per page (fewer faces, a smaller page),
redrawn as they change."""
from __future__ import annotations

import logging
import os
import re
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Callable, Iterable

from facesort import storage
from facesort.records.face import Person

log = logging.getLogger(__name__)

MONTAGE_TILE = (128, 128)
MONTAGE_GRID = (6, 2)
MONTAGE_PAGE = re.compile(r"montage\.(.+)-(\d\d+)\.png")  # person name, page number


class Montages:
    """Writes the montage pages of a result, remembering what each page it wrote shows."""

    def __init__(self) -> None:
        self._pages: dict[str, tuple[str, ...]] = {}  # page written -> its faces
        self.former_names: set[str] = set()  # persons of earlier saves: their montages are ours

    def save(self, result_dir: Path, persons: Iterable[Person], locations: dict[str, str],
             say: Callable[[str], None] = print) -> None:
        """Montage pages for every person given (``locations``: where each face lies).

        Only pages whose faces changed since this run last wrote them are drawn again, so a
        save costs little however many faces there are. Stale pages are
        removed, but only those of persons this tool knows (a user's montage.trip-2019.png stays).
        """
        per_page = MONTAGE_GRID[0] * MONTAGE_GRID[1]
        wanted = set()
        changed: list[tuple[Path, tuple[str, ...]]] = []
        for person in persons:
            self.former_names.add(person.name)
            files = [f.file_name for f in person.faces if f.file_name in locations]
            for number, start in enumerate(range(0, len(files), per_page)):
                page_files = tuple(files[start:start + per_page])
                path = result_dir / page_name(person.name, number)
                wanted.add(path.name)
                if not (self._pages.get(path.name) == page_files and path.is_file()
                        and not path.is_symlink()):
                    changed.append((path, page_files))

        def draw(page: tuple[Path, tuple[str, ...]]) -> bool:
            path, page_files = page
            try:
                write_montage_page(path, [result_dir / locations[name] for name in page_files])
            except (OSError, ValueError) as error:  # montages can be redrawn; faces cannot
                log.warning("could not write %s: %s", path, error)
                return False
            return True

        # a page is mostly decoding, resizing and encoding PNG files, which OpenCV does
        # without the GIL: one thread per core
        with ThreadPoolExecutor(max_workers=os.cpu_count() or 1) as threads:
            for (path, page_files), drawn in zip(changed, threads.map(draw, changed)):
                if drawn:
                    self._pages[path.name] = page_files
        for path in result_dir.glob("montage.*.png"):
            match = MONTAGE_PAGE.fullmatch(path.name)
            if match and match.group(1) in self.former_names and path.name not in wanted:
                path.unlink(missing_ok=True)
                self._pages.pop(path.name, None)
        say("montages saved")


def write_montage_page(path: Path, face_images: list[Path]) -> None:
    import imutils  # only needed here

    images = [storage.read_image(image) for image in face_images]
    images = [image for image in images if image is not None]
    if images:  # a page of fewer faces is only as large as they need, not a black block
        columns = min(MONTAGE_GRID[0], len(images))
        grid = (columns, -(-len(images) // columns))
        page, = imutils.build_montages(images, MONTAGE_TILE, grid)
        storage.write_image(path, page, durable=False)  # a run draws every page again


def montage_pages(result_dir: Path) -> dict[str, list[str]]:
    """Each person's montage page file names in ``result_dir``, in page order: one listing of
    the folder for all of them (a library's result has thousands of files)."""
    pages: dict[str, list[str]] = {}
    for path in result_dir.glob("montage.*.png"):
        match = MONTAGE_PAGE.fullmatch(path.name)
        if match:
            pages.setdefault(match.group(1), []).append(path.name)
    return {name: sorted(files) for name, files in pages.items()}


def page_name(name: str, number: int) -> str:
    """The file name of a person's montage page ``number`` (from 0)."""
    return f"montage.{name}-{number:02d}.png"
