"""The osmnx build of a mode network, kept as the reference the array build is checked against.

Each mode's pieces are written to a temporary OSM XML file with ``oneway`` rewritten to the
mode's own direction rules; osmnx builds the graph, adds per-segment travel times, simplifies it
and keeps its largest strongly connected component, which is converted to a
:class:`geo.network.Network`. ``tests/test_osm_equality.py`` and ``scripts/bench_build.py`` use it.
"""

from __future__ import annotations

import tempfile
from collections.abc import Mapping
from pathlib import Path
from xml.sax.saxutils import quoteattr

import networkx as nx
import numpy as np
import osmnx as ox
import pandas as pd
import shapely

from geo.highways import HighwayWays, mode_pieces
from geo.modes import ModeProfile, profile
from geo.network import Network
from geo.osm import OsmSourceError

__all__ = ["osmnx_mode_network"]

#: ``oneway`` tag written for each direction code of :meth:`ModeProfile.direction`.
_ONEWAY_TAG = {1: "yes", -1: "-1"}


def write_mode_xml(ways: HighwayWays, mode: ModeProfile, written: np.ndarray, path: Path) -> None:
    """Write some pieces to an OSM XML file that osmnx can read, with the mode's one-way rules.

    Each piece becomes a way whose id is its 1-based position in ``written``, tagged only with
    ``highway`` and, where the mode may travel it one way only, ``oneway=yes|-1``.

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


def osmnx_mode_network(ways: HighwayWays, mode: str, overrides: Mapping | None = None) -> Network:
    """Build one mode's street network from a file's highway pieces with osmnx.

    Args:
        ways: the pieces from :func:`geo.highways.read_highway_ways`.
        mode: ``walk``, ``ebike`` or ``truck``.
        overrides: profile overrides, see :func:`geo.modes.profile`.

    Returns:
        The network; ``dropped_nodes`` counts the simplified graph's nodes outside the kept
        component.
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
        The network, with every edge shape as osmnx gives it (from tail to head).
    """
    nodes, edges = ox.convert.graph_to_gdfs(graph, fill_edge_geometry=True)
    node_index = pd.Index(nodes.index)
    coords, part = shapely.get_coordinates(edges.geometry.to_numpy(), return_index=True)
    return Network.from_edges(
        mode=mode,
        node_ids=node_index.to_numpy(np.int64),
        lon=nodes["x"].to_numpy(float),
        lat=nodes["y"].to_numpy(float),
        edge_u=node_index.get_indexer(edges.index.get_level_values("u")),
        edge_v=node_index.get_indexer(edges.index.get_level_values("v")),
        length_m=edges["length"].to_numpy(float),
        time_s=edges["travel_time"].to_numpy(float),
        geoms=np.split(coords, np.searchsorted(part, np.arange(1, len(edges)))),
        dropped_nodes=dropped_nodes,
    )
