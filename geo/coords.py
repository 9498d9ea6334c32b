"""Datum conversion between WGS-84 and the Chinese map datums GCJ-02 and BD-09.

Everything Yizhan stores is WGS-84 (OSM, GPS). Amap and Tencent show GCJ-02, Baidu shows BD-09,
so coordinates pasted from those apps are converted on the way in (:func:`to_wgs84`) and
navigation links to them are converted on the way out (:func:`from_wgs84`).

The forward transforms are closed formulas. Their inverses are not, so the way in uses the
iterative inverses of :mod:`prcoords`, which are exact to millimetres; the one-step inverses
(``prcoords.gcj_wgs``) are off by metres. BD-09 is undone in two iterative stages,
``bd_gcj_bored`` then ``gcj_wgs_bored`` (under 5 mm), rather than with ``bd_wgs_bored``, whose
single iteration over the composed transform stops early and leaves up to about 2 cm.

Points outside mainland China are not obfuscated by Chinese map apps: there GCJ-02 equals WGS-84
and BD-09 is only Baidu's own shift of GCJ-02. prcoords decides this with a rough bounding box
(:func:`prcoords.sanity_in_china_p`); this module applies that test itself, to the GCJ-02 side of
the conversion in both directions, because prcoords' iterative inverses skip it and would
shift foreign points.
"""

from __future__ import annotations

import prcoords

#: Datums accepted on input and output.
DATUMS: tuple[str, ...] = ("wgs84", "gcj02", "bd09")


def to_wgs84(lon: float, lat: float, datum: str) -> tuple[float, float]:
    """Convert a point given in ``datum`` to WGS-84.

    Args:
        lon: longitude in degrees, in ``datum``.
        lat: latitude in degrees, in ``datum``.
        datum: ``"wgs84"``, ``"gcj02"`` (Amap, Tencent) or ``"bd09"`` (Baidu).

    Returns:
        ``(lon, lat)`` in WGS-84 degrees.

    Raises:
        ValueError: unknown datum, or a coordinate out of range.
    """
    _check(lon, lat, datum)
    point = prcoords.Coords(lat=lat, lon=lon)
    if datum == "bd09":
        point = prcoords.bd_gcj_bored(point)
    if datum in ("gcj02", "bd09") and prcoords.sanity_in_china_p(point):
        point = prcoords.gcj_wgs_bored(point, check_china=False)
    return point.lon, point.lat


def from_wgs84(lon: float, lat: float, datum: str) -> tuple[float, float]:
    """Convert a WGS-84 point to ``datum``, e.g. for a navigation link to a Chinese map app.

    Args:
        lon: WGS-84 longitude in degrees.
        lat: WGS-84 latitude in degrees.
        datum: ``"wgs84"``, ``"gcj02"`` or ``"bd09"``.

    Returns:
        ``(lon, lat)`` in ``datum`` degrees.

    Raises:
        ValueError: unknown datum, or a coordinate out of range.
    """
    _check(lon, lat, datum)
    point = prcoords.Coords(lat=lat, lon=lon)
    if datum in ("gcj02", "bd09") and prcoords.sanity_in_china_p(point):
        point = prcoords.wgs_gcj(point, check_china=False)
    if datum == "bd09":
        point = prcoords.gcj_bd(point)
    return point.lon, point.lat


def _check(lon: float, lat: float, datum: str) -> None:
    """Raise ValueError naming what is wrong with a datum or a coordinate.

    Args:
        lon: longitude in degrees.
        lat: latitude in degrees.
        datum: datum name.

    Raises:
        ValueError: datum not in :data:`DATUMS`, lon outside [-180, 180] or lat outside
            [-90, 90] (NaN included).
    """
    if datum not in DATUMS:
        raise ValueError(f"unknown datum {datum!r}; use one of {', '.join(DATUMS)}")
    if not -180.0 <= lon <= 180.0:
        raise ValueError(f"longitude {lon!r} is outside [-180, 180]")
    if not -90.0 <= lat <= 90.0:
        raise ValueError(f"latitude {lat!r} is outside [-90, 90]")
