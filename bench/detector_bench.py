#!/usr/bin/env python3
"""Face detectors compared: dlib HOG (upsample 0 and 1) against YuNet at several score
thresholds, on 100 labelled WIDER FACE photos and on the stage clip, one core (issue 16).

WIDER (../shared/data/wider-val, 416 px wide): recall on valid faces 16 px tall and up, also by
face height and by the pose and illumination flags; a detection finds a face when their IoU is
at least MATCH_IOU (each face and each detection matched once, best overlap first). A false
detection is one whose IoU with every labelled box, invalid and tiny ones included, stays
below MATCH_IOU. ms per image on one core (cv2.setNumThreads(1); dlib's HOG is single-threaded).
YuNet runs once per image at the lowest threshold and is cut at each higher one: NMS only lets
a box suppress lower-scored ones, so the rows are what each threshold gives alone.

The clip (../shared/data/clips/short_hamilton_clip.mp4, 640x360, no labels): faces found on
every 15th frame per detector. Timing on a clip frame scaled to 1920x1080, full size and at half.

With --encoding, also how well dlib encodes YuNet's faces, on the LFW dev people
(../shared/data/lfw-dev: 12 people with 14 photos, 12 with one): the encoding from
dlib_square() against the one from HOG's own box, then per face size (each photo shrunk so the
face is 16..60 px) and per yaw_proxy: the distance to the person's mean of frontal full-size
encodings (leaving the face out), how often it passes 0.44 (the project's -t), how often another
person's mean lies within 0.44, and whether YuNet still finds the shrunk face.

With --smallest, only how small a face YuNet finds: the LFW faces shrunk to a dlib_square of
10..32 px, each alone on a plain frame (yunet.MIN_FACE).

Skips (exit 0) when ../shared is absent or the YuNet model is not installed.

usage: bench/detector_bench.py [--thresholds 0.6 0.75 0.85 0.9] [--yunet-scale 1 2] [--encoding]
       bench/detector_bench.py --smallest
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np

PROJECT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(PROJECT))
from face_detector import find_yunet_model  # noqa: E402  (the project, found above)
from facesort.detection.model_files import ModelError  # noqa: E402
from facesort.detection.yunet import (MIN_FACE, YuNet,  # noqa: E402
                                      dlib_square, face_size, yaw_proxy)

SHARED = PROJECT.parent / "shared"
WIDER = SHARED / "data" / "wider-val"
CLIP = SHARED / "data" / "clips" / "short_hamilton_clip.mp4"
LFW = SHARED / "data" / "lfw-dev"
PHOTOS = SHARED / "data" / "photos"
# turned faces of known people on the clip, picked out by eye once: the stage performer is its
# only face of 85 px and more in frames 84-210; Obama sits in the audience shot of frames
# 213-274 with his box's left edge at 300-335 px and its top above 50 px
PERFORMER_FRAMES, PERFORMER_MIN_SIZE = range(84, 211), 85
OBAMA_FRAMES, OBAMA_LEFT, OBAMA_TOP = range(213, 275), (300, 335), 50
OBAMA_PHOTOS = ("obama.jpg", "obama2.jpg")
CLIP_STEP = 15                      # every 15th frame: 19 frames of a 9 s clip
MATCH_IOU = 0.4                     # HOG's boxes are tighter than WIDER's: 0.5 would miss many
MIN_HEIGHT = 16                     # px: faces shorter than this are not counted (shared/README)
SIZE_BINS = ((16, 24), (24, 32), (32, 64), (64, 100_000))
LOWEST_THRESHOLD = 0.3
FULL_HD = (1920, 1080)
TIMING_REPEATS = 5
FULL_HD_SCALES = (1.0, 0.75, 0.5)
SAME_PERSON = 0.44                  # the project's default similarity threshold (-t)
FRONTAL = 0.3                       # |yaw_proxy| of the faces that make a person's mean
ENCODE_SIZES = (16, 20, 24, 28, 32, 40, 60)  # px, sqrt(w * h) of the YuNet box
YAW_BINS = ((0.0, 0.2), (0.2, 0.4), (0.4, 0.6), (0.6, 0.8), (0.8, 99.0))
CENTRE_DISTANCE = 40                # px: an LFW photo's own face is centred in its 250x250
SMALLEST_SIDES = (10, 12, 14, 16, 18, 20, 24, 28, 32)  # px, side of dlib_square (--smallest)
SMALLEST_FRAME = (240, 320)         # the plain frame each shrunk face is put on (--smallest)
MODEL: Path | None = None           # the installed YuNet model (find_yunet_model), set by main


@dataclass
class Tally:
    """Found / all valid faces per group, false detections and time, for one detector."""

    found: dict[str, int] = field(default_factory=dict)
    total: dict[str, int] = field(default_factory=dict)
    false: int = 0
    seconds: float = 0.0
    images: int = 0

    def add(self, group: str, hit: bool) -> None:
        self.total[group] = self.total.get(group, 0) + 1
        self.found[group] = self.found.get(group, 0) + int(hit)

    def recall(self, group: str) -> str:
        total = self.total.get(group, 0)
        return f"{100 * self.found.get(group, 0) / total:.1f}" if total else "-"


def iou(boxes: np.ndarray, others: np.ndarray) -> np.ndarray:
    """IoU matrix of (N, 4) and (M, 4) boxes given as left, top, right, bottom."""
    if len(boxes) == 0 or len(others) == 0:
        return np.zeros((len(boxes), len(others)))
    left = np.maximum(boxes[:, None, 0], others[None, :, 0])
    top = np.maximum(boxes[:, None, 1], others[None, :, 1])
    right = np.minimum(boxes[:, None, 2], others[None, :, 2])
    bottom = np.minimum(boxes[:, None, 3], others[None, :, 3])
    inter = np.clip(right - left, 0, None) * np.clip(bottom - top, 0, None)
    area, other_area = ((b[:, 2] - b[:, 0]) * (b[:, 3] - b[:, 1]) for b in (boxes, others))
    return inter / (area[:, None] + other_area[None, :] - inter)


def match(detections: np.ndarray, faces: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Greedy one-to-one matching by IoU >= MATCH_IOU: (which faces are found, which
    detections found one)."""
    overlaps = iou(detections, faces)
    found = np.zeros(len(faces), bool)
    used = np.zeros(len(detections), bool)
    for flat in np.argsort(-overlaps, axis=None):
        d, f = np.unravel_index(flat, overlaps.shape)
        if overlaps[d, f] < MATCH_IOU:
            break
        if not used[d] and not found[f]:
            used[d] = found[f] = True
    return found, used


