"""The code's layout: small modules, internals kept internal, and an engine without Flask.

Every module of ``geo/`` and ``web/`` stays readable in one sitting (at most :data:`MAX_LINES`
lines), takes no other module's ``_``-prefixed name (neither ``from x import _y`` nor ``x._y``),
and ``geo/`` never imports Flask, so that the engine runs without the web app. No module of
``tests/`` imports a test module: shared fixtures live in ``tests/conftest.py``, shared helpers
in plain modules such as ``tests/support.py``.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

#: The most lines a module may have.
MAX_LINES = 600

#: Modules being cut into smaller ones elsewhere; their marks go once that lands.
_BEING_SPLIT = {"web/cli.py"}

#: Modules that still take a private name of another module (named in the comment), until the
#: module they take it from is cut up or the name made public.
_TAKING_PRIVATE = {"scripts/bench_pages.py"}  # web.planner._share_colour


def _modules(*packages: str) -> list[Path]:
    """The Python files of ``packages`` (folders under the repository), sorted."""
    return sorted(path for package in packages for path in (ROOT / package).rglob("*.py"))


def _name(path: Path) -> str:
    """The path relative to the repository, with forward slashes."""
    return path.relative_to(ROOT).as_posix()


def _params(paths: list[Path], marked: dict[str, str] | set[str], reason: str) -> list:
    """One parameter per module, those in ``marked`` expected to fail for ``reason``."""
    return [pytest.param(path, id=_name(path), marks=pytest.mark.xfail(strict=False, reason=reason))
            if _name(path) in marked else pytest.param(path, id=_name(path)) for path in paths]


def _is_private(name: str) -> bool:
    """Whether ``name`` is an internal one: ``_``-prefixed, but no dunder."""
    return name.startswith("_") and not (name.startswith("__") and name.endswith("__"))


def _is_module(dotted: str, root: Path) -> bool:
    """Whether ``dotted`` names a module or package of the repository at ``root``."""
    path = root.joinpath(*dotted.split("."))
    return path.with_suffix(".py").is_file() or (path / "__init__.py").is_file()


def _absolute(node: ast.ImportFrom, path: Path, root: Path) -> str:
    """The module an ``ImportFrom`` in ``path`` imports from, relative imports resolved."""
    if not node.level:
        return node.module or ""
    package = path.relative_to(root).parent.parts
    base = list(package[:len(package) - node.level + 1])
    return ".".join(base + ([node.module] if node.module else []))


def private_names_taken(path: Path, root: Path = ROOT) -> list[str]:
    """The ``_``-prefixed names ``path`` (a module of the repository at ``root``) takes from
    other modules, as ``module.name``."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    taken = []
    modules: dict[str, str] = {}  # a local name bound to a module -> the module
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.asname:
                    modules[alias.asname] = alias.name
                else:
                    top = alias.name.split(".")[0]
                    modules[top] = top
        elif isinstance(node, ast.ImportFrom):
            source = _absolute(node, path, root)
            for alias in node.names:
                if _is_private(alias.name):
                    taken.append(f"{source}.{alias.name}")
                elif _is_module(f"{source}.{alias.name}", root):
                    modules[alias.asname or alias.name] = f"{source}.{alias.name}"
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and _is_private(node.attr):
            chain, value = [node.attr], node.value
            while isinstance(value, ast.Attribute):
                chain.append(value.attr)
                value = value.value
            if isinstance(value, ast.Name) and value.id in modules:
                taken.append(".".join([modules[value.id], *reversed(chain)]))
    return sorted(set(taken))


def flask_imports(path: Path) -> list[str]:
    """The Flask modules (``flask`` and ``flask_*``) ``path`` imports."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    names = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and not node.level:
            names.append(node.module or "")
    return [name for name in names if name.split(".")[0].startswith("flask")]


def _is_test_module(dotted: str) -> bool:
    """Whether ``dotted`` names a test module, ``tests.test_*``."""
    return dotted.startswith("tests.test_")


def imported_test_modules(path: Path, root: Path = ROOT) -> list[str]:
    """The test modules (``tests.test_*``) that ``path``, a module of the repository at
    ``root``, imports, however it spells the import."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    imported = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            imported += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            source = _absolute(node, path, root)
            imported.append(source)
            imported += [f"{source}.{alias.name}" for alias in node.names]
    return sorted({".".join(name.split(".")[:2]) for name in imported if _is_test_module(name)})


@pytest.mark.parametrize("path", _params(_modules("geo", "web"), _BEING_SPLIT,
                                         "being cut into smaller modules"))
def test_a_module_is_short_enough_to_read(path):
    lines = len(path.read_text(encoding="utf-8").splitlines())
    assert lines <= MAX_LINES, f"{_name(path)} has {lines} lines (most {MAX_LINES})"


@pytest.mark.parametrize("path", _params(_modules("geo", "web", "scripts"), _TAKING_PRIVATE,
                                         "takes a name its home is making public"))
def test_a_module_takes_no_private_name_of_another(path):
    assert private_names_taken(path) == []


@pytest.mark.parametrize("path", _params(_modules("geo"), set(), ""))
def test_the_engine_does_not_import_flask(path):
    assert flask_imports(path) == []


@pytest.mark.parametrize("path", _params(_modules("tests"), set(), ""))
def test_no_test_module_imports_another(path):
    assert imported_test_modules(path) == []


def test_the_private_name_check_sees_both_ways_of_taking_one(tmp_path):
    (tmp_path / "geo").mkdir()
    for name in ("__init__", "areas", "demand", "osm"):
        (tmp_path / "geo" / f"{name}.py").write_text("", encoding="utf-8")
    probe = tmp_path / "geo" / "probe.py"
    probe.write_text("import geo.areas\nfrom . import demand\nfrom geo.osm import _x, y\n"
                     "geo.areas._a\ndemand._b\ndemand.__doc__\nself._c\n", encoding="utf-8")
    assert private_names_taken(probe, tmp_path) == ["geo.areas._a", "geo.demand._b",
                                                    "geo.osm._x"]


def test_the_test_import_check_sees_every_way_of_importing_a_test_module(tmp_path):
    (tmp_path / "tests").mkdir()
    for name in ("__init__", "support", "test_a", "test_b", "test_c", "test_d", "test_e"):
        (tmp_path / "tests" / f"{name}.py").write_text("", encoding="utf-8")
    probe = tmp_path / "tests" / "test_probe.py"
    probe.write_text("import tests.test_a\nfrom tests.test_b import x\nfrom tests import test_c\n"
                     "from . import test_d, support\nfrom .test_e import y\n"
                     "from tests.support import z\n", encoding="utf-8")
    assert imported_test_modules(probe, tmp_path) == ["tests.test_a", "tests.test_b",
                                                      "tests.test_c", "tests.test_d",
                                                      "tests.test_e"]
