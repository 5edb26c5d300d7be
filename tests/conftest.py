"""Shared fixtures: synthetic encodings for the fast tests, real package-shipped faces for slow ones."""
from __future__ import annotations

import shutil
import sys
from pathlib import Path

import numpy as np
import pytest

PROJECT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(PROJECT))
SHARED = PROJECT.parent / "shared"
LEGACY_RESULT = SHARED / "data" / "legacy-result"  # a result written by the original tool


def writable_copy(source: Path, target: Path) -> Path:
    """A copy of a folder that the tests may write into: ../shared is read-only (0555 folders,
    0444 files), and copytree keeps those modes, which only root can write through."""
    shutil.copytree(source, target, copy_function=shutil.copyfile)
    for folder in [target, *(path for path in target.rglob("*") if path.is_dir())]:
        folder.chmod(0o755)
    return target


def encoding_at(*offsets: float) -> np.ndarray:
    """A 128-number encoding whose first coordinates are ``offsets``: distances are exact."""
    vector = np.zeros(128)
    vector[:len(offsets)] = offsets
    return vector


@pytest.fixture
def make_face():
    """Build a Face with a synthetic encoding and a small solid-colour crop."""
    from facesort.records.face import Face

    counter = iter(range(10_000))

    def build(*offsets: float, name: str | None = None, with_crop: bool = True) -> Face:
        number = next(counter)
        crop = np.full((48, 48, 3), (number * 37) % 256, np.uint8) if with_crop else None
        return Face(file_name=name or f"clip_f{number:06d}_0.png", encoding=encoding_at(*offsets),
                    box=(10, 40, 40, 10), source="clip.mp4", frame=number,
                    time_s=number / 25, crop=crop)

    return build


@pytest.fixture(scope="session")
def portraits():
    """Grace Hopper and the astronaut, BGR, from matplotlib and scikit-image."""
    pytest.importorskip("matplotlib")
    pytest.importorskip("skimage")
    from facesort.demo import package_faces

    return package_faces()


@pytest.fixture(scope="session")
def detector():
    from face_detector import FaceDetector

    return FaceDetector()


@pytest.fixture(scope="session")
def demo_videos(tmp_path_factory, portraits):
    """Two demo videos of the same two people, shot differently (different seeds)."""
    from facesort.demo import make_demo_video

    folder = tmp_path_factory.mktemp("videos")
    return make_demo_video(folder / "first.mp4", seed=7), make_demo_video(folder / "second.mp4", seed=8)


def assert_one_line_error(completed, code, *words):
    """A finished command failed with ``code`` and one stderr line holding ``words``."""
    assert completed.returncode == code, completed
    assert "Traceback" not in completed.stderr
    lines = completed.stderr.strip().splitlines()
    assert len(lines) == 1, completed.stderr
    for word in words:
        assert word in lines[0], lines[0]
