"""The model files: where an installed one is found, installing one (downloaded from a real HTTP
server on 127.0.0.1, or copied --from a folder or file) so that only a checked file ever lands,
and `face-classifier models`. Fake models of random bytes stand in for the real ones; the tests
of the real files skip where ../shared/models is absent."""
from __future__ import annotations

import hashlib
import http.server
import socket
import threading
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

import face_classifier
from facesort.detection import model_files
from facesort.detection.model_files import (
    MODELS,
    ModelDamagedError,
    ModelDownloadError,
    ModelFile,
    ModelMissingError,
    find_model,
    install,
    install_target,
    places,
)
from tests.conftest import SHARED

SHARED_MODELS = SHARED / "models"
FAKE_BYTES = np.random.default_rng(24).bytes(300_000)   # several download chunks
FAKE = ModelFile(name="fake", file_name="fake.onnx", url="http://127.0.0.1:9/fake.onnx",
                 size=len(FAKE_BYTES), sha256=hashlib.sha256(FAKE_BYTES).hexdigest(),
                 licence="Apache-2.0", used_for="testing", env_var="FACE_CLASSIFIER_FAKE")


@pytest.fixture(autouse=True)
def own_cache(tmp_path, monkeypatch) -> Path:
    """Every test's cache and package folder are its own: the user's are never looked at."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.setattr(model_files, "PACKAGE_DIR", tmp_path / "package")
    for model in [FAKE, *MODELS.values()]:
        monkeypatch.delenv(model.env_var, raising=False)
    return tmp_path / "cache" / "face-classifier"


def assert_only_good_files(folder: Path, *models: ModelFile) -> None:
    """The cache holds exactly ``models``, each the published bytes, and nothing else (no
    temporary file, no part of a download)."""
    present = sorted(path.name for path in folder.iterdir()) if folder.exists() else []
    assert present == sorted(model.file_name for model in models)
    for model in models:
        data = (folder / model.file_name).read_bytes()
        assert hashlib.sha256(data).hexdigest() == model.sha256


def one_line(error: pytest.ExceptionInfo, *words: str) -> str:
    message = str(error.value)
    assert "\n" not in message
    for word in words:
        assert word in message, message
    return message


class ModelServer(http.server.BaseHTTPRequestHandler):
    """Serves ``body`` for any path with HTTP ``status``; with ``cut``, says the full
    Content-Length and hangs up halfway through."""

    body = FAKE_BYTES
    cut = False
    status = 200

    def do_GET(self) -> None:  # noqa: N802 (http.server's name)
        self.send_response(self.status)
        self.send_header("Content-Type", "application/octet-stream")
        self.send_header("Content-Length", str(len(self.body)))
        self.end_headers()
        self.wfile.write(self.body[:len(self.body) // 2] if self.cut else self.body)
        self.wfile.flush()
        self.close_connection = True

    def log_message(self, *args) -> None:  # quiet
        pass


@pytest.fixture
def serve():
    """serve(body=..., ...) -> FAKE with its url on a server on 127.0.0.1 (a thread)."""
    servers = []

    def start(body: bytes = FAKE_BYTES, cut: bool = False, status: int = 200) -> ModelFile:
        handler = type("Handler", (ModelServer,), {"body": body, "cut": cut, "status": status})
        server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        servers.append(server)
        return replace(FAKE, url=f"http://127.0.0.1:{server.server_port}/models/fake.onnx")

    yield start
    for server in servers:
        server.shutdown()
        server.server_close()


# --- where a model is looked for -----------------------------------------------------------

def test_a_model_is_looked_for_in_the_env_var_then_the_package_then_the_cache(
        tmp_path, monkeypatch, own_cache):
    model = MODELS["yunet"]
    assert places(model) == [tmp_path / "package" / model.file_name, own_cache / model.file_name]
    assert install_target(model) == own_cache / model.file_name
    monkeypatch.delenv("XDG_CACHE_HOME")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert places(model)[-1] == tmp_path / "home" / ".cache" / "face-classifier" / model.file_name
    monkeypatch.setenv("FACE_CLASSIFIER_YUNET", str(tmp_path / "mine.onnx"))
    assert places(model) == [tmp_path / "mine.onnx"]  # the user's choice: the only place
    assert install_target(model) == tmp_path / "mine.onnx"
    with pytest.raises(ModelMissingError) as error:
        find_model("yunet")
    one_line(error, "FACE_CLASSIFIER_YUNET names", "mine.onnx",
             "face-classifier models install yunet")


def test_each_model_has_its_own_file_and_variable():
    assert set(MODELS) == {"yunet", "mobilefacenet"}
    assert MODELS["yunet"].env_var == "FACE_CLASSIFIER_YUNET"
    assert MODELS["mobilefacenet"].env_var == "FACE_CLASSIFIER_MOBILEFACENET"
    for name, model in MODELS.items():
        assert model.name == name and model.licence_file == f"LICENSE-{name}"
        assert "/raw/" in model.url and model.url.endswith("/" + model.file_name)
        assert len(model.sha256) == 64 and model.size > 0


def test_a_missing_model_says_where_it_looked_and_how_to_install_it(monkeypatch, own_cache):
    monkeypatch.setitem(MODELS, "fake", FAKE)
    with pytest.raises(ModelMissingError) as error:
        find_model("fake")
    one_line(error, "not installed", str(own_cache), "package",
             "face-classifier models install fake", "--from FOLDER")


def test_the_package_folder_comes_before_the_cache_and_a_damaged_file_is_refused(
        tmp_path, monkeypatch, own_cache):
    monkeypatch.setitem(MODELS, "fake", FAKE)
    own_cache.mkdir(parents=True)
    (own_cache / FAKE.file_name).write_bytes(FAKE_BYTES)
    assert find_model("fake") == own_cache / FAKE.file_name
    (tmp_path / "package").mkdir()
    (tmp_path / "package" / FAKE.file_name).write_bytes(FAKE_BYTES[:-1] + b"!")
    with pytest.raises(ModelDamagedError) as error:
        find_model("fake")
    one_line(error, "damaged", str(tmp_path / "package"), FAKE.sha256, "install it again")


# --- installing: downloaded ------------------------------------------------------------------

def test_a_download_lands_checked_in_the_cache(serve, own_cache):
    assert install(serve()) == own_cache / FAKE.file_name
    assert_only_good_files(own_cache, FAKE)


def test_a_download_of_other_bytes_is_refused_and_removed(serve, own_cache):
    other = bytes(reversed(FAKE_BYTES))   # the right size, the wrong content
    with pytest.raises(ModelDamagedError) as error:
        install(serve(body=other))
    one_line(error, "is not the published fake.onnx", f"sha256 {FAKE.sha256}",
             "nothing installed")
    assert_only_good_files(own_cache)


def test_a_download_larger_than_the_model_is_refused(serve, own_cache):
    with pytest.raises(ModelDamagedError) as error:
        install(serve(body=FAKE_BYTES + b"more"))
    one_line(error, "more than", FAKE.sha256)
    assert_only_good_files(own_cache)


def test_a_connection_closed_halfway_installs_nothing(serve, own_cache):
    with pytest.raises(ModelDownloadError) as error:
        install(serve(cut=True))
    one_line(error, "cut short", "--from")
    assert_only_good_files(own_cache)


def test_a_cut_download_leaves_an_installed_model_as_it_was(serve, own_cache):
    install(serve())
    with pytest.raises(ModelDownloadError):
        install(serve(cut=True))
    assert_only_good_files(own_cache, FAKE)


def test_no_server_is_a_one_line_error_naming_from(own_cache):
    with socket.socket() as probe:   # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with pytest.raises(ModelDownloadError) as error:
        install(replace(FAKE, url=f"http://127.0.0.1:{port}/fake.onnx"), source=None)
    one_line(error, "cannot download fake.onnx", "face-classifier models install fake --from")
    assert_only_good_files(own_cache)


def test_an_http_error_is_a_one_line_error(serve, own_cache):
    with pytest.raises(ModelDownloadError) as error:
        install(serve(body=b"gone", status=404))
    one_line(error, "HTTP 404", "--from")
    assert_only_good_files(own_cache)


# --- installing: copied --from ---------------------------------------------------------------

def test_from_a_folder_copies_the_model_and_its_licence(tmp_path, own_cache):
    folder = tmp_path / "models"
    folder.mkdir()
    (folder / FAKE.file_name).write_bytes(FAKE_BYTES)
    (folder / FAKE.licence_file).write_text("Apache License 2.0\n")
    assert install(FAKE, folder) == own_cache / FAKE.file_name
    assert (own_cache / FAKE.licence_file).read_text() == "Apache License 2.0\n"
    (own_cache / FAKE.licence_file).unlink()
    assert_only_good_files(own_cache, FAKE)


def test_from_a_file(tmp_path, own_cache):
    path = tmp_path / "downloaded-by-hand.onnx"
    path.write_bytes(FAKE_BYTES)
    install(FAKE, path)
    assert_only_good_files(own_cache, FAKE)


def test_from_a_damaged_file_is_refused_and_the_file_left_alone(tmp_path, own_cache):
    path = tmp_path / "fake.onnx"
    path.write_bytes(FAKE_BYTES[:1000])
    with pytest.raises(ModelDamagedError) as error:
        install(FAKE, path)
    one_line(error, str(path), "1,000 bytes", f"sha256 {FAKE.sha256}", "nothing installed")
    assert path.read_bytes() == FAKE_BYTES[:1000]   # the user's file: not ours to remove
    assert_only_good_files(own_cache)


def test_from_a_folder_without_the_model(tmp_path, own_cache):
    with pytest.raises(ModelMissingError) as error:
        install(FAKE, tmp_path)
    one_line(error, f"--from {tmp_path}", "no fake.onnx")
    assert_only_good_files(own_cache)


def test_a_damaged_file_in_the_cache_is_replaced(tmp_path, own_cache):
    own_cache.mkdir(parents=True)
    (own_cache / FAKE.file_name).write_bytes(b"half a model")
    (tmp_path / FAKE.file_name).write_bytes(FAKE_BYTES)
    install(FAKE, tmp_path)
    assert_only_good_files(own_cache, FAKE)


def test_install_goes_to_the_env_var_file_when_set(tmp_path, monkeypatch, own_cache):
    (tmp_path / FAKE.file_name).write_bytes(FAKE_BYTES)
    chosen = tmp_path / "mine" / "model.onnx"
    monkeypatch.setenv(FAKE.env_var, str(chosen))
    assert install(FAKE, tmp_path / FAKE.file_name) == chosen
    assert chosen.read_bytes() == FAKE_BYTES
    assert_only_good_files(own_cache)


# --- face-classifier models ------------------------------------------------------------------

@pytest.fixture
def fake_models(monkeypatch, tmp_path):
    """The table with two fake models named as the real ones, and a folder holding both."""
    folder = tmp_path / "team-models"
    folder.mkdir()
    for name in MODELS:
        data = np.random.default_rng(len(name)).bytes(5000)
        fake = replace(FAKE, name=name, file_name=f"{name}.onnx", size=len(data),
                       sha256=hashlib.sha256(data).hexdigest(), env_var=MODELS[name].env_var)
        (folder / fake.file_name).write_bytes(data)
        monkeypatch.setitem(MODELS, name, fake)
    return folder


def models_command(capsys, *argv: str) -> tuple[int, str, str]:
    code = face_classifier.main(["models", *argv])
    out, err = capsys.readouterr()
    return code, out, err


def test_models_lists_each_model_as_missing_and_hog(capsys, fake_models):
    code, out, err = models_command(capsys)
    assert code == 0 and err == ""
    lines = out.splitlines()
    assert lines[0].startswith("yunet ") and lines[0].endswith("missing")
    assert lines[1].startswith("mobilefacenet ") and lines[1].endswith("missing")
    assert "face detector: dlib HOG" in lines
    assert "face encoder: dlib ResNet (face_recognition_models)" in lines
    assert "face-classifier models install" in lines[-1]


def test_models_install_from_a_folder_then_lists_where(capsys, fake_models, own_cache):
    code, out, err = models_command(capsys, "install", "yunet", "--from", str(fake_models))
    assert (code, err) == (0, "")
    assert out == f"yunet: installed {own_cache / 'yunet.onnx'}\n"
    code, out, _ = models_command(capsys)
    assert f"{own_cache / 'yunet.onnx'}" in out.splitlines()[0]
    assert "face detector: YuNet" in out and "face encoder: dlib ResNet" in out
    code, out, _ = models_command(capsys, "install", "--from", str(fake_models))
    assert code == 0 and "yunet: already installed" in out and "mobilefacenet: installed" in out
    code, out, _ = models_command(capsys)
    assert "face encoder: MobileFaceNet" in out and "missing" not in out
    assert_only_good_files(own_cache, MODELS["yunet"], MODELS["mobilefacenet"])


def test_models_lists_a_damaged_model(capsys, fake_models, own_cache):
    own_cache.mkdir(parents=True)
    (own_cache / "yunet.onnx").write_bytes(b"not a model")
    code, out, _ = models_command(capsys)
    assert code == 0 and "damaged" in out.splitlines()[0]
    assert "face detector: dlib HOG" in out


def test_models_install_an_unknown_name_is_a_usage_error(capsys, fake_models):
    code, out, err = models_command(capsys, "install", "yunet", "retinaface")
    assert code == 2 and out == ""
    assert err.count("\n") == 1 and "no model named retinaface" in err


def test_models_install_from_nothing_is_a_usage_error(capsys, tmp_path):
    code, _, err = models_command(capsys, "install", "--from", str(tmp_path / "absent"))
    assert code == 2 and err.count("\n") == 1 and "no such file or folder" in err


def test_models_install_from_a_damaged_file_is_exit_1(capsys, fake_models, tmp_path, own_cache):
    damaged = tmp_path / "yunet.onnx"
    damaged.write_bytes(b"\0" * 5000)
    code, out, err = models_command(capsys, "install", "--from", str(damaged))
    assert code == 1 and out == ""
    assert err.count("\n") == 1 and MODELS["yunet"].sha256 in err and "Traceback" not in err
    assert_only_good_files(own_cache)


def test_models_install_without_network_is_exit_1_naming_from(capsys, fake_models, own_cache,
                                                               monkeypatch):
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    monkeypatch.setitem(MODELS, "yunet", replace(MODELS["yunet"],
                                                 url=f"http://127.0.0.1:{port}/y.onnx"))
    code, out, err = models_command(capsys, "install", "yunet")
    assert code == 1 and out == "" and err.count("\n") == 1
    assert "--from" in err
    assert_only_good_files(own_cache)


def test_models_install_from_one_file_needs_to_know_which_model(capsys, fake_models, tmp_path):
    other = tmp_path / "renamed.onnx"
    other.write_bytes((fake_models / "yunet.onnx").read_bytes())
    code, _, err = models_command(capsys, "install", "--from", str(other))
    assert code == 2 and "name the one model" in err
    code, out, _ = models_command(capsys, "install", "yunet", "--from", str(other))
    assert code == 0 and "yunet: installed" in out


# --- the real files, where ../shared/models holds them ----------------------------------------

@pytest.mark.skipif(not SHARED_MODELS.is_dir(), reason="../shared/models is absent")
def test_the_real_models_install_from_the_team_folder_with_their_licences(capsys, own_cache):
    code, out, err = models_command(capsys, "install", "--from", str(SHARED_MODELS))
    assert (code, err) == (0, "")
    licences = [replace(model, file_name=model.licence_file, sha256=hashlib.sha256(
        (SHARED_MODELS / model.licence_file).read_bytes()).hexdigest()) for model in MODELS.values()]
    assert_only_good_files(own_cache, *MODELS.values(), *licences)
    for name in MODELS:
        assert find_model(name) == own_cache / MODELS[name].file_name
    code, out, _ = models_command(capsys)
    assert "face detector: YuNet" in out and "face encoder: MobileFaceNet" in out
