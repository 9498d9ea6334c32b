"""The code's layout: small modules, internals kept internal, and an engine without Flask.

Every module of ``geo/`` and ``web/`` stays readable in one sitting (at most :data:`MAX_LINES`
lines), takes no other module's ``_``-prefixed name (neither ``from x import _y`` nor ``x._y``),
and ``geo/`` never imports Flask, so that the engine runs without the web app. ``web/`` takes
the engine's names from ``geo`` alone (``from geo import Atlas``), and only those ``geo``
declares public in ``__all__``; ``import geo`` loads none of the numerical libraries. No module of
``tests/`` imports a test module: shared fixtures live in ``tests/conftest.py``, shared helpers
in plain modules such as ``tests/support.py``.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

import geo

ROOT = Path(__file__).resolve().parent.parent

#: The most lines a module may have.
MAX_LINES = 600



def _modules(*packages: str) -> list[Path]:
    """The Python files of ``packages`` (folders under the repository), sorted."""
    return sorted(path for package in packages for path in (ROOT / package).rglob("*.py"))


def _name(path: Path) -> str:
    """The path relative to the repository, with forward slashes."""
    return path.relative_to(ROOT).as_posix()


def _params(paths: list[Path]) -> list:
    """One parameter per module, named by its path."""
    return [pytest.param(path, id=_name(path)) for path in paths]


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


def engine_imports_not_public(path: Path, public: list[str] = geo.__all__) -> list[str]:
    """What ``path`` imports from the engine other than a name of ``public`` from ``geo``:
    a module of it (``import geo.store``, ``from geo import store``) or a name taken from a
    module (``from geo.store import StationStore``)."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [alias.name for alias in node.names if alias.name.startswith("geo.")]
        elif isinstance(node, ast.ImportFrom) and not node.level:
            if node.module == "geo":
                found += [f"geo.{alias.name}" for alias in node.names
                          if alias.name not in public]
            elif (node.module or "").startswith("geo."):
                found += [f"{node.module}.{alias.name}" for alias in node.names]
    return found


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


@pytest.mark.parametrize("path", _params(_modules("geo", "web")))
def test_a_module_is_short_enough_to_read(path):
    lines = len(path.read_text(encoding="utf-8").splitlines())
    assert lines <= MAX_LINES, f"{_name(path)} has {lines} lines (most {MAX_LINES})"


@pytest.mark.parametrize("path", _params(_modules("geo", "web", "scripts")))
def test_a_module_takes_no_private_name_of_another(path):
    assert private_names_taken(path) == []


@pytest.mark.parametrize("path", _params(_modules("geo")))
def test_the_engine_does_not_import_flask(path):
    assert flask_imports(path) == []


@pytest.mark.parametrize("path", _params(_modules("web")))
def test_the_web_app_takes_only_public_engine_names_from_geo(path):
    assert engine_imports_not_public(path) == []


def test_every_public_engine_name_resolves():
    missing = [name for name in geo.__all__ if getattr(geo, name, None) is None]
    assert missing == []
    assert set(geo.__all__) <= set(dir(geo))


def test_type_checkers_see_the_public_names_where_they_live():
    tree = ast.parse((ROOT / "geo" / "__init__.py").read_text(encoding="utf-8"))
    checked = next(node for node in tree.body if isinstance(node, ast.If)
                   and isinstance(node.test, ast.Name) and node.test.id == "TYPE_CHECKING")
    seen = {f"{node.module}.{alias.name}" for node in checked.body for alias in node.names}
    assert seen == {f"{module}.{name}" for name, module in geo._MODULE_OF.items()}


def test_importing_the_engine_loads_no_numerical_library():
    heavy = ["geopandas", "osmnx", "matplotlib", "scipy", "highspy", "pandas", "shapely",
             "flask"]
    probe = f"import sys, geo; print(sorted(set({heavy!r}) & set(sys.modules)))"
    loaded = subprocess.run([sys.executable, "-c", probe], cwd=ROOT, check=True,
                            capture_output=True, text=True).stdout.strip()
    assert loaded == "[]"


def test_the_public_name_check_sees_every_way_into_the_engine(tmp_path):
    probe = tmp_path / "probe.py"
    probe.write_text("import geo\nimport geo.store\nfrom geo import Atlas, store, _HOMES\n"
                     "from geo.regions import Region\n", encoding="utf-8")
    assert engine_imports_not_public(probe, ["Atlas"]) == [
        "geo.store", "geo.store", "geo._HOMES", "geo.regions.Region"]


@pytest.mark.parametrize("path", _params(_modules("tests")))
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
