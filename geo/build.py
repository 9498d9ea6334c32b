"""One entry point for building street networks from a region's source file.

OSM files (``.osm``, ``.osm.xml``, ``.osm.bz2``, ``.osm.gz``, ``.osm.pbf``) go through
:mod:`geo.osm`; road-edge line layers (``.shp``, ``.gpkg``, ``.geojson``) through
:mod:`geo.roads`. The kind is decided by the file name. The one read of an OSM file that builds
the networks also gives the products cached beside them (:func:`product_collectors`): its
demand sources, place names and sites.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path

from geo.demand_sources import FeatureCollector
from geo.extract import OSM_SUFFIXES, CachedCollector, Collector, read_osm
from geo.highways import HighwayCollector, count_highway_ways
from geo.modes import MODES
from geo.network import Network
from geo.osm import OsmSourceError, build_mode_network, build_osm_network
from geo.places import PlaceCollector
from geo.progress import Progress, silent
from geo.roads import (
    build_road_mode_network,
    build_road_network,
    count_road_edges,
    read_road_layer,
)
from geo.segments import Boundary
from geo.sites import SiteCollector

#: Collectors of the products of an OSM file that are cached beside its networks.
PRODUCT_COLLECTORS: tuple[type[CachedCollector], ...] = (
    FeatureCollector, PlaceCollector, SiteCollector,
)

#: File-name endings read as road-edge line layers.
ROAD_SUFFIXES = (".shp", ".gpkg", ".geojson")

__all__ = [
    "OSM_SUFFIXES",
    "ROAD_SUFFIXES",
    "OsmSourceError",
    "build_network",
    "build_networks",
    "product_collectors",
    "read_highway_count",
    "source_kind",
]


def source_kind(path: Path) -> str:
    """Return what kind of street source a file is, from its name.

    Args:
        path: the source file.

    Returns:
        ``"osm"`` or ``"roads"``.

    Raises:
        OsmSourceError: if the name ends in none of the supported suffixes.
    """
    name = Path(path).name.lower()
    if name.endswith(OSM_SUFFIXES):
        return "osm"
    if name.endswith(ROAD_SUFFIXES):
        return "roads"
    raise OsmSourceError(
        f"street source {path} is neither OSM data {OSM_SUFFIXES} nor a road line layer "
        f"{ROAD_SUFFIXES}"
    )


def read_highway_count(path: Path) -> int:
    """Cheaply check a street source before adding a region: count its highway ways or edges.

    Args:
        path: an OSM file or a road-edge line layer.

    Returns:
        The number of ``highway`` ways (OSM) or road edges (line layer), at least 1.

    Raises:
        OsmSourceError: if the file is missing, of an unknown kind, unreadable or has no street.
    """
    path = Path(path)
    if source_kind(path) == "osm":
        return count_highway_ways(path)
    return count_road_edges(path)


def build_network(path: Path, mode: str, overrides: Mapping | None = None) -> Network:
    """Build one travel mode's street network from a source file.

    Args:
        path: an OSM file or a road-edge line layer.
        mode: ``walk``, ``ebike`` or ``truck``.
        overrides: profile overrides, see :func:`geo.modes.profile`.

    Returns:
        The mode's network (largest strongly connected component).

    Raises:
        OsmSourceError: if the source is unusable or has no street usable for the mode.
        ValueError: for an unknown mode or bad overrides.
    """
    path = Path(path)
    if source_kind(path) == "osm":
        return build_osm_network(path, mode, overrides)
    return build_road_network(path, mode, overrides)


def product_collectors(path: Path) -> list[CachedCollector]:
    """Return new collectors of the products cached beside a source's networks.

    Args:
        path: an OSM file or a road-edge line layer.

    Returns:
        One collector of each of :data:`PRODUCT_COLLECTORS` for an OSM file; none for a road
        layer, which has no such products.

    Raises:
        OsmSourceError: if the name ends in none of the supported suffixes.
    """
    return [c() for c in PRODUCT_COLLECTORS] if source_kind(path) == "osm" else []


def build_networks(
    path: Path,
    modes: Iterable[str] = MODES,
    overrides: Mapping[str, Mapping] | None = None,
    progress: Progress | None = None,
    collectors: Sequence[Collector] = (),
    boundary: Boundary | None = None,
    clip_edges: bool = True,
) -> dict[str, Network]:
    """Build several modes' networks from one source file, reading the file only once.

    Args:
        path: an OSM file or a road-edge line layer.
        modes: the modes to build; all three by default. With none, an OSM file is read only
            for ``collectors``.
        overrides: per-mode profile overrides, e.g. ``{"truck": {"truck_height_m": 4.2}}``.
        progress: told how far reading (objects read) and building (modes built) are.
        collectors: more collectors to feed from the same read of an OSM file (e.g. from
            :func:`product_collectors`); read their products with their ``result()``.
        boundary: the region's boundary in lon/lat, for the clip-edge rule of :mod:`geo.osm`.
        clip_edges: keep roads that leave the extract (the clip-edge rule; OSM files only).

    Returns:
        Mode id -> network.

    Raises:
        OsmSourceError: if the source is unusable or has no street usable for one of the modes.
        ValueError: for an unknown mode or bad overrides.
    """
    path = Path(path)
    modes = tuple(modes)
    overrides = overrides or {}
    report = progress or silent
    networks = {}
    if source_kind(path) == "osm":
        highways = [HighwayCollector(path)] if modes else []
        read_osm(path, [*highways, *collectors], report)
        ways = highways.pop().result() if highways else None  # the collector's arrays go
        report("building networks", 0, len(modes))
        if ways is not None:  # there are modes
            for mode in modes:
                networks[mode] = build_mode_network(
                    ways, mode, overrides.get(mode), boundary=boundary, clip_edges=clip_edges)
                report("building networks", len(networks), len(modes))
        return networks
    report(f"reading {path.name}", 0, None)
    layer = read_road_layer(path)
    report("building networks", 0, len(modes))
    for mode in modes:
        networks[mode] = build_road_mode_network(layer, mode, overrides.get(mode))
        report("building networks", len(networks), len(modes))
    return networks
