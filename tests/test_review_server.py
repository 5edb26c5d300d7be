"""The review server: loopback only, the token on every request that reads or changes the result,
no file outside the result (or through a symbolic link) ever served, the lock respected, and a
one-line error from the command line."""
import http.client
import json
import os
import subprocess
import sys
import threading
from urllib.parse import quote

import pytest

from facesort import storage
from facesort.result.layout import FACES_CSV, LOCK_FILE
from facesort.review import cli
from facesort.review.server import STATIC, Review, ReviewServer
from tests.conftest import PROJECT, assert_one_line_error
from tests.review_helpers import build_result, folders, load, tree


@pytest.fixture
def served(tmp_path):
    result = tmp_path / "result"
    build_result(result)
    server = ReviewServer(Review(result))
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    yield server, result
    server.shutdown()
    server.server_close()


def request(server, method, path, body=None, headers=None):
    """(status, parsed JSON or raw bytes) of one request to the server."""
    host, port = server.server_address
    connection = http.client.HTTPConnection(host, port, timeout=10)
    sent = {"Host": f"{host}:{port}", **(headers or {})}
    data = None
    if body is not None:
        data = body if isinstance(body, bytes) else json.dumps(body).encode()
        sent.setdefault("Content-Type", "application/json")
    connection.request(method, path, body=data, headers=sent)
    response = connection.getresponse()
    payload = response.read()
    connection.close()
    if response.getheader("Content-Type", "").startswith("application/json"):
        return response.status, json.loads(payload)
    return response.status, payload


def change(server, token, **fields):
    return request(server, "POST", "/api/change", {"token": token, **fields})


def test_it_listens_on_the_loopback_only_and_the_url_carries_a_token(served):
    server, _ = served
    assert server.server_address[0] == "127.0.0.1"
    assert server.url.startswith(f"http://127.0.0.1:{server.server_address[1]}/?token=")
    assert len(server.token) >= 40
    other = ReviewServer(Review(served[1]))
    assert other.token != server.token  # random each time
    other.server_close()


def test_the_page_itself_needs_no_token_but_its_data_does(served):
    server, _ = served
    status, page = request(server, "GET", "/")
    assert status == 200 and b"review.js" in page
    for path in ("/api/state", "/api/state?token=", "/api/state?token=wrong",
                 f"/api/state?token={server.token[:-1]}",
                 "/api/face?name=clip_f000025_0.png",
                 "/api/face?name=clip_f000025_0.png&token=wrong"):
        status, answer = request(server, "GET", path)
        assert status == 403 and "token" in answer["error"], path
    status, state = request(server, "GET", f"/api/state?token={server.token}")
    assert status == 200 and state["summary"] == "4 persons, 13 known faces, 2 unknown faces"


def test_changes_without_the_right_token_are_refused_and_change_nothing(served):
    server, result = served
    before = tree(result)
    rename = {"action": "rename", "person": "person_01", "new_name": "Grace"}
    for body in (rename, {**rename, "token": ""}, {**rename, "token": "wrong"},
                 {**rename, "token": server.token.upper()}, {**rename, "token": None}):
        status, answer = request(server, "POST", "/api/change", body)
        assert status == 403, body
    # the right token, but not as JSON (a form another site could post), or from another origin
    status, _ = request(server, "POST", "/api/change", json.dumps({**rename, "token": server.token}
                                                                  ).encode(),
                        {"Content-Type": "text/plain"})
    assert status == 415
    status, _ = request(server, "POST", "/api/change", {**rename, "token": server.token},
                        {"Origin": "http://evil.example"})
    assert status == 403
    status, _ = request(server, "GET", f"/api/state?token={server.token}",
                        headers={"Host": "evil.example"})
    assert status == 403  # a name of another site pointed at 127.0.0.1 (DNS rebinding)
    status, _ = request(server, "GET", f"/api/change?token={server.token}")
    assert status == 404  # a GET never changes anything
    assert tree(result) == before
    status, answer = change(server, server.token, **rename)
    assert status == 200 and answer["message"] == "person_01 is now Grace"
    assert "Grace" in folders(load(result))


def test_only_face_images_found_by_the_last_load_are_served(served, tmp_path):
    server, result = served
    token = server.token
    request(server, "GET", f"/api/state?token={token}")  # as the page does first
    status, image = request(server, "GET", f"/api/face?name=clip_f000025_0.png&token={token}")
    assert status == 200 and image == (result / "person_01" / "clip_f000025_0.png").read_bytes()
    secret = tmp_path / "secret.png"
    secret.write_bytes(b"\x89PNG secret")
    (result / "person_01" / "link.png").symlink_to(secret)
    (result / "linked").symlink_to(tmp_path, target_is_directory=True)
    request(server, "GET", f"/api/state?token={token}")  # a fresh load sees the links
    for name in ["../secret.png", "../../etc/passwd", "/etc/passwd", "faces.csv", "report.html",
                 "face_encodings.npz", "link.png", "secret.png", "person_01/clip_f000025_0.png",
                 "..", ".", "", "clip_f000025_0.png\0.png", ".face-classifier.lock"]:
        status, answer = request(server, "GET", f"/api/face?name={quote(name)}&token={token}")
        assert status == 404, name
    for path in ["/../../etc/passwd", "/static/../server.py", "/review.js/../../x",
                 "/person_01/clip_f000025_0.png", "/face_encodings.npz", "/api/face/../state"]:
        status, _ = request(server, "GET", path)
        assert status == 404, path
    # a face that turned into a symbolic link since the load is not followed
    face = result / "person_01" / "clip_f000050_0.png"
    face.unlink()
    face.symlink_to(secret)
    status, _ = request(server, "GET", f"/api/face?name=clip_f000050_0.png&token={token}")
    assert status == 404


