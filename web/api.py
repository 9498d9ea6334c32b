"""The read API: regions, stations, nearest-station queries with navigation links and place-name
search as JSON and GeoJSON, described by an OpenAPI document."""

from __future__ import annotations

import io
from dataclasses import asdict
from datetime import datetime
from zoneinfo import ZoneInfo

import geopandas as gpd
import numpy as np
from flask import Blueprint, Response, current_app, jsonify, request, send_file

from geo.atlas import Atlas
from geo.coords import DATUMS, to_wgs84
from geo.export import geojson_text, geopackage_bytes
from geo.geojson import answer_geojson, stations_geojson
from geo.groups import GROUPS, WorkerGroup
from geo.index import StationFilter
from geo.navigation import navigation_links
from geo.nearest import nearest_stations
from geo.places import places_for
from geo.regions import Region, RegionError
from geo.stations import AMENITIES, KINDS, STATUSES
from web import params
from web.openapi import openapi_document
from web.params import BadParameter

bp = Blueprint("api", __name__, url_prefix="/api/v1")

SHANGHAI = ZoneInfo("Asia/Shanghai")

#: Most stations one nearest query returns.
MAX_LIMIT = 10

#: Most places one place search returns.
MAX_PLACES = 50


def _atlas() -> Atlas:
    return current_app.extensions["atlas"]


def _now() -> datetime:
    """The time now in Asia/Shanghai, naive (the time opening hours are written in)."""
    return datetime.now(SHANGHAI).replace(tzinfo=None)


def _region(args) -> Region:
    """The ``region`` parameter (the default region when absent)."""
    atlas = _atlas()
    region_id = args.get("region", "").strip()
    if not region_id:
        regions = atlas.regions()
        return next((r for r in regions if r.default), regions[0])
    try:
        return atlas.region(region_id)
    except RegionError as error:
        raise BadParameter("region", str(error)) from None


@bp.get("/regions")
def regions():
    """All regions with their modes, bounds and attribution."""
    atlas = _atlas()
    out = []
    for region in atlas.regions():
        index = atlas.index(region.id)
        out.append({
            "id": region.id,
            "name": region.name,
            "name_en": region.name_en,
            "default": region.default,
            "demo": region.demo,
            "modes": list(region.modes),
            "bounds": list(index.bounds),
            "stations": len(index.stations),
            "attribution": region.attribution,
        })
    return jsonify(regions=out)


@bp.get("/stations")
def stations():
    """Stations of a region as GeoJSON, filterable by kind, status and amenity."""
    args = request.args
    region = _region(args)
    kinds = params.choices(args, "kind", KINDS)
    statuses = params.choices(args, "status", STATUSES)
    amenities = params.choices(args, "amenity", AMENITIES)
    found = [
        s for s in _atlas().index(region.id).stations
        if (not kinds or s.kind in kinds)
        and (not statuses or s.status in statuses)
        and amenities <= set(s.amenities)
    ]
    return jsonify(stations_geojson(found, region.attribution, _now()))


@bp.get("/nearest")
def nearest():
    """The nearest matching open stations by travel time, with routes, as GeoJSON."""
    args = request.args
    region = _region(args)
    lat = params.number(args, "lat", -90, 90)
    lon = params.number(args, "lon", -180, 180)
    mode = params.choice(args, "mode", region.modes, "walk" if "walk" in region.modes
                         else region.modes[0])
    datum = params.choice(args, "datum", DATUMS, "wgs84")
    now = _now()
    filters = StationFilter(
        kinds=params.choices(args, "kind", KINDS),
        amenities=params.choices(args, "amenity", AMENITIES),
        open_at=now if params.flag(args, "open_now") else None,
    )
    limit = params.integer(args, "limit", 3, 1, MAX_LIMIT)
    lon84, lat84 = to_wgs84(lon, lat, datum)
    index = _atlas().index(region.id)
    if not index.covers(lon84, lat84):
        raise BadParameter("lat", f"the point ({lon84:.5f}, {lat84:.5f}) is outside region "
                                  f"{region.id!r}")
    answer = nearest_stations(index, (lon84, lat84), mode, k=limit, filters=filters)
    body = answer_geojson(answer, region.attribution, now)
    station_features = (f for f in body["features"]
                        if f["properties"]["feature_type"] == "station")
    for feature, hit in zip(station_features, answer.hits):
        feature["properties"]["navigation"] = navigation_links(
            hit.station.lon, hit.station.lat, hit.station.name, mode)
    body["region"] = region.id
    body["query"] = {"lon": lon84, "lat": lat84, "datum": "wgs84"}
    return jsonify(body)


