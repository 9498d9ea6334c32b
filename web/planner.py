"""The planner's page: coverage of each worker group, gaps and service areas on a folium map."""

from __future__ import annotations

from html import escape

import folium
import geopandas as gpd
import h3
import shapely
import numpy as np
from flask import Blueprint, Response, current_app, render_template, request, url_for
from flask_babel import gettext as _

from geo.analysis import CoverageAnalysis
from geo.atlas import Atlas
from geo.candidates import CANDIDATE_CATEGORIES, NODE_CATEGORY
from geo.charts import curve_chart
from geo.groups import GROUPS
from geo.recommend import PROBLEMS
from geo.regions import Region
from web import params
from web.api import coverage_analysis, coverage_request
from web.i18n import group_label, kind_label

bp = Blueprint("planner", __name__, url_prefix="/planner")

#: Colours of the covered-share classes of the demand hexagons, from uncovered to covered.
SHARE_CLASSES = ((0.2, "#b71c1c"), (0.4, "#e65100"), (0.6, "#f9a825"), (0.8, "#9ccc65"),
                 (1.01, "#2e7d32"))
KIND_COLOURS = {"love_station": "#d7263d", "courier_home": "#1b998b",
                "truck_driver_home": "#2e86ab", "platform_worker_station": "#f49d37"}


def use_local_assets() -> None:
    """Make folium maps load Leaflet (and jQuery, which folium's popups use) from the app's
    vendor routes instead of from CDNs."""
    folium.Map.default_js = [("leaflet", "/vendor/leaflet/leaflet.js"),
                             ("jquery", "/vendor/jquery/jquery.min.js")]
    folium.Map.default_css = [("leaflet_css", "/vendor/leaflet/leaflet.css")]


def _atlas() -> Atlas:
    return current_app.extensions["atlas"]


@bp.get("")
def page():
    """The planner page for a region, group and threshold (query parameters as the API's)."""
    region, group, threshold = coverage_request(request.args)
    scenario_id = params.integer(request.args, "scenario", None, 1, 2**31 - 1)
    analysis = coverage_analysis(region, group, threshold)
    fmap = coverage_map(analysis, region)
    figure = fmap.get_root()
    figure.render()
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
        chart_svg=_chart(analysis, region, "svg").decode("utf-8"),
        legend=_legend(),
        map_header=figure.header.render(),
        map_html=figure.html.render(),
        map_script=figure.script.render(),
        map_name=fmap.get_name(),
        problems=problem_labels(),
        categories=category_labels(),
        planning={
            "region": region.id, "group": group.id, "threshold": threshold,
            "scenario": scenario_id, "map": fmap.get_name(), "layers": layer_variables(fmap),
            "texts": planning_texts(),
            "categories": {**category_labels(), NODE_CATEGORY: _("street node")},
        },
        basemap={"tilesUrl": current_app.config["TILES_URL"], "attribution": region.attribution,
                 "streetsUrl": url_for("worker.streets", region_id=region.id)},
        exports={
            "gaps_geojson": url_for("api.gaps", **query),
            "gaps_gpkg": url_for("api.gaps", format="gpkg", **query),
            "areas_geojson": url_for("api.service_area_layer", **query),
            "areas_gpkg": url_for("api.service_area_layer", format="gpkg", **query),
            "cells_csv": url_for("api.cells_csv", **query),
            "chart_png": url_for("planner.chart", **query),
            "coverage_json": url_for("api.coverage", **query),
        },
    )


@bp.get("/chart.png")
def chart():
    """The cumulative coverage curve as a PNG download."""
    region, group, threshold = coverage_request(request.args)
    analysis = coverage_analysis(region, group, threshold, geometry=False)
    return Response(_chart(analysis, region, "png"), mimetype="image/png", headers={
        "Content-Disposition": f"attachment; filename=curve-{region.id}-{group.id}-"
                               f"{threshold:g}min.png"})


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


def layer_variables(fmap: folium.Map) -> dict[str, str]:
    """The JavaScript variables of the coverage map's gap and station layers.

    Args:
        fmap: a map made by :func:`coverage_map`.

    Returns:
        ``gaps`` and ``stations`` (when the map has them) to the variable of that layer.
    """
    keys = {_("Gaps"): "gaps", _("Stations"): "stations"}
    return {keys[child.layer_name]: child.get_name() for child in fmap._children.values()
            if getattr(child, "layer_name", None) in keys}


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


def _share_colour(share: float) -> str:
    """The colour class of a covered share."""
    return next(colour for high, colour in SHARE_CLASSES if share < high)


