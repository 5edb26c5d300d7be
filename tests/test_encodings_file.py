"""The encodings on disk: a run's first save writes them all, the next ones only those of the
faces found since, until these are a fifth of all; a result loads whole from both files."""
import numpy as np

from facesort import storage
from facesort.result import encodings_file
from facesort.result.encodings_file import EncodingsFile, read_stored
from facesort.result.layout import ADDED_ENCODINGS_FILE, ENCODINGS_FILE


def encodings(first, count):
    return {f"f{k:04d}.png": np.full(128, k / 1000.0) for k in range(first, first + count)}


def test_later_saves_write_only_the_encodings_added_since(tmp_path):
    stored = EncodingsFile()
    faces = encodings(0, 100)
    stored.save(tmp_path, faces, "dlib")
    whole = (tmp_path / ENCODINGS_FILE).stat().st_mtime_ns
    faces.update(encodings(100, 5))
    faces["f0003.png"] = np.full(128, 0.5)  # a face found again under the same name
    stored.save(tmp_path, faces, "dlib")
    assert (tmp_path / ENCODINGS_FILE).stat().st_mtime_ns == whole
    added = storage.read_encodings(tmp_path / ADDED_ENCODINGS_FILE)
    assert sorted(added.encodings) == ["f0003.png", *sorted(encodings(100, 5))]
    loaded = read_stored(tmp_path)
    assert loaded.encodings.keys() == faces.keys() and loaded.encoder == "dlib"
    assert all(np.array_equal(loaded.encodings[name], faces[name]) for name in faces)


def test_the_whole_file_is_written_again_once_a_fifth_is_added_and_the_added_one_goes(
        tmp_path):
    stored = EncodingsFile()
    faces = encodings(0, 100)
    stored.save(tmp_path, faces, "dlib")
    faces.update(encodings(100, 20))
    stored.save(tmp_path, faces, "dlib")
    assert (tmp_path / ADDED_ENCODINGS_FILE).exists()
    faces.update(encodings(120, 1))
    stored.save(tmp_path, faces, "dlib")
    assert not (tmp_path / ADDED_ENCODINGS_FILE).exists()
    assert read_stored(tmp_path).encodings.keys() == faces.keys()


def test_an_added_file_of_another_whole_file_is_not_read(tmp_path, monkeypatch):
    faces = encodings(0, 100)
    first = EncodingsFile()
    first.save(tmp_path, faces, "dlib")
    first.save(tmp_path, {**faces, **encodings(100, 3)}, "dlib")
    # killed after another run wrote a new whole file, before the old added file went
    monkeypatch.setattr(encodings_file.Path, "unlink", lambda *args, **kwargs: None)
    EncodingsFile().save(tmp_path, faces, "dlib")
    assert (tmp_path / ADDED_ENCODINGS_FILE).exists()
    assert read_stored(tmp_path).encodings.keys() == faces.keys()


def test_a_whole_file_replaced_behind_the_runs_back_is_written_whole_again(tmp_path):
    stored = EncodingsFile()
    faces = encodings(0, 100)
    stored.save(tmp_path, faces, "dlib")
    storage.save_encodings(tmp_path / ENCODINGS_FILE, encodings(0, 10), "dlib")  # a backup
    faces.update(encodings(100, 1))
    stored.save(tmp_path, faces, "dlib")
    assert read_stored(tmp_path).encodings.keys() == faces.keys()


def test_an_older_versions_file_without_a_generation_still_loads(tmp_path):
    faces = encodings(0, 3)
    names = sorted(faces)
    np.savez(tmp_path / ENCODINGS_FILE, names=np.array(names),
             encodings=np.array([faces[n] for n in names]), encoder=np.array("dlib"))
    (tmp_path / ADDED_ENCODINGS_FILE).write_bytes(b"")  # not ours to read without one
    assert read_stored(tmp_path).encodings.keys() == faces.keys()
