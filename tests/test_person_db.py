"""PersonDB and the result directory: round trips, the user's renames and moves, legacy files."""
import csv
import logging
import os
import pickle
import shutil

import numpy as np
import pytest

from facesort.records.face import Person
from facesort.result.layout import ENCODINGS_FILE, FACES_CSV
from person_db import PersonDB
from tests.conftest import LEGACY_RESULT, encoding_at, writable_copy


def never_encode(image):
    raise AssertionError("a stored encoding should have been reused")


def saved_db(result_dir, make_face, sizes=(3, 2), unknowns=1):
    db = PersonDB()
    for number, size in enumerate(sizes):
        db.new_person([make_face(float(number), 0.01 * k) for k in range(size)])
    for _ in range(unknowns):
        db.unknown.add_face(make_face(9.0))
    db.save(result_dir)
    return db


def read_rows(result_dir):
    with open(result_dir / FACES_CSV, newline="") as file:
        return list(csv.DictReader(file))


def test_save_writes_folders_montages_encodings_and_an_index(tmp_path, make_face):
    saved_db(tmp_path, make_face, sizes=(13, 2))
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "appearances.csv", "distances.csv", ENCODINGS_FILE, FACES_CSV,
        "montage.person_01-00.png", "montage.person_01-01.png", "montage.person_02-00.png", "montage.unknowns-00.png",
        "person_01", "person_02", "report.html", "unknowns"]
    assert len(list((tmp_path / "person_01").iterdir())) == 13
    rows = read_rows(tmp_path)
    assert len(rows) == 16
    first = rows[0]
    assert first["person"] == "person_01" and first["file"] == "person_01/clip_f000000_0.png"
    assert (first["source"], first["frame"], first["time_s"]) == ("clip.mp4", "0", "0.000")
    assert (first["top"], first["right"], first["bottom"], first["left"]) == ("10", "40", "40", "10")


def test_rename_and_move_survive_a_reload_without_recomputing(tmp_path, make_face):
    db = saved_db(tmp_path, make_face)
    moved = db.persons[1].faces[0]
    (tmp_path / "person_01").rename(tmp_path / "giwoo")
    (tmp_path / "person_02" / moved.file_name).rename(tmp_path / "giwoo" / moved.file_name)

    reloaded = PersonDB()
    reloaded.load(tmp_path, encode_image=never_encode)
    names = {p.name: p for p in reloaded.persons}
    assert sorted(names) == ["giwoo", "person_02"]
    assert moved.file_name in [f.file_name for f in names["giwoo"].faces]
    assert len(names["giwoo"].faces) == 4 and len(names["person_02"].faces) == 1
    reloaded_face = next(f for f in names["giwoo"].faces if f.file_name == moved.file_name)
    np.testing.assert_array_equal(reloaded_face.encoding, moved.encoding)
    reloaded.save(tmp_path)
    rows = {r["file"]: r for r in read_rows(tmp_path)}
    assert rows[f"giwoo/{moved.file_name}"]["person"] == "giwoo"
    assert rows[f"giwoo/{moved.file_name}"]["frame"] == str(moved.frame)  # metadata follows the move
    assert not (tmp_path / "montage.person_01-00.png").exists()
    assert (tmp_path / "montage.giwoo-00.png").exists()


def test_a_face_moved_to_unknowns_is_unknown_after_reload(tmp_path, make_face):
    db = saved_db(tmp_path, make_face)
    name = db.persons[0].faces[0].file_name
    (tmp_path / "person_01" / name).rename(tmp_path / "unknowns" / name)
    reloaded = PersonDB()
    reloaded.load(tmp_path, encode_image=never_encode)
    assert reloaded.person_of(name).name == "unknowns"
    assert len(reloaded.unknown.faces) == 2


