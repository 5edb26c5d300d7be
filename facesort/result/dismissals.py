"""Suggestions the user dismissed in the review page: never suggested again, in the page or
in report.html. One small JSON file in the result, written atomically."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Collection

from facesort import storage

DISMISSED_FILE = ".face-classifier-dismissed.json"


def read_dismissed(result_dir: Path) -> set[str]:
    path = result_dir / DISMISSED_FILE
    if not path.is_file() or path.is_symlink():
        return set()
    try:
        keys = json.loads(path.read_bytes().decode("ascii"))["dismissed"]
        return {key for key in keys if isinstance(key, str)}
    except (OSError, ValueError, KeyError, TypeError):
        return set()


def write_dismissed(result_dir: Path, keys: Collection[str]) -> None:
    text = json.dumps({"dismissed": sorted(keys)}, ensure_ascii=True, indent=0)
    storage.atomic_write_bytes(result_dir / DISMISSED_FILE, text.encode("ascii"))
