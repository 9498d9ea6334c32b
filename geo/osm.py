"""Street networks from OSM files (``.osm``, ``.osm.xml``, ``.osm.bz2``, ``.osm.gz``, ``.osm.pbf``).

:class:`HighwayCollector` takes the file's ``highway`` ways from the one pass of
:func:`geo.extract.read_osm` into :class:`HighwayWays`: every way with its tags and node
locations, split into runs of nodes present in the file (clipped extracts reference nodes they
do not contain). :func:`build_mode_network` then builds one mode's network on arrays, with
the same result as osmnx's ``graph_from_xml`` + ``simplify_graph`` + ``largest_component``:

1. The pieces the mode may use (:meth:`ModeProfile.allows`) become directed segments, both ways
   or one way by :meth:`ModeProfile.direction`, each with its great-circle length (osmnx's
   haversine on a sphere of radius 6,371,009 m) and travel time (length / the mode's speed on
   the piece's way). Where several pieces share a segment, the first piece's time counts.
2. Simplification merges chains of nodes that are not *endpoints* into one edge with the
   chain's shape, summing lengths and times. A node is an endpoint, as in osmnx's strict rules,
   if it loops to itself, has no incoming or no outgoing segment, or has other than two
   neighbours or other than 2 or 4 segments. Components left without an endpoint (isolated
   rings) are removed.
3. The largest strongly connected part is kept (``scipy.sparse.csgraph``), and
   :meth:`Network.from_edges` splits parallel edges and loops.

**Clip edges.** An extract cuts roads at its boundary, and a one-way road cut there is a dead
end that no strongly connected part contains, so a road leaving the region would be lost.
With ``clip_edges`` (the default), nodes *outside* the extract are joined both ways through one
virtual node while the strongly connected part is found: the ends of pieces cut by a node
missing from the file (the way goes on beyond the extract), and nodes outside the extract's
area, which is the region's boundary polygon when the build is given one, else the bounding box
in the file's header (PBF header, or ``<bounds>`` of an OSM XML export), else none. The virtual
node and its edges are not part of the network: a road that leaves the region stays, although
within the network it may lead only out or only in. What is dropped all the same is reported
per ``highway`` class in :attr:`Network.dropped_km`.
"""

from __future__ import annotations

from array import array
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

import numpy as np
import osmium
import shapely
from scipy.sparse import csr_matrix
from scipy.sparse.csgraph import connected_components

from geo.extract import READ_ERRORS, OsmSourceError, degrees, read_osm
from geo.modes import ModeProfile, profile
from geo.progress import Progress
from geo.network import Network, largest_strong_component, take_shapes

__all__ = [
    "Boundary",
    "EARTH_RADIUS_M",
    "HighwayWays",
    "OsmSourceError",
    "build_mode_network",
    "build_osm_network",
    "count_highway_ways",
    "edge_shapes",
    "great_circle_m",
    "mode_pieces",
    "read_highway_ways",
]

#: Earth radius osmnx measures great-circle lengths with, metres.
EARTH_RADIUS_M = 6_371_009

#: A region's boundary in lon/lat.
Boundary = shapely.Polygon | shapely.MultiPolygon


