"""report.html: written on every save, self-contained, a section per person; and in a browser."""
import re
import xml.etree.ElementTree as ElementTree
import shutil
import time
from html.parser import HTMLParser
from urllib.parse import unquote

import cv2
import numpy as np
import pytest

from facesort.report.html import REPORT_HTML
from person_db import PersonDB

WEIRD_NAME = 'Kim "K" <b>& co #1 100%'


class Links(HTMLParser):
    """Every URL the page would fetch or follow, and every tag."""

    def __init__(self) -> None:
        super().__init__()
        self.urls: list[tuple[str, str]] = []
        self.tags: set[str] = set()

    def handle_starttag(self, tag, attrs):
        self.tags.add(tag)
        for name, value in attrs:
            if name in ("src", "href"):
                self.urls.append((tag, value))


def parse(page: str) -> Links:
    links = Links()
    links.feed(page)
    return links


def sample_result(result_dir, make_face, camera=False):
    """Two persons (one renamed to an awkward name) and an unknown face, saved."""
    db = PersonDB()
    ann = db.new_person([make_face(0.0, 0.01 * k) for k in range(14)])  # two montage pages
    bob = db.new_person([make_face(1.0), make_face(1.01)])
    db.unknown.add_face(make_face(5.0))
    if camera:
        for number, face in enumerate(bob.faces):
            face.source, face.time_s = "camera0@20250304-050607", 1_741_064_767.0 + number
    db.save(result_dir)
    (result_dir / ann.name).rename(result_dir / WEIRD_NAME)
    reloaded = PersonDB()
    reloaded.load(result_dir, encode_image=None)
    reloaded.save(result_dir)
    return reloaded


def test_every_save_writes_a_self_contained_report(tmp_path, make_face):
    sample_result(tmp_path, make_face)
    page = (tmp_path / REPORT_HTML).read_text(encoding="utf-8")
    links = parse(page)
    assert not links.tags & {"script", "link", "iframe", "object", "embed"}
    images = [url for tag, url in links.urls if tag == "img"]
    assert len(images) == 2 + 1 + 1  # two pages of the renamed person, bob, unknowns
    for url in images:
        if url.startswith("data:"):
            continue
        assert "://" not in url and not url.startswith("/")
        assert (tmp_path / unquote(url)).is_file(), url  # relative, and there
    for tag, url in links.urls:
        assert url.startswith(("data:image/png;base64,", "#")) or tag == "img", url
    assert "http" not in re.sub(r"<[^>]*>", "", page.split("<style>")[0])


def test_the_timeline_is_svg_inline_with_a_bar_per_appearance(tmp_path, make_face):
    sample_result(tmp_path, make_face)
    page = (tmp_path / REPORT_HTML).read_text(encoding="utf-8")
    chart = ElementTree.fromstring(re.search(r"<svg .*?</svg>", page, re.S).group(0))
    assert chart.get("width") == "960" and int(chart.get("height")) > 100
    colours = [rect.get("fill") for rect in chart.iter("{http://www.w3.org/2000/svg}rect")]
    # a bar for each person and the unknown face, each in its own colour, and the frame
    assert len(set(colours) - {"none"}) == 3 and colours.count("none") == 1


def test_a_section_per_person_with_counts_first_and_last_seen(tmp_path, make_face):
    sample_result(tmp_path, make_face)
    page = (tmp_path / REPORT_HTML).read_text(encoding="utf-8")
    assert "<b>" not in page and "Kim &quot;K&quot; &lt;b&gt;&amp; co #1 100%" in page
    sections = re.findall(r'<section id="([^"]+)">\s*<h2><span class="swatch"[^>]*></span>'
                          r'([^<]*)</h2>\s*<p class="facts">(.*?)</p>', page, re.S)
    assert [(anchor, facts) for anchor, _, facts in sections] == [
        ("person-1", "14 faces · 1 appearance in 1 video · first seen clip.mp4 at 0:00.0 · "
                     "last seen clip.mp4 at 0:00.5"),
        ("person-2", "2 faces · 1 appearance in 1 video · first seen clip.mp4 at 0:00.6 · "
                     "last seen clip.mp4 at 0:00.6"),
        ("unknowns", "1 face · 1 appearance in 1 video · first seen clip.mp4 at 0:00.6 · "
                     "last seen clip.mp4 at 0:00.6")]
    assert [title for _, title, _ in sections][1:] == ["person_02", "Unknown faces"]
    assert 'id="seen-few"' not in page  # two persons: nothing to fold
    assert "2 persons, 16 known faces, 1 unknown face " in page


