"""One mode's directed segments: the pieces of the ``highway`` ways it may use, cut at every node,
each with its length, time and class, and the nodes outside the extract (the clip-edge rule of
:mod:`geo.osm`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TypeAlias

import numpy as np
import shapely

from geo.highways import HighwayWays
from geo.modes import ModeProfile

#: A region's boundary in lon/lat.
Boundary: TypeAlias = shapely.Polygon | shapely.MultiPolygon


@dataclass(frozen=True)
class Segments:
    """One mode's directed segments.

    Attributes:
        node_ids, lon, lat: the mode's nodes, by ascending OSM id (N,).
        u, v: tail and head node of every directed segment, int32 (S,).
        part: the piece segment each directed segment travels, int32 (S,).
        part_length_m: length of every piece segment (osmnx's great-circle length).
        part_piece: the piece of every piece segment, an index into ``speed_ms``, int32.
        speed_ms: the mode's speed on every piece it may use, m/s.
        part_class: ``highway`` class of every piece segment, an index into ``classes``.
        classes: the ``highway`` classes.
        outside: bool (N,), the nodes outside the extract (the clip-edge rule of :mod:`geo.osm`).
    """

    node_ids: np.ndarray
    lon: np.ndarray
    lat: np.ndarray
    u: np.ndarray
    v: np.ndarray
    part: np.ndarray
    part_length_m: np.ndarray
    part_piece: np.ndarray
    speed_ms: np.ndarray
    part_class: np.ndarray
    classes: np.ndarray
    outside: np.ndarray

    def length_m(self, segments: np.ndarray) -> np.ndarray:
        """Return the length of some directed segments."""
        return self.part_length_m[self.part[segments]]

    def time_s(self, segments: np.ndarray) -> np.ndarray:
        """Return the travel time of some directed segments."""
        part = self.part[segments]
        return self.part_length_m[part] / self.speed_ms[self.part_piece[part]]


def mode_segments(
    ways: HighwayWays, prof: ModeProfile, pieces: np.ndarray, boundary: Boundary | None
) -> Segments:
    """Turn the pieces a mode may use into directed segments: along the direction of travel,
    and for two-way pieces also against it.

    Args:
        ways: the file's highway pieces.
        prof: the mode's profile.
        pieces: the pieces the mode may use, ascending.
        boundary: the region's (Multi)Polygon in lon/lat, or None.

    Returns:
        The segments.
    """
    tags = [ways.tags[p] for p in pieces.tolist()]
    direction = np.array([prof.direction(t) for t in tags], dtype=np.int8)
    speed_ms = np.array([prof.speed_kmh(t) for t in tags]) / 3.6
    classes, highway = np.unique([t["highway"] for t in tags], return_inverse=True)
    sizes = np.diff(ways.offsets)[pieces]
    ends = np.cumsum(sizes)
    entries = np.arange(int(ends[-1])) + np.repeat(ways.offsets[pieces] - (ends - sizes), sizes)
    all_ids, all_of = ways.nodes
    used = np.zeros(len(all_ids), dtype=bool)
    used[all_of[entries]] = True
    node_ids = all_ids[used]
    node_of = (np.cumsum(used, dtype=np.int32) - 1)[all_of[entries]]
    del used
    entry_of = np.zeros(len(node_ids), dtype=np.int64)
    entry_of[node_of] = entries
    lon, lat = ways.lon[entry_of], ways.lat[entry_of]
    outside = _outside_nodes(ways, pieces, node_of, ends - sizes, ends - 1, lon, lat, boundary)
    del entry_of

    is_segment = np.ones(len(node_of), dtype=bool)
    is_segment[ends - 1] = False
    a, b = node_of[is_segment], node_of[1:][is_segment[:-1]]
    part_length = ways.step_m[entries[is_segment]]
    part_piece = np.repeat(np.arange(len(pieces), dtype=np.int32), sizes - 1)
    del node_of, is_segment, entries
    piece_direction = direction[part_piece]
    backward = piece_direction == -1
    two_way = np.flatnonzero(piece_direction == 0).astype(np.int32)
    del piece_direction
    tail, head = np.where(backward, b, a), np.where(backward, a, b)
    del a, b, backward
    return Segments(
        node_ids=node_ids, lon=lon, lat=lat,
        u=np.concatenate([tail, head[two_way]]),
        v=np.concatenate([head, tail[two_way]]),
        part=np.concatenate([np.arange(len(tail), dtype=np.int32), two_way]),
        part_length_m=part_length,
        part_piece=part_piece,
        speed_ms=speed_ms,
        part_class=highway[part_piece],
        classes=classes,
        outside=outside,
    )


def _outside_nodes(
    ways: HighwayWays,
    pieces: np.ndarray,
    node_of: np.ndarray,
    piece_first: np.ndarray,
    piece_last: np.ndarray,
    lon: np.ndarray,
    lat: np.ndarray,
    boundary: Boundary | None,
) -> np.ndarray:
    """Mark the nodes outside the extract, as the clip-edge rule has it.

    Args:
        ways: the file's highway pieces.
        pieces: the pieces of the mode.
        node_of: the node of every entry of those pieces.
        piece_first, piece_last: where each piece's first and last entry is in ``node_of``.
        lon, lat: the nodes' coordinates.
        boundary: the region's (Multi)Polygon in lon/lat, or None.

    Returns:
        bool (N,): piece ends cut by a missing node, and nodes outside ``boundary`` or, without
        one, outside the file header's bounding box (if it has one).
    """
    outside = np.zeros(len(lon), dtype=bool)
    outside[node_of[piece_first[ways.cut_start[pieces]]]] = True
    outside[node_of[piece_last[ways.cut_end[pieces]]]] = True
    if boundary is not None:
        outside |= ~shapely.contains_xy(boundary, lon, lat)
    elif ways.bounds is not None:
        west, south, east, north = ways.bounds
        outside |= (lon < west) | (lon > east) | (lat < south) | (lat > north)
    return outside

