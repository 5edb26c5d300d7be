#!/usr/bin/env python3
"""Build a short demo video from two real faces that ship inside PyPI packages.

Grace Hopper (matplotlib's sample data) and Eileen Collins (scikit-image's ``astronaut``)
take turns, alone and side by side, drifting and changing size, so a run of the classifier
on it should find exactly two persons. No network, nothing from outside the venv.
"""
from __future__ import annotations

import argparse
import random
import sys
from pathlib import Path

import cv2
import numpy as np

WIDTH, HEIGHT, FPS = 640, 360, 25.0
SHOT_SECONDS = 1.0
# who is on screen in each shot: 0 = Grace Hopper, 1 = the astronaut
SHOTS = [(0,), (1,), (0, 1), (1,), (0,), (1, 0), (0,), (1,)]
# a longer video for the report: people come and go, with empty shots in between
STORY_SHOTS = [(0,), (0,), (0,), (), (), (1,), (1,), (1,), (1,), (), (), (), (0, 1), (0, 1), (),
               (), (0,), (0,), (), (1,)]
PORTRAIT_NAMES = ["grace_hopper.jpg", "astronaut.jpg"]


def grace_hopper() -> np.ndarray:
    import matplotlib.cbook

    with matplotlib.cbook.get_sample_data("grace_hopper.jpg") as file:
        data = np.frombuffer(file.read(), np.uint8)
    return cv2.imdecode(data, cv2.IMREAD_COLOR)


def astronaut() -> np.ndarray:
    import skimage.data

    rgb = skimage.data.astronaut()
    # the top of the photo: HOG also "finds" a face on the suit's patch further down
    return cv2.cvtColor(np.ascontiguousarray(rgb[:270]), cv2.COLOR_RGB2BGR)


def package_faces() -> list[np.ndarray]:
    """The two portraits, BGR."""
    return [grace_hopper(), astronaut()]


def make_demo_video(path: Path, seed: int = 7,
                    shots: list[tuple[int, ...]] = SHOTS) -> Path:
    """Write the demo video to ``path`` (.mp4), one second per shot, and return it."""
    rng = random.Random(seed)
    portraits = package_faces()
    background = np.zeros((HEIGHT, WIDTH, 3), np.uint8)
    background[:] = np.linspace(40, 90, WIDTH, dtype=np.uint8)[None, :, None]
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), FPS, (WIDTH, HEIGHT))
    if not writer.isOpened():
        raise RuntimeError(f"cannot write a video to {path}")
    frames_per_shot = int(SHOT_SECONDS * FPS)
    for shot in shots:
        slot_width = WIDTH // max(1, len(shot))
        tiles = []
        for slot, who in enumerate(shot):
            image = portraits[who]
            scale = min((slot_width - 20) / image.shape[1], (HEIGHT - 20) / image.shape[0])
            scale *= rng.uniform(0.7, 1.0)
            tile = cv2.resize(image, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
            x = slot * slot_width + rng.randint(0, max(0, slot_width - tile.shape[1]))
            y = rng.randint(0, max(0, HEIGHT - tile.shape[0]))
            tiles.append((tile, x, y, rng.randint(-10, 10)))
        for index in range(frames_per_shot):
            frame = background.copy()
            for tile, x, y, drift in tiles:
                dx = min(max(x + drift * index // frames_per_shot, 0), WIDTH - tile.shape[1])
                frame[y:y + tile.shape[0], dx:dx + tile.shape[1]] = tile
            writer.write(frame)
    writer.release()
    return path


def write_demo_photos(folder: Path) -> list[Path]:
    """The two portraits as photos in ``folder``."""
    folder.mkdir(parents=True, exist_ok=True)
    paths = [folder / name for name in PORTRAIT_NAMES]
    for path, image in zip(paths, package_faces()):
        if not cv2.imwrite(str(path), image):
            raise RuntimeError(f"cannot write {path}")
    return paths


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("output", type=Path, nargs="?", default=Path("demo.mp4"))
    parser.add_argument("--seed", type=int, default=7, help="placement of the faces (default 7)")
    parser.add_argument("--story", action="store_true",
                        help="a 20 s video in which people come and go (for the report)")
    parser.add_argument("--photos", type=Path, metavar="DIR",
                        help="also write the two portraits as photos into DIR")
    args = parser.parse_args()
    shots = STORY_SHOTS if args.story else SHOTS
    print(make_demo_video(args.output, args.seed, shots), f"{len(shots) * SHOT_SECONDS:g} s")
    if args.photos:
        print(*write_demo_photos(args.photos))
    return 0


if __name__ == "__main__":
    sys.exit(main())
