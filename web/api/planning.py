"""The planner's JSON API: recommended sites, what-if coverage and saved scenarios.

Routes join the API blueprint (``/api/v1``). Requests are JSON objects; every bad member is a
400 answer naming it. Recommendations and what-ifs run in the app's job pool
(:mod:`web.jobs`); an anonymous caller gets smaller limits than a signed-in planner, and a
refusal for being over them names the member and says that signing in raises the limit.
"""

from __future__ import annotations

import json
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from flask import Response, current_app, jsonify, request
from flask_babel import gettext as _
from werkzeug.datastructures import MultiDict

from geo import (
    CANDIDATE_CATEGORIES,
    NOTE_LIMIT,
    PROBLEMS,
    REMOVED_LIMIT,
    SITE_CATEGORY_LIMIT,
    SITE_NAME_LIMIT,
    CandidateError,
    CandidateRules,
    RecommendError,
    Region,
    Scenario,
    ScenarioInvalid,
    ScenarioSite,
    ScenarioStore,
    WhatIfError,
    clean_text,
    geojson_text,
    parse_excluded_area,
    recommendation_csv,
    recommendation_geojson,
)
from web import params
from web.api import bp, current_atlas
from web.api.access import WriteRefused, signed_in, writer
from web.api.coverage import coverage_request, json_rows
from web.jobs import rate_limited, run_job
from web.layers import display_tolerance, for_display
from web.params import BadParameter

#: Most new sites one request may ask for.
MAX_SITES = 100

#: Longest solver time limit a request may set (seconds).
MAX_TIME_LIMIT_S = 60.0

#: Most hypothetical stations in one what-if.
MAX_ADDED = 50

#: Most new sites an anonymous caller may ask for.
ANONYMOUS_SITES = 10

#: Longest solver time limit an anonymous caller may set (seconds).
ANONYMOUS_TIME_LIMIT_S = 10.0

#: Most candidate points of their own an anonymous caller may send (every street node as a
#: candidate needs signing in).
ANONYMOUS_CANDIDATE_POINTS = 500

#: Most hypothetical stations in an anonymous caller's what-if.
ANONYMOUS_ADDED = 10

#: The minimum distance from existing stations candidates keep unless told otherwise (metres):
#: a site that already hosts a station is no candidate.
DEFAULT_MIN_DISTANCE_M = 50.0


def _scenarios() -> ScenarioStore:
    return current_app.extensions["scenarios"]


def planning_request(body: dict) -> tuple[Region, object, float]:
    """The region, worker group and threshold members of a JSON request (as the coverage
    query parameters)."""
    return coverage_request(json_args(body))


def json_args(body: dict) -> MultiDict:
    """The scalar members of a JSON object as text, so that :mod:`web.params` reads them as it
    reads query parameters (a whole number written ``5.0`` is the JSON number 5)."""
    def text(value: object) -> str:
        if isinstance(value, float) and value.is_integer():
            return str(int(value))
        return str(value)

    return MultiDict({key: text(value) for key, value in body.items()
                      if value is not None and not isinstance(value, (list, dict))})


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
        if not isinstance(excluded, dict):
            raise BadParameter("excluded", "must be a GeoJSON polygon, feature or feature "
                                           "collection")
        try:
            excluded = parse_excluded_area(excluded)
        except CandidateError as error:
            raise BadParameter("excluded", str(error)) from None
    return CandidateRules(
        min_distance_m=params.number(json_args(body), "min_distance_m", 0, 100_000,
                                     DEFAULT_MIN_DISTANCE_M),
        excluded=excluded, categories=categories)


def _within_anonymous_limit(member: str, value: float | None, limit: float,
                            most: float) -> None:
    """Refuse an anonymous caller's ``value`` above ``limit`` (a signed-in planner's being
    ``most``), naming the member."""
    if value is not None and value > limit and not signed_in():
        raise BadParameter(member, _("at most %(limit)s without signing in; signing in raises "
                                     "the limit to %(most)s", limit=f"{limit:g}",
                                     most=f"{most:g}"))


def _anonymous_candidates(raw: object) -> None:
    """Refuse every street node, or more than a few points of their own, as an anonymous
    caller's candidates."""
    if signed_in():
        return
    if raw == "nodes":
        raise BadParameter("candidates", _("every street node as a candidate needs signing "
                                           "in; without it, use the host-like sites or up to "
                                           "%(n)s points of your own",
                                           n=ANONYMOUS_CANDIDATE_POINTS))
    features = raw.get("features") if isinstance(raw, dict) else None
    if isinstance(features, list) and len(features) > ANONYMOUS_CANDIDATE_POINTS:
        raise BadParameter("candidates", _("at most %(limit)s points without signing in; "
                                           "signing in raises the limit",
                                           limit=ANONYMOUS_CANDIDATE_POINTS))


