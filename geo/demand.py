"""Demand layers: what a worker group's stations are meant to cover, as weights on network nodes.

Coverage is only meaningful against what it covers. A :class:`DemandLayer` puts a non-negative
weight on every node of a group's mode network; coverage and site selection add the weights of
the nodes a station reaches. The layers come from the region's own source file
(:func:`osm_demand`) or from a file the planner brings (:func:`user_demand`);
:func:`demand_layer` picks one.

| group | network | what counts | weight | unit |
|---|---|---|---|---|
| `street` (sanitation workers, traffic police) | walk | every street of the network | its length, half to each end node; the two directions of a two-way street half each, so each street counts once | m of street |
| `couriers` (delivery riders) | ebike | food POIs: `amenity=restaurant, fast_food, cafe, food_court, bar, pub` | 1 each | demand points |
| | | shops: any `shop=*` (bakeries, convenience stores and supermarkets included) | 1 each | |
| | | residential buildings: `building=residential, apartments, house, dormitory, detached, terrace` | 1 per 1,000 m² of floor area (footprint × `building:levels`, 1 level if untagged) | |
| `couriers`, road-file region | ebike | local streets: `residential, living_street, tertiary, unclassified` | 1 per km | km of local street |
| `trucks` (truck drivers) | truck | industrial and logistics land: `landuse=industrial, logistics`, `building=warehouse, industrial`, `man_made=works` | 1 per hectare | demand points |
| | | fuel stations: `amenity=fuel` | 2 each | |
| | | highway services and rest areas: `highway=services, rest_area` | 5 each | |
| | | HGV parking: `amenity=parking` with `hgv=yes, designated` | 2 each | |
| | | major roads: `motorway, trunk, primary` and their links, on the truck network | 1 per km | |
| `trucks`, road-file region | truck | major roads only (a road file has no land use or POIs) | 1 per km | km of major road |

Points of interest (nodes, ways at their centroid, multipolygons at the centroid of their area)
go to the nearest network node; one farther than :data:`MAX_SNAP_M` is not placed and its weight
is reported as ``unplaced``. Areas (buildings, land) are spread evenly over the network nodes
inside them, or put at a point on their surface when no node lies inside (most buildings).
Elements whose outline is cut by the edge of an extract have no area and are left out. One
element may count in several parts (a fuel station with a convenience shop is a fuel station for
trucks and a shop for couriers). Road lengths are measured on the network's own edges: a segment
of an edge's shape counts when it lies along a road of the wanted class, so an edge that changes
class halfway counts half, and a road the network left out (closed to the mode, or cut off from
its largest connected part at the edge of an extract) does not count. Each carriageway of a dual
carriageway is a street of its own.

A user layer (CSV with ``lon``, ``lat`` and a weight column, GeoJSON or GeoPackage) replaces the
OSM layer: points and the vertices of lines are snapped like points of interest (a line's weight
split evenly over its vertices), polygons spread like areas.
"""

from __future__ import annotations

import functools
import warnings
from array import array
from collections.abc import Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING

import geopandas as gpd
import numpy as np
import osmium
import pandas as pd
import shapely
from pyproj import Transformer
from scipy.spatial import cKDTree

from geo.extract import OSM_SUFFIXES, cached_product, degrees, read_osm
from geo.groups import worker_group
from geo.network import Network
from geo.roads import read_road_layer
from geo.sites import area_point, way_point

if TYPE_CHECKING:
    from geo.regions import Region

#: Points farther than this from every network node are not placed (metres).
MAX_SNAP_M = 300.0

#: A segment of an edge's shape lies along a road when its middle is this close to it (metres).
ROAD_MATCH_M = 1.0

#: ``amenity=*`` values of food points of interest (couriers).
FOOD_AMENITIES = frozenset({"restaurant", "fast_food", "cafe", "food_court", "bar", "pub"})

#: ``building=*`` values of residential buildings (couriers).
RESIDENTIAL_BUILDINGS = frozenset({
    "residential", "apartments", "house", "dormitory", "detached", "terrace",
})

#: Floor area (m²) of residential buildings that counts as one demand point (couriers).
FLOOR_M2_PER_POINT = 1_000.0

#: Area (m²) of industrial and logistics land that counts as one demand point (trucks).
LAND_M2_PER_POINT = 10_000.0

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

