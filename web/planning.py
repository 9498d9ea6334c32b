"""The planner's JSON API: recommended sites, what-if coverage and saved scenarios.

Routes join the API blueprint (``/api/v1``). Requests are JSON objects; every bad member is a
400 answer naming it.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
import tempfile

import shapely
from flask import Response, current_app, jsonify, request
from werkzeug.datastructures import MultiDict

from geo.atlas import Atlas
from geo.candidates import CANDIDATE_CATEGORIES, CandidateError, CandidateRules, parse_excluded_area
from geo.export import geojson_text, recommendation_csv, recommendation_geojson
from geo.recommend import PROBLEMS, RecommendError
from geo.regions import Region
from geo.scenarios import Scenario, ScenarioInvalid, ScenarioSite, ScenarioStore
from geo.whatif import WhatIfError
from web.api import WriteRefused, _body, _records, _writer, bp, coverage_request
from web.params import BadParameter

#: Most new sites one request may ask for.
MAX_SITES = 100

#: Longest solver time limit a request may set (seconds).
MAX_TIME_LIMIT_S = 60.0

#: Most hypothetical stations in one what-if.
MAX_ADDED = 50

#: The minimum distance from existing stations candidates keep unless told otherwise (metres):
#: a site that already hosts a station is no candidate.
DEFAULT_MIN_DISTANCE_M = 50.0


def _atlas() -> Atlas:
    return current_app.extensions["atlas"]


def _scenarios() -> ScenarioStore:
    return current_app.extensions["scenarios"]


def planning_request(body: dict) -> tuple[Region, object, float]:
    """The region, worker group and threshold members of a JSON request (as the coverage
    query parameters)."""
    args = MultiDict({key: str(body[key]) for key in ("region", "group", "threshold")
                      if body.get(key) is not None})
    return coverage_request(args)


def _number(body: dict, name: str, default: float | None, low: float, high: float
            ) -> float | None:
    """An optional finite number member within [low, high]."""
    raw = body.get(name)
    if raw is None or raw == "":
        return default
    if isinstance(raw, bool) or not isinstance(raw, (int, float, str)):
        raise BadParameter(name, f"must be a number, got {raw!r}")
    try:
        value = float(raw)
    except ValueError:
        raise BadParameter(name, f"must be a number, got {raw!r}") from None
    if not (math.isfinite(value) and low <= value <= high):
        raise BadParameter(name, f"must be between {low:g} and {high:g}, got {raw}")
    return value


def _whole(body: dict, name: str, low: int, high: int) -> int | None:
    """An optional whole-number member within [low, high]."""
    value = _number(body, name, None, -math.inf, math.inf)
    if value is None:
        return None
    if value != int(value):
        raise BadParameter(name, f"must be a whole number, got {body[name]!r}")
    if not low <= value <= high:
        raise BadParameter(name, f"must be between {low} and {high}, got {int(value)}")
    return int(value)


def candidate_rules(body: dict) -> CandidateRules:
    """The candidate rules of a request: ``min_distance_m``, ``categories``, ``excluded``."""
    categories = body.get("categories")
    if categories is not None:
        if isinstance(categories, str):
            categories = [c for c in categories.split(",") if c]
        if not isinstance(categories, list) or not all(isinstance(c, str) for c in categories):
            raise BadParameter("categories", "must be a list of category names")
        unknown = sorted(set(categories) - set(CANDIDATE_CATEGORIES))
        if unknown:
            raise BadParameter("categories", f"unknown categories {', '.join(unknown)}; use "
                               f"{', '.join(CANDIDATE_CATEGORIES)}")
        categories = frozenset(categories)
    excluded = body.get("excluded")
    if excluded is not None:
        try:
            excluded = parse_excluded_area(excluded)
        except CandidateError as error:
            raise BadParameter("excluded", str(error)) from None
    return CandidateRules(
        min_distance_m=_number(body, "min_distance_m", DEFAULT_MIN_DISTANCE_M, 0, 100_000),
        excluded=excluded, categories=categories)


@bp.post("/recommend")
def recommend():
    """Recommend new station sites; ``?format=geojson`` or ``csv`` returns the sites alone."""
    body = _body()
    fmt = request.args.get("format", "json")
    if fmt not in ("json", "geojson", "csv"):
        raise BadParameter("format", f"unknown format {fmt!r}; use json, geojson or csv")
    region, group, threshold = planning_request(body)
    problem = body.get("problem", "mclp")
    if problem not in PROBLEMS:
        raise BadParameter("problem", f"unknown problem {problem!r}; use one of "
                           f"{', '.join(PROBLEMS)}")
    k = _whole(body, "k", 1, MAX_SITES) if problem != "lscp" else None
    if problem != "lscp" and k is None:
        raise BadParameter("k", "is required: how many new sites (1 to 100)")
    target = _number(body, "target", None, 0.0, 1.0) if problem == "lscp" else None
    if problem == "lscp" and not target:
        raise BadParameter("target", "is required for lscp: the share of demand to cover, "
                           "above 0 and at most 1")
    time_limit = _number(body, "time_limit_s", 10.0, 0.1, MAX_TIME_LIMIT_S)
    curve = body.get("curve", True)
    if not isinstance(curve, bool):
        raise BadParameter("curve", "must be true or false")
    rules = candidate_rules(body)
    with _candidate_source(body.get("candidates", "sites")) as source:
        try:
            found = _atlas().recommend(region.id, group.id, problem, k=k, target_share=target,
                                       threshold_min=threshold, source=source, rules=rules,
                                       time_limit_s=time_limit, curve=curve)
        except CandidateError as error:
            raise BadParameter("candidates", str(error)) from None
        except RecommendError as error:
            raise BadParameter(error.field, str(error)) from None
    stem = f"recommended-{region.id}-{group.id}-{problem}-{threshold:g}min"
    if fmt == "csv":
        return Response(recommendation_csv(found, region.attribution), mimetype="text/csv",
                        headers={"Content-Disposition": f"attachment; filename={stem}.csv"})
    if fmt == "geojson":
        return Response(recommendation_geojson(found, region.attribution),
                        mimetype="application/geo+json",
                        headers={"Content-Disposition": f"attachment; filename={stem}.geojson"})
    return jsonify({**found.as_dict(), "attribution": region.attribution})


class _candidate_source:
    """The ``candidates`` member as a source for :func:`geo.candidates.candidate_sites`:
    ``"sites"``, ``"nodes"``, or inline GeoJSON points written to a temporary file."""

    def __init__(self, raw: object) -> None:
        self.raw = raw
        self.folder: tempfile.TemporaryDirectory | None = None

    def __enter__(self) -> str | Path:
        if self.raw in ("sites", "nodes"):
            return self.raw
        if not isinstance(self.raw, dict) or self.raw.get("type") != "FeatureCollection":
            raise BadParameter("candidates", "use \"sites\", \"nodes\" or a GeoJSON "
                               "FeatureCollection of points")
        self.folder = tempfile.TemporaryDirectory()
        path = Path(self.folder.name) / "candidates.geojson"
        path.write_text(json.dumps(self.raw), encoding="utf-8")
        return path

    def __exit__(self, *exc) -> None:
        if self.folder is not None:
            self.folder.cleanup()


def _sites(body: dict) -> tuple[ScenarioSite, ...]:
    """The ``added`` member: a list of ``{lon, lat, name}`` objects."""
    added = body.get("added", [])
    if not isinstance(added, list):
        raise BadParameter("added", "must be a list of {lon, lat, name} objects")
    if len(added) > MAX_ADDED:
        raise BadParameter("added", f"at most {MAX_ADDED} new stations at a time")
    sites = []
    for number, item in enumerate(added, start=1):
        if not isinstance(item, dict):
            raise BadParameter("added", f"new station {number} must be an object with lon, lat")
        name = item.get("name") or ""
        if not isinstance(name, str) or len(name) > 120:
            raise BadParameter("added", f"new station {number}: name must be text of at most "
                               f"120 characters")
        try:
            lon = _number(item, "lon", None, -180, 180)
            lat = _number(item, "lat", None, -90, 90)
        except BadParameter as error:
            raise BadParameter("added", f"new station {number}: {error}") from None
        if lon is None or lat is None:
            raise BadParameter("added", f"new station {number} needs lon and lat")
        sites.append(ScenarioSite(lon=lon, lat=lat, name=name.strip(),
                                  category=str(item.get("category") or "")))
    return tuple(sites)


def _removed(body: dict) -> tuple[int, ...]:
    """The ``removed`` member: a list of station ids."""
    removed = body.get("removed", [])
    if not isinstance(removed, list) or not all(
            isinstance(i, int) and not isinstance(i, bool) for i in removed):
        raise BadParameter("removed", "must be a list of station ids")
    return tuple(removed)


@bp.post("/whatif")
def whatif():
    """Coverage with hypothetical stations added (``added``) and existing ones switched off
    (``removed``), next to the real coverage; nothing is saved."""
    body = _body()
    region, group, threshold = planning_request(body)
    added, removed = _sites(body), _removed(body)
    atlas = _atlas()
    try:
        analysis = atlas.whatif(region.id, group.id, list(added), list(removed), threshold)
    except WhatIfError as error:
        raise BadParameter(error.field, str(error)) from None
    baseline = atlas.coverage(region.id, group.id, threshold, geometry=False)
    new_areas = analysis.service_areas[analysis.service_areas["station_id"] < 0]
    return jsonify(
        region=region.id, group=group.id, threshold_min=threshold,
        report=analysis.report.as_dict(),
        baseline=baseline.report.as_dict(),
        stations=_records(analysis.stations),
        gaps=json.loads(geojson_text(_simplified(analysis.gaps), region.attribution)),
        new_service_areas=json.loads(geojson_text(_simplified(new_areas), region.attribution)),
        attribution=region.attribution,
    )


def _simplified(layer):
    """A layer simplified to about 2 m for drawing."""
    return layer.set_geometry(shapely.simplify(layer.geometry.values, 2e-5,
                                               preserve_topology=True), crs=layer.crs)


def scenario_json(scenario: Scenario) -> dict:
    """A saved scenario as JSON."""
    return {
        "id": scenario.id, "region": scenario.region, "name": scenario.name,
        "group": scenario.group, "threshold_min": scenario.threshold_min,
        "added": [{"lon": s.lon, "lat": s.lat, "name": s.name, "category": s.category}
                  for s in scenario.added],
        "removed": list(scenario.removed), "note": scenario.note,
        "created_by": scenario.created_by,
        "created_at": scenario.created_at.isoformat() if scenario.created_at else None,
        "planned_station_ids": list(scenario.planned_station_ids),
    }


@bp.get("/scenarios")
def scenarios():
    """Saved what-if scenarios, newest first (``region`` narrows them)."""
    region = request.args.get("region") or None
    return jsonify(scenarios=[scenario_json(s) for s in _scenarios().list(region)])


@bp.get("/scenarios/<int:scenario_id>")
def scenario(scenario_id: int):
    """One saved scenario."""
    try:
        return jsonify(scenario_json(_scenarios().get(scenario_id)))
    except KeyError:
        raise WriteRefused(404, "parameter", "scenario_id",
                           f"no scenario {scenario_id}") from None


@bp.post("/scenarios")
def save_scenario():
    """Save a what-if as a named scenario (any signed-in account, or an API token)."""
    actor = _writer(role="viewer")
    body = _body()
    region, group, threshold = planning_request(body)
    name = body.get("name")
    if not isinstance(name, str):
        raise BadParameter("name", "is required: a name for the scenario")
    note = body.get("note") or ""
    if not isinstance(note, str):
        raise BadParameter("note", "must be text")
    added, removed = _sites(body), _removed(body)
    known = {s.id for s in _atlas().index(region.id).stations}
    unknown = sorted(set(removed) - known)
    if unknown:
        raise BadParameter("removed", "no station with id " + ", ".join(map(str, unknown)) +
                           f" in region {region.id!r}")
    try:
        saved = _scenarios().save(Scenario(region=region.id, name=name.strip(), group=group.id,
                                           threshold_min=threshold, added=added,
                                           removed=removed, note=note), actor=actor)
    except ScenarioInvalid as error:
        field, message = next(iter(error.errors.items()))
        raise WriteRefused(422, "field", field, message, problems=[
            {"field": f, "message": m} for f, m in error.errors.items()]) from None
    return jsonify(scenario_json(saved)), 201
