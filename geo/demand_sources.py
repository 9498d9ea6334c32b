"""The demand sources of an OSM file: which elements count in which part of a demand layer, read
once and cached with the file's other products (see :mod:`geo.demand` for what they weigh).

Points of interest are taken at node locations, way centroids and multipolygon centroids; areas
(buildings, land) keep their outline; roads of the classes demand measures keep their line. The
product is cached as arrays, geometries as WKB (see :class:`FeatureCollector`).
"""

from __future__ import annotations

from array import array
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

import numpy as np
import osmium
import shapely

from geo.extract import Tags, degrees, read_osm, tag_value
from geo.sites import area_point, way_point

#: ``amenity=*`` values of food points of interest (couriers).
FOOD_AMENITIES = frozenset({"restaurant", "fast_food", "cafe", "food_court", "bar", "pub"})

#: ``building=*`` values of residential buildings (couriers).
RESIDENTIAL_BUILDINGS = frozenset({
    "residential", "apartments", "house", "dormitory", "detached", "terrace",
})

#: Classes of major roads (trucks), per km.
MAJOR_HIGHWAYS = frozenset({
    "motorway", "motorway_link", "trunk", "trunk_link", "primary", "primary_link",
})

#: Classes of local streets, the couriers' fallback in road-file regions, per km.
LOCAL_HIGHWAYS = frozenset({"residential", "living_street", "tertiary", "unclassified"})

#: Names of the parts of the layers.
STREETS = "streets"
FOOD = "food POIs"
SHOPS = "shops"
HOMES = "residential buildings"
LOCAL_STREETS = "local streets"
LAND = "industrial and logistics land"
FUEL = "fuel stations"
SERVICES = "highway services"
HGV_PARKING = "HGV parking"
MAJOR_ROADS = "major roads"

#: Keys an OSM element needs to be read at all.
OSM_KEYS = ("amenity", "shop", "building", "landuse", "man_made", "highway")


@dataclass(frozen=True)
class OsmFeatures:
    """The demand sources of an OSM file, each in one part (an element may give several rows).

    Attributes:
        part: the part each row counts in, str (F,).
        lon, lat: a representative point of each row's element, float64 (F,).
        outline: the element's lon/lat polygon for area parts, else None, object (F,).
        levels: ``building:levels`` of the element, 1 where untagged or unusable, float64 (F,).
        road_class: ``highway`` class of each road way, str (L,).
        roads: each road way's lon/lat line (a MultiLineString where the extract cuts it),
            object (L,).
    """

    part: np.ndarray
    lon: np.ndarray
    lat: np.ndarray
    outline: np.ndarray
    levels: np.ndarray
    road_class: np.ndarray
    roads: np.ndarray