@bp.get("/places")
def places():
    """Streets, buildings and places of a region whose name contains ``q``, best first."""
    args = request.args
    region = _region(args)
    limit = params.integer(args, "limit", 10, 1, MAX_PLACES)
    found = places_for(region).search(args.get("q", ""), limit)
    return jsonify(region=region.id, attribution=region.attribution,
                   places=[asdict(place) for place in found])


@bp.get("/openapi.json")
def openapi():
    """The OpenAPI 3.0 description of this API."""
    return jsonify(openapi_document(MAX_LIMIT, MAX_PLACES))


# --- coverage ---------------------------------------------------------------------------------

#: Largest travel-time threshold a coverage request may ask for, minutes.
MAX_THRESHOLD_MIN = 120.0


def coverage_request(args) -> tuple[Region, WorkerGroup, float]:
    """The region, worker group (``group``, or the group travelling by ``mode``) and threshold of
    a coverage request."""
    region = _region(args)
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


def _records(frame) -> list[dict]:
    """A frame's rows as JSON-ready dicts (NaN and infinity become null)."""
    clean = frame.replace([np.inf, -np.inf], np.nan).astype(object)
    return clean.where(clean.notna(), None).to_dict(orient="records")


@bp.get("/coverage")
def coverage():
    """Coverage numbers of a region's open stations for a worker group within a threshold."""
    region, group, threshold = coverage_request(request.args)
    analysis = _atlas().coverage(region.id, group.id, threshold, geometry=False)
    demand = analysis.demand
    return jsonify(
        region=region.id,
        group=group.id,
        mode=group.mode,
        demand={"unit": demand.unit, "total": demand.total, "parts": demand.parts,
                "unplaced": demand.unplaced, "description": demand.description},
        **analysis.report.as_dict(),
        curve=_records(analysis.curve),
        catchments=_records(analysis.stations),
        h3_resolution=analysis.h3_resolution,
        cells=_records(analysis.cells),
        attribution=region.attribution,
    )


def _layer_response(layer: gpd.GeoDataFrame, name: str, region: Region):
    """A layer as GeoJSON (``format=geojson``, the default) or as a GeoPackage download."""
    fmt = params.choice(request.args, "format", ("geojson", "gpkg"), "geojson")
    if fmt == "gpkg":
        data = geopackage_bytes(layer, name, region.attribution)
        return send_file(io.BytesIO(data), download_name=f"{name}.gpkg",
                         mimetype="application/geopackage+sqlite3", as_attachment=True)
    return Response(geojson_text(layer, region.attribution), mimetype="application/geo+json")


@bp.get("/gaps")
def gaps():
    """Gap areas (uncovered streets joined into polygons) ranked by uncovered demand."""
    region, group, threshold = coverage_request(request.args)
    analysis = _atlas().coverage(region.id, group.id, threshold)
    return _layer_response(analysis.gaps, f"gaps-{region.id}-{group.id}-{threshold:g}min", region)


@bp.get("/service-areas")
def service_area_layer():
    """One isochrone polygon per open station: the streets it serves within the threshold."""
    region, group, threshold = coverage_request(request.args)
    analysis = _atlas().coverage(region.id, group.id, threshold)
    return _layer_response(analysis.service_areas,
                           f"service-areas-{region.id}-{group.id}-{threshold:g}min", region)


@bp.get("/uncovered-streets")
def uncovered_street_layer():
    """The street pieces beyond the threshold from every open station, as GeoJSON."""
    region, group, threshold = coverage_request(request.args)
    analysis = _atlas().coverage(region.id, group.id, threshold)
    return _layer_response(analysis.uncovered,
                           f"uncovered-{region.id}-{group.id}-{threshold:g}min", region)


@bp.get("/cells.csv")
def cells_csv():
    """Coverage per H3 hexagon as CSV (UTF-8 with a byte-order mark, so Excel reads it)."""
    region, group, threshold = coverage_request(request.args)
    analysis = _atlas().coverage(region.id, group.id, threshold, geometry=False)
    text = analysis.cells.to_csv(index=False)
    return Response("\ufeff" + text + f"# {region.attribution}\n", mimetype="text/csv",
                    headers={"Content-Disposition": "attachment; filename="
                             f"cells-{region.id}-{group.id}-{threshold:g}min.csv"})
