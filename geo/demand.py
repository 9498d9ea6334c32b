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
go to the nearest network node; one farther than :data:`geo.placement.MAX_SNAP_M` is not placed
and its weight is reported as ``unplaced``. Areas (buildings, land) are spread evenly over the
network nodes inside them, or put at a point on their surface when no node lies inside (most
buildings).
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

The OSM sources are read by :mod:`geo.demand_sources`, a planner's file by
:mod:`geo.demand_files`, and both are put on the nodes by :mod:`geo.placement`.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import shapely
from scipy.spatial import cKDTree

from geo.demand_files import (
    AREA_TYPES,
    CSV_SUFFIXES,
    LINE_TYPES,
    VECTOR_SUFFIXES,
    DemandError,
    read_csv_points,
    read_vector_layer,
)
from geo.demand_sources import (
    FOOD,
    FUEL,
    HGV_PARKING,
    HOMES,
    LAND,
    LOCAL_HIGHWAYS,
    LOCAL_STREETS,
    MAJOR_HIGHWAYS,
    MAJOR_ROADS,
    SERVICES,
    SHOPS,
    STREETS,
    FeatureCollector,
    OsmFeatures,
)
from geo.extract import OSM_SUFFIXES, cached_product
from geo.groups import worker_group
from geo.network import Network
from geo.placement import MAX_SNAP_M, areas_m2, length_along, snap, spread, street_weights
from geo.roads import read_road_layer

if TYPE_CHECKING:
    from geo.regions import Region

#: Floor area (m²) of residential buildings that counts as one demand point (couriers).
FLOOR_M2_PER_POINT = 1_000.0

#: Area (m²) of industrial and logistics land that counts as one demand point (trucks).
LAND_M2_PER_POINT = 10_000.0

#: Weight of each point of interest, by part.
POINT_WEIGHTS: Mapping[str, float] = {FOOD: 1.0, SHOPS: 1.0, FUEL: 2.0, SERVICES: 5.0,
                                      HGV_PARKING: 2.0}

#: The parts of the couriers' layer from an OSM source.
COURIER_PARTS = (FOOD, SHOPS, HOMES)

#: The parts of the truck drivers' layer from an OSM source placed as sites (then major roads).
TRUCK_SITE_PARTS = (LAND, FUEL, SERVICES, HGV_PARKING)


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
    :data:`geo.placement.ROAD_MATCH_M` of a way (or road-file line) of the class, and its share
    of the edge's length is spread like street length (half to each end node, each street
    once). This is exact where an edge is merged from ways of different classes, and the same
    for OSM and road-file regions; roads that are not part of the network do not count (they
    are not ``unplaced``: only the network's own streets are demand here, as for ``street``).

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
        length = street_weights(network, network.length_m)
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
    nearest node within :data:`geo.placement.MAX_SNAP_M` (farther ones are ``unplaced``);
    polygons are spread evenly over the nodes inside them, or put at a point on their surface
    if none is.

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
        geoms, weights = read_csv_points(path, weight_column)
    elif name.endswith(VECTOR_SUFFIXES):
        geoms, weights = read_vector_layer(path, weight_column)
    else:
        raise DemandError(f"{path.name}: unsupported file type; use "
                          f"{', '.join(CSV_SUFFIXES + VECTOR_SUFFIXES)}")
    kinds = shapely.get_type_id(geoms)
    is_area = np.isin(kinds, AREA_TYPES)
    is_line = np.isin(kinds, LINE_TYPES)
    tree = cKDTree(network.node_xy)
    coords, owner = shapely.get_coordinates(geoms[~is_area], return_index=True)
    vertex_weight = weights[~is_area] / np.bincount(owner, minlength=int((~is_area).sum()))
    at_vertices, lost_vertices = snap(network, tree, coords, vertex_weight[owner])
    on_areas, lost_areas = spread(network, tree, geoms[is_area], weights[is_area])
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
    floor_m2 = areas_m2(network, features.outline) * features.levels
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
    land_m2 = areas_m2(network, features.outline)
    weights = np.select([features.part == LAND], [land_m2 / LAND_M2_PER_POINT],
                        _point_weights(features.part))
    node_weights, parts, unplaced = _place_parts(network, features, weights, TRUCK_SITE_PARTS)
    major = np.isin(features.road_class, list(MAJOR_HIGHWAYS))
    road_km = street_weights(network, length_along(network, features.roads[major])) / 1000.0
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
    km = street_weights(network, length_along(network, lines[np.isin(classes, list(wanted))]))
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
    at_points, lost_points = snap(
        network, tree, np.column_stack([features.lon, features.lat])[is_point], weights[is_point])
    on_areas, lost_areas = spread(network, tree, features.outline[has_outline],
                                   weights[has_outline])
    totals = {part: float(weights[features.part == part].sum()) for part in parts}
    return at_points + on_areas, totals, lost_points + lost_areas


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


