"""Service areas and gaps: which streets lie within a travel time of a station, as polygons.

Travel runs *to* a station, so every search here runs on the reversed network from the
stations. A position on the directed edge u→v (edge time c) at fraction f of the way from u
reaches a station in ``t_v + (1 - f) * c``, where ``t_v`` is the time from v: within a threshold T
is the part nearest the head, a share ``(T - t_v) / c`` of the edge measured from v. A street (the
one edge of a one-way street, or the pair of a two-way one) is covered where either of its
directions covers it: from v's end by u→v and from u's end by v→u; what a two-way street leaves
between the two covered ends is uncovered.

Street pieces are cut from the edges' shapes in the network's UTM zone (metres), areas are
buffers of the pieces there, and the frames returned are in WGS-84 (EPSG:4326). Lengths reported
(``reached_m``, ``street_m``, ``length_m``) are shares of the network's edge lengths.

Service areas are traced rather than unioned: the distance from the nodes of a square grid to
the nearest reached street is computed exactly where it is within a cell of the buffer (and
capped beyond), and the buffer's iso-line is traced on it by marching squares (``contourpy``).
That is the buffer union up to the grid's resolution, at a fraction of the cost of a GEOS union
of tens of thousands of buffers (see :func:`service_areas`).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import NamedTuple

import contourpy
import geopandas as gpd
import numpy as np
import shapely
from pyproj import CRS, Transformer
from scipy.sparse import coo_matrix, csr_matrix
from scipy.sparse.csgraph import connected_components, dijkstra

from geo.network import Network

#: Added to every time stored by :func:`station_reach`, so that the zero at a station's own node
#: stays an explicit entry; subtract it from ``reach.data`` to read times.
REACH_OFFSET_S = 1e-9

#: A street whose covered ends leave less than this share of it between them is fully covered
#: (keeps float noise from making slivers of gap).
FULL_TOLERANCE = 1e-9

#: A service area's grid spans at most this many cells a side by default (see
#: :func:`service_areas`), which bounds its memory and time for large areas.
MAX_GRID_SIDE = 2000

#: Most (grid node, street) distances :func:`service_areas` keeps at once (12 bytes each):
#: stations are taken in batches whose streets fit, each street measured once per batch.
PAIR_BUDGET = 1 << 22

#: About how many (grid node, segment) pairs are measured in one vectorised step.
_PAIR_STEP = 1 << 17

#: Most grid nodes of the canvases areas are traced on (see :class:`_Tiles`) at once, unless
#: one area's grid is larger; 4 bytes each, and 28 while marching squares runs.
CANVAS_CELLS = 1 << 20

#: Nodes a canvas row of area grids fills before the next row starts (see :class:`_Tiles`).
_CANVAS_WIDTH = 1024

#: Columns of :func:`service_areas`, :func:`gap_areas` and :func:`uncovered_streets` frames.
SERVICE_AREA_COLUMNS = ["station", "reached_m", "area_m2", "geometry"]
GAP_COLUMNS = ["gap", "uncovered_demand", "street_m", "area_m2", "centre_time_s",
               "centre_lon", "centre_lat", "geometry"]
UNCOVERED_STREET_COLUMNS = ["edge", "length_m", "geometry"]


class _Streets(NamedTuple):
    """Each street of a network once.

    Attributes:
        edge: the street's edge (S,): its one edge if one-way, else the direction with u < v;
            pieces are measured along this edge's shape, from its tail.
        reverse: the opposite edge of a two-way street, -1 for a one-way street (S,).
        of_edge: the street of every directed edge (E,).
        against: whether each directed edge runs against its street's edge (E,).
    """

    edge: np.ndarray
    reverse: np.ndarray
    of_edge: np.ndarray
    against: np.ndarray


class _Intervals(NamedTuple):
    """Parts of streets, as fractions of the street's edge measured from its tail.

    Attributes:
        row: which input row (street, or station-and-street) each part belongs to.
        start, end: the part's fractions, ``0 <= start < end <= 1``.
    """

    row: np.ndarray
    start: np.ndarray
    end: np.ndarray


class _EdgeLines(NamedTuple):
    """The shapes of some edges in the UTM zone.

    Attributes:
        xy: the shapes' vertices (G, 2), edge after edge.
        run: distance along the shapes from the first vertex of all, not counting the jumps
            between edges (G,), metres; nondecreasing, so a vertex's distance from the start of
            its own edge is ``run - run[first[edge]]``.
        first, last: the position in ``xy`` of every edge's first and last vertex (E,); only
            meaningful for the edges projected.
    """

    xy: np.ndarray
    run: np.ndarray
    first: np.ndarray
    last: np.ndarray


def reached_fraction(network: Network, node_time_s: np.ndarray, threshold_s: float) -> np.ndarray:
    """Share of every directed edge within the threshold, measured from its head.

    A position on edge u→v at fraction f from u reaches a station in ``t_v + (1 - f) * c``, so the
    covered share is ``min(1, max(0, (T - t_v) / c))``; an edge taking no time is all covered or
    not at all, as its head is.

    Args:
        network: the mode's network.
        node_time_s: travel time from each node to the station set (N,), inf where none is
            reachable.
        threshold_s: the travel-time threshold T, seconds.

    Returns:
        The covered share of each edge's length, from its head end, float64 in [0, 1] (E,).
    """
    head_time = np.asarray(node_time_s, dtype=np.float64)[network.edge_v]
    return _head_fraction(head_time, network.time_s, threshold_s)


def edge_pieces(network: Network, node_time_s: np.ndarray, threshold_s: float,
                covered: bool) -> np.ndarray:
    """The covered (or uncovered) parts of every street, each street once.

    Args:
        network: the mode's network.
        node_time_s: travel time from each node to the station set (N,), inf where none is
            reachable.
        threshold_s: the travel-time threshold, seconds.
        covered: True for the parts within the threshold, False for the parts beyond it.

    Returns:
        LineStrings in the network's UTM zone (``network.utm_crs``, metres): whole streets where
        a street is all one or the other, otherwise the cut parts (a two-way street covered from
        both ends gives two covered parts and one uncovered part between them).
    """
    streets = _streets(network)
    parts = _street_parts(network, streets, node_time_s, threshold_s, covered)
    edge = streets.edge[parts.row]
    return _pieces(_edge_lines(network, edge), edge, parts.start, parts.end)


def station_reach(network: Network, station_nodes: np.ndarray, threshold_s: float,
                  batch: int = 32, below: np.ndarray | None = None) -> csr_matrix:
    """Travel time from every node to each station, where within the threshold.

    One bounded search per station over the reversed network, ``batch`` stations per call, so
    that memory stays at ``batch × N`` dense times.

    Args:
        network: the mode's network.
        station_nodes: the node of each station (S,); repeated nodes give repeated rows.
        threshold_s: the travel-time threshold, seconds.
        batch: stations per search call.
        below: if given, a time per node (N,); only entries strictly below it are kept (the
            pairs where a station would beat the node's current one).

    Returns:
        An S × N matrix whose entry (s, i) is the time from node i to station s plus
        :data:`REACH_OFFSET_S`, stored only where that time is within the threshold; so
        ``(reach > 0).sum(axis=0)`` counts the stations each node reaches.
    """
    station_nodes = np.asarray(station_nodes, dtype=np.int64)
    reverse = network.reverse_matrix("time")
    rows, cols, times = [np.zeros(0, np.int64)], [np.zeros(0, np.int64)], [np.zeros(0)]
    for first in range(0, len(station_nodes), batch):
        found = dijkstra(reverse, directed=True, indices=station_nodes[first:first + batch],
                         limit=threshold_s)
        keep = found <= threshold_s
        if below is not None:
            keep &= found < below
        row, col = np.nonzero(keep)
        rows.append(row + first)
        cols.append(col)
        times.append(found[row, col] + REACH_OFFSET_S)
    return coo_matrix(
        (np.concatenate(times), (np.concatenate(rows), np.concatenate(cols))),
        shape=(len(station_nodes), network.n_nodes),
    ).tocsr()


def service_areas(network: Network, station_nodes: np.ndarray, threshold_s: float,
                  buffer_m: float = 35.0, cell_m: float | None = None) -> gpd.GeoDataFrame:
    """The area each station serves: the streets within the threshold of it, buffered.

    Each station's reach (:func:`station_reach`) gives its node times, and those the street
    pieces it covers, partial edges included; the area is every point within ``buffer_m`` of one
    of them, so it follows the streets rather than being a circle. A station that covers no
    street at all gets a disc of ``buffer_m``.

    The area is traced on a grid of ``cell_m`` rather than unioned from buffers: the exact
    distance from each grid node to the station's nearest reached street segment (measured where
    it is below ``buffer_m + cell_m``, capped there beyond), and the ``buffer_m`` iso-line of those
    distances by marching squares. Along straight streets the outline is exact; where it curves
    (street ends, outer corners) its vertices lie on the exact outline with chords of about a
    cell between them, and gaps between streets narrower than about a cell may close. On Jinan's
    truck network (its 34 open demo stations, 15 min, 25 m cells) each area is within 1.5 % of
    the buffer union's, in about 0.6 s for all where the union takes about 12 s. The outlines
    are valid by construction: no grid node lies on the iso-line, so rings never touch or cross.

    Args:
        network: the mode's network.
        station_nodes: the node of each station (S,).
        threshold_s: the travel-time threshold, seconds.
        buffer_m: how far either side of a street the area reaches, metres.
        cell_m: grid spacing, metres; by default ``max(buffer_m / 2, extent / 2000)`` where
            extent is the largest side of any station's reached nodes' bounding box (so every
            grid has at most about :data:`MAX_GRID_SIDE` cells a side). It is one value per call,
            so a station's area can differ by a fraction of a cell between calls with other
            stations.

    Returns:
        One row per station, in order (EPSG:4326): ``station`` (position in ``station_nodes``),
        ``reached_m`` (street length within the threshold, m), ``area_m2`` and ``geometry``.

    Raises:
        ValueError: for a ``cell_m`` that is not positive.
    """
    station_nodes = np.asarray(station_nodes, dtype=np.int64)
    count = len(station_nodes)
    streets = _streets(network)
    reach = station_reach(network, station_nodes, threshold_s).tocoo()
    station, edge, fraction = _reached_in_edges(
        network, reach.row, reach.col, reach.data - REACH_OFFSET_S, threshold_s)
    keys, at = np.unique(station * len(streets.edge) + streets.of_edge[edge], return_inverse=True)
    tail_share, head_share = np.zeros(len(keys)), np.zeros(len(keys))
    against = streets.against[edge]
    tail_share[at[against]] = fraction[against]
    head_share[at[~against]] = fraction[~against]
    parts = _covered_intervals(tail_share, head_share)
    part_station = keys[parts.row] // len(streets.edge)  # ascending: keys are station-major
    part_edge = streets.edge[keys[parts.row] % len(streets.edge)]
    if cell_m is None:
        cell_m = _default_cell(buffer_m, _extents(network, reach.row, reach.col).max(initial=0.0))
    if not cell_m > 0:
        raise ValueError(f"cell_m must be a positive number of metres, got {cell_m}")
    traced = _traced_areas(_edge_lines(network, part_edge), part_station, part_edge, parts,
                           network.node_xy[station_nodes], buffer_m, float(cell_m))
    discs = shapely.buffer(shapely.points(network.node_xy[station_nodes]), buffer_m)
    polygons = np.where(shapely.is_empty(traced), discs, traced)
    reached = np.bincount(part_station, weights=_part_lengths(network, part_edge, parts),
                          minlength=count).astype(np.float64)
    return _frame(network, {
        "station": np.arange(count),
        "reached_m": reached,
        "area_m2": shapely.area(polygons),
    }, polygons, SERVICE_AREA_COLUMNS)


def gap_areas(network: Network, node_time_s: np.ndarray, threshold_s: float,
              node_demand: np.ndarray, buffer_m: float = 50.0) -> gpd.GeoDataFrame:
    """The uncovered streets joined into gap areas, ranked by the demand they leave uncovered.

    A node is uncovered when its time exceeds the threshold (inf included). Two uncovered street
    pieces are in one gap when they share an uncovered node; a piece in the middle of a two-way
    street covered from both ends touches none and is a gap of its own. A gap's area is the union
    of its pieces buffered by ``buffer_m``, traced on a grid as service areas are (see
    :func:`service_areas`): cells of ``buffer_m / 2``, within a few per cent of the exact union,
    except for gaps wider than 2000 such cells, traced together on cells of the widest one's
    extent / 2000. Its centre is
    its uncovered node nearest the area's representative point; for a gap with no uncovered node,
    the middle of its piece.

    Args:
        network: the mode's network.
        node_time_s: travel time from each node to the nearest station (N,), inf where none is
            reachable.
        threshold_s: the travel-time threshold, seconds.
        node_demand: demand weight on each node (N,).
        buffer_m: how far either side of a street a gap reaches, metres.

    Returns:
        One row per gap (EPSG:4326), sorted by ``uncovered_demand`` then ``street_m``, both
        descending: ``gap`` (rank from 1), ``uncovered_demand`` (demand on the gap's uncovered
        nodes), ``street_m`` (uncovered street length), ``area_m2``, ``centre_time_s`` (time to
        the nearest station from the centre, inf where none is reachable), ``centre_lon``,
        ``centre_lat`` and ``geometry``; empty, with these columns, when nothing is uncovered.
    """
    node_time_s = np.asarray(node_time_s, dtype=np.float64)
    gaps = _ranked_gaps(network, node_time_s, threshold_s, node_demand)
    if gaps is None:
        empty = {c: np.zeros(0) for c in GAP_COLUMNS[:-1]} | {"gap": np.zeros(0, np.int64)}
        return _frame(network, empty, np.zeros(0, dtype=object), GAP_COLUMNS)
    streets, parts, part_edge, part_gap, node_gap, demand, street_m, rank = gaps
    count = len(demand)
    order = np.argsort(part_gap, kind="stable")
    parts = _Intervals(parts.row[order], parts.start[order], parts.end[order])
    part_edge, part_gap = part_edge[order], part_gap[order]
    edge_lines = _edge_lines(network, part_edge)
    ends = np.column_stack([network.edge_u[part_edge], network.edge_v[part_edge]]).ravel()
    extent = _extents(network, np.repeat(part_gap, 2), ends)
    first = np.searchsorted(part_gap, np.arange(count))
    start_xy = _point_along(edge_lines, part_edge[first], parts.start[first])
    polygons = np.empty(count, dtype=object)
    fine = extent <= MAX_GRID_SIDE * buffer_m / 2.0
    for chosen in (fine, ~fine):  # a city-wide gap does not coarsen the small ones
        if chosen.any():
            keep = chosen[part_gap]
            polygons[chosen] = _traced_areas(
                edge_lines, (np.cumsum(chosen) - 1)[part_gap[keep]], part_edge[keep],
                _Intervals(parts.row[keep], parts.start[keep], parts.end[keep]),
                start_xy[chosen], buffer_m, _default_cell(buffer_m, extent[chosen].max()))
    empty = shapely.is_empty(polygons)
    polygons[empty] = shapely.buffer(shapely.points(start_xy[empty]), buffer_m)
    centre_xy, centre_time = _gap_centres(
        network, edge_lines, streets, node_time_s, parts, part_edge, part_gap, node_gap,
        shapely.point_on_surface(polygons))
    centre = gpd.GeoSeries(shapely.points(centre_xy), crs=network.utm_crs).to_crs(4326)
    return _frame(network, {
        "gap": np.arange(1, count + 1),
        "uncovered_demand": demand[rank],
        "street_m": street_m[rank],
        "area_m2": shapely.area(polygons)[rank],
        "centre_time_s": centre_time[rank],
        "centre_lon": centre.x.to_numpy()[rank],
        "centre_lat": centre.y.to_numpy()[rank],
    }, polygons[rank], GAP_COLUMNS)


def gap_of_nodes(network: Network, node_time_s: np.ndarray, threshold_s: float,
                 node_demand: np.ndarray) -> np.ndarray:
    """The gap (its rank, as numbered by :func:`gap_areas`) each uncovered node lies in.

    Args:
        network: the mode's network.
        node_time_s: travel time from each node to the nearest station (N,).
        threshold_s: the travel-time threshold, seconds.
        node_demand: demand weight on each node (N,).

    Returns:
        The gap rank of each node, from 1, and 0 for nodes in no gap (N,).
    """
    gaps = _ranked_gaps(network, np.asarray(node_time_s, np.float64), threshold_s, node_demand)
    if gaps is None:
        return np.zeros(network.n_nodes, np.int64)
    node_gap, rank = gaps[4], gaps[7]
    rank_of = np.empty(len(rank), np.int64)
    rank_of[rank] = np.arange(1, len(rank) + 1)
    return np.where(node_gap >= 0, rank_of[np.maximum(node_gap, 0)], 0)


def _ranked_gaps(network: Network, node_time_s: np.ndarray, threshold_s: float,
                 node_demand: np.ndarray) -> tuple | None:
    """The uncovered street parts grouped into gaps, with each gap's demand, street length and
    rank order (None when nothing is uncovered)."""
    node_demand = np.asarray(node_demand, dtype=np.float64)
    streets = _streets(network)
    parts = _street_parts(network, streets, node_time_s, threshold_s, covered=False)
    if len(parts.row) == 0:
        return None
    part_edge = streets.edge[parts.row]
    part_gap, node_gap = _gap_labels(network, part_edge, node_time_s > threshold_s)
    count = int(part_gap.max()) + 1
    in_gap = node_gap >= 0
    demand = np.bincount(node_gap[in_gap], weights=node_demand[in_gap], minlength=count)
    street_m = np.bincount(part_gap, weights=_part_lengths(network, part_edge, parts),
                           minlength=count)
    rank = np.lexsort((-street_m, -demand))
    return streets, parts, part_edge, part_gap, node_gap, demand, street_m, rank


def uncovered_streets(network: Network, node_time_s: np.ndarray,
                      threshold_s: float) -> gpd.GeoDataFrame:
    """The street pieces beyond the threshold, as a map layer.

    Args:
        network: the mode's network.
        node_time_s: travel time from each node to the nearest station (N,), inf where none is
            reachable.
        threshold_s: the travel-time threshold, seconds.

    Returns:
        One row per uncovered piece (EPSG:4326): ``edge`` (the street's edge id, see
        :func:`edge_pieces`), ``length_m`` and ``geometry``.
    """
    streets = _streets(network)
    parts = _street_parts(network, streets, node_time_s, threshold_s, covered=False)
    part_edge = streets.edge[parts.row]
    return _frame(network, {
        "edge": part_edge,
        "length_m": _part_lengths(network, part_edge, parts),
    }, _pieces_lonlat(network, part_edge, parts.start, parts.end), UNCOVERED_STREET_COLUMNS,
        crs=4326)


def _head_fraction(head_time: np.ndarray, edge_time: np.ndarray, threshold_s: float) -> np.ndarray:
    """``clip((T - t_head) / c, 0, 1)``; 1 or 0 for edges taking no time, 0 for unreachable
    heads (also when T is infinite)."""
    slack = np.subtract(threshold_s, head_time, out=np.full(len(head_time), -np.inf),
                        where=np.isfinite(head_time))
    share = np.divide(slack, edge_time, out=np.where(slack >= 0, 1.0, 0.0), where=edge_time > 0)
    return np.clip(share, 0.0, 1.0)


def _streets(network: Network) -> _Streets:
    """Index each street once (see :class:`_Streets`)."""
    u, v = network.edge_u, network.edge_v
    reverse = network.reverse_edge
    edge = np.nonzero((reverse < 0) | (u < v))[0]
    street_reverse = reverse[edge]
    two_way = street_reverse >= 0
    of_edge = np.empty(network.n_edges, dtype=np.int64)
    of_edge[edge] = np.arange(len(edge))
    of_edge[street_reverse[two_way]] = np.nonzero(two_way)[0]
    against = np.zeros(network.n_edges, dtype=bool)
    against[street_reverse[two_way]] = True
    return _Streets(edge=edge, reverse=street_reverse, of_edge=of_edge, against=against)


def _street_parts(network: Network, streets: _Streets, node_time_s: np.ndarray,
                  threshold_s: float, covered: bool) -> _Intervals:
    """The covered or uncovered intervals of every street; ``row`` indexes the streets."""
    fraction = reached_fraction(network, node_time_s, threshold_s)
    head_share = fraction[streets.edge]
    tail_share = np.where(streets.reverse >= 0, fraction[streets.reverse], 0.0)
    if covered:
        return _covered_intervals(tail_share, head_share)
    open_ = tail_share + head_share < 1.0 - FULL_TOLERANCE
    return _Intervals(np.nonzero(open_)[0], tail_share[open_], 1.0 - head_share[open_])


def _covered_intervals(tail_share: np.ndarray, head_share: np.ndarray) -> _Intervals:
    """Covered intervals of streets covered ``tail_share`` from the tail and ``head_share`` from
    the head: the whole street where the two meet, else each end's part. Sorted by row."""
    full = tail_share + head_share >= 1.0 - FULL_TOLERANCE
    whole = np.nonzero(full)[0]
    tail = np.nonzero(~full & (tail_share > 0))[0]
    head = np.nonzero(~full & (head_share > 0))[0]
    row = np.concatenate([whole, tail, head])
    order = np.argsort(row, kind="stable")
    start = np.concatenate([np.zeros(len(whole) + len(tail)), 1.0 - head_share[head]])
    end = np.concatenate([np.ones(len(whole)), tail_share[tail], np.ones(len(head))])
    return _Intervals(row[order], start[order], end[order])