class FeatureCollector:
    """Collects the demand sources of an OSM file (see :class:`geo.extract.CachedCollector`
    and :func:`read_osm_features`)."""

    product: ClassVar[str] = "demand"
    keys: ClassVar[tuple[str, ...]] = OSM_KEYS
    kinds: ClassVar[osmium.osm.osm_entity_bits] = osmium.osm.NODE | osmium.osm.WAY | osmium.osm.AREA

    def __init__(self) -> None:
        self._wkb = osmium.geom.WKBFactory()
        self._rows: list[tuple[str, float, float, shapely.Geometry | None, float]] = []
        self._road_class: list[str] = []
        self._road_sizes = array("q")
        self._road_xy = array("q")  # fixed-point x and y of every road's node references

    def node(self, node: osmium.osm.Node) -> None:
        """Take a node's points of interest at its location."""
        parts = poi_parts(node.tags)
        if parts:
            point = (node.location.lon, node.location.lat) if node.location.valid() else None
            self._rows.extend(_point_rows(parts, point))

    def way(self, way: osmium.osm.Way) -> None:
        """Take a way's points of interest at :func:`geo.sites.way_point` and its line if it is
        a road of :data:`MAJOR_HIGHWAYS` or :data:`LOCAL_HIGHWAYS`."""
        tags = way.tags
        parts = poi_parts(tags)
        if parts:
            self._rows.extend(_point_rows(parts, way_point(way)))
        if tags.get("highway") in MAJOR_HIGHWAYS | LOCAL_HIGHWAYS:
            nodes = way.nodes
            self._road_class.append(tags["highway"])
            self._road_sizes.append(len(nodes))
            self._road_xy.extend([v for n in nodes for v in (n.location.x, n.location.y)])

    def area(self, area: osmium.osm.Area) -> None:
        """Take an area's area parts with its outline, and a multipolygon's points of interest
        at :func:`geo.sites.area_point`."""
        tags = area.tags
        parts = area_parts(tags)
        if parts:
            self._rows.extend(_area_rows(parts, area, self._wkb, _levels(tags)))
        if not area.from_way():
            parts = poi_parts(tags)
            if parts:
                self._rows.extend(_point_rows(parts, area_point(area, self._wkb)))

    def result(self) -> OsmFeatures:
        """Return the demand sources taken."""
        rows = self._rows
        part, lon, lat, outline, levels = (list(c) for c in zip(*rows)) if rows else ([],) * 5
        road_class, roads = _road_lines(np.array(self._road_class, dtype=str),
                                        np.array(self._road_sizes, dtype=np.int64),
                                        np.frombuffer(self._road_xy, dtype=np.int64))
        return OsmFeatures(
            part=np.array(part, dtype=str),
            lon=np.array(lon, dtype=np.float64),
            lat=np.array(lat, dtype=np.float64),
            outline=_objects(outline),
            levels=np.array(levels, dtype=np.float64),
            road_class=road_class,
            roads=roads,
        )

    @staticmethod
    def to_arrays(product: OsmFeatures) -> dict[str, np.ndarray]:
        """Return the demand sources as arrays, the geometries as WKB bytes with offsets."""
        outline_wkb, outline_offsets = _pack_wkb(product.outline)
        road_wkb, road_offsets = _pack_wkb(product.roads)
        return {
            "part": product.part, "lon": product.lon, "lat": product.lat,
            "levels": product.levels, "road_class": product.road_class,
            "outline_wkb": outline_wkb, "outline_offsets": outline_offsets,
            "road_wkb": road_wkb, "road_offsets": road_offsets,
        }

    @staticmethod
    def from_arrays(arrays: Mapping[str, np.ndarray]) -> OsmFeatures:
        """Return the demand sources from :meth:`to_arrays`."""
        return OsmFeatures(
            part=arrays["part"], lon=arrays["lon"], lat=arrays["lat"],
            outline=_unpack_wkb(arrays["outline_wkb"], arrays["outline_offsets"]),
            levels=arrays["levels"], road_class=arrays["road_class"],
            roads=_unpack_wkb(arrays["road_wkb"], arrays["road_offsets"]),
        )


def _objects(items: list) -> np.ndarray:
    """Return a list as a 1-D object array (shapely geometries stay whole)."""
    array = np.empty(len(items), dtype=object)
    array[:] = items
    return array