def size_group(height: float) -> str:
    low, high = next(b for b in SIZE_BINS if b[0] <= height < b[1])
    return f"{low}-{high}px" if high < 100_000 else f"{low}+px"


def hog_detections(hog, rgb: np.ndarray, upsample: int) -> np.ndarray:
    """dlib HOG boxes as left, top, right, bottom (its detections at threshold 0)."""
    rects, _, _ = hog.run(rgb, upsample, 0.0)
    return np.array([[r.left(), r.top(), r.right(), r.bottom()] for r in rects],
                    float).reshape(-1, 4)


def yunet_detections(rows: np.ndarray, threshold: float) -> np.ndarray:
    kept = rows[rows[:, 4] >= threshold]
    return np.column_stack([kept[:, 0], kept[:, 1], kept[:, 0] + kept[:, 2],
                            kept[:, 1] + kept[:, 3]]).reshape(-1, 4)


def score_image(tally: Tally, detections: np.ndarray, label: dict) -> None:
    boxes = np.array(label["boxes"], float).reshape(-1, 4)
    heights = boxes[:, 3] - boxes[:, 1]
    counted = (np.array(label["invalid"]) == 0) & (heights >= MIN_HEIGHT)
    found, used = match(detections, boxes[counted])
    for hit, index in zip(found, np.flatnonzero(counted)):
        tally.add("all", hit)
        tally.add(size_group(heights[index]), hit)
        tally.add("pose " + ("atypical" if label["pose"][index] else "typical"), hit)
        tally.add("light " + ("extreme" if label["illumination"][index] else "normal"), hit)
    if len(detections):
        near_any = iou(detections, boxes).max(axis=1, initial=0) >= MATCH_IOU
        tally.false += int((~used & ~near_any).sum())


def timed(function, *arguments):
    start = time.perf_counter()
    result = function(*arguments)
    return result, time.perf_counter() - start