#: Weight of each point of interest, by part.
POINT_WEIGHTS: Mapping[str, float] = {FOOD: 1.0, SHOPS: 1.0, FUEL: 2.0, SERVICES: 5.0,
                                      HGV_PARKING: 2.0}

#: The parts of the couriers' layer from an OSM source.
COURIER_PARTS = (FOOD, SHOPS, HOMES)

#: The parts of the truck drivers' layer from an OSM source placed as sites (then major roads).
TRUCK_SITE_PARTS = (LAND, FUEL, SERVICES, HGV_PARKING)

#: Keys an OSM element needs to be read at all.
OSM_KEYS = ("amenity", "shop", "building", "landuse", "man_made", "highway")

#: Geometry types of a user layer: points and lines go by their vertices, areas are spread.
POINT_TYPES = (shapely.GeometryType.POINT, shapely.GeometryType.MULTIPOINT)
LINE_TYPES = (shapely.GeometryType.LINESTRING, shapely.GeometryType.LINEARRING,
              shapely.GeometryType.MULTILINESTRING)
AREA_TYPES = (shapely.GeometryType.POLYGON, shapely.GeometryType.MULTIPOLYGON)

#: File-name endings of user layers read as vector data and as CSV.
VECTOR_SUFFIXES = (".geojson", ".json", ".gpkg")
CSV_SUFFIXES = (".csv",)


class DemandError(ValueError):
    """A user demand layer cannot be read; the message names the file and what is wrong."""


@dataclass(frozen=True)
class DemandLayer:
    """Demand of one worker group as weights on the nodes of its mode network.

    Attributes:
        group: the worker group id (see :data:`geo.groups.GROUPS`).
        weights: float64 (N,) demand on each network node, >= 0.
        unit: what one unit of weight is, e.g. ``"m of street"``, ``"demand points"``.
        parts: total weight of each source part, placed or not, e.g. ``{"food POIs": 91.0}``.
        unplaced: weight of the inputs too far from the network to place (left out of
            ``weights``), so ``weights.sum() == sum(parts.values()) - unplaced``.
        description: one line saying what counts and with what weight.
    """

    group: str
    weights: np.ndarray
    unit: str
    parts: dict[str, float]
    unplaced: float
    description: str

    @property
    def total(self) -> float:
        """The placed demand, the sum of ``weights``."""
        return float(self.weights.sum())


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


def demand_layer(
    region: Region, group: str, network: Network, user_path: str | Path | None = None
) -> DemandLayer:
    """Return a worker group's demand layer: the user's file if one is given, else from OSM.

    Args:
        region: the region.
        group: a worker group id (``street``, ``couriers``, ``trucks``).
        network: the group's mode network of the region.
        user_path: a user demand file (CSV, GeoJSON or GeoPackage) with a ``weight`` column.

    Returns:
        The layer.

    Raises:
        ValueError: for an unknown group.
        DemandError: if the user file cannot be read.
    """
    worker_group(group)
    if user_path is None:
        return osm_demand(region, group, network)
    return replace(user_demand(user_path, network), group=group)


def osm_demand(region: Region, group: str, network: Network) -> DemandLayer:
    """Return a worker group's demand layer from the region's own source (see the module table).

    The ``street`` layer needs only the network. The others use the demand sources of the
    region's OSM file from the disk cache (read and cached if not there yet), kept in memory per
    version of the file, so the groups share one read. For a road-file region, which has no POIs
    or land use, couriers fall back to the length of local streets and trucks count only major
    roads.

    Major-road and local-street length is not read off the OSM ways but measured on the
    network's edges: a segment of an edge's shape counts when its middle lies within
    :data:`ROAD_MATCH_M` of a way (or road-file line) of the class, and its share of the edge's
    length is spread like street length (half to each end node, each street once). This is
    exact where an edge is merged from ways of different classes, and the same for OSM and
    road-file regions; roads that are not part of the network do not count (they are not
    ``unplaced``: only the network's own streets are demand here, as for ``street``).

    Args:
        region: the region.
        group: ``street``, ``couriers`` or ``trucks``.
        network: the group's mode network of the region.

    Returns:
        The layer.

    Raises:
        ValueError: for an unknown group.
        geo.extract.OsmSourceError: if the source file cannot be read.
    """
    worker_group(group)
    if group == "street":
        length = _street_weights(network, network.length_m)
        return DemandLayer(
            group=group, weights=length, unit="m of street", parts={STREETS: float(length.sum())},
            unplaced=0.0,
            description=(f"length of every street of the {network.mode} network in metres, "
                         "half to each end node; a two-way street counts once"),
        )
    if not region.source.name.lower().endswith(OSM_SUFFIXES):
        return _road_file_demand(region, group, network)
    features = _cached_osm_features(str(region.source), region.source.stat().st_mtime_ns)
    if group == "couriers":
        return _courier_demand(features, network)
    return _truck_demand(features, network)


