"""Links that hand a route to a station over to the map app a worker already uses.

Each app gets the start (the worker's position, when known) and the destination in its own
datum: Amap (高德) in GCJ-02, Baidu Maps in BD-09 and openstreetmap.org in WGS-84, converted with
:func:`geo.coords.from_wgs84`, and the travel mode nearest ours. Without a known start each app
starts from the phone's own position.

The formats follow the apps' public URI documentation:

- Amap route planning, https://lbs.amap.com/api/uri-api/guide/travel/route:
  ``https://uri.amap.com/navigation?from=lon,lat,name&to=lon,lat,name&mode=car|bus|walk|ride
  &src=...&coordinate=gaode&callnative=1``, longitude first; ``coordinate=gaode`` says the points
  are GCJ-02 (https://lbs.amap.com/api/uri-api/gettingstarted). The web URI has no truck mode, so
  a truck is sent as ``car``.
- Baidu Maps web URI ``direction`` (https://lbsyun.baidu.com/faq/api?title=webapi/uri/web):
  ``https://api.map.baidu.com/direction?origin=latlng:lat,lng|name:...&destination=latlng:lat,lng|
  name:...&mode=driving|walking|transit|riding&coord_type=bd09ll&output=html&src=webapp.company.app``,
  latitude first; ``coord_type`` is one of ``bd09ll``, ``bd09mc``, ``gcj02`` and ``wgs84`` as in
  Baidu's direction services (https://lbsyun.baidu.com/index.php?title=webapi/direction-api). Truck
  navigation is only in the app's own ``baidumap://map/trucknavi`` scheme, which a web page cannot
  count on, so a truck is sent as ``driving``.
- openstreetmap.org's directions page (openstreetmap-website, ``app/assets/javascripts/index/
  directions.js``): ``/directions?engine=fossgis_osrm_foot|bike|car&route=from_lat,from_lon;
  to_lat,to_lon`` in WGS-84, latitude first; an empty start is filled in from the browser's
  location. Its engines have no truck profile, so a truck is sent to the car engine.
"""

from __future__ import annotations

from urllib.parse import quote, urlencode

from geo.coords import from_wgs84

#: Decimal places of every coordinate in a link (about 0.1 m).
DIGITS = 6

#: Our travel modes -> Amap's ``mode``.
AMAP_MODES: dict[str, str] = {"walk": "walk", "ebike": "ride", "truck": "car"}

#: Our travel modes -> Baidu's ``mode``.
BAIDU_MODES: dict[str, str] = {"walk": "walking", "ebike": "riding", "truck": "driving"}

#: Our travel modes -> openstreetmap.org's routing engine.
OSM_ENGINES: dict[str, str] = {
    "walk": "fossgis_osrm_foot", "ebike": "fossgis_osrm_bike", "truck": "fossgis_osrm_car",
}

#: Who is calling, as the apps ask (Baidu wants ``webapp.companyName.appName``).
AMAP_SOURCE = "yizhan"
BAIDU_SOURCE = "webapp.yizhan.yizhan"


def navigation_links(lon: float, lat: float, name: str, mode: str = "walk",
                     origin: tuple[float, float] | None = None,
                     origin_name: str = "") -> dict[str, str]:
    """Return links that open a route to a point in Amap, Baidu Maps and openstreetmap.org.

    Args:
        lon: WGS-84 longitude of the destination.
        lat: WGS-84 latitude of the destination.
        name: the destination's name, shown by the app (any text; it is URL-encoded).
        mode: our travel mode, ``walk``, ``ebike`` or ``truck``; each app gets its own nearest
            mode (see :data:`AMAP_MODES`, :data:`BAIDU_MODES`, :data:`OSM_ENGINES`).
        origin: the WGS-84 ``(lon, lat)`` the route starts from, e.g. the worker's position;
            ``None`` leaves the start to the app (the phone's own position).
        origin_name: the start's name, shown by Amap and Baidu (e.g. "My position").

    Returns:
        ``{"amap": url, "baidu": url, "osm": url}``.

    Raises:
        ValueError: for an unknown mode or a coordinate out of range.
    """
    if mode not in AMAP_MODES:
        raise ValueError(f"unknown mode {mode!r}; use one of {', '.join(AMAP_MODES)}")
    to = (lon, lat, name)
    start = None if origin is None else (origin[0], origin[1], origin_name)
    amap = urlencode({
        **({"from": _amap_point(*start)} if start else {}),
        "to": _amap_point(*to),
        "mode": AMAP_MODES[mode],
        "coordinate": "gaode",
        "callnative": "1",
        "src": AMAP_SOURCE,
    }, safe=",", quote_via=quote)
    baidu = urlencode({
        **({"origin": _baidu_point(*start)} if start else {}),
        "destination": _baidu_point(*to),
        "mode": BAIDU_MODES[mode],
        "coord_type": "bd09ll",
        "output": "html",
        "src": BAIDU_SOURCE,
    }, safe=",:", quote_via=quote)
    osm_start = "" if origin is None else f"{_fmt(origin[1])},{_fmt(origin[0])}"
    osm = urlencode({
        "engine": OSM_ENGINES[mode],
        "route": f"{osm_start};{_fmt(lat)},{_fmt(lon)}",
    }, safe=",;", quote_via=quote)
    return {
        "amap": f"https://uri.amap.com/navigation?{amap}",
        "baidu": f"https://api.map.baidu.com/direction?{baidu}",
        "osm": f"https://www.openstreetmap.org/directions?{osm}",
    }


def _amap_point(lon: float, lat: float, name: str) -> str:
    """Amap's ``lon,lat,name`` in GCJ-02 (``lon,lat`` without a name); Amap splits on commas,
    so the name has none."""
    gcj_lon, gcj_lat = from_wgs84(lon, lat, "gcj02")
    point = f"{_fmt(gcj_lon)},{_fmt(gcj_lat)}"
    return f"{point},{name.replace(',', '，')}" if name else point


def _baidu_point(lon: float, lat: float, name: str) -> str:
    """Baidu's ``latlng:lat,lng|name:...`` in BD-09, latitude first (``latlng:lat,lng`` without a
    name); Baidu splits on bars, so the name has none."""
    bd_lon, bd_lat = from_wgs84(lon, lat, "bd09")
    point = f"latlng:{_fmt(bd_lat)},{_fmt(bd_lon)}"
    return f"{point}|name:{name.replace('|', '｜')}" if name else point


def _fmt(degrees: float) -> str:
    """Format a coordinate with :data:`DIGITS` decimals.

    Args:
        degrees: a longitude or latitude.

    Returns:
        The rounded number as text, e.g. ``"118.779650"``.
    """
    return f"{degrees:.{DIGITS}f}"
