"""Demo stations, generated deterministically from an extract's own host sites or road nodes.

No openly published list of union stations has usable coordinates, so the demo regions carry
generated stations. Every one is marked as demo data: ``demo=True``, 演示 in its name and union,
and a note saying where it came from. The same input always gives the same stations.
"""

from __future__ import annotations

from typing import TypedDict

import geopandas as gpd
import numpy as np

from geo.sites import CATEGORIES
from geo.stations import KINDS, Station

#: Union named on demo stations unless the caller names one (e.g. "玄武区总工会（演示）").
DEMO_UNION = "示范区总工会（演示）"

#: Marker appended to every demo station name.
DEMO_MARK = "（演示）"

#: Station kind by host-site category; love stations are partly turned into platform-worker
#: stations (see :data:`PLATFORM_EVERY`).
KIND_BY_CATEGORY: dict[str, str] = {
    "union": "platform_worker_station",
    "fuel": "truck_driver_home",
    "post_office": "courier_home",
    "bank": "love_station",
    "telecom": "love_station",
    "community": "love_station",
}

#: Every this-many-th love station becomes a platform-worker station instead.
PLATFORM_EVERY = 4

#: Every this-many-th love station is a 24-hour self-service ("smart") station.
SMART_EVERY = 5

#: How a station of each kind is called after its host's name.
NAME_SUFFIX: dict[str, str] = {
    "love_station": "爱心驿站",
    "courier_home": "快递员之家",
    "truck_driver_home": "货车司机之家",
    "platform_worker_station": "新就业群体驿站",
}

#: Amenities every station of a kind has.
BASE_AMENITIES: dict[str, tuple[str, ...]] = {
    "love_station": (
        "drinking_water", "hot_water", "microwave", "air_conditioning", "phone_charging",
        "toilet", "first_aid", "seating",
    ),
    "courier_home": (
        "drinking_water", "hot_water", "microwave", "air_conditioning", "phone_charging",
        "ebike_charging", "toilet", "first_aid", "seating", "wifi", "refrigerator",
    ),
    "truck_driver_home": (
        "drinking_water", "hot_water", "microwave", "phone_charging", "toilet", "first_aid",
        "wifi", "shower", "laundry", "rest_beds", "truck_parking",
    ),
    "platform_worker_station": (
        "drinking_water", "hot_water", "microwave", "air_conditioning", "phone_charging",
        "ebike_charging", "toilet", "first_aid", "seating", "wifi", "repair_kit",
    ),
}

#: Amenities some stations add: station i has ``EXTRA_AMENITIES[j]`` when (i + 1) % (j + 2) == 0.
EXTRA_AMENITIES: tuple[str, ...] = ("reading", "umbrella", "heating", "wifi", "refrigerator")

#: Opening hours by kind; bank-hosted love stations keep banking hours.
HOURS_BY_KIND: dict[str, str] = {
    "love_station": "Mo-Su 08:00-20:00",
    "courier_home": "Mo-Su 08:00-21:00",
    "truck_driver_home": "24/7",
    "platform_worker_station": "Mo-Su 09:00-22:00",
}
BANK_HOURS = "Mo-Fr 09:00-17:00; Sa,Su 10:00-16:00"
ALWAYS_OPEN = "24/7"

#: Order in which categories take turns, so that a limited count still mixes hosts.
CATEGORY_ORDER: tuple[str, ...] = tuple(CATEGORIES)


def demo_stations(
    region: str, sites: gpd.GeoDataFrame, count: int | None = None, union: str = DEMO_UNION,
) -> list[Station]:
    """Make one demo station per host site.

    Sites take turns by category (:data:`CATEGORY_ORDER`, file order within a category) so
    that the first ``count`` mix hosts. The kind follows the host: petrol station -> truck-driver
    home, post office -> courier home, union office -> platform-worker station, telecom shop,
    bank and community office -> love station, every :data:`PLATFORM_EVERY`-th of which is a
    platform-worker station instead. About one station in six is suspended or closed.

    Args:
        region: id of the region the stations belong to.
        sites: host sites as returned by :func:`geo.sites.host_sites`.
        count: at most this many stations; all sites if None.
        union: the union named as running the stations.

    Returns:
        Unsaved stations that pass validation, with ``demo=True``, named like
        ``"中国银行爱心驿站（演示）"`` (``"中国银行爱心驿站·2（演示）"`` for the second of a name).
    """
    ordered = _interleave(sites)
    if count is not None:
        ordered = ordered[:count]
    stations: list[Station] = []
    seen: dict[str, int] = {}
    love_count = 0
    for i, site in enumerate(ordered):
        kind = KIND_BY_CATEGORY[site["category"]]
        hours = BANK_HOURS if site["category"] == "bank" else HOURS_BY_KIND[kind]
        smart = False
        if kind == "love_station":
            love_count += 1
            if love_count % PLATFORM_EVERY == 0:
                kind, hours = "platform_worker_station", HOURS_BY_KIND["platform_worker_station"]
            elif love_count % SMART_EVERY == 0:
                hours, smart = ALWAYS_OPEN, True
        host = site["name"] or CATEGORIES[site["category"]]
        base = host + NAME_SUFFIX[kind]
        seen[base] = seen.get(base, 0) + 1
        name = base + (f"·{seen[base]}" if seen[base] > 1 else "") + DEMO_MARK
        stations.append(Station(
            name=name,
            region=region,
            kind=kind,
            lon=float(site["lon"]),
            lat=float(site["lat"]),
            status=_demo_status(i),
            host=host,
            union=union,
            level="district",
            amenities=_demo_amenities(kind, i),
            opening_hours=hours,
            capacity=_demo_capacity(i),
            smart_24h=smart,
            notes=(f"演示数据，并非真实驿站：位置取自 OpenStreetMap 中的"
                   f"{CATEGORIES[site['category']]}（{site['osm_id']}）。"),
            demo=True,
        ))
    return stations


