"""Candidate sites: the places where a new worker rest station may be recommended.

A candidate is a point joined to a mode network at its nearest node. Candidates come from one of
three sources:

| source | candidates | ``category`` | ``source_id`` |
|---|---|---|---|
| ``"sites"`` | host-like sites of the region's OSM file (:mod:`geo.sites`) and convenience stores | a key of :data:`CANDIDATE_CATEGORIES` | ``"node/123"``, ``"way/456"`` |
| ``"nodes"`` | every node of the network | ``"node"`` | ``"node:<index>"`` |
| a file | the points of a CSV (``lon``, ``lat``, optional ``name``, ``category``), GeoJSON or GeoPackage layer (points; polygons at a point on their surface) | the file's ``category``, empty if none | ``"row:<line>"``, ``"feature:<n>"`` |

A candidate farther than :data:`geo.placement.MAX_SNAP_M` from the network is dropped, then the
:class:`CandidateRules` apply. Several candidates on one node are one site to a solver that
picks nodes, so only the first of them in source order is kept.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from scipy.spatial import cKDTree

from geo.build import OSM_SUFFIXES
from geo.demand_files import (
    CSV_SUFFIXES,
    VECTOR_SUFFIXES,
    DemandError,
    checked_numbers,
    read_csv_text,
)
from geo.extract import OsmSourceError
from geo.network import Network
from geo.placement import MAX_SNAP_M
from geo.sites import CATEGORIES, cached_sites

#: Candidate categories: id -> Chinese label. The host-site categories plus convenience stores,
#: which may host a new station but do not host demo stations.
CANDIDATE_CATEGORIES: dict[str, str] = {**CATEGORIES, "convenience": "便利店"}

#: The built-in sources; anything else is a file path.
SITES = "sites"
NODES = "nodes"

#: Category of every candidate from the ``"nodes"`` source.
NODE_CATEGORY = "node"

#: Columns of :func:`candidate_sites`, before the geometry.
COLUMNS = ["name", "category", "lon", "lat", "node", "snap_m", "source_id"]

#: Geometry types of candidate files: points as they are, areas at a point on their surface.
POINT_TYPES = (shapely.GeometryType.POINT, shapely.GeometryType.MULTIPOINT)
AREA_TYPES = (shapely.GeometryType.POLYGON, shapely.GeometryType.MULTIPOLYGON)


class CandidateError(ValueError):
    """Candidates cannot be read or none is left; the message names the file and line or field."""


@dataclass(frozen=True)
class CandidateRules:
    """Which candidates a recommendation may use.

    Attributes:
        min_distance_m: a candidate closer than this (straight line, metres) to an existing
            open station is dropped.
        excluded: a WGS-84 (multi)polygon; candidates inside it or on its edge are dropped.
        categories: the categories allowed, all if None; ignored for the ``"nodes"`` source.
    """

    min_distance_m: float = 0.0
    excluded: shapely.Geometry | None = None
    categories: frozenset[str] | None = None


def candidate_sites(
    network: Network,
    source: str | Path,
    *,
    region_source: Path | None = None,
    stations_lonlat: np.ndarray | None = None,
    rules: CandidateRules = CandidateRules(),
) -> gpd.GeoDataFrame:
    """Return the candidate sites for new stations on a network.

    Args:
        network: the mode network the stations serve.
        source: ``"sites"``, ``"nodes"`` or the path of a ``.csv``, ``.geojson``, ``.json`` or
            ``.gpkg`` file (see the module docstring).
        region_source: the region's source file; the ``"sites"`` source takes its sites from
            the cache (:func:`geo.sites.cached_sites`).
        stations_lonlat: (S, 2) WGS-84 points of the existing open stations, for
            ``rules.min_distance_m``; None if there are none.
        rules: which candidates to keep.

    Returns:
        One row per candidate node, the first candidate on it in source order, with columns
        ``name``, ``category``, ``lon``, ``lat`` (the candidate's own point), ``node`` (int64
        index into the network), ``snap_m`` (metres from the point to the node), ``source_id``
        and point geometries in EPSG:4326.

    Raises:
        CandidateError: for an unknown source, a file that cannot be read or has bad
            coordinates (naming the line or feature), ``"sites"`` without an OSM file, bad rules
            (a negative distance, an excluded area that is not a polygon, an unknown category)
            and when no candidate is left, saying how many each step removed.
    """
    _check_rules(rules)
    found = _node_candidates(network) if source == NODES else _snapped(
        network, _read_source(source, region_source))
    _check_categories(rules.categories, set(found["category"]))
    drops = [(f"farther than {MAX_SNAP_M:g} m from the network",
              found["snap_m"].to_numpy() > MAX_SNAP_M)]
    if rules.categories is not None and source != NODES:
        drops.append((f"not of the categories {', '.join(sorted(rules.categories))}",
                      ~found["category"].isin(rules.categories).to_numpy()))
    if rules.min_distance_m > 0 and stations_lonlat is not None:
        drops.append((f"within {rules.min_distance_m:g} m of an existing station",
                      _near_stations(network, found, stations_lonlat, rules.min_distance_m)))
    if rules.excluded is not None:
        drops.append(("inside the excluded area",
                      shapely.intersects_xy(rules.excluded, found["lon"], found["lat"])))
    keep = _apply_drops(len(found), drops)
    kept = found[keep]
    first = np.sort(np.unique(kept["node"].to_numpy(), return_index=True)[1])
    kept = kept.iloc[first].reset_index(drop=True)
    return gpd.GeoDataFrame(kept, geometry=gpd.points_from_xy(kept["lon"], kept["lat"]),
                            crs="EPSG:4326")


def parse_excluded_area(text_or_path: str | Path | Mapping) -> shapely.Geometry:
    """Read an area to keep candidates out of.

    Args:
        text_or_path: GeoJSON as text or as a parsed dict (a Polygon, MultiPolygon, Feature or
            FeatureCollection of those), or the path of a GeoJSON file.

    Returns:
        The WGS-84 Polygon or MultiPolygon (the union of a collection's polygons).

    Raises:
        CandidateError: if it is not GeoJSON, holds something other than polygons, is empty,
            is an invalid polygon (naming the reason) or lies outside the lon/lat range.
    """
    if isinstance(text_or_path, Mapping):
        text = json.dumps(text_or_path)
    elif isinstance(text_or_path, Path) or not text_or_path.lstrip().startswith("{"):
        path = Path(text_or_path)
        try:
            text = path.read_text(encoding="utf-8-sig")
        except (OSError, UnicodeDecodeError) as err:
            raise CandidateError(f"excluded area: cannot read {path.name} ({err})") from err
    else:
        text = text_or_path
    try:
        geometry = shapely.from_geojson(text)
    except shapely.errors.GEOSException as err:
        raise CandidateError(f"excluded area: not GeoJSON ({err})") from err
    parts = shapely.get_parts(geometry) if geometry is not None else np.empty(0, dtype=object)
    if len(parts) == 0 or shapely.is_empty(parts).all():
        raise CandidateError("excluded area: no polygon given")
    not_area = ~np.isin(shapely.get_type_id(parts), AREA_TYPES)
    if not_area.any():
        raise CandidateError(f"excluded area: a {parts[np.argmax(not_area)].geom_type} is not "
                             "an area; give a Polygon or MultiPolygon")
    invalid = ~shapely.is_valid(parts)
    if invalid.any():
        reason = shapely.is_valid_reason(parts[np.argmax(invalid)])
        raise CandidateError(f"excluded area: not a valid polygon ({reason})")
    area = shapely.union_all(parts)
    min_lon, min_lat, max_lon, max_lat = area.bounds
    if min_lon < -180 or max_lon > 180 or min_lat < -90 or max_lat > 90:
        raise CandidateError("excluded area: coordinates outside the lon/lat range")
    return area


def _check_rules(rules: CandidateRules) -> None:
    """Check a distance and an excluded area that :func:`candidate_sites` can use.

    Args:
        rules: the rules.

    Raises:
        CandidateError: for a negative or non-finite distance or a non-polygonal area.
    """
    if not (np.isfinite(rules.min_distance_m) and rules.min_distance_m >= 0):
        raise CandidateError(f"min_distance_m {rules.min_distance_m!r} is not a distance >= 0")
    if rules.excluded is not None and shapely.get_type_id(rules.excluded) not in AREA_TYPES:
        raise CandidateError(f"excluded: a {rules.excluded.geom_type} is not an area; "
                             "give a Polygon or MultiPolygon")


def _check_categories(categories: frozenset[str] | None, present: set[str]) -> None:
    """Check that every allowed category is a candidate category or one the source has.

    Args:
        categories: the allowed categories, or None.
        present: the categories of the candidates read (a file may bring its own).

    Raises:
        CandidateError: naming the first unknown category and the known ones.
    """
    known = set(CANDIDATE_CATEGORIES) | present
    unknown = sorted(set(categories or ()) - known)
    if unknown:
        raise CandidateError(f"categories: unknown category {unknown[0]!r}; known: "
                             f"{', '.join(sorted(known - {''}))}")


def _apply_drops(n_read: int, drops: list[tuple[str, np.ndarray]]) -> np.ndarray:
    """Apply the drop steps in turn, failing if none is left.

    Args:
        n_read: how many candidates were read.
        drops: for each step, what it removes (``"within 500 m of an existing station"``) and
            a boolean mask (n_read,) of the candidates it drops.

    Returns:
        The boolean mask (n_read,) of the candidates no step drops.

    Raises:
        CandidateError: if no candidate is left, e.g. ``"no candidate left: 12 read, 12 within
            500 m of an existing station"``; steps that removed none are not named.
    """
    keep = np.ones(n_read, dtype=bool)
    counts = [f"{n_read} read"]
    for what, drop in drops:
        removed = int((keep & drop).sum())
        if removed:
            counts.append(f"{removed} {what}")
        keep &= ~drop
    if not keep.any():
        raise CandidateError(f"no candidate left: {', '.join(counts)}")
    return keep


def _near_stations(
    network: Network, found: pd.DataFrame, stations_lonlat: np.ndarray, distance_m: float
) -> np.ndarray:
    """Mark the candidates closer than a distance to a station, in the network's UTM zone.

    Args:
        network: the network, whose UTM zone is used.
        found: the candidates, with ``lon`` and ``lat``.
        stations_lonlat: (S, 2) WGS-84 station points.
        distance_m: the distance.

    Returns:
        bool (C,).
    """
    stations = np.asarray(stations_lonlat, dtype=np.float64).reshape(-1, 2)
    if len(stations) == 0:
        return np.zeros(len(found), dtype=bool)
    tree = cKDTree(np.column_stack(network.to_utm(stations[:, 0], stations[:, 1])))
    xy = np.column_stack(network.to_utm(found["lon"].to_numpy(), found["lat"].to_numpy()))
    nearest_m, _ = tree.query(xy)
    return nearest_m < distance_m


def _node_candidates(network: Network) -> pd.DataFrame:
    """Every node of a network as a candidate on itself.

    Args:
        network: the network.

    Returns:
        The candidates in :data:`COLUMNS`, named ``""``, of category :data:`NODE_CATEGORY`.
    """
    index = np.arange(network.n_nodes, dtype=np.int64)
    return pd.DataFrame({
        "name": "", "category": NODE_CATEGORY, "lon": network.lon, "lat": network.lat,
        "node": index, "snap_m": 0.0, "source_id": np.char.add("node:", index.astype(str)),
    }, columns=COLUMNS)


def _snapped(network: Network, points: pd.DataFrame) -> pd.DataFrame:
    """Join points to their nearest network nodes.

    Args:
        network: the network.
        points: ``name``, ``category``, ``lon``, ``lat`` and ``source_id`` of each point.

    Returns:
        The points in :data:`COLUMNS`, with their ``node`` and ``snap_m``.
    """
    xy = np.column_stack(network.to_utm(points["lon"].to_numpy(), points["lat"].to_numpy()))
    snap_m, node = cKDTree(network.node_xy).query(xy.reshape(-1, 2))
    return points.assign(node=np.asarray(node, dtype=np.int64),
                         snap_m=np.asarray(snap_m, dtype=np.float64))[COLUMNS]


def _read_source(source: str | Path, region_source: Path | None) -> pd.DataFrame:
    """Read the candidate points of the ``"sites"`` source or of a file.

    Args:
        source: ``"sites"`` or a file path.
        region_source: the region's source file.

    Returns:
        ``name``, ``category``, ``lon``, ``lat`` and ``source_id`` of each point.

    Raises:
        CandidateError: as for :func:`candidate_sites`.
    """
    if source == SITES:
        return _read_sites(region_source)
    path = Path(source)
    suffix = path.suffix.lower()
    if suffix not in CSV_SUFFIXES + VECTOR_SUFFIXES:
        raise CandidateError(f"unknown candidate source {str(source)!r}; use {SITES!r}, "
                             f"{NODES!r} or a {', '.join(CSV_SUFFIXES + VECTOR_SUFFIXES)} file")
    if not path.is_file():
        raise CandidateError(f"{path.name}: no such file")
    return _read_csv(path) if suffix in CSV_SUFFIXES else _read_vector(path)


def _read_sites(region_source: Path | None) -> pd.DataFrame:
    """Read the host-like sites and convenience stores of a region's OSM file.

    Args:
        region_source: the region's source file.

    Returns:
        The sites in file order, their ``osm_id`` as ``source_id``.

    Raises:
        CandidateError: if there is no source file, it is not an OSM file (a road file has no
            sites) or it cannot be read.
    """
    if region_source is None:
        raise CandidateError(f"the region has no OSM file, so no host-like sites; use the "
                             f"{NODES!r} source or a file of candidates")
    path = Path(region_source)
    if not path.name.lower().endswith(OSM_SUFFIXES):
        raise CandidateError(f"{path.name} is not an OSM file, so the region has no sites; use "
                             f"the {NODES!r} source or a file of candidates")
    if not path.is_file():
        raise CandidateError(f"{path.name}: no such file")
    try:
        sites = cached_sites(path)
    except OsmSourceError as err:
        raise CandidateError(f"cannot read {path.name}: {err}") from err
    return pd.DataFrame(sites.drop(columns="geometry")).rename(columns={"osm_id": "source_id"})


def _read_csv(path: Path) -> pd.DataFrame:
    """Read a CSV of WGS-84 candidate points.

    Args:
        path: the CSV file (UTF-8, with or without a byte-order mark), with ``lon`` and ``lat``
            columns and optional ``name`` and ``category`` columns.

    Returns:
        The rows that are not blank, ``source_id`` ``"row:<line>"`` (the header is line 1).

    Raises:
        CandidateError: for an empty or unreadable file, a missing column, no rows, or a
            coordinate that is not a number in range (naming the line).
    """
    frame = read_csv_text(path, CandidateError)
    frame.columns = [str(c).strip() for c in frame.columns]
    for column in ("lon", "lat"):
        if column not in frame.columns:
            raise CandidateError(f"{path.name}: no {column!r} column (columns: "
                                 f"{', '.join(frame.columns)})")
    # with the header as line 1, row i is line i + 2 (blank lines are kept as empty rows)
    lines = (np.arange(len(frame)) + 2).astype(str)
    filled = (frame != "").any(axis=1).to_numpy()
    frame, lines = frame[filled], lines[filled]
    if len(frame) == 0:
        raise CandidateError(f"{path.name}: the file has no rows")
    labels = np.char.add("line ", lines)
    return pd.DataFrame({
        "name": _text_column(frame, "name"),
        "category": _text_column(frame, "category"),
        "lon": _coordinates(path, frame["lon"], labels, "lon", 180.0),
        "lat": _coordinates(path, frame["lat"], labels, "lat", 90.0),
        "source_id": np.char.add("row:", lines),
    })


def _read_vector(path: Path) -> pd.DataFrame:
    """Read a GeoJSON or GeoPackage layer of candidate points.

    A multipoint gives one candidate per point; a polygon gives one at a point on its surface.

    Args:
        path: the file; one without a CRS is taken to be WGS-84 lon/lat. Optional ``name`` and
            ``category`` properties.

    Returns:
        The points in feature order, ``source_id`` ``"feature:<n>"`` (from 1).

    Raises:
        CandidateError: for an unreadable file, no features, a feature without geometry or of
            another type than points and polygons, or coordinates outside the lon/lat range.
    """
    try:
        layer = gpd.read_file(path)
    except Exception as err:  # pyogrio raises several GDAL-derived error types
        raise CandidateError(f"{path.name}: cannot read the file ({err})") from err
    if len(layer) == 0:
        raise CandidateError(f"{path.name}: the file has no features")
    if layer.crs is not None:
        layer = layer.to_crs(4326)
    labels = np.char.add("feature ", (np.arange(len(layer)) + 1).astype(str))
    geoms = layer.geometry.to_numpy()
    missing = shapely.is_missing(geoms) | shapely.is_empty(geoms)
    if missing.any():
        raise CandidateError(f"{path.name}, {labels[np.argmax(missing)]}: no geometry")
    kind = shapely.get_type_id(geoms)
    unknown = ~np.isin(kind, POINT_TYPES + AREA_TYPES)
    if unknown.any():
        first = int(np.argmax(unknown))
        raise CandidateError(f"{path.name}, {labels[first]}: unsupported geometry "
                             f"{geoms[first].geom_type}; use points or polygons")
    is_area = np.isin(kind, AREA_TYPES)
    points, feature = shapely.get_parts(
        np.where(is_area, shapely.point_on_surface(geoms), geoms), return_index=True)
    lon, lat = shapely.get_x(points), shapely.get_y(points)
    outside = (np.abs(lon) > 180) | (np.abs(lat) > 90)
    if outside.any():
        first = int(np.argmax(outside))
        raise CandidateError(f"{path.name}, {labels[feature[first]]}: point ({lon[first]:g}, "
                             f"{lat[first]:g}) outside the lon/lat range; is the CRS right?")
    return pd.DataFrame({
        "name": _text_column(layer, "name")[feature],
        "category": _text_column(layer, "category")[feature],
        "lon": lon,
        "lat": lat,
        "source_id": np.char.add("feature:", (feature + 1).astype(str)),
    })


def _text_column(frame: pd.DataFrame, column: str) -> np.ndarray:
    """Return an optional text column, stripped, with ``""`` for missing values or no column.

    Args:
        frame: the table.
        column: the column's name.

    Returns:
        object (R,) strings.
    """
    if column not in frame.columns:
        return np.full(len(frame), "", dtype=object)
    values = frame[column]
    return values.where(values.notna(), "").astype(str).str.strip().to_numpy(dtype=object)


def _coordinates(
    path: Path, values: pd.Series, labels: np.ndarray, name: str, limit: float
) -> np.ndarray:
    """Parse a coordinate column, naming the first row that is not a number in range.

    Args:
        path: the file, for the message.
        values: the column's raw values.
        labels: each row's name in messages (``line 3``).
        name: ``lon`` or ``lat``.
        limit: the largest absolute value allowed (180 or 90).

    Returns:
        float64 values.

    Raises:
        CandidateError: naming the file, the row, the column and the value.
    """
    try:
        return checked_numbers(path, values, labels, name, -limit, limit)
    except DemandError as err:
        raise CandidateError(str(err)) from err
