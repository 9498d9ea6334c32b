"""Stations near a point: great-circle distances on a sphere, found with PostGIS on PostgreSQL
and by a lon/lat bounding box on any other database."""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
from geoalchemy2 import Geography
from sqlalchemy import cast, func, or_, select
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ColumnElement

from geo.station_tables import GEOM, StationRow

#: Radius of the sphere distances are measured on: the WGS-84 mean radius (2a + b) / 3, which is
#: also the sphere PostGIS uses for geography distances with ``use_spheroid = false``.
EARTH_RADIUS_M: float = (2 * 6_378_137.0 + 6_356_752.314_245_179) / 3

#: How a dialect finds stations near a point; see :func:`within_bounding_box`.
WithinQuery = Callable[
    [Session, float, float, float, list[ColumnElement[bool]]], list[tuple[StationRow, float]]
]


def within_postgis(session: Session, lon: float, lat: float, metres: float,
                   filters: list[ColumnElement[bool]]) -> list[tuple[StationRow, float]]:
    """Find stations near a point with PostGIS (see :meth:`geo.store.StationStore.within`).

    ``ST_DWithin`` on the stations' geography uses the GiST index on ``geom::geography``.

    Args:
        session: an open session.
        lon: the point's longitude.
        lat: the point's latitude.
        metres: the largest distance.
        filters: further conditions on the stations.

    Returns:
        (row, distance in metres), nearest first.
    """
    point = cast(func.ST_SetSRID(func.ST_MakePoint(lon, lat), 4326), Geography)
    station = cast(GEOM, Geography)
    distance = func.ST_Distance(station, point, False)
    query = (
        select(StationRow, distance)
        .where(func.ST_DWithin(station, point, metres, False), *filters)
        .order_by(distance, StationRow.id)
    )
    return [(row, float(metres_away)) for row, metres_away in session.execute(query)]


def within_bounding_box(session: Session, lon: float, lat: float, metres: float,
                        filters: list[ColumnElement[bool]]) -> list[tuple[StationRow, float]]:
    """Find stations near a point on any SQL database (see
    :meth:`geo.store.StationStore.within`).

    The database returns the stations in the lon/lat box around the circle; their exact
    great-circle distances are computed in numpy.

    Args:
        session: an open session.
        lon: the point's longitude.
        lat: the point's latitude.
        metres: the largest distance.
        filters: further conditions on the stations.

    Returns:
        (row, distance in metres), nearest first.
    """
    south, north, lon_ranges = _bounding_box(lon, lat, metres)
    query = select(StationRow).where(
        *filters,
        StationRow.lat.between(south, north),
        or_(*(StationRow.lon.between(west, east) for west, east in lon_ranges)),
    )
    rows = session.scalars(query).all()
    if not rows:
        return []
    distances = _great_circle_m(
        lon, lat, np.array([row.lon for row in rows]), np.array([row.lat for row in rows])
    )
    order = np.lexsort((np.array([row.id for row in rows]), distances))
    order = order[distances[order] <= metres]
    return [(rows[i], float(distances[i])) for i in order]


def _bounding_box(lon: float, lat: float, metres: float
                  ) -> tuple[float, float, list[tuple[float, float]]]:
    """Return the smallest lon/lat box holding every point within a distance of a point.

    Args:
        lon: the centre's longitude.
        lat: the centre's latitude.
        metres: the radius, on the sphere of radius :data:`EARTH_RADIUS_M`.

    Returns:
        South and north latitude, and one or two (west, east) longitude ranges (two when the box
        crosses the antimeridian; the whole circle of longitudes when it holds a pole).
    """
    angle = metres / EARTH_RADIUS_M
    south, north = lat - math.degrees(angle), lat + math.degrees(angle)
    if south <= -90 or north >= 90:
        return max(south, -90.0), min(north, 90.0), [(-180.0, 180.0)]
    half_width = math.degrees(math.asin(math.sin(angle) / math.cos(math.radians(lat))))
    west, east = lon - half_width, lon + half_width
    if west < -180:
        return south, north, [(west + 360, 180.0), (-180.0, east)]
    if east > 180:
        return south, north, [(west, 180.0), (-180.0, east - 360)]
    return south, north, [(west, east)]


def _great_circle_m(lon: float, lat: float, lons: np.ndarray, lats: np.ndarray) -> np.ndarray:
    """Return haversine distances from one point to many.

    Args:
        lon: the point's longitude in degrees.
        lat: the point's latitude in degrees.
        lons: the other points' longitudes in degrees.
        lats: the other points' latitudes in degrees.

    Returns:
        Distances in metres on the sphere of radius :data:`EARTH_RADIUS_M`.
    """
    lat0, lats = math.radians(lat), np.radians(lats)
    half_dlat = (lats - lat0) / 2
    half_dlon = np.radians(lons - lon) / 2
    h = np.sin(half_dlat) ** 2 + math.cos(lat0) * np.cos(lats) * np.sin(half_dlon) ** 2
    return 2 * EARTH_RADIUS_M * np.arcsin(np.sqrt(np.clip(h, 0.0, 1.0)))
