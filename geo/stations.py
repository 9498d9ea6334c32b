"""The station: what a worker rest station is, and the fixed vocabularies that describe it."""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from datetime import date, datetime
from numbers import Integral, Real

from geo.hours import hours_error

#: A phone number may hold ASCII digits, ``+``, ``-``, spaces and parentheses, e.g.
#: ``"(025) 8888-1234"`` or ``"+86 138 0000 0000"``.
PHONE_PATTERN = re.compile(r"[0-9+\- ()]*")

#: Most people a station may be said to hold (``capacity``).
MAX_CAPACITY = 10_000

#: Characters no text may hold: control characters other than tab, line feed and carriage
#: return, and lone surrogates (which have no UTF-8 form). PostgreSQL refuses NUL outright;
#: refusing them everywhere keeps both stores alike.
_FORBIDDEN_CHARACTERS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff]")

#: The text fields of a station: free text and vocabulary ids.
TEXT_FIELDS: tuple[str, ...] = (
    "name", "region", "kind", "status", "address", "host", "union", "level", "opening_hours",
    "phone", "notes",
)

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


def validate_station(station: Station) -> dict[str, str]:
    """Check a station against the vocabularies and value ranges.

    Chinese (or any) text is allowed in every free-text field.

    Args:
        station: the station to check.

    Returns:
        Field name -> message for every problem found; empty if the station is valid.
    """
    errors: dict[str, str] = {}
    for field in TEXT_FIELDS:
        value = getattr(station, field)
        problem = text_problem(value) if isinstance(value, str) else None
        if problem:
            errors[field] = f"{field} {problem}"
    for field in ("name", "region"):
        value = getattr(station, field)
        if not isinstance(value, str) or not value.strip():
            errors[field] = f"{field} is required"
    for field, vocabulary in (("kind", KINDS), ("status", STATUSES), ("level", LEVELS)):
        value = getattr(station, field)
        if value not in vocabulary and field not in errors:
            errors[field] = f"unknown {field} {value!r}; use one of {', '.join(vocabulary)}"
    unknown = [a for a in station.amenities if a not in AMENITIES]
    if unknown:
        errors["amenities"] = f"unknown amenities {', '.join(map(repr, unknown))}"
    for field, bound in (("lon", 180.0), ("lat", 90.0)):
        value = getattr(station, field)
        if not _is_number(value) or not -bound <= value <= bound:
            errors[field] = f"{field} must be a number in [{-bound:g}, {bound:g}], got {value!r}"
    problem = None if "opening_hours" in errors else hours_error(station.opening_hours)
    if problem:
        errors["opening_hours"] = f"not valid OSM opening_hours syntax: {problem}"
    capacity = station.capacity
    if capacity is not None and (isinstance(capacity, bool) or not isinstance(capacity, Integral)
                                 or not 0 <= capacity <= MAX_CAPACITY):
        errors["capacity"] = (f"capacity must be a whole number from 0 to {MAX_CAPACITY}, got "
                              f"{capacity!r}")
    if "phone" not in errors and not PHONE_PATTERN.fullmatch(station.phone):
        errors["phone"] = "phone may only hold digits, +, -, spaces and parentheses"
    return errors


def text_problem(text: str) -> str | None:
    """Say what is wrong with a piece of text, if anything: a control character (other than
    tab, line feed and carriage return) or a lone surrogate.

    Args:
        text: any text.

    Returns:
        A message such as ``"may not hold the control character U+0000"``, or None.
    """
    found = _FORBIDDEN_CHARACTERS.search(text)
    if found is None:
        return None
    code = ord(found.group())
    what = "a lone surrogate" if 0xD800 <= code <= 0xDFFF else "the control character"
    return f"may not hold {what} U+{code:04X}"


def _is_number(value: object) -> bool:
    """Tell whether a value is a finite real number (bools excluded).

    Args:
        value: any value.

    Returns:
        True for finite ints and floats.
    """
    return isinstance(value, Real) and not isinstance(value, bool) and math.isfinite(value)
