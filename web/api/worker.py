"""The workers' API: regions, stations, the nearest stations by travel time with navigation
links, what a worker can reach in a few minutes, and place-name search, as JSON and GeoJSON."""

from __future__ import annotations

from dataclasses import asdict
from datetime import datetime
from zoneinfo import ZoneInfo

from flask import jsonify, request
from flask_babel import gettext as _
from werkzeug.datastructures import MultiDict

from geo import (
    AMENITIES,
    DATUMS,
    KINDS,
    REACH_MINUTES,
    STATUSES,
    OutsideRegion,
    Region,
    Station,
    StationFilter,
    answer_geojson,
    hours_status,
    hours_text,
    navigation_links,
    reach_geojson,
    stations_geojson,
    to_wgs84,
)
from web import params
from web.api import bp, current_atlas, region_param
from web.i18n import current_lang
from web.jobs import rate_limited
from web.params import BadParameter

#: Most stations one nearest query returns.
MAX_LIMIT = 10

#: Most places one place search returns.
MAX_PLACES = 50

SHANGHAI = ZoneInfo("Asia/Shanghai")


def _now() -> datetime:
    """The time now in Asia/Shanghai, naive (the time opening hours are written in)."""
    return datetime.now(SHANGHAI).replace(tzinfo=None)


@bp.get("/regions")
def regions():
    """All regions with their modes, bounds and attribution."""
    atlas = current_atlas()
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
    region = region_param(args)
    kinds = params.choices(args, "kind", KINDS)
    statuses = params.choices(args, "status", STATUSES)
    amenities = params.choices(args, "amenity", AMENITIES)
    found = [
        s for s in current_atlas().index(region.id).stations
        if (not kinds or s.kind in kinds)
        and (not statuses or s.status in statuses)
        and amenities <= set(s.amenities)
    ]
    now = _now()
    body = stations_geojson(found, region.attribution, now)
    _tell_hours(body["features"], found, now)
    return jsonify(body)


def _tell_hours(features: list[dict], stations: list[Station], now: datetime) -> None:
    """Add each station's hours in words (``hours_text``) and what they mean now
    (``open_text``), in the request's language (``lang``), to its feature."""
    lang = current_lang()
    for feature, station in zip(features, stations):
        feature["properties"]["hours_text"] = hours_text(station.opening_hours, lang)
        feature["properties"]["open_text"] = hours_status(station.opening_hours, now, lang)


def _worker_point(args: MultiDict) -> tuple[Region, str, tuple[float, float]]:
    """The region, travel mode (walking unless the region lacks it) and WGS-84 ``(lon, lat)``
    of a worker's question: ``region``, ``lat``, ``lon``, ``mode`` and ``datum``."""
    region = region_param(args)
    lat = params.number(args, "lat", -90, 90)
    lon = params.number(args, "lon", -180, 180)
    mode = params.choice(args, "mode", region.modes, "walk" if "walk" in region.modes
                         else region.modes[0])
    datum = params.choice(args, "datum", DATUMS, "wgs84")
    return region, mode, to_wgs84(lon, lat, datum)


@bp.get("/nearest")
def nearest():
    """The nearest matching open stations by travel time, with routes, as GeoJSON: only those
    open now with ``open_now``, else those open now first, then the others."""
    args = request.args
    region, mode, (lon84, lat84) = _worker_point(args)
    now = _now()
    open_now = params.flag(args, "open_now")
    filters = StationFilter(
        kinds=params.choices(args, "kind", KINDS),
        amenities=params.choices(args, "amenity", AMENITIES),
        open_at=now if open_now else None,
    )
    limit = params.integer(args, "limit", 3, 1, MAX_LIMIT)
    try:
        answer = current_atlas().nearest(region.id, (lon84, lat84), mode, k=limit, filters=filters,
                                         open_first_at=None if open_now else now)
    except OutsideRegion as error:
        raise BadParameter("lat", str(error)) from None
    body = answer_geojson(answer, region.attribution, now)
    station_features = [f for f in body["features"]
                        if f["properties"]["feature_type"] == "station"]
    _tell_hours(station_features, [hit.station for hit in answer.hits], now)
    for feature, hit in zip(station_features, answer.hits):
        feature["properties"]["navigation"] = navigation_links(
            hit.station.lon, hit.station.lat, hit.station.name, mode,
            origin=(lon84, lat84), origin_name=_("My position"))
    body["region"] = region.id
    body["query"] = {"lon": lon84, "lat": lat84, "datum": "wgs84"}
    return jsonify(body)


#: Longest reach time a worker may ask for, minutes, and most times in one request.
MAX_REACH_MIN = 60.0
MAX_REACH_TIMES = 4


@bp.get("/reach")
@rate_limited
def reach():
    """The streets within each of ``minutes`` (default 5, 10 and 15) of the worker's point as
    polygons, and the open stations inside, soonest first, as GeoJSON."""
    args = request.args
    region, mode, (lon84, lat84) = _worker_point(args)
    minutes = params.numbers(args, "minutes", 1, MAX_REACH_MIN, MAX_REACH_TIMES, REACH_MINUTES)
    try:
        found = current_atlas().reach(region.id, (lon84, lat84), mode, minutes)
    except OutsideRegion as error:
        raise BadParameter("lat", str(error)) from None
    now = _now()
    body = reach_geojson(found, region.attribution, now)
    inside = [station for station, _time in found.stations]
    _tell_hours(body["features"][len(found.areas):], inside, now)
    body.update(region=region.id, query={"lon": lon84, "lat": lat84, "datum": "wgs84"})
    return jsonify(body)


@bp.get("/places")
def places():
    """Streets, buildings and places of a region whose name contains ``q``, best first."""
    args = request.args
    region = region_param(args)
    limit = params.integer(args, "limit", 10, 1, MAX_PLACES)
    found = current_atlas().places(region.id).search(args.get("q", ""), limit)
    return jsonify(region=region.id, attribution=region.attribution,
                   places=[asdict(place) for place in found])
