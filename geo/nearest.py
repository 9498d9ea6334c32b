"""The worker's question: which open stations can I reach soonest, and how do I get there?

The nearest matching station comes straight from the service field of the matching stations (an
array read). For ``k > 1`` the answer is still exact: where the stations' nodes × the network's
nodes fit the index's budget, the shortest-path tree of every node with a station is kept
(computed once per node, shared by the stations on it) and the answer is again array reads;
beyond it, a forward search from the worker's node that settles nodes in order of time and stops
once the ``k``-th matching station is settled (where stations are dense, as with thousands in a
city, it settles a few dozen nodes). Where they are sparse it hands over, after
:data:`NEAR_SEARCH_NODES` nodes, to a compiled search bounded by a travel time that starts a
little beyond the nearest station's and doubles until ``k`` matching stations lie inside it.
"""

from __future__ import annotations

import heapq
import math
from bisect import bisect_left, bisect_right
from dataclasses import dataclass, replace
from datetime import datetime

import numpy as np
from scipy.sparse.csgraph import dijkstra

from geo.field import NO_NODE
from geo.index import RegionIndex, Snap, StationFilter
from geo.network import Network
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
        time_s: travel time from the worker's network node to the station's node.
        distance_m: length of that route in metres.
        route: (k, 2) lon/lat line of the route along the streets' shapes.
        station_snap_m: distance from the station to its network node.
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
        The answer; its travel times equal those of a plain Dijkstra from the snapped node.

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
    chosen = np.nonzero(mask)[0]
    field = index.field(mode, mask)
    node = snap.node
    if not np.isfinite(field.time_s[node]):
        return NearestAnswer(mode=mode, snap=snap, hits=[])
    snap_m = index.station_snap_m(mode)
    if k == 1:
        station = int(chosen[field.nearest[node]])
        hit = StationHit(
            station=index.stations[station],
            time_s=float(field.time_s[node]),
            distance_m=float(field.dist_m[node]),
            route=network.path_shape(field.route_nodes(node)),
            station_snap_m=float(snap_m[station]),
        )
        return NearestAnswer(mode=mode, snap=snap, hits=[hit])
    nodes = index.station_nodes(mode)[chosen]
    trees = index.trees(mode, mask)
    if trees is not None:
        times = trees.time_s[trees.row[nodes], node]
        order = _first_k(times, chosen, k)
        paths = [trees.route_nodes(int(nodes[i]), node) for i in order]
    else:
        found = _search_near(network, node, nodes, k)
        if found is None:
            reached, predecessors = _search_until(network, node, nodes, k,
                                                  float(field.time_s[node]))
            times = reached[nodes]
        else:
            times, predecessors = found
        order = _first_k(times, chosen, k)
        paths = [_path_to(predecessors, node, int(nodes[i])) for i in order]
    hits = [
        StationHit(
            station=index.stations[int(chosen[i])],
            time_s=float(times[i]),
            distance_m=_path_length(network, path),
            route=network.path_shape(path),
            station_snap_m=float(snap_m[chosen[i]]),
        )
        for i, path in zip(order, paths)
    ]
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


def _first_k(times: np.ndarray, chosen: np.ndarray, k: int) -> np.ndarray:
    """Positions of the ``k`` smallest finite times, ties broken by station position."""
    if len(times) > k:
        kth = np.partition(times, k - 1)[k - 1]
        within = np.nonzero(times <= kth)[0]
    else:
        within = np.arange(len(times))
    order = within[np.lexsort((chosen[within], times[within]))]
    return order[np.isfinite(times[order])][:k]


def _search_near(network: Network, source: int, targets: np.ndarray, k: int
                 ) -> tuple[np.ndarray, dict[int, int]] | None:
    """Search forward from ``source``, settling nodes in order of time, until every target as
    near as the ``k``-th nearest is settled; return each target's time (inf where not
    settled) and the search's predecessors, or None once it has settled
    :data:`NEAR_SEARCH_NODES` nodes (targets are sparse; a compiled search does better)."""
    graph = network.matrix("time")
    indptr, heads, weights = graph.indptr, graph.indices, graph.data
    at_targets = np.sort(targets).tolist()
    best = {source: 0.0}
    predecessors: dict[int, int] = {}
    heap = [(0.0, source)]
    settled, reached, found, limit = 0, 0, [], math.inf
    while heap and heap[0][0] <= limit:  # past the k-th target's time, only ties remain
        time_s, node = heapq.heappop(heap)
        if time_s > best[node]:
            continue
        settled += 1
        if settled > NEAR_SEARCH_NODES:
            return None
        here = bisect_right(at_targets, node) - bisect_left(at_targets, node)
        if here:
            found.append((node, time_s))
            reached += here
            if reached >= k and limit == math.inf:
                limit = time_s
        for j in range(indptr[node], indptr[node + 1]):
            head, reach = int(heads[j]), time_s + float(weights[j])
            if reach < best.get(head, math.inf):
                best[head] = reach
                predecessors[head] = node
                heapq.heappush(heap, (reach, head))
    times = np.full(len(targets), np.inf)
    if found:
        lookup = dict(found)
        where = np.isin(targets, list(lookup))
        times[where] = [lookup[n] for n in targets[where].tolist()]
    return times, predecessors


def _search_until(
    network: Network, source: int, targets: np.ndarray, k: int, nearest_s: float
) -> tuple[np.ndarray, np.ndarray]:
    """Search forward from ``source`` with a time bound, doubled until ``k`` targets are inside
    it or the whole network is; return the times and predecessors of the last search."""
    limit = max(1.5 * nearest_s, nearest_s + MIN_SEARCH_S)
    graph = network.matrix("time")
    while True:
        times, predecessors = dijkstra(
            graph, directed=True, indices=source, limit=limit, return_predecessors=True
        )
        if np.count_nonzero(times[targets] <= limit) >= k or np.isfinite(times).all():
            return times, predecessors
        if limit > np.sum(network.time_s):
            return times, predecessors
        limit *= 2.0


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