@dataclass(frozen=True)
class HighwayWays:
    """The ``highway`` ways of an OSM file, as runs of nodes that are present in the file.

    A way whose nodes are all present is one piece; a way clipped by the extract is split into
    one piece per contiguous run of at least two present nodes.

    Attributes:
        source: the file they were read from.
        way_ids: OSM id of the way each piece comes from, int64 (P,).
        tags: the OSM tags of each piece's way (P dicts).
        offsets: int64 (P + 1,); piece p's nodes are ``node_refs[offsets[p]:offsets[p + 1]]``.
        node_refs: OSM node ids of all pieces' nodes, int64 (R,).
        lon, lat: WGS-84 coordinates of each entry of ``node_refs``, float64 (R,).
        cut_start, cut_end: bool (P,), the way goes on before the piece's first node, or after
            its last, through a node missing from the file.
        bounds: the file header's bounding box (west, south, east, north), or None.
    """

    source: Path
    way_ids: np.ndarray
    tags: list[dict[str, str]]
    offsets: np.ndarray
    node_refs: np.ndarray
    lon: np.ndarray
    lat: np.ndarray
    cut_start: np.ndarray
    cut_end: np.ndarray
    bounds: tuple[float, float, float, float] | None = None

    @property
    def n_pieces(self) -> int:
        """Number of pieces."""
        return len(self.way_ids)

    @cached_property
    def nodes(self) -> tuple[np.ndarray, np.ndarray]:
        """The distinct nodes, ``(ids ascending, the node of each entry of node_refs)``."""
        ids, node_of = np.unique(self.node_refs, return_inverse=True)
        return ids, node_of.astype(np.int32)

    @cached_property
    def step_m(self) -> np.ndarray:
        """Great-circle length from each entry of ``node_refs`` to the next one of its piece
        (0 after a piece's last), float64 (R,); every mode's segments share them."""
        step = np.zeros(len(self.node_refs))
        step[:-1] = great_circle_m(self.lat[:-1], self.lon[:-1], self.lat[1:], self.lon[1:])
        step[self.offsets[1:] - 1] = 0.0
        return step


def count_highway_ways(path: Path) -> int:
    """Count the ``highway`` ways of an OSM file, a cheap check before adding a region.

    Args:
        path: the OSM file.

    Returns:
        The number of ways tagged ``highway`` (at least 1).

    Raises:
        OsmSourceError: if the file is missing, cannot be parsed or has no highway way.
    """
    path = Path(path)
    if not path.is_file():
        raise OsmSourceError(f"OSM file {path} does not exist")
    processor = (
        osmium.FileProcessor(str(path), osmium.osm.WAY)
        .with_filter(osmium.filter.KeyFilter("highway"))
    )
    try:
        count = sum(1 for _ in processor)
    except READ_ERRORS as err:
        raise OsmSourceError(f"cannot read OSM file {path}: {err}") from err
    if count == 0:
        raise OsmSourceError(f"OSM file {path} has no highway way")
    return count


class HighwayCollector:
    """Collects the ``highway`` ways of an OSM file with their node locations (see
    :class:`geo.extract.Collector`).

    Args:
        source: the file being read, carried into the product.
    """

    keys = ("highway",)
    kinds = osmium.osm.WAY

    def __init__(self, source: Path) -> None:
        self.source = Path(source)
        self._way_ids = array("q")
        self._tags: list[dict[str, str]] = []
        self._sizes = array("q")
        self._nodes = array("q")  # node id, x and y of every node reference

    def way(self, way: osmium.osm.Way) -> None:
        """Take a ``highway`` way: its id, tags and node references with their locations."""
        if "highway" not in way.tags:
            return
        nodes = way.nodes
        self._way_ids.append(way.id)
        self._tags.append({tag.k: tag.v for tag in way.tags})
        self._sizes.append(len(nodes))
        self._nodes.extend([v for n in nodes for v in (n.ref, n.location.x, n.location.y)])

    def result(self) -> HighwayWays:
        """Return the ways taken as pieces of present nodes (see :func:`read_highway_ways`).

        Raises:
            OsmSourceError: if no way has a run of two or more present nodes.
        """
        nodes = np.frombuffer(self._nodes, dtype=np.int64).reshape(-1, 3)
        lon, lat, valid = degrees(nodes[:, 1], nodes[:, 2])
        ways = _split_runs(
            self.source, np.array(self._way_ids, dtype=np.int64), self._tags,
            np.array(self._sizes, dtype=np.int64), nodes[:, 0].copy(), lon, lat, valid,
            _header_bounds(self.source),
        )
        if ways.n_pieces == 0:
            raise OsmSourceError(
                f"OSM file {self.source} has no usable highway way (with 2+ known nodes)")
        return ways


