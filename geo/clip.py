"""Cutting a region out of a province- or country-sized OSM file.

A region's area is an administrative boundary relation inside the file (:func:`read_boundaries`,
:func:`find_boundary`), a longitude/latitude box (:func:`parse_bbox`) or a GeoJSON polygon
(:func:`read_polygon_file`). :func:`clip_file` writes the part of the file inside the area.

Boundaries are read with pyosmium in three streaming passes: the boundary relations, then only
their member ways, then only those ways' nodes (the passes skip everything else in C++ with an
:class:`osmium.IdTracker`), so memory grows with the boundaries, not with the file, and a
malformed boundary is named with what is wrong with it. The clip itself is done by Debian's
``osmium-tool`` (``osmium extract``), in C++ from end to end: on a 10 M-node province the clip,
finding the boundary included, takes 6 s of CPU against 40 s for the same clip written with
pyosmium, which spends about 4 µs of Python on every node (``scripts/bench_clip.py`` measures
both). It is needed only to clip; a region built from a whole city-sized file does not need it.

Ways crossing the area's edge are kept whole, with all their nodes, and multipolygon relations
(``type=multipolygon``: land use, large buildings) with a node inside are kept complete with all
their member ways and nodes (``osmium extract --strategy smart``): a road leaving the region runs
on to the end of its OSM way outside, so it stays connected, and an industrial estate cut by the
edge still has an outline and counts as demand. Other relations (boundaries, routes) are kept
with only their members in the clipped file.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import tempfile
from array import array
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import TypeVar

import numpy as np
import osmium
import pyproj
import shapely
from shapely.geometry import box, mapping, shape

from geo.extract import READ_ERRORS
from geo.progress import Progress, silent

__all__ = [
    "Boundary",
    "ClipError",
    "ClipCounts",
    "clip_file",
    "find_boundary",
    "osmium_tool",
    "parse_bbox",
    "read_boundaries",
    "read_polygon_file",
]

#: Member ids named in an error message before "and N more".
_NAMED_IDS = 5

_GEOD = pyproj.Geod(ellps="WGS84")


class ClipError(ValueError):
    """A clip area cannot be found or used; the message names the input and says why."""


@dataclass(frozen=True)
class Boundary:
    """An administrative boundary relation of an OSM file.

    Attributes:
        id: the relation's OSM id.
        tags: its tags.
        geometry: its (multi)polygon in WGS-84, or None when it cannot be assembled.
        problem: why there is no geometry (a ring not closed, members missing from the file).
    """

    id: int
    tags: dict[str, str]
    geometry: shapely.Geometry | None = None
    problem: str | None = None

    @property
    def name(self) -> str:
        """The ``name`` tag."""
        return self.tags.get("name", "")

    @property
    def name_zh(self) -> str:
        """The ``name:zh`` tag."""
        return self.tags.get("name:zh", "")

    @property
    def name_en(self) -> str:
        """The ``name:en`` tag."""
        return self.tags.get("name:en", "")

    @property
    def admin_level(self) -> int | None:
        """The ``admin_level`` tag as a number, or None if it has none."""
        level = self.tags.get("admin_level", "")
        return int(level) if level.isdigit() else None

    @cached_property
    def area_km2(self) -> float | None:
        """The geodesic area of the geometry in km² (holes left out), or None without one."""
        if self.geometry is None:
            return None
        return _GEOD.geometry_area_perimeter(shapely.orient_polygons(self.geometry))[0] / 1e6

    def label(self) -> str:
        """A one-line description: id, names and level."""
        names = " / ".join(dict.fromkeys(n for n in (self.name, self.name_zh, self.name_en) if n))
        return f"relation {self.id} ({names or 'unnamed'}, admin_level {self.admin_level})"


@dataclass
class _Relation:
    """A boundary relation's tags and member ways, before its geometry is assembled."""

    id: int
    tags: dict[str, str]
    outer: list[int] = field(default_factory=list)
    inner: list[int] = field(default_factory=list)


@dataclass(frozen=True)
class ClipCounts:
    """How many objects a clipped file holds."""

    nodes: int
    ways: int
    relations: int