def _reached_in_edges(network: Network, station: np.ndarray, node: np.ndarray,
                      time_s: np.ndarray, threshold_s: float
                      ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """For reach entries (station, node, time), the in-edges of each node that the station
    partly or wholly covers: (station, edge, covered share from the head), shares > 0."""
    by_head = np.argsort(network.edge_v, kind="stable")
    head_ptr = np.zeros(network.n_nodes + 1, dtype=np.int64)
    np.cumsum(np.bincount(network.edge_v, minlength=network.n_nodes), out=head_ptr[1:])
    counts = head_ptr[node + 1] - head_ptr[node]
    entry = np.repeat(np.arange(len(node)), counts)
    within = np.arange(len(entry)) - np.repeat(np.cumsum(counts) - counts, counts)
    edge = by_head[head_ptr[node][entry] + within]
    fraction = _head_fraction(time_s[entry], network.time_s[edge], threshold_s)
    keep = fraction > 0
    return station[entry][keep].astype(np.int64), edge[keep], fraction[keep]


def _edge_lines(network: Network, edges: np.ndarray) -> _EdgeLines:
    """The UTM shapes of ``edges`` (any order, repeats allowed; see :class:`_EdgeLines`): only
    the shapes a caller cuts, so that the work follows them."""
    chosen = np.zeros(network.n_edges, dtype=bool)
    chosen[edges] = True
    edges = np.flatnonzero(chosen)
    start, stop = network.geom_offsets[edges], network.geom_offsets[edges + 1]
    xy = network.geom_xy[_ranges(start, stop)]
    first = np.zeros(network.n_edges, dtype=np.int64)
    first[edges] = np.cumsum(stop - start) - (stop - start)
    last = first.copy()
    last[edges] += stop - start - 1
    step = np.zeros(len(xy))
    step[1:] = np.hypot(*np.diff(xy, axis=0).T)
    step[first[edges]] = 0.0
    return _EdgeLines(xy, np.cumsum(step), first, last)


def _pieces(edge_lines: _EdgeLines, edge: np.ndarray, start: np.ndarray,
            end: np.ndarray) -> np.ndarray:
    """Cut ``[start, end]`` (length fractions from the tail) out of each edge's line.

    Returns:
        One LineString per piece, in the UTM zone (see :func:`_piece_coords`).
    """
    coords, piece = _piece_coords(edge_lines, edge, start, end)
    out = np.empty(len(edge), dtype=object)
    if len(edge):
        out[:] = shapely.linestrings(coords, indices=piece)
    return out


def _pieces_lonlat(network: Network, edge: np.ndarray, start: np.ndarray,
                   end: np.ndarray) -> np.ndarray:
    """The pieces of :func:`_pieces` in WGS-84: whole edges as their stored shapes, and only the
    cut ones through the UTM zone (a city's uncovered streets are mostly whole)."""
    out = np.empty(len(edge), dtype=object)
    whole = (start <= 0.0) & (end >= 1.0)
    first = network.geom_offsets[edge[whole]]
    counts = network.geom_offsets[edge[whole] + 1] - first
    if whole.any():
        out[whole] = shapely.linestrings(network.geom_lonlat[_ranges(first, first + counts)],
                                         indices=np.repeat(np.arange(len(first)), counts))
    cut = np.flatnonzero(~whole)
    if len(cut):
        coords, piece = _piece_coords(_edge_lines(network, edge[cut]), edge[cut], start[cut],
                                      end[cut])
        to_lonlat = Transformer.from_crs(network.utm_crs, 4326, always_xy=True)
        out[cut] = shapely.linestrings(np.column_stack(to_lonlat.transform(*coords.T)),
                                       indices=piece)
    return out


def _piece_coords(edge_lines: _EdgeLines, edge: np.ndarray, start: np.ndarray,
                  end: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The vertices of ``[start, end]`` (length fractions from the tail) of each edge's line.

    Whole edges keep all their vertices; a cut piece is its two cut points, interpolated along
    the shape, with the shape's vertices strictly between them. All in one vectorised pass.

    Returns:
        The vertices (V, 2) in the UTM zone, piece by piece, and the piece of each (V,).
    """
    first = edge_lines.first[edge]
    counts = edge_lines.last[edge] - first + 1
    whole = (start <= 0.0) & (end >= 1.0)
    base = edge_lines.run[first]
    total = edge_lines.run[first + counts - 1] - base
    owner = np.repeat(np.arange(len(edge)), counts)
    vertex = _ranges(first, first + counts)
    along = edge_lines.run[vertex] - base[owner]
    inside = whole[owner] | ((along > (start * total)[owner]) & (along < (end * total)[owner]))
    cut = np.nonzero(~whole)[0]
    sizes = np.bincount(owner[inside], minlength=len(edge))
    sizes[cut] += 2
    last = np.cumsum(sizes) - 1
    coords = np.empty((int(sizes.sum()), 2))
    middle = np.ones(len(coords), dtype=bool)
    middle[(last - sizes + 1)[cut]] = middle[last[cut]] = False
    coords[middle] = edge_lines.xy[vertex[inside]]
    for at, fraction in ((last - sizes + 1, start), (last, end)):
        coords[at[cut]] = _point_along(edge_lines, edge[cut], fraction[cut])
    return coords, np.repeat(np.arange(len(edge)), sizes)


def _point_along(edge_lines: _EdgeLines, edge: np.ndarray, fraction: np.ndarray) -> np.ndarray:
    """The point at ``fraction`` of each edge's shape length from its tail (K, 2)."""
    first, last = edge_lines.first[edge], edge_lines.last[edge]
    base = edge_lines.run[first]
    position = base + fraction * (edge_lines.run[last] - base)
    at = np.clip(np.searchsorted(edge_lines.run, position, side="right") - 1, first,
                 np.maximum(last - 1, first))
    step = edge_lines.run[np.minimum(at + 1, last)] - edge_lines.run[at]
    share = np.divide(position - edge_lines.run[at], step, out=np.zeros(len(edge)),
                      where=step > 0)
    xy = edge_lines.xy
    return xy[at] + np.clip(share, 0.0, 1.0)[:, None] * (xy[np.minimum(at + 1, last)] - xy[at])


def _default_cell(buffer_m: float, extent_m: float) -> float:
    """The grid spacing areas are traced on by default: half the buffer, or coarser where the
    largest area spans more than :data:`MAX_GRID_SIDE` half-buffers (``extent_m`` metres)."""
    return max(buffer_m / 2.0, extent_m / MAX_GRID_SIDE)


def _extents(network: Network, area: np.ndarray, node: np.ndarray) -> np.ndarray:
    """The larger side of each area's bounding box of its nodes, metres; ``area`` (ascending,
    from 0, none skipped) and ``node`` pair them."""
    if len(node) == 0:
        return np.zeros(0)
    xy = network.node_xy[node]
    first = np.flatnonzero(np.diff(area, prepend=-1))
    return (np.maximum.reduceat(xy, first) - np.minimum.reduceat(xy, first)).max(axis=1)


def _traced_areas(edge_lines: _EdgeLines, part_area: np.ndarray, part_edge: np.ndarray,
                  parts: _Intervals, area_xy: np.ndarray, buffer_m: float,
                  cell_m: float) -> np.ndarray:
    """Each area's street pieces buffered by ``buffer_m``, traced on a ``cell_m`` grid: a
    station's service area (its reached pieces) or a gap (its uncovered pieces).

    Distances are measured from the nodes of one grid over the network, ``origin + (i, j) *
    cell_m``, to street segments within ``cap = buffer_m + cell_m``, once per batch of areas
    (areas in order of x, batched so that the batch's distances fit :data:`PAIR_BUDGET`): a
    street that areas of the batch hold whole is measured once for all of them (service areas
    overlap; gaps share no street), a cut piece for its own area. An area's grid spans its
    segments' boxes widened by the cap, filled with the cap and lowered to the distances
    measured; marching squares on it give the area. A
    node beyond the cap has no neighbour within ``buffer_m`` (distance changes by at most a cell
    between neighbours), so the capped nodes never bear on the outline. The grids of a batch's
    areas are laid side by side on canvases of up to :data:`CANVAS_CELLS` nodes (see
    :class:`_Tiles`), each lowered and traced in one pass, so that a city's thousands of small
    gaps cost a few whole-array steps rather than a few steps each.

    Args:
        edge_lines: the network's edge shapes in UTM.
        part_area, part_edge: area (ascending) and street edge of each part.
        parts: the parts' intervals along their edges.
        area_xy: a position of each area (S, 2), UTM; only orders the batches.
        buffer_m: the buffer distance, metres.
        cell_m: the grid spacing, metres.

    Returns:
        One Polygon or MultiPolygon per area (S,), empty for an area without parts.
    """
    count = len(area_xy)
    grid = _Grid(edge_lines.xy.min(axis=0) if len(edge_lines.xy) else np.zeros(2), cell_m,
                 buffer_m + cell_m, buffer_m)
    # What is measured: each street some area holds whole, once, and each cut piece.
    whole = (parts.start <= 0.0) & (parts.end >= 1.0)
    shared, unit_of_whole = np.unique(part_edge[whole], return_inverse=True)
    cut = np.nonzero(~whole)[0]
    unit_of_part = np.empty(len(part_edge), dtype=np.int64)
    unit_of_part[whole] = unit_of_whole
    unit_of_part[cut] = len(shared) + np.arange(len(cut))
    units = len(shared) + len(cut)
    xy, unit = _piece_coords(edge_lines, np.concatenate([shared, part_edge[cut]]),
                             np.concatenate([np.zeros(len(shared)), parts.start[cut]]),
                             np.concatenate([np.ones(len(shared)), parts.end[cut]]))
    joined = unit[1:] == unit[:-1]
    seg_a, seg_b, seg_unit = _split_segments(xy[:-1][joined], xy[1:][joined],
                                             unit[:-1][joined], grid.chunk_m)
    seg_lo, seg_hi = grid.boxes(seg_a, seg_b)
    seg_ptr = np.searchsorted(seg_unit, np.arange(units + 1))
    cost = np.bincount(seg_unit, np.prod(seg_hi - seg_lo + 1, axis=1), minlength=units)
    has_segments = seg_ptr[:-1] < seg_ptr[1:]
    unit_lo = np.full((units, 2), np.iinfo(np.int64).max)
    unit_hi = np.full((units, 2), np.iinfo(np.int64).min)
    unit_lo[has_segments] = np.minimum.reduceat(seg_lo, seg_ptr[:-1][has_segments])
    unit_hi[has_segments] = np.maximum.reduceat(seg_hi, seg_ptr[:-1][has_segments])
    # Each area's units and the box of its grid's nodes (lo > hi for one without segments).
    area_ptr = np.searchsorted(part_area, np.arange(count + 1))
    units_of = [unit_of_part[area_ptr[s]:area_ptr[s + 1]] for s in range(count)]
    area_lo = np.full((count, 2), np.iinfo(np.int64).max)
    area_hi = np.full((count, 2), np.iinfo(np.int64).min)
    held = area_ptr[:-1] < area_ptr[1:]
    area_lo[held] = np.minimum.reduceat(unit_lo[unit_of_part], area_ptr[:-1][held])
    area_hi[held] = np.maximum.reduceat(unit_hi[unit_of_part], area_ptr[:-1][held])
    out = np.full(count, shapely.Polygon(), dtype=object)

    def trace(areas: np.ndarray, lower) -> None:
        """Trace ``areas`` on canvases, each lowered by ``lower(tiles, canvas)``."""
        sizes = np.prod(area_hi[areas] - area_lo[areas] + 3, axis=1)
        for chunk in _chunks(sizes, CANVAS_CELLS):
            tiles = _Tiles.pack(areas[chunk], area_lo[areas[chunk]], area_hi[areas[chunk]])
            canvas = np.full(tiles.shape, grid.cap, dtype=np.float32)
            lower(tiles, canvas)
            polygons, tile = _trace(canvas, tiles, grid, buffer_m)
            _gather(out, tiles.area, polygons, tile)

    def measured(members: np.ndarray):
        """A lowering from the distances of ``members``' streets, measured once."""
        a, b, owner = _segments_of(seg_a, seg_b, seg_ptr, members)
        counts, gx, gy, dist = _near_nodes(a, b, grid)
        pair_ptr = np.zeros(len(members) + 1, dtype=np.int64)
        np.cumsum(np.bincount(owner, counts, minlength=len(members)), out=pair_ptr[1:])

        def lower(tiles: _Tiles, canvas: np.ndarray) -> None:
            mine = [units_of[s] for s in tiles.area.tolist()]
            local = np.searchsorted(members, np.concatenate(mine))
            tile = np.repeat(np.arange(len(mine)), [len(m) for m in mine])
            for chunk in _chunks(pair_ptr[local + 1] - pair_ptr[local], PAIR_BUDGET):
                first, last = pair_ptr[local[chunk]], pair_ptr[local[chunk] + 1]
                take = _ranges(first, last)
                tiles.lower(canvas, np.repeat(tiles.shift[tile[chunk]], last - first),
                            gx[take], gy[take], dist[take])
        return lower

    def measuring(s: int):
        """A lowering that measures area ``s``'s streets as it goes (a batch of one area)."""
        def lower(tiles: _Tiles, canvas: np.ndarray) -> None:
            for chunk in _chunks(cost[units_of[s]], PAIR_BUDGET):
                a, b, _ = _segments_of(seg_a, seg_b, seg_ptr, units_of[s][chunk])
                _, gx, gy, dist = _near_nodes(a, b, grid)
                tiles.lower(canvas, tiles.shift[0], gx, gy, dist)
        return lower

    order = np.argsort(area_xy[:, 0], kind="stable")
    for batch, members in _area_batches(order, units_of, cost, PAIR_BUDGET):
        batch = np.array(batch)
        batch = batch[(area_lo[batch] <= area_hi[batch]).all(axis=1)]
        if len(batch) == 0:
            continue
        if cost[members].sum() > PAIR_BUDGET:
            for s in batch.tolist():
                trace(np.array([s]), measuring(s))
        else:
            trace(batch, measured(members))
    return out


def _area_batches(order: np.ndarray, streets_of: list[np.ndarray], cost: np.ndarray,
                     budget: float) -> Iterator[tuple[list[int], np.ndarray]]:
    """Group areas, taken in ``order``, into batches whose streets cost at most ``budget``
    (an area over the budget on its own is a batch of one).

    Args:
        order: the areas in the order to take them.
        streets_of: each area's streets (indices into ``cost``).
        cost: what measuring each street costs.
        budget: the most a batch may cost.

    Yields:
        Each batch's areas and the streets of any of them (ascending).
    """
    in_batch = np.zeros(len(cost), dtype=bool)
    batch: list[int] = []
    spent = 0.0
    for s in order.tolist():
        new = streets_of[s][~in_batch[streets_of[s]]]
        added = float(cost[new].sum())
        if batch and spent + added > budget:
            yield batch, np.nonzero(in_batch)[0]
            in_batch[:] = False
            batch, spent = [], 0.0
            new, added = streets_of[s], float(cost[streets_of[s]].sum())
        in_batch[new] = True
        spent += added
        batch.append(s)
    if batch:
        yield batch, np.nonzero(in_batch)[0]


class _Grid(NamedTuple):
    """The grid service areas are traced on: nodes at ``origin + (i, j) * cell_m``.

    Attributes:
        origin: the position of node (0, 0), UTM.
        cell_m: the spacing, metres.
        cap: distances are measured up to this, and nodes further away hold it.
        level: the buffer distance, the outline's level.
    """

    origin: np.ndarray
    cell_m: float
    cap: float
    level: float

    @property
    def chunk_m(self) -> float:
        """Segments are cut to this length: long enough that few nodes are measured twice for
        one street, short enough that a diagonal segment's box holds few nodes out of reach."""
        return 4.0 * self.cell_m

    @property
    def hair(self) -> float:
        """Distances this close to the level are moved out by it, so that no node lies on the
        outline."""
        return 1e-6 * max(self.cell_m, self.level)

    def boxes(self, a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The first and last node (column, row) within the cap's box around each segment."""
        lo = np.ceil((np.minimum(a, b) - self.cap - self.origin) / self.cell_m)
        hi = np.floor((np.maximum(a, b) + self.cap - self.origin) / self.cell_m)
        return lo.astype(np.int64), hi.astype(np.int64)


class _Tiles(NamedTuple):
    """Areas' grids laid side by side on one canvas, each its nodes ``lo - 1`` to ``hi + 1``
    (a border of nodes at the cap around its box), in rows of about :data:`_CANVAS_WIDTH`
    nodes.

    Attributes:
        area: the area of each tile (K,).
        lo: each area's first node in its box, grid (column, row) (K, 2).
        at: where each tile's first node (``lo - 1``) lies on the canvas (column, row) (K, 2).
        key: each tile's position in the canvas's reading order, ``row of tiles * width +
            column`` (K,), increasing.
        shelf_row: the first canvas row of each row of tiles, increasing.
        shape: the canvas's (rows, columns).
    """

    area: np.ndarray
    lo: np.ndarray
    at: np.ndarray
    key: np.ndarray
    shelf_row: np.ndarray
    shape: tuple[int, int]

    @classmethod
    def pack(cls, area: np.ndarray, lo: np.ndarray, hi: np.ndarray) -> "_Tiles":
        """Lay the grids of ``area`` (boxes ``lo`` to ``hi``) in rows, in order: a row takes
        the tiles that begin within its first :data:`_CANVAS_WIDTH` columns, and the canvas is
        as wide as its widest row."""
        size = hi - lo + 3
        start = np.cumsum(size[:, 0]) - size[:, 0]
        shelf = start // _CANVAS_WIDTH
        first = np.flatnonzero(np.diff(shelf, prepend=-1))
        rank = np.cumsum(np.diff(shelf, prepend=-1) > 0) - 1
        height = np.maximum.reduceat(size[:, 1], first)
        shelf_row = np.cumsum(height) - height
        column = start - shelf * _CANVAS_WIDTH
        width = int((column + size[:, 0]).max())
        at = np.column_stack([column, shelf_row[rank]])
        return cls(area, lo, at, rank * width + column, shelf_row,
                   (int(height.sum()), width))

    @property
    def shift(self) -> np.ndarray:
        """What turns a grid node's ``row * width + column`` (``width`` the canvas's) into its
        place on the canvas, in each tile (K,)."""
        return (self.at[:, 1] - self.lo[:, 1] + 1) * self.shape[1] + self.at[:, 0] \
            - self.lo[:, 0] + 1

    def lower(self, canvas: np.ndarray, shift: np.ndarray | int, gx: np.ndarray,
              gy: np.ndarray, dist: np.ndarray) -> None:
        """Lower the canvas to the distances ``dist`` at grid nodes (gx, gy) of tiles whose
        :attr:`shift` is ``shift``."""
        np.minimum.at(canvas.ravel(), gy.astype(np.int64) * self.shape[1] + gx + shift, dist)

    def find(self, xy: np.ndarray) -> np.ndarray:
        """The tile holding each canvas point (column, row) (P, 2) (P,)."""
        rank = np.searchsorted(self.shelf_row, np.floor(xy[:, 1]), side="right") - 1
        return np.searchsorted(self.key, rank * self.shape[1] + xy[:, 0], side="right") - 1


def _segments_of(a: np.ndarray, b: np.ndarray, ptr: np.ndarray, groups: np.ndarray
                 ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The segments of ``groups`` (``ptr`` delimits each group's), and the position in
    ``groups`` of each."""
    take = _ranges(ptr[groups], ptr[groups + 1])
    return a[take], b[take], np.repeat(np.arange(len(groups)), ptr[groups + 1] - ptr[groups])


def _chunks(sizes: np.ndarray, budget: float) -> list[slice]:
    """Consecutive slices of ``sizes`` each summing to at most ``budget`` (or one item)."""
    ends = np.cumsum(sizes)
    bounds = [0]
    while bounds[-1] < len(sizes):
        spent = ends[bounds[-1] - 1] if bounds[-1] > 0 else 0
        bounds.append(max(int(np.searchsorted(ends, spent + budget, side="right")),
                          bounds[-1] + 1))
    return [slice(first, last) for first, last in zip(bounds[:-1], bounds[1:])]


def _split_segments(a: np.ndarray, b: np.ndarray, owner: np.ndarray, max_m: float
                    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Cut segments longer than ``max_m`` into equal parts no longer than it (order kept)."""
    parts = np.maximum(np.ceil(np.hypot(*(b - a).T) / max_m), 1).astype(np.int64)
    segment = np.repeat(np.arange(len(a)), parts)
    k = np.arange(len(segment)) - np.repeat(np.cumsum(parts) - parts, parts)
    step = (b - a)[segment] / parts[segment, None]
    start = a[segment] + k[:, None] * step
    return start, start + step, owner[segment]


def _near_nodes(a: np.ndarray, b: np.ndarray, grid: _Grid
                ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Every grid node within the grid's cap of each segment a-b, and its distance to it.

    Segments are taken in runs of about :data:`_PAIR_STEP` nodes; each run scans one window of
    nodes per segment, as wide and high as the run's largest box (:meth:`_Grid.boxes`), from the
    segment's box corner, as (segment, row, column) arrays, so that the arithmetic is whole-array
    (nodes beyond a segment's own box are simply beyond the cap) and stays within a few hundred
    metres of zero, where float32 is good to about 0.1 mm, far below the grid's resolution, at
    half the memory traffic. Distances within :attr:`_Grid.hair` of the level are moved out by
    it.

    Returns:
        How many nodes each segment has within the cap (K,), and for each of those (segment,
        node) pairs, in segment order, the node's grid column and row (int32) and its distance
        (float32).
    """
    cell_m, cap = grid.cell_m, grid.cap
    lo, hi = grid.boxes(a, b)
    size = np.maximum(hi - lo + 1, 0)
    corner = (grid.origin + lo * cell_m - a).astype(np.float32)  # the box's first node, from a
    span = b - a
    length2 = np.einsum("ij,ij->i", span, span)
    inverse = np.divide(1.0, length2, out=np.zeros(len(a)), where=length2 > 0).astype(np.float32)
    span = span.astype(np.float32)
    step = np.float32(cell_m)
    counts = np.zeros(len(a), dtype=np.int64)
    gx, gy = [np.zeros(0, np.int32)], [np.zeros(0, np.int32)]
    dist = [np.zeros(0, np.float32)]
    ends = np.cumsum(size[:, 0] * size[:, 1])
    total = int(ends[-1]) if len(ends) else 0
    cuts = np.searchsorted(ends, np.arange(_PAIR_STEP, total, _PAIR_STEP), side="right")
    for first, last in zip(np.r_[0, cuts], np.r_[cuts, len(a)]):
        if last <= first:
            continue
        run = slice(first, last)
        nx, ny = size[run].max(axis=0).tolist()
        sx, sy = span[run, 0, None, None], span[run, 1, None, None]
        px = corner[run, 0, None, None] + np.arange(nx, dtype=np.float32) * step  # (k, 1, nx)
        py = corner[run, 1, None, None] + np.arange(ny, dtype=np.float32)[:, None] * step
        t = px * sx + py * sy
        t *= inverse[run, None, None]
        np.clip(t, 0.0, 1.0, out=t)
        dx = px - t * sx
        dy = py - t * sy
        dx *= dx
        dy *= dy
        dx += dy
        near = np.flatnonzero(dx <= cap * cap)
        segment, at = np.divmod(near, nx * ny)
        row, col = np.divmod(at, nx)
        counts[run] = np.bincount(segment, minlength=last - first)
        segment += first
        gx.append((lo[segment, 0] + col).astype(np.int32))
        gy.append((lo[segment, 1] + row).astype(np.int32))
        dist.append(np.sqrt(dx.ravel()[near]))
    dist = np.concatenate(dist)
    dist[np.abs(dist - grid.level) < grid.hair] = grid.level + grid.hair
    return counts, np.concatenate(gx), np.concatenate(gy), dist


def _ranges(start: np.ndarray, stop: np.ndarray) -> np.ndarray:
    """The concatenated integer ranges ``start[i]:stop[i]``."""
    counts = stop - start
    return np.repeat(start - np.cumsum(counts) + counts, counts) + np.arange(counts.sum())


def _trace(canvas: np.ndarray, tiles: _Tiles, grid: _Grid, level: float
           ) -> tuple[np.ndarray, np.ndarray]:
    """The regions where ``canvas`` (tiles of area grids, rows along y) is at most ``level``,
    as polygons in UTM, with the tile of each; every tile's border must lie above ``level``.

    Vertices in a straight line with their neighbours (within 1e-5 of a cell: the outline along
    a straight street) are dropped.

    Returns:
        The polygons, each within one tile, in the canvas's reading order, and their tiles.
    """
    rows, columns = canvas.shape
    x, y = np.meshgrid(np.arange(columns, dtype=np.float64), np.arange(rows, dtype=np.float64))
    generator = contourpy.SerialContourGenerator(
        x, y, canvas.astype(np.float64), None, corner_mask=True,
        line_type=contourpy.LineType.Separate,
        fill_type=contourpy.FillType.ChunkCombinedOffsetOffset, quad_as_tri=False,
        z_interp=contourpy.ZInterp.Linear)
    (points,), (ring_offsets,), (outer_offsets,) = generator.filled(-np.inf, level)
    if points is None:
        return np.zeros(0, dtype=object), np.zeros(0, dtype=np.int64)
    ring_offsets = ring_offsets.astype(np.int64)
    outer_offsets = outer_offsets.astype(np.int64)
    tile = tiles.find(points[ring_offsets[outer_offsets[:-1]]])
    point_tile = np.repeat(tile, np.diff(ring_offsets[outer_offsets]))
    keep = _turning_vertices(points, ring_offsets)
    ring = np.repeat(np.arange(len(ring_offsets) - 1), np.diff(ring_offsets))[keep]
    origin = grid.origin + (tiles.lo - 1) * grid.cell_m
    at = point_tile[keep]
    rings = shapely.linearrings((points[keep] - tiles.at[at]) * grid.cell_m + origin[at],
                                indices=ring)
    polygons = shapely.polygons(rings, indices=np.repeat(np.arange(len(outer_offsets) - 1),
                                                         np.diff(outer_offsets)))
    return polygons, tile


def _gather(out: np.ndarray, area: np.ndarray, polygons: np.ndarray, tile: np.ndarray) -> None:
    """Set ``out`` of each tile's area to its polygons: one Polygon, or a MultiPolygon of
    several in their order (tiles without polygons are left as they are)."""
    order = np.argsort(tile, kind="stable")
    tile, polygons = tile[order], polygons[order]
    owner, first, count = np.unique(tile, return_index=True, return_counts=True)
    single = count == 1
    out[area[owner[single]]] = polygons[first[single]]
    several = np.repeat(~single, count)
    if several.any():
        out[area[owner[~single]]] = shapely.multipolygons(
            polygons[several], indices=np.repeat(np.arange(int((~single).sum())),
                                                 count[~single]))


def _turning_vertices(points: np.ndarray, ring_offsets: np.ndarray,
                      tolerance: float = 1e-5) -> np.ndarray:
    """Which vertices of closed rings (each ending on its first point) to keep: those further
    than ``tolerance`` from the line through their two neighbours, or turning back.

    The closing point of every ring is dropped (a ring is closed again when it is made).
    """
    starts, stops = ring_offsets[:-1], ring_offsets[1:] - 1  # stops: each ring's closing point
    step = np.diff(points, axis=0)  # step[i]: from point i to point i + 1
    into = np.empty_like(points)
    into[1:] = step
    into[starts] = step[stops - 1]
    out_of = np.empty_like(points)
    out_of[:-1] = step
    out_of[-1] = step[-1]
    cross = into[:, 0] * out_of[:, 1] - into[:, 1] * out_of[:, 0]
    chord = into + out_of
    keep = cross * cross > tolerance * tolerance * np.einsum("ij,ij->i", chord, chord)
    keep |= np.einsum("ij,ij->i", into, out_of) < 0
    keep[stops] = False
    # A ring too small to tell its turns from noise keeps every vertex.
    kept = np.add.reduceat(keep, starts)
    if (kept < 3).any():
        ring = np.repeat(np.arange(len(starts)), stops - starts + 1)
        keep |= (kept < 3)[ring]
        keep[stops] = False
    return keep


def _part_lengths(network: Network, edge: np.ndarray, parts: _Intervals) -> np.ndarray:
    """Length in metres of each street part, as its share of the edge's length."""
    return network.length_m[edge] * (parts.end - parts.start)


def _gap_labels(network: Network, part_edge: np.ndarray,
                uncovered_node: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Group uncovered pieces into gaps: pieces sharing an uncovered node are one gap.

    Pieces and nodes are the vertices of one graph, a piece joined to each uncovered end node of
    its street (an uncovered node is always an end of its streets' uncovered pieces).

    Returns:
        The gap of each piece (0 … G-1) and of each node (-1 for nodes in no gap).
    """
    n, count = network.n_nodes, len(part_edge)
    ends = np.concatenate([network.edge_u[part_edge], network.edge_v[part_edge]])
    piece = np.tile(np.arange(count), 2) + n
    touches = uncovered_node[ends]
    graph = coo_matrix((np.ones(int(touches.sum())), (piece[touches], ends[touches])),
                       shape=(n + count, n + count))
    labels, label = connected_components(graph, directed=False)
    has_piece = np.zeros(labels, dtype=bool)
    has_piece[label[n:]] = True
    gap_of_label = np.full(labels, -1, dtype=np.int64)
    gap_of_label[has_piece] = np.arange(int(has_piece.sum()))
    node_gap = np.where(uncovered_node, gap_of_label[label[:n]], -1)
    return gap_of_label[label[n:]], node_gap


def _gap_centres(network: Network, edge_lines: _EdgeLines, streets: _Streets,
                 node_time_s: np.ndarray, parts: _Intervals, part_edge: np.ndarray,
                 part_gap: np.ndarray, node_gap: np.ndarray,
                 points: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Each gap's centre (UTM xy) and its time to the nearest station.

    The centre is the gap's uncovered node nearest its representative point ``points``; a gap
    without uncovered nodes is one piece inside a street, and its centre is the piece's middle,
    timed by the better of the street's two directions.
    """
    count = len(points)
    centre_xy = np.full((count, 2), np.nan)
    centre_time = np.full(count, np.inf)
    nodes = np.nonzero(node_gap >= 0)[0]
    gap = node_gap[nodes]
    distance = np.hypot(*(network.node_xy[nodes] - shapely.get_coordinates(points)[gap]).T)
    nearest = np.full(count, np.inf)
    np.minimum.at(nearest, gap, distance)
    tied = np.flatnonzero(distance == nearest[gap])
    first = tied[np.unique(gap[tied], return_index=True)[1]]  # the lowest node of any tie
    centre_xy[gap[first]] = network.node_xy[nodes[first]]
    centre_time[gap[first]] = node_time_s[nodes[first]]
    has_node = np.zeros(count, dtype=bool)
    has_node[gap] = True
    piece = np.nonzero(~has_node[part_gap])[0]
    along = (parts.start[piece] + parts.end[piece]) / 2.0
    centre_xy[part_gap[piece]] = _point_along(edge_lines, part_edge[piece], along)
    edge, reverse = streets.edge[parts.row[piece]], streets.reverse[parts.row[piece]]
    forward = node_time_s[network.edge_v[edge]] + (1.0 - along) * network.time_s[edge]
    backward = np.where(reverse >= 0, node_time_s[network.edge_u[edge]]
                        + along * network.time_s[np.maximum(reverse, 0)], np.inf)
    centre_time[part_gap[piece]] = np.minimum(forward, backward)
    return centre_xy, centre_time


def _frame(network: Network, columns: dict[str, np.ndarray], geometry: np.ndarray,
           names: list[str], crs: CRS | int | None = None) -> gpd.GeoDataFrame:
    """A WGS-84 frame of ``columns`` and ``geometry`` (in ``crs``, the network's UTM zone by
    default), its columns in the order ``names``."""
    frame = gpd.GeoDataFrame(columns, geometry=gpd.GeoSeries(
        geometry, crs=network.utm_crs if crs is None else crs))
    return frame.to_crs(4326)[names]
