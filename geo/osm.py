"""Street networks from OSM files (``.osm``, ``.osm.xml``, ``.osm.bz2``, ``.osm.gz``, ``.osm.pbf``).

:class:`HighwayCollector` takes the file's ``highway`` ways from the one pass of
:func:`geo.extract.read_osm` into :class:`HighwayWays`: every way with its tags and node
locations, split into runs of nodes present in the file (clipped extracts reference nodes they
do not contain). :func:`build_mode_network` then keeps the ways a mode may use, writes them
to a temporary OSM XML file with ``oneway`` rewritten to the mode's own direction rules, lets
osmnx build and simplify the graph, keeps its largest strongly connected component and converts
it to a :class:`geo.network.Network`.
"""

from __future__ import annotations

import tempfile
from array import array
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from xml.sax.saxutils import quoteattr

import networkx as nx
import numpy as np
import osmium
import osmnx as ox
import pandas as pd
import shapely

from geo.extract import READ_ERRORS, OsmSourceError, degrees, read_osm
from geo.modes import ModeProfile, profile
from geo.network import Network

#: ``oneway`` tag written for each direction code of :meth:`ModeProfile.direction`.
_ONEWAY_TAG = {1: "yes", -1: "-1"}


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
    """

    source: Path
    way_ids: np.ndarray
    tags: list[dict[str, str]]
    offsets: np.ndarray
    node_refs: np.ndarray
    lon: np.ndarray
    lat: np.ndarray

    @property
    def n_pieces(self) -> int:
        """Number of pieces."""
        return len(self.way_ids)


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
        )
        if ways.n_pieces == 0:
            raise OsmSourceError(
                f"OSM file {self.source} has no usable highway way (with 2+ known nodes)")
        return ways


def read_highway_ways(path: Path) -> HighwayWays:
    """Read the ``highway`` ways of an OSM file with their node locations.

    Nodes missing from the file split a way into runs; runs of fewer than two distinct nodes
    are dropped, as are repeated consecutive references to one node.

    Args:
        path: the OSM file; pyosmium picks the format from the file name.

    Returns:
        The ways as pieces of present nodes.

    Raises:
        OsmSourceError: if the file is missing, cannot be parsed or has no usable highway way.
    """
    collector = HighwayCollector(path)
    read_osm(path, [collector])
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
) -> HighwayWays:
    """Split ways into runs of consecutive present nodes, keeping runs of two or more.

    Args:
        path: the source file.
        way_ids, tags: per-way OSM id and tags (W,).
        sizes: number of node references of each way (W,).
        refs, lon, lat, valid: all ways' node references in order, their coordinates and
            whether the node is present in the file (R,).

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
    return HighwayWays(
        source=path,
        way_ids=way_ids[piece_way],
        tags=[tags[w] for w in piece_way],
        offsets=offsets,
        node_refs=refs[entries],
        lon=lon[entries],
        lat=lat[entries],
    )


def mode_pieces(ways: HighwayWays, mode: ModeProfile) -> np.ndarray:
    """Return the indices of the pieces a mode may use.

    Args:
        ways: the file's highway pieces.
        mode: the travel mode.

    Returns:
        int64 indices into ``ways``, ascending.
    """
    return np.array([p for p, tags in enumerate(ways.tags) if mode.allows(tags)], dtype=np.int64)


def write_mode_xml(ways: HighwayWays, mode: ModeProfile, written: np.ndarray, path: Path) -> None:
    """Write some pieces to an OSM XML file that osmnx can read, with the mode's one-way rules.

    Each piece becomes a way whose id is its 1-based position in ``written``, tagged only with
    ``highway`` and, where the mode may travel it one way only, ``oneway=yes|-1`` from
    :meth:`ModeProfile.direction` (so osmnx applies the mode's own one-way rules).

    Args:
        ways: the file's highway pieces.
        mode: the travel mode.
        written: indices of the pieces to write (at least one).
        path: the XML file to write.
    """
    sizes = np.diff(ways.offsets)[written]
    ends = np.cumsum(sizes)
    entries = np.arange(int(ends[-1])) + np.repeat(ways.offsets[written] - (ends - sizes), sizes)
    refs = ways.node_refs[entries]
    node_ids, first = np.unique(refs, return_index=True)
    node_lat = ways.lat[entries][first]
    node_lon = ways.lon[entries][first]
    piece_refs = np.split(refs, ends[:-1])
    with open(path, "w", encoding="utf-8") as out:
        out.write('<?xml version="1.0" encoding="UTF-8"?>\n')
        out.write('<osm version="0.6" generator="yizhan">\n')
        nodes_xy = zip(node_ids.tolist(), node_lat.tolist(), node_lon.tolist(), strict=True)
        out.writelines(f' <node id="{n}" lat="{y:.7f}" lon="{x:.7f}"/>\n' for n, y, x in nodes_xy)
        pieces = zip(written.tolist(), piece_refs, strict=True)
        for way_id, (p, nodes) in enumerate(pieces, start=1):
            tags = ways.tags[p]
            oneway = _ONEWAY_TAG.get(mode.direction(tags))
            out.write(f' <way id="{way_id}">')
            out.write("".join(f'<nd ref="{n}"/>' for n in nodes.tolist()))
            out.write(f'<tag k="highway" v={quoteattr(tags["highway"])}/>')
            if oneway:
                out.write(f'<tag k="oneway" v="{oneway}"/>')
            out.write("</way>\n")
        out.write("</osm>\n")


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


