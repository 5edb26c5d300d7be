"""The -d window of a live source, as a user sees it: a clip with cuts played --as-live on a
virtual display (Xvfb), its screen grabbed as it plays; every box drawn must sit on a face of
the frame shown. Before on_screen, the boxes of a shot stayed up to a second into the next."""
import os
import subprocess
import sys
import time

import cv2
import numpy as np
import pytest

from tests.conftest import PROJECT
from tests.xvfb import VirtualDisplay, xvfb_available

pytestmark = [pytest.mark.slow,
              pytest.mark.skipif(not xvfb_available(), reason="no Xvfb (apt-get install xvfb)")]

WIDTH, HEIGHT, FPS = 640, 360, 25
SHOT_FRAMES = 60   # 2.4 s a shot
MARGIN = 12        # px around a face's tile where its box may be drawn (the box's line width)


def write_clip(path, portraits):
    """Three shots, cut: Grace Hopper on the left, the astronaut on the right, nobody. Returns
    each shot's face tile (top, right, bottom, left), or None."""
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), FPS, (WIDTH, HEIGHT))
    shots = [((70, 90, 50), portraits[0], 40), ((200, 210, 230), portraits[1], 320),
             ((30, 30, 110), None, 0)]
    tiles = []
    for background, portrait, x in shots:
        frame = np.full((HEIGHT, WIDTH, 3), background, np.uint8)
        tile = None
        if portrait is not None:
            scale = 300 / max(portrait.shape[:2])
            image = cv2.resize(portrait, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
            y = 30
            frame[y:y + image.shape[0], x:x + image.shape[1]] = image
            tile = (y, x + image.shape[1], y + image.shape[0], x)
        tiles.append(tile)
        for _ in range(SHOT_FRAMES):
            writer.write(frame)
    writer.release()
    return tiles


def drawn_red(image):
    return (image[..., 2] > 190) & (image[..., 1] < 70) & (image[..., 0] < 70)


def play_and_grab(display, clip, result, seconds):
    """Run -d --as-live on ``clip`` on ``display``; the screen every 40 ms while it runs."""
    env = {**os.environ, "DISPLAY": display.name, "PYTHONPATH": str(PROJECT)}
    run = subprocess.Popen([sys.executable, str(PROJECT / "face_classifier.py"), str(clip),
                            "-d", "--as-live", "-S", seconds, "--result", str(result), "-q"],
                           env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    grabs = []
    while run.poll() is None:
        grabs.append(display.grab())
        time.sleep(0.04)
    out, err = run.communicate()
    assert run.returncode == 0, err
    return grabs


def window_offset(grabs, references, tiles):
    """Where the frame lies on the screen (the window's toolbar above it): found from the
    faces' tiles of the first two shots."""
    for grab in grabs:
        for reference, (top, right, bottom, left) in zip(references, tiles):
            below = top + (bottom - top) * 2 // 3  # under the face, where no box is drawn
            piece = reference[below:bottom, left:right]
            scores = cv2.matchTemplate(grab, piece, cv2.TM_SQDIFF_NORMED)
            low, _, (x, y), _ = cv2.minMaxLoc(scores)
            if low < 0.05:
                return y - below, x - left
    raise AssertionError("the clip was never seen in the window")


@pytest.mark.parametrize("seconds", ["1", "0"])
def test_every_box_in_the_live_window_sits_on_a_face_of_the_frame_shown(tmp_path, portraits,
                                                                        seconds):
    clip = tmp_path / "cuts.mp4"
    tiles = write_clip(clip, portraits)
    capture = cv2.VideoCapture(str(clip))
    decoded = [capture.read()[1] for _ in range(3 * SHOT_FRAMES)]
    references = [decoded[k * SHOT_FRAMES + SHOT_FRAMES // 2] for k in range(3)]
    display = VirtualDisplay()
    try:
        grabs = play_and_grab(display, clip, tmp_path / "result", seconds)
    finally:
        display.close()
    top, left = window_offset(grabs, references, tiles[:2])
    boxes_seen = [0, 0, 0]
    for grab in grabs:
        shown = grab[top:top + HEIGHT, left:left + WIDTH]
        if shown.shape[:2] != (HEIGHT, WIDTH):
            continue
        red = drawn_red(shown)
        plain = ~red[..., None]
        distances = [np.abs(shown.astype(int) - r).mean(where=np.broadcast_to(plain, r.shape))
                     for r in references]
        shot = int(np.argmin(distances))
        if distances[shot] > 12:
            continue  # not the clip (the window not up yet)
        drawn = red & ~drawn_red(references[shot])
        if not drawn.any():
            continue
        boxes_seen[shot] += 1
        tile = tiles[shot]
        assert tile is not None, f"a box on shot {shot + 1}, where nobody is"
        ys, xs = np.nonzero(drawn)
        t, r, b, lft = tile
        assert (t - MARGIN <= ys.min() and ys.max() <= b + MARGIN
                and lft - MARGIN <= xs.min() and xs.max() <= r + MARGIN), \
            f"a box off the face on shot {shot + 1}: x {xs.min()}-{xs.max()}, y {ys.min()}-{ys.max()}"
    assert boxes_seen[0] > 3 and boxes_seen[1] > 3, boxes_seen  # the faces were boxed
