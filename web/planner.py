"""The planner's page: coverage of each worker group, gaps and service areas on a map whose
layers (``static/planner_map.js``) load as tiles from :func:`tile` when they are turned on."""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import Future
from threading import Lock
from typing import TypeVar

import numpy as np
from flask import Blueprint, Response, current_app, g, render_template, request, url_for
from flask_babel import get_locale
from flask_babel import gettext as _

from geo import (
    CANDIDATE_CATEGORIES,
    GROUPS,
    KINDS,
    NODE_CATEGORY,
    PROBLEMS,
    Atlas,
    CoverageAnalysis,
    Region,
    TiledLayer,
    WorkerGroup,
    curve_chart,
    properties_text,
)
from web import params
from web.api.coverage import coverage_analysis, coverage_cached, coverage_request
from web.i18n import group_label, kind_label
from web.jobs import rate_limited, rate_limited_unless, run_job
from web.layers import hexagon_layer, map_cache, send_figure, send_tile, tile_numbers, tile_url
from web.params import BadParameter
from web.worker import basemap_config

bp = Blueprint("planner", __name__, url_prefix="/planner")

T = TypeVar("T")

#: Colours of the covered-share classes of the demand hexagons, from uncovered to covered.
SHARE_CLASSES = ((0.2, "#b71c1c"), (0.4, "#e65100"), (0.6, "#f9a825"), (0.8, "#9ccc65"),
                 (1.01, "#2e7d32"))
KIND_COLOURS = {"love_station": "#d7263d", "courier_home": "#1b998b",
                "truck_driver_home": "#2e86ab", "platform_worker_station": "#f49d37"}

#: The map's layers drawn from a coverage analysis: URL name -> (the analysis's layer, the
#: properties the map shows, whether its polygons come with outlines; see geo.tiles).
MAP_LAYERS = {
    "cells": ("cells", ("demand", "covered_pct", "mean_time_min", "colour"), False),
    "service-areas": ("service_areas", ("name", "reached_m"), True),
    "gaps": ("gaps", ("gap", "uncovered_demand", "street_m", "centre_time_s"), True),
    "uncovered-streets": ("uncovered", (), False),
}

#: The cache name of a planner view's chart.
CHART = "chart.svg"


def _atlas() -> Atlas:
    return current_app.extensions["atlas"]


def _revision() -> str:
    """The atlas's revision as the ``rev`` of a layer's or chart's address, so a browser's copy
    is never one of stations or a region that changed since."""
    return ".".join(str(part) for part in _atlas().revision())


def _figure_keys(region: Region, group: WorkerGroup, threshold: float) -> dict[str, tuple]:
    """The cache keys of everything the planner page loads for a coverage analysis: each map
    layer indexed for tiles (a tile's key adds its ``z, x, y``) and the chart in the current
    language, at the atlas's current revision (stations and regions)."""
    base = (*_atlas().revision(), region.id, group.id, threshold)
    return {**{name: (*base, name) for name in MAP_LAYERS},
            CHART: (*base, CHART, str(get_locale()))}


def _prepared() -> bool:
    """Whether everything the requested planner view shows is ready: its analysis (see
    :func:`web.api.coverage.coverage_cached`), map layers and chart."""
    if not coverage_cached(geometry=True):
        return False
    cache = map_cache()
    return all(cache.find(key) is not None
               for key in _figure_keys(*coverage_request(request.args)).values())


def _layer_kept() -> bool:
    """Whether the requested tile's layer is indexed (cutting a tile from it is light work)."""
    try:
        region, group, threshold = coverage_request(request.args)
    except BadParameter:
        return False
    keys = _figure_keys(region, group, threshold)
    g.layer_keys = keys  # the view reads the station revision once
    return map_cache().find(keys.get(request.view_args["name"])) is not None


