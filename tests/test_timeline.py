"""The report's timeline as SVG: a panel per video or webcam session, a row per person, a bar
per appearance in the person's colour, ticks on whole seconds."""
import re
import xml.etree.ElementTree as ElementTree

from facesort.report.appearances import Appearance
from facesort.report.timeline import MAX_CHART_ROWS, chart_rows, ticks, timeline_svg

SVG = "{http://www.w3.org/2000/svg}"
COLORS = {"alice": "#1f77b4", "bob <&> 기우": "#ff7f0e"}


def parsed(svg):
    return ElementTree.fromstring(svg)


def bars_of(root, color):
    return [rect for rect in root.iter(f"{SVG}rect") if rect.get("fill") == color]


def test_a_video_gets_a_row_per_person_and_a_bar_per_appearance_in_their_colour():
    found = [Appearance("alice", "/v/clip.mp4", 0.0, 2.0, 3),
             Appearance("alice", "/v/clip.mp4", 6.0, 8.0, 2),
             Appearance("bob <&> 기우", "/v/clip.mp4", 3.0, 5.0, 4),
             Appearance("unknowns", "/v/clip.mp4", 7.0, 7.5, 1)]
    root = parsed(timeline_svg(found, COLORS))
    assert len(bars_of(root, "#1f77b4")) == 2 and len(bars_of(root, "#ff7f0e")) == 1
    assert len(bars_of(root, "#9e9e9e")) == 1   # nobody's faces: grey
    texts = ["".join(t.itertext()) for t in root.iter(f"{SVG}text")]
    assert "clip.mp4  (video time)" in texts
    names = [t for t in texts if t.endswith(("alice", "기우", "unknowns"))]
    assert names == ["alicealice", "bob <&> 기우bob <&> 기우", "unknownsunknowns"]  # title + name
    assert {"0:00", "0:04", "0:08"} <= set(texts)    # whole seconds, as a clock reads them
    first, second = sorted(float(r.get("x")) for r in bars_of(root, "#1f77b4"))
    assert second > first   # the later appearance further right


def test_photos_alone_have_no_timeline_and_each_video_has_its_panel():
    photo = Appearance("alice", "/p/a.jpg", 0.0, 0.0, 1)
    assert timeline_svg([photo], COLORS) is None
    videos = [Appearance("alice", f"/v/{name}.mp4", 0.0, 1.0, 1) for name in "ab"]
    texts = ["".join(t.itertext()) for t in parsed(timeline_svg([photo, *videos], COLORS))
             .iter(f"{SVG}text")]
    assert [t for t in texts if "video time" in t] == ["a.mp4  (video time)",
                                                       "b.mp4  (video time)"]


def test_a_webcam_session_is_drawn_in_clock_time():
    start = 1_700_000_000.0
    svg = timeline_svg([Appearance("alice", "camera0@20231114-221320", start, start + 30, 5)],
                       COLORS)
    texts = ["".join(t.itertext()) for t in parsed(svg).iter(f"{SVG}text")]
    assert any("(webcam, from" in t for t in texts)
    assert sum(bool(re.fullmatch(r"\d\d:\d\d:\d\d", t)) for t in texts) >= 3


def test_rows_are_capped_at_the_persons_with_most_faces_the_unknowns_last():
    found = [Appearance(f"p{k}", "/v/c.mp4", float(k), k + 1.0, k + 1)
             for k in range(MAX_CHART_ROWS + 5)] + [Appearance("unknowns", "/v/c.mp4", 0, 1, 99)]
    rows = chart_rows(found)
    assert len(rows) == MAX_CHART_ROWS and rows[-1] == "unknowns"
    assert "p0" not in rows and f"p{MAX_CHART_ROWS + 4}" in rows


def test_ticks_are_whole_seconds_at_most_eleven():
    for limit in (1.02, 8.2, 25.0, 130.0, 1000.0, 3672.0, 86_400.0):
        places = ticks(limit)
        assert places[0] == 0 and places[-1] <= limit and 2 <= len(places) <= 11
        assert all(float(p).is_integer() for p in places)
