"""The planners' coverage API: how much of a worker group's demand reaches an open station within
a threshold, and its layers (gaps, service areas, uncovered streets, H3 cells) as GeoJSON, a
GeoPackage or CSV, computed in the job pool."""

from __future__ import annotations

import io
from collections.abc import Callable

import geopandas as gpd
import numpy as np
from flask import Response, jsonify, request, send_file

from geo import GROUPS, CoverageAnalysis, Region, WorkerGroup, geojson_text, geopackage_bytes
from web import params
from web.api import bp, current_atlas, region_param
from web.jobs import rate_limited, rate_limited_unless, run_job
from web.layers import hexagon_layer
from web.params import BadParameter

#: Largest travel-time threshold a coverage request may ask for, minutes.
MAX_THRESHOLD_MIN = 120.0


def coverage_request(args) -> tuple[Region, WorkerGroup, float]:
    """The region, worker group (``group``, or the group travelling by ``mode``) and threshold of
    a coverage request."""
    region = region_param(args)
    if args.get("group", "").strip():
        group = GROUPS[params.choice(args, "group", GROUPS, None)]
    elif args.get("mode", "").strip():
        mode = params.choice(args, "mode", [g.mode for g in GROUPS.values()], None)
        group = next(g for g in GROUPS.values() if g.mode == mode)
    else:
        group = GROUPS["street"]
    if group.mode not in region.modes:
        raise BadParameter("group", f"region {region.id!r} has no {group.mode} network")
    threshold = group.threshold_min
    if args.get("threshold", "").strip():
        threshold = params.number(args, "threshold", 0.5, MAX_THRESHOLD_MIN)
    return region, group, threshold


def json_rows(frame) -> list[dict]:
    """A frame's rows as JSON-ready dicts (NaN and infinity become null)."""
    clean = frame.replace([np.inf, -np.inf], np.nan).astype(object)
    return clean.where(clean.notna(), None).to_dict(orient="records")


def coverage_cached(geometry: bool = False) -> bool:
    """Whether the atlas holds the coverage analysis the request's ``region``, ``group`` and
    ``threshold`` ask for (False for bad parameters: the view answers those)."""
    try:
        region, group, threshold = coverage_request(request.args)
    except BadParameter:
        return False
    return current_atlas().cached_coverage(region.id, group.id, threshold, geometry) is not None


def coverage_analysis(region: Region, group: WorkerGroup, threshold: float,
                      geometry: bool = True) -> CoverageAnalysis:
    """The atlas's coverage analysis: from its cache, or computed in the job pool."""
    atlas = current_atlas()
    found = atlas.cached_coverage(region.id, group.id, threshold, geometry)
    if found is not None:
        return found
    return run_job("coverage", lambda: atlas.coverage(region.id, group.id, threshold, geometry))


@bp.get("/coverage")
@rate_limited_unless(coverage_cached)
def coverage():
    """Coverage numbers of a region's open stations for a worker group within a threshold."""
    region, group, threshold = coverage_request(request.args)
    analysis = coverage_analysis(region, group, threshold, geometry=False)
    demand = analysis.demand
    return jsonify(
        region=region.id,
        group=group.id,
        mode=group.mode,
        demand={"unit": demand.unit, "total": demand.total, "parts": demand.parts,
                "unplaced": demand.unplaced, "description": demand.description},
        **analysis.report.as_dict(),
        curve=json_rows(analysis.curve),
        catchments=json_rows(analysis.stations),
        h3_resolution=analysis.h3_resolution,
        cells=json_rows(analysis.cells),
        attribution=region.attribution,
    )


def _coverage_layer(layer_of: Callable[[CoverageAnalysis], gpd.GeoDataFrame], stem: str,
                    geometry: bool = True):
    """One layer of the requested coverage analysis, named
    ``<stem>-<region>-<group>-<threshold>min``, as GeoJSON (``format=geojson``, the default) or
    as a GeoPackage download, written in the job pool.

    Args:
        layer_of: the layer of an analysis.
        stem: the start of the download's name.
        geometry: whether the layer needs the analysis's shapes (gaps, service areas).
    """
    region, group, threshold = coverage_request(request.args)
    fmt = params.choice(request.args, "format", ("geojson", "gpkg"), "geojson")
    name = f"{stem}-{region.id}-{group.id}-{threshold:g}min"
    atlas = current_atlas()

    def export() -> bytes | str:
        layer = layer_of(atlas.coverage(region.id, group.id, threshold, geometry))
        if fmt == "gpkg":
            return geopackage_bytes(layer, name, region.attribution)
        return geojson_text(layer, region.attribution)

    data = run_job("export", export)
    if fmt == "gpkg":
        return send_file(io.BytesIO(data), download_name=f"{name}.gpkg",
                         mimetype="application/geopackage+sqlite3", as_attachment=True)
    return Response(data, mimetype="application/geo+json")


@bp.get("/gaps")
@rate_limited
def gaps():
    """Gap areas (uncovered streets joined into polygons) ranked by uncovered demand."""
    return _coverage_layer(lambda analysis: analysis.gaps, "gaps")


@bp.get("/service-areas")
@rate_limited
def service_area_layer():
    """One isochrone polygon per open station: the streets it serves within the threshold."""
    return _coverage_layer(lambda analysis: analysis.service_areas, "service-areas")


@bp.get("/uncovered-streets")
@rate_limited
def uncovered_street_layer():
    """The street pieces beyond the threshold from every open station, as GeoJSON."""
    return _coverage_layer(lambda analysis: analysis.uncovered, "uncovered")


@bp.get("/cells")
@rate_limited
def cell_layer():
    """Coverage per H3 hexagon as GeoJSON polygons (``format=gpkg`` for a GeoPackage)."""
    return _coverage_layer(lambda analysis: hexagon_layer(analysis.cells), "cells",
                           geometry=False)


@bp.get("/cells.csv")
@rate_limited
def cells_csv():
    """Coverage per H3 hexagon as CSV (UTF-8 with a byte-order mark, so Excel reads it),
    written in the job pool."""
    region, group, threshold = coverage_request(request.args)
    atlas = current_atlas()
    text = run_job("export", lambda: atlas.coverage(region.id, group.id, threshold,
                                                    geometry=False).cells.to_csv(index=False))
    return Response("\ufeff" + text + f"# {region.attribution}\n", mimetype="text/csv",
                    headers={"Content-Disposition": "attachment; filename="
                             f"cells-{region.id}-{group.id}-{threshold:g}min.csv"})
