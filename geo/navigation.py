"""Links that hand a route to a station over to the map app a worker already uses.

Each app gets the destination in its own datum: Amap (高德) in GCJ-02, Baidu Maps in BD-09 and
openstreetmap.org in WGS-84, converted with :func:`geo.coords.from_wgs84`. No link names a
start: each app starts from the phone's own position.

The formats follow the apps' public URI documentation:

- Amap route planning, https://lbs.amap.com/api/uri-api/guide/travel/route:
  ``https://uri.amap.com/navigation?to=lon,lat,name&mode=car|bus|walk|ride&src=...&callnative=1``;
  ``coordinate=gaode`` (GCJ-02) as in https://lbs.amap.com/api/uri-api/gettingstarted.
- Baidu Maps web URI ``direction`` (lbsyun.baidu.com, URI API, web): ``destination=latlng:lat,lng|
  name:...`` (latitude first), ``mode``, ``coord_type=bd09ll``, ``output=html`` and ``src`` in
  the form ``webapp.companyName.appName``; ``riding`` is listed among the modes of the app URI.
- openstreetmap.org's directions page (openstreetmap-website, ``index/directions.js``):
  ``/directions?engine=fossgis_osrm_foot|bike|car&route=from_lat,from_lon;to_lat,to_lon``; an
  empty start is filled in from the browser's location.
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


def navigation_links(lon: float, lat: float, name: str, mode: str = "walk") -> dict[str, str]:
    """Return links that open a route to a point in Amap, Baidu Maps and openstreetmap.org.

    Args:
        lon: WGS-84 longitude of the destination.
        lat: WGS-84 latitude of the destination.
        name: the destination's name, shown by the app (any text; it is URL-encoded).
        mode: our travel mode, ``walk``, ``ebike`` or ``truck``; each app gets its own nearest
            mode (see :data:`AMAP_MODES`, :data:`BAIDU_MODES`, :data:`OSM_ENGINES`).

    Returns:
        ``{"amap": url, "baidu": url, "osm": url}``.

    Raises:
        ValueError: for an unknown mode or a coordinate out of range.
    """
    if mode not in AMAP_MODES:
        raise ValueError(f"unknown mode {mode!r}; use one of {', '.join(AMAP_MODES)}")
    gcj_lon, gcj_lat = from_wgs84(lon, lat, "gcj02")
    bd_lon, bd_lat = from_wgs84(lon, lat, "bd09")
    # the apps split their values on these characters, so a name must not contain them
    amap_name = name.replace(",", "，")
    baidu_name = name.replace("|", "｜")
    amap = urlencode({
        "to": f"{_fmt(gcj_lon)},{_fmt(gcj_lat)},{amap_name}",
        "mode": AMAP_MODES[mode],
        "coordinate": "gaode",
        "callnative": "1",
        "src": AMAP_SOURCE,
    }, safe=",", quote_via=quote)
    baidu = urlencode({
        "destination": f"latlng:{_fmt(bd_lat)},{_fmt(bd_lon)}|name:{baidu_name}",
        "mode": BAIDU_MODES[mode],
        "coord_type": "bd09ll",
        "output": "html",
        "src": BAIDU_SOURCE,
    }, safe=",:", quote_via=quote)
    osm = urlencode({
        "engine": OSM_ENGINES[mode],
        "route": f";{_fmt(lat)},{_fmt(lon)}",
    }, safe=",;", quote_via=quote)
    return {
        "amap": f"https://uri.amap.com/navigation?{amap}",
        "baidu": f"https://api.map.baidu.com/direction?{baidu}",
        "osm": f"https://www.openstreetmap.org/directions?{osm}",
    }


def _fmt(degrees: float) -> str:
    """Format a coordinate with :data:`DIGITS` decimals.

    Args:
        degrees: a longitude or latitude.

    Returns:
        The rounded number as text, e.g. ``"118.779650"``.
    """
    return f"{degrees:.{DIGITS}f}"