def read_highway_ways(path: Path, progress: Progress | None = None) -> HighwayWays:
    """Read the ``highway`` ways of an OSM file with their node locations.

    Nodes missing from the file split a way into runs; runs of fewer than two distinct nodes
    are dropped, as are repeated consecutive references to one node.

    Args:
        path: the OSM file; pyosmium picks the format from the file name.
        progress: told ``("reading NAME", ways read, None)`` as the ways are read.

    Returns:
        The ways as pieces of present nodes.

    Raises:
        OsmSourceError: if the file is missing, cannot be parsed or has no usable highway way.
    """
    collector = HighwayCollector(path)
    read_osm(path, [collector], progress)
    return collector.result()


def _split_runs(
    path: Path,
    way_ids: np.ndarray,
    tags: list[dict[str, str]],
    sizes: np.ndarray,
    refs: np.ndarray,
    lon: np.ndarray,
    lat: np.ndarray,
    valid: np.ndarray,
    bounds: tuple[float, float, float, float] | None,
) -> HighwayWays:
    """Split ways into runs of consecutive present nodes, keeping runs of two or more.

    Args:
        path: the source file.
        way_ids, tags: per-way OSM id and tags (W,).
        sizes: number of node references of each way (W,).
        refs, lon, lat, valid: all ways' node references in order, their coordinates and
            whether the node is present in the file (R,).
        bounds: the file header's bounding box, or None.

    Returns:
        The pieces.
    """
    way_of = np.repeat(np.arange(len(way_ids)), sizes)
    repeat = np.zeros(len(refs), dtype=bool)
    repeat[1:] = (way_of[1:] == way_of[:-1]) & (refs[1:] == refs[:-1])
    missing = np.zeros(len(refs) + 1, dtype=np.int64)  # missing nodes before each entry
    np.cumsum(~valid, out=missing[1:])
    keep = np.flatnonzero(valid & ~repeat)
    # a run starts at a way's first kept node and after every missing node
    starts = np.ones(len(keep), dtype=bool)
    starts[1:] = (np.diff(way_of[keep]) != 0) | (np.diff(missing[keep]) != 0)
    run = np.cumsum(starts) - 1
    run_sizes = np.bincount(run, minlength=int(starts.sum()))
    long_run = run_sizes >= 2
    entries = keep[long_run[run]]
    offsets = np.zeros(int(long_run.sum()) + 1, dtype=np.int64)
    np.cumsum(run_sizes[long_run], out=offsets[1:])
    piece_way = way_of[keep[starts][long_run]]
    # a piece is cut where a missing node lies between it and its way's start or end
    way_end = np.cumsum(sizes)
    first, last = entries[offsets[:-1]], entries[offsets[1:] - 1]
    return HighwayWays(
        source=path,
        way_ids=way_ids[piece_way],
        tags=[tags[w] for w in piece_way],
        offsets=offsets,
        node_refs=refs[entries],
        lon=lon[entries],
        lat=lat[entries],
        cut_start=missing[first] > missing[(way_end - sizes)[piece_way]],
        cut_end=missing[way_end[piece_way]] > missing[last + 1],
        bounds=bounds,
    )


def _header_bounds(path: Path) -> tuple[float, float, float, float] | None:
    """Return the bounding box in an OSM file's header (west, south, east, north), or None."""
    reader = osmium.io.Reader(str(path), osmium.osm.osm_entity_bits.NOTHING)
    try:
        box = reader.header().box()
    finally:
        reader.close()
    if not box.valid():
        return None
    return (box.bottom_left.lon, box.bottom_left.lat, box.top_right.lon, box.top_right.lat)


def mode_pieces(ways: HighwayWays, mode: ModeProfile) -> np.ndarray:
    """Return the indices of the pieces a mode may use.

    Args:
        ways: the file's highway pieces.
        mode: the travel mode.

    Returns:
        int64 indices into ``ways``, ascending.
    """
    return np.array([p for p, tags in enumerate(ways.tags) if mode.allows(tags)], dtype=np.int64)


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