def _prepare(region: Region, group: WorkerGroup, threshold: float) -> dict[str, object]:
    """Everything a planner view loads (each map layer indexed for tiles, and the chart, plain
    and gzipped), from the cache or made together with its coverage analysis in the job pool.

    Returns:
        Layer name to its :class:`~geo.tiles.TiledLayer`, and :data:`CHART` to its bytes.
    """
    cache = map_cache()
    keys = _figure_keys(region, group, threshold)
    found = {name: cache.find(key) for name, key in keys.items()}
    if all(figure is not None for figure in found.values()):
        return found
    atlas = _atlas()

    def work() -> dict[str, object]:
        analysis = atlas.coverage(region.id, group.id, threshold)
        made = {name: cache.layer(keys[name], lambda: _tiled_layer(name, analysis))  # noqa: B023 (called at once)
                for name in MAP_LAYERS}
        return {**made, CHART: cache.get(keys[CHART], lambda: _chart(analysis, region, "svg"))}

    return _once(tuple(keys.values()), lambda: run_job("coverage", work))


def _once(key: tuple, make: Callable[[], T]) -> T:
    """``make()``, or, while another request is already making the same ``key``, what that one
    makes (or raises): the tiles a browser asks for together share one job."""
    lock, pending = current_app.extensions.setdefault("planner_pending", (Lock(), {}))
    with lock:
        future = pending.get(key)
        mine = future is None
        if mine:
            future = pending[key] = Future()
    if not mine:
        return future.result()
    try:
        future.set_result(make())
    except BaseException as error:
        future.set_exception(error)
    finally:
        with lock:
            del pending[key]
    return future.result()


@bp.get("")
@rate_limited_unless(_prepared)
def page():
    """The planner page for a region, group and threshold (query parameters as the API's);
    a view not shown before counts against the client's rate of heavy requests."""
    region, group, threshold = coverage_request(request.args)
    scenario_id = params.integer(request.args, "scenario", None, 1, params.MAX_ID)
    prepared = _prepare(region, group, threshold)
    analysis = coverage_analysis(region, group, threshold)
    query = {"region": region.id, "group": group.id, "threshold": f"{threshold:g}"}
    return render_template(
        "planner.html",
        region=region,
        regions=_atlas().regions(),
        groups=[(g, group_label(g)) for g in GROUPS if GROUPS[g].mode in region.modes],
        group=group,
        threshold=threshold,
        analysis=analysis,
        report=analysis.report,
        top_gaps=analysis.gaps.head(8),
        stations=analysis.stations.sort_values("covered_demand", ascending=False),
        legend=_legend(),
        map_config=map_config(region, query, prepared),
        problems=problem_labels(),
        categories=category_labels(),
        planning={
            "region": region.id, "group": group.id, "threshold": threshold,
            "scenario": scenario_id,
            "texts": planning_texts(),
            "categories": {**category_labels(), NODE_CATEGORY: _("street node")},
        },
        exports={
            "gaps_geojson": url_for("api.gaps", **query),
            "gaps_gpkg": url_for("api.gaps", format="gpkg", **query),
            "areas_geojson": url_for("api.service_area_layer", **query),
            "areas_gpkg": url_for("api.service_area_layer", format="gpkg", **query),
            "cells_csv": url_for("api.cells_csv", **query),
            "cells_geojson": url_for("api.cell_layer", **query),
            "chart_png": url_for("planner.chart_png", **query),
            "chart_svg": url_for("planner.chart_svg", rev=_revision(), **query),
            "coverage_json": url_for("api.coverage", **query),
        },
    )


@bp.get("/chart.svg")
@rate_limited_unless(_prepared)
def chart_svg():
    """The cumulative coverage curve as an SVG image for the page."""
    region, group, threshold = coverage_request(request.args)
    return send_figure(_prepare(region, group, threshold)[CHART], "image/svg+xml")


@bp.get("/chart.png")
@rate_limited
def chart_png():
    """The cumulative coverage curve as a PNG download, drawn in the job pool."""
    region, group, threshold = coverage_request(request.args)
    atlas = _atlas()
    image = run_job("export", lambda: _chart(
        atlas.coverage(region.id, group.id, threshold, geometry=False), region, "png"))
    return Response(image, mimetype="image/png", headers={
        "Content-Disposition": f"attachment; filename=curve-{region.id}-{group.id}-"
                               f"{threshold:g}min.png"})


