"""Regions: named areas with a street-network source, and their networks cached on disk.

The demo regions are described by JSON files in ``data/regions/``; regions a user adds live in
``<instance>/regions/<id>/`` with a copy of their source file, or of the part of a larger file
inside their area (:mod:`geo.clip`) with that area as ``boundary.geojson``. A region's network
for a mode is built once and cached as arrays under ``<instance>/cache/networks/``; the same read
of an OSM source caches its demand sources, place names and sites under ``<instance>/cache/osm/``
(see :mod:`geo.extract`). Like everything in the instance folder, these files and folders are
readable by their owner only.

A region removed keeps its stations in the station store: they belong to the region's id, so
adding a region of that id again (say from a newer extract) finds them again.
"""

from __future__ import annotations

import hashlib
import json
import re
import shutil
import tempfile
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

import shapely
from shapely.geometry import mapping, shape

from geo.clip import clip_file
from geo.extract import OSM_SUFFIXES, CachedCollector, product_cache_path, save_product
from geo.modes import MODES
from geo.network import Network
from geo.osm import OsmSourceError
from geo.settings import (
    OSM_ATTRIBUTION,
    data_dir,
    instance_dir,
    max_whole_build_nodes,
    open_private,
    private_file,
    private_folder,
)

#: Bump when the way networks are built changes, so old caches are not read.
BUILD_VERSION = 2

#: Bytes an OSM node takes in a file of each type, with its share of the ways and relations
#: (measured on the Nanjing extract: 8.8, 14.6 and 121; smaller extracts and files with more
#: metadata take more), to estimate from a file's size how many nodes it holds.
_BYTES_PER_NODE = {".osm.pbf": 8, ".pbf": 8, ".osm.bz2": 14, ".osm.gz": 14, ".osm.xml": 120,
                   ".osm": 120}

_REGION_ID = re.compile(r"^[a-z][a-z0-9_-]{0,39}$")


class RegionError(ValueError):
    """A region cannot be found or added; the message says why."""


@dataclass(frozen=True)
class Region:
    """A named area with a street-network source.

    Attributes:
        id: short lowercase id used in URLs and on the CLI.
        name: display name (Chinese).
        name_en: display name (English).
        source: the network source file (OSM or a road-edge layer).
        modes: travel modes the region offers.
        default: whether this is the region shown first.
        demo: whether the region ships with Yizhan (its stations are demo data).
        speeds: per-mode speed overrides, see :func:`geo.modes.profile`.
        attribution: the data attribution every map and export carries.
        boundary_file: the GeoJSON file of the area the region was clipped to, if it was.
    """

    id: str
    name: str
    source: Path
    name_en: str = ""
    modes: tuple[str, ...] = MODES
    default: bool = False
    demo: bool = False
    speeds: dict = field(default_factory=dict)
    attribution: str = OSM_ATTRIBUTION
    boundary_file: Path | None = None

    @cached_property
    def boundary(self) -> shapely.Geometry | None:
        """The (multi)polygon the region was clipped to, in WGS-84, or None if it is a whole
        file."""
        if self.boundary_file is None:
            return None
        return shape(json.loads(self.boundary_file.read_text(encoding="utf-8"))["geometry"])

    @classmethod
    def from_file(cls, path: Path, demo: bool) -> Region:
        """Read a region description; its ``source`` is relative to the file's folder."""
        spec = json.loads(Path(path).read_text(encoding="utf-8"))
        return cls(
            id=spec["id"],
            name=spec.get("name", spec["id"]),
            name_en=spec.get("name_en", ""),
            source=(Path(path).parent / spec["source"]).resolve(),
            modes=tuple(spec.get("modes", MODES)),
            default=bool(spec.get("default", False)),
            demo=demo,
            speeds=spec.get("speeds", {}),
            attribution=spec.get("attribution", OSM_ATTRIBUTION),
            boundary_file=(Path(path).parent / spec["boundary"]).resolve()
            if spec.get("boundary") else None,
        )


def user_regions_dir() -> Path:
    """The folder of user-added regions inside the instance folder."""
    return instance_dir() / "regions"


def regions_stamp(folder: Path | None = None) -> int:
    """A stamp that changes whenever a region is added or removed: the modification time of the
    folder of user-added regions (which both rename entries of), 0 while there is none.

    Args:
        folder: that folder; :func:`user_regions_dir` if None (which checks the instance
            folder's permissions, so a caller asking on every query passes it).
    """
    try:
        return (folder or user_regions_dir()).stat().st_mtime_ns
    except FileNotFoundError:
        return 0


def list_regions() -> list[Region]:
    """Return the demo regions, then the user-added ones, each group sorted by id."""
    demo = sorted((data_dir() / "regions").glob("*.json"))
    added = sorted(user_regions_dir().glob("*/region.json"))
    return [Region.from_file(p, demo=True) for p in demo] + [
        Region.from_file(p, demo=False) for p in added
    ]


