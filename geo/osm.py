"""Street networks from OSM files (``.osm``, ``.osm.xml``, ``.osm.bz2``, ``.osm.gz``, ``.osm.pbf``).

pyosmium reads the file once into :class:`HighwayWays`: every ``highway`` way with its tags and
node locations, split into runs of nodes present in the file (clipped extracts reference nodes
they do not contain). :func:`build_mode_network` then builds one mode's network on arrays, with
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

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import osmium
import shapely
from scipy.sparse import csr_matrix
from scipy.sparse.csgraph import connected_components

from geo.modes import ModeProfile, profile
from geo.progress import Progress, silent
from geo.network import Network, largest_strong_component, take_shapes

__all__ = [
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

#: Ways read between two progress reports.
_PROGRESS_EVERY = 20_000


class OsmSourceError(ValueError):
    """A street source file is missing, cannot be parsed or holds no usable street."""


#: What pyosmium raises for a file it cannot read: bad XML, a truncated PBF, a broken
#: compressed stream (``RuntimeError``) or a malformed coordinate.
_READ_ERRORS: tuple[type[Exception], ...] = (RuntimeError, osmium.InvalidLocationError)


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


def _highway_processor(path: Path, with_locations: bool) -> osmium.FileProcessor:
    """Return a pyosmium processor yielding the file's ``highway`` ways.

    Args:
        path: the OSM file.
        with_locations: attach node locations to the ways' node references.

    Returns:
        The processor (not yet iterated).

    Raises:
        OsmSourceError: if the file does not exist.
    """
    if not path.is_file():
        raise OsmSourceError(f"OSM file {path} does not exist")
    entities = osmium.osm.NODE | osmium.osm.WAY if with_locations else osmium.osm.WAY
    processor = osmium.FileProcessor(str(path), entities)
    if with_locations:
        processor = processor.with_locations()
    return (
        processor
        .with_filter(osmium.filter.EntityFilter(osmium.osm.WAY))
        .with_filter(osmium.filter.KeyFilter("highway"))
    )


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
    try:
        count = sum(1 for _ in _highway_processor(path, with_locations=False))
    except _READ_ERRORS as err:
        raise OsmSourceError(f"cannot read OSM file {path}: {err}") from err
    if count == 0:
        raise OsmSourceError(f"OSM file {path} has no highway way")
    return count


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
    path = Path(path)
    report = progress or silent
    stage = f"reading {path.name}"
    report(stage, 0, None)
    way_ids: list[int] = []
    tags: list[dict[str, str]] = []
    sizes: list[int] = []
    refs: list[int] = []
    lons: list[float] = []
    lats: list[float] = []
    valid: list[bool] = []
    try:
        for way in _highway_processor(path, with_locations=True):
            if len(way_ids) % _PROGRESS_EVERY == 0:
                report(stage, len(way_ids), None)
            way_ids.append(way.id)
            tags.append({tag.k: tag.v for tag in way.tags})
            sizes.append(len(way.nodes))
            for node in way.nodes:
                location = node.location
                ok = location.valid()
                refs.append(node.ref)
                valid.append(ok)
                lons.append(location.lon if ok else np.nan)
                lats.append(location.lat if ok else np.nan)
    except _READ_ERRORS as err:
        raise OsmSourceError(f"cannot read OSM file {path}: {err}") from err
    report(stage, len(way_ids), len(way_ids))
    ways = _split_runs(
        path, np.array(way_ids, dtype=np.int64), tags, np.array(sizes, dtype=np.int64),
        np.array(refs, dtype=np.int64), np.array(lons), np.array(lats), np.array(valid, bool),
        _header_bounds(path),
    )
    if ways.n_pieces == 0:
        raise OsmSourceError(f"OSM file {path} has no usable highway way (with 2+ known nodes)")
    return ways


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
    missing_before = np.cumsum(~valid)
    keep = np.flatnonzero(valid & ~repeat)
    # a run starts at a way's first kept node and after every missing node
    starts = np.ones(len(keep), dtype=bool)
    starts[1:] = (np.diff(way_of[keep]) != 0) | (np.diff(missing_before[keep]) != 0)
    run = np.cumsum(starts) - 1
    run_sizes = np.bincount(run, minlength=int(starts.sum()))
    long_run = run_sizes >= 2
    entries = keep[long_run[run]]
    offsets = np.zeros(int(long_run.sum()) + 1, dtype=np.int64)
    np.cumsum(run_sizes[long_run], out=offsets[1:])
    piece_way = way_of[keep[starts][long_run]]
    # a piece is cut where a missing node lies between it and its way's start or end
    missing = np.zeros(len(refs) + 1, dtype=np.int64)
    np.cumsum(~valid, out=missing[1:])
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
    """One mode's directed segments, in the order osmnx would add them to its graph.

    Attributes:
        node_ids, lon, lat: the mode's nodes, by ascending OSM id (N,).
        u, v: tail and head node of every segment (S,).
        length_m, time_s: per-segment length and travel time (S,).
        part: which undirected piece segment each directed segment travels (S,).
        part_length_m, part_highway: length and ``highway`` class of every piece segment.
        outside: bool (N,), the nodes outside the extract (see the module's clip-edge rule).
    """

    node_ids: np.ndarray
    lon: np.ndarray
    lat: np.ndarray
    u: np.ndarray
    v: np.ndarray
    length_m: np.ndarray
    time_s: np.ndarray
    part: np.ndarray
    part_length_m: np.ndarray
    part_highway: np.ndarray
    outside: np.ndarray


def _mode_segments(
    ways: HighwayWays, prof: ModeProfile, pieces: np.ndarray, boundary
) -> _Segments:
    """Turn the pieces a mode may use into directed segments.

    Each piece adds its segments along its direction of travel, then, if two-way, the same
    segments reversed, as osmnx's ``graph_from_xml`` does way after way.

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
    piece_of = np.repeat(np.arange(len(pieces)), sizes)
    entries = np.arange(int(ends[-1])) + np.repeat(ways.offsets[pieces] - (ends - sizes), sizes)
    node_ids, node_of = np.unique(ways.node_refs[entries], return_inverse=True)
    first = np.zeros(len(node_ids), dtype=np.int64)
    first[node_of[::-1]] = entries[::-1]
    lon, lat = ways.lon[first], ways.lat[first]

    is_segment = np.ones(len(entries), dtype=bool)
    is_segment[ends - 1] = False
    a, b = node_of[is_segment], node_of[1:][is_segment[:-1]]
    seg_piece = piece_of[is_segment]
    seg_length = great_circle_m(lat[a], lon[a], lat[b], lon[b])
    n_seg = len(a)
    # a piece travelled against its nodes adds its segments in reverse node order
    backward = direction[seg_piece] == -1
    rank = np.arange(n_seg)
    seg_start = (ends - sizes - np.arange(len(pieces)))[seg_piece]
    seg_end = seg_start + sizes[seg_piece] - 2
    rank = np.where(backward, seg_start + seg_end - rank, rank)
    along = np.empty(n_seg, dtype=np.int64)
    along[rank] = np.arange(n_seg)
    tail = np.where(backward, b, a)[along]
    head = np.where(backward, a, b)[along]
    # then every two-way piece adds the same segments reversed, piece after piece
    piece_rank = seg_piece[along]
    two_way = direction[piece_rank] == 0
    order = np.argsort(np.concatenate([2 * piece_rank, 2 * piece_rank[two_way] + 1]),
                       kind="stable")
    part = np.concatenate([along, along[two_way]])[order]
    u = np.concatenate([tail, head[two_way]])[order]
    v = np.concatenate([head, tail[two_way]])[order]
    return _Segments(
        node_ids=node_ids, lon=lon, lat=lat, u=u, v=v,
        length_m=seg_length[part],
        time_s=seg_length[part] / speed_ms[seg_piece[part]],
        part=part,
        part_length_m=seg_length,
        part_highway=classes[highway[seg_piece]],
        outside=_outside_nodes(ways, pieces, node_of, ends, sizes, lon, lat, boundary),
    )


def _outside_nodes(ways, pieces, node_of, ends, sizes, lon, lat, boundary) -> np.ndarray:
    """Mark the nodes outside the extract: piece ends cut by a missing node, and nodes outside
    the boundary polygon (if given) or else the header's bounding box (if any)."""
    outside = np.zeros(len(lon), dtype=bool)
    outside[node_of[(ends - sizes)[ways.cut_start[pieces]]]] = True
    outside[node_of[(ends - 1)[ways.cut_end[pieces]]]] = True
    if boundary is not None:
        outside |= ~shapely.contains_xy(boundary, lon, lat)
    elif ways.bounds is not None:
        west, south, east, north = ways.bounds
        outside |= (lon < west) | (lon > east) | (lat < south) | (lat > north)
    return outside


def _endpoints(n: int, u: np.ndarray, v: np.ndarray) -> np.ndarray:
    """Mark the nodes of a directed multigraph that osmnx's strict simplification keeps.

    A node is an endpoint if it loops to itself, has no incoming or no outgoing edge, or does
    not have exactly two neighbours with 2 or 4 edges.
    """
    out_deg = np.bincount(u, minlength=n)
    in_deg = np.bincount(v, minlength=n)
    degree = out_deg + in_deg
    loops = u == v
    pairs = np.unique(np.minimum(u, v)[~loops] * n + np.maximum(u, v)[~loops])
    neighbours = np.bincount(pairs // n, minlength=n) + np.bincount(pairs % n, minlength=n)
    looping = np.zeros(n, dtype=bool)
    looping[u[loops]] = True
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


def _simplify(n: int, seg: _Segments) -> _Simplified:
    """Merge chains of non-endpoint nodes into single edges, as ``osmnx.simplify_graph``.

    From every endpoint, a path follows each distinct successor that is not an endpoint, on to
    the next node that is not yet in the path, until it reaches an endpoint. The path's
    segments become one edge with the path's shape; where segments are parallel, the first
    one's length and time count. The nodes inside paths are removed, with every segment that
    touches them; components with no endpoint left are removed at the end.

    Args:
        n: number of nodes.
        seg: the segments, in the order osmnx adds them.

    Returns:
        The simplified graph.
    """
    endpoint = _endpoints(n, seg.u, seg.v)
    key = seg.u * n + seg.v
    arc_key, arc_first, arc_of = np.unique(key, return_index=True, return_inverse=True)
    arc_u, arc_v = arc_key // n, arc_key % n
    arc_length, arc_time = seg.length_m[arc_first], seg.time_s[arc_first]

    # the two neighbours of every node that is not an endpoint
    pairs = np.unique(np.minimum(seg.u, seg.v) * n + np.maximum(seg.u, seg.v))
    pairs = pairs[pairs // n != pairs % n]
    near, far = np.concatenate([pairs // n, pairs % n]), np.concatenate([pairs % n, pairs // n])
    by_node = np.argsort(near, kind="stable")
    near, far = near[by_node], far[by_node]
    inner = np.flatnonzero(~endpoint)
    start = np.searchsorted(near, inner)
    other_a, other_b = np.zeros(n, np.int64), np.zeros(n, np.int64)
    other_a[inner], other_b[inner] = far[start], far[start + 1]

    # each arc into an inner node goes on along the arc to that node's other neighbour
    into_inner = ~endpoint[arc_v]
    x = arc_v[into_inner]
    w = np.where(other_a[x] == arc_u[into_inner], other_b[x], other_a[x])
    onward = np.full(len(arc_key), -1, dtype=np.int64)
    pos = np.minimum(np.searchsorted(arc_key, x * n + w), len(arc_key) - 1)
    onward[into_inner] = np.where(arc_key[pos] == x * n + w, pos, -1)

    # walk every path from its first arc, one arc per step for all paths at once
    path_of = np.full(len(arc_key), -1, dtype=np.int64)
    step_of = np.zeros(len(arc_key), dtype=np.int64)
    current = np.flatnonzero(endpoint[arc_u] & into_inner)
    path_of[current] = np.arange(len(current))
    step = 0
    while len(current):
        step += 1
        following = onward[current]
        going = following >= 0
        current, paths = following[going], path_of[current[going]]
        path_of[current], step_of[current] = paths, step
    n_paths = int(path_of.max()) + 1 if len(path_of) else 0

    in_path = np.flatnonzero(path_of >= 0)
    in_path = in_path[np.lexsort((step_of[in_path], path_of[in_path]))]
    arcs_per_path = np.bincount(path_of[in_path], minlength=n_paths)
    last = np.cumsum(arcs_per_path) - 1
    inside = np.ones(len(in_path), dtype=bool)
    inside[last] = False
    removed = np.zeros(n, dtype=bool)
    removed[arc_v[in_path[inside]]] = True

    path_u = arc_u[in_path[last - arcs_per_path + 1]]
    path_v = arc_v[in_path[last]]
    path_length = np.bincount(path_of[in_path], weights=arc_length[in_path], minlength=n_paths)
    path_time = np.bincount(path_of[in_path], weights=arc_time[in_path], minlength=n_paths)
    path_offsets = np.zeros(n_paths + 1, dtype=np.int64)
    np.cumsum(arcs_per_path + 1, out=path_offsets[1:])
    path_nodes = np.empty(int(path_offsets[-1]), dtype=np.int64)
    path_nodes[path_offsets[:-1]] = path_u
    path_nodes[path_offsets[:-1][path_of[in_path]] + 1 + step_of[in_path]] = arc_v[in_path]

    # the edges left: segments between nodes not removed, then the merged paths
    direct = np.flatnonzero(~removed[seg.u] & ~removed[seg.v])
    merged = np.flatnonzero(~removed[path_v])
    u = np.concatenate([seg.u[direct], path_u[merged]])
    v = np.concatenate([seg.v[direct], path_v[merged]])
    alive = ~removed & _with_endpoint(n, u, v)
    keep_edge = alive[u] & alive[v]
    merged_offsets, merged_nodes = take_shapes(path_offsets, path_nodes, merged)
    shape_offsets = np.concatenate([np.arange(0, 2 * len(direct), 2),
                                    2 * len(direct) + merged_offsets])
    shape_nodes = np.concatenate([np.column_stack([seg.u[direct], seg.v[direct]]).ravel(),
                                  merged_nodes])
    kept = np.flatnonzero(keep_edge)
    shape_offsets, shape_nodes = take_shapes(shape_offsets, shape_nodes, kept)

    edge_of_arc = np.full(len(arc_key), -1, dtype=np.int64)
    edge_index = np.full(len(u), -1, dtype=np.int64)
    edge_index[kept] = np.arange(len(kept))
    path_edge = np.full(n_paths, -1, dtype=np.int64)
    path_edge[merged] = edge_index[len(direct):]
    edge_of_arc[in_path] = path_edge[path_of[in_path]]
    edge_of_segment = edge_of_arc[arc_of]
    edge_of_segment[direct] = edge_index[:len(direct)]
    return _Simplified(
        alive=alive,
        u=u[kept], v=v[kept],
        length_m=np.concatenate([seg.length_m[direct], path_length[merged]])[kept],
        time_s=np.concatenate([seg.time_s[direct], path_time[merged]])[kept],
        shape_offsets=shape_offsets,
        shape_nodes=shape_nodes,
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
    boundary: shapely.Polygon | shapely.MultiPolygon | None = None,
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
    classes, class_of = np.unique(seg.part_highway[~part_kept], return_inverse=True)
    dropped_km = np.bincount(class_of, weights=seg.part_length_m[~part_kept]) / 1000
    new_index = np.cumsum(kept) - 1
    edges = np.flatnonzero(keep_edge)
    offsets, nodes = take_shapes(graph.shape_offsets, graph.shape_nodes, edges)
    return Network.from_edges(
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
        dropped_km=dict(zip(classes.tolist(), dropped_km.tolist(), strict=True)),
    )


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