def read_boundaries(path: Path, level: int | None = None) -> list[Boundary]:
    """Return the administrative boundary relations of an OSM file, with their geometry.

    Three streaming passes: the relations, then only their member ways, then only those ways'
    nodes, so memory grows with the boundaries, not the file.

    Args:
        path: the OSM file.
        level: only boundaries of this ``admin_level``.

    Returns:
        The boundaries, by admin level (unknown last), then name, then id.

    Raises:
        ClipError: if the file is missing or cannot be read.
    """
    with _reading(path):
        relations = [r for r in _boundary_relations(path)
                     if level is None or r.tags.get("admin_level") == str(level)]
        boundaries = _assemble(path, relations)
    return sorted(boundaries, key=lambda b: (b.admin_level is None, b.admin_level or 0,
                                             b.name, b.id))


def find_boundary(path: Path, key: str) -> Boundary:
    """Return the one boundary relation of a file named ``key`` (``name``, ``name:zh`` or
    ``name:en``, in any case) or with ``key`` as its id.

    Raises:
        ClipError: if the file cannot be read, if none or several boundaries match (the message
            lists them), or if the boundary's geometry cannot be assembled.
    """
    key = key.strip()
    with _reading(path):
        relations = _boundary_relations(path)
    if key.isdigit():
        matches = [r for r in relations if r.id == int(key)]
    else:
        matches = [r for r in relations if key.casefold() in
                   (r.tags.get(tag, "").casefold() for tag in ("name", "name:zh", "name:en"))]
    if not matches:
        what = f"relation {key} is not" if key.isdigit() else f"no boundary named {key!r} is"
        raise ClipError(f"{path}: {what} an administrative boundary in the file; "
                        f"`yizhan region boundaries {path}` lists them")
    with _reading(path):
        boundaries = _assemble(path, matches)
    if len(boundaries) > 1:
        listed = "; ".join(b.label() for b in boundaries)
        raise ClipError(f"{path}: {len(boundaries)} boundaries are named {key!r}: {listed}; "
                        "give one by its relation id")
    found = boundaries[0]
    if found.geometry is None:
        raise ClipError(f"{path}: boundary {found.label()} cannot be used: {found.problem}")
    return found


def parse_bbox(text: str) -> shapely.Polygon:
    """Read a ``W,S,E,N`` box in WGS-84 degrees.

    Raises:
        ClipError: naming the box if it is not four numbers, lies outside the world or is empty.
    """
    parts = text.split(",")
    try:
        west, south, east, north = (float(p) for p in parts)
    except ValueError:
        raise ClipError(f"--bbox {text!r}: give four numbers W,S,E,N "
                        "(west and east longitude, south and north latitude)") from None
    if not all(np.isfinite([west, south, east, north])):
        raise ClipError(f"--bbox {text!r}: the numbers must be finite")
    if not (-180 <= west <= 180 and -180 <= east <= 180 and -90 <= south <= 90
            and -90 <= north <= 90):
        raise ClipError(f"--bbox {text!r}: longitudes must lie in [-180, 180] and latitudes "
                        "in [-90, 90]")
    if west >= east or south >= north:
        raise ClipError(f"--bbox {text!r}: the box is empty; west must be less than east and "
                        "south less than north")
    return box(west, south, east, north)


def read_polygon_file(path: Path) -> shapely.Geometry:
    """Read a GeoJSON Polygon or MultiPolygon (a geometry, a Feature or a FeatureCollection,
    whose polygons are joined) in WGS-84.

    Raises:
        ClipError: naming the file if it cannot be read, holds no polygon or an invalid one.
    """
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
        raise ClipError(f"{path}: cannot read a GeoJSON file: {error}") from None
    if isinstance(data, dict) and data.get("type") == "FeatureCollection":
        geometries = [f.get("geometry") for f in data.get("features") or []
                      if isinstance(f, dict)]
    elif isinstance(data, dict) and data.get("type") == "Feature":
        geometries = [data.get("geometry")]
    else:
        geometries = [data]
    polygons = []
    for geometry in geometries:
        if not isinstance(geometry, dict) or geometry.get("type") not in ("Polygon",
                                                                           "MultiPolygon"):
            raise ClipError(f"{path}: every geometry must be a Polygon or MultiPolygon")
        try:
            polygons.append(shape(geometry))
        except (ValueError, TypeError, IndexError, AttributeError, shapely.errors.ShapelyError):
            raise ClipError(f"{path}: a {geometry['type']} has malformed coordinates") from None
    if not polygons:
        raise ClipError(f"{path}: the file holds no polygon")
    for polygon in polygons:
        if polygon.is_empty or not polygon.is_valid:
            reason = shapely.is_valid_reason(polygon) if not polygon.is_empty else "empty"
            raise ClipError(f"{path}: the polygon is not valid ({reason})")
    area = shapely.force_2d(shapely.union_all(polygons))
    west, south, east, north = area.bounds
    if west < -180 or east > 180 or south < -90 or north > 90:
        raise ClipError(f"{path}: coordinates must be WGS-84 longitude, latitude in degrees")
    return area