def user_demand(path: str | Path, network: Network, weight_column: str = "weight") -> DemandLayer:
    """Read a user-supplied demand layer and put its weights on the network's nodes.

    Points, and the vertices of lines (a line's weight split evenly over them), go to the
    nearest node within :data:`MAX_SNAP_M` (farther ones are ``unplaced``); polygons are spread
    evenly over the nodes inside them, or put at a point on their surface if none is.

    Args:
        path: a CSV file with ``lon``, ``lat`` (WGS-84 degrees) and weight columns (UTF-8, with or
            without a byte-order mark), or a GeoJSON (``.geojson``, ``.json``) or GeoPackage
            (``.gpkg``) file of any geometry, reprojected to WGS-84 if it declares another CRS.
        network: the network to put the demand on.
        weight_column: the column holding each row's or feature's weight (a number >= 0).

    Returns:
        The layer, with ``group`` empty (:func:`demand_layer` fills it in) and parts
        ``points``, ``lines``, ``polygons`` for the geometry kinds the file has.

    Raises:
        DemandError: for a missing or empty file, an unknown file type, a missing weight column,
            a weight that is not a number >= 0 or coordinates outside lon/lat range; row errors
            name the CSV line (the header is line 1) or the feature (the first is feature 1).
    """
    path = Path(path)
    if not path.is_file():
        raise DemandError(f"{path}: no such file")
    name = path.name.lower()
    if name.endswith(CSV_SUFFIXES):
        geoms, weights = _read_csv_points(path, weight_column)
    elif name.endswith(VECTOR_SUFFIXES):
        geoms, weights = _read_vector_layer(path, weight_column)
    else:
        raise DemandError(f"{path.name}: unsupported file type; use "
                          f"{', '.join(CSV_SUFFIXES + VECTOR_SUFFIXES)}")
    kinds = shapely.get_type_id(geoms)
    is_area = np.isin(kinds, AREA_TYPES)
    is_line = np.isin(kinds, LINE_TYPES)
    tree = cKDTree(network.node_xy)
    coords, owner = shapely.get_coordinates(geoms[~is_area], return_index=True)
    vertex_weight = weights[~is_area] / np.bincount(owner, minlength=int((~is_area).sum()))
    at_vertices, lost_vertices = _snap(network, tree, coords, vertex_weight[owner])
    on_areas, lost_areas = _spread(network, tree, geoms[is_area], weights[is_area])
    parts = {kind: float(weights[mask].sum())
             for kind, mask in (("points", ~is_area & ~is_line), ("lines", is_line),
                                ("polygons", is_area)) if mask.any()}
    return DemandLayer(
        group="",
        weights=at_vertices + on_areas,
        unit=weight_column,
        parts=parts,
        unplaced=lost_vertices + lost_areas,
        description=(f"user layer {path.name}: column {weight_column!r}; points and line "
                     f"vertices at the nearest node within {MAX_SNAP_M:.0f} m, polygons "
                     "spread over the nodes inside"),
    )


def _courier_demand(features: OsmFeatures, network: Network) -> DemandLayer:
    """The couriers' layer from an OSM file's features.

    Args:
        features: the file's demand sources.
        network: the ebike network.

    Returns:
        The layer.
    """
    floor_m2 = _areas_m2(network, features.outline) * features.levels
    weights = np.select([features.part == HOMES], [floor_m2 / FLOOR_M2_PER_POINT],
                        _point_weights(features.part))
    node_weights, parts, unplaced = _place_parts(network, features, weights, COURIER_PARTS)
    return DemandLayer(
        group="couriers", weights=node_weights, unit="demand points", parts=parts,
        unplaced=unplaced,
        description=("food POIs (restaurant, fast food, cafe, food court, bar, pub) 1 each, "
                     "shops 1 each, residential buildings 1 per 1,000 m² of floor area "
                     "(footprint × levels)"),
    )