def test_a_change_while_another_process_holds_the_lock_is_refused(served):
    server, result = served
    request(server, "GET", f"/api/state?token={server.token}")  # the page is open
    before = tree(result)
    holder = subprocess.Popen(
        [sys.executable, "-c", "import sys, time; from facesort import storage; "
         "lock = storage.lock_exclusively(__import__('pathlib').Path(sys.argv[1])); "
         "print('locked', flush=True); time.sleep(60)", str(result / LOCK_FILE)],
        cwd=PROJECT, stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "locked"
        status, answer = change(server, server.token, action="rename", person="person_01",
                                new_name="Grace")
        assert status == 409
        assert answer["error"].startswith("a face-classifier run is using this result")
        assert answer["state"]["busy"] and answer["state"]["persons"]  # the last state, read-only
        status, state = request(server, "GET", f"/api/state?token={server.token}")
        assert status == 200 and "run is using this result" in state["busy"]
        assert tree(result) == before
    finally:
        holder.kill()
        holder.wait()
    status, answer = change(server, server.token, action="rename", person="person_01",
                            new_name="Grace")
    assert status == 200 and answer["state"]["busy"] is None


def test_bad_changes_get_a_clear_error(served):
    server, result = served
    before = tree(result)
    for fields, words in [({"action": "rename", "person": "person_01", "new_name": "../x"}, "/"),
                          ({"action": "rename", "person": "nobody", "new_name": "x"}, "no person"),
                          ({"action": "move", "faces": ["nope.png"], "to": "anna"}, "no face"),
                          ({"action": "explode"}, "unknown action"),
                          ({"action": "merge", "kept": "anna"}, "needs 'absorbed'")]:
        status, answer = change(server, server.token, **fields)
        assert status == 400 and words in answer["error"], (fields, answer)
    status, _ = request(server, "POST", "/api/change", b"{not json", {})
    assert status == 400
    assert tree(result) == before


def start_cli(result, *flags):
    process = subprocess.Popen(
        [sys.executable, "-m", "facesort.review.cli", "--result", str(result), "--no-browser",
         *flags], cwd=PROJECT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        env={**os.environ, "PYTHONPATH": str(PROJECT), "PYTHONUNBUFFERED": "1"})
    lines = []
    for line in process.stdout:
        lines.append(line)
        if "http://" in line:
            return process, line.strip(), "".join(lines)
    raise AssertionError(f"no URL printed: {lines} {process.stderr.read()}")


def test_the_command_prints_its_url_and_a_review_started_during_a_run_waits(tmp_path):
    result = tmp_path / "result"
    build_result(result)
    held = storage.lock_exclusively(result / LOCK_FILE)
    process, url, printed = start_cli(result)
    try:
        assert url.startswith("http://127.0.0.1:") and "token=" in url
        assert "a face-classifier run is using this result" in printed
        port = int(url.split(":")[2].split("/")[0])
        token = url.split("token=")[1]
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        connection.request("GET", f"/api/state?token={token}")
        state = json.loads(connection.getresponse().read())
        assert state["loaded"] is False and "waits" in state["busy"]
        held.close()
        connection.request("GET", f"/api/state?token={token}")
        state = json.loads(connection.getresponse().read())
        assert state["loaded"] is True and state["busy"] is None
        connection.close()
    finally:
        held.close()
        process.kill()
        process.wait()


def test_command_line_errors_are_one_line(tmp_path, capsys):
    assert cli.main(["--result", str(tmp_path / "missing"), "--no-browser"]) == 2
    error = capsys.readouterr().err
    assert error.count("\n") == 1 and "no result directory" in error
    for argv in (["--port", "x"], ["--port", "70000"], ["--frobnicate"]):
        with pytest.raises(SystemExit) as exited:
            cli.main(argv)
        assert exited.value.code == 2
        error = capsys.readouterr().err
        assert error.count("\n") == 1 and "see --help" in error
    completed = subprocess.run(
        [sys.executable, "-m", "facesort.review.cli", "--result", str(tmp_path / "x.txt")],
        cwd=PROJECT, capture_output=True, text=True, env={**os.environ, "PYTHONPATH": str(PROJECT)})
    assert_one_line_error(completed, 2, "no result directory")


def test_a_port_in_use_is_one_line(served):
    server, result = served
    completed = subprocess.run(
        [sys.executable, "-m", "facesort.review.cli", "--result", str(result), "--no-browser",
         "--port", str(server.server_address[1])], cwd=PROJECT, capture_output=True, text=True,
        env={**os.environ, "PYTHONPATH": str(PROJECT)}, timeout=30)
    assert_one_line_error(completed, 1, "cannot serve on port")


def test_a_result_that_cannot_be_saved_is_said_so_not_crashed_on(served):
    server, result = served
    (result / ".face-classifier-journal.json").write_text("{damaged")
    status, state = request(server, "GET", f"/api/state?token={server.token}")
    assert status == 200 and state["loaded"]  # shown, as the loader reads it (with a warning)
    status, answer = change(server, server.token, action="rename", person="person_01",
                            new_name="Grace")
    assert status == 400 and "damaged" in answer["error"] and "\n" not in answer["error"]
    assert (result / "person_01").is_dir()


def test_a_face_unfit_to_sort_says_why_on_its_tile(tmp_path):
    result = tmp_path / "result"
    build_result(result)
    lines = (result / FACES_CSV).read_text().splitlines()
    unfit = next(line for line in lines if line.startswith("unknowns,"))
    (result / FACES_CSV).write_text("\n".join(
        line + "small" if line == unfit else line for line in lines) + "\n")   # its unfit column
    review = Review(result)
    state = review.state()
    tiles = {face["name"]: face["unfit"] for face in state["unknowns"]}
    assert sorted(tiles.values(), key=str) == [None, "small"]
    assert all(face["unfit"] is None for p in state["persons"] for face in p["faces"])
    unfit_name = next(name for name, why in tiles.items() if why)
    found = review.suggestions()
    assert found["generation"] == state["generation"]
    assert unfit_name not in {s["face"] for s in found["unknowns"]}
    script = (STATIC / "review.js").read_text()
    assert "face.unfit" in script and "not fit to sort" in script


def test_a_result_it_cannot_write_is_one_line_and_exit_2_as_for_the_main_command(tmp_path):
    result = tmp_path / "result"
    build_result(result)
    (result / LOCK_FILE).unlink(missing_ok=True)
    (result / LOCK_FILE).mkdir()  # the lock cannot be made (root may write anywhere else)
    before = tree(result)
    completed = subprocess.run(
        [sys.executable, "-m", "facesort.review.cli", "--result", str(result), "--no-browser"],
        cwd=PROJECT, capture_output=True, text=True, timeout=30,
        env={**os.environ, "PYTHONPATH": str(PROJECT)})
    assert_one_line_error(completed, 2, f"--result '{result}'", "cannot use this result")
    assert "http://" not in completed.stdout  # no page served that would wait for nothing
    assert tree(result) == before


def test_a_tile_is_a_small_jpeg_of_the_face_and_the_face_itself_stays_whole(served):
    import cv2
    import numpy as np

    server, result = served
    token = server.token
    name = "clip_f000025_0.png"
    request(server, "GET", f"/api/state?token={token}")  # the page loads the state first
    path = next(result.glob(f"*/{name}"))
    original = path.read_bytes()
    status, whole = request(server, "GET", f"/api/face?name={name}&token={token}")
    assert status == 200 and whole == original
    big = np.random.default_rng(1).integers(0, 255, (600, 450, 3), np.uint8)  # a 3x face crop
    storage.write_image(path, big)
    status, tile = request(server, "GET", f"/api/face?name={name}&token={token}&thumb=1")
    assert status == 200 and tile[:2] == b"\xff\xd8"   # a JPEG
    shown = cv2.imdecode(np.frombuffer(tile, np.uint8), cv2.IMREAD_COLOR)
    assert shown.shape == (228, 171, 3)               # its longer side 228 px, as drawn
    assert abs(float(shown.mean()) - float(big.mean())) < 3  # the same picture, smaller
    status, refused = request(server, "GET", f"/api/face?name={name}&thumb=1")
    assert status == 403 and isinstance(refused, dict)  # a tile needs the token too


def test_the_suggestions_come_apart_from_the_state_and_follow_each_load(served):
    server, result = served
    status, state = request(server, "GET", f"/api/state?token={server.token}")
    assert status == 200 and "suggestions" not in state  # the persons at once
    status, found = request(server, "GET", f"/api/suggestions?token={server.token}")
    assert status == 200 and found["generation"] == state["generation"]
    assert [(m["kept"], m["absorbed"]) for m in found["merges"]] == [("person_01", "person_02")]
    status, answer = change(server, server.token, action="merge", kept="person_01",
                            absorbed="person_02")
    assert status == 200 and answer["state"]["generation"] > state["generation"]
    status, after = request(server, "GET", f"/api/suggestions?token={server.token}")
    assert after["generation"] == answer["state"]["generation"] and after["merges"] == []
    status, refused = request(server, "GET", "/api/suggestions?token=wrong")
    assert status == 403
