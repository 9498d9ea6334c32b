"""Regions: named areas with a street-network source, and their networks cached on disk.

The demo regions are described by JSON files in ``data/regions/``; regions a user adds live in
``<instance>/regions/<id>/`` with a copy of their source file. A region's network for a mode is
built once and cached as arrays under ``<instance>/cache/networks/``. Like everything in the
instance folder, these files and folders are readable by their owner only.
"""

from __future__ import annotations

import hashlib
import json
import re
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from geo.build import build_networks
from geo.modes import MODES
from geo.network import Network
from geo.osm import OsmSourceError
from geo.settings import OSM_ATTRIBUTION, data_dir, instance_dir, open_private, private_folder

#: Bump when the way networks are built changes, so old caches are not read.
BUILD_VERSION = 2

#: File names a user may add a region from.
OSM_SUFFIXES = (".osm", ".osm.xml", ".osm.bz2", ".osm.pbf")

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

    @classmethod
    def from_file(cls, path: Path, demo: bool) -> "Region":
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
        )


def user_regions_dir() -> Path:
    """The folder of user-added regions inside the instance folder."""
    return instance_dir() / "regions"


def list_regions() -> list[Region]:
    """Return the demo regions, then the user-added ones, each group sorted by id."""
    demo = sorted((data_dir() / "regions").glob("*.json"))
    added = sorted(user_regions_dir().glob("*/region.json"))
    return [Region.from_file(p, demo=True) for p in demo] + [
        Region.from_file(p, demo=False) for p in added
    ]


def get_region(region_id: str) -> Region:
    """Return the region with this id.

    Raises:
        RegionError: if there is none; the message lists the ids there are.
    """
    regions = list_regions()
    for region in regions:
        if region.id == region_id:
            return region
    known = ", ".join(r.id for r in regions) or "none"
    raise RegionError(f"unknown region {region_id!r}; known regions: {known}")


def default_region() -> Region:
    """Return the region marked default, or the first one."""
    regions = list_regions()
    if not regions:
        raise RegionError("no regions are configured")
    return next((r for r in regions if r.default), regions[0])


def add_region(
    region_id: str,
    osm_file: Path,
    name: str | None = None,
    modes: tuple[str, ...] = MODES,
    progress=None,
) -> Region:
    """Add a region from an OSM file the user brings, building its networks first.

    The networks are built from the file first; it is copied into the instance folder only when
    they all build, so a malformed or empty file leaves the existing regions as they were.

    Args:
        region_id: the new region's id (lowercase letters, digits, ``-`` and ``_``).
        osm_file: an ``.osm``, ``.osm.xml``, ``.osm.bz2`` or ``.osm.pbf`` file.
        name: display name; the id if not given.
        modes: travel modes to build.
        progress: told how far the build is, a :class:`geo.progress.Progress`.

    Returns:
        The added region.

    Raises:
        RegionError: for a bad id, an id in use, a missing file or an unsupported file type.
        geo.osm.OsmSourceError: for a file that cannot be read or has no usable streets.
    """
    if not _REGION_ID.match(region_id):
        raise RegionError(
            f"region id {region_id!r} must start with a lowercase letter and use only "
            "lowercase letters, digits, '-' and '_' (at most 40 characters)"
        )
    if any(r.id == region_id for r in list_regions()):
        raise RegionError(f"region {region_id!r} already exists")
    osm_file = Path(osm_file)
    if not osm_file.is_file():
        raise RegionError(f"no such file: {osm_file}")
    if not osm_file.name.lower().endswith(OSM_SUFFIXES):
        raise RegionError(
            f"{osm_file.name}: unsupported file type; use one of {', '.join(OSM_SUFFIXES)}"
        )
    if osm_file.stat().st_size == 0:
        raise OsmSourceError(f"{osm_file}: the file is empty")
    networks = build_networks(osm_file, modes, {}, progress=progress)
    suffix = next(s for s in sorted(OSM_SUFFIXES, key=len, reverse=True)
                  if osm_file.name.lower().endswith(s))
    parent = private_folder(user_regions_dir())
    staging = Path(tempfile.mkdtemp(prefix=f".{region_id}-", dir=parent))  # mode 0700
    try:
        with open(osm_file, "rb") as source, open_private(staging / f"source{suffix}") as copy:
            shutil.copyfileobj(source, copy)
        spec = {"id": region_id, "name": name or region_id, "source": f"source{suffix}",
                "modes": list(modes)}
        with open_private(staging / "region.json", "w", encoding="utf-8") as file:
            file.write(json.dumps(spec, ensure_ascii=False, indent=2))
        staging.rename(parent / region_id)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    region = Region.from_file(parent / region_id / "region.json", demo=False)
    for mode, network in networks.items():
        network.save(network_cache_path(region, mode))
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
    read of the source) and caching them.

    Args:
        region: the region.
        modes: the modes wanted; all the region's modes if None.
        progress: told how far the build is, a :class:`geo.progress.Progress`.

    Raises:
        RegionError: if the region does not offer one of the modes.
    """
    modes = region.modes if modes is None else tuple(modes)
    lacking = [m for m in modes if m not in region.modes]
    if lacking:
        raise RegionError(f"region {region.id!r} has no {lacking[0]!r} network; "
                          f"it offers {', '.join(region.modes)}")
    cached = {m: network_cache_path(region, m) for m in modes}
    missing = tuple(m for m, p in cached.items() if not p.exists())
    built = build_networks(region.source, missing, region.speeds, progress=progress) if missing else {}
    for mode, network in built.items():
        network.save(cached[mode])
    return {m: built[m] if m in built else Network.load(cached[m]) for m in modes}