def wider(hog, thresholds: list[float], yunet_scales: list[float]) -> dict[str, Tally]:
    labels = json.loads((WIDER / "labels.json").read_text())
    yunets = {scale: YuNet(LOWEST_THRESHOLD, scale=scale, model_path=MODEL)
              for scale in yunet_scales}
    tallies: dict[str, Tally] = {}
    for name, label in sorted(labels.items()):
        bgr = cv2.imread(str(WIDER / f"{name}.jpg"))
        rgb = np.ascontiguousarray(bgr[:, :, ::-1])
        runs = []
        for upsample in (0, 1):
            boxes, seconds = timed(hog_detections, hog, rgb, upsample)
            runs.append((f"HOG upsample {upsample}", boxes, seconds))
        for scale, yunet in yunets.items():
            rows, seconds = timed(yunet.detect, bgr)
            suffix = "" if scale == 1 else f" x{scale:g}"
            for threshold in thresholds:
                runs.append((f"YuNet {threshold:.2f}{suffix}",
                             yunet_detections(rows, threshold), seconds))
        for detector, boxes, seconds in runs:
            tally = tallies.setdefault(detector, Tally())
            score_image(tally, boxes, label)
            tally.seconds += seconds
            tally.images += 1
    return tallies


def clip_frames() -> list[np.ndarray]:
    capture = cv2.VideoCapture(str(CLIP))
    frames, index = [], 0
    while True:
        ok, frame = capture.read()
        if not ok:
            break
        if index % CLIP_STEP == 0:
            frames.append(frame)
        index += 1
    capture.release()
    return frames


def clip_counts(hog, frames: list[np.ndarray], thresholds: list[float]) -> dict[str, int]:
    counts = {}
    for upsample in (0, 1):
        counts[f"HOG upsample {upsample}"] = sum(
            len(hog_detections(hog, np.ascontiguousarray(f[:, :, ::-1]), upsample))
            for f in frames)
    yunet = YuNet(LOWEST_THRESHOLD, model_path=MODEL)
    rows = [yunet.detect(frame) for frame in frames]
    for threshold in thresholds:
        counts[f"YuNet {threshold:.2f}"] = sum(int((r[:, 4] >= threshold).sum()) for r in rows)
    return counts


def best_ms(function, *arguments) -> float:
    function(*arguments)  # first call loads models and sizes the network
    return 1000 * min(timed(function, *arguments)[1] for _ in range(TIMING_REPEATS))


def full_hd_timing(hog, frame: np.ndarray) -> dict[str, float]:
    big = cv2.resize(frame, FULL_HD, interpolation=cv2.INTER_LINEAR)
    rgb = np.ascontiguousarray(big[:, :, ::-1])
    half = np.ascontiguousarray(cv2.resize(big, None, fx=0.5, fy=0.5,
                                           interpolation=cv2.INTER_AREA)[:, :, ::-1])
    timings = {f"YuNet scale={scale:g} (resize included)": best_ms(YuNet(scale=scale, model_path=MODEL).detect, big)
               for scale in FULL_HD_SCALES}
    return {
        **timings,
        "HOG upsample 0, 1920x1080": best_ms(hog_detections, hog, rgb, 0),
        "HOG upsample 0, at half (resize not included)": best_ms(hog_detections, hog, half, 0),
    }


def print_table(tallies: dict[str, Tally], counts: dict[str, int]) -> None:
    groups = (["all"] + [size_group(low) for low, _ in SIZE_BINS]
              + ["pose typical", "pose atypical", "light normal", "light extreme"])
    totals = next(iter(tallies.values())).total
    head = ["detector", *groups, "false", "ms/img", "clip faces"]
    widths = [max(24, *(len(n) for n in tallies))] + [max(len(g), 6) for g in groups] + [5, 6, 10]
    print("recall % on WIDER valid faces >= 16 px (faces in group):")
    print("  ".join(h.ljust(w) if i == 0 else h.rjust(w) for i, (h, w) in enumerate(zip(head, widths))))
    print("  ".join(["(faces)".ljust(widths[0])]
                    + [str(totals[g]).rjust(w) for g, w in zip(groups, widths[1:])]))
    for name, tally in tallies.items():
        cells = [name.ljust(widths[0])]
        cells += [tally.recall(g).rjust(w) for g, w in zip(groups, widths[1:])]
        cells += [str(tally.false).rjust(5), f"{1000 * tally.seconds / tally.images:.1f}".rjust(6)]
        clip_name = name if name in counts else None
        cells += [str(counts[clip_name]).rjust(10) if clip_name else "-".rjust(10)]
        print("  ".join(cells))


