"""Street networks from OSM files (``.osm``, ``.osm.xml``, ``.osm.bz2``, ``.osm.gz``, ``.osm.pbf``).

:class:`geo.highways.HighwayCollector` takes the file's ``highway`` ways from the one pass of
:func:`geo.extract.read_osm` into :class:`geo.highways.HighwayWays`: every way with its tags and
node locations, split into runs of nodes present in the file (clipped extracts reference nodes
they do not contain). :func:`build_mode_network` then builds one mode's network on arrays, with
the same result as osmnx's ``graph_from_xml`` + ``simplify_graph`` + ``largest_component``:

1. The pieces the mode may use (:meth:`ModeProfile.allows`) become directed segments
   (:mod:`geo.segments`), both ways or one way by :meth:`ModeProfile.direction`, each with its
   great-circle length (osmnx's haversine on a sphere of radius 6,371,009 m) and travel time
   (length / the mode's speed on the piece's way). Where several pieces share a segment, the
   first piece's time counts.
2. Simplification (:mod:`geo.simplify`) merges chains of nodes that are not *endpoints* into
   one edge with the chain's shape, summing lengths and times. A node is an endpoint, as in
   osmnx's strict rules, if it loops to itself, has no incoming or no outgoing segment, or has
   other than two neighbours or other than 2 or 4 segments. Components left without an
   endpoint (isolated rings) are removed.
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
from pathlib import Path

import numpy as np

from geo.extract import OsmSourceError
from geo.highways import HighwayWays, mode_pieces, read_highway_ways
from geo.modes import profile
from geo.network import Network, largest_strong_component, take_shapes
from geo.segments import Boundary, mode_segments
from geo.simplify import simplify

__all__ = [
    "OsmSourceError",
    "build_mode_network",
    "build_osm_network",
]


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
        ways: the pieces from :func:`geo.highways.read_highway_ways`.
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
    seg = mode_segments(ways, prof, pieces, boundary)
    n = len(seg.node_ids)
    graph = simplify(n, seg)
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