def _truck_demand(features: OsmFeatures, network: Network) -> DemandLayer:
    """The truck drivers' layer from an OSM file's features.

    Args:
        features: the file's demand sources.
        network: the truck network.

    Returns:
        The layer.
    """
    land_m2 = _areas_m2(network, features.outline)
    weights = np.select([features.part == LAND], [land_m2 / LAND_M2_PER_POINT],
                        _point_weights(features.part))
    node_weights, parts, unplaced = _place_parts(network, features, weights, TRUCK_SITE_PARTS)
    major = np.isin(features.road_class, list(MAJOR_HIGHWAYS))
    road_km = _street_weights(network, _length_along(network, features.roads[major])) / 1000.0
    parts[MAJOR_ROADS] = float(road_km.sum())
    return DemandLayer(
        group="trucks", weights=node_weights + road_km, unit="demand points", parts=parts,
        unplaced=unplaced,
        description=("industrial and logistics land 1 per hectare, fuel stations 2, highway "
                     "services and rest areas 5, HGV parking 2 each, major roads (motorway, "
                     "trunk, primary and links) 1 per km"),
    )


def _road_file_demand(region: Region, group: str, network: Network) -> DemandLayer:
    """Couriers' or truck drivers' layer in a road-file region: street length of some classes.

    Args:
        region: the region, whose source is a road-edge layer.
        group: ``couriers`` or ``trucks``.
        network: the group's mode network.

    Returns:
        The layer, in km of local street (couriers) or of major road (trucks).
    """
    classes, lines = _cached_road_lines(str(region.source), region.source.stat().st_mtime_ns)
    wanted, part, noun = (
        (LOCAL_HIGHWAYS, LOCAL_STREETS, "local street") if group == "couriers"
        else (MAJOR_HIGHWAYS, MAJOR_ROADS, "major road")
    )
    km = _street_weights(network, _length_along(network, lines[np.isin(classes, list(wanted))]))
    km /= 1000.0
    if group == "couriers":
        description = ("the road file has no POIs or buildings, so this fell back to the length "
                       "of local streets (residential, living street, tertiary, unclassified), "
                       "1 per km")
    else:
        description = ("the road file has no land use or POIs: only major roads (motorway, "
                       "trunk, primary and links), 1 per km")
    return DemandLayer(group=group, weights=km, unit=f"km of {noun}",
                       parts={part: float(km.sum())}, unplaced=0.0, description=description)


def _street_weights(network: Network, edge_length: np.ndarray) -> np.ndarray:
    """Spread a length on every edge onto its end nodes, each street counted once.

    Each edge gives half its length to each end node; where the reverse edge exists too (a
    two-way street) each direction gives half of that, so the total is the undirected length.

    Args:
        network: the network.
        edge_length: a length per edge (E,), e.g. ``network.length_m``.

    Returns:
        float64 (N,) length per node.
    """
    two_way = network.reverse_edge >= 0
    half = np.asarray(edge_length, dtype=np.float64) * np.where(two_way, 0.25, 0.5)
    return (np.bincount(network.edge_u, half, minlength=network.n_nodes)
            + np.bincount(network.edge_v, half, minlength=network.n_nodes))


def _length_along(network: Network, lines: np.ndarray) -> np.ndarray:
    """Return the length of each edge that lies along some of the lines.

    Each segment of an edge's shape counts when its middle lies within :data:`ROAD_MATCH_M` of
    a line; an edge's length is split over its segments in proportion to their projected length.

    Args:
        network: the network.
        lines: lon/lat (multi)line geometries, object (L,).

    Returns:
        float64 (E,) metres of each edge along the lines.
    """
    if len(lines) == 0 or network.n_edges == 0:
        return np.zeros(network.n_edges)
    xy = np.column_stack(network.to_utm(network.geom_lonlat[:, 0], network.geom_lonlat[:, 1]))
    edge_of_vertex = np.repeat(np.arange(network.n_edges), np.diff(network.geom_offsets))
    inside = edge_of_vertex[1:] == edge_of_vertex[:-1]
    starts, ends = xy[:-1][inside], xy[1:][inside]
    segment_edge = edge_of_vertex[1:][inside]
    segment_m = np.hypot(*(ends - starts).T)
    middles = shapely.points((starts + ends) / 2)
    tree = shapely.STRtree(_to_utm(network, lines))
    along = np.unique(tree.query(middles, predicate="dwithin", distance=ROAD_MATCH_M)[0])
    matched = np.bincount(segment_edge[along], segment_m[along], minlength=network.n_edges)
    shape_m = np.bincount(segment_edge, segment_m, minlength=network.n_edges)
    share = np.divide(matched, shape_m, out=np.zeros(network.n_edges), where=shape_m > 0)
    return share * network.length_m


