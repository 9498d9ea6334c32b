"""A planner's coverage analysis of one region, worker group and threshold, in one call."""

from __future__ import annotations

from dataclasses import dataclass

import geopandas as gpd
import numpy as np
import pandas as pd

from geo.areas import gap_areas, service_areas, uncovered_streets
from geo.coverage import (
    CoverageReport,
    cell_statistics,
    coverage_curve,
    coverage_report,
    station_catchments,
    station_reach_counts,
)
from geo.demand import DemandLayer
from geo.groups import WorkerGroup
from geo.index import RegionIndex


@dataclass(frozen=True)
class CoverageAnalysis:
    """Everything the planner page, the API and the CLI show about coverage.

    Attributes:
        region_id: the region.
        group: the worker group.
        threshold_min: the threshold used, minutes.
        demand: the demand layer measured against.
        report: the headline numbers.
        curve: covered share against travel time, 0 to 30 minutes.
        stations: one row per open station: ``station_id``, ``name``, ``demo``,
            ``catchment_demand``, ``covered_demand``, ``lon``, ``lat``.
        cells: coverage per H3 hexagon (see :func:`geo.coverage.cell_statistics`).
        gaps: gap areas ranked by uncovered demand, or None when geometry was not asked for.
        service_areas: one isochrone polygon per open station (``station_id``, ``name``), or None.
        uncovered: the uncovered street pieces, or None.
        h3_resolution: the hexagon resolution used.
    """

    region_id: str
    group: WorkerGroup
    threshold_min: float
    demand: DemandLayer
    report: CoverageReport
    curve: pd.DataFrame
    stations: pd.DataFrame
    cells: pd.DataFrame
    gaps: gpd.GeoDataFrame | None
    service_areas: gpd.GeoDataFrame | None
    uncovered: gpd.GeoDataFrame | None
    h3_resolution: int


def coverage_analysis(
    index: RegionIndex,
    group: WorkerGroup,
    demand: DemandLayer,
    threshold_min: float | None = None,
    geometry: bool = True,
) -> CoverageAnalysis:
    """Analyse how the region's open stations cover a worker group's demand.

    Args:
        index: the region's query index; its open stations are the ones measured.
        group: the worker group (its mode picks the network).
        demand: the group's demand layer on that network.
        threshold_min: travel-time threshold in minutes; the group's default if None.
        geometry: also build gap areas, service areas and uncovered streets (the slow part).

    Returns:
        The analysis.

    Raises:
        ValueError: for a threshold that is not positive, or a demand layer for another network.
    """
    threshold = group.threshold_min if threshold_min is None else float(threshold_min)
    if not threshold > 0:
        raise ValueError(f"threshold must be a positive number of minutes, got {threshold_min}")
    network = index.network(group.mode)
    if len(demand.weights) != network.n_nodes:
        raise ValueError("the demand layer was made for another network")
    mask = index.matching()
    chosen = np.nonzero(mask)[0]
    nodes = index.station_nodes(group.mode)[mask]
    field = index.field(group.mode, mask)
    counts = station_reach_counts(network, nodes, threshold)
    report = coverage_report(network, field, demand.weights, threshold, counts)
    catchments = station_catchments(field, demand.weights, threshold)
    stations = [index.stations[i] for i in chosen]
    catchments.insert(0, "station_id", [s.id for s in stations])
    catchments.insert(1, "name", [s.name for s in stations])
    catchments["demo"] = [s.demo for s in stations]
    catchments["lon"] = [s.lon for s in stations]
    catchments["lat"] = [s.lat for s in stations]
    resolution = h3_resolution(index.bounds)
    areas = gaps = uncovered = None
    if geometry:
        threshold_s = threshold * 60.0
        gaps = gap_areas(network, field.time_s, threshold_s, demand.weights)
        areas = service_areas(network, nodes, threshold_s)
        areas.insert(0, "station_id", [s.id for s in stations])
        areas.insert(1, "name", [s.name for s in stations])
        uncovered = uncovered_streets(network, field.time_s, threshold_s)
    return CoverageAnalysis(
        region_id=index.region_id,
        group=group,
        threshold_min=threshold,
        demand=demand,
        report=report,
        curve=coverage_curve(field, demand.weights),
        stations=catchments.drop(columns=["station"]),
        cells=cell_statistics(network, field, demand.weights, threshold, resolution),
        gaps=gaps,
        service_areas=areas,
        uncovered=uncovered,
        h3_resolution=resolution,
    )


def h3_resolution(bounds: tuple[float, float, float, float]) -> int:
    """An H3 resolution that gives a readable number of hexagons for a region's size:
    9 (about 0.1 km² a cell) for a district, 8 for a city, 7 beyond."""
    min_lon, min_lat, max_lon, max_lat = bounds
    km2 = (max_lon - min_lon) * 111.32 * np.cos(np.radians((min_lat + max_lat) / 2)) * (
        max_lat - min_lat) * 111.32
    if km2 < 100:
        return 9
    return 8 if km2 < 5000 else 7