def great_circle_m(
    lat1: np.ndarray, lon1: np.ndarray, lat2: np.ndarray, lon2: np.ndarray
) -> np.ndarray:
    """Return great-circle distances in metres, computed as ``osmnx.distance.great_circle``.

    Args:
        lat1, lon1, lat2, lon2: coordinates of the pairs' two ends, degrees.

    Returns:
        The haversine distances on a sphere of :data:`EARTH_RADIUS_M`.
    """
    y1, y2 = np.deg2rad(lat1), np.deg2rad(lat2)
    dx = np.deg2rad(lon2) - np.deg2rad(lon1)
    h = np.sin((y2 - y1) / 2) ** 2 + np.cos(y1) * np.cos(y2) * np.sin(dx / 2) ** 2
    return 2 * np.arcsin(np.sqrt(np.minimum(1, h))) * EARTH_RADIUS_M


@dataclass(frozen=True)
class _Segments:
    """One mode's directed segments.

    Attributes:
        node_ids, lon, lat: the mode's nodes, by ascending OSM id (N,).
        u, v: tail and head node of every directed segment, int32 (S,).
        part: the piece segment each directed segment travels, int32 (S,).
        part_length_m: length of every piece segment (osmnx's great-circle length).
        part_piece: the piece of every piece segment, an index into ``speed_ms``, int32.
        speed_ms: the mode's speed on every piece it may use, m/s.
        part_class: ``highway`` class of every piece segment, an index into ``classes``.
        classes: the ``highway`` classes.
        outside: bool (N,), the nodes outside the extract (see the module's clip-edge rule).
    """

    node_ids: np.ndarray
    lon: np.ndarray
    lat: np.ndarray
    u: np.ndarray
    v: np.ndarray
    part: np.ndarray
    part_length_m: np.ndarray
    part_piece: np.ndarray
    speed_ms: np.ndarray
    part_class: np.ndarray
    classes: np.ndarray
    outside: np.ndarray

    def length_m(self, segments: np.ndarray) -> np.ndarray:
        """Return the length of some directed segments."""
        return self.part_length_m[self.part[segments]]

    def time_s(self, segments: np.ndarray) -> np.ndarray:
        """Return the travel time of some directed segments."""
        part = self.part[segments]
        return self.part_length_m[part] / self.speed_ms[self.part_piece[part]]


def _mode_segments(
    ways: HighwayWays, prof: ModeProfile, pieces: np.ndarray, boundary: Boundary | None
) -> _Segments:
    """Turn the pieces a mode may use into directed segments: along the direction of travel,
    and for two-way pieces also against it.

    Args:
        ways: the file's highway pieces.
        prof: the mode's profile.
        pieces: the pieces the mode may use, ascending.
        boundary: the region's (Multi)Polygon in lon/lat, or None.

    Returns:
        The segments.
    """
    tags = [ways.tags[p] for p in pieces.tolist()]
    direction = np.array([prof.direction(t) for t in tags], dtype=np.int8)
    speed_ms = np.array([prof.speed_kmh(t) for t in tags]) / 3.6
    classes, highway = np.unique([t["highway"] for t in tags], return_inverse=True)
    sizes = np.diff(ways.offsets)[pieces]
    ends = np.cumsum(sizes)
    entries = np.arange(int(ends[-1])) + np.repeat(ways.offsets[pieces] - (ends - sizes), sizes)
    all_ids, all_of = ways.nodes
    used = np.zeros(len(all_ids), dtype=bool)
    used[all_of[entries]] = True
    node_ids = all_ids[used]
    node_of = (np.cumsum(used, dtype=np.int32) - 1)[all_of[entries]]
    del used
    entry_of = np.zeros(len(node_ids), dtype=np.int64)
    entry_of[node_of] = entries
    lon, lat = ways.lon[entry_of], ways.lat[entry_of]
    outside = _outside_nodes(ways, pieces, node_of, ends - sizes, ends - 1, lon, lat, boundary)
    del entry_of

    is_segment = np.ones(len(node_of), dtype=bool)
    is_segment[ends - 1] = False
    a, b = node_of[is_segment], node_of[1:][is_segment[:-1]]
    part_length = ways.step_m[entries[is_segment]]
    part_piece = np.repeat(np.arange(len(pieces), dtype=np.int32), sizes - 1)
    del node_of, is_segment, entries
    piece_direction = direction[part_piece]
    backward = piece_direction == -1
    two_way = np.flatnonzero(piece_direction == 0).astype(np.int32)
    del piece_direction
    tail, head = np.where(backward, b, a), np.where(backward, a, b)
    del a, b, backward
    return _Segments(
        node_ids=node_ids, lon=lon, lat=lat,
        u=np.concatenate([tail, head[two_way]]),
        v=np.concatenate([head, tail[two_way]]),
        part=np.concatenate([np.arange(len(tail), dtype=np.int32), two_way]),
        part_length_m=part_length,
        part_piece=part_piece,
        speed_ms=speed_ms,
        part_class=highway[part_piece],
        classes=classes,
        outside=outside,
    )


