"""The worker's question: which open stations can I reach soonest, and how do I get there?

The worker's position and every station are snapped onto the nearest point of their nearest
street (:mod:`geo.snapping`): a route leaves the worker's street at one of its ends (both where it
runs both ways) and enters the station's street at one of its ends, counting the partial edges;
a worker and a station on the same street may also meet along it. The travel time is that of a
plain Dijkstra over the network with both points added as nodes on their streets.

The nearest matching station comes straight from the service field of the matching stations (an
array read at the worker's street's ends). For ``k > 1`` the answer is still exact: where the
stations' street ends × the network's nodes fit the index's budget, the shortest-path tree of
every such node is kept (computed once per node, shared by the stations entered from it) and the
answer is again array reads; beyond it, a forward search from the worker's street's ends that
settles nodes in order of time and stops once the ``k``-th matching station is settled (where
stations are dense, as with thousands in a city, it settles a few dozen nodes). Where they are
sparse it hands over, after :data:`NEAR_SEARCH_NODES` nodes, to a compiled search bounded by a
travel time that starts a little beyond the nearest station's and doubles until ``k`` matching
stations lie inside it.
"""

from __future__ import annotations

import heapq
import math
from bisect import bisect_left, bisect_right
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime

import numpy as np
from scipy.sparse.csgraph import dijkstra

from geo.field import NO_NODE
from geo.index import RegionIndex, Snap, StationFilter
from geo.network import Network
from geo.snapping import OnStreet, along_street, edge_piece, street_ends
from geo.stations import Station

#: How far (seconds) beyond the nearest station the first bounded search for k > 1 reaches.
MIN_SEARCH_S = 120.0

#: Most nodes the worker's own search for k > 1 settles before a compiled search takes over.
NEAR_SEARCH_NODES = 2_000


class OutsideRegion(ValueError):
    """The worker's point lies outside the region (beyond the margin of
    :meth:`geo.index.RegionIndex.covers`); the message names the point and the region."""


@dataclass(frozen=True)
class StationHit:
    """One station in an answer: how long, how far, and the route there.

    Attributes:
        station: the station.
        time_s: travel time from the worker's point to the station's, with the walks to and
            from the streets (see :data:`geo.snapping.OFF_STREET_M`).
        distance_m: length of that way in metres, walks included.
        route: (k, 2) lon/lat line of the route along the streets' shapes, from the worker's
            point on its street to the station's point on its street.
        station_snap_m: distance from the station to its street.
    """

    station: Station
    time_s: float
    distance_m: float
    route: np.ndarray
    station_snap_m: float


@dataclass(frozen=True)
class NearestAnswer:
    """The answer to a nearest-station query: where the worker joined the network, and the hits
    in order of travel time (fewer than ``k`` when fewer stations are reachable)."""

    mode: str
    snap: Snap
    hits: list[StationHit]


@dataclass(frozen=True)
class _Query:
    """What one query knows of the worker's point and the matching stations.

    Attributes:
        sources: the nodes the worker's point leaves by (2,), -1 where closed; with their
            costs ``source_s`` and ``source_m``.
        chosen: positions in the index of the matching stations (S,).
        on: every station's place on its street (the index's, not only the matching ones').
    """

    network: Network
    snap: Snap
    sources: np.ndarray
    source_s: np.ndarray
    source_m: np.ndarray
    chosen: np.ndarray
    on: OnStreet


@dataclass(frozen=True)
class _EntryQuery(_Query):
    """A query for several stations (``k > 1``), which also knows how the stations are
    entered.

    Attributes:
        entries, entry_s, entry_m: how the matching stations are entered from their streets'
            ends (S, 2).
    """

    entries: np.ndarray
    entry_s: np.ndarray
    entry_m: np.ndarray