def _point_weights(part: np.ndarray) -> np.ndarray:
    """Return the weight of each point-of-interest row by its part, 0 for area parts.

    Args:
        part: the part of each row, str (F,).

    Returns:
        float64 (F,).
    """
    names = list(POINT_WEIGHTS)
    return np.select([part == name for name in names], [POINT_WEIGHTS[n] for n in names], 0.0)


def _place_parts(
    network: Network, features: OsmFeatures, weights: np.ndarray, parts: tuple[str, ...]
) -> tuple[np.ndarray, dict[str, float], float]:
    """Put the rows of some parts on the network: outlines spread, the others snapped.

    Args:
        network: the network.
        features: the demand sources.
        weights: weight of each row (F,).
        parts: the parts to place.

    Returns:
        The weight per node (N,), the total weight per part and the unplaced weight.
    """
    wanted = np.isin(features.part, list(parts))
    has_outline = wanted & ~shapely.is_missing(features.outline)
    is_point = wanted & ~has_outline
    tree = cKDTree(network.node_xy)
    at_points, lost_points = _snap(
        network, tree, np.column_stack([features.lon, features.lat])[is_point], weights[is_point])
    on_areas, lost_areas = _spread(network, tree, features.outline[has_outline],
                                   weights[has_outline])
    totals = {part: float(weights[features.part == part].sum()) for part in parts}
    return at_points + on_areas, totals, lost_points + lost_areas


def _snap(
    network: Network, tree: cKDTree, lonlat: np.ndarray, weights: np.ndarray
) -> tuple[np.ndarray, float]:
    """Add weights at points to their nearest network nodes within :data:`MAX_SNAP_M`.

    Args:
        network: the network.
        tree: a KD-tree of ``network.node_xy``.
        lonlat: (P, 2) WGS-84 points.
        weights: weight of each point (P,).

    Returns:
        The weight per node (N,) and the weight of the points too far to place.
    """
    if len(lonlat) == 0:
        return np.zeros(network.n_nodes), 0.0
    xy = np.column_stack(network.to_utm(lonlat[:, 0], lonlat[:, 1]))
    _, node = tree.query(xy, distance_upper_bound=MAX_SNAP_M)
    placed = node < network.n_nodes
    return (np.bincount(node[placed], weights[placed], minlength=network.n_nodes),
            float(weights[~placed].sum()))


def _spread(
    network: Network, tree: cKDTree, polygons: np.ndarray, weights: np.ndarray
) -> tuple[np.ndarray, float]:
    """Spread each polygon's weight evenly over the network nodes inside it (or on its edge).

    A polygon with no node inside puts its weight at a point on its surface, snapped like a
    point of interest.

    Args:
        network: the network.
        tree: a KD-tree of ``network.node_xy``.
        polygons: lon/lat (multi)polygons, object (A,).
        weights: weight of each polygon (A,).

    Returns:
        The weight per node (N,) and the weight of the polygons too far to place.
    """
    if len(polygons) == 0:
        return np.zeros(network.n_nodes), 0.0
    nodes = shapely.points(network.lon, network.lat)
    node, polygon = shapely.STRtree(polygons).query(nodes, predicate="intersects")
    inside = np.bincount(polygon, minlength=len(polygons))
    share = weights[polygon] / inside[polygon]
    spread = np.bincount(node, share, minlength=network.n_nodes)
    empty = inside == 0
    at_points, lost = _snap(
        network, tree, shapely.get_coordinates(shapely.point_on_surface(polygons[empty])),
        weights[empty])
    return spread + at_points, lost


def _areas_m2(network: Network, outlines: np.ndarray) -> np.ndarray:
    """Return the area of each outline in the network's UTM zone, 0 where there is none.

    Args:
        network: the network, whose UTM zone is used.
        outlines: lon/lat polygons or None, object (F,).

    Returns:
        float64 (F,) square metres.
    """
    return np.nan_to_num(shapely.area(_to_utm(network, outlines)))