def test_webcam_times_are_shown_as_the_clock(tmp_path, make_face):
    sample_result(tmp_path, make_face, camera=True)
    page = (tmp_path / REPORT_HTML).read_text(encoding="utf-8")
    clock = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(1_741_064_767.0))
    assert f"camera0@20250304-050607 at {clock}" in page


def test_photos_only_give_no_chart_and_are_listed(tmp_path, make_face):
    db = PersonDB()
    faces = [make_face(0.0), make_face(0.01)]
    for number, face in enumerate(faces):
        face.source, face.frame, face.time_s = f"album/IMG_{number}.jpg", 0, 0.0
    db.new_person(faces)
    db.save(tmp_path)
    page = (tmp_path / REPORT_HTML).read_text(encoding="utf-8")
    assert "data:image/png" not in page and "Nobody was seen in a video or webcam yet" in page
    assert "2 faces · in 2 photos" in page
    assert ('<p>Photos: <span title="album/IMG_0.jpg">IMG_0.jpg</span>, '
            '<span title="album/IMG_1.jpg">IMG_1.jpg</span>') in page  # the path on hover


def test_an_empty_result_still_gets_a_report(tmp_path):
    PersonDB().save(tmp_path)
    page = (tmp_path / REPORT_HTML).read_text(encoding="utf-8")
    assert "No persons yet" in page
    assert (tmp_path / "appearances.csv").read_text() == "person,source,start_s,end_s,faces\n"


chromium = pytest.mark.skipif(
    not any(shutil.which(name) for name in ("chromium", "chromium-browser", "google-chrome")),
    reason="no chromium (apt-get install chromium)")


@pytest.mark.slow
@chromium
def test_the_report_renders_in_chromium_with_every_image(tmp_path, make_face):
    from facesort.report.render import find_chromium, loaded_images, screenshot

    result = tmp_path / "my result"  # a space in the path, as users have
    result.mkdir()
    sample_result(result, make_face)
    images = loaded_images(result / REPORT_HTML, find_chromium())
    assert len(images) == 4
    assert all(image.loaded for image in images), images
    # pages as large as their faces need: 12 and 2 faces of the first, bob's 2, 1 unknown
    assert sorted((i.width, i.height) for i in images) == [
        (128, 128), (256, 128), (256, 128), (768, 256)]
    # a page whose montage is gone shows as broken: the check can fail
    next(result.glob("montage.person_02-*.png")).unlink()
    broken = [i for i in loaded_images(result / REPORT_HTML, find_chromium()) if not i.loaded]
    assert [i.src for i in broken] == ["montage.person_02-00.png"]

    shot = tmp_path / "shot.png"
    size = screenshot(result / REPORT_HTML, find_chromium(), shot, (800, 900))
    image = cv2.imread(str(shot))
    assert image.shape[:2] == (900, 800) and size < 300_000
    assert len(np.unique(image.reshape(-1, 3), axis=0)) > 20  # the page, not a blank window
    first_colour = np.array([0xb4, 0x77, 0x1f])   # the timeline's first bar, #1f77b4 as BGR
    assert (np.abs(image.astype(int) - first_colour).sum(axis=2) < 10).sum() > 500


def test_faces_unfit_to_sort_are_counted_by_reason_and_shown_with_it(tmp_path, make_face):
    db = PersonDB()
    db.new_person([make_face(0.0), make_face(0.01)])
    for why in ("small", "cut", "small"):
        face = make_face(3.0)
        face.unfit = why
        db.unknown.add_face(face)
    db.unknown.add_face(make_face(5.0))   # an unknown face fit to sort: not listed there
    db.save(tmp_path)
    reloaded = PersonDB()    # the reasons come back from faces.csv
    reloaded.load(tmp_path, encode_image=None)
    reloaded.save(tmp_path)
    page = (tmp_path / REPORT_HTML).read_text(encoding="utf-8")
    section = re.search(r'<section id="unfit">(.*?)</section>', page, re.S).group(1)
    assert "3 faces in unknowns/ whose encoding is not trusted: 1 cut, 2 small." in section
    shown = re.findall(r'<img src="([^"]+)"[^>]*><figcaption>(\w+)</figcaption>', section)
    assert sorted(why for _, why in shown) == ["cut", "small", "small"]
    for url, _ in shown:
        assert url.startswith("unknowns/") and (tmp_path / unquote(url)).is_file(), url


def test_without_unfit_faces_the_report_has_no_such_section(tmp_path, make_face):
    sample_result(tmp_path, make_face)
    assert 'id="unfit"' not in (tmp_path / REPORT_HTML).read_text(encoding="utf-8")