@dataclass
class LfwFace:
    """One LFW photo's own face: its person, YuNet row, HOG box, and encodings by size."""

    person: str
    bgr: np.ndarray
    row: np.ndarray
    hog_box: tuple[int, int, int, int] | None
    encodings: dict[object, np.ndarray] = field(default_factory=dict)
    found: dict[int, bool] = field(default_factory=dict)


def centred(rows: np.ndarray, width: int, height: int) -> np.ndarray | None:
    """The detection nearest the middle of an LFW photo, if near enough."""
    if len(rows) == 0:
        return None
    centres = rows[:, :2] + rows[:, 2:4] / 2
    distances = np.linalg.norm(centres - [width / 2, height / 2], axis=1)
    return rows[np.argmin(distances)] if distances.min() < CENTRE_DISTANCE else None


def lfw_faces(hog) -> list[LfwFace]:
    finder = YuNet(score_threshold=0.5, model_path=MODEL)   # low: every photo's face, however turned
    faces = []
    for photo in sorted(LFW.glob("*/*.jpg")):
        bgr = cv2.imread(str(photo))
        height, width = bgr.shape[:2]
        row = centred(finder.detect(bgr), width, height)
        if row is None:
            continue
        rects = [r for r in hog(np.ascontiguousarray(bgr[:, :, ::-1]), 1)
                 if np.hypot(r.center().x - width / 2, r.center().y - height / 2) < CENTRE_DISTANCE]
        hog_box = (rects[0].top(), rects[0].right(), rects[0].bottom(), rects[0].left()) \
            if rects else None
        faces.append(LfwFace(photo.parent.name, bgr, row, hog_box))
    return faces


def square_check(encoder, faces: list[LfwFace]) -> None:
    """Encodings from HOG's box against those from other boxes on the same face."""
    names = ["dlib_square(YuNet box)", "YuNet's own box (not square)",
             "HOG box moved 2 px (noise floor)"]
    distances = []
    for face in faces:
        if face.hog_box is None:
            continue
        left, top, width, height = face.row[:4]
        top_h, right_h, bottom_h, left_h = face.hog_box
        boxes = [face.hog_box, dlib_square(left, top, width, height),
                 (int(top), int(left + width), int(top + height), int(left)),
                 (top_h + 2, right_h + 2, bottom_h + 2, left_h + 2)]
        encodings = np.array(encoder.encode(np.ascontiguousarray(face.bgr[:, :, ::-1]), boxes))
        distances.append(np.linalg.norm(encodings[1:] - encodings[0], axis=1))
    table = np.array(distances)
    print(f"\nencoding distance to the one from HOG's own box, {len(table)} LFW faces found by both:")
    for name, column in zip(names, table.T):
        print(f"  {name:34s} median {np.median(column):.3f}  90th percentile "
              f"{np.percentile(column, 90):.3f}  max {column.max():.3f}")


def encode_by_size(encoder, faces: list[LfwFace]) -> None:
    detector = YuNet(model_path=MODEL)
    for face in faces:
        left, top, width, height = face.row[:4]
        face.encodings["full"] = encoder.encode(np.ascontiguousarray(face.bgr[:, :, ::-1]),
                                                [dlib_square(left, top, width, height)])[0]
        for size in ENCODE_SIZES:
            factor = size / face_size(face.row)[0]
            small = cv2.resize(face.bgr, None, fx=factor, fy=factor, interpolation=cv2.INTER_AREA)
            box = dlib_square(*(face.row[:4] * factor))
            face.encodings[size] = encoder.encode(np.ascontiguousarray(small[:, :, ::-1]), [box])[0]
            centre = (face.row[:2] + face.row[2:4] / 2) * factor
            rows = detector.detect(small)
            face.found[size] = bool(len(rows)) and bool(
                np.linalg.norm(rows[:, :2] + rows[:, 2:4] / 2 - centre, axis=1).min() < size / 2)


