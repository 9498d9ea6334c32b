"""The ``highway`` ways of an OSM file: read in the one pass of :func:`geo.extract.read_osm`, with
their tags and node locations, split into runs of nodes present in the file (clipped extracts
reference nodes they do not contain), and the great-circle steps between those nodes.
"""

from __future__ import annotations

from array import array
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import ClassVar

import numpy as np
import osmium

from geo.extract import READ_ERRORS, OsmSourceError, degrees, read_osm
from geo.modes import ModeProfile
from geo.progress import Progress

#: Earth radius osmnx measures great-circle lengths with, metres.
EARTH_RADIUS_M = 6_371_009


@dataclass(frozen=True)
class HighwayWays:
    """The ``highway`` ways of an OSM file, as runs of nodes that are present in the file.

    A way whose nodes are all present is one piece; a way clipped by the extract is split into
    one piece per contiguous run of at least two present nodes.

    Attributes:
        source: the file they were read from.
        way_ids: OSM id of the way each piece comes from, int64 (P,).
        tags: the OSM tags of each piece's way (P dicts).
        offsets: int64 (P + 1,); piece p's nodes are ``node_refs[offsets[p]:offsets[p + 1]]``.
        node_refs: OSM node ids of all pieces' nodes, int64 (R,).
        lon, lat: WGS-84 coordinates of each entry of ``node_refs``, float64 (R,).
        cut_start, cut_end: bool (P,), the way goes on before the piece's first node, or after
            its last, through a node missing from the file.
        bounds: the file header's bounding box (west, south, east, north), or None.
    """

    source: Path
    way_ids: np.ndarray
    tags: list[dict[str, str]]
    offsets: np.ndarray
    node_refs: np.ndarray
    lon: np.ndarray
    lat: np.ndarray
    cut_start: np.ndarray
    cut_end: np.ndarray
    bounds: tuple[float, float, float, float] | None = None

    @property
    def n_pieces(self) -> int:
        """Number of pieces."""
        return len(self.way_ids)

    @cached_property
    def nodes(self) -> tuple[np.ndarray, np.ndarray]:
        """The distinct nodes, ``(ids ascending, the node of each entry of node_refs)``."""
        ids, node_of = np.unique(self.node_refs, return_inverse=True)
        return ids, node_of.astype(np.int32)

    @cached_property
    def step_m(self) -> np.ndarray:
        """Great-circle length from each entry of ``node_refs`` to the next one of its piece
        (0 after a piece's last), float64 (R,); every mode's segments share them."""
        step = np.zeros(len(self.node_refs))
        step[:-1] = great_circle_m(self.lat[:-1], self.lon[:-1], self.lat[1:], self.lon[1:])
        step[self.offsets[1:] - 1] = 0.0
        return step


def count_highway_ways(path: Path) -> int:
    """Count the ``highway`` ways of an OSM file, a cheap check before adding a region.

    Args:
        path: the OSM file.

    Returns:
        The number of ways tagged ``highway`` (at least 1).

    Raises:
        OsmSourceError: if the file is missing, cannot be parsed or has no highway way.
    """
    path = Path(path)
    if not path.is_file():
        raise OsmSourceError(f"OSM file {path} does not exist")
    processor = (
        osmium.FileProcessor(str(path), osmium.osm.WAY)
        .with_filter(osmium.filter.KeyFilter("highway"))
    )
    try:
        count = sum(1 for _ in processor)
    except READ_ERRORS as err:
        raise OsmSourceError(f"cannot read OSM file {path}: {err}") from err
    if count == 0:
        raise OsmSourceError(f"OSM file {path} has no highway way")
    return count


class HighwayCollector:
    """Collects the ``highway`` ways of an OSM file with their node locations (see
    :class:`geo.extract.Collector`).

    Args:
        source: the file being read, carried into the product.
    """

    keys: ClassVar[tuple[str, ...]] = ("highway",)
    kinds: ClassVar[osmium.osm.osm_entity_bits] = osmium.osm.WAY

    def __init__(self, source: Path) -> None:
        self.source = Path(source)
        self._way_ids = array("q")
        self._tags: list[dict[str, str]] = []
        self._sizes = array("q")
        self._nodes = array("q")  # node id, x and y of every node reference

    def way(self, way: osmium.osm.Way) -> None:
        """Take a ``highway`` way: its id, tags and node references with their locations."""
        if "highway" not in way.tags:
            return
        nodes = way.nodes
        self._way_ids.append(way.id)
        self._tags.append({tag.k: tag.v for tag in way.tags})
        self._sizes.append(len(nodes))
        self._nodes.extend([v for n in nodes for v in (n.ref, n.location.x, n.location.y)])

    def result(self) -> HighwayWays:
        """Return the ways taken as pieces of present nodes (see :func:`read_highway_ways`).

        Raises:
            OsmSourceError: if no way has a run of two or more present nodes.
        """
        nodes = np.frombuffer(self._nodes, dtype=np.int64).reshape(-1, 3)
        lon, lat, valid = degrees(nodes[:, 1], nodes[:, 2])
        ways = _split_runs(
            self.source, np.array(self._way_ids, dtype=np.int64), self._tags,
            np.array(self._sizes, dtype=np.int64), nodes[:, 0].copy(), lon, lat, valid,
            _header_bounds(self.source),
        )
        if ways.n_pieces == 0:
            raise OsmSourceError(
                f"OSM file {self.source} has no usable highway way (with 2+ known nodes)")
        return ways


