"""Host-like sites in an OSM extract: the places where stations are typically set up.

Worker stations are rooms inside a host: a telecom shop, a bank branch, a petrol station, a post
office, a union office or a community office. No open list of real stations has usable
coordinates, so demo stations (:mod:`geo.demo`) are placed at these sites.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path

import geopandas as gpd
import numpy as np
import osmium
import shapely

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

COLUMNS: list[str] = ["name", "category", "lon", "lat", "osm_id"]


def site_category(tags: Mapping[str, str]) -> str | None:
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
    name = tags.get("name", "")
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


def host_sites(
    path: str | Path, classify: Callable[[Mapping[str, str]], str | None] = site_category
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
    """
    wkb = osmium.geom.WKBFactory()
    processor = (
        osmium.FileProcessor(str(path))
        .with_areas()
        .with_filter(osmium.filter.KeyFilter(*PLACE_KEYS))
    )
    rows = []
    for obj in processor:
        category = classify(obj.tags)
        if category is None:
            continue
        if obj.is_node():
            if not obj.location.valid():
                continue
            point, osm_id = (obj.location.lon, obj.location.lat), f"node/{obj.id}"
        elif obj.is_way():
            point, osm_id = way_point(obj), f"way/{obj.id}"
        elif obj.is_area() and not obj.from_way():
            point, osm_id = area_point(obj, wkb), f"relation/{obj.orig_id()}"
        else:
            continue  # closed ways come as ways; other relations have no geometry
        if point is not None:
            rows.append((obj.tags.get("name", ""), category, point[0], point[1], osm_id))
    frame = gpd.GeoDataFrame(rows, columns=COLUMNS).astype({"lon": float, "lat": float})
    return frame.set_geometry(gpd.points_from_xy(frame["lon"], frame["lat"]), crs="EPSG:4326")


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