def nearest_stations(
    index: RegionIndex,
    point: tuple[float, float],
    mode: str,
    k: int = 1,
    filters: StationFilter | None = None,
) -> NearestAnswer:
    """Find the ``k`` open stations nearest by travel time that meet ``filters``.

    Args:
        index: the region's query index.
        point: the worker's position as WGS-84 ``(lon, lat)``.
        mode: travel mode id (``walk``, ``ebike``, ``truck``).
        k: how many stations to return, at least 1.
        filters: kinds, amenities and opening time the stations must meet.

    Returns:
        The answer; its travel times equal those of a plain Dijkstra from the worker's point on
        its street to the stations' points on theirs.

    Raises:
        OutsideRegion: the point is outside the region.
        ValueError: for a mode the region lacks or ``k < 1``.
    """
    if k < 1:
        raise ValueError(f"k must be at least 1, got {k}")
    if not index.covers(*point):
        raise OutsideRegion(f"the point ({point[0]:.5f}, {point[1]:.5f}) is outside region "
                            f"{index.region_id!r}")
    network = index.network(mode)
    snap = index.snap(mode, point[0], point[1])
    mask = index.matching(filters)
    chosen = np.flatnonzero(mask)
    sources, source_s, source_m = (a[0] for a in street_ends(network, snap.on, leaving=True))
    on = index.stations_on_street(mode)
    query = _Query(network, snap, sources, source_s, source_m, chosen, on)
    field = index.street_field(mode, mask)
    through = [(source_s[i] + field.time_s[x], i) for i, x in enumerate(sources.tolist())
               if x >= 0]
    nearest_s, side = min(through, default=(math.inf, -1))
    same = np.flatnonzero(on.edge[chosen] == snap.on.edge[0])
    same_s, same_m = along_street(network, snap.on, on.take(chosen[same]))
    if not np.isfinite(nearest_s) and not np.isfinite(same_s).any():
        return NearestAnswer(mode=mode, snap=snap, hits=[])
    if k == 1:
        if len(same) and same_s.min() <= nearest_s:
            j = int(np.argmin(same_s))
            hit = _along_hit(index, query, int(same[j]), float(same_s[j]), float(same_m[j]))
        else:
            at = int(sources[side])
            hit = _hit(index, query, int(field.nearest[at]), float(nearest_s),
                       float(source_m[side] + field.dist_m[at]), field.route_nodes(at))
        return NearestAnswer(mode=mode, snap=snap, hits=[hit])
    entries, entry_s, entry_m = index.station_entries(mode, mask)
    query = _EntryQuery(network, snap, sources, source_s, source_m, chosen, on, entries,
                        entry_s, entry_m)
    trees = index.trees(mode, mask)
    if trees is not None:
        reach, path_to = _tree_reach(trees, query)
    else:
        reach, path_to = _search_near(query, k) or _search_until(query, k, nearest_s)
    at_entry = reach + entry_s
    entry_side = np.argmin(at_entry, axis=1)
    times = at_entry[np.arange(len(chosen)), entry_side]
    direct = np.zeros(len(chosen), dtype=bool)
    closer = same[same_s < times[same]]
    direct[closer] = True
    times[closer] = same_s[same_s < times[same]]
    hits = []
    for i in _first_k(times, chosen, k).tolist():
        if direct[i]:
            at = np.flatnonzero(same == i)[0]
            hits.append(_along_hit(index, query, i, float(same_s[at]), float(same_m[at])))
            continue
        path = path_to(int(entries[i, entry_side[i]]))
        start = 0 if path[0] == sources[0] else 1
        distance = source_m[start] + _path_length(network, path) + entry_m[i, entry_side[i]]
        hits.append(_hit(index, query, i, float(times[i]), float(distance), path))
    return NearestAnswer(mode=mode, snap=snap, hits=hits)


def nearest_open_first(
    index: RegionIndex,
    point: tuple[float, float],
    mode: str,
    now: datetime,
    k: int = 1,
    filters: StationFilter | None = None,
) -> NearestAnswer:
    """Find the ``k`` nearest stations that meet ``filters``, those open at ``now`` first.

    A station that is closed at ``now`` or whose hours are unknown never ranks above one that
    is open: the open ones come in order of travel time, then the others, also in order of
    time. Each part is exact (:func:`nearest_stations`).

    Args:
        index: the region's query index.
        point: the worker's position as WGS-84 ``(lon, lat)``.
        mode: travel mode id.
        now: the time whose opening hours count (Asia/Shanghai when naive).
        k: how many stations to return, at least 1.
        filters: kinds and amenities the stations must meet (its ``open_at`` is replaced).
    """
    filters = filters or StationFilter()
    opened = nearest_stations(index, point, mode, k, replace(filters, open_at=now))
    if len(opened.hits) == k:
        return opened
    # Every open station is among the first hits already, so k more hits hold k others.
    anyhow = nearest_stations(index, point, mode, k + len(opened.hits),
                              replace(filters, open_at=None))
    kept = [hit.station for hit in opened.hits]
    others = [hit for hit in anyhow.hits if hit.station not in kept]
    return NearestAnswer(mode=mode, snap=opened.snap, hits=(opened.hits + others)[:k])


