"""Where a point meets the streets: the nearest point on the nearest street of a network.

A :class:`StreetIndex` holds each street once (see :func:`geo.streets.index_streets`), as the
straight segments of its shape in the network's UTM zone, and a KD-tree over the middles of
pieces of those segments at most :data:`PIECE_M` long. The segments of the pieces within a
radius of the point are measured exactly; the nearest of them bounds how far the nearest street
can be, and once the radius reaches that bound plus half a piece, no piece outside it can hold a
nearer point. So a snap is exact whatever the segments' lengths, and the tree costs a few bytes
per metre of street.

A point on a street travels along it toward the street edge's head, and toward its tail too where
the street runs both ways (the mode's network says which). A point farther than
:data:`OFF_STREET_M` from its street first walks to it, at :data:`WALK_MS`.
"""

from __future__ import annotations

import math
from itertools import chain
from typing import NamedTuple

import numpy as np
from scipy.spatial import cKDTree

from geo.modes import PROFILES
from geo.network import Network
from geo.streets import concat_ranges, index_streets

#: Longest piece of a street segment in the KD-tree, metres.
PIECE_M = 20.0

#: Radius of the first search around a point, metres: enough for a point within
#: ``FIRST_REACH_M - PIECE_M / 2`` of a street. Beyond, the search widens to the bound the
#: nearest street found sets (doubles where it found none), until it holds every piece that
#: could be nearer.
FIRST_REACH_M = 25.0

#: Farthest a point may lie from its street (metres) and still count as standing on it: about
#: how far a phone's position, or a station's mapped position, strays from the street's line.
#: A point farther away walks the whole stretch to the street first.
OFF_STREET_M = 30.0

#: Walking speed to the street, m/s (the walking mode's default speed).
WALK_MS = PROFILES["walk"].default_kmh / 3.6


class OnStreet(NamedTuple):
    """Points snapped onto their nearest streets, one entry per point.

    Attributes:
        edge: the street's edge (see :func:`geo.streets.index_streets`), int64.
        segment: which straight segment of the edge's shape holds the snapped point, from the
            tail, int64.
        share: where on that segment, 0 at its start to 1 at its end.
        fraction: where on the edge, as a share of its shape's length from the tail (exactly 0
            at the tail and 1 at the head).
        distance_m: from the point to the street, metres.
        lon, lat: the snapped point, WGS-84.
    """

    edge: np.ndarray
    segment: np.ndarray
    share: np.ndarray
    fraction: np.ndarray
    distance_m: np.ndarray
    lon: np.ndarray
    lat: np.ndarray

    def take(self, order: np.ndarray) -> OnStreet:
        """The entries at positions ``order``."""
        return OnStreet(*(a[order] for a in self))

    def join(self, other: OnStreet) -> OnStreet:
        """These entries followed by ``other``'s."""
        return OnStreet(*(np.concatenate([a, b]) for a, b in zip(self, other)))

    @property
    def walk_s(self) -> np.ndarray:
        """The time to walk to the street: none within :data:`OFF_STREET_M`, else the whole
        stretch at :data:`WALK_MS`."""
        return np.where(self.distance_m > OFF_STREET_M, self.distance_m / WALK_MS, 0.0)