def test_followed_from_s_follows_the_box_and_a_face_moved_by_hand(tmp_path, make_face):
    db = PersonDB()
    followed, unknown_since = make_face(0.0), make_face(0.01)
    followed.time_s, followed.followed_from_s = 7.0, 5.5
    db.new_person([followed, unknown_since])
    db.new_person([make_face(1.0)])
    db.save(tmp_path)
    rows = {r["file"]: r for r in read_rows(tmp_path)}
    assert list(read_rows(tmp_path)[0])[-2:] == ["followed_from_s", "unfit"]
    assert rows[f"person_01/{followed.file_name}"]["followed_from_s"] == "5.500"
    assert rows[f"person_01/{unknown_since.file_name}"]["followed_from_s"] == ""

    name = followed.file_name
    (tmp_path / "person_01" / name).rename(tmp_path / "person_02" / name)
    reloaded = PersonDB()
    reloaded.load(tmp_path, encode_image=never_encode)
    loaded = {f.file_name: f for _, f in reloaded.all_faces()}
    assert reloaded.person_of(followed.file_name).name == "person_02"
    assert (loaded[followed.file_name].time_s, loaded[followed.file_name].followed_from_s) == (
        7.0, 5.5)
    assert loaded[unknown_since.file_name].followed_from_s is None
    reloaded.save(tmp_path)
    rows = {r["file"]: r for r in read_rows(tmp_path)}
    assert rows[f"person_02/{followed.file_name}"]["followed_from_s"] == "5.500"


def test_a_faces_csv_without_followed_from_s_loads_as_unknown(tmp_path, make_face):
    """Results of older versions: faces.csv ends with the box."""
    saved_db(tmp_path, make_face)
    lines = (tmp_path / FACES_CSV).read_text().splitlines()
    assert lines[0].endswith(",left,followed_from_s,unfit")
    (tmp_path / FACES_CSV).write_text(
        "".join(line.rsplit(",", 2)[0] + "\n" for line in lines))
    db = PersonDB()
    db.load(tmp_path, encode_image=never_encode)
    faces = [face for _, face in db.all_faces()]
    assert len(faces) == 6 and all(f.followed_from_s is None for f in faces)
    assert all(f.time_s is not None and f.box == (10, 40, 40, 10) for f in faces)
    db.save(tmp_path)
    assert read_rows(tmp_path)[0]["followed_from_s"] == ""


def test_numbering_continues_after_the_highest_folder_on_disk(tmp_path, make_face):
    saved_db(tmp_path, make_face, sizes=(2, 2))
    (tmp_path / "person_01").rename(tmp_path / "person_12")
    db = PersonDB()
    db.load(tmp_path, encode_image=never_encode)
    assert db.new_person([make_face(3.0)]).name == "person_13"


def test_an_image_without_a_stored_encoding_is_encoded_once(tmp_path, make_face):
    saved_db(tmp_path, make_face)
    shutil.copy(tmp_path / "person_01" / "clip_f000000_0.png", tmp_path / "person_01" / "added.png")
    calls = []
    db = PersonDB()
    db.load(tmp_path, encode_image=lambda image: calls.append(image.shape) or encoding_at(0.5))
    assert calls == [(48, 48, 3)]
    assert any(f.file_name == "added.png" for f in db.persons[0].faces)


def test_unreadable_images_and_user_files_are_left_alone(tmp_path, make_face, caplog):
    saved_db(tmp_path, make_face)
    (tmp_path / "person_01" / "broken.png").write_bytes(b"not a png")
    (tmp_path / "notes.txt").write_text("who is who")
    (tmp_path / "my folder").mkdir()
    (tmp_path / "my folder" / "list.txt").write_text("keep me")
    db = PersonDB()
    with caplog.at_level(logging.WARNING):
        db.load(tmp_path, encode_image=lambda image: encoding_at(0.5))
    assert "broken.png" in caplog.text
    db.save(tmp_path)
    assert (tmp_path / "notes.txt").read_text() == "who is who"
    assert (tmp_path / "my folder" / "list.txt").read_text() == "keep me"
    assert (tmp_path / "person_01" / "broken.png").read_bytes() == b"not a png"


def legacy_result(tmp_path, make_face, payload):
    """A result directory as the original tool wrote it: folders + a pickled encodings dict."""
    for folder, faces in (("person_01", 2), ("unknowns", 1)):
        (tmp_path / folder).mkdir()
        for k in range(faces):
            face = make_face(float(k))
            from facesort.storage import write_image
            write_image(tmp_path / folder / f"20200816_17510{k}.123-0{folder[0]}.png", face.crop)
    (tmp_path / "face_encodings").write_bytes(pickle.dumps(payload))


def test_a_legacy_pickle_of_encodings_is_imported(tmp_path, make_face):
    payload = {"20200816_175100.123-0p.png": encoding_at(0.1), "20200816_175101.123-0p.png":
               encoding_at(0.2), "20200816_175100.123-0u.png": encoding_at(3.0)}
    legacy_result(tmp_path, make_face, payload)
    db = PersonDB()
    db.load(tmp_path, encode_image=never_encode)
    assert [p.name for p in db.persons] == ["person_01"]
    np.testing.assert_allclose(db.persons[0].encoding, encoding_at(0.15))
    assert len(db.unknown.faces) == 1


