"""Host-like sites in an OSM extract: the places where stations are typically set up.

Worker stations are rooms inside a host: a telecom shop, a bank branch, a petrol station, a post
office, a union office or a community office. No open list of real stations has usable
coordinates, so demo stations (:mod:`geo.demo`) are placed at these sites. Convenience stores
may host a new station too (:mod:`geo.candidates`), so the sites cached for a region's source
(:func:`cached_sites`) include them.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path
from typing import ClassVar

import geopandas as gpd
import numpy as np
import osmium
import shapely

from geo.extract import Tags, cached_product, read_osm, tag_value

#: Host-site categories: id -> Chinese label (used where a site has no name).
CATEGORIES: dict[str, str] = {
    "union": "工会",
    "fuel": "加油站",
    "post_office": "邮政网点",
    "bank": "银行网点",
    "telecom": "通信营业厅",
    "community": "社区服务中心",
}

#: Name fragments of the three telecom operators (China Telecom, China Mobile, China Unicom).
TELECOM_NAMES: tuple[str, ...] = ("电信", "移动", "联通")

#: Name fragments of community and sub-district offices.
COMMUNITY_NAMES: tuple[str, ...] = ("社区", "街道")

#: Keys that make an element a place one can walk into; names are only trusted on such elements
#: (a road called 工会路 is not a union office).
PLACE_KEYS: tuple[str, ...] = ("amenity", "shop", "office", "building")

#: ``shop=*`` values of convenience stores.
CONVENIENCE_SHOPS = frozenset({"convenience", "supermarket"})

COLUMNS: list[str] = ["name", "category", "lon", "lat", "osm_id"]


def site_category(tags: Tags) -> str | None:
    """Classify an OSM element as a host site by its tags.

    The first matching rule wins: union (``office=union`` or a name with 工会), fuel
    (``amenity=fuel``), post office (``amenity=post_office``), bank (``amenity=bank``; ATMs are
    not banks), telecom (``shop=mobile_phone|telecommunication``, ``office=telecommunication``
    or an operator's name on a shop or office), community (``amenity=community_centre|townhall``
    or ``office=government`` named 社区 or 街道).

    Args:
        tags: the element's tags.

    Returns:
        A key of :data:`CATEGORIES`, or None if the element is not a host site.
    """
    if not any(key in tags for key in PLACE_KEYS):
        return None
    name = tag_value(tags, "name")
    amenity, shop, office = tags.get("amenity"), tags.get("shop"), tags.get("office")
    if office == "union" or "工会" in name:
        return "union"
    if amenity in ("fuel", "post_office", "bank"):
        return amenity
    if (shop in ("mobile_phone", "telecommunication") or office == "telecommunication"
            or ((shop or office) and any(n in name for n in TELECOM_NAMES))):
        return "telecom"
    if amenity in ("community_centre", "townhall") or (
            office == "government" and any(n in name for n in COMMUNITY_NAMES)):
        return "community"
    return None


def candidate_category(tags: Tags) -> str | None:
    """Classify an OSM element as a candidate site by its tags.

    Args:
        tags: the element's tags.

    Returns:
        The host-site category (:func:`site_category`), else ``"convenience"`` for
        ``shop=convenience|supermarket``, else None.
    """
    return site_category(tags) or ("convenience" if tags.get("shop") in CONVENIENCE_SHOPS
                                   else None)


class SiteCollector:
    """Collects the sites of an OSM file (see :class:`geo.extract.CachedCollector`).

    Nodes are taken at their location, ways at :func:`way_point`, multipolygon relations at
    :func:`area_point`. Nodes missing from a clipped extract are skipped; an element with none
    of its nodes is dropped.

    Args:
        classify: gives an element's category from its tags, None for elements that are not
            sites; only elements with one of :data:`PLACE_KEYS` are offered to it. The cached
            product is classified by :func:`candidate_category`.
    """

    product: ClassVar[str] = "sites"
    keys: ClassVar[tuple[str, ...]] = PLACE_KEYS
    kinds: ClassVar[osmium.osm.osm_entity_bits] = osmium.osm.NODE | osmium.osm.WAY | osmium.osm.AREA

    def __init__(
        self, classify: Callable[[Tags], str | None] = candidate_category
    ) -> None:
        self.classify = classify
        self._wkb = osmium.geom.WKBFactory()
        self._rows: list[tuple[str, str, float, float, str]] = []

    def node(self, node: osmium.osm.Node) -> None:
        """Take a node that is a site, at its location."""
        category = self._category(node.tags)
        if category is not None and node.location.valid():
            self._add(node.tags, category, (node.location.lon, node.location.lat),
                      f"node/{node.id}")

    def way(self, way: osmium.osm.Way) -> None:
        """Take a way that is a site, at :func:`way_point`."""
        category = self._category(way.tags)
        if category is not None:
            self._add(way.tags, category, way_point(way), f"way/{way.id}")

    def area(self, area: osmium.osm.Area) -> None:
        """Take a multipolygon relation that is a site, at :func:`area_point` (closed ways come
        as ways)."""
        if area.from_way():
            return
        category = self._category(area.tags)
        if category is not None:
            self._add(area.tags, category, area_point(area, self._wkb),
                      f"relation/{area.orig_id()}")

    def _category(self, tags: Tags) -> str | None:
        """The category of an element with one of :data:`PLACE_KEYS`, else None."""
        if not any(key in tags for key in PLACE_KEYS):
            return None
        return self.classify(tags)

    def _add(self, tags: Tags, category: str,
             point: tuple[float, float] | None, osm_id: str) -> None:
        """Add a site's row, unless it has no point."""
        if point is not None:
            self._rows.append((tag_value(tags, "name"), category, point[0], point[1], osm_id))

    def result(self) -> gpd.GeoDataFrame:
        """Return the sites taken, as :func:`host_sites` describes them."""
        return _site_frame(self._rows)

    @staticmethod
    def to_arrays(product: gpd.GeoDataFrame) -> dict[str, np.ndarray]:
        """Return the sites' columns as arrays."""
        return {column: product[column].to_numpy(dtype=float if column in ("lon", "lat")
                                                  else str) for column in COLUMNS}

    @staticmethod
    def from_arrays(arrays: Mapping[str, np.ndarray]) -> gpd.GeoDataFrame:
        """Return the sites from :meth:`to_arrays`."""
        return _site_frame(list(zip(*(arrays[column].tolist() for column in COLUMNS))))