def get_region(region_id: str, regions: list[Region] | None = None) -> Region:
    """Return the region with this id.

    Args:
        region_id: the id.
        regions: the regions to look in; :func:`list_regions` if None.

    Raises:
        RegionError: if there is none; the message lists the ids there are.
    """
    regions = list_regions() if regions is None else regions
    for region in regions:
        if region.id == region_id:
            return region
    known = ", ".join(r.id for r in regions) or "none"
    raise RegionError(f"unknown region {region_id!r}; known regions: {known}")


def default_region(regions: list[Region] | None = None) -> Region:
    """Return the region shown first: the one marked default, or the first one.

    Args:
        regions: the regions to choose from; :func:`list_regions` if None.

    Raises:
        RegionError: there are no regions.
    """
    regions = list_regions() if regions is None else regions
    if not regions:
        raise RegionError("no regions are configured")
    return next((r for r in regions if r.default), regions[0])


def add_region(
    region_id: str,
    osm_file: Path,
    name: str | None = None,
    modes: tuple[str, ...] = MODES,
    area: shapely.Geometry | None = None,
    progress=None,
) -> Region:
    """Add a region from an OSM file the user brings, building its networks first.

    With an ``area``, the region keeps only the part of the file inside it (see
    :func:`geo.clip.clip_file`) and the area itself; without one, a copy of the whole file,
    which must then be small enough to build in a few minutes (:func:`max_whole_build_nodes`).
    Everything is made in a staging folder that becomes the region only when the networks all
    build, so a malformed or empty file leaves the existing regions as they were.

    Args:
        region_id: the new region's id (lowercase letters, digits, ``-`` and ``_``).
        osm_file: an ``.osm``, ``.osm.xml``, ``.osm.bz2`` or ``.osm.pbf`` file.
        name: display name; the id if not given.
        modes: travel modes to build.
        area: the (multi)polygon to clip the file to, in WGS-84.
        progress: told how far the clip and the build are, a :class:`geo.progress.Progress`.

    Returns:
        The added region.

    Raises:
        RegionError: for a bad id, an id in use, a missing file, an unsupported file type or a
            file too large to build whole.
        geo.clip.ClipError: if the file cannot be clipped to the area.
        geo.osm.OsmSourceError: for a file that cannot be read or has no usable streets.
    """
    from geo.build import product_collectors  # the build reads demand with geopandas

    if not _REGION_ID.match(region_id):
        raise RegionError(
            f"region id {region_id!r} must start with a lowercase letter and use only "
            "lowercase letters, digits, '-' and '_' (at most 40 characters)"
        )
    if any(r.id == region_id for r in list_regions()):
        raise RegionError(f"region {region_id!r} already exists")
    if (user_regions_dir() / region_id).exists():
        raise RegionError(f"{user_regions_dir() / region_id} is in the way of region "
                          f"{region_id!r} (left from one not wholly added or removed); "
                          "remove that folder first")
    osm_file = Path(osm_file)
    if not osm_file.is_file():
        raise RegionError(f"no such file: {osm_file}")
    if not osm_file.name.lower().endswith(OSM_SUFFIXES):
        raise RegionError(
            f"{osm_file.name}: unsupported file type; use one of {', '.join(OSM_SUFFIXES)}"
        )
    if osm_file.stat().st_size == 0:
        raise OsmSourceError(f"{osm_file}: the file is empty")
    suffix = next(s for s in sorted(OSM_SUFFIXES, key=len, reverse=True)
                  if osm_file.name.lower().endswith(s))
    estimate = osm_file.stat().st_size // _BYTES_PER_NODE[suffix]
    try:
        limit = max_whole_build_nodes()
    except ValueError as error:
        raise RegionError(str(error)) from None
    if area is None and estimate > limit:
        raise RegionError(
            f"{osm_file}: about {estimate / 1e6:.1f} million OSM nodes, too many to build a "
            f"region from the whole file (at most {limit / 1e6:g} million); "
            f"cut out the part you need: `yizhan region boundaries {osm_file}` lists the "
            "boundaries in the file, then give one with --boundary NAME or ID, or an area "
            "with --bbox W,S,E,N or --polygon FILE"
        )
    parent = private_folder(user_regions_dir())
    # Staged beside the regions folder, not in it: only the finished region moves the
    # regions' stamp, so a failed add does not make every server process reload its regions.
    staging = Path(tempfile.mkdtemp(prefix=f".region-{region_id}-", dir=parent.parent))
    try:
        spec: dict[str, str | list[str]] = {
            "id": region_id, "name": name or region_id, "modes": list(modes)}
        if area is None:
            spec["source"] = source_name = f"source{suffix}"
            with open(osm_file, "rb") as original, open_private(staging / source_name) as copy:
                shutil.copyfileobj(original, copy)
        else:
            spec["source"] = source_name = "source.osm.pbf"
            spec["boundary"] = boundary_name = "boundary.geojson"
            clip_file(osm_file, area, private_file(staging / source_name), progress=progress)
            with open_private(staging / boundary_name, "w", encoding="utf-8") as file:
                file.write(json.dumps({"type": "Feature", "properties": {},
                                       "geometry": mapping(area)}))
        source = osm_file if area is None else staging / source_name
        products = product_collectors(source)
        networks = _build_source(source, osm_file, modes, area, products, progress)
        with open_private(staging / "region.json", "w", encoding="utf-8") as file:
            file.write(json.dumps(spec, ensure_ascii=False, indent=2))
        staging.rename(parent / region_id)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    region = Region.from_file(parent / region_id / "region.json", demo=False)
    for mode, network in networks.items():
        network.save(network_cache_path(region, mode))
    _save_products(region, products)
    return region


