"""faces.csv as written and read back: every column, and files of older versions."""

from facesort.result.faces_csv import (
    CSV_COLUMNS,
    faces_csv_text,
    parse_box,
    parse_float,
    parse_int,
    parse_unfit,
    read_faces_csv,
)


def test_a_face_unfit_to_sort_round_trips_with_its_reason(tmp_path, make_face):
    fit, unfit = make_face(0.0), make_face(1.0)
    unfit.unfit, unfit.followed_from_s = "cut", 0.04
    path = tmp_path / "faces.csv"
    path.write_text(faces_csv_text([("person_01", fit, f"person_01/{fit.file_name}"),
                                    ("unknowns", unfit, f"unknowns/{unfit.file_name}")]))
    assert path.read_text().splitlines()[0] == ",".join(CSV_COLUMNS)
    assert CSV_COLUMNS[-1] == "unfit"
    rows = read_faces_csv(path)
    assert parse_unfit(rows[fit.file_name]) is None and rows[fit.file_name]["unfit"] == ""
    row = rows[unfit.file_name]
    assert (row["person"], row["file"], parse_unfit(row)) == (
        "unknowns", f"unknowns/{unfit.file_name}", "cut")
    assert (parse_box(row), parse_int(row["frame"]), parse_float(row["followed_from_s"])) == (
        unfit.box, unfit.frame, 0.04)


def test_a_file_without_the_unfit_column_reads_as_fit(tmp_path):
    """Results of older versions end with followed_from_s (or the box)."""
    path = tmp_path / "faces.csv"
    path.write_text("person,file,source,frame,time_s,top,right,bottom,left,followed_from_s\n"
                    "person_01,person_01/a.png,clip.mp4,3,0.120,1,2,3,0,\n")
    row = read_faces_csv(path)["a.png"]
    assert parse_unfit(row) is None and parse_box(row) == (1, 2, 3, 0)


def test_rows_kept_from_the_last_save_are_written_again_only_as_they_now_are(make_face):
    from facesort.result.faces_csv import FacesCsvRows

    first, second = make_face(0.0), make_face(1.0)
    rows = FacesCsvRows()
    before = [("person_01", first, f"person_01/{first.file_name}"),
              ("unknowns", second, f"unknowns/{second.file_name}")]
    assert rows.text(before) == faces_csv_text(before)
    second.unfit = "cut"
    after = [("giwoo", first, f"giwoo/{first.file_name}"),
             ("unknowns", second, f"unknowns/{second.file_name}")]
    text = rows.text(after)
    assert text == faces_csv_text(after) and "giwoo" in text and "person_01" not in text
    assert text.splitlines()[2].endswith(",cut")