def _to_utm(network: Network, geoms: np.ndarray) -> np.ndarray:
    """Project lon/lat geometries to the network's UTM zone.

    Args:
        network: the network.
        geoms: shapely geometries (or None), object array.

    Returns:
        The projected geometries, object array.
    """
    transformer = Transformer.from_crs(4326, network.utm_crs, always_xy=True)
    return shapely.transform(
        geoms, lambda coords: np.column_stack(transformer.transform(coords[:, 0], coords[:, 1])))


@functools.lru_cache(maxsize=8)
def _cached_osm_features(path: str, mtime_ns: int) -> OsmFeatures:
    """The demand sources of an OSM file from the disk cache, kept in memory by the file's path
    and modification time.

    Args:
        path: the OSM file.
        mtime_ns: its modification time; a changed file gets a new entry.

    Returns:
        The file's demand sources.
    """
    return cached_product(Path(path), FeatureCollector)


@functools.lru_cache(maxsize=4)
def _cached_road_lines(path: str, mtime_ns: int) -> tuple[np.ndarray, np.ndarray]:
    """The lines of a road-edge layer with their classes, cached by path and modification time.

    Args:
        path: the road-edge layer.
        mtime_ns: its modification time; a changed file gets a new entry.

    Returns:
        The ``highway`` class (str, L) and lon/lat LineString (object, L) of every line.
    """
    layer = read_road_layer(Path(path))
    line_of_vertex = np.repeat(np.arange(len(layer.highway)), layer.n_vertices)
    return layer.highway, shapely.linestrings(layer.coords, indices=line_of_vertex)


class FeatureCollector:
    """Collects the demand sources of an OSM file (see :class:`geo.extract.CachedCollector`
    and :func:`read_osm_features`)."""

    product = "demand"
    keys = OSM_KEYS
    kinds = osmium.osm.NODE | osmium.osm.WAY | osmium.osm.AREA

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


def poi_parts(tags: Mapping[str, str]) -> list[str]:
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


def area_parts(tags: Mapping[str, str]) -> list[str]:
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


def _levels(tags: Mapping[str, str]) -> float:
    """Return a building's ``building:levels`` as a number, 1 if untagged or not a positive number.

    Args:
        tags: the element's tags.

    Returns:
        The number of levels, at least 1 (the floor area is the footprint times this).
    """
    try:
        levels = float(tags.get("building:levels", "1").strip())
    except ValueError:
        return 1.0
    return levels if np.isfinite(levels) and levels >= 1 else 1.0


def _read_csv_points(path: Path, weight_column: str) -> tuple[np.ndarray, np.ndarray]:
    """Read a CSV of WGS-84 points with a weight per row.

    Args:
        path: the CSV file (UTF-8, with or without a byte-order mark).
        weight_column: the weight column.

    Returns:
        Point geometries (object, P) and their weights (float64, P).

    Raises:
        DemandError: as for :func:`user_demand`; blank lines are skipped.
    """
    frame = read_csv_text(path, DemandError)
    frame.columns = [str(c).strip() for c in frame.columns]
    # with the header as line 1, row i is line i + 2 (blank lines are kept as empty rows)
    labels = np.array([f"line {i + 2}" for i in range(len(frame))])
    filled = (frame != "").any(axis=1).to_numpy()
    frame, labels = frame[filled], labels[filled]
    for column in ("lon", "lat", weight_column):
        if column not in frame.columns:
            raise DemandError(f"{path.name}: no {column!r} column (columns: "
                              f"{', '.join(frame.columns)})")
    if len(frame) == 0:
        raise DemandError(f"{path.name}: the file has no rows")
    lon = checked_numbers(path, frame["lon"], labels, "lon", -180.0, 180.0)
    lat = checked_numbers(path, frame["lat"], labels, "lat", -90.0, 90.0)
    weights = checked_numbers(path, frame[weight_column], labels, weight_column, 0.0, np.inf)
    return shapely.points(lon, lat), weights