def test_tables_show_a_sources_file_name_its_path_on_hover_and_its_kind_in_words(tmp_path,
                                                                                 make_face):
    db = PersonDB()
    faces = [make_face(0.0, 0.01 * k) for k in range(3)]
    long_path = "/home/someone/Videos/holidays 2024/day three/the beach at noon.mp4"
    for face in faces:
        face.source = long_path
    db.new_person(faces)
    db.save(tmp_path)
    page = (tmp_path / REPORT_HTML).read_text(encoding="utf-8")
    table = re.search(r'<table class="persons">(.*?)</table>', page, re.S).group(1)
    shown = '<span title="/home/someone/Videos/holidays 2024/day three/the beach at noon.mp4">'
    assert f"<td>{shown}the beach at noon.mp4</span> at 0:00.0</td>" in table
    assert long_path not in re.sub(r'title="[^"]*"', "", page)  # only ever on hover
    sources = page.split("<h2>Sources</h2>")[1]
    assert "<td>video</td>" in sources and "SourceKind" not in page


def test_a_library_folds_the_persons_seen_once_or_twice_under_one_heading(tmp_path, make_face):
    db = PersonDB()
    for number in range(30):  # 10 persons of 3-5 faces, 20 strangers seen once or twice
        faces = 3 + number % 3 if number < 10 else 1 + number % 2
        db.new_person([make_face(float(number), 0.01 * k) for k in range(faces)])
    db.save(tmp_path)
    page = (tmp_path / REPORT_HTML).read_text(encoding="utf-8")
    before, fold = page.split('<section id="seen-few">')
    fold = fold.split("</section>")[0]
    assert "Seen once or twice <span class=\"count\">(20 persons, 30 faces)</span>" in fold
    assert '<a href="#seen-few">20 persons seen once or twice</a>' in before
    assert "<details>" in fold and fold.count('<figure class="card"') == 20
    main_table = re.search(r'<table class="persons">(.*?)</table>', before, re.S).group(1)
    assert main_table.count("<tr>") == 1 + 10           # the people who matter, up front
    assert before.count("<section id=\"person-") == 10
    linked = set(re.findall(r'href="#(person-\d+)"', page))
    anchors = set(re.findall(r'id="(person-\d+)"', page))
    assert linked == anchors and len(anchors) == 30     # every person reachable from a table
    assert all('loading="lazy"' in tag for tag in re.findall(r"<img class=\"montage\"[^>]*>", page))


def test_persons_are_listed_as_their_names_read_person_2_before_person_10():
    from facesort.report.html import natural_order

    names = ["person_10", "giwoo", "person_2", "Person_100", "person_1"]
    assert sorted(names, key=natural_order) == [
        "giwoo", "person_1", "person_2", "person_10", "Person_100"]


def written_as_of_no_time(page: str) -> str:
    return re.sub(r"written [^<]*? by face-classifier", "written by face-classifier", page)


def test_an_incremental_save_writes_the_report_a_fresh_one_would(tmp_path, make_face):
    from facesort.report.appearances import APPEARANCES_CSV
    from facesort.report.html import write_report

    db = PersonDB()
    ann = db.new_person([make_face(0.0, 0.01 * k) for k in range(14)])
    bob = db.new_person([make_face(1.0), make_face(1.01)])
    cy = db.new_person([make_face(2.0)])
    db.unknown.add_face(make_face(5.0))
    db.save(tmp_path)  # its report's parts are remembered
    for _ in range(60):  # a gap, then faces added: appearances change and grow
        make_face(0.0)
    ann.add_faces([make_face(0.0, 0.2), make_face(0.0, 0.21)])
    moved = ann.faces[3]
    ann.remove_faces([moved])
    bob.add_face(moved)
    cy.name = "Cy"
    db.unknown.add_face(make_face(6.0))
    db.save(tmp_path, snapshot=db.snapshot())  # as an autosave in the background does
    incremental = (tmp_path / REPORT_HTML).read_text(encoding="utf-8")
    appearances = (tmp_path / APPEARANCES_CSV).read_text(encoding="utf-8")
    write_report(tmp_path, db)  # everything drawn afresh
    fresh = (tmp_path / REPORT_HTML).read_text(encoding="utf-8")
    assert written_as_of_no_time(incremental) == written_as_of_no_time(fresh)
    assert appearances == (tmp_path / APPEARANCES_CSV).read_text(encoding="utf-8")
    assert "Cy" in fresh and "person_03" not in fresh and fresh.count("clip.mp4") > 3
