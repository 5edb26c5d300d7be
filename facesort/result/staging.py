"""Faces found but not saved yet wait in a hidden staging folder; what a killed run left there
is tidied at the next load."""
from __future__ import annotations

import logging
from pathlib import Path

from facesort import storage
from facesort.result import journal
from facesort.result.layout import JOURNAL_FILE, STAGING

log = logging.getLogger(__name__)


def finish_interrupted_save(result_dir: Path) -> None:
    """Finish what a killed run left behind: its journal of moves, then its temporary files.

    Face images a run wrote but never saved (still in the staging folder, without a journal
    that names them) have no stored encoding; they are removed, as are temporary files of ours.
    """
    try:
        journal.finish(result_dir / JOURNAL_FILE, result_dir)
    except OSError as error:
        log.warning("%s; loading what is in the folders", error)
        return  # the staging folder holds faces the journal still needs
    try:
        staging = result_dir / STAGING
        if staging.is_dir() and not staging.is_symlink():
            unsaved = [path for path in staging.iterdir() if path.suffix == ".png"
                       and not path.is_symlink() and path.is_file()]
            for path in unsaved:
                path.unlink()
            storage.remove_temp_files(staging)
            if unsaved:
                log.warning("dropped %d faces that a run found but was stopped before saving",
                            len(unsaved))
            if not any(staging.iterdir()):
                staging.rmdir()
        storage.remove_temp_files(result_dir)
    except OSError as error:  # a read-only result still loads
        log.warning("could not tidy %s: %s", result_dir, error)
