"""The JSON API: regions, stations, nearest-station queries with navigation links and place-name
search as JSON and GeoJSON, described by an OpenAPI document; and station writes for staff,
authorised by per-user API tokens, each based on the version it changes (``If-Match``)."""

from __future__ import annotations

import io
import ipaddress
from collections.abc import Callable
from dataclasses import asdict
from datetime import datetime
from zoneinfo import ZoneInfo

import geopandas as gpd
import numpy as np
from flask import Blueprint, Response, current_app, g, jsonify, request, send_file, url_for
from flask_babel import gettext as _
from flask_login import current_user

from geo.analysis import CoverageAnalysis
from geo.atlas import Atlas
from geo.coords import DATUMS, to_wgs84
from geo.export import geojson_text, geopackage_bytes
from geo.geojson import answer_geojson, reach_geojson, station_feature, stations_geojson
from geo.groups import GROUPS, WorkerGroup
from geo.hours import hours_status, hours_text
from geo.index import StationFilter
from geo.navigation import navigation_links
from geo.nearest import OutsideRegion
from geo.reach import REACH_MINUTES
from geo.regions import Region, RegionError
from geo.stations import AMENITIES, KINDS, STATUSES, Station
from geo.store import VersionConflict
from web import params
from web.auth import accounts
from web.edits import Problem, Rejected, change_station, create_station, values_from_json
from web.i18n import current_lang
from web.jobs import rate_limited, rate_limited_unless, run_job
from web.layers import hexagon_layer
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
        return atlas.region_or_default(None)
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


