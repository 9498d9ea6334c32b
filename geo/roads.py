"""Street networks from road-edge line layers (``.shp``, ``.gpkg``, ``.geojson``).

Such a layer holds one *directed* edge per line (a two-way road appears twice, once in each
direction) with a ``highway`` column, and every line's end points coincide with a junction, as
in OSM-derived map-matching networks. Topology comes from the end-point coordinates; there are
no tags beyond the class, so the modes differ only by class filter, speeds and (for walking)
two-way travel.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import shapely
from pyproj import Geod

from geo.modes import profile
from geo.network import Network, largest_strong_component
from geo.osm import OsmSourceError

if TYPE_CHECKING:
    import geopandas as gpd

#: End points closer than this (degrees, about 1 cm) are one node.
COORD_PRECISION_DEG = 1e-7

#: The column that carries the OSM ``highway`` class.
HIGHWAY_COLUMN = "highway"

_GEOD = Geod(ellps="WGS84")


def count_road_edges(path: Path) -> int:
    """Count the edges of a road-edge layer without reading the geometries, as a cheap check.

    Args:
        path: the line layer.

    Returns:
        The number of features (at least 1).

    Raises:
        OsmSourceError: if the file is missing or unreadable, has no ``highway`` column, is not
            a line layer or has no features.
    """
    path = Path(path)
    info = _layer_info(path)
    return int(info["features"])


def _layer_info(path: Path) -> dict:
    """Return pyogrio's description of a road-edge layer after checking it is usable.

    Args:
        path: the line layer.

    Returns:
        pyogrio's ``read_info`` dictionary.

    Raises:
        OsmSourceError: as for :func:`count_road_edges`.
    """
    if not path.is_file():
        raise OsmSourceError(f"road file {path} does not exist")
    import pyogrio  # imports geopandas: OSM builds start without it

    try:
        info = pyogrio.read_info(path)
    except Exception as err:  # pyogrio raises several GDAL-derived error types
        raise OsmSourceError(f"cannot read road file {path}: {err}") from err
    if HIGHWAY_COLUMN not in list(info["fields"]):
        raise OsmSourceError(f"road file {path} has no {HIGHWAY_COLUMN!r} column")
    if "LineString" not in str(info["geometry_type"]):
        raise OsmSourceError(f"road file {path} is not a line layer ({info['geometry_type']})")
    if not info["features"]:
        raise OsmSourceError(f"road file {path} has no road edge")
    return info


def read_road_edges(path: Path) -> gpd.GeoDataFrame:
    """Read a road-edge layer as single lines in WGS-84.

    A layer without a CRS is taken to be lon/lat WGS-84 if its coordinates fit; multi-part
    lines are split into their parts.

    Args:
        path: the line layer.

    Returns:
        The edges, with a string ``highway`` column and LineString geometries.

    Raises:
        OsmSourceError: if the layer is unusable or has no CRS and coordinates outside lon/lat.
    """
    path = Path(path)
    _layer_info(path)
    import geopandas as gpd  # only road layers need it: OSM builds start without it

    edges = gpd.read_file(path, columns=[HIGHWAY_COLUMN])
    if edges.crs is None:
        minx, miny, maxx, maxy = edges.total_bounds
        if minx < -180 or maxx > 180 or miny < -90 or maxy > 90:
            raise OsmSourceError(f"road file {path} has no CRS and is not in lon/lat degrees")
        edges = edges.set_crs(4326)
    else:
        edges = edges.to_crs(4326)
    edges = edges[~edges.geometry.is_empty & edges.geometry.notna()]
    edges = edges.explode(index_parts=False, ignore_index=True)
    edges[HIGHWAY_COLUMN] = edges[HIGHWAY_COLUMN].fillna("").astype(str)
    return edges


def line_lengths_m(coords: np.ndarray, part: np.ndarray, n_lines: int) -> np.ndarray:
    """Return the geodesic length of each line on the WGS-84 ellipsoid, metres.

    Args:
        coords: (K, 2) lon/lat vertices of all lines, line after line.
        part: which line each vertex belongs to, ascending (K,).
        n_lines: number of lines.

    Returns:
        float64 (n_lines,).
    """
    _, _, dist = _GEOD.inv(coords[:-1, 0], coords[:-1, 1], coords[1:, 0], coords[1:, 1])
    same_line = part[1:] == part[:-1]
    return np.bincount(part[1:][same_line], weights=np.asarray(dist)[same_line],
                       minlength=n_lines)


@dataclass(frozen=True)
class RoadLayer:
    """A road-edge layer reduced to arrays, with its topology rebuilt from line end points.

    Nodes are the distinct line end points (rounded to :data:`COORD_PRECISION_DEG`); a node's
    id is its rank among all end points of the layer, so ids are the same for every mode.

    Attributes:
        source: the file it was read from.
        highway: ``highway`` class of each line, str (L,).
        tail, head: node index of each line's first and last point, int64 (L,).
        length_m: geodesic length of each line, metres (L,).
        coords: lon/lat vertices of all lines, line after line, float64 (K, 2).
        first: position in ``coords`` of each line's first vertex, int64 (L,).
        n_vertices: number of vertices of each line, int64 (L,).
        node_lonlat: lon/lat of each node, float64 (N, 2).
    """

    source: Path
    highway: np.ndarray
    tail: np.ndarray
    head: np.ndarray
    length_m: np.ndarray
    coords: np.ndarray
    first: np.ndarray
    n_vertices: np.ndarray
    node_lonlat: np.ndarray


def read_road_layer(path: Path) -> RoadLayer:
    """Read a directed road-edge layer and rebuild its topology from the line end points.

    Args:
        path: the line layer (lon/lat WGS-84, or any CRS it declares).

    Returns:
        The layer as arrays.

    Raises:
        OsmSourceError: if the layer is unusable (see :func:`read_road_edges`).
    """
    path = Path(path)
    edges = read_road_edges(path)
    coords, part = shapely.get_coordinates(edges.geometry.to_numpy(), return_index=True)
    n_vertices = np.bincount(part, minlength=len(edges))
    last = np.cumsum(n_vertices) - 1
    first = last - n_vertices + 1
    ends = np.concatenate([coords[first], coords[last]])
    keys = np.round(ends / COORD_PRECISION_DEG).astype(np.int64)
    _, where, node_of_end = np.unique(keys, axis=0, return_index=True, return_inverse=True)
    node_of_end = node_of_end.ravel()
    return RoadLayer(
        source=path,
        highway=edges[HIGHWAY_COLUMN].to_numpy(str),
        tail=node_of_end[: len(edges)],
        head=node_of_end[len(edges):],
        length_m=line_lengths_m(coords, part, len(edges)),
        coords=coords,
        first=first,
        n_vertices=n_vertices,
        node_lonlat=ends[where],
    )


def build_road_mode_network(
    layer: RoadLayer, mode: str, overrides: Mapping | None = None
) -> Network:
    """Build one mode's street network from a road layer.

    Lines whose class the mode may not use are dropped; for walking every line that has no
    twin in the other direction is also added reversed. Times come from the mode's class speeds,
    and only the largest strongly connected component is kept.

    Args:
        layer: the layer from :func:`read_road_layer`.
        mode: ``walk``, ``ebike`` or ``truck``.
        overrides: profile overrides, see :func:`geo.modes.profile`.

    Returns:
        The network; ``dropped_nodes`` counts the mode's nodes outside the kept component.

    Raises:
        OsmSourceError: if no line is usable for the mode.
        ValueError: for an unknown mode or bad overrides.
    """
    prof = profile(mode, overrides)
    classes, class_of = np.unique(layer.highway, return_inverse=True)
    allowed = np.array([prof.allows({"highway": c}) for c in classes], dtype=bool)
    speed_ms = np.array([prof.class_kmh(c) for c in classes]) / 3.6
    line = np.flatnonzero(allowed[class_of])
    if len(line) == 0:
        raise OsmSourceError(f"road file {layer.source} has no road usable for {mode}")
    flip = np.zeros(len(line), dtype=bool)
    if prof.bidirectional:
        # Two-way roads are in the layer once per direction already; reverse only the others.
        n = len(layer.node_lonlat)
        keys = layer.tail[line].astype(np.int64) * n + layer.head[line]
        twinned = np.isin(layer.head[line].astype(np.int64) * n + layer.tail[line], keys)
        single = line[~twinned]
        line = np.concatenate([line, single])
        flip = np.concatenate([flip, np.ones(len(single), dtype=bool)])
    tails = np.where(flip, layer.head[line], layer.tail[line])
    heads = np.where(flip, layer.tail[line], layer.head[line])
    length_m = layer.length_m[line]
    time_s = length_m / speed_ms[class_of[line]]

    kept = largest_strong_component(len(layer.node_lonlat), tails, heads)
    keep_edge = kept[tails]
    line, flip = line[keep_edge], flip[keep_edge]
    sizes = layer.n_vertices[line]
    shape_end = np.cumsum(sizes)
    vertex = np.arange(int(shape_end[-1])) + np.repeat(layer.first[line] - (shape_end - sizes),
                                                       sizes)
    shapes = edge_shapes(layer.coords[vertex], np.repeat(np.arange(len(line)), sizes), flip)
    new_index = np.cumsum(kept) - 1
    mode_nodes = np.unique(np.concatenate([tails, heads]))
    return Network.from_edges(
        mode=mode,
        node_ids=np.flatnonzero(kept),
        lon=layer.node_lonlat[kept, 0],
        lat=layer.node_lonlat[kept, 1],
        edge_u=new_index[tails[keep_edge]],
        edge_v=new_index[heads[keep_edge]],
        length_m=length_m[keep_edge],
        time_s=time_s[keep_edge],
        geoms=shapes,
        dropped_nodes=len(mode_nodes) - int(kept.sum()),
    )


def build_road_network(path: Path, mode: str, overrides: Mapping | None = None) -> Network:
    """Read a directed road-edge layer and build one mode's street network.

    Args:
        path: the line layer (lon/lat WGS-84, or any CRS it declares).
        mode: ``walk``, ``ebike`` or ``truck``.
        overrides: profile overrides, see :func:`geo.modes.profile`.

    Returns:
        The network.

    Raises:
        OsmSourceError: if the layer is unusable or no line is usable for the mode.
        ValueError: for an unknown mode or bad overrides.
    """
    return build_road_mode_network(read_road_layer(path), mode, overrides)


def edge_shapes(coords: np.ndarray, part: np.ndarray, flip: np.ndarray) -> list[np.ndarray]:
    """Split a flat coordinate array into per-edge shapes, reversing the flagged ones.

    Args:
        coords: (K, 2) vertices of all shapes, shape after shape.
        part: which shape each vertex belongs to, ascending (K,).
        flip: per-shape flag, True to reverse that shape's vertex order (S,).

    Returns:
        S arrays of shape (k, 2).
    """
    counts = np.bincount(part, minlength=len(flip))
    offsets = np.zeros(len(flip) + 1, dtype=np.int64)
    np.cumsum(counts, out=offsets[1:])
    start, end = offsets[:-1][part], offsets[1:][part]
    index = np.arange(len(coords))
    order = np.where(flip[part], start + end - 1 - index, index)
    return np.split(coords[order], offsets[1:-1])