def _outside_nodes(
    ways: HighwayWays,
    pieces: np.ndarray,
    node_of: np.ndarray,
    piece_first: np.ndarray,
    piece_last: np.ndarray,
    lon: np.ndarray,
    lat: np.ndarray,
    boundary: Boundary | None,
) -> np.ndarray:
    """Mark the nodes outside the extract, as the clip-edge rule has it.

    Args:
        ways: the file's highway pieces.
        pieces: the pieces of the mode.
        node_of: the node of every entry of those pieces.
        piece_first, piece_last: where each piece's first and last entry is in ``node_of``.
        lon, lat: the nodes' coordinates.
        boundary: the region's (Multi)Polygon in lon/lat, or None.

    Returns:
        bool (N,): piece ends cut by a missing node, and nodes outside ``boundary`` or, without
        one, outside the file header's bounding box (if it has one).
    """
    outside = np.zeros(len(lon), dtype=bool)
    outside[node_of[piece_first[ways.cut_start[pieces]]]] = True
    outside[node_of[piece_last[ways.cut_end[pieces]]]] = True
    if boundary is not None:
        outside |= ~shapely.contains_xy(boundary, lon, lat)
    elif ways.bounds is not None:
        west, south, east, north = ways.bounds
        outside |= (lon < west) | (lon > east) | (lat < south) | (lat > north)
    return outside


def _neighbour_pairs(n: int, u: np.ndarray, v: np.ndarray) -> np.ndarray:
    """Return the distinct pairs of neighbouring nodes, ``low * n + high``, ascending."""
    loops = u == v
    low, high = np.minimum(u, v)[~loops], np.maximum(u, v)[~loops]
    pairs = np.sort(low.astype(np.int64) * n + high, kind="stable")
    distinct = np.ones(len(pairs), dtype=bool)
    distinct[1:] = pairs[1:] != pairs[:-1]
    return pairs[distinct]