@bp.get("/nearest")
def nearest():
    """The nearest matching open stations by travel time, with routes, as GeoJSON: only those
    open now with ``open_now``, else those open now first, then the others."""
    args = request.args
    region = _region(args)
    lat = params.number(args, "lat", -90, 90)
    lon = params.number(args, "lon", -180, 180)
    mode = params.choice(args, "mode", region.modes, "walk" if "walk" in region.modes
                         else region.modes[0])
    datum = params.choice(args, "datum", DATUMS, "wgs84")
    now = _now()
    open_now = params.flag(args, "open_now")
    filters = StationFilter(
        kinds=params.choices(args, "kind", KINDS),
        amenities=params.choices(args, "amenity", AMENITIES),
        open_at=now if open_now else None,
    )
    limit = params.integer(args, "limit", 3, 1, MAX_LIMIT)
    lon84, lat84 = to_wgs84(lon, lat, datum)
    try:
        answer = _atlas().nearest(region.id, (lon84, lat84), mode, k=limit, filters=filters,
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
    region = _region(args)
    lat = params.number(args, "lat", -90, 90)
    lon = params.number(args, "lon", -180, 180)
    mode = params.choice(args, "mode", region.modes, "walk" if "walk" in region.modes
                         else region.modes[0])
    datum = params.choice(args, "datum", DATUMS, "wgs84")
    minutes = params.numbers(args, "minutes", 1, MAX_REACH_MIN, MAX_REACH_TIMES, REACH_MINUTES)
    lon84, lat84 = to_wgs84(lon, lat, datum)
    try:
        found = _atlas().reach(region.id, (lon84, lat84), mode, minutes)
    except OutsideRegion as error:
        raise BadParameter("lat", str(error)) from None
    now = _now()
    body = reach_geojson(found, region.attribution, now)
    _tell_hours(body["features"][len(found.areas):], [s for s, _ in found.stations], now)
    body.update(region=region.id, query={"lon": lon84, "lat": lat84, "datum": "wgs84"})
    return jsonify(body)


@bp.get("/places")
def places():
    """Streets, buildings and places of a region whose name contains ``q``, best first."""
    args = request.args
    region = _region(args)
    limit = params.integer(args, "limit", 10, 1, MAX_PLACES)
    found = _atlas().places(region.id).search(args.get("q", ""), limit)
    return jsonify(region=region.id, attribution=region.attribution,
                   places=[asdict(place) for place in found])


@bp.get("/openapi.json")
def openapi():
    """The OpenAPI 3.0 description of this API."""
    return jsonify(openapi_document(MAX_LIMIT, MAX_PLACES, MAX_THRESHOLD_MIN))


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
    return _atlas().cached_coverage(region.id, group.id, threshold, geometry) is not None


def coverage_analysis(region: Region, group: WorkerGroup, threshold: float,
                      geometry: bool = True) -> CoverageAnalysis:
    """The atlas's coverage analysis: from its cache, or computed in the job pool."""
    atlas = _atlas()
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
    atlas = _atlas()

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
    atlas = _atlas()
    text = run_job("export", lambda: atlas.coverage(region.id, group.id, threshold,
                                                    geometry=False).cells.to_csv(index=False))
    return Response("\ufeff" + text + f"# {region.attribution}\n", mimetype="text/csv",
                    headers={"Content-Disposition": "attachment; filename="
                             f"cells-{region.id}-{group.id}-{threshold:g}min.csv"})


# --- writes -----------------------------------------------------------------------------------

class WriteRefused(Exception):
    """A write was refused; answered as JSON naming the field or parameter at fault."""

    def __init__(self, status: int, key: str, name: str, message: str, **extra) -> None:
        """Make the refusal.

        Args:
            status: the HTTP status.
            key: ``"field"`` (a station field in the body) or ``"parameter"`` (a header, the
                path or the body as a whole).
            name: the field or parameter.
            message: what is wrong.
            extra: more top-level members of the answer (``current``, ``problems``).
        """
        super().__init__(f"{name}: {message}")
        self.status = status
        self.body = {"error": {key: name, "message": message}, **extra}


@bp.errorhandler(WriteRefused)
def write_refused(error: WriteRefused):
    """Answer a refused write; a missing or bad token also gets ``WWW-Authenticate``."""
    response = jsonify(error.body)
    response.status_code = error.status
    if error.status == 401:
        response.headers["WWW-Authenticate"] = 'Bearer realm="yizhan"'
    return response


def _token_user():
    """The account of the request's ``Authorization: Bearer <token>``; None without one.

    Raises:
        WriteRefused: 401 for a malformed, unknown or revoked token.
    """
    header = request.headers.get("Authorization", "")
    if not header:
        return None
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise WriteRefused(401, "parameter", "Authorization",
                           "use 'Authorization: Bearer <token>' with an API token")
    user = accounts().user_for_token(token.strip())
    if user is None:
        raise WriteRefused(401, "parameter", "Authorization", "unknown or revoked token")
    return user


def _caller():
    """The account making the request: its API token's (API requests), else its signed-in
    session's; None for an anonymous caller. Looked up once per request.

    Raises:
        WriteRefused: 401 for a malformed, unknown or revoked token.
    """
    if "caller" not in g:
        user = _token_user() if request.blueprint == bp.name else None
        if user is None and current_user.is_authenticated:
            user = current_user.user
        g.caller = user
    return g.caller


def signed_in() -> bool:
    """Whether the request comes from an account (an API token or a signed-in session)."""
    return _caller() is not None


def client_key() -> str:
    """Who makes the request, for the job pool and the rate of heavy requests: the account,
    else the remote address (an IPv6 address's /64 network)."""
    user = _caller()
    if user is not None:
        return f"account:{user.username}"
    address = ipaddress.ip_address(request.remote_addr or "0.0.0.0")
    if address.version == 6:  # one host commonly holds a whole /64
        return f"address:{ipaddress.ip_network(f'{address}/64', strict=False)}"
    return f"address:{address}"


def writer(role: str = "staff") -> str:
    """The name of the account making a write.

    A request with ``Authorization: Bearer <token>`` is the token's account. Without one, a
    signed-in session may write if the request carries its CSRF token in ``X-CSRFToken``.

    Args:
        role: the least role the write needs (``staff`` for station records).

    Raises:
        WriteRefused: 401 without a usable token or session, 403 if the account's role is
            below ``role``.
    """
    user = _token_user()
    if user is None:
        if not current_user.is_authenticated:
            raise WriteRefused(401, "parameter", "Authorization",
                               "writing needs 'Authorization: Bearer <token>' (yizhan user "
                               "token)")
        current_app.extensions["csrf"].protect()
        user = current_user.user
    if not user.has_role(role):
        raise WriteRefused(403, "parameter", "Authorization",
                           f"account {user.username!r} is a {user.role}; writing needs {role}")
    return user.username


def _if_match() -> int:
    """The version named by ``If-Match`` (``3``, ``"3"`` or ``W/"3"``).

    Raises:
        WriteRefused: 428 if the header is missing.
        BadParameter: it names no version.
    """
    raw = request.headers.get("If-Match")
    if raw is None:
        raise WriteRefused(428, "parameter", "If-Match",
                           "required: the version the change is based on (the station's ETag)")
    version = params.whole_number(raw.strip().removeprefix("W/").strip('"'), params.MAX_ID)
    if version is None:
        raise BadParameter("If-Match", f"must be a station version such as \"3\", got {raw!r}")
    return version


def _rejected(problems: list[Problem]) -> WriteRefused:
    """HTTP 422 naming the first bad field, with every problem listed."""
    first = problems[0]
    return WriteRefused(422, "field", first.field, first.message,
                        problems=[{"field": p.field, "message": p.message} for p in problems])


def _stored(station_id: int) -> Station:
    """A stored station that is not deleted.

    Raises:
        WriteRefused: 404 if there is none or it is deleted.
    """
    store = _atlas().store
    try:
        deleted = store.is_deleted(station_id)
    except KeyError:
        raise WriteRefused(404, "parameter", "id", f"no station {station_id}") from None
    if deleted:
        raise WriteRefused(404, "parameter", "id",
                           f"station {station_id} is deleted; restore it first")
    return store.get(station_id)


def _station_response(station: Station, status: int = 200):
    """A station as a GeoJSON feature, its version as the ETag."""
    response = jsonify(station_feature(station))
    response.status_code = status
    response.headers["ETag"] = f'"{station.version}"'
    return response


def _conflict(conflict: VersionConflict, version: int) -> WriteRefused:
    """HTTP 409 carrying the stored station."""
    return WriteRefused(409, "parameter", "If-Match",
                        f"the station is at version {conflict.current.version}, not {version}; "
                        "nothing was changed", current=station_feature(conflict.current))


@bp.get("/stations/<id:station_id>")
def station(station_id: int):
    """One station that is not deleted, with its version as the ETag."""
    return _station_response(_stored(station_id))


@bp.post("/stations")
def add_station():
    """Add a station (staff): the JSON fields, coordinates in ``datum`` (WGS-84 if absent)."""
    actor = writer()
    values, problems = values_from_json(params.json_body(request), new=True)
    try:
        added = create_station(_atlas(), values, actor, problems)
    except Rejected as error:
        raise _rejected(error.problems) from None
    response = _station_response(added, 201)
    response.headers["Location"] = url_for(".station", station_id=added.id)
    return response


@bp.patch("/stations/<id:station_id>")
def change_station_fields(station_id: int):
    """Change fields of a station (staff), based on the version in ``If-Match``."""
    actor = writer()
    version = _if_match()
    _stored(station_id)
    values, problems = values_from_json(params.json_body(request), new=False)
    try:
        changed = change_station(_atlas(), station_id, values, version, actor, problems)
    except Rejected as error:
        raise _rejected(error.problems) from None
    except VersionConflict as conflict:
        raise _conflict(conflict, version) from None
    except KeyError:
        _stored(station_id)
        raise
    return _station_response(changed)


@bp.delete("/stations/<id:station_id>")
def delete_station(station_id: int):
    """Soft-delete a station (staff), based on the version in ``If-Match``; restore undoes it,
    based on the deleted station's version (the answer's ETag)."""
    actor = writer()
    version = _if_match()
    _stored(station_id)
    try:
        _atlas().store.delete(station_id, version, actor=actor)
    except VersionConflict as conflict:
        raise _conflict(conflict, version) from None
    except KeyError:
        _stored(station_id)
        raise
    response = jsonify(id=station_id, deleted=True, version=version + 1)
    response.headers["ETag"] = f'"{version + 1}"'
    return response


@bp.post("/stations/<id:station_id>/restore")
def restore_station(station_id: int):
    """Undo the deletion of a station (staff), based on the version in ``If-Match``."""
    actor = writer()
    version = _if_match()
    store = _atlas().store
    try:
        restored = store.restore(station_id, version, actor=actor)
    except VersionConflict as conflict:
        raise _conflict(conflict, version) from None
    except KeyError:
        try:
            current = store.get(station_id)
        except KeyError:
            raise WriteRefused(404, "parameter", "id", f"no station {station_id}") from None
        raise WriteRefused(409, "parameter", "id", f"station {station_id} is not deleted",
                           current=station_feature(current)) from None
    return _station_response(restored)
