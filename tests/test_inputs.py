"""INPUTs on the command line: videos, photos, folders of photos, planned and read in order."""
import logging
import time

import cv2
import numpy as np
import pytest

from facesort import storage
from facesort.inputs.stream import InputConflict, Inputs, plan_inputs
from facesort.inputs.video import SourceError
from facesort.records.source import PHOTO, VIDEO, Sampling
from tests.big_png import write_black_png


def write_video(path, frames=30, fps=10.0, size=(64, 48)):
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), fps, size)
    for number in range(frames):
        writer.write(np.full((size[1], size[0], 3), number * 8 % 256, np.uint8))
    writer.release()
    return path


def write_photo(path, value=100, size=(40, 30)):
    path.parent.mkdir(parents=True, exist_ok=True)
    image = np.full((size[1], size[0], 3), value, np.uint8)
    image[5:10, 5:10] = 255 - value  # not a flat picture, so PNG and JPEG bytes differ by value
    assert cv2.imwrite(str(path), image)
    return path


def test_a_folder_gives_its_photos_sorted_and_nothing_else(tmp_path):
    for name in ("b.jpg", "a.PNG", "c.webp"):
        write_photo(tmp_path / "album" / name)
    (tmp_path / "album" / "notes.txt").write_text("not a photo")
    write_photo(tmp_path / "album" / ".hidden.jpg")
    write_photo(tmp_path / "album" / "sub" / "deeper.jpg")
    items = plan_inputs([str(tmp_path / "album")])
    assert [(i.text.split("/")[-1], i.kind) for i in items] == [
        ("a.PNG", PHOTO), ("b.jpg", PHOTO), ("c.webp", PHOTO)]
    assert {i.folder for i in items} == {str(tmp_path / "album")}


@pytest.mark.parametrize("make, words", [
    (lambda d: d / "missing.mp4", ["no such file", "missing.mp4"]),
    (lambda d: (d / "empty").mkdir() or d / "empty", ["no photos in the folder"]),
    (lambda d: (d / "fake.jpg").write_text("hello") and d / "fake.jpg", ["as an image"]),
    (lambda d: (d / "fake.mp4").write_text("hello") and d / "fake.mp4", ["as a video"]),
])
def test_inputs_that_cannot_work_stop_before_anything_is_read(tmp_path, make, words):
    good = write_video(tmp_path / "good.mp4")
    with pytest.raises(SourceError) as raised:
        plan_inputs([str(good), str(make(tmp_path))])
    for word in words:
        assert word in str(raised.value)


def test_photos_of_one_name_in_two_folders_get_different_face_names(tmp_path):
    write_photo(tmp_path / "day1" / "IMG_0001.jpg", value=50)
    write_photo(tmp_path / "day2" / "IMG_0001.jpg", value=200)
    inputs = Inputs.open([str(tmp_path / "day1"), str(tmp_path / "day2")], Sampling())
    frames = list(inputs.frames())
    stems = [info.stem for info, *_ in frames]
    assert len(stems) == 2 and stems[0] != stems[1]
    assert all(stem.startswith("IMG_0001-") for stem in stems)
    again = [info.stem for info, *_ in Inputs.open([str(tmp_path / "day1")], Sampling()).frames()]
    assert again == stems[:1]  # the same picture is named the same on every run


def test_a_photo_is_one_frame_at_index_0_and_time_0(tmp_path):
    photo = write_photo(tmp_path / "me.png", size=(40, 30))
    [(info, index, seconds, image)] = list(Inputs.open([str(photo)], Sampling(every_s=5,
                                                                              skip_s=3)).frames())
    assert (info.kind, info.name, index, seconds) == (PHOTO, str(photo), 0, 0.0)
    assert image.shape == (30, 40, 3) and (info.width, info.height) == (40, 30)


def test_the_same_picture_twice_is_read_once(tmp_path):
    first = write_photo(tmp_path / "a" / "x.jpg")
    (tmp_path / "b").mkdir()
    (tmp_path / "b" / "copy.jpg").write_bytes(first.read_bytes())
    (tmp_path / "b" / "x.jpg").write_bytes(first.read_bytes())
    frames = list(Inputs.open([str(tmp_path / "a"), str(tmp_path / "b")], Sampling()).frames())
    assert [info.name for info, *_ in frames] == [str(first), str(tmp_path / "b" / "copy.jpg")]


def test_a_damaged_photo_in_a_folder_is_skipped_with_a_warning(tmp_path, caplog):
    write_photo(tmp_path / "album" / "a.jpg")
    (tmp_path / "album" / "b.jpg").write_bytes(b"\xff\xd8\xff\xe0 truncated")
    write_photo(tmp_path / "album" / "c.jpg")
    inputs = Inputs.open([str(tmp_path / "album")], Sampling())
    with caplog.at_level(logging.WARNING):
        names = [info.name for info, *_ in inputs.frames()]
    assert [n.split("/")[-1] for n in names] == ["a.jpg", "c.jpg"]
    assert inputs.unreadable == [str(tmp_path / "album" / "b.jpg")]
    assert "b.jpg: not a readable image" in caplog.text


def test_two_videos_of_one_name_are_refused_and_one_video_twice_is_read_once(tmp_path, caplog):
    first = write_video(tmp_path / "cam.mp4")
    (tmp_path / "day2").mkdir()
    second = write_video(tmp_path / "day2" / "cam.mp4", frames=12)
    with pytest.raises(InputConflict, match="same file name"):
        plan_inputs([str(first), str(second)])
    with caplog.at_level(logging.WARNING):
        items = plan_inputs([str(first), str(tmp_path / "." / "cam.mp4")])
    assert [i.kind for i in items] == [VIDEO] and "given twice" in caplog.text