def read_highway_ways(path: Path, progress: Progress | None = None) -> HighwayWays:
    """Read the ``highway`` ways of an OSM file with their node locations.

    Nodes missing from the file split a way into runs; runs of fewer than two distinct nodes
    are dropped, as are repeated consecutive references to one node.

    Args:
        path: the OSM file; pyosmium picks the format from the file name.
        progress: told ``("reading NAME", ways read, None)`` as the ways are read.

    Returns:
        The ways as pieces of present nodes.

    Raises:
        OsmSourceError: if the file is missing, cannot be parsed or has no usable highway way.
    """
    collector = HighwayCollector(path)
    read_osm(path, [collector], progress)
    return collector.result()


def _split_runs(
    path: Path,
    way_ids: np.ndarray,
    tags: list[dict[str, str]],
    sizes: np.ndarray,
    refs: np.ndarray,
    lon: np.ndarray,
    lat: np.ndarray,
    valid: np.ndarray,
    bounds: tuple[float, float, float, float] | None,
) -> HighwayWays:
    """Split ways into runs of consecutive present nodes, keeping runs of two or more.

    Args:
        path: the source file.
        way_ids, tags: per-way OSM id and tags (W,).
        sizes: number of node references of each way (W,).
        refs, lon, lat, valid: all ways' node references in order, their coordinates and
            whether the node is present in the file (R,).
        bounds: the file header's bounding box, or None.

    Returns:
        The pieces.
    """
    way_of = np.repeat(np.arange(len(way_ids)), sizes)
    repeat = np.zeros(len(refs), dtype=bool)
    repeat[1:] = (way_of[1:] == way_of[:-1]) & (refs[1:] == refs[:-1])
    missing = np.zeros(len(refs) + 1, dtype=np.int64)  # missing nodes before each entry
    np.cumsum(~valid, out=missing[1:])
    keep = np.flatnonzero(valid & ~repeat)
    # a run starts at a way's first kept node and after every missing node
    starts = np.ones(len(keep), dtype=bool)
    starts[1:] = (np.diff(way_of[keep]) != 0) | (np.diff(missing[keep]) != 0)
    run = np.cumsum(starts) - 1
    run_sizes = np.bincount(run, minlength=int(starts.sum()))
    long_run = run_sizes >= 2
    entries = keep[long_run[run]]
    offsets = np.zeros(int(long_run.sum()) + 1, dtype=np.int64)
    np.cumsum(run_sizes[long_run], out=offsets[1:])
    piece_way = way_of[keep[starts][long_run]]
    # a piece is cut where a missing node lies between it and its way's start or end
    way_end = np.cumsum(sizes)
    first, last = entries[offsets[:-1]], entries[offsets[1:] - 1]
    return HighwayWays(
        source=path,
        way_ids=way_ids[piece_way],
        tags=[tags[w] for w in piece_way],
        offsets=offsets,
        node_refs=refs[entries],
        lon=lon[entries],
        lat=lat[entries],
        cut_start=missing[first] > missing[(way_end - sizes)[piece_way]],
        cut_end=missing[way_end[piece_way]] > missing[last + 1],
        bounds=bounds,
    )


def _header_bounds(path: Path) -> tuple[float, float, float, float] | None:
    """Return the bounding box in an OSM file's header (west, south, east, north), or None."""
    reader = osmium.io.Reader(str(path), osmium.osm.osm_entity_bits.NOTHING)
    try:
        box = reader.header().box()
    finally:
        reader.close()
    if not box.valid():
        return None
    return (box.bottom_left.lon, box.bottom_left.lat, box.top_right.lon, box.top_right.lat)


def mode_pieces(ways: HighwayWays, mode: ModeProfile) -> np.ndarray:
    """Return the indices of the pieces a mode may use.

    Args:
        ways: the file's highway pieces.
        mode: the travel mode.

    Returns:
        int64 indices into ``ways``, ascending.
    """
    return np.array([p for p, tags in enumerate(ways.tags) if mode.allows(tags)], dtype=np.int64)


def great_circle_m(
    lat1: np.ndarray, lon1: np.ndarray, lat2: np.ndarray, lon2: np.ndarray
) -> np.ndarray:
    """Return great-circle distances in metres, computed as ``osmnx.distance.great_circle``.

    Args:
        lat1, lon1, lat2, lon2: coordinates of the pairs' two ends, degrees.

    Returns:
        The haversine distances on a sphere of :data:`EARTH_RADIUS_M`.
    """
    y1, y2 = np.deg2rad(lat1), np.deg2rad(lat2)
    dx = np.deg2rad(lon2) - np.deg2rad(lon1)
    h = np.sin((y2 - y1) / 2) ** 2 + np.cos(y1) * np.cos(y2) * np.sin(dx / 2) ** 2
    return 2 * np.arcsin(np.sqrt(np.minimum(1, h))) * EARTH_RADIUS_M

