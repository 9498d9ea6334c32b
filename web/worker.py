"""The worker's page: a phone-first map to find the nearest open station that has what they need."""

from __future__ import annotations

import numpy as np
from flask import Blueprint, current_app, jsonify, render_template, request
from flask_babel import gettext as _

from geo.atlas import Atlas
from geo.regions import RegionError
from geo.stations import AMENITIES, KINDS
from web.i18n import amenity_label, kind_label, mode_label

bp = Blueprint("worker", __name__)

#: Amenities offered as quick "I need …" choices, most asked for first.
NEEDS = ("drinking_water", "toilet", "microwave", "phone_charging", "air_conditioning",
         "heating", "hot_water", "rest_beds", "seating", "ebike_charging", "truck_parking")


def _atlas() -> Atlas:
    return current_app.extensions["atlas"]


@bp.get("/")
def page():
    """The worker page for one region (``?region=``, the default region otherwise)."""
    atlas = _atlas()
    regions = atlas.regions()
    wanted = request.args.get("region", "")
    region = next((r for r in regions if r.id == wanted), None) or next(
        (r for r in regions if r.default), regions[0])
    index = atlas.index(region.id)
    texts = {
        "minutes": _("%(n)s min"), "metres": _("%(n)s m"), "km": _("%(n)s km"),
        "open": _("Open now"), "closed": _("Closed now"), "unknown": _("Hours unknown"),
        "no_hits": _("No matching open station can be reached from here."),
        "searching": _("Finding the nearest stations…"),
        "snapped": _("Your position is %(n)s m from the nearest street."),
        "navigate": _("Navigate"), "call": _("Call"), "demo": _("Demo data"),
        "geo_denied": _("Could not get your position; tap the map or search a place instead."),
        "no_places": _("No place with that name in this region."),
        "tap_hint": _("Tap the map, use your position, or search a place."),
        "you": _("You are here"),
        "amap": _("Amap"), "baidu": _("Baidu Maps"), "osm": _("OpenStreetMap"),
        "host": _("Host"), "hours": _("Hours"), "error": _("Something went wrong"),
        "outside": _("That point is outside this region; choose a point on its streets."),
    }
    return render_template(
        "worker.html",
        region=region,
        regions=regions,
        bounds=index.bounds,
        modes=[(m, mode_label(m)) for m in region.modes],
        needs=[(a, amenity_label(a)) for a in NEEDS],
        kinds=[(k, kind_label(k)) for k in KINDS],
        texts=texts,
        amenity_labels={a: amenity_label(a) for a in AMENITIES},
        kind_labels={k: kind_label(k) for k in KINDS},
        tiles_url=current_app.config["TILES_URL"],
    )


@bp.get("/streets/<region_id>.json")
def streets(region_id: str):
    """The region's streets as one GeoJSON MultiLineString, drawn when there is no basemap.

    Each street is sent once (not once per direction), rounded to about a metre.
    """
    atlas = _atlas()
    try:
        region = atlas.region(region_id)
    except RegionError as error:
        return jsonify(error={"parameter": "region", "message": str(error)}), 404
    network = atlas.index(region.id).network("walk" if "walk" in region.modes
                                             else region.modes[0])
    u, v = network.edge_u, network.edge_v
    once = np.nonzero((u < v) | (network.edge_ids(v, u) < 0))[0]
    lines = [network.edge_shape(e).round(5).tolist() for e in once]
    response = jsonify({"type": "Feature", "properties": {"attribution": region.attribution},
                        "geometry": {"type": "MultiLineString", "coordinates": lines}})
    response.cache_control.max_age = 3600
    return response