def clip_file(source: Path, area: shapely.Geometry, target: Path,
              progress: Progress | None = None) -> ClipCounts:
    """Write the part of an OSM file inside an area to a new file with ``osmium extract``.

    Ways with a node inside are kept whole with all their nodes, multipolygon relations with a
    node inside whole with all their members (the ``smart`` strategy; see the module docstring).

    Args:
        source: the OSM file.
        area: the (multi)polygon to keep, in WGS-84.
        target: the ``.osm.pbf`` file to write.
        progress: told when the clip starts (0 of 1 files) and ends (1 of 1).

    Returns:
        How many nodes, ways and relations were written.

    Raises:
        ClipError: if ``osmium-tool`` is not installed, fails on the file, or no node of the
            file lies inside the area.
    """
    report = progress or silent
    stage = f"clipping {Path(source).name}"
    tool = osmium_tool()
    with tempfile.TemporaryDirectory() as folder:
        polygon = Path(folder) / "area.geojson"
        polygon.write_text(json.dumps({"type": "Feature", "properties": {},
                                       "geometry": mapping(area)}))
        report(stage, 0, 1)
        _run([tool, "extract", "--strategy", "smart", "--polygon", str(polygon), "--overwrite",
              "--no-progress", "--output", str(target), str(source)], source)
        report(stage, 1, 1)
    if next(iter(osmium.FileProcessor(str(target), osmium.osm.NODE)), None) is None:
        target.unlink()
        west, south, east, north = area.bounds
        raise ClipError(f"{source}: no node lies inside the area ({west:g}–{east:g} E, "
                        f"{south:g}–{north:g} N)")
    info = json.loads(_run([tool, "fileinfo", "--extended", "--json", str(target)], target))
    count = info["data"]["count"]
    return ClipCounts(nodes=count["nodes"], ways=count["ways"], relations=count["relations"])


def osmium_tool() -> str:
    """Return the path of the ``osmium`` command of ``osmium-tool``.

    Raises:
        ClipError: saying how to install it if it is missing.
    """
    tool = shutil.which("osmium")
    if tool is None:
        raise ClipError("clipping a region out of a larger file needs osmium-tool "
                        "(Debian/Ubuntu: apt install osmium-tool; macOS: brew install "
                        "osmium-tool; conda: conda install -c conda-forge osmium-tool)")
    return tool


def _run(command: list[str], path: Path) -> str:
    """Run an ``osmium`` command and return its output; a failure names the file."""
    done = subprocess.run(command, capture_output=True, text=True)
    if done.returncode != 0:
        message = " ".join(done.stderr.split()) or f"exit code {done.returncode}"
        raise ClipError(f"{path}: osmium {command[1]} failed: {message}")
    return done.stdout


@contextmanager
def _reading(path: Path) -> Iterator[None]:
    """Turn a missing or unreadable file into a :class:`ClipError` naming it."""
    if not Path(path).is_file():
        raise ClipError(f"no such file: {path}")
    try:
        yield
    except READ_ERRORS as error:
        raise ClipError(f"{path}: cannot read OSM file: {error}") from None


#: One class of OSM object read by :func:`_objects`.
_Object = TypeVar("_Object", osmium.osm.Node, osmium.osm.Way, osmium.osm.Relation)


def _objects(processor: osmium.FileProcessor, kind: type[_Object]) -> Iterator[_Object]:
    """The objects of one class that a processor reading only that kind yields (pyosmium
    types what it yields as any kind of object)."""
    for obj in processor:
        if isinstance(obj, kind):
            yield obj