def build_mode_network(
    ways: HighwayWays, mode: str, overrides: Mapping | None = None
) -> Network:
    """Build one mode's street network from a file's highway pieces with osmnx.

    Travel times are computed per OSM segment from the mode's speed for the segment's way
    (class speed, for trucks capped by ``maxspeed``) and summed by osmnx's simplification, so
    an edge merged from ways of different classes gets the right time. Only the largest
    strongly connected component is kept.

    Args:
        ways: the pieces from :func:`read_highway_ways`.
        mode: ``walk``, ``ebike`` or ``truck``.
        overrides: profile overrides, see :func:`geo.modes.profile`.

    Returns:
        The network; ``dropped_nodes`` counts the simplified graph's nodes outside the kept
        component.

    Raises:
        OsmSourceError: if no way of the file is usable for the mode.
        ValueError: for an unknown mode or bad overrides.
    """
    prof = profile(mode, overrides)
    written = mode_pieces(ways, prof)
    if len(written) == 0:
        raise OsmSourceError(f"OSM file {ways.source} has no way usable for {mode}")
    with tempfile.TemporaryDirectory(prefix="yizhan-") as tmp:
        xml = Path(tmp) / f"{mode}.osm"
        write_mode_xml(ways, prof, written, xml)
        graph = ox.graph_from_xml(
            xml, bidirectional=prof.bidirectional, simplify=False, retain_all=True
        )
    speed_ms = np.array([prof.speed_kmh(ways.tags[p]) for p in written.tolist()]) / 3.6
    keys, way_ids, lengths = zip(*(
        ((u, v, k), data["osmid"], data["length"])
        for u, v, k, data in graph.edges(keys=True, data=True)
    ), strict=True)
    times = np.array(lengths) / speed_ms[np.array(way_ids, dtype=np.int64) - 1]
    nx.set_edge_attributes(graph, dict(zip(keys, times.tolist(), strict=True)), "travel_time")
    graph = ox.simplify_graph(graph)
    n_simplified = len(graph)
    graph = ox.truncate.largest_component(graph, strongly=True)
    if graph.number_of_edges() == 0:
        raise OsmSourceError(f"OSM file {ways.source} has no connected streets for {mode}")
    return _graph_to_network(graph, mode, n_simplified - len(graph))


def _graph_to_network(graph: nx.MultiDiGraph, mode: str, dropped_nodes: int) -> Network:
    """Convert an osmnx graph with ``length`` and ``travel_time`` on its edges to a Network.

    Args:
        graph: the simplified, strongly connected graph.
        mode: the travel mode id.
        dropped_nodes: nodes dropped while building, carried into the network.

    Returns:
        The network, with every edge shape oriented from tail to head.
    """
    nodes, edges = ox.convert.graph_to_gdfs(graph, fill_edge_geometry=True)
    node_index = pd.Index(nodes.index)
    lon, lat = nodes["x"].to_numpy(float), nodes["y"].to_numpy(float)
    tails = node_index.get_indexer(edges.index.get_level_values("u"))
    heads = node_index.get_indexer(edges.index.get_level_values("v"))
    coords, part = shapely.get_coordinates(edges.geometry.to_numpy(), return_index=True)
    starts = np.searchsorted(part, np.arange(len(edges)))
    ends = np.searchsorted(part, np.arange(len(edges)), side="right") - 1
    tail_xy = np.column_stack([lon[tails], lat[tails]])
    flip = (
        np.hypot(*(coords[ends] - tail_xy).T) < np.hypot(*(coords[starts] - tail_xy).T)
    )
    return Network.from_edges(
        mode=mode,
        node_ids=node_index.to_numpy(np.int64),
        lon=lon,
        lat=lat,
        edge_u=tails,
        edge_v=heads,
        length_m=edges["length"].to_numpy(float),
        time_s=edges["travel_time"].to_numpy(float),
        geoms=edge_shapes(coords, part, flip),
        dropped_nodes=dropped_nodes,
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