@bp.get("/tiles/<name>/<z>/<x>/<y>.json")
@rate_limited_unless(_layer_kept)
def tile(name: str, z: str, x: str, y: str):
    """One tile of a layer of the planner's map (:data:`MAP_LAYERS`; see :mod:`geo.tiles`),
    cut from the layer indexed with the rest of its planner view (:func:`_prepare`) once per
    atlas revision. The page asks for it with that revision (``rev``), so a browser keeps
    it until a station or the region changes. A tile with nothing of the layer is 204 (no
    content)."""
    if name not in MAP_LAYERS:
        raise BadParameter("layer", f"no map layer {name!r}; the layers are "
                           f"{', '.join(MAP_LAYERS)}", 404)
    z, x, y = tile_numbers(z, x, y)
    region, group, threshold = coverage_request(request.args)
    keys = g.get("layer_keys") or _figure_keys(region, group, threshold)
    return send_tile(map_cache(), keys[name], lambda: _prepare(region, group, threshold)[name],
                     z, x, y)


def _tiled_layer(name: str, analysis: CoverageAnalysis) -> TiledLayer:
    """A layer of ``analysis`` indexed for tiles, with only the properties the map shows,
    numbers to one decimal."""
    attribute, shown, outlined = MAP_LAYERS[name]
    if attribute == "cells":
        frame = hexagon_layer(analysis.cells)
        frame["covered_pct"] = frame["covered_share"] * 100
        frame["colour"] = frame["covered_share"].map(share_colour)
    else:
        frame = getattr(analysis, attribute).to_crs(4326)
    values = frame[list(shown)].round(1).replace([np.inf, -np.inf], np.nan)
    records = values.astype(object).where(values.notna(), None).to_dict("records")
    return TiledLayer(frame.geometry.values, properties_text(records), outlined)


def map_config(region: Region, query: dict[str, str], layers: dict[str, object]) -> dict:
    """What ``static/planner_map.js`` needs to draw the map: the region's bounds, the basemap,
    and each layer's name, address (``tiles`` for a tiled layer's, with the box its tiles
    cover, ``url`` for one loaded whole), whether it is on at first, and the properties its
    tooltips show with their labels (in the current language).

    Args:
        region: the region.
        query: the view's region, group and threshold as query parameters.
        layers: the view's tiled layers, by name (see :func:`_prepare`).
    """
    revision = _revision()

    def tiled(name: str) -> dict:
        return {"tiles": tile_url("planner.tile", name=name, rev=revision, **query),
                "box": layers[name].bounds}

    return {
        "bounds": _atlas().index(region.id).bounds,
        "basemap": basemap_config(region),
        "layers": [
            {"id": "cells", "name": _("Demand hexagons"), **tiled("cells"), "on": True,
             "tooltip": [["demand", _("Demand")], ["covered_pct", _("Covered (%)")],
                         ["mean_time_min", _("Mean time (min)")]]},
            {"id": "service-areas", "name": _("Service areas"), **tiled("service-areas"),
             "on": True, "tooltip": [["name", _("Station")],
                                     ["reached_m", _("Streets reached (m)")]]},
            {"id": "gaps", "name": _("Gaps"), **tiled("gaps"), "on": True,
             "tooltip": [["gap", _("Gap")], ["uncovered_demand", _("Uncovered demand")],
                         ["street_m", _("Uncovered street (m)")],
                         ["centre_time_s", _("Time to nearest station (s)")]]},
            {"id": "uncovered-streets", "name": _("Uncovered streets"),
             **tiled("uncovered-streets"), "on": False, "tooltip": []},
            {"id": "stations", "name": _("Stations"), "on": True, "tooltip": [],
             "url": url_for("api.stations", region=region.id, status="open")},
        ],
        "kinds": {kind: {"label": kind_label(kind), "colour": KIND_COLOURS.get(kind, "#555555")}
                  for kind in KINDS},
        "demo": _("Demo data"),
    }