def coverage_map(analysis: CoverageAnalysis, region: Region) -> folium.Map:
    """A folium map with switchable layers: demand hexagons, service areas, gaps, uncovered
    streets and stations. Text from station records is escaped. The page adds the basemap
    (``static/basemap.js``)."""
    index = _atlas().index(region.id)
    min_lon, min_lat, max_lon, max_lat = index.bounds
    fmap = folium.Map(tiles=None, max_zoom=19, control_scale=True, prefer_canvas=True,
                      zoom_snap=0.25)
    fmap.fit_bounds([[min_lat, min_lon], [max_lat, max_lon]])
    _hexagons(analysis).add_to(fmap)
    detail = display_tolerance(index.bounds)
    folium.GeoJson(
        for_display(analysis.service_areas, detail).assign(
            name=analysis.service_areas["name"].map(escape)),
        name=_("Service areas"),
        style_function=lambda _f: {"color": "#2e86ab", "weight": 1, "fillOpacity": 0.12},
        tooltip=folium.GeoJsonTooltip(["name", "reached_m"], aliases=[_("Station"),
                                                                       _("Streets reached (m)")]),
    ).add_to(fmap)
    if len(analysis.gaps):
        folium.GeoJson(
            for_display(analysis.gaps, detail).replace([np.inf, -np.inf], np.nan).round(1),
            name=_("Gaps"),
            style_function=lambda _f: {"color": "#b71c1c", "weight": 2, "fillOpacity": 0.25},
            tooltip=folium.GeoJsonTooltip(
                ["gap", "uncovered_demand", "street_m", "centre_time_s"],
                aliases=[_("Gap"), _("Uncovered demand"), _("Uncovered street (m)"),
                         _("Time to nearest station (s)")]),
        ).add_to(fmap)
    if len(analysis.uncovered):
        folium.GeoJson(for_display(analysis.uncovered, detail), name=_("Uncovered streets"),
                       show=False,
                       style_function=lambda _f: {"color": "#b71c1c", "weight": 2}).add_to(fmap)
    stations = folium.FeatureGroup(name=_("Stations"))
    by_id = {s.id: s for s in index.stations}
    for row in analysis.stations.itertuples():
        station = by_id[row.station_id]
        popup = (f'<div class="station-popup" data-station-id="{int(station.id)}">'
                 f"<strong>{escape(station.name)}</strong><br>{escape(kind_label(station.kind))}"
                 + (f"<br>{escape(_('Demo data'))}" if station.demo else "") + "</div>")
        folium.CircleMarker(
            [station.lat, station.lon], radius=6, color="#ffffff", weight=2, fill=True,
            fill_color=KIND_COLOURS.get(station.kind, "#555"), fill_opacity=1,
            popup=folium.Popup(popup, max_width=260),
            tooltip=escape(station.name),
        ).add_to(stations)
    stations.add_to(fmap)
    folium.LayerControl(collapsed=False).add_to(fmap)
    return fmap


def display_tolerance(bounds: tuple[float, float, float, float]) -> float:
    """How much (degrees) shapes may be simplified for drawing a region: about 2 m in a district,
    more in a city, so pages stay small."""
    span = max(bounds[2] - bounds[0], bounds[3] - bounds[1])
    return max(2e-5, span / 5000)


def for_display(layer: gpd.GeoDataFrame, tolerance: float) -> gpd.GeoDataFrame:
    """A layer with its shapes simplified and snapped to a grid of ``tolerance`` / 4 degrees."""
    simple = shapely.simplify(layer.geometry.values, tolerance, preserve_topology=True)
    return layer.set_geometry(shapely.set_precision(simple, tolerance / 4), crs=layer.crs)


def _hexagons(analysis: CoverageAnalysis) -> folium.GeoJson:
    """The demand hexagons, coloured by covered share."""
    features = []
    for cell in analysis.cells.itertuples():
        ring = [[lon, lat] for lat, lon in h3.cell_to_boundary(cell.cell)]
        features.append({
            "type": "Feature",
            "geometry": {"type": "Polygon", "coordinates": [ring + ring[:1]]},
            "properties": {
                "demand": round(float(cell.demand), 1),
                "covered_pct": round(float(cell.covered_share) * 100, 1),
                "mean_time_min": None if np.isnan(cell.mean_time_min)
                else round(float(cell.mean_time_min), 1),
                "colour": _share_colour(float(cell.covered_share)),
            },
        })
    return folium.GeoJson(
        {"type": "FeatureCollection", "features": features},
        name=_("Demand hexagons"),
        style_function=lambda f: {"color": "#ffffff", "weight": 0.5, "fillOpacity": 0.55,
                                  "fillColor": f["properties"]["colour"]},
        tooltip=folium.GeoJsonTooltip(["demand", "covered_pct", "mean_time_min"],
                                      aliases=[_("Demand"), _("Covered (%)"),
                                               _("Mean time (min)")]),
    )
