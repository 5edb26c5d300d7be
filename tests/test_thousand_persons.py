"""A library's result in a real browser (headless Chromium): report.html and the review page of
1,000 persons open in under 3 s each, their images loaded as they scroll into view, those seen
once or twice folded under one heading with their counts, and every person reachable."""
import json
import threading
import time

import numpy as np
import pytest

from facesort.records.face import Face
from facesort.report.html import REPORT_HTML
from facesort.review.server import Review, ReviewServer
from person_db import PersonDB
from tests.chromium_cdp import Chromium, find_chromium

pytestmark = [pytest.mark.slow,
              pytest.mark.skipif(find_chromium() is None,
                                 reason="no chromium (apt-get install chromium)")]

PERSONS = 1000
LONG_PATH = "/home/someone/Videos/2024 summer holidays/the party at the lake house, evening.mp4"
OPENS_WITHIN_S = 3.0


def persons_and_faces(rng):
    """Every 7th person is someone who matters (3-12 faces), the others strangers (1-2)."""
    return [int(rng.integers(3, 13)) if number % 7 == 0 else int(rng.integers(1, 3))
            for number in range(PERSONS)]


@pytest.fixture(scope="module")
def library(tmp_path_factory):
    """A saved result of 1,000 persons (synthetic encodings, small face images)."""
    result = tmp_path_factory.mktemp("library") / "result"
    rng = np.random.default_rng(5)
    db, frame = PersonDB(), 0
    for faces in persons_and_faces(rng):
        centre = rng.normal(size=128)
        centre *= 3 / np.linalg.norm(centre)  # persons far apart: few suggestions
        members = []
        for _ in range(faces):
            crop = np.full((48, 48, 3), rng.integers(40, 220, 3), np.uint8)
            members.append(Face(file_name=f"party_f{frame:06d}_0.png",
                                encoding=centre + rng.normal(scale=0.05, size=128),
                                box=(10, 40, 40, 10), source=LONG_PATH,
                                frame=frame, time_s=frame / 25, crop=crop))
            frame += 1
        db.new_person(members)
    db.save(result)
    return result, db


@pytest.fixture(scope="module")
def browser():
    chromium = Chromium(find_chromium(), window=(1280, 900))
    yield chromium
    chromium.close()


def timed_open(browser, url, ready):
    started = time.monotonic()
    browser.open(url)
    browser.wait_until(ready, timeout=30)
    return time.monotonic() - started


def test_the_report_of_a_thousand_persons(library, browser):
    result, db = library
    names = {p.name for p in db.persons}
    took = timed_open(browser, (result / REPORT_HTML).resolve().as_uri(), "document.readyState "
                      "=== 'complete'")
    assert took < OPENS_WITHIN_S, f"report.html took {took:.1f} s"
    counts = browser.evaluate("""JSON.stringify({
        images: document.images.length,
        loaded: [...document.images].filter(i => i.complete && i.naturalWidth > 0).length,
        heading: document.querySelector('#seen-few h2').textContent,
        anchors: [...document.querySelectorAll('section[id^=person-], figure[id^=person-]')]
                   .map(e => [e.id, (e.querySelector('h2, strong') || {}).textContent]),
        links: [...document.querySelectorAll('a[href^="#person-"]')].map(a => a.hash.slice(1))})""")
    counts = json.loads(counts)
    few = [p for p in db.persons if len(p.faces) <= 2]
    assert counts["heading"] == (f"Seen once or twice ({len(few)} persons, "
                                 f"{sum(len(p.faces) for p in few)} faces)")
    assert counts["images"] >= PERSONS and counts["loaded"] < 40  # lazy: those in view only
    # at 1280 px the tables stay inside the page: the file's name, its path on hover
    assert browser.evaluate("document.documentElement.scrollWidth <= innerWidth")
    assert browser.evaluate("document.querySelector('table.persons td span[title]').title") \
        == LONG_PATH
    anchors = dict(counts["anchors"])
    assert set(anchors.values()) == names                # every person has a place ...
    assert set(counts["links"]) == set(anchors)          # ... linked from a table
    for anchor in (counts["anchors"][-1][0], counts["anchors"][len(anchors) // 2][0]):
        browser.evaluate(f"location.hash = '#{anchor}'")
        browser.wait_until(f"""(() => {{ const e = document.getElementById('{anchor}');
            const r = e.getBoundingClientRect();
            return r.height > 0 && r.top >= -1 && r.top < innerHeight; }})()""", timeout=5)
        # (a folded one: its heading opened)


def test_the_review_page_of_a_thousand_persons(library, browser):
    result, db = library
    server = ReviewServer(Review(result))
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        took = timed_open(browser, server.url,
                          f"document.querySelectorAll('.person').length === {PERSONS}")
        assert took < OPENS_WITHIN_S, f"the review page took {took:.1f} s to show its persons"
        few = [p for p in db.persons if len(p.faces) <= 2]
        summary = browser.evaluate("document.querySelector('#seen-few > summary').textContent")
        assert summary == (f"Seen once or twice: {len(few)} persons, "
                           f"{sum(len(p.faces) for p in few)} faces")
        shown = browser.evaluate(
            "[...document.querySelectorAll('.person')].map(p => p.dataset.person)")
        assert sorted(shown) == sorted(p.name for p in db.persons)  # every person there
        browser.wait_until("[...document.images].filter(i => i.complete).length > 10")
        loaded = browser.evaluate(
            "[...document.images].filter(i => i.complete && i.naturalWidth > 0).length")
        assert 10 < loaded < 200  # the tiles in view, not all 2,000
        # a folded person's face can be selected once the fold is open
        browser.click("#seen-few > summary")
        face = few[-1].faces[0].file_name
        browser.click(f'.face[data-face="{face}"]')
        assert browser.wait_until("document.getElementById('selected-count').textContent")
        assert browser.evaluate("document.querySelectorAll('.merge-target option').length") \
            < 2 * PERSONS  # not a million options
    finally:
        server.shutdown()
        server.server_close()
