"""Service areas and gaps: which streets lie within a travel time of a station, as polygons.

Travel runs *to* a station, so every search here runs on the reversed network from the
stations. Which part of each street a time reaches is :mod:`geo.streets`' rule.

Street pieces are cut from the edges' shapes in the network's UTM zone (metres), areas are
buffers of the pieces there, and the frames returned are in WGS-84 (EPSG:4326). Lengths reported
(``reached_m``, ``street_m``, ``length_m``) are shares of the network's edge lengths.

Service areas are traced rather than unioned (:mod:`geo.tracing`): the distance from the nodes of
a square grid to the nearest reached street is computed exactly where it is within a cell of the
buffer (and capped beyond), and the buffer's iso-line is traced on it by marching squares. That
is the buffer union up to the grid's resolution, at a fraction of the cost of a GEOS union of
tens of thousands of buffers (see :func:`service_areas`).
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import shapely
from pyproj import CRS
from scipy.sparse import coo_matrix, csr_matrix
from scipy.sparse.csgraph import connected_components, dijkstra

from geo.network import Network
from geo.streets import (
    EdgeLines,
    Intervals,
    Streets,
    covered_intervals,
    head_fraction,
    index_streets,
    part_lengths,
    pieces_lonlat,
    point_along,
    street_parts,
    utm_lines,
)
from geo.tracing import MAX_GRID_SIDE, default_cell, extents, traced_areas

#: Added to every time stored by :func:`station_reach`, so that the zero at a station's own node
#: stays an explicit entry; subtract it from ``reach.data`` to read times.
REACH_OFFSET_S = 1e-9

#: Columns of :func:`service_areas`, :func:`gap_areas` and :func:`uncovered_streets` frames.
SERVICE_AREA_COLUMNS = ["station", "reached_m", "area_m2", "geometry"]
GAP_COLUMNS = ["gap", "uncovered_demand", "street_m", "area_m2", "centre_time_s",
               "centre_lon", "centre_lat", "geometry"]
UNCOVERED_STREET_COLUMNS = ["edge", "length_m", "geometry"]


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
            grid has at most about :data:`geo.tracing.MAX_GRID_SIDE` cells a side). It is one
            value per call, so a station's area can differ by a fraction of a cell between calls
            with other stations.

    Returns:
        One row per station, in order (EPSG:4326): ``station`` (position in ``station_nodes``),
        ``reached_m`` (street length within the threshold, m), ``area_m2`` and ``geometry``.

    Raises:
        ValueError: for a ``cell_m`` that is not positive.
    """
    station_nodes = np.asarray(station_nodes, dtype=np.int64)
    count = len(station_nodes)
    streets = index_streets(network)
    reach = station_reach(network, station_nodes, threshold_s).tocoo()
    station, edge, fraction = _reached_in_edges(
        network, reach.row, reach.col, reach.data - REACH_OFFSET_S, threshold_s)
    keys, at = np.unique(station * len(streets.edge) + streets.of_edge[edge], return_inverse=True)
    tail_share, head_share = np.zeros(len(keys)), np.zeros(len(keys))
    against = streets.against[edge]
    tail_share[at[against]] = fraction[against]
    head_share[at[~against]] = fraction[~against]
    parts = covered_intervals(tail_share, head_share)
    part_station = keys[parts.row] // len(streets.edge)  # ascending: keys are station-major
    part_edge = streets.edge[keys[parts.row] % len(streets.edge)]
    if cell_m is None:
        cell_m = default_cell(buffer_m, extents(network, reach.row, reach.col).max(initial=0.0))
    if not cell_m > 0:
        raise ValueError(f"cell_m must be a positive number of metres, got {cell_m}")
    traced = traced_areas(utm_lines(network, part_edge), part_station, part_edge, parts,
                           network.node_xy[station_nodes], buffer_m, float(cell_m))
    discs = shapely.buffer(shapely.points(network.node_xy[station_nodes]), buffer_m)
    polygons = np.where(shapely.is_empty(traced), discs, traced)
    reached = np.bincount(part_station, weights=part_lengths(network, part_edge, parts),
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
    gaps = ranked_gaps(network, node_time_s, threshold_s, node_demand)
    if gaps is None:
        empty = {c: np.zeros(0) for c in GAP_COLUMNS[:-1]} | {"gap": np.zeros(0, np.int64)}
        return _frame(network, empty, np.zeros(0, dtype=object), GAP_COLUMNS)
    streets, parts, part_edge, part_gap, node_gap, demand, street_m, rank = gaps
    count = len(demand)
    order = np.argsort(part_gap, kind="stable")
    parts = Intervals(parts.row[order], parts.start[order], parts.end[order])
    part_edge, part_gap = part_edge[order], part_gap[order]
    edge_lines = utm_lines(network, part_edge)
    ends = np.column_stack([network.edge_u[part_edge], network.edge_v[part_edge]]).ravel()
    extent = extents(network, np.repeat(part_gap, 2), ends)
    first = np.searchsorted(part_gap, np.arange(count))
    start_xy = point_along(edge_lines, part_edge[first], parts.start[first])
    polygons = np.empty(count, dtype=object)
    fine = extent <= MAX_GRID_SIDE * buffer_m / 2.0
    for chosen in (fine, ~fine):  # a city-wide gap does not coarsen the small ones
        if chosen.any():
            keep = chosen[part_gap]
            polygons[chosen] = traced_areas(
                edge_lines, (np.cumsum(chosen) - 1)[part_gap[keep]], part_edge[keep],
                Intervals(parts.row[keep], parts.start[keep], parts.end[keep]),
                start_xy[chosen], buffer_m, default_cell(buffer_m, extent[chosen].max()))
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
    gaps = ranked_gaps(network, np.asarray(node_time_s, np.float64), threshold_s, node_demand)
    if gaps is None:
        return np.zeros(network.n_nodes, np.int64)
    node_gap, rank = gaps[4], gaps[7]
    rank_of = np.empty(len(rank), np.int64)
    rank_of[rank] = np.arange(1, len(rank) + 1)
    return np.where(node_gap >= 0, rank_of[np.maximum(node_gap, 0)], 0)


def ranked_gaps(network: Network, node_time_s: np.ndarray, threshold_s: float,
                 node_demand: np.ndarray) -> tuple | None:
    """The uncovered street parts grouped into gaps, with each gap's demand, street length and
    rank order (None when nothing is uncovered)."""
    node_demand = np.asarray(node_demand, dtype=np.float64)
    streets = index_streets(network)
    parts = street_parts(network, streets, node_time_s, threshold_s, covered=False)
    if len(parts.row) == 0:
        return None
    part_edge = streets.edge[parts.row]
    part_gap, node_gap = _gap_labels(network, part_edge, node_time_s > threshold_s)
    count = int(part_gap.max()) + 1
    in_gap = node_gap >= 0
    demand = np.bincount(node_gap[in_gap], weights=node_demand[in_gap], minlength=count)
    street_m = np.bincount(part_gap, weights=part_lengths(network, part_edge, parts),
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
        :func:`geo.streets.edge_pieces`), ``length_m`` and ``geometry``.
    """
    streets = index_streets(network)
    parts = street_parts(network, streets, node_time_s, threshold_s, covered=False)
    part_edge = streets.edge[parts.row]
    return _frame(network, {
        "edge": part_edge,
        "length_m": part_lengths(network, part_edge, parts),
    }, pieces_lonlat(network, part_edge, parts.start, parts.end), UNCOVERED_STREET_COLUMNS,
        crs=4326)


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
    fraction = head_fraction(time_s[entry], network.time_s[edge], threshold_s)
    keep = fraction > 0
    return station[entry][keep].astype(np.int64), edge[keep], fraction[keep]


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


def _gap_centres(network: Network, edge_lines: EdgeLines, streets: Streets,
                 node_time_s: np.ndarray, parts: Intervals, part_edge: np.ndarray,
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
    centre_xy[part_gap[piece]] = point_along(edge_lines, part_edge[piece], along)
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