def _build_source(path: Path, osm_file: Path, modes: tuple[str, ...],
                  area: shapely.Geometry | None, collectors: list[CachedCollector],
                  progress) -> dict[str, Network]:
    """Build a new region's networks (and the collectors' products) from one read of its source,
    with roads leaving its area kept (see :mod:`geo.osm`), naming the user's file in an error
    about a part clipped from it."""
    from geo.build import build_networks

    try:
        return build_networks(path, modes, {}, progress=progress, collectors=collectors,
                              boundary=area)
    except OsmSourceError as error:
        if path == osm_file:
            raise
        part = "the part inside the area"
        detail = str(error).replace(f"OSM file {path}", part).replace(str(path), part)
        raise OsmSourceError(f"{osm_file}: {detail}") from error


def remove_region(region_id: str) -> Region:
    """Remove a region a user added: its folder and everything cached for it.

    Its stations stay in the station store, and belong to a region of the same id added later.

    Returns:
        The removed region.

    Raises:
        RegionError: if there is no such region or it is a demo region.
    """
    region = get_region(region_id)
    if region.demo:
        raise RegionError(f"region {region_id!r} ships with Yizhan and cannot be removed")
    from geo.build import product_collectors

    for collector in product_collectors(region.source):
        product_cache_path(region.source, collector.product).unlink(missing_ok=True)
    shutil.rmtree(user_regions_dir() / region_id)
    for cached in (instance_dir() / "cache").glob(f"*/{region_id}"):
        shutil.rmtree(cached)
    return region


def network_cache_path(region: Region, mode: str) -> Path:
    """Where the built network of a region and mode is cached; the name changes with the
    source file, the speed settings and :data:`BUILD_VERSION`."""
    sources = sorted(region.source.parent.glob(region.source.name.split(".")[0] + ".*"))
    stamp = [(p.name, p.stat().st_size, p.stat().st_mtime_ns) for p in sources]
    key = json.dumps([BUILD_VERSION, mode, stamp, region.speeds.get(mode, {})], sort_keys=True)
    digest = hashlib.sha256(key.encode()).hexdigest()[:16]
    return instance_dir() / "cache" / "networks" / region.id / f"{mode}-{digest}.npz"


def load_networks(
    region: Region, modes: tuple[str, ...] | None = None, progress=None
) -> dict[str, Network]:
    """Return a region's networks from the disk cache, building the missing ones first (from one
    read of the source) and caching them, with the source's products (see
    :func:`geo.build.product_collectors`) if they are not cached either.

    Args:
        region: the region.
        modes: the modes wanted; all the region's modes if None.
        progress: told how far the build is, a :class:`geo.progress.Progress`.

    Raises:
        RegionError: if the region does not offer one of the modes.
    """
    from geo.build import build_networks, product_collectors

    modes = region.modes if modes is None else tuple(modes)
    lacking = [m for m in modes if m not in region.modes]
    if lacking:
        raise RegionError(f"region {region.id!r} has no {lacking[0]!r} network; "
                          f"it offers {', '.join(region.modes)}")
    cached = {m: network_cache_path(region, m) for m in modes}
    missing = tuple(m for m, p in cached.items() if not p.exists())
    products = [c for c in product_collectors(region.source)
                if not product_cache_path(region.source, c.product).exists()]
    built = (build_networks(region.source, missing, region.speeds, progress=progress,
                            collectors=products, boundary=region.boundary)
             if missing or products else {})
    for mode, network in built.items():
        network.save(cached[mode])
    _save_products(region, products)
    return {m: built[m] if m in built else Network.load(cached[m]) for m in modes}


def _save_products(region: Region, collectors: list[CachedCollector]) -> None:
    """Cache the products of collectors that read the region's source (see
    :func:`geo.extract.save_product`)."""
    for collector in collectors:
        save_product(region.source, collector, collector.result())