def test_a_legacy_pickle_is_converted_once_and_kept_unread(tmp_path, make_face, capsys,
                                                            caplog):
    payload = {"20200816_175100.123-0p.png": encoding_at(0.1), "20200816_175101.123-0p.png":
               encoding_at(0.2), "20200816_175100.123-0u.png": encoding_at(3.0)}
    legacy_result(tmp_path, make_face, payload)
    old = (tmp_path / "face_encodings").read_bytes()
    db = PersonDB()
    db.load(tmp_path, encode_image=never_encode)
    assert (f"3 face_encodings in {tmp_path / 'face_encodings'}, the original tool's file: "
            f"converted to {tmp_path / 'face_encodings.npz'} at the next save, which is read "
            f"from then on (the old file is kept, and no longer read)") in capsys.readouterr().out
    db.save(tmp_path)
    assert (tmp_path / "face_encodings").read_bytes() == old  # the user's file, untouched
    (tmp_path / "face_encodings").write_bytes(b"garbage: would warn if it were read")
    again = PersonDB()
    with caplog.at_level(logging.INFO):
        again.load(tmp_path, encode_image=never_encode)
    out = capsys.readouterr().out
    assert f"3 face_encodings in {tmp_path / 'face_encodings.npz'}" in out
    assert "original tool" not in out and "ignoring" not in caplog.text
    assert "not reading" in caplog.text  # said with -v only
    np.testing.assert_allclose(again.persons[0].encoding, encoding_at(0.15))


class Exploit:
    def __reduce__(self):
        return (os.system, ("touch pwned",))


def test_a_pickle_carrying_code_is_refused_and_never_run(tmp_path, make_face, monkeypatch, caplog):
    monkeypatch.chdir(tmp_path)
    legacy_result(tmp_path, make_face, {"x.png": Exploit()})
    encoded = []
    db = PersonDB()
    with caplog.at_level(logging.WARNING):
        db.load(tmp_path, encode_image=lambda image: encoded.append(1) or encoding_at(0.0))
    assert not (tmp_path / "pwned").exists()
    assert "refusing to load posix.system" in caplog.text
    assert len(encoded) == 3  # the faces are kept, encoded from their images instead


@pytest.mark.skipif(not LEGACY_RESULT.is_dir(), reason="../shared is absent")
def test_the_original_tools_result_directory_loads(tmp_path):
    result = tmp_path / "result"
    writable_copy(LEGACY_RESULT, result)
    db = PersonDB()
    db.load(result, encode_image=never_encode)
    assert repr(db) == "2 persons, 6 known faces, 5 unknown faces"


def test_the_encoding_matrix_follows_appends_pops_and_merges(make_face):
    person = Person("p", [make_face(0.0), make_face(1.0)])
    np.testing.assert_array_equal(person.encoding_matrix()[:, 0], [0.0, 1.0])
    for offset in range(2, 40):  # past the first buffer
        person.add_face(make_face(float(offset)))
    assert person.encoding_matrix()[:, 0].tolist() == [float(k) for k in range(40)]
    person.faces.pop(0)
    person.faces.extend([make_face(99.0)])
    assert person.encoding_matrix()[:, 0].tolist() == [float(k) for k in range(1, 40)] + [99.0]
    person.faces[:] = [make_face(7.0)]
    assert person.encoding_matrix()[:, 0].tolist() == [7.0]


def test_an_average_of_unit_length_encodings_is_their_mean_direction():
    from facesort.records.face import Face, Person, mean_encoding

    first, second = np.zeros(128), np.zeros(128)
    first[0], second[1] = 1.0, 1.0
    person = Person("p", [Face("a.png", first), Face("b.png", second)])
    expected = np.zeros(128)
    expected[:2] = np.sqrt(0.5)
    np.testing.assert_allclose(person.encoding, expected)    # length 1, not 0.71
    person.add_face(Face("c.png", first))
    assert np.linalg.norm(person.encoding) == pytest.approx(1.0)
    np.testing.assert_allclose(mean_encoding([first, second]), expected)
    # encodings of other lengths (dlib's) average as they always did
    np.testing.assert_allclose(mean_encoding([2 * first, 2 * second])[:2], [1.0, 1.0])