def _site_frame(rows: list[tuple[str, str, float, float, str]]) -> gpd.GeoDataFrame:
    """Return site rows as a GeoDataFrame of points in EPSG:4326.

    Args:
        rows: one tuple of the :data:`COLUMNS` per site.

    Returns:
        The frame with float coordinates and point geometries.
    """
    frame = gpd.GeoDataFrame(rows, columns=COLUMNS).astype({"lon": float, "lat": float})
    return frame.set_geometry(gpd.points_from_xy(frame["lon"], frame["lat"]), crs="EPSG:4326")


def host_sites(
    path: str | Path, classify: Callable[[Tags], str | None] = site_category
) -> gpd.GeoDataFrame:
    """Read the host-like sites of an OSM file.

    Nodes are taken at their location, ways at the centroid of their polygon (closed ways) or
    the mean of their node locations, multipolygon relations at the centroid of their area.
    Nodes missing from a clipped extract are skipped; an element with none of its nodes is
    dropped.

    Args:
        path: an ``.osm``, ``.osm.bz2`` or ``.osm.pbf`` file.
        classify: gives an element's category from its tags, None for elements that are not
            sites; only elements with one of :data:`PLACE_KEYS` are offered to it.

    Returns:
        One row per site, in file order, with columns ``name`` (empty if the element has none),
        ``category`` (from ``classify``), ``lon``, ``lat`` (WGS-84), ``osm_id`` (``"node/123"``,
        ``"way/456"``, ``"relation/789"``) and point geometries in EPSG:4326.

    Raises:
        geo.extract.OsmSourceError: if the file does not exist or cannot be parsed.
    """
    collector = SiteCollector(classify)
    read_osm(Path(path), [collector])
    return collector.result()


def cached_sites(source: Path, hosts_only: bool = False) -> gpd.GeoDataFrame:
    """Return the sites of a region's OSM file from the cache (read and cached if not yet).

    Args:
        source: the OSM file.
        hosts_only: keep only host sites (:func:`site_category`), leaving out convenience
            stores.

    Returns:
        The sites as :func:`host_sites` gives them, classified by :func:`candidate_category`
        (or :func:`site_category` with ``hosts_only``).

    Raises:
        geo.extract.OsmSourceError: if they are not cached and the file cannot be read.
    """
    sites = cached_product(source, SiteCollector)
    if hosts_only:
        sites = sites[sites["category"].isin(list(CATEGORIES))].reset_index(drop=True)
    return sites


def way_point(way: osmium.osm.Way) -> tuple[float, float] | None:
    """Return a representative point of a way.

    Args:
        way: a way with node locations.

    Returns:
        ``(lon, lat)``: the polygon centroid of a closed way whose nodes are all present, else
        the mean of the present node locations; None if no node is present.
    """
    coords = np.array(
        [(n.location.lon, n.location.lat) for n in way.nodes if n.location.valid()]
    ).reshape(-1, 2)
    if len(coords) == 0:
        return None
    if len(coords) == len(way.nodes) >= 4 and way.is_closed():
        centroid = shapely.Polygon(coords).centroid
        if not centroid.is_empty:
            return centroid.x, centroid.y
    lon, lat = coords.mean(axis=0)
    return float(lon), float(lat)


def area_point(area: osmium.osm.Area, wkb: osmium.geom.WKBFactory) -> tuple[float, float] | None:
    """Return the centroid of a multipolygon area.

    Args:
        area: an area assembled from a relation.
        wkb: the geometry factory.

    Returns:
        ``(lon, lat)`` of the centroid, or None if the area has no valid geometry.
    """
    try:
        geometry = shapely.from_wkb(wkb.create_multipolygon(area))
    except RuntimeError:
        return None
    centroid = geometry.centroid
    return None if centroid.is_empty else (centroid.x, centroid.y)