def demo_stations_on_network(
    region: str,
    lon: np.ndarray,
    lat: np.ndarray,
    count: int,
    kind: str = "truck_driver_home",
    union: str = DEMO_UNION,
) -> list[Station]:
    """Make demo stations at well-spread network nodes, for sources without POIs.

    Args:
        region: id of the region the stations belong to.
        lon: WGS-84 longitudes of the network nodes, (N,).
        lat: WGS-84 latitudes of the network nodes, (N,).
        count: how many stations (at most N).
        kind: the station kind, a key of :data:`geo.stations.KINDS`.
        union: the union named as running the stations.

    Returns:
        Unsaved stations with ``demo=True`` at the nodes chosen by :func:`farthest_points`,
        named ``"演示货车司机之家 #1"``, ``#2``, ... (after the kind's Chinese name).
    """
    chosen = farthest_points(lon, lat, count)
    return [
        Station(
            name=f"演示{KINDS[kind][0]} #{n}",
            region=region,
            kind=kind,
            lon=float(lon[node]),
            lat=float(lat[node]),
            status=_demo_status(n - 1),
            union=union,
            level="district",
            amenities=_demo_amenities(kind, n - 1),
            opening_hours=HOURS_BY_KIND[kind],
            capacity=_demo_capacity(n - 1),
            notes="演示数据，并非真实驿站：位置为路网节点，按均匀分布选取。",
            demo=True,
        )
        for n, node in enumerate(chosen, start=1)
    ]


def farthest_points(lon: np.ndarray, lat: np.ndarray, count: int) -> np.ndarray:
    """Pick well-spread points by farthest-point sampling.

    The first point is the one nearest the centroid; each next one is the point farthest from
    all chosen so far. Distances are metric (equirectangular about the mean latitude, exact
    enough within a city). Ties go to the lowest index, so the result is deterministic.

    Args:
        lon: longitudes in degrees, (N,).
        lat: latitudes in degrees, (N,).
        count: how many points; at most N.

    Returns:
        Indices of the chosen points, int64 (min(count, N),), in the order chosen.
    """
    lon = np.asarray(lon, dtype=np.float64)
    lat = np.asarray(lat, dtype=np.float64)
    count = min(count, len(lon))
    if count <= 0:
        return np.empty(0, dtype=np.int64)
    metres_per_degree = 6_371_000.0 * np.pi / 180.0
    x = (lon - lon.mean()) * metres_per_degree * np.cos(np.radians(lat.mean()))
    y = (lat - lat.mean()) * metres_per_degree
    chosen = np.empty(count, dtype=np.int64)
    chosen[0] = np.argmin(np.hypot(x, y))
    nearest = np.hypot(x - x[chosen[0]], y - y[chosen[0]])
    for k in range(1, count):
        chosen[k] = np.argmax(nearest)
        np.minimum(nearest, np.hypot(x - x[chosen[k]], y - y[chosen[k]]), out=nearest)
    return chosen


class _Site(TypedDict):
    """A host site's row (see :func:`geo.sites.host_sites`)."""

    name: str
    category: str
    lon: float
    lat: float
    osm_id: str


def _interleave(sites: gpd.GeoDataFrame) -> list[_Site]:
    """Order sites so that categories take turns.

    Args:
        sites: host sites with a ``category`` column.

    Returns:
        The sites as dicts: the first of each category in :data:`CATEGORY_ORDER`, then the
        second of each, and so on.
    """
    records: list[_Site] = sites.drop(columns=sites.geometry.name).to_dict("records")
    queues = [[r for r in records if r["category"] == c] for c in CATEGORY_ORDER]
    longest = max((len(q) for q in queues), default=0)
    return [q[i] for i in range(longest) for q in queues if i < len(q)]


def _demo_status(i: int) -> str:
    """Return the status of the i-th demo station: mostly open, some suspended or closed.

    Args:
        i: position of the station.

    Returns:
        ``"suspended"`` for i % 12 == 5, ``"closed"`` for i % 12 == 10, else ``"open"``.
    """
    return {5: "suspended", 10: "closed"}.get(i % 12, "open")


def _demo_amenities(kind: str, i: int) -> tuple[str, ...]:
    """Return the amenities of the i-th demo station of a kind.

    Args:
        kind: the station kind.
        i: position of the station.

    Returns:
        The kind's base amenities plus some of :data:`EXTRA_AMENITIES`, without repeats.
    """
    extras = tuple(a for j, a in enumerate(EXTRA_AMENITIES) if (i + 1) % (j + 2) == 0)
    return tuple(dict.fromkeys(BASE_AMENITIES[kind] + extras))


def _demo_capacity(i: int) -> int:
    """Return the seating capacity of the i-th demo station.

    Args:
        i: position of the station.

    Returns:
        A number of people between 4 and 16.
    """
    return 4 + (i * 7) % 13