def test_a_result_remembers_its_encoder_and_another_encoders_run_encodes_it_again(
        tmp_path, make_face, capsys):
    from person_db import EncoderMismatch, stored_encoder

    saved_db(tmp_path, make_face, sizes=(2,), unknowns=1)      # dlib's, as every result was
    assert stored_encoder(tmp_path) == "dlib"
    same = PersonDB()
    same.load(tmp_path, encode_image=never_encode, encoder="dlib")
    assert same.encoder == "dlib"
    encoded = []

    def encode(image):
        encoded.append(image.shape)
        vector = np.zeros(128)
        vector[0] = 1.0
        return vector

    converted = PersonDB()
    converted.load(tmp_path, encode_image=encode, encoder="mobilefacenet")
    assert len(encoded) == 3                                    # every face, from its image
    assert "encoded again with mobilefacenet" in capsys.readouterr().out
    converted.save(tmp_path)
    assert stored_encoder(tmp_path) == "mobilefacenet"
    again = PersonDB()
    again.load(tmp_path, encode_image=never_encode)             # its own encoder: kept
    assert again.encoder == "mobilefacenet"
    assert np.linalg.norm(again.persons[0].encoding) == pytest.approx(1.0)
    with pytest.raises(EncoderMismatch, match="mobilefacenet's encodings, not dlib's"):
        PersonDB().load(tmp_path, encoder="dlib")               # nothing to encode them with


def test_an_unfit_face_is_saved_in_unknowns_and_loads_flagged(tmp_path, make_face):
    db = saved_db(tmp_path, make_face)
    unfit = make_face(0.0)   # as near to person_01 as can be: its encoding is not trusted
    unfit.unfit = "small"
    db.unknown.add_face(unfit)
    db.save(tmp_path)
    assert (tmp_path / "unknowns" / unfit.file_name).is_file()
    rows = {r["file"]: r for r in read_rows(tmp_path)}
    assert rows[f"unknowns/{unfit.file_name}"]["unfit"] == "small"
    assert {r["unfit"] for name, r in rows.items() if unfit.file_name not in name} == {""}
    reloaded = PersonDB()
    reloaded.load(tmp_path, encode_image=never_encode)
    loaded = {f.file_name: f for _, f in reloaded.all_faces()}
    assert reloaded.person_of(unfit.file_name) is reloaded.unknown
    assert loaded[unfit.file_name].unfit == "small"
    np.testing.assert_array_equal(loaded[unfit.file_name].encoding, unfit.encoding)
    assert all(f.unfit is None for name, f in loaded.items() if name != unfit.file_name)


def test_an_unfit_face_the_user_moved_into_a_person_is_theirs(tmp_path, make_face):
    db = saved_db(tmp_path, make_face)
    unfit = make_face(7.0)
    unfit.unfit = "turned"
    db.unknown.add_face(unfit)
    db.save(tmp_path)
    (tmp_path / "unknowns" / unfit.file_name).rename(tmp_path / "person_02" / unfit.file_name)
    reloaded = PersonDB()
    reloaded.load(tmp_path, encode_image=never_encode)
    person = reloaded.person_of(unfit.file_name)
    assert person.name == "person_02" and len(person.faces) == 3
    reloaded.save(tmp_path)
    rows = {r["file"]: r for r in read_rows(tmp_path)}
    assert rows[f"person_02/{unfit.file_name}"]["unfit"] == "turned"   # still said why


def test_montage_pages_are_found_for_each_person_in_page_order(tmp_path, make_face):
    from facesort.result.montages import montage_pages

    saved_db(tmp_path, make_face, sizes=(25, 2))
    pages = montage_pages(tmp_path)
    assert pages["person_01"] == [
        "montage.person_01-00.png", "montage.person_01-01.png", "montage.person_01-02.png"]
    assert pages["person_02"] == ["montage.person_02-00.png"]
    assert "nobody" not in pages


def test_loading_a_library_names_twenty_persons_and_counts_the_rest(tmp_path, make_face, capsys):
    from facesort.result.store import LISTED_AT_LOAD

    saved_db(tmp_path, make_face, sizes=(2,) * (LISTED_AT_LOAD + 5), unknowns=1)
    capsys.readouterr()
    PersonDB().load(tmp_path)
    lines = capsys.readouterr().out.splitlines()
    named = [line for line in lines if line.startswith("person_")]
    assert len(named) == LISTED_AT_LOAD and named[0] == "person_01 has 2 faces"
    assert "... and 5 more persons, 10 faces" in lines
    assert lines[lines.index("... and 5 more persons, 10 faces") + 1] == "unknowns has 1 face"