def reliability(faces: list[LfwFace], chosen: list[LfwFace], key: object) -> str:
    """Distance of each chosen face (at ``key`` size) to its person's frontal mean, leaving
    the face itself out; the share past SAME_PERSON; the share with another person's mean
    within SAME_PERSON (faces of one-photo people count here too)."""
    people = sorted({f.person for f in faces if sum(g.person == f.person for g in faces) > 1})
    frontal = {p: [f for f in faces if f.person == p and abs(yaw_proxy(f.row)[0]) <= FRONTAL]
               for p in people}
    own, others_near = [], []
    for face in chosen:
        means = {p: np.mean([g.encodings["full"] for g in group if g is not face], axis=0)
                 for p, group in frontal.items()}
        encoding = face.encodings[key]
        others_near.append(min(np.linalg.norm(encoding - m) for p, m in means.items()
                               if p != face.person) < SAME_PERSON)
        if face.person in means:
            own.append(np.linalg.norm(encoding - means[face.person]))
    own_array = np.array(own)
    return (f"{len(own):5d}  {np.median(own_array):6.3f}  {np.percentile(own_array, 90):6.3f}  "
            f"{100 * (own_array > SAME_PERSON).mean():8.1f}  {100 * np.mean(others_near):9.1f}")


def clip_yaw_check(encoder) -> None:
    """Turned faces of two known people on the clip against their frontal references."""
    detector = YuNet(model_path=MODEL)

    def encode(bgr: np.ndarray, row: np.ndarray) -> np.ndarray:
        box = dlib_square(*row[:4], image_size=(bgr.shape[1], bgr.shape[0]))
        return encoder.encode(np.ascontiguousarray(bgr[:, :, ::-1]), [box])[0]

    performer, obama = [], []
    capture = cv2.VideoCapture(str(CLIP))
    for index in range(OBAMA_FRAMES.stop):
        ok, frame = capture.read()
        if not ok:
            break
        if index % 3:
            continue
        for row in detector.detect(frame):
            if index in PERFORMER_FRAMES and face_size(row)[0] >= PERFORMER_MIN_SIZE:
                performer.append((yaw_proxy(row)[0], encode(frame, row)))
            elif (index in OBAMA_FRAMES and OBAMA_LEFT[0] <= row[0] <= OBAMA_LEFT[1]
                  and row[1] < OBAMA_TOP):
                obama.append((yaw_proxy(row)[0], encode(frame, row)))
    capture.release()
    yaws = np.array([y for y, _ in performer])
    encodings = np.array([e for _, e in performer])
    frontal = np.abs(yaws) <= FRONTAL
    print(f"\nclip, every 3rd frame: the performer ({len(performer)} faces, {frontal.sum()} "
          f"frontal), distance to the mean of his frontal faces (itself left out):")
    for low, high in YAW_BINS:
        chosen = np.flatnonzero((np.abs(yaws) >= low) & (np.abs(yaws) < high))
        if len(chosen):
            distances = [np.linalg.norm(encodings[i] - encodings[frontal & (np.arange(len(yaws))
                                                                            != i)].mean(axis=0))
                         for i in chosen]
            print(f"  |yaw| {low:.1f}-{min(high, 9):.1f}: {len(chosen):3d} faces, median "
                  f"{np.median(distances):.3f}, max {max(distances):.3f}, "
                  f"{sum(d > SAME_PERSON for d in distances)} past {SAME_PERSON}")
    references = []
    for name in OBAMA_PHOTOS:
        bgr = cv2.imread(str(PHOTOS / name))
        rows = detector.detect(bgr)
        references.append(encode(bgr, rows[np.argmax(face_size(rows))]))
    distances = [np.linalg.norm(e - np.mean(references, axis=0)) for _, e in obama]
    yaws = [abs(y) for y, _ in obama]
    print(f"  Obama in the audience ({len(obama)} faces, |yaw| {min(yaws):.1f}-{max(yaws):.1f}) "
          f"to the mean of his frontal photos {', '.join(OBAMA_PHOTOS)}: median "
          f"{np.median(distances):.3f}, min {min(distances):.3f} (the two photos: "
          f"{np.linalg.norm(references[0] - references[1]):.3f} apart)")