def _hit(index: RegionIndex, query: _Query, i: int, time_s: float, distance_m: float,
         path: np.ndarray) -> StationHit:
    """The hit of matching station ``i`` reached over the node ``path``: from the worker's
    point to the path's first node, along it, and from its last node to the station."""
    network, snap, on = query.network, query.snap, query.on
    first, last = int(path[0]), int(path[-1])
    i = int(query.chosen[i])
    worker_end = _end_place(network, int(snap.on.edge[0]), first)
    station_end = _end_place(network, int(on.edge[i]), last)
    route = [edge_piece(network, int(snap.on.edge[0]), _place(snap.on, 0), worker_end),
             network.path_shape(path),
             edge_piece(network, int(on.edge[i]), station_end, _place(on, i))]
    return StationHit(station=index.stations[i], time_s=time_s, distance_m=distance_m,
                      route=_joined(route), station_snap_m=float(on.distance_m[i]))


def _along_hit(index: RegionIndex, query: _Query, i: int, time_s: float,
               distance_m: float) -> StationHit:
    """The hit of matching station ``i`` reached along the worker's own street."""
    on, i = query.on, int(query.chosen[i])
    route = edge_piece(query.network, int(on.edge[i]), _place(query.snap.on, 0), _place(on, i))
    return StationHit(station=index.stations[i], time_s=time_s, distance_m=distance_m,
                      route=_joined([route]), station_snap_m=float(on.distance_m[i]))


def _place(on: OnStreet, i: int) -> float:
    """Where snapped point ``i`` lies on its edge's shape: segment number plus share."""
    return float(on.segment[i] + on.share[i])


def _end_place(network: Network, edge: int, node: int) -> float:
    """The place of one of an edge's end nodes on its shape: 0 at the tail, else the head."""
    if node == network.edge_u[edge]:
        return 0.0
    return float(network.geom_offsets[edge + 1] - network.geom_offsets[edge] - 1)


def _joined(pieces: list[np.ndarray]) -> np.ndarray:
    """Lines joined end to end, without repeating a point twice in a row."""
    line = np.concatenate(pieces)
    keep = np.ones(len(line), dtype=bool)
    keep[1:] = (line[1:] != line[:-1]).any(axis=1)
    return line[keep]


def _tree_reach(trees, query: _EntryQuery) -> tuple[np.ndarray, Callable[[int], np.ndarray]]:
    """Times from the worker's point to every station entry node (S, 2), read from trees
    rooted at those nodes, and how to get the node path to one of them."""
    entries = query.entries
    rows = trees.row[np.maximum(entries, 0)]
    reach = np.full(entries.shape, np.inf)
    for node, cost in zip(query.sources.tolist(), query.source_s.tolist()):
        if node >= 0:  # a column, then a 1-D take: far faster than time_s[rows, node]
            np.minimum(reach, cost + trees.time_s[:, node].take(rows), out=reach)
    reach[entries < 0] = np.inf

    def path_to(entry: int) -> np.ndarray:
        row = trees.row[entry]
        start = min((cost + trees.time_s[row, node], node) for node, cost
                    in zip(query.sources.tolist(), query.source_s.tolist()) if node >= 0)[1]
        return trees.route_nodes(entry, start)

    return reach, path_to


def _first_k(times: np.ndarray, chosen: np.ndarray, k: int) -> np.ndarray:
    """Positions of the ``k`` smallest finite times, ties broken by station position."""
    if len(times) > k:
        kth = np.partition(times, k - 1)[k - 1]
        within = np.nonzero(times <= kth)[0]
    else:
        within = np.arange(len(times))
    order = within[np.lexsort((chosen[within], times[within]))]
    return order[np.isfinite(times[order])][:k]


