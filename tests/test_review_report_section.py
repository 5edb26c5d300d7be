"""The suggestions as a read-only section of report.html: the distance table, the ranked lists,
names escaped, dismissals left out; nothing a saved page could run or fetch."""
from html.parser import HTMLParser

from facesort.records.face import Person
from facesort.report.review_section import review_section, suggestions_html
from facesort.review import changes
from person_db import PersonDB
from tests.review_helpers import build_result, load


class Page(HTMLParser):
    def __init__(self):
        super().__init__()
        self.tags, self.text = [], []

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)

    def handle_data(self, data):
        self.text.append(data)


class Table(HTMLParser):
    def __init__(self):
        super().__init__()
        self.rows, self.cell = [], None

    def handle_starttag(self, tag, attrs):
        if tag == "tr":
            self.rows.append([])
        elif tag in ("td", "th"):
            self.cell = ""

    def handle_endtag(self, tag):
        if tag in ("td", "th"):
            self.rows[-1].append(self.cell)
            self.cell = None

    def handle_data(self, data):
        if self.cell is not None:
            self.cell += data


def table_rows(fragment):
    table = Table()
    table.feed(fragment)
    return table.rows


def parsed(fragment):
    page = Page()
    page.feed(fragment)
    return page.tags, " ".join("".join(page.text).split())


def test_the_section_holds_the_distance_table_and_the_suggestions(tmp_path):
    build_result(tmp_path)
    tags, text = parsed(review_section(tmp_path, load(tmp_path)))
    assert tags[0] == "section" and "table" in tags
    assert not {"script", "img", "iframe", "a", "link"} & set(tags)
    assert "person_01 and person_02: distance 0.479" in text
    assert "clip_f000350_0.png near person_01: distance 0.400" in text
    assert "clip_f000275_0.png in anna: distance 1.950 from the others; nearer to person_03" in text
    # the table: one row per person, its distances to every average, its spread and faces
    rows = table_rows(review_section(tmp_path, load(tmp_path)))
    assert rows[0] == ["person", "anna", "person_01", "person_02", "person_03", "min", "mean",
                       "max", "faces"]
    person_01 = next(row for row in rows if row[0] == "person_01")
    assert person_01[2:4] == ["0.000", "0.505"] and person_01[-1] == "4"


def test_dismissed_suggestions_are_left_out(tmp_path):
    build_result(tmp_path)
    db = load(tmp_path)
    from facesort.report.suggestions import suggest

    first = suggest(db.persons, db.unknown).merges[0]
    changes.apply_change(tmp_path, changes.Dismiss(first.key))
    _, text = parsed(review_section(tmp_path, load(tmp_path)))
    assert "person_01 and person_02" not in text and "No two persons look like one." in text


def test_names_are_escaped(make_face):
    db = PersonDB()
    db.add_person(Person('<script>alert("x")</script>', [make_face(0.0)]))
    db.add_person(Person("person_02", [make_face(0.3)]))
    fragment = suggestions_html(db)
    assert "<script>" not in fragment and "&lt;script&gt;" in fragment
    tags, text = parsed(fragment)
    assert "script" not in tags and 'alert("x")' in text
