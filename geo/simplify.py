"""Simplification of a mode's segments as ``osmnx.simplify_graph`` does it, on arrays: chains of
nodes that are not endpoints merged into single edges with the chain's shape.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.sparse import csr_matrix
from scipy.sparse.csgraph import connected_components

from geo.network import take_shapes
from geo.segments import Segments


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
class Simplified:
    """A mode's graph after merging chains (see :func:`simplify`).

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


def _arcs(n: int, seg: Segments) -> tuple[np.ndarray, ...]:
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


def simplify(n: int, seg: Segments) -> Simplified:
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
    return Simplified(
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

