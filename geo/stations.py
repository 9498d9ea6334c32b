"""The station: what a worker rest station is, and the fixed vocabularies that describe it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

#: Station kinds: id -> (Chinese name, English name).
KINDS: dict[str, tuple[str, str]] = {
    "love_station": ("户外劳动者爱心驿站", "outdoor-worker love station"),
    "courier_home": ("快递员之家", "courier home"),
    "truck_driver_home": ("货车司机之家", "truck-driver home"),
    "platform_worker_station": ("新就业形态劳动者驿站", "platform-worker station"),
}

#: Life-cycle states of a station. Only ``open`` stations serve workers.
STATUSES: dict[str, tuple[str, str]] = {
    "planned": ("规划中", "planned"),
    "building": ("建设中", "under construction"),
    "open": ("开放", "open"),
    "suspended": ("暂停", "suspended"),
    "closed": ("已关闭", "closed"),
}

#: Which union level runs the station.
LEVELS: dict[str, tuple[str, str]] = {
    "provincial": ("省级", "provincial"),
    "municipal": ("市级", "municipal"),
    "district": ("区县级", "district"),
}

#: The fixed amenity vocabulary.
AMENITIES: dict[str, tuple[str, str]] = {
    "drinking_water": ("饮用水", "drinking water"),
    "hot_water": ("热水", "hot water"),
    "microwave": ("微波炉", "microwave"),
    "air_conditioning": ("空调", "air conditioning"),
    "heating": ("取暖", "heating"),
    "phone_charging": ("手机充电", "phone charging"),
    "ebike_charging": ("电动车充电", "e-bike charging"),
    "toilet": ("卫生间", "toilet"),
    "first_aid": ("急救药箱", "first-aid kit"),
    "wifi": ("无线网络", "Wi-Fi"),
    "seating": ("座椅", "seating"),
    "rest_beds": ("休息床", "rest beds"),
    "reading": ("书报阅读", "reading"),
    "refrigerator": ("冰箱", "refrigerator"),
    "umbrella": ("雨具", "umbrellas"),
    "repair_kit": ("维修工具", "repair kit"),
    "truck_parking": ("货车停车", "parking for trucks"),
    "shower": ("淋浴", "shower"),
    "laundry": ("洗衣", "laundry"),
}


@dataclass
class Station:
    """A worker rest station.

    Coordinates are WGS-84; inputs in GCJ-02 or BD-09 are converted before a Station is made
    (see :mod:`geo.coords`). ``id``, ``created_at``, ``updated_at`` and ``version`` are set by the
    store.
    """

    name: str
    region: str
    kind: str
    lon: float
    lat: float
    status: str = "open"
    address: str = ""
    host: str = ""
    union: str = ""
    level: str = "district"
    amenities: tuple[str, ...] = ()
    opening_hours: str = ""
    phone: str = ""
    capacity: int | None = None
    smart_24h: bool = False
    verified_on: date | None = None
    notes: str = ""
    demo: bool = False
    id: int | None = None
    created_at: datetime | None = None
    updated_at: datetime | None = None
    version: int = 0