def problem_labels() -> dict[str, str]:
    """The site-selection problems in plain words, by id (:data:`geo.recommend.PROBLEMS`)."""
    labels = {
        "mclp": _("Cover the most demand with new sites"),
        "lscp": _("Fewest new sites to reach a share of demand"),
        "pmedian": _("Shortest travel times with new sites"),
        "backup": _("Most demand covered twice (backup)"),
    }
    return {problem: labels[problem] for problem in PROBLEMS}


def category_labels() -> dict[str, str]:
    """The kinds of candidate site, by id (:data:`geo.candidates.CANDIDATE_CATEGORIES`)."""
    labels = {
        "union": _("union office"), "fuel": _("fuel station"), "post_office": _("post office"),
        "bank": _("bank branch"), "telecom": _("telecom shop"),
        "community": _("community service centre"), "convenience": _("convenience store"),
    }
    return {category: labels.get(category, category) for category in CANDIDATE_CATEGORIES}


def planning_texts() -> dict[str, str]:
    """The words ``static/planner.js`` shows, in the current language (``%(name)s`` marks where
    it puts a value)."""
    return {
        "running": _("Finding sites…"),
        "run": _("Run"),
        "optimal": _("Proven optimal."),
        "best_gap": _("Best found; proven within %(gap)s of the optimum."),
        "best_found": _("Best found; not proven optimal."),
        "time_limit": _("The time limit was reached."),
        "share_change": _("Demand covered: %(before)s → %(after)s (%(change)s)"),
        "time_change": _("Mean travel time: %(before)s → %(after)s min"),
        "sites_found": _("%(n)s new sites"),
        "unnamed": _("(unnamed)"),
        "minutes_saved": _("−%(n)s min mean time"),
        "pp": _("%(n)s pp"),
        "km": _("%(n)s km"),
        "min": _("%(n)s min"),
        "no_sites": _("No new site adds anything here."),
        "curve_x": _("new sites"),
        "curve_y": _("demand covered (%)"),
        "curve_title": _("Demand covered against the number of new sites"),
        "error": _("Something went wrong; try again."),
        "pick_category": _("Pick at least one kind of site."),
        "new_station": _("New station %(n)s"),
        "remove_hint": _("Click to remove"),
        "switch_off": _("Switch off in the what-if"),
        "switch_on": _("Switch back on"),
        "switched_off": _("switched off"),
        "whatif": _("What-if"),
        "whatif_busy": _("Working out the what-if…"),
        "whatif_idle": _("Add or switch off stations to see what changes."),
        "whatif_changes": _("%(added)s added, %(removed)s switched off"),
        "nothing_to_save": _("Add or switch off a station first."),
        "name_required": _("Give the scenario a name."),
        "saving": _("Saving…"),
        "saved": _("Saved — staff can turn it into planned stations. Scenario %(id)s."),
        "open_saved": _("Open this scenario"),
        "signed_out": _("Your session has ended; sign in again to save."),
        "scenario_loaded": _("Scenario %(id)s: %(name)s"),
        "scenario_missing": _("Scenario %(id)s could not be loaded."),
    }


def _chart(analysis: CoverageAnalysis, region: Region, fmt: str) -> bytes:
    """The coverage curve in the current language."""
    return curve_chart(
        analysis.curve, analysis.threshold_min,
        f"{region.name} · {group_label(analysis.group.id)}",
        _("travel time to the nearest open station (min)"), _("demand covered (%)"),
        region.attribution, fmt)


def _legend() -> list[tuple[str, str]]:
    """The hexagon colours with the share each stands for."""
    low = 0
    rows = []
    for high, colour in SHARE_CLASSES:
        rows.append((colour, f"{low:.0%} – {min(high, 1):.0%}"))
        low = high
    return rows


def share_colour(share: float) -> str:
    """The colour class of a covered share."""
    return next(colour for high, colour in SHARE_CLASSES if share < high)
