"""The review page in a real browser (headless Chromium over the DevTools protocol): rename a person,
move a face, accept a suggestion, merge two persons, set a face aside, dismiss a suggestion; then
the result directory on disk, as the next run loads it.

REVIEW_SCREENSHOT=docs/review.png also saves the page's screenshot there."""
import json
import os
import threading
from pathlib import Path

import numpy as np
import pytest

from facesort import storage
from facesort.result.layout import ENCODINGS_FILE
from facesort.review.changes import SET_ASIDE, set_aside_faces
from facesort.review.server import Review, ReviewServer
from tests.chromium_cdp import Chromium, find_chromium
from tests.review_helpers import build_result, folders, load

pytestmark = [pytest.mark.slow,
              pytest.mark.skipif(find_chromium() is None,
                                 reason="no chromium (apt-get install chromium)")]

STRAY = "clip_f000275_0.png"       # anna's face that belongs to person_03 (see LAYOUT)
FAR_UNKNOWN = "clip_f000375_0.png"  # an unknown face near nobody
SCREENSHOT = (Path(os.environ["REVIEW_SCREENSHOT"]).resolve()  # before a test changes folder
              if os.environ.get("REVIEW_SCREENSHOT") else None)


@pytest.fixture
def page(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # the page shows the result as given: "result"
    result = Path("result")
    encodings = build_result(result)
    server = ReviewServer(Review(result))
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    browser = Chromium(find_chromium(), window=(1200, 1000))
    try:
        browser.open(server.url)
        browser.wait_until("document.querySelectorAll('.face').length === 15")
        suggestions_ready(browser)  # they push the persons down as they come: clicks wait
        yield browser, result, encodings
    finally:
        browser.close()
        server.shutdown()
        server.server_close()


def save_small(shot, target):
    """As render_report.py does: a palette PNG, small enough for the repository."""
    from PIL import Image

    with Image.open(shot) as image:
        image.convert("RGB").quantize(192).save(target, optimize=True)


def done(browser, message):
    """Wait for the page to confirm a change with ``message``."""
    return browser.wait_until(f"""(() => {{
        const b = document.getElementById('banner');
        return !b.hidden && b.className === 'ok' && b.textContent.includes({json.dumps(message)});
    }})()""")


def suggestions_ready(browser):
    """Wait for the suggestions of the page's state (they come after it)."""
    browser.wait_until("!document.getElementById('suggestion-count').textContent"
                       ".includes('finding')")


def css(text):
    return json.dumps(text)[1:-1]


def choose(browser, selector, value):
    """Pick an option of a <select>, as the user's choice would (change event included)."""
    browser.evaluate(f"""(() => {{
        const s = document.querySelector({json.dumps(selector)});
        s.value = {json.dumps(value)};
        s.dispatchEvent(new Event('change'));
    }})()""")


def test_review_in_the_browser_changes_the_result_on_disk(page):
    browser, result, encodings = page
    images = browser.wait_until("""(() => {
        const all = [...document.images];
        return all.every(i => i.complete) && [all.length, all.filter(i => i.naturalWidth > 0).length];
    })()""")
    assert images[0] > 15 and images[0] == images[1], "every face image loads"
    assert browser.wait_until(  # the suggestions come after the persons
        "document.querySelectorAll('#merge-suggestions li[data-kind]').length") == 1

    # a screenshot with a face selected: the bar at the bottom shows what can be done with it
    browser.click(f'.face[data-face="{STRAY}"]')
    browser.wait_until("!document.getElementById('actions').hidden")
    browser.evaluate("window.scrollTo(0, 0)")
    shot = Path("review.png")
    browser.screenshot(shot, full_page=False)
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    if SCREENSHOT:
        save_small(shot, SCREENSHOT)
    browser.click("#clear")

    # rename a person: Rename, type the name, Enter
    browser.click('.person[data-person="person_03"] .rename')
    browser.wait_until("document.activeElement.classList.contains('new-name')")
    browser.type_text("Carl")
    browser.press_enter()
    done(browser, "person_03 is now Carl")

    # move a face: select it, choose the person, Move
    browser.click(f'.face[data-face="{STRAY}"]')
    choose(browser, "#move-target", "Carl")
    browser.click("#move")
    done(browser, "1 face moved to Carl")
    assert browser.evaluate(
        f"!!document.querySelector('.faces[data-person=\"Carl\"] .face[data-face=\"{STRAY}\"]')")

    # accept a suggestion: person_01 and person_02 are one
    suggestions_ready(browser)
    browser.click('#merge-suggestions li[data-kind="merge"] .accept')
    done(browser, "person_02 merged into person_01")

    # merge two persons with the person's own controls
    choose(browser, '.person[data-person="Carl"] .merge-target', "anna")
    browser.click('.person[data-person="Carl"] .merge')
    done(browser, "Carl merged into anna")

    # set a false detection aside
    browser.click(f'.face[data-face="{FAR_UNKNOWN}"]')
    browser.click("#set-aside-button")
    done(browser, "1 face set aside")
    assert browser.evaluate(
        f"!!document.querySelector('#set-aside .face[data-face=\"{FAR_UNKNOWN}\"]')")

    # dismiss what is left of the suggestions: none comes back after a reload
    suggestions_ready(browser)
    while browser.evaluate("document.querySelectorAll('li[data-kind] .dismiss').length"):
        browser.click("li[data-kind] .dismiss")
        done(browser, "suggestion dismissed")
        suggestions_ready(browser)
    browser.open(browser.evaluate("location.href"))
    browser.wait_until("document.querySelectorAll('.face').length === 15")
    suggestions_ready(browser)
    assert browser.evaluate("document.querySelectorAll('li[data-kind]').length") == 0

    # the result on disk, as the next run loads it
    db = load(result)
    after = folders(db)
    assert sorted(after) == ["anna", "person_01", "unknowns"]
    assert len(after["person_01"]) == 7 and len(after["anna"]) == 6 and STRAY in after["anna"]
    assert after["unknowns"] == ["clip_f000350_0.png"]
    assert (result / SET_ASIDE / FAR_UNKNOWN).is_file() and FAR_UNKNOWN in set_aside_faces(result)
    assert not (result / "person_02").exists() and not (result / "person_03").exists()
    stored, _ = storage.load_encodings(result / ENCODINGS_FILE)
    for _, face in db.all_faces():
        np.testing.assert_array_equal(stored[face.file_name], encodings[face.file_name])
        np.testing.assert_array_equal(face.encoding, encodings[face.file_name])


def test_the_page_says_when_a_change_is_refused(page):
    browser, result, _ = page
    browser.click('.person[data-person="anna"] .rename')
    browser.wait_until("document.activeElement.classList.contains('new-name')")
    browser.type_text("../etc")
    browser.press_enter()
    message = browser.wait_until("""(() => {
        const b = document.getElementById('banner');
        return !b.hidden && b.className === 'error' && b.textContent;
    })()""")
    assert "cannot contain / or \\" in message
    assert (result / "anna").is_dir() and not (result.parent / "etc").exists()