@bp.post("/recommend")
@rate_limited
def recommend():
    """Recommend new station sites; ``?format=geojson`` or ``csv`` returns the sites alone."""
    body = params.json_body(request)
    fmt = request.args.get("format", "json")
    if fmt not in ("json", "geojson", "csv"):
        raise BadParameter("format", f"unknown format {fmt!r}; use json, geojson or csv")
    region, group, threshold = planning_request(body)
    problem = body.get("problem", "mclp")
    if problem not in PROBLEMS:
        raise BadParameter("problem", f"unknown problem {problem!r}; use one of "
                           f"{', '.join(PROBLEMS)}")
    args = json_args(body)
    k = params.integer(args, "k", None, 1, MAX_SITES) if problem != "lscp" else None
    if problem != "lscp" and k is None:
        raise BadParameter("k", "is required: how many new sites (1 to 100)")
    target = params.number(args, "target", 0.0, 1.0, 0.0) if problem == "lscp" else None
    if problem == "lscp" and not target:
        raise BadParameter("target", "is required for lscp: the share of demand to cover, "
                           "above 0 and at most 1")
    _within_anonymous_limit("k", k, ANONYMOUS_SITES, MAX_SITES)
    time_limit = params.number(args, "time_limit_s", 0.1, MAX_TIME_LIMIT_S, 10.0)
    _within_anonymous_limit("time_limit_s", time_limit, ANONYMOUS_TIME_LIMIT_S,
                            MAX_TIME_LIMIT_S)
    curve = body.get("curve", True)
    if not isinstance(curve, bool):
        raise BadParameter("curve", "must be true or false")
    rules = candidate_rules(body)
    candidates = body.get("candidates", "sites")
    _anonymous_candidates(candidates)
    atlas = current_atlas()
    with _candidate_source(candidates) as source:
        try:
            found = run_job("recommend", lambda: atlas.recommend(
                region.id, group.id, problem, k=k, target_share=target,
                threshold_min=threshold, source=source, rules=rules, time_limit_s=time_limit,
                curve=curve))
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


@contextmanager
def _candidate_source(raw: object) -> Iterator[str | Path]:
    """The ``candidates`` member as a source for :func:`geo.candidates.candidate_sites`:
    ``"sites"``, ``"nodes"``, or inline GeoJSON points written to a temporary file."""
    if raw in ("sites", "nodes"):
        yield raw
        return
    if not isinstance(raw, dict) or raw.get("type") != "FeatureCollection":
        raise BadParameter("candidates", "use \"sites\", \"nodes\" or a GeoJSON "
                           "FeatureCollection of points")
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "candidates.geojson"
        path.write_text(json.dumps(raw), encoding="utf-8")
        yield path


def _sites(body: dict) -> tuple[ScenarioSite, ...]:
    """The ``added`` member: a list of ``{lon, lat, name, category}`` objects; a bad member of
    one names itself by the site's place in the list, ``added[0].lon``."""
    added = body.get("added", [])
    if not isinstance(added, list):
        raise BadParameter("added", "must be a list of {lon, lat, name} objects")
    if len(added) > MAX_ADDED:
        raise BadParameter("added", f"at most {MAX_ADDED} new stations at a time")
    _within_anonymous_limit("added", len(added), ANONYMOUS_ADDED, MAX_ADDED)
    sites = []
    for index, item in enumerate(added):
        member = f"added[{index}]"
        if not isinstance(item, dict):
            raise BadParameter(member, f"new station {index + 1} must be an object with lon, "
                                       f"lat")
        text = {field: _site_text(item, member, field, limit)
                for field, limit in (("name", SITE_NAME_LIMIT),
                                     ("category", SITE_CATEGORY_LIMIT))}
        place = json_args(item)
        try:
            lon = params.number(place, "lon", -180, 180)
            lat = params.number(place, "lat", -90, 90)
        except BadParameter as error:
            raise BadParameter(f"{member}.{error.parameter}",
                               f"new station {index + 1}: {error.message}") from None
        sites.append(ScenarioSite(lon=lon, lat=lat, **text))
    return tuple(sites)


def _site_text(item: dict, member: str, field: str, limit: int) -> str:
    """A text member of an added site, cleaned (absent or null is empty); 400 naming
    ``added[i].<field>`` for anything but text of at most ``limit`` characters."""
    value = item.get(field)
    if value is None:
        return ""
    if not isinstance(value, str) or len(value) > limit:
        raise BadParameter(f"{member}.{field}", f"must be text of at most {limit} characters")
    return clean_text(value)