def test_inputs_are_read_in_order_each_frame_tagged_with_its_source(tmp_path):
    video = write_video(tmp_path / "clip.mp4", frames=30, fps=10.0)
    photo = write_photo(tmp_path / "photo.png")
    inputs = Inputs.open([str(photo), str(video)], Sampling(every_s=1.0))
    frames = [(info.name, index, seconds) for info, index, seconds, _ in inputs.frames()]
    assert frames == [(str(photo), 0, 0.0), (str(video), 0, 0.0), (str(video), 10, 1.0),
                      (str(video), 20, 2.0)]
    assert inputs.total_frames == 4


@pytest.mark.parametrize("every_s, skip_s, stop_s", [
    (1.0, 0, 0), (0, 0, 0), (0.35, 0, 0), (1.0, 0.5, 0), (1.0, 1.0, 2.0), (0.2, 0.25, 1.75),
    (1.0, 5.0, 0), (2.5, 0, 0.1)])
def test_the_frame_count_for_the_eta_matches_the_frames_read(tmp_path, every_s, skip_s, stop_s):
    video = write_video(tmp_path / "clip.mp4", frames=37, fps=10.0)
    inputs = Inputs.open([str(video)], Sampling(every_s=every_s, skip_s=skip_s, stop_s=stop_s))
    assert inputs.total_frames == len(list(inputs.frames()))


def test_a_video_gone_since_it_was_planned_is_skipped(tmp_path, caplog):
    video = write_video(tmp_path / "clip.mp4")
    photo = write_photo(tmp_path / "photo.png")
    inputs = Inputs.open([str(video), str(photo)], Sampling())
    video.unlink()
    with caplog.at_level(logging.WARNING):
        names = [info.name for info, *_ in inputs.frames()]
    assert names == [str(photo)] and inputs.unreadable == [str(video)]


def test_a_webcam_is_open_ended_and_its_frames_carry_the_clock(tmp_path, monkeypatch):
    from facesort.inputs import stream as inputs
    from facesort.records.source import CAMERA, SourceInfo, camera_source_name, is_camera_source
    from tests.test_video_source import FakeCamera

    opened = []

    def open_camera(text):
        assert text == "0"
        opened.append(FakeCamera(20))
        return opened[-1], SourceInfo(camera_source_name(0, time.time()), CAMERA, 30.0, 0, 4, 4)

    monkeypatch.setattr(inputs, "open_source", open_camera)
    photo = write_photo(tmp_path / "photo.png")
    stream = Inputs.open(["0", str(photo)], Sampling(every_s=0, stop_s=0))
    assert stream.total_frames is None  # no ETA: a webcam runs until stopped
    before = time.time()
    frames = [(info.name, seconds) for info, _, seconds, _ in stream.frames()]
    assert len(opened) == 2  # checked while planning, opened again when reached
    assert all(camera.released for camera in opened)
    camera_frames = [f for f in frames if is_camera_source(f[0])]
    assert len(camera_frames) == 20
    assert all(before <= seconds <= time.time() for _, seconds in camera_frames)
    assert frames[-1] == (str(photo), 0.0)


@pytest.mark.parametrize("suffix, params", [
    (".png", []), (".jpg", []), (".jpg", [cv2.IMWRITE_JPEG_PROGRESSIVE, 1]), (".bmp", []),
    (".webp", [cv2.IMWRITE_WEBP_QUALITY, 80]), (".webp", [cv2.IMWRITE_WEBP_QUALITY, 101]),
    (".tiff", []), (".tiff", [cv2.IMWRITE_TIFF_COMPRESSION, 1])])
def test_a_photos_size_is_read_from_its_header(suffix, params):
    image = np.random.default_rng(3).integers(0, 255, (37, 53, 3), np.uint8)
    ok, encoded = cv2.imencode(suffix, image, params)
    data = encoded.tobytes()
    assert storage.image_size(data) == (53, 37)
    assert storage.image_size(data[:10]) is None  # cut short: unknown, never an error


def test_a_png_written_row_by_row_is_sound_and_its_size_is_known(tmp_path):
    path = write_black_png(tmp_path / "wide.png", 3000, 20)
    assert storage.image_size(path.read_bytes()[:64]) == (3000, 20)
    assert cv2.imread(str(path)).shape == (20, 3000, 3)


def test_a_photo_over_the_pixel_limit_is_skipped_undecoded_and_the_rest_is_read(
        tmp_path, monkeypatch, caplog):
    write_photo(tmp_path / "album" / "a.jpg", size=(40, 30))            # 1,200 pixels
    write_black_png(tmp_path / "album" / "b.png", 60, 50)               # 3,000 pixels
    write_photo(tmp_path / "album" / "c.jpg", value=20, size=(50, 40))  # 2,000 pixels
    decoded = []
    decode = storage.decode_image
    monkeypatch.setattr(storage, "decode_image", lambda data: decoded.append(1) or decode(data))
    inputs = Inputs.open([str(tmp_path / "album")], Sampling(), max_photo_pixels=2000)
    with caplog.at_level(logging.WARNING):
        frames = list(inputs.frames())
    assert [info.name.split("/")[-1] for info, *_ in frames] == ["a.jpg", "c.jpg"]
    assert len(decoded) == 2  # b.png was never decoded
    big = str(tmp_path / "album" / "b.png")
    assert inputs.unreadable == [big]
    assert (f"skipping {big}: 60x50 pixels, more than the 0.002 megapixels a photo may have"
            in caplog.text)
