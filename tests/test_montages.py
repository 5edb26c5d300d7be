"""Montage pages: redrawn only where faces changed, so an autosave stays cheap; stale pages of
ours removed, look-alike files of the user's kept."""
from person_db import PersonDB


def page_stamps(result_dir):
    return {p.name: p.stat().st_ino for p in result_dir.glob("montage.*.png")}


def test_only_pages_whose_faces_changed_are_redrawn(tmp_path, make_face):
    db = PersonDB()
    grace = db.new_person([make_face(0.0, 0.001 * k) for k in range(13)])  # pages 00 and 01
    astronaut = db.new_person([make_face(1.0, 0.001 * k) for k in range(3)])
    db.save(tmp_path)
    before = page_stamps(tmp_path)
    assert sorted(before) == ["montage.person_01-00.png", "montage.person_01-01.png",
                              "montage.person_02-00.png"]
    grace.add_face(make_face(0.0, 0.5))
    db.save(tmp_path)
    after = page_stamps(tmp_path)
    redrawn = {name for name in after if after[name] != before[name]}  # a new file: a new inode
    assert redrawn == {"montage.person_01-01.png"}
    assert astronaut.faces  # untouched, and its page too


def test_stale_pages_go_but_a_users_look_alike_file_stays(tmp_path, make_face):
    db = PersonDB()
    db.new_person([make_face(0.0, 0.001 * k) for k in range(2)])
    db.save(tmp_path)
    (tmp_path / "montage.trip-2019.png").write_bytes(b"the user's")
    (tmp_path / "person_01").rename(tmp_path / "grace")
    reloaded = PersonDB()
    reloaded.load(tmp_path)
    reloaded.save(tmp_path)
    assert sorted(p.name for p in tmp_path.glob("montage.*.png")) == [
        "montage.grace-00.png", "montage.trip-2019.png"]


def test_a_page_of_few_faces_is_only_as_large_as_they_need(tmp_path):
    import cv2
    import numpy as np

    from facesort.result.montages import write_montage_page

    faces = []
    for number in range(2):
        faces.append(tmp_path / f"f{number}.png")
        cv2.imwrite(str(faces[-1]), np.full((60, 60, 3), 200, np.uint8))
    write_montage_page(tmp_path / "two.png", faces)
    page = cv2.imread(str(tmp_path / "two.png"))
    assert page.shape == (128, 256, 3) and page.min() > 100  # two tiles, no black block
    write_montage_page(tmp_path / "eight.png", faces * 4)
    assert cv2.imread(str(tmp_path / "eight.png")).shape == (256, 768, 3)  # 6 + 2 tiles