def _search_near(query: _EntryQuery, k: int
                 ) -> tuple[np.ndarray, Callable[[int], np.ndarray]] | None:
    """Search forward from the worker's point, settling nodes in order of time, until every
    station as near as the ``k``-th nearest is settled; return the times to the stations' entry
    nodes (S, 2; inf where not settled) and how to get the node path to one, or None once it has
    settled :data:`NEAR_SEARCH_NODES` nodes (stations are sparse; a compiled search does
    better)."""
    graph = query.network.matrix("time")
    indptr, heads, weights = graph.indptr, graph.indices, graph.data
    flat = query.entries.ravel()
    order = np.argsort(flat, kind="stable")
    at_entries, entry_at = flat[order].tolist(), order.tolist()
    entry_s = query.entry_s.ravel().tolist()
    best: dict[int, float] = {}
    predecessors: dict[int, int] = {}
    heap = []
    for node, cost in zip(query.sources.tolist(), query.source_s.tolist()):
        if node >= 0 and cost < best.get(node, math.inf):
            best[node] = cost
            heap.append((cost, node))
    heapq.heapify(heap)
    station_s: dict[int, float] = {}
    settled, found, limit = 0, [], math.inf
    while heap and heap[0][0] <= limit:  # past the k-th station's time, only ties remain
        time_s, node = heapq.heappop(heap)
        if time_s > best[node]:
            continue
        settled += 1
        if settled > NEAR_SEARCH_NODES:
            return None
        low, high = bisect_left(at_entries, node), bisect_right(at_entries, node)
        if high > low:
            found.append((node, time_s))
            for j in entry_at[low:high]:
                station = j // 2
                if time_s + entry_s[j] < station_s.get(station, math.inf):
                    station_s[station] = time_s + entry_s[j]
            if len(station_s) >= k:
                limit = heapq.nsmallest(k, station_s.values())[-1]
        for j in range(indptr[node], indptr[node + 1]):
            head, reach = int(heads[j]), time_s + float(weights[j])
            if reach < best.get(head, math.inf):
                best[head] = reach
                predecessors[head] = node
                heapq.heappush(heap, (reach, head))
    reach = np.full(flat.shape, np.inf)
    if found:
        lookup = dict(found)
        where = np.isin(flat, list(lookup))
        reach[where] = [lookup[n] for n in flat[where].tolist()]

    def path_to(entry: int) -> np.ndarray:
        path = [entry]
        while path[-1] in predecessors:
            path.append(predecessors[path[-1]])
        return np.array(path[::-1], dtype=np.int64)

    return reach.reshape(query.entries.shape), path_to


def _search_until(query: _EntryQuery, k: int, nearest_s: float
                  ) -> tuple[np.ndarray, Callable[[int], np.ndarray]]:
    """Search forward from the worker's street's ends with a time bound, doubled until ``k``
    stations are inside it or the whole network is; return the times to the stations' entry
    nodes (S, 2) from the last search and how to get the node path to one."""
    network = query.network
    open_ = query.sources >= 0
    sources, costs = query.sources[open_], query.source_s[open_]
    entries = query.entries
    limit = max(1.5 * nearest_s, nearest_s + MIN_SEARCH_S)
    graph = network.matrix("time")
    while True:
        times, predecessors = dijkstra(
            graph, directed=True, indices=sources, limit=limit, return_predecessors=True
        )
        from_point = times + costs[:, None]
        reach = from_point.min(axis=0)[np.maximum(entries, 0)]
        reach[entries < 0] = np.inf
        station_s = (reach + query.entry_s).min(axis=1)
        if np.count_nonzero(station_s <= limit) >= k or np.isfinite(from_point.min(axis=0)).all():
            break
        if limit > np.sum(network.time_s):
            break
        limit *= 2.0

    def path_to(entry: int) -> np.ndarray:
        row = int(np.argmin(from_point[:, entry]))
        return _path_to(predecessors[row], int(sources[row]), entry)

    return reach, path_to


def _path_to(predecessors: np.ndarray, source: int, target: int) -> np.ndarray:
    """Return the node path from ``source`` to ``target`` read from a search's predecessors."""
    path = [target]
    while path[-1] != source:
        previous = int(predecessors[path[-1]])
        if previous == NO_NODE:
            raise ValueError(f"node {target} was not reached from node {source}")
        path.append(previous)
    return np.array(path[::-1], dtype=np.int64)


def _path_length(network: Network, path: np.ndarray) -> float:
    """Return the length in metres of a node path."""
    if len(path) < 2:
        return 0.0
    return float(network.length_m[network.edge_ids(path[:-1], path[1:])].sum())