class StreetIndex:
    """The segments of a network's streets, indexed for nearest-point queries.

    Args:
        network: the mode's network.
    """

    def __init__(self, network: Network) -> None:
        self.network = network
        streets = index_streets(network).edge
        start, stop = network.geom_offsets[streets], network.geom_offsets[streets + 1]
        counts = np.maximum(stop - start - 1, 0)
        self._first = concat_ranges(start, start + counts)  # each segment's first vertex
        self._edge = np.repeat(streets, counts)
        xy = network.geom_xy
        step = xy[self._first + 1] - xy[self._first]
        length = np.hypot(*step.T)
        seg_first = np.cumsum(counts) - counts
        run = np.cumsum(length) - length
        self._along = run - np.repeat(run[seg_first[counts > 0]], counts[counts > 0])
        self._segment = np.arange(len(length)) - np.repeat(seg_first, counts)
        self._last = self._segment == np.repeat(counts - 1, counts)
        self._total = np.zeros(network.n_edges)
        self._total[streets] = np.bincount(np.repeat(np.arange(len(streets)), counts),
                                           weights=length, minlength=len(streets))
        pieces = np.maximum(np.ceil(length / PIECE_M), 1).astype(np.int64)
        self._piece_segment = np.repeat(np.arange(len(length)), pieces)
        middle = (np.arange(pieces.sum()) - np.repeat(np.cumsum(pieces) - pieces, pieces) + 0.5) \
            / pieces[self._piece_segment]
        self._tree = cKDTree(xy[self._first][self._piece_segment]
                             + middle[:, None] * step[self._piece_segment])
        self._reach = float((length / pieces).max(initial=0.0)) / 2 + 1e-6

    def snap(self, x: np.ndarray, y: np.ndarray) -> OnStreet:
        """Snap points given in the network's UTM zone (metres) onto their nearest streets.

        Of segments equally near, the first in the index wins.
        """
        px, py = np.asarray(x, float).ravel(), np.asarray(y, float).ravel()
        points = np.column_stack([px, py])
        found = self._nearest(px, py, self._tree.query_ball_point(points, FIRST_REACH_M))
        radius = np.full(len(px), FIRST_REACH_M)
        while True:  # until every ball holds all pieces within the nearest street's bound
            bound = found[2] + self._reach
            again = np.flatnonzero(bound > radius)
            if len(again) == 0:
                return self._on_street(px, py, *found)
            radius[again] = np.where(np.isfinite(bound[again]), bound[again], 2 * radius[again])
            wider = self._nearest(px[again], py[again],
                                  self._tree.query_ball_point(points[again], radius[again]))
            for kept, new in zip(found, wider):
                kept[again] = new

    def _nearest(self, px: np.ndarray, py: np.ndarray, balls: np.ndarray
                 ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """The nearest segment to each point among those of the pieces in its ball: segment,
        share of it, distance (inf for an empty ball), and the segment's start and squared
        length."""
        sizes = np.fromiter(map(len, balls), dtype=np.int64, count=len(balls))
        owner = np.repeat(np.arange(len(px)), sizes)
        segment = self._piece_segment.take(np.fromiter(chain.from_iterable(balls),
                                                       dtype=np.int64, count=int(sizes.sum())))
        xy = self.network.geom_xy.ravel()  # 1-D takes: far faster than rows of a 2-D array
        start = 2 * self._first.take(segment)
        ax, ay = xy.take(start), xy.take(start + 1)
        dx, dy = xy.take(start + 2) - ax, xy.take(start + 3) - ay
        ox, oy = px.take(owner) - ax, py.take(owner) - ay
        squared = dx * dx + dy * dy
        share = np.clip((ox * dx + oy * dy) / np.maximum(squared, 1e-300), 0.0, 1.0)
        distance = np.hypot(ox - share * dx, oy - share * dy)
        if len(segment) == 0:
            return (np.zeros(len(px), dtype=np.int64), np.zeros(len(px)), np.full(len(px), np.inf),
                    np.zeros(len(px), dtype=np.int64), np.zeros(len(px)))
        order = np.lexsort((segment, distance, owner))
        best = order[np.minimum(np.searchsorted(owner[order], np.arange(len(px))), len(order) - 1)]
        return (segment[best], share[best], np.where(sizes > 0, distance[best], np.inf),
                start[best], squared[best])

    def _on_street(self, px: np.ndarray, py: np.ndarray, segment: np.ndarray,
                   share: np.ndarray, distance: np.ndarray, start: np.ndarray,
                   squared: np.ndarray) -> OnStreet:
        """The points' places on the segments found nearest."""
        edge = self._edge.take(segment)
        total = self._total.take(edge)
        along = self._along.take(segment) + share * np.sqrt(squared)
        fraction = np.minimum(along / np.maximum(total, 1e-300), 1.0)
        fraction[self._last.take(segment) & (share == 1.0)] = 1.0
        lonlat = self.network.geom_lonlat.ravel()
        lon, lat = lonlat.take(start), lonlat.take(start + 1)
        lon = lon + share * (lonlat.take(start + 2) - lon)
        lat = lat + share * (lonlat.take(start + 3) - lat)
        return OnStreet(edge=edge.astype(np.int64), segment=self._segment.take(segment),
                        share=share, fraction=fraction, distance_m=distance, lon=lon, lat=lat)


def edge_piece(network: Network, edge: int, start: float, end: float) -> np.ndarray:
    """The lon/lat line along one edge's shape between two places on it.

    A place is a segment number plus the share of that segment (``0`` is the tail,
    ``len(shape) - 1`` the head); the line runs from ``start`` to ``end``, backwards along the
    shape if ``end`` comes first, through every vertex strictly between them.
    """
    shape = network.edge_shape(edge)
    last = len(shape) - 2
    ends = []
    for place in (start, end):
        s = min(int(place), last)
        ends.append(shape[s] + (place - s) * (shape[s + 1] - shape[s]))
    low, high = min(start, end), max(start, end)
    between = shape[int(low) + 1:math.ceil(high)]
    if start > end:
        between = between[::-1]
    return np.concatenate([ends[0][None], between, ends[1][None]])


def street_ends(network: Network, on: OnStreet, leaving: bool
                ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """How snapped points join the network at their street's ends.

    Leaving, a point travels to the edge's head along the edge, and to its tail against it where
    the street runs both ways; entering, it is reached from the tail along the edge, and from
    the head where the street runs both ways. A point at an end joins that end at no cost. The
    walk to the street (:attr:`OnStreet.walk_s`) counts in every way.

    Returns:
        ``(nodes, seconds, metres)``, each (P, 2): column 0 the tail, column 1 the head; node -1
        (and cost inf) where the way is closed.
    """
    edge = on.edge
    back = network.reverse_edge.take(edge)
    two_way = back >= 0
    back = np.where(two_way, back, edge)
    ahead = 1.0 - on.fraction if leaving else on.fraction
    behind = 1.0 - ahead
    open_ = two_way | (behind == 0.0)  # at the end the way against would start from
    walk_s = on.walk_s
    walk_m = np.where(walk_s > 0, on.distance_m, 0.0)
    along, against = (1, 0) if leaving else (0, 1)
    nodes = np.column_stack([network.edge_u.take(edge), network.edge_v.take(edge)]).astype(np.int64)
    nodes[~open_, against] = -1
    seconds, metres = np.empty(nodes.shape), np.empty(nodes.shape)
    seconds[:, along] = ahead * network.time_s.take(edge) + walk_s
    metres[:, along] = ahead * network.length_m.take(edge) + walk_m
    seconds[:, against] = np.where(open_, behind * network.time_s.take(back) + walk_s, np.inf)
    metres[:, against] = np.where(open_, behind * network.length_m.take(back) + walk_m, np.inf)
    return nodes, seconds, metres


def along_street(network: Network, start: OnStreet, end: OnStreet
                 ) -> tuple[np.ndarray, np.ndarray]:
    """Travel time (s) and length (m) from one snapped point straight to others on the same
    street without leaving it: along the edge, or against it where the street runs both ways;
    inf where the street does not lead there. ``start`` holds one point, ``end`` several, all on
    its edge; the walks to the street count."""
    edge = int(start.edge[0])
    back = int(network.reverse_edge[edge])
    gap = end.fraction - start.fraction[0]
    forward = gap >= 0
    time_s = np.where(forward, gap * network.time_s[edge],
                      -gap * network.time_s[back] if back >= 0 else np.inf)
    length_m = np.where(forward, gap * network.length_m[edge],
                        -gap * network.length_m[back] if back >= 0 else np.inf)
    walk_s = start.walk_s[0] + end.walk_s
    walk_m = np.where(start.walk_s[0] > 0, start.distance_m[0], 0.0) + \
        np.where(end.walk_s > 0, end.distance_m, 0.0)
    return time_s + walk_s, length_m + walk_m