def _boundary_relations(path: Path) -> list[_Relation]:
    """The relations tagged ``boundary=administrative``, with their member ways."""
    relations = []
    for relation in _objects(osmium.FileProcessor(str(path), osmium.osm.RELATION).with_filter(
            osmium.filter.TagFilter(("boundary", "administrative"))), osmium.osm.Relation):
        found = _Relation(relation.id, dict(relation.tags))
        for member in relation.members:
            if member.type == "w":
                (found.inner if member.role == "inner" else found.outer).append(member.ref)
        relations.append(found)
    return relations


def _assemble(path: Path, relations: list[_Relation]) -> list[Boundary]:
    """Give boundary relations their geometry, reading only their member ways and nodes."""
    wanted = osmium.IdTracker()
    for relation in relations:
        for way_id in relation.outer + relation.inner:
            wanted.add_way(way_id)
    refs = {}
    ways = osmium.FileProcessor(str(path), osmium.osm.WAY).with_filter(wanted.id_filter())
    for way in _objects(ways, osmium.osm.Way):
        refs[way.id] = np.array([n.ref for n in way.nodes], dtype=np.int64)
        for ref in way.nodes:
            wanted.add_node(ref.ref)
    ids, lons, lats = array("q"), array("d"), array("d")  # 24 bytes a node
    nodes = osmium.FileProcessor(str(path), osmium.osm.NODE).with_filter(wanted.id_filter())
    for node in _objects(nodes, osmium.osm.Node):
        if node.location.valid():
            ids.append(node.id)
            lons.append(node.location.lon)
            lats.append(node.location.lat)
    node_ids = np.frombuffer(ids, dtype=np.int64)
    order = np.argsort(node_ids)
    located = (node_ids[order], np.frombuffer(lons)[order], np.frombuffer(lats)[order])
    return [_boundary(relation, refs, located) for relation in relations]


def _boundary(relation: _Relation, refs: dict[int, np.ndarray],
              located: tuple[np.ndarray, np.ndarray, np.ndarray]) -> Boundary:
    """Assemble one relation's (multi)polygon from its member ways, or say why it cannot be."""
    if not relation.outer:
        return Boundary(relation.id, relation.tags, problem="it has no outer member way")
    missing_ways = [w for w in relation.outer + relation.inner if w not in refs]
    if missing_ways:
        return Boundary(relation.id, relation.tags,
                        problem=f"these member ways are not in the file: {_some(missing_ways)}")
    node_ids, lons, lats = located
    rings = {}
    for role, way_ids in (("outer", relation.outer), ("inner", relation.inner)):
        lines = []
        for way_id in way_ids:
            way_nodes = refs[way_id]
            if len(way_nodes) < 2:
                return Boundary(relation.id, relation.tags,
                                problem=f"way {way_id} has fewer than two nodes")
            at = np.minimum(np.searchsorted(node_ids, way_nodes), max(len(node_ids) - 1, 0))
            present = (node_ids[at] == way_nodes) if len(node_ids) else np.zeros(0, bool)
            if not present.all():
                return Boundary(relation.id, relation.tags,
                                problem=f"these nodes of way {way_id} are not in the file: "
                                        f"{_some(way_nodes[~present].tolist())}")
            lines.append(shapely.linestrings(lons[at], lats[at]))
        merged = shapely.get_parts(shapely.line_merge(shapely.MultiLineString(lines)))
        open_lines = [line for line in merged if not line.is_closed]
        if open_lines:
            x, y = open_lines[0].coords[-1]
            return Boundary(relation.id, relation.tags,
                            problem=f"its {role} ring is not closed (it ends at {x:.6f}, "
                                    f"{y:.6f})")
        rings[role] = [shapely.Polygon(line) for line in merged]
    polygons = rings["outer"] + rings["inner"]
    if not all(p.is_valid and p.area > 0 for p in polygons):
        return Boundary(relation.id, relation.tags, problem="one of its rings crosses itself")
    geometry = shapely.union_all(rings["outer"])
    if rings["inner"]:
        geometry = geometry.difference(shapely.union_all(rings["inner"]))
    return Boundary(relation.id, relation.tags, geometry=geometry)


def _some(ids: Iterable[int]) -> str:
    """A few ids for a message, and how many more there are."""
    ids = list(ids)
    named = ", ".join(map(str, ids[:_NAMED_IDS]))
    return named + (f" and {len(ids) - _NAMED_IDS} more" if len(ids) > _NAMED_IDS else "")
