"""The installed command finds every module of the project (an editable install lists them)."""
import pytest

from tests.conftest import PROJECT

tomllib = pytest.importorskip("tomllib")  # Python 3.11+


def test_every_module_of_the_project_is_packaged():
    settings = tomllib.loads((PROJECT / "pyproject.toml").read_text())
    packaged = set(settings["tool"]["setuptools"]["py-modules"])
    modules = {path.stem for path in PROJECT.glob("*.py")}
    assert modules == packaged