def _endpoints(n: int, u: np.ndarray, v: np.ndarray) -> np.ndarray:
    """Mark the nodes of a directed multigraph that osmnx's strict simplification keeps.

    A node is an endpoint if it loops to itself, has no incoming or no outgoing edge, or does
    not have exactly two neighbours with 2 or 4 edges.
    """
    out_deg = np.bincount(u, minlength=n)
    in_deg = np.bincount(v, minlength=n)
    degree = out_deg + in_deg
    pairs = _neighbour_pairs(n, u, v)
    neighbours = np.bincount(pairs // n, minlength=n) + np.bincount(pairs % n, minlength=n)
    looping = np.zeros(n, dtype=bool)
    looping[u[u == v]] = True
    return (looping | (out_deg == 0) | (in_deg == 0) | (neighbours != 2)
            | ((degree != 2) & (degree != 4)))


@dataclass(frozen=True)
class _Simplified:
    """A mode's graph after merging chains (see :func:`_simplify`).

    Attributes:
        alive: bool (N,), the nodes left.
        u, v, length_m, time_s: the edges left (F,).
        shape_offsets, shape_nodes: edge f runs through the nodes
            ``shape_nodes[shape_offsets[f]:shape_offsets[f + 1]]``.
        edge_of_segment: the edge each segment ended in, or -1 (S,).
    """

    alive: np.ndarray
    u: np.ndarray
    v: np.ndarray
    length_m: np.ndarray
    time_s: np.ndarray
    shape_offsets: np.ndarray
    shape_nodes: np.ndarray
    edge_of_segment: np.ndarray


def _arcs(n: int, seg: _Segments) -> tuple[np.ndarray, ...]:
    """Return the distinct directed node pairs (arcs) of the segments.

    Of parallel segments the first piece's counts, as the first edge osmnx added between two
    nodes does.

    Returns:
        ``(arc_key, arc_length, arc_time, arc_of)``: ``tail * n + head`` of every arc,
        ascending; its length and time; and the arc of every segment.
    """
    key = seg.u.astype(np.int64) * n + seg.v
    order = np.argsort(key, kind="stable")
    key = key[order]
    starts = np.ones(len(key), dtype=bool)
    starts[1:] = key[1:] != key[:-1]
    arc_key = key[starts]
    arc_of = np.empty(len(order), dtype=np.int32)
    arc_of[order] = np.cumsum(starts) - 1
    first = np.flatnonzero(starts)
    arc_length = seg.part_length_m[seg.part[order[first]]]
    first_piece = np.minimum.reduceat(seg.part_piece[seg.part[order]], first)
    return arc_key, arc_length, arc_length / seg.speed_ms[first_piece], arc_of


def _onward(n: int, endpoint: np.ndarray, arc_key: np.ndarray) -> np.ndarray:
    """Return the arc a path takes after each arc, or -1 where it stops.

    After an arc into a node that is not an endpoint, a path goes on along that node's arc to
    its other neighbour (such a node has exactly two neighbours), if there is one.
    """
    tail, head = (arc_key // n).astype(np.int32), (arc_key % n).astype(np.int32)
    out_start = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(np.bincount(tail, minlength=n), out=out_start[1:])
    into_inner = np.flatnonzero(~endpoint[head])
    x = head[into_inner]
    first = out_start[x]
    second = np.where(out_start[x + 1] - first > 1, first + 1, -1)
    onward = np.full(len(arc_key), -1, dtype=np.int32)
    onward[into_inner] = np.where(head[first] != tail[into_inner], first, second)
    return onward


def _walk_paths(first: np.ndarray, onward: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Follow every path from its first arc, one arc per step for all paths at once.

    Args:
        first: the first arc of every path.
        onward: the next arc after every arc, or -1.

    Returns:
        ``(in_path, arcs_per_path)``: the arcs of all paths, path after path, each in order,
        and how many arcs each path has.
    """
    path_of = np.full(len(onward), -1, dtype=np.int32)
    step_of = np.zeros(len(onward), dtype=np.int32)
    current = first
    path_of[current] = np.arange(len(current), dtype=np.int32)
    step = 0
    while len(current):
        step += 1
        following = onward[current]
        going = following >= 0
        current, paths = following[going], path_of[current[going]]
        path_of[current], step_of[current] = paths, step
    walked = np.flatnonzero(path_of >= 0)
    arcs_per_path = np.bincount(path_of[walked], minlength=len(first))
    path_start = np.cumsum(arcs_per_path) - arcs_per_path
    in_path = np.empty(len(walked), dtype=np.int64)
    in_path[path_start[path_of[walked]] + step_of[walked]] = walked
    return in_path, arcs_per_path


def _simplify(n: int, seg: _Segments) -> _Simplified:
    """Merge chains of non-endpoint nodes into single edges, as ``osmnx.simplify_graph``.

    From every endpoint, a path follows each distinct successor that is not an endpoint, on to
    the next node that is not yet in the path, until it reaches an endpoint. The path's
    segments become one edge with the path's shape; where segments are parallel, the first
    one's length and time count. The nodes inside paths are removed, with every segment that
    touches them; components with no endpoint left are removed at the end.

    Args:
        n: number of nodes.
        seg: the segments.

    Returns:
        The simplified graph.
    """
    endpoint = _endpoints(n, seg.u, seg.v)
    arc_key, arc_length, arc_time, arc_of = _arcs(n, seg)
    arc_u, arc_v = (arc_key // n).astype(np.int32), (arc_key % n).astype(np.int32)
    first = np.flatnonzero(endpoint[arc_u] & ~endpoint[arc_v])
    in_path, arcs_per_path = _walk_paths(first, _onward(n, endpoint, arc_key))
    n_paths = len(first)
    path_of = np.repeat(np.arange(n_paths, dtype=np.int32), arcs_per_path)
    path_offsets = np.zeros(n_paths + 1, dtype=np.int64)
    np.cumsum(arcs_per_path, out=path_offsets[1:])
    last = path_offsets[1:] - 1
    inside = np.ones(len(in_path), dtype=bool)
    inside[last] = False
    removed = np.zeros(n, dtype=bool)
    removed[arc_v[in_path[inside]]] = True

    path_u = arc_u[in_path[path_offsets[:-1]]]
    path_v = arc_v[in_path[last]]
    path_length = np.bincount(path_of, weights=arc_length[in_path], minlength=n_paths)
    path_time = np.bincount(path_of, weights=arc_time[in_path], minlength=n_paths)
    # a path's shape: its first arc's tail, then every arc's head
    shape_offsets = path_offsets + np.arange(n_paths + 1)
    path_nodes = np.empty(int(shape_offsets[-1]), dtype=np.int32)
    path_nodes[shape_offsets[:-1]] = path_u
    path_nodes[np.arange(len(in_path)) + path_of + 1] = arc_v[in_path]

    # the edges left: segments between nodes not removed, then the merged paths
    direct = np.flatnonzero(~removed[seg.u] & ~removed[seg.v])
    merged = np.flatnonzero(~removed[path_v])
    u = np.concatenate([seg.u[direct], path_u[merged]]).astype(np.int32)
    v = np.concatenate([seg.v[direct], path_v[merged]]).astype(np.int32)
    alive = ~removed & _with_endpoint(n, u, v)
    kept = np.flatnonzero(alive[u] & alive[v])
    merged_offsets, merged_nodes = take_shapes(shape_offsets, path_nodes, merged)
    edge_offsets, edge_nodes = take_shapes(
        np.concatenate([np.arange(0, 2 * len(direct), 2), 2 * len(direct) + merged_offsets]),
        np.concatenate([np.column_stack([seg.u[direct], seg.v[direct]]).ravel(), merged_nodes]),
        kept,
    )

    edge_index = np.full(len(u), -1, dtype=np.int32)
    edge_index[kept] = np.arange(len(kept))
    path_edge = np.full(n_paths, -1, dtype=np.int32)
    path_edge[merged] = edge_index[len(direct):]
    edge_of_arc = np.full(len(arc_key), -1, dtype=np.int32)
    edge_of_arc[in_path] = path_edge[path_of]
    edge_of_segment = edge_of_arc[arc_of]
    edge_of_segment[direct] = edge_index[:len(direct)]
    return _Simplified(
        alive=alive,
        u=u[kept], v=v[kept],
        length_m=np.concatenate([seg.length_m(direct), path_length[merged]])[kept],
        time_s=np.concatenate([seg.time_s(direct), path_time[merged]])[kept],
        shape_offsets=edge_offsets,
        shape_nodes=edge_nodes,
        edge_of_segment=edge_of_segment,
    )


def _with_endpoint(n: int, u: np.ndarray, v: np.ndarray) -> np.ndarray:
    """Mark the nodes whose weakly connected component has an endpoint: osmnx's simplification
    removes the others, components that are a single ring."""
    graph = csr_matrix((np.ones(len(u), dtype=np.int8), (u, v)), shape=(n, n))
    _, labels = connected_components(graph, directed=True, connection="weak")
    has_endpoint = np.bincount(labels[_endpoints(n, u, v)], minlength=labels.max() + 1) > 0
    return has_endpoint[labels]


def build_mode_network(
    ways: HighwayWays,
    mode: str,
    overrides: Mapping | None = None,
    boundary: Boundary | None = None,
    clip_edges: bool = True,
) -> Network:
    """Build one mode's street network from a file's highway pieces, on arrays.

    Travel times are computed per OSM segment from the mode's speed for the segment's way
    (class speed, for trucks capped by ``maxspeed``) and summed along merged chains, so an edge
    merged from ways of different classes gets the right time. Only the largest strongly
    connected part is kept; see the module docstring for the steps and the clip-edge rule.

    Args:
        ways: the pieces from :func:`read_highway_ways`.
        mode: ``walk``, ``ebike`` or ``truck``.
        overrides: profile overrides, see :func:`geo.modes.profile`.
        boundary: the region's boundary in lon/lat, the extract's area for the clip-edge rule;
            the file header's bounding box if None.
        clip_edges: apply the clip-edge rule; without it the result is osmnx's.

    Returns:
        The network; ``dropped_nodes`` counts the simplified graph's nodes outside the kept
        part and ``dropped_km`` the km of the mode's ways that went with them, by class.

    Raises:
        OsmSourceError: if no way of the file is usable for the mode.
        ValueError: for an unknown mode or bad overrides.
    """
    prof = profile(mode, overrides)
    pieces = mode_pieces(ways, prof)
    if len(pieces) == 0:
        raise OsmSourceError(f"OSM file {ways.source} has no way usable for {mode}")
    seg = _mode_segments(ways, prof, pieces, boundary)
    n = len(seg.node_ids)
    graph = _simplify(n, seg)
    kept = largest_strong_component(
        n, graph.u, graph.v, among=graph.alive, joined=seg.outside if clip_edges else None)
    keep_edge = kept[graph.u] & kept[graph.v]
    if not keep_edge.any():
        raise OsmSourceError(f"OSM file {ways.source} has no connected streets for {mode}")
    edge_kept = np.zeros(len(graph.u) + 1, dtype=bool)
    edge_kept[:-1] = keep_edge
    part_kept = np.zeros(len(seg.part_length_m), dtype=bool)
    part_kept[seg.part[edge_kept[graph.edge_of_segment]]] = True
    dropped_km = np.bincount(seg.part_class[~part_kept], weights=seg.part_length_m[~part_kept],
                             minlength=len(seg.classes)) / 1000
    new_index = np.cumsum(kept) - 1
    edges = np.flatnonzero(keep_edge)
    offsets, nodes = take_shapes(graph.shape_offsets, graph.shape_nodes, edges)
    parts = dict(
        mode=mode,
        node_ids=seg.node_ids[kept],
        lon=seg.lon[kept],
        lat=seg.lat[kept],
        edge_u=new_index[graph.u[edges]],
        edge_v=new_index[graph.v[edges]],
        length_m=graph.length_m[edges],
        time_s=graph.time_s[edges],
        shapes=(offsets, np.column_stack([seg.lon[nodes], seg.lat[nodes]])),
        dropped_nodes=int(graph.alive.sum() - kept.sum()),
        dropped_km={c: km for c, km in zip(seg.classes.tolist(), dropped_km.tolist(),
                                             strict=True) if km > 0},
    )
    del seg, graph, nodes  # a city's segments weigh more than its network: free them first
    return Network.from_edges(**parts)


def build_osm_network(path: Path, mode: str, overrides: Mapping | None = None) -> Network:
    """Read an OSM file and build one mode's street network.

    Args:
        path: the OSM file.
        mode: ``walk``, ``ebike`` or ``truck``.
        overrides: profile overrides, see :func:`geo.modes.profile`.

    Returns:
        The network.

    Raises:
        OsmSourceError: if the file is unusable or has no way usable for the mode.
    """
    return build_mode_network(read_highway_ways(path), mode, overrides)
