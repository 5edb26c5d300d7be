"""Names drawn on frames: every face's name is whole inside the frame, wherever the face is."""
import numpy as np
import pytest

from facesort.app.view import draw_face

WIDTH, HEIGHT = 320, 180


def name_pixels(box, name="person_10"):
    """Where draw_face put white (the name; the box marks are red) on a black frame."""
    frame = np.zeros((HEIGHT, WIDTH, 3), np.uint8)
    draw_face(frame, box, name)
    white = np.all(frame == 255, axis=2)
    rows, columns = np.nonzero(white)
    return white, rows, columns


@pytest.mark.parametrize("box, where", [
    ((40, 160, 100, 100), "below"),      # room under the face: the post's place
    ((110, 160, 178, 100), "above"),     # a face at the bottom edge
    ((2, 318, 178, 2), "inside"),        # a face filling the frame
    ((120, 319, 179, 270), "above"),     # bottom right corner
])
def test_the_whole_name_is_drawn_inside_the_frame(box, where):
    top, right, bottom, left = box
    white, rows, columns = name_pixels(box)
    assert white.sum() > 150, "the name is drawn"
    # nothing cut at the frame's edges: the text keeps a margin on the sides it could cross
    assert rows.max() < HEIGHT - 1 and columns.max() < WIDTH - 1 and rows.min() > 0
    if where == "below":
        assert rows.min() > bottom
    elif where == "above":
        assert rows.max() < top
    else:
        assert top < rows.min() and rows.max() < bottom


def test_a_name_under_a_face_is_as_in_the_post():
    """A few pixels under the box, from its left edge."""
    white, rows, columns = name_pixels((40, 200, 100, 100))
    assert 100 < rows.min() <= 115 and 100 <= columns.min() <= 112