def smallest_study() -> None:
    """How often YuNet finds an LFW face shrunk so that its dlib_square is N px, alone on a
    plain frame (yunet.MIN_FACE)."""
    finder = YuNet(score_threshold=0.5, model_path=MODEL)   # low: every photo's face
    detector = YuNet(model_path=MODEL)
    faces = []
    for photo in sorted(LFW.glob("*/*.jpg")):
        bgr = cv2.imread(str(photo))
        row = centred(finder.detect(bgr), bgr.shape[1], bgr.shape[0])
        if row is not None:
            faces.append((bgr, row))
    height, width = SMALLEST_FRAME
    print(f"\nYuNet on {len(faces)} LFW faces shrunk to a square side of N px, each alone on a "
          f"plain {width}x{height} frame (MIN_FACE = {MIN_FACE}):")
    for side in SMALLEST_SIDES:
        found = 0
        for bgr, row in faces:
            top, right, _, left = dlib_square(*row[:4])
            factor = side / (right - left)
            small = cv2.resize(bgr, None, fx=factor, fy=factor, interpolation=cv2.INTER_AREA)
            frame = np.full((height, width, 3), 110, np.uint8)
            y, x = (height - small.shape[0]) // 2, (width - small.shape[1]) // 2
            frame[y:y + small.shape[0], x:x + small.shape[1]] = small
            centre = (row[:2] + row[2:4] / 2) * factor + (x, y)
            rows = detector.detect(frame)
            found += bool(len(rows)) and bool(
                np.linalg.norm(rows[:, :2] + rows[:, 2:4] / 2 - centre, axis=1).min() < side / 2)
        print(f"  {side:3d} px: {found:3d}/{len(faces)} = {100 * found / len(faces):3.0f}%")


def encoding_study(hog) -> None:
    if not LFW.is_dir():
        print(f"\nencoding study: {LFW} is absent")
        return
    from face_detector import FaceDetector

    encoder = FaceDetector()   # the project's encoder: 5-point alignment, mirror average
    faces = lfw_faces(hog)
    square_check(encoder, faces)
    encode_by_size(encoder, faces)
    head = (" faces  median     p90  %>0.44 %other<0.44")
    print(f"\nencoding reliability on {len(faces)} LFW faces (own person: distance to the "
          f"mean of its frontal (|yaw| <= {FRONTAL}) full-size faces, itself left out):")
    print(f"  size px  YuNet finds {head}")
    for size in (*ENCODE_SIZES, "full"):
        found = (f"{100 * np.mean([f.found[size] for f in faces]):9.0f}%"
                 if size != "full" else "        - ")
        print(f"  {size!s:>7}  {found}  {reliability(faces, faces, size)}")
    for key in ("full", 32):
        print(f"  by |yaw_proxy| at {key} {'size' if key == 'full' else 'px'}:")
        for low, high in YAW_BINS:
            chosen = [f for f in faces if low <= abs(yaw_proxy(f.row)[0]) < high]
            if chosen:
                print(f"  {low:.1f}-{min(high, 9):.1f}             {reliability(faces, chosen, key)}")
    clip_yaw_check(encoder)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--thresholds", type=float, nargs="+",
                        default=[0.5, 0.6, 0.7, 0.75, 0.8, 0.85, 0.9],
                        help="YuNet score thresholds to compare")
    parser.add_argument("--yunet-scale", type=float, nargs="+", default=[1.0, 2.0],
                        help="YuNet's scale factors on the WIDER photos (2: upsampled)")
    parser.add_argument("--encoding", action="store_true",
                        help="also the encoding study on the LFW dev people (~2 min)")
    parser.add_argument("--smallest", action="store_true",
                        help="only the smallest face YuNet finds, on the LFW dev people")
    args = parser.parse_args()
    if not (WIDER / "labels.json").exists() or not CLIP.exists():
        print(f"detector_bench: {SHARED} is absent: nothing to measure")
        return 0
    global MODEL
    try:
        MODEL = find_yunet_model()
    except ModelError as error:
        print(f"detector_bench: {error}")
        return 0
    cv2.setNumThreads(1)
    if args.smallest:
        smallest_study()
        return 0
    cv2.setNumThreads(1)
    import dlib

    hog = dlib.get_frontal_face_detector()
    tallies = wider(hog, args.thresholds, args.yunet_scale)
    frames = clip_frames()
    counts = clip_counts(hog, frames, args.thresholds)
    print(f"WIDER: {next(iter(tallies.values())).images} photos; match IoU >= {MATCH_IOU}; "
          f"clip: {len(frames)} frames (every {CLIP_STEP}th); one core")
    print_table(tallies, counts)
    print("\nms per 1080p frame (clip frame scaled up), one core, best of "
          f"{TIMING_REPEATS}:")
    for name, ms in full_hd_timing(hog, frames[len(frames) // 2]).items():
        print(f"  {name:48s} {ms:7.1f}")
    if args.encoding:
        encoding_study(hog)
    return 0


if __name__ == "__main__":
    sys.exit(main())