def _removed(body: dict) -> tuple[int, ...]:
    """The ``removed`` member: a list of at most :data:`~geo.scenarios.REMOVED_LIMIT` station
    ids."""
    removed = body.get("removed", [])
    if not isinstance(removed, list) or not all(
            isinstance(i, int) and not isinstance(i, bool) for i in removed):
        raise BadParameter("removed", "must be a list of station ids")
    if len(removed) > REMOVED_LIMIT:
        raise BadParameter("removed", f"at most {REMOVED_LIMIT} stations at a time, not "
                                      f"{len(removed)}")
    return tuple(removed)


@bp.post("/whatif")
@rate_limited
def whatif():
    """Coverage with hypothetical stations added (``added``) and existing ones switched off
    (``removed``), next to the real coverage; nothing is saved."""
    body = params.json_body(request)
    region, group, threshold = planning_request(body)
    added, removed = _sites(body), _removed(body)
    atlas = current_atlas()

    def answer() -> dict:
        analysis = atlas.whatif(region.id, group.id, list(added), list(removed), threshold)
        baseline = atlas.coverage(region.id, group.id, threshold, geometry=False)
        new_areas = analysis.service_areas[analysis.service_areas["station_id"] < 0]
        detail = display_tolerance(atlas.index(region.id).bounds)
        return dict(
            region=region.id, group=group.id, threshold_min=threshold,
            report=analysis.report.as_dict(),
            baseline=baseline.report.as_dict(),
            stations=json_rows(analysis.stations),
            gaps=json.loads(geojson_text(for_display(analysis.gaps, detail),
                                         region.attribution)),
            new_service_areas=json.loads(geojson_text(for_display(new_areas, detail),
                                                      region.attribution)),
            attribution=region.attribution,
        )

    try:
        return jsonify(run_job("whatif", answer))
    except WhatIfError as error:
        raise BadParameter(error.field, str(error)) from None


def scenario_json(scenario: Scenario, author: bool = True) -> dict:
    """A saved scenario as JSON; ``author=False`` leaves out who saved it (``created_by``), as
    anonymous callers get it: user names are for signed-in accounts only."""
    shown = {
        "id": scenario.id, "region": scenario.region, "name": scenario.name,
        "group": scenario.group, "threshold_min": scenario.threshold_min,
        "added": [{"lon": s.lon, "lat": s.lat, "name": s.name, "category": s.category}
                  for s in scenario.added],
        "removed": list(scenario.removed), "note": scenario.note,
        "created_by": scenario.created_by,
        "created_at": scenario.created_at.isoformat() if scenario.created_at else None,
        "planned_station_ids": list(scenario.planned_station_ids),
    }
    if not author:
        del shown["created_by"]
    return shown


@bp.get("/scenarios")
def scenarios():
    """Saved what-if scenarios, newest first (``region`` narrows them); who saved each only
    for a signed-in account or an API token."""
    region = request.args.get("region") or None
    return jsonify(scenarios=[scenario_json(s, signed_in())
                              for s in _scenarios().list(region)])


@bp.get("/scenarios/<id:scenario_id>")
def scenario(scenario_id: int):
    """One saved scenario; who saved it only for a signed-in account or an API token."""
    try:
        found = _scenarios().get(scenario_id)
    except KeyError:
        raise WriteRefused(404, "parameter", "scenario_id",
                           f"no scenario {scenario_id}") from None
    return jsonify(scenario_json(found, signed_in()))


@bp.post("/scenarios")
def save_scenario():
    """Save a what-if as a named scenario (any signed-in account, or an API token)."""
    actor = writer(role="viewer")
    body = params.json_body(request)
    region, group, threshold = planning_request(body)
    name = body.get("name")
    if not isinstance(name, str):
        raise BadParameter("name", "is required: a name for the scenario")
    note = body.get("note") or ""
    if not isinstance(note, str) or len(note) > NOTE_LIMIT:
        raise BadParameter("note", f"must be text of at most {NOTE_LIMIT} characters")
    added, removed = _sites(body), _removed(body)
    try:
        current_atlas().check_removed(region.id, removed)
    except WhatIfError as error:
        raise BadParameter(error.field, str(error)) from None
    try:
        saved = _scenarios().save(Scenario(region=region.id, name=name,
                                           group=group.id, threshold_min=threshold,
                                           added=added, removed=removed, note=note),
                                  actor=actor)
    except ScenarioInvalid as error:
        field, message = next(iter(error.errors.items()))
        raise WriteRefused(422, "field", field, message, problems=[
            {"field": f, "message": m} for f, m in error.errors.items()]) from None
    return jsonify(scenario_json(saved)), 201
