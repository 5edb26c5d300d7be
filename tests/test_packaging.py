"""The project's modules are all packaged, and its imports only go down the layers.

Layers, lowest first (README, How it is built). A module may import modules of a lower layer
and of its own folder, never one above it or beside it, and no two modules import each other.
"""
import ast
import shutil
import subprocess

import pytest

from tests.conftest import PROJECT

tomllib = pytest.importorskip("tomllib")  # Python 3.11+

LAYERS = [
    ["facesort.records"],
    ["facesort.imaging", "facesort.storage"],
    ["facesort.inputs", "facesort.detection", "facesort.tracking", "facesort.sorting",
     "facesort.result"],
    ["facesort.report", "face_detector"],
    ["person_db"],
    ["facesort.pipeline"],
    ["facesort.app", "facesort.review"],
    ["facesort.cluster"],
    ["face_classifier", "facesort.demo"],
]
TOP_LEVEL = {"face_classifier", "face_detector", "person_db"}  # the design names these three


def project_modules() -> dict[str, ast.Module]:
    files = [*PROJECT.glob("*.py"), *(PROJECT / "facesort").rglob("*.py")]
    modules = {}
    for path in files:
        name = path.relative_to(PROJECT).with_suffix("").as_posix().replace("/", ".")
        modules[name.removesuffix(".__init__")] = ast.parse(path.read_text(), str(path))
    return modules


def imports_of(tree: ast.Module, modules: set[str]) -> set[str]:
    """Project modules a module imports, anywhere in it (inside functions too)."""
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            for alias in node.names:  # `from facesort import storage` imports a module
                child = f"{node.module}.{alias.name}"
                found.add(child if child in modules else node.module)
    return {name for name in found if name in modules and name != "facesort"}


def layer_of(module: str) -> tuple[int, str]:
    """(layer number, the group it belongs to) of a module."""
    for number, groups in enumerate(LAYERS):
        for group in groups:
            if module == group or module.startswith(group + "."):
                return number, group
    raise AssertionError(f"{module} is in no layer: add it to LAYERS")


def test_every_module_of_the_project_is_packaged():
    settings = tomllib.loads((PROJECT / "pyproject.toml").read_text())["tool"]["setuptools"]
    assert set(settings["py-modules"]) == {path.stem for path in PROJECT.glob("*.py")}
    assert set(settings["py-modules"]) == TOP_LEVEL
    assert settings["packages"]["find"]["include"] == ["facesort*"]
    missing = [folder for folder in (PROJECT / "facesort").rglob("*")
               if folder.is_dir() and any(folder.glob("*.py"))
               and not (folder / "__init__.py").exists()]
    assert not missing, f"folders without __init__.py are not packaged: {missing}"


def test_imports_only_go_down_the_layers():
    modules = project_modules()
    wrong = []
    for module, tree in modules.items():
        if module == "facesort":
            continue
        level, group = layer_of(module)
        for imported in imports_of(tree, set(modules)):
            their_level, their_group = layer_of(imported)
            if their_group != group and their_level >= level:
                wrong.append(f"{module} (layer {level}) imports {imported} (layer {their_level})")
    assert not wrong, "imports that go up or sideways:\n" + "\n".join(wrong)


def test_no_two_modules_import_each_other_even_through_others():
    modules = project_modules()
    graph = {module: imports_of(tree, set(modules)) for module, tree in modules.items()}
    done, on_path = set(), []

    def visit(module: str) -> None:
        if module in on_path:
            raise AssertionError("import loop: " + " -> ".join(
                on_path[on_path.index(module):] + [module]))
        if module in done:
            return
        on_path.append(module)
        for imported in sorted(graph[module]):
            visit(imported)
        on_path.pop()
        done.add(module)

    for module in sorted(graph):
        visit(module)


def test_the_layering_check_sees_an_upward_import():
    """The check itself: a records module that imported the app would be caught."""
    tree = ast.parse("from facesort.app.run import sort_frames\n")
    modules = set(project_modules())
    assert imports_of(tree, modules) == {"facesort.app.run"}
    assert layer_of("facesort.app.run")[0] > layer_of("facesort.records.box")[0]


def test_no_module_of_the_project_is_ignored_by_git():
    """A source file that .gitignore hides exists in the working copy that wrote it and nowhere
    else: a fresh clone fails at its first import (`result/` once hid facesort/result/)."""
    if not shutil.which("git") or not (PROJECT / ".git").exists():
        pytest.skip("not a git checkout")
    files = [str(path.relative_to(PROJECT)) for path in
             [*PROJECT.glob("*.py"), *(PROJECT / "facesort").rglob("*"), *PROJECT.glob("tests/*")]
             if path.is_file() and "__pycache__" not in path.parts]
    ignored = subprocess.run(["git", "check-ignore", "--no-index", "--stdin"], cwd=PROJECT,
                             input="\n".join(files), capture_output=True, text=True).stdout
    assert ignored.split() == []


def test_make_demo_and_the_quick_start_say_how_to_run_it_on_ones_own_video():
    """`face-classifier VIDEO.mp4` is not on the PATH after `make demo` (it is in .venv/bin):
    the end of `make demo` and the README's first lines give the command that works."""
    if not shutil.which("make"):
        pytest.skip("make is not installed")
    # run from `make test`, make would add "make[1]: Entering directory" lines: not wanted
    planned = subprocess.run(["make", "--dry-run", "--no-print-directory", "demo"], cwd=PROJECT,
                             capture_output=True, text=True, check=True).stdout.strip().splitlines()
    command = ".venv/bin/face-classifier VIDEO.mp4"
    assert command in planned[-1] and planned[-1].startswith("echo ")
    scripts = tomllib.loads((PROJECT / "pyproject.toml").read_text())["project"]["scripts"]
    assert scripts["face-classifier"] == "face_classifier:main"  # what puts it in .venv/bin
    readme = (PROJECT / "README.md").read_text()
    quick_start = readme[readme.index("## Quick start"):readme.index("\n## ", readme.index(
        "## Quick start"))]
    assert "\n    .venv/bin/face-classifier ~/Videos/" in quick_start
    printed = planned[-1].removeprefix('echo "').removesuffix('"')
    assert f"\n    {printed}\n" in quick_start  # the README shows what make demo prints