def _read_vector_layer(path: Path, weight_column: str) -> tuple[np.ndarray, np.ndarray]:
    """Read a GeoJSON or GeoPackage layer in WGS-84 with a weight per feature.

    Args:
        path: the file; one without a CRS is taken to be WGS-84 lon/lat.
        weight_column: the weight column.

    Returns:
        Geometries (object, F) and their weights (float64, F).

    Raises:
        DemandError: as for :func:`user_demand`, and for features without geometry or of
            another geometry type than points, lines and polygons.
    """
    try:
        with warnings.catch_warnings():
            # a column of mixed types is read as text; the weight check reports it better
            warnings.filterwarnings("ignore", "Could not parse column", UserWarning)
            layer = gpd.read_file(path)
    except Exception as err:  # pyogrio raises several GDAL-derived error types
        raise DemandError(f"{path.name}: cannot read the file ({err})") from err
    if len(layer) == 0:
        raise DemandError(f"{path.name}: the file has no features")
    if weight_column not in layer.columns:
        columns = ", ".join(c for c in layer.columns if c != layer.geometry.name)
        raise DemandError(f"{path.name}: no {weight_column!r} column (columns: {columns})")
    if layer.crs is not None:
        layer = layer.to_crs(4326)
    labels = np.array([f"feature {i + 1}" for i in range(len(layer))])
    weights = checked_numbers(path, layer[weight_column], labels, weight_column, 0.0, np.inf)
    geoms = layer.geometry.to_numpy()
    missing = shapely.is_missing(geoms) | shapely.is_empty(geoms)
    if missing.any():
        raise DemandError(f"{path.name}, {labels[int(np.argmax(missing))]}: no geometry")
    unknown = ~np.isin(shapely.get_type_id(geoms), POINT_TYPES + LINE_TYPES + AREA_TYPES)
    if unknown.any():
        first = int(np.argmax(unknown))
        raise DemandError(f"{path.name}, {labels[first]}: unsupported geometry "
                          f"{geoms[first].geom_type}; use points, lines or polygons")
    bounds = shapely.bounds(geoms)
    outside = ((bounds[:, 0] < -180) | (bounds[:, 2] > 180)
               | (bounds[:, 1] < -90) | (bounds[:, 3] > 90))
    if outside.any():
        first = int(np.argmax(outside))
        raise DemandError(f"{path.name}, {labels[first]}: coordinates outside lon/lat range "
                          f"({', '.join(f'{b:g}' for b in bounds[first])}); is the CRS right?")
    return geoms, weights


def read_csv_text(path: Path, error: type[ValueError]) -> pd.DataFrame:
    """Read a UTF-8 CSV file (a byte-order mark is allowed) as text columns, blank lines kept so
    that row positions are line numbers.

    Args:
        path: the file.
        error: the exception to raise, with a message naming the file.

    Raises:
        error: for an empty file, text that is not UTF-8, a first row longer than the header or
            a file pandas cannot parse.
    """
    try:
        with warnings.catch_warnings():
            # pandas only warns when the first row has more fields than the header
            warnings.simplefilter("error", pd.errors.ParserWarning)
            return pd.read_csv(path, encoding="utf-8-sig", dtype=str, keep_default_na=False,
                               skip_blank_lines=False, index_col=False)
    except pd.errors.EmptyDataError as err:
        raise error(f"{path.name}: the file is empty") from err
    except UnicodeDecodeError as err:
        raise error(f"{path.name}: not UTF-8 text ({err.reason})") from err
    except pd.errors.ParserWarning as err:
        raise error(f"{path.name}: the first row has more fields than the header") from err
    except pd.errors.ParserError as err:
        raise error(f"{path.name}: not a readable CSV file ({str(err).strip()})") from err


def checked_numbers(
    path: Path, values: pd.Series, labels: np.ndarray, name: str, low: float, high: float
) -> np.ndarray:
    """Parse a column as numbers in ``[low, high]``, naming the first row that is not.

    Args:
        path: the file, for the message.
        values: the column's raw values.
        labels: each row's name in messages (``line 3``, ``feature 2``).
        name: the column's name, for the message.
        low, high: the allowed range.

    Returns:
        float64 values.

    Raises:
        DemandError: naming the file, the row, the column and the value.
    """
    raw = values.to_numpy()
    numbers = pd.to_numeric(pd.Series(raw, dtype=object).map(_strip), errors="coerce")
    numbers = numbers.to_numpy(dtype=np.float64)
    finite = np.isfinite(numbers)
    bad = ~finite | (numbers < low) | (numbers > high)
    if bad.any():
        first = int(np.argmax(bad))
        value, number = raw[first], numbers[first]
        if not finite[first]:
            problem = "is not a number"
        elif low == 0 and number < 0:
            problem = "is negative"
        else:
            problem = f"is outside {low:g}..{high:g}"
        raise DemandError(f"{path.name}, {labels[first]}: {name} {value!r} {problem}")
    return numbers


def _strip(value: object) -> object:
    """Strip the whitespace around a text value; other values as they are."""
    return value.strip() if isinstance(value, str) else value
