"""Where a point meets the streets: the nearest point on the nearest street of a network.

A :class:`StreetIndex` holds each street once (see :func:`geo.streets.index_streets`), as the
straight segments of its shape in the network's UTM zone, and a KD-tree over the middles of
pieces of those segments at most :data:`PIECE_M` long. The nearest middle bounds how far the
nearest street can be; every piece whose middle lies within that bound plus half a piece is a
candidate, and the nearest point of each candidate segment is found exactly. So a snap is exact
whatever the segments' lengths, and the tree costs a few bytes per metre of street.

A point on a street travels along it toward the street edge's head, and toward its tail too where
the street runs both ways (the mode's network says which). A point farther than
:data:`OFF_STREET_M` from its street first walks to it, at :data:`WALK_MS`.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
from scipy.spatial import cKDTree

from geo.modes import PROFILES
from geo.network import Network
from geo.streets import concat_ranges, index_streets

#: Longest piece of a street segment in the KD-tree, metres.
PIECE_M = 20.0

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

    def take(self, order: np.ndarray) -> "OnStreet":
        """The entries at positions ``order``."""
        return OnStreet(*(a[order] for a in self))

    def join(self, other: "OnStreet") -> "OnStreet":
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
        self._a = xy[self._first]
        self._step = xy[self._first + 1] - self._a
        length = np.hypot(*self._step.T)
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
        self._tree = cKDTree(self._a[self._piece_segment]
                             + middle[:, None] * self._step[self._piece_segment])
        self._reach = float((length / pieces).max(initial=0.0)) / 2 + 1e-6

    def snap(self, x: np.ndarray, y: np.ndarray) -> OnStreet:
        """Snap points given in the network's UTM zone (metres) onto their nearest streets.

        Of segments equally near, the first in the index wins.
        """
        points = np.column_stack([np.asarray(x, float), np.asarray(y, float)]).reshape(-1, 2)
        nearest, _ = self._tree.query(points)
        balls = self._tree.query_ball_point(points, nearest + self._reach)
        sizes = np.array([len(b) for b in balls], dtype=np.int64)
        owner = np.repeat(np.arange(len(points)), sizes)
        segment = self._piece_segment[np.concatenate(balls).astype(np.int64)]
        step = self._step[segment]
        offset = points[owner] - self._a[segment]
        squared = np.einsum("ij,ij->i", step, step)
        share = np.clip(np.divide(np.einsum("ij,ij->i", offset, step), squared,
                                  out=np.zeros(len(segment)), where=squared > 0), 0.0, 1.0)
        distance = np.hypot(*(offset - share[:, None] * step).T)
        order = np.lexsort((segment, distance, owner))
        best = order[np.r_[True, owner[order][1:] != owner[order][:-1]]]
        segment, share, distance = segment[best], share[best], distance[best]
        edge = self._edge[segment]
        total = self._total[edge]
        fraction = np.divide(self._along[segment] + share * np.sqrt(squared[best]), total,
                             out=np.zeros(len(segment)), where=total > 0)
        fraction = np.where(self._last[segment] & (share == 1.0), 1.0, np.minimum(fraction, 1.0))
        lonlat = self.network.geom_lonlat
        first = self._first[segment]
        at = lonlat[first] + share[:, None] * (lonlat[first + 1] - lonlat[first])
        return OnStreet(edge=edge.astype(np.int64), segment=self._segment[segment],
                        share=share, fraction=fraction, distance_m=distance,
                        lon=at[:, 0], lat=at[:, 1])


def edge_piece(network: Network, edge: int, start: float, end: float) -> np.ndarray:
    """The lon/lat line along one edge's shape between two places on it.

    A place is a segment number plus the share of that segment (``0`` is the tail,
    ``len(shape) - 1`` the head); the line runs from ``start`` to ``end``, backwards along the
    shape if ``end`` comes first, through every vertex strictly between them.
    """
    shape = network.edge_shape(edge)
    segments = len(shape) - 1

    def point(place: float) -> np.ndarray:
        s = min(int(np.floor(place)), segments - 1)
        return shape[s] + (place - s) * (shape[s + 1] - shape[s])

    low, high = min(start, end), max(start, end)
    between = shape[int(np.floor(low)) + 1:int(np.ceil(high))]
    if start > end:
        between = between[::-1]
    return np.vstack([point(start), between, point(end)])


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
    back = network.reverse_edge[edge]
    two_way = back >= 0
    back = np.maximum(back, 0)
    fraction = on.fraction
    ahead, behind = (1.0 - fraction, fraction) if leaving else (fraction, 1.0 - fraction)
    at_end = fraction == (0.0 if leaving else 1.0)  # at the end the way against would start
    along_s, along_m = ahead * network.time_s[edge], ahead * network.length_m[edge]
    against_s = np.where(two_way, behind * network.time_s[back], 0.0)
    against_m = np.where(two_way, behind * network.length_m[back], 0.0)
    against_open = two_way | at_end
    along_node = (network.edge_v if leaving else network.edge_u)[edge].astype(np.int64)
    against_node = (network.edge_u if leaving else network.edge_v)[edge].astype(np.int64)
    walk_s = on.walk_s
    walk_m = np.where(walk_s > 0, on.distance_m, 0.0)
    along = np.column_stack([along_node, along_s + walk_s, along_m + walk_m])
    against = np.column_stack([np.where(against_open, against_node, -1),
                               np.where(against_open, against_s + walk_s, np.inf),
                               np.where(against_open, against_m + walk_m, np.inf)])
    tail, head = (against, along) if leaving else (along, against)
    return (np.column_stack([tail[:, 0], head[:, 0]]).astype(np.int64),
            np.column_stack([tail[:, 1], head[:, 1]]),
            np.column_stack([tail[:, 2], head[:, 2]]))


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
