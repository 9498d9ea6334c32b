"""The worker's page: a phone-first map to find the nearest open station that has what they need."""

from __future__ import annotations

from datetime import datetime

import numpy as np
import shapely
from flask import Blueprint, current_app, jsonify, render_template, request
from flask_babel import gettext as _

from geo import (
    AMENITIES,
    CHINA_TZ,
    KINDS,
    STATUSES,
    Atlas,
    LabelledStreets,
    Network,
    Region,
    RegionError,
    TiledLayer,
    hours_status,
    hours_text,
    navigation_links,
    open_state,
    street_names_for,
)
from web.i18n import amenity_label, current_lang, kind_label, mode_label, status_label
from web.layers import map_cache, send_tile, tile_numbers, tile_url
from web.params import MAX_ID, whole_number

bp = Blueprint("worker", __name__)

#: Amenities offered as quick "I need …" choices, most asked for first.
NEEDS = ("drinking_water", "toilet", "microwave", "phone_charging", "air_conditioning",
         "heating", "hot_water", "rest_beds", "seating", "ebike_charging", "truck_parking")

#: An icon for each amenity, always shown with its name.
AMENITY_ICONS = {
    "drinking_water": "🚰", "hot_water": "♨️", "microwave": "🍱", "air_conditioning": "❄️",
    "heating": "🔥", "phone_charging": "🔌", "ebike_charging": "🛵", "toilet": "🚻",
    "first_aid": "⛑️", "wifi": "📶", "seating": "🪑", "rest_beds": "🛏️", "reading": "📚",
    "refrigerator": "🧊", "umbrella": "☂️", "repair_kit": "🔧", "truck_parking": "🚚",
    "shower": "🚿", "laundry": "🧺",
}


def _atlas() -> Atlas:
    return current_app.extensions["atlas"]


@bp.get("/")
def page():
    """The worker page for one region (``?region=``, the default region otherwise)."""
    atlas = _atlas()
    regions = atlas.regions()
    region = atlas.region_or_default(request.args.get("region", ""))
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
        "smart_24h": _("24-hour smart station (scan the QR code to enter)"),
        "smart_badge": _("24h · scan QR"),
        "verified": _("Last verified %(date)s"), "details": _("Station page"),
        "legend": _("Legend"), "grey": _("Closed or hours unknown"), "route": _("Route"),
        "reaching": _("Tracing the streets you can reach…"),
        "reach_within": _("Within %(n)s min"),
        "reach_none": _("No open station within %(n)s min."),
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
        amenity_icons=AMENITY_ICONS,
        kind_labels={k: kind_label(k) for k in KINDS},
        status_labels={s: status_label(s) for s in STATUSES},
        basemap=basemap_config(region),
    )


@bp.get("/s/<station_id>")
def station_page(station_id: str):
    """A station's own page: a short address to share that shows everything about it without
    the map or scripts; a page in the worker's language with HTTP 404 for an unknown id."""
    store = _atlas().store
    number = whole_number(station_id, MAX_ID)
    try:
        station = store.get(number) if number is not None else None
        missing = station is None or store.is_deleted(station.id)
        region = _atlas().region(station.region) if station is not None else None
    except (KeyError, RegionError):
        missing = True
    if missing:
        return render_template("station_missing.html"), 404
    now = datetime.now(CHINA_TZ).replace(tzinfo=None)
    lang = current_lang()
    return render_template(
        "station.html",
        station=station,
        region=region,
        kind=kind_label(station.kind),
        # Planned, suspended or closed stations say so, whatever their hours.
        open_state=open_state(station.opening_hours, now) if station.status == "open" else "closed",
        open_text=hours_status(station.opening_hours, now, lang) if station.status == "open"
        else status_label(station.status),
        hours=hours_text(station.opening_hours, lang),
        amenities=[(AMENITY_ICONS.get(a, "•"), amenity_label(a)) for a in station.amenities
                   if a in AMENITIES],
        navigation=navigation_links(station.lon, station.lat, station.name),
        phone_uri="tel:" + "".join(c for c in station.phone if c.isdigit() or c == "+"),
    )


def basemap_config(region: Region) -> dict:
    """What ``static/basemap.js`` needs: the configured tiles, or the address of the region's
    street tiles (:func:`streets`; it names the network, so a browser keeps them until the
    region is built again) and the box they cover, and the attribution."""
    return {"tilesUrl": current_app.config["TILES_URL"],
            "streetsUrl": tile_url("worker.streets", region_id=region.id,
                                   v=_streets_key(region)[2]),
            "box": None if current_app.config["TILES_URL"] else _streets(region).bounds,
            "attribution": region.attribution}


@bp.get("/streets/<region_id>/<z>/<x>/<y>.json")
def streets(region_id: str, z: str, x: str, y: str):
    """A tile of the region's streets (see :mod:`geo.tiles`), drawn when there is no basemap:
    one feature of lines, each street once (not once per direction)."""
    atlas = _atlas()
    try:
        region = atlas.region(region_id)
    except RegionError as error:
        return jsonify(error={"parameter": "region", "message": str(error)}), 404
    z, x, y = tile_numbers(z, x, y)
    return send_tile(map_cache(), _streets_key(region), lambda: _streets(region), z, x, y)


def _streets_network(region: Region) -> Network:
    """The network a region's streets are drawn from: its walk network, or its first."""
    return _atlas().index(region.id).network("walk" if "walk" in region.modes
                                             else region.modes[0])


def _streets_key(region: Region) -> tuple:
    """The cache key of a region's streets: its id and a stamp of the network the atlas holds
    now (its counts of edges and shape points and the sum of their coordinates)."""
    network = _streets_network(region)
    shape = network.geom_lonlat
    return "streets", region.id, f"{len(network.edge_u)}-{len(shape)}-{shape.sum():.6f}"


def _streets(region: Region) -> LabelledStreets:
    """A region's streets indexed for tiles, named at street zoom, from the cache or made
    (:func:`street_layer`, :func:`geo.street_names.street_names_for`)."""
    return map_cache().layer(_streets_key(region), lambda: LabelledStreets(
        street_layer(_streets_network(region)), street_names_for(region)))


def street_layer(network: Network) -> TiledLayer:
    """A network's streets for tiles, each street once (not once per direction)."""
    edges = np.repeat(np.arange(len(network.edge_u)), np.diff(network.geom_offsets))
    lines = shapely.linestrings(network.geom_lonlat, indices=edges)
    _shapes, first = np.unique(shapely.to_wkb(shapely.normalize(lines)), return_index=True)
    return TiledLayer(lines[np.sort(first)])