def _pack_wkb(geoms: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Return geometries (or None) as their WKB bytes end to end, with offsets.

    Args:
        geoms: shapely geometries or None, object (G,).

    Returns:
        uint8 bytes and int64 (G + 1,) offsets; a missing geometry has no bytes and offset -1
        at its end.
    """
    wkb = shapely.to_wkb(geoms)
    missing = shapely.is_missing(geoms)
    sizes = np.array([0 if w is None else len(w) for w in wkb], dtype=np.int64)
    offsets = np.zeros(len(geoms) + 1, dtype=np.int64)
    np.cumsum(sizes, out=offsets[1:])
    offsets[1:][missing] = -1
    data = np.frombuffer(b"".join(w for w in wkb if w is not None), dtype=np.uint8)
    return data, offsets


def _unpack_wkb(data: np.ndarray, offsets: np.ndarray) -> np.ndarray:
    """Return the geometries :func:`_pack_wkb` packed.

    Args:
        data: the WKB bytes, uint8.
        offsets: int64 (G + 1,).

    Returns:
        Shapely geometries or None, object (G,).
    """
    ends = np.maximum.accumulate(offsets)
    raw = data.tobytes()
    wkb = _objects([None if end < 0 else raw[start:end]
                    for start, end in zip(ends[:-1].tolist(), offsets[1:].tolist())])
    return shapely.from_wkb(wkb)


def read_osm_features(path: Path) -> OsmFeatures:
    """Read the demand sources of an OSM file.

    Points of interest (parts from :func:`poi_parts`) are taken at node locations, way
    centroids (:func:`geo.sites.way_point`) and multipolygon centroids
    (:func:`geo.sites.area_point`); areas (parts from :func:`area_parts`) keep their outline,
    from closed ways and multipolygons whose nodes are all in the file. Ways of
    :data:`MAJOR_HIGHWAYS` and :data:`LOCAL_HIGHWAYS` keep their line, split where the extract
    leaves nodes out.

    Args:
        path: an ``.osm``, ``.osm.bz2`` or ``.osm.pbf`` file.

    Returns:
        The demand sources.

    Raises:
        OsmSourceError: if the file does not exist or cannot be parsed.
    """
    collector = FeatureCollector()
    read_osm(Path(path), [collector])
    return collector.result()


def poi_parts(tags: Tags) -> list[str]:
    """Return the point-of-interest parts an OSM element counts in.

    Args:
        tags: the element's tags.

    Returns:
        Some of :data:`FOOD`, :data:`SHOPS` (couriers), :data:`FUEL`, :data:`SERVICES`,
        :data:`HGV_PARKING` (trucks); empty if none.
    """
    amenity = tags.get("amenity")
    rules = (
        (FOOD, amenity in FOOD_AMENITIES),
        (SHOPS, "shop" in tags),
        (FUEL, amenity == "fuel"),
        (SERVICES, tags.get("highway") in ("services", "rest_area")),
        (HGV_PARKING, amenity == "parking" and tags.get("hgv") in ("yes", "designated")),
    )
    return [part for part, matches in rules if matches]


def area_parts(tags: Tags) -> list[str]:
    """Return the area parts an OSM element counts in.

    Args:
        tags: the element's tags.

    Returns:
        Some of :data:`HOMES` (couriers) and :data:`LAND` (trucks); empty if none.
    """
    building = tags.get("building")
    land = (tags.get("landuse") in ("industrial", "logistics")
            or building in ("warehouse", "industrial") or tags.get("man_made") == "works")
    return [part for part, matches in ((HOMES, building in RESIDENTIAL_BUILDINGS), (LAND, land))
            if matches]


def _point_rows(
    parts: list[str], point: tuple[float, float] | None
) -> list[tuple[str, float, float, None, float]]:
    """Rows of a point of interest, one per part; none without a location.

    Args:
        parts: the parts it counts in.
        point: its ``(lon, lat)``, or None.

    Returns:
        ``(part, lon, lat, None, 1.0)`` per part.
    """
    if point is None:
        return []
    return [(part, point[0], point[1], None, 1.0) for part in parts]


def _area_rows(
    parts: list[str], area: osmium.osm.Area, wkb: osmium.geom.WKBFactory, levels: float
) -> list[tuple[str, float, float, shapely.Geometry, float]]:
    """Rows of an area, one per part; none if its geometry cannot be built.

    Args:
        parts: the parts it counts in.
        area: the area (from a closed way or a multipolygon).
        wkb: the geometry factory.
        levels: its number of levels.

    Returns:
        ``(part, lon, lat, outline, levels)`` per part, located at a point on its surface.
    """
    try:
        outline = shapely.from_wkb(wkb.create_multipolygon(area))
    except RuntimeError:
        return []
    if outline.is_empty:
        return []
    point = shapely.point_on_surface(outline)
    return [(part, point.x, point.y, outline, levels) for part in parts]


def _road_lines(
    road_class: np.ndarray, sizes: np.ndarray, xy: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Return each road's line through its runs of two or more consecutive present nodes.

    Args:
        road_class: the ``highway`` class of each road way, str (W,).
        sizes: the number of node references of each way (W,).
        xy: fixed-point x and y of all ways' node references in order, int64 (2 R,).

    Returns:
        The class and line of each way with a run: a LineString for one run, a
        MultiLineString of its runs for a way the extract cuts (L,).
    """
    lon, lat, valid = degrees(xy[0::2], xy[1::2])
    way_of = np.repeat(np.arange(len(sizes)), sizes)
    starts = valid.copy()
    starts[1:] &= ~valid[:-1] | (way_of[1:] != way_of[:-1])
    run = np.cumsum(starts) - 1
    long_run = np.bincount(run[valid], minlength=int(starts.sum())) >= 2
    kept = valid.copy()
    kept[valid] = long_run[run[valid]]
    _, line_of = np.unique(run[kept], return_inverse=True)
    lines = shapely.linestrings(lon[kept], lat[kept], indices=line_of)
    road_of_line = way_of[kept & starts]
    runs = np.bincount(road_of_line, minlength=len(sizes))
    roads = np.empty(int((runs > 0).sum()), dtype=object)
    single = runs[road_of_line] == 1
    roads[runs[runs > 0] == 1] = lines[single]
    if not single.all():
        _, part_of = np.unique(road_of_line[~single], return_inverse=True)
        roads[runs[runs > 0] > 1] = shapely.multilinestrings(lines[~single], indices=part_of)
    return road_class[runs > 0], roads


def _levels(tags: Tags) -> float:
    """Return a building's ``building:levels`` as a number, 1 if untagged or not a positive number.

    Args:
        tags: the element's tags.

    Returns:
        The number of levels, at least 1 (the floor area is the footprint times this).
    """
    try:
        levels = float(tag_value(tags, "building:levels", "1").strip())
    except ValueError:
        return 1.0
    return levels if np.isfinite(levels) and levels >= 1 else 1.0

