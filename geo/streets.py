"""Streets and their covered parts: each street once, the share of it within a travel time, and
the shapes of its pieces.

Travel runs *to* a station. A position on the directed edge u→v (edge time c) at fraction f of the
way from u reaches a station in ``t_v + (1 - f) * c``, where ``t_v`` is the time from v: within a
threshold T is the part nearest the head, a share ``(T - t_v) / c`` of the edge measured from v. A
street (the one edge of a one-way street, or the pair of a two-way one) is covered where either of
its directions covers it: from v's end by u→v and from u's end by v→u; what a two-way street
leaves between the two covered ends is uncovered.

Street pieces are cut from the edges' shapes in the network's UTM zone (metres); their lengths
are shares of the network's edge lengths.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
import shapely
from pyproj import Transformer

from geo.network import Network

#: A street whose covered ends leave less than this share of it between them is fully covered
#: (keeps float noise from making slivers of gap).
FULL_TOLERANCE = 1e-9


class Streets(NamedTuple):
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


class Intervals(NamedTuple):
    """Parts of streets, as fractions of the street's edge measured from its tail.

    Attributes:
        row: which input row (street, or station-and-street) each part belongs to.
        start, end: the part's fractions, ``0 <= start < end <= 1``.
    """

    row: np.ndarray
    start: np.ndarray
    end: np.ndarray


class EdgeLines(NamedTuple):
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
    return head_fraction(head_time, network.time_s, threshold_s)


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
    streets = index_streets(network)
    parts = street_parts(network, streets, node_time_s, threshold_s, covered)
    edge = streets.edge[parts.row]
    return cut_pieces(utm_lines(network, edge), edge, parts.start, parts.end)


def head_fraction(head_time: np.ndarray, edge_time: np.ndarray, threshold_s: float) -> np.ndarray:
    """``clip((T - t_head) / c, 0, 1)``; 1 or 0 for edges taking no time, 0 for unreachable
    heads (also when T is infinite)."""
    slack = np.subtract(threshold_s, head_time, out=np.full(len(head_time), -np.inf),
                        where=np.isfinite(head_time))
    share = np.divide(slack, edge_time, out=np.where(slack >= 0, 1.0, 0.0), where=edge_time > 0)
    return np.clip(share, 0.0, 1.0)


def index_streets(network: Network) -> Streets:
    """Index each street once (see :class:`Streets`)."""
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
    return Streets(edge=edge, reverse=street_reverse, of_edge=of_edge, against=against)


def street_parts(network: Network, streets: Streets, node_time_s: np.ndarray,
                  threshold_s: float, covered: bool) -> Intervals:
    """The covered or uncovered intervals of every street; ``row`` indexes the streets."""
    fraction = reached_fraction(network, node_time_s, threshold_s)
    head_share = fraction[streets.edge]
    tail_share = np.where(streets.reverse >= 0, fraction[streets.reverse], 0.0)
    if covered:
        return covered_intervals(tail_share, head_share)
    open_ = tail_share + head_share < 1.0 - FULL_TOLERANCE
    return Intervals(np.nonzero(open_)[0], tail_share[open_], 1.0 - head_share[open_])


def covered_intervals(tail_share: np.ndarray, head_share: np.ndarray) -> Intervals:
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
    return Intervals(row[order], start[order], end[order])


def utm_lines(network: Network, edges: np.ndarray) -> EdgeLines:
    """The UTM shapes of ``edges`` (any order, repeats allowed; see :class:`EdgeLines`): only
    the shapes a caller cuts, so that the work follows them."""
    chosen = np.zeros(network.n_edges, dtype=bool)
    chosen[edges] = True
    edges = np.flatnonzero(chosen)
    start, stop = network.geom_offsets[edges], network.geom_offsets[edges + 1]
    xy = network.geom_xy[concat_ranges(start, stop)]
    first = np.zeros(network.n_edges, dtype=np.int64)
    first[edges] = np.cumsum(stop - start) - (stop - start)
    last = first.copy()
    last[edges] += stop - start - 1
    step = np.zeros(len(xy))
    step[1:] = np.hypot(*np.diff(xy, axis=0).T)
    step[first[edges]] = 0.0
    return EdgeLines(xy, np.cumsum(step), first, last)


def cut_pieces(edge_lines: EdgeLines, edge: np.ndarray, start: np.ndarray,
            end: np.ndarray) -> np.ndarray:
    """Cut ``[start, end]`` (length fractions from the tail) out of each edge's line.

    Returns:
        One LineString per piece, in the UTM zone (see :func:`piece_coords`).
    """
    coords, piece = piece_coords(edge_lines, edge, start, end)
    out = np.empty(len(edge), dtype=object)
    if len(edge):
        out[:] = shapely.linestrings(coords, indices=piece)
    return out


def pieces_lonlat(network: Network, edge: np.ndarray, start: np.ndarray,
                   end: np.ndarray) -> np.ndarray:
    """The pieces of :func:`cut_pieces` in WGS-84: whole edges as their stored shapes, and only the
    cut ones through the UTM zone (a city's uncovered streets are mostly whole)."""
    out = np.empty(len(edge), dtype=object)
    whole = (start <= 0.0) & (end >= 1.0)
    first = network.geom_offsets[edge[whole]]
    counts = network.geom_offsets[edge[whole] + 1] - first
    if whole.any():
        out[whole] = shapely.linestrings(network.geom_lonlat[concat_ranges(first, first + counts)],
                                         indices=np.repeat(np.arange(len(first)), counts))
    cut = np.flatnonzero(~whole)
    if len(cut):
        coords, piece = piece_coords(utm_lines(network, edge[cut]), edge[cut], start[cut],
                                      end[cut])
        to_lonlat = Transformer.from_crs(network.utm_crs, 4326, always_xy=True)
        out[cut] = shapely.linestrings(np.column_stack(to_lonlat.transform(*coords.T)),
                                       indices=piece)
    return out


def piece_coords(edge_lines: EdgeLines, edge: np.ndarray, start: np.ndarray,
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
    vertex = concat_ranges(first, first + counts)
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
        coords[at[cut]] = point_along(edge_lines, edge[cut], fraction[cut])
    return coords, np.repeat(np.arange(len(edge)), sizes)


def point_along(edge_lines: EdgeLines, edge: np.ndarray, fraction: np.ndarray) -> np.ndarray:
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


def concat_ranges(start: np.ndarray, stop: np.ndarray) -> np.ndarray:
    """The concatenated integer ranges ``start[i]:stop[i]``."""
    counts = stop - start
    return np.repeat(start - np.cumsum(counts) + counts, counts) + np.arange(counts.sum())


def part_lengths(network: Network, edge: np.ndarray, parts: Intervals) -> np.ndarray:
    """Length in metres of each street part, as its share of the edge's length."""
    return network.length_m[edge] * (parts.end - parts.start)

