"""GeoJSON for stations, nearest-station answers and what a worker can reach, with the data
attribution on every one."""

from __future__ import annotations

from datetime import datetime

import numpy as np
import shapely
import shapely.geometry

from geo.hours import open_state
from geo.nearest import NearestAnswer
from geo.reach import Reach
from geo.stations import Station


def station_properties(station: Station) -> dict:
    """The JSON-ready attributes of a station (everything but its coordinates)."""
    return {
        "id": station.id,
        "name": station.name,
        "region": station.region,
        "kind": station.kind,
        "status": station.status,
        "address": station.address,
        "host": station.host,
        "union": station.union,
        "level": station.level,
        "amenities": list(station.amenities),
        "opening_hours": station.opening_hours,
        "phone": station.phone,
        "capacity": station.capacity,
        "smart_24h": station.smart_24h,
        "verified_on": station.verified_on.isoformat() if station.verified_on else None,
        "notes": station.notes,
        "demo": station.demo,
        "version": station.version,
        "updated_at": station.updated_at.isoformat() if station.updated_at else None,
    }


def station_feature(station: Station, **extra) -> dict:
    """A station as a GeoJSON Point feature; ``extra`` adds properties."""
    return {
        "type": "Feature",
        "geometry": {"type": "Point", "coordinates": [station.lon, station.lat]},
        "properties": {**station_properties(station), **extra},
    }


def stations_geojson(stations: list[Station], attribution: str, now: datetime | None = None
                     ) -> dict:
    """A FeatureCollection of stations; with ``now``, each says its ``open_state`` then
    (``open``, ``closed`` or ``unknown``, see :func:`geo.hours.open_state`)."""
    return {
        "type": "FeatureCollection",
        "attribution": attribution,
        "features": [station_feature(s, **_open_state(s, now)) for s in stations],
    }


def _open_state(station: Station, now: datetime | None) -> dict:
    """``{"open_state": …}`` at ``now``, or nothing without a time."""
    return {} if now is None else {"open_state": open_state(station.opening_hours, now)}


def answer_geojson(answer: NearestAnswer, attribution: str, now: datetime | None = None) -> dict:
    """A nearest-station answer as a FeatureCollection.

    Each hit is a Point feature (``feature_type`` ``station``, with ``rank``, ``time_s``,
    ``time_min``, ``distance_m``, ``snap_m`` (the station's distance from its street) and, given
    ``now``, ``open_state``) followed by its route as a LineString feature (``feature_type``
    ``route``, same ``rank``). The snap is reported as a top-level member: how far the point is
    from its street (``distance_m``), the walk to it counted in every time (``walk_s``) and the
    point on the street (``lon``, ``lat``).
    """
    features = []
    for rank, hit in enumerate(answer.hits, start=1):
        timing = {
            "rank": rank,
            "time_s": round(hit.time_s, 1),
            "time_min": round(hit.time_s / 60, 1),
            "distance_m": round(hit.distance_m, 1),
        }
        features.append(station_feature(hit.station, feature_type="station", **timing,
                                        snap_m=round(hit.station_snap_m, 1),
                                        **_open_state(hit.station, now)))
        features.append({
            "type": "Feature",
            "geometry": {"type": "LineString", "coordinates": hit.route.round(7).tolist()},
            "properties": {"feature_type": "route", "station_id": hit.station.id, **timing},
        })
    return {
        "type": "FeatureCollection",
        "mode": answer.mode,
        "snap": {"distance_m": round(answer.snap.distance_m, 1),
                 "walk_s": round(answer.snap.walk_s, 1),
                 "lon": round(answer.snap.lon, 7), "lat": round(answer.snap.lat, 7)},
        "attribution": attribution,
        "features": features,
    }


def reach_geojson(found: Reach, attribution: str, now: datetime | None = None) -> dict:
    """What a worker can reach as a FeatureCollection: one (Multi)Polygon per time, ascending
    (``feature_type`` ``area``, with ``minutes``, ``reached_m`` and ``area_m2``), then the
    stations inside, soonest first (``feature_type`` ``station``, with ``time_s``, ``minutes``,
    the shortest time they lie within, and, given ``now``, ``open_state``)."""
    features = [{
        "type": "Feature",
        "geometry": shapely.geometry.mapping(shapely.set_precision(row.geometry, 1e-7)),
        "properties": {"feature_type": "area", "minutes": float(row.minutes),
                       "reached_m": round(float(row.reached_m), 1),
                       "area_m2": round(float(row.area_m2), 1)},
    } for row in found.areas.itertuples()]
    times = found.areas["minutes"].to_numpy()
    for station, time_s in found.stations:
        features.append(station_feature(
            station, feature_type="station", time_s=round(time_s, 1),
            minutes=float(times[np.searchsorted(times * 60.0, time_s)]),
            **_open_state(station, now)))
    return {"type": "FeatureCollection", "mode": found.mode, "attribution": attribution,
            "features": features}
