"""The service field: every node's nearest station, computed once per station set.

One multi-source Dijkstra over the *reversed* network, from all the stations at once, gives each
node the travel time to its nearest station and the next node on the way there. Reading the field
is an array lookup, so a worker's query needs no search of its own.

A station stands either on a node (:func:`service_field`, the planner's view) or part-way along a
street, which it is entered from at one end or both (:func:`entry_field`, the worker's view): there
each station is one more node of the reversed network, joined to its street's ends by the partial
edges' costs.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.sparse import csr_matrix
from scipy.sparse.csgraph import dijkstra

from geo.network import MIN_WEIGHT, Network

#: Marker scipy uses for "no predecessor".
NO_NODE = -9999


@dataclass(frozen=True)
class ServiceField:
    """Nearest-station answers for every node of one network.

    Attributes:
        station_nodes: node of each station that took part, int64 (S,); for an
            :func:`entry_field`, the nodes each is entered from (S, 2).
        time_s: travel time from each node to its nearest station, inf where none is reachable.
        dist_m: length of that fastest route in metres, inf where none is reachable.
        nearest: index into ``station_nodes`` of each node's nearest station, -1 where none.
        next_node: the next node on the route from each node to its station; :data:`NO_NODE` at
            a station's own node and where no station is reachable.
    """

    station_nodes: np.ndarray
    time_s: np.ndarray
    dist_m: np.ndarray
    nearest: np.ndarray
    next_node: np.ndarray

    def route_nodes(self, node: int) -> np.ndarray:
        """Return the node path from ``node`` to its nearest station (just ``[node]`` at one).

        Raises:
            ValueError: if no station is reachable from ``node``.
        """
        if not np.isfinite(self.time_s[node]):
            raise ValueError(f"no station is reachable from node {node}")
        path = [node]
        while self.next_node[path[-1]] != NO_NODE:
            path.append(int(self.next_node[path[-1]]))
        return np.array(path, dtype=np.int64)


def service_field(network: Network, station_nodes: np.ndarray) -> ServiceField:
    """Compute the service field of a set of stations on a network.

    Args:
        network: the mode's network.
        station_nodes: the node each station is snapped to (S,); several stations may share a
            node, in which case the first of them is the one reported for it.

    Returns:
        The field; with no stations every node gets ``inf`` and ``-1``.
    """
    station_nodes = np.asarray(station_nodes, dtype=np.int64)
    n = network.n_nodes
    if len(station_nodes) == 0:
        return ServiceField(
            station_nodes=station_nodes,
            time_s=np.full(n, np.inf),
            dist_m=np.full(n, np.inf),
            nearest=np.full(n, -1, dtype=np.int64),
            next_node=np.full(n, NO_NODE, dtype=np.int64),
        )
    sources, first = np.unique(station_nodes, return_index=True)
    time_s, next_node, source_node = dijkstra(
        network.reverse_matrix("time"),
        directed=True,
        indices=sources,
        min_only=True,
        return_predecessors=True,
    )
    station_at_node = np.full(n, -1, dtype=np.int64)
    station_at_node[sources] = first
    reached = source_node >= 0
    nearest = np.where(reached, station_at_node[np.maximum(source_node, 0)], -1)
    dist_m = _tree_lengths(network, next_node, sources)
    return ServiceField(
        station_nodes=station_nodes,
        time_s=time_s,
        dist_m=dist_m,
        nearest=nearest,
        next_node=next_node.astype(np.int64),
    )


def entry_field(network: Network, entry_node: np.ndarray, entry_s: np.ndarray,
                entry_m: np.ndarray) -> ServiceField:
    """Compute the service field of stations entered from nodes at a cost.

    Args:
        network: the mode's network.
        entry_node: the nodes each station is entered from (S, 2), -1 where it has only one.
        entry_s: the time from each of those nodes to the station, seconds (S, 2).
        entry_m: the length from each of those nodes to the station, metres (S, 2).

    Returns:
        The field; ``time_s`` and ``dist_m`` count the last stretch into the station, and a
        route's ``route_nodes`` ends at the node it enters the station from. Of stations entered
        alike, the first is the one reported.
    """
    n = network.n_nodes
    entry_node = np.asarray(entry_node, dtype=np.int64).reshape(-1, 2)
    if len(entry_node) == 0:
        return service_field(network, np.zeros(0, dtype=np.int64))
    key = np.column_stack([entry_node, entry_s, entry_m]).reshape(len(entry_node), -1)
    _, first = np.unique(key, axis=0, return_index=True)
    first = np.sort(first)
    node, cost, length = entry_node[first], np.asarray(entry_s)[first], np.asarray(entry_m)[first]
    has = node >= 0
    size = n + len(first)
    reverse = network.reverse_matrix("time")
    per_station = has.sum(axis=1)
    indptr = np.concatenate([reverse.indptr, reverse.indptr[-1] + np.cumsum(per_station)])
    graph = csr_matrix((np.concatenate([reverse.data, cost[has]]),
                        np.concatenate([reverse.indices, node[has]]), indptr),
                       shape=(size, size))  # built whole: its zero costs stay edges
    time_s, next_node, source_node = dijkstra(graph, directed=True,
                                              indices=n + np.arange(len(first)),
                                              min_only=True, return_predecessors=True)
    reached = source_node >= 0
    nearest = np.where(reached, first[np.maximum(source_node, n) - n], -1)[:n]
    lengths = np.zeros(size)
    child = np.flatnonzero(next_node >= 0)
    parent = next_node[child]
    road = parent < n
    lengths[child[road]] = network.length_m[network.edge_ids(child[road], parent[road])]
    entered = child[~road]
    side = (node[parent[~road] - n, 1] == entered).astype(np.int64)
    lengths[entered] = length[parent[~road] - n, side]
    by_parent = np.argsort(parent, kind="stable")
    forest = csr_matrix((lengths[child[by_parent]], child[by_parent],
                         np.concatenate([[0], np.cumsum(np.bincount(parent, minlength=size))])),
                        shape=(size, size))
    dist_m = dijkstra(forest, directed=True, indices=n + np.arange(len(first)), min_only=True)
    next_node = np.where(next_node[:n] >= n, NO_NODE, next_node[:n]).astype(np.int64)
    return ServiceField(station_nodes=entry_node, time_s=time_s[:n], dist_m=dist_m[:n],
                        nearest=nearest, next_node=next_node)


@dataclass(frozen=True)
class NodeTrees:
    """Shortest-path trees over the reversed network, one rooted at each of some nodes: the
    travel time from every node to each root and the way there.

    Stations sharing a node share its tree, so a region needs at most one tree per node however
    many stations it has, and a tree stays valid while the network does: trees are only ever
    added (see :func:`node_trees`).

    Attributes:
        row: the row of each network node's tree, -1 for nodes that are no root (N,).
        time_s: travel time from every node to each root (R, N), inf where unreachable.
        next_node: next node on the way from every node to each root (R, N), int32;
            :data:`NO_NODE` at the root and where it is unreachable.
    """

    row: np.ndarray
    time_s: np.ndarray
    next_node: np.ndarray

    def route_nodes(self, root: int, node: int) -> np.ndarray:
        """Return the node path from ``node`` to the root node ``root``.

        Raises:
            ValueError: if the root has no tree or is not reachable from ``node``.
        """
        row = self.row[root]
        if row < 0 or not np.isfinite(self.time_s[row, node]):
            raise ValueError(f"node {root} is not reachable from node {node}")
        tree = self.next_node[row]
        path = [node]
        while tree[path[-1]] != NO_NODE:
            path.append(int(tree[path[-1]]))
        return np.array(path, dtype=np.int64)


def node_trees(network: Network, roots: np.ndarray, kept: NodeTrees | None = None) -> NodeTrees:
    """Return trees rooted at ``roots``: those of ``kept`` and, in one compiled call, the
    missing ones.

    Memory is R × N × 12 bytes for R roots; callers bound R × N.

    Args:
        network: the mode's network.
        roots: nodes that need a tree; repeats are fine.
        kept: trees computed before on the same network, reused and extended; None starts
            afresh.
    """
    if kept is None:
        kept = NodeTrees(np.full(network.n_nodes, -1, dtype=np.int64),
                         np.zeros((0, network.n_nodes)),
                         np.zeros((0, network.n_nodes), dtype=np.int32))
    roots = np.unique(np.asarray(roots, dtype=np.int64))
    missing = roots[kept.row[roots] < 0]
    if len(missing) == 0:
        return kept
    time_s, next_node = dijkstra(network.reverse_matrix("time"), directed=True,
                                 indices=missing, return_predecessors=True)
    row = kept.row.copy()
    row[missing] = len(kept.time_s) + np.arange(len(missing))
    return NodeTrees(row, np.vstack([kept.time_s, time_s.reshape(len(missing), -1)]),
                     np.vstack([kept.next_node,
                                next_node.reshape(len(missing), -1).astype(np.int32)]))


def _tree_lengths(network: Network, next_node: np.ndarray, roots: np.ndarray) -> np.ndarray:
    """Return each node's route length (m) to its root along the shortest-path forest.

    The forest's edges, weighted by the length of the street edge they stand for, form a graph in
    which each node has one path to a root; one more multi-source search over it sums the lengths.
    """
    n = network.n_nodes
    child = np.nonzero(next_node >= 0)[0]
    parent = next_node[child]
    edges = network.edge_ids(child, parent)
    tree = csr_matrix(
        (np.maximum(network.length_m[edges], MIN_WEIGHT), (parent, child)), shape=(n, n)
    )
    return dijkstra(tree, directed=True, indices=roots, min_only=True)
