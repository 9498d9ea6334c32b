"""Travel modes: which OSM ways each mode may use, in which direction, and how fast.

Three modes are defined: ``walk`` (outdoor workers on foot), ``ebike`` (delivery riders on
electric bicycles) and ``truck`` (truck drivers). A :class:`ModeProfile` holds a mode's labels
and speeds; :func:`profile` returns one with configured overrides applied. The way filters and
direction rules are plain functions over an OSM tag dict, so they work for OSM ways and for any
other road source that carries OSM-style tags.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, replace
from types import MappingProxyType

#: The travel modes, in the order they are offered.
MODES = ("walk", "ebike", "truck")

#: Walking is two-way everywhere; these classes are open to pedestrians unless tagged otherwise.
WALK_HIGHWAYS = frozenset({
    "trunk", "trunk_link", "primary", "primary_link", "secondary", "secondary_link",
    "tertiary", "tertiary_link", "unclassified", "residential", "living_street", "service",
    "road", "pedestrian", "footway", "path", "steps", "track", "corridor", "bridleway",
})

#: Classes open to bicycles and e-bikes unless tagged otherwise (no motorways, no steps).
EBIKE_HIGHWAYS = frozenset({
    "trunk", "trunk_link", "primary", "primary_link", "secondary", "secondary_link",
    "tertiary", "tertiary_link", "unclassified", "residential", "living_street", "service",
    "road", "track", "cycleway",
})

#: Classes where an e-bike needs an explicit ``bicycle=yes|designated``.
EBIKE_IF_ALLOWED_HIGHWAYS = frozenset({"footway", "path", "pedestrian", "bridleway", "corridor"})

#: Drivable classes for a truck.
TRUCK_HIGHWAYS = frozenset({
    "motorway", "motorway_link", "trunk", "trunk_link", "primary", "primary_link",
    "secondary", "secondary_link", "tertiary", "tertiary_link", "unclassified", "residential",
    "living_street", "service", "road",
})

#: ``service=*`` values a truck does not use.
TRUCK_EXCLUDED_SERVICE = frozenset({"parking_aisle", "driveway", "private", "emergency_access"})

#: ``oneway=*`` values meaning "one-way in the direction of the nodes" and "against it".
ONEWAY_FORWARD = frozenset({"yes", "true", "1"})
ONEWAY_BACKWARD = frozenset({"-1", "reverse"})

#: Classes on which OSM implies ``oneway=yes`` unless tagged ``oneway=no``.
IMPLIED_ONEWAY_HIGHWAYS = frozenset({"motorway", "motorway_link"})

#: Access values that close a way unless a mode-specific tag opens it.
CLOSED_ACCESS = frozenset({"no", "private"})

#: Values of a mode-specific access tag (``foot``, ``bicycle``, ``hgv``) that open a way.
FOOT_OPEN = frozenset({"yes", "designated", "permissive", "destination"})
BICYCLE_OPEN = frozenset({"yes", "designated", "permissive", "destination"})
HGV_OPEN = frozenset({"yes", "designated", "permissive", "destination", "delivery"})

#: Tag values that say "no limit" or are not numbers: such a tag sets no restriction.
_NO_LIMIT = frozenset({"none", "default", "below_default", "no_indications", "unsigned", "signals"})

#: Unit factors to metres, tonnes and km/h; the empty unit is the tag's default unit.
_LENGTH_UNITS = MappingProxyType({"": 1.0, "m": 1.0, "cm": 0.01, "mm": 0.001, "ft": 0.3048})
_WEIGHT_UNITS = MappingProxyType({
    "": 1.0, "t": 1.0, "kg": 0.001, "st": 0.90718474, "lbs": 0.00045359237, "lb": 0.00045359237,
})
_SPEED_UNITS = MappingProxyType({
    "": 1.0, "km/h": 1.0, "kmh": 1.0, "kph": 1.0, "mph": 1.609344, "knots": 1.852,
})

_NUMBER_UNIT = re.compile(r"^\s*(\d+(?:[.,]\d+)?|\.\d+)\s*([a-z/]*)\s*$")
_FEET_INCHES = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*'\s*(?:(\d+(?:\.\d+)?)\s*(?:\"|''))?\s*$")


@dataclass(frozen=True)
class ModeProfile:
    """How one travel mode uses the street network.

    Attributes:
        id: mode id, ``walk``, ``ebike`` or ``truck``.
        label_zh: Chinese label shown to workers.
        label_en: English label.
        bidirectional: every usable way is two-way (walking ignores ``oneway``).
        default_kmh: speed on classes missing from ``highway_kmh``, km/h.
        highway_kmh: speed per ``highway`` class, km/h (read-only mapping).
        truck_height_m: vehicle height checked against ``maxheight`` (truck only).
        truck_weight_t: vehicle weight checked against ``maxweight`` (truck only).
        cap_by_maxspeed: cap class speeds by a parseable ``maxspeed`` tag.
    """

    id: str
    label_zh: str
    label_en: str
    bidirectional: bool
    default_kmh: float
    highway_kmh: Mapping[str, float]
    truck_height_m: float | None = None
    truck_weight_t: float | None = None
    cap_by_maxspeed: bool = False

    def allows(self, tags: Mapping[str, str]) -> bool:
        """Return whether this mode may use a way with these tags.

        Args:
            tags: the way's OSM tags.

        Returns:
            True if the way belongs to this mode's network.
        """
        if self.id == "walk":
            return walk_allows(tags)
        if self.id == "ebike":
            return ebike_allows(tags)
        return truck_allows(tags, self.truck_height_m or 0.0, self.truck_weight_t or 0.0)

    def direction(self, tags: Mapping[str, str]) -> int:
        """Return the direction this mode may travel a way in.

        Args:
            tags: the way's OSM tags.

        Returns:
            0 for both directions, 1 along the way's node order only, -1 against it only.
        """
        if self.bidirectional:
            return 0
        if self.id == "ebike":
            return ebike_direction(tags)
        return oneway_direction(tags)

    def class_kmh(self, highway: str) -> float:
        """Return the speed for a ``highway`` class, km/h.

        Args:
            highway: the class, e.g. ``residential``.

        Returns:
            The class speed, or ``default_kmh`` for classes without one.
        """
        return float(self.highway_kmh.get(highway, self.default_kmh))

    def speed_kmh(self, tags: Mapping[str, str]) -> float:
        """Return this mode's speed on a way, km/h.

        Args:
            tags: the way's OSM tags.

        Returns:
            The class speed, capped by a parseable ``maxspeed`` (and ``maxspeed:hgv``) when
            ``cap_by_maxspeed`` is set.
        """
        speed = self.class_kmh(tags.get("highway", ""))
        if self.cap_by_maxspeed:
            for key in ("maxspeed", "maxspeed:hgv"):
                limit = parse_speed_kmh(tags.get(key))
                if limit is not None and limit > 0:
                    speed = min(speed, limit)
        return speed


#: Built-in profiles; :func:`profile` applies per-region overrides to these.
PROFILES: Mapping[str, ModeProfile] = MappingProxyType({
    "walk": ModeProfile(
        id="walk",
        label_zh="步行",
        label_en="walk",
        bidirectional=True,
        default_kmh=4.5,
        highway_kmh=MappingProxyType({"steps": 2.5}),
    ),
    "ebike": ModeProfile(
        id="ebike",
        label_zh="电动自行车",
        label_en="e-bike",
        bidirectional=False,
        default_kmh=15.0,
        highway_kmh=MappingProxyType({
            "footway": 10.0, "path": 10.0, "pedestrian": 8.0, "bridleway": 10.0,
            "corridor": 8.0, "track": 10.0, "living_street": 10.0, "service": 12.0,
        }),
    ),
    "truck": ModeProfile(
        id="truck",
        label_zh="货车",
        label_en="truck",
        bidirectional=False,
        default_kmh=20.0,
        highway_kmh=MappingProxyType({
            "motorway": 80.0, "motorway_link": 50.0, "trunk": 60.0, "trunk_link": 40.0,
            "primary": 45.0, "primary_link": 35.0, "secondary": 40.0, "secondary_link": 30.0,
            "tertiary": 30.0, "tertiary_link": 25.0, "unclassified": 25.0, "residential": 20.0,
            "living_street": 10.0, "service": 10.0, "road": 20.0,
        }),
        truck_height_m=4.0,
        truck_weight_t=20.0,
        cap_by_maxspeed=True,
    ),
})

#: Override keys :func:`profile` accepts.
OVERRIDE_KEYS = frozenset({
    "default_kmh", "highway_kmh", "truck_height_m", "truck_weight_t", "cap_by_maxspeed",
})


def profile(mode: str, overrides: Mapping | None = None) -> ModeProfile:
    """Return a mode's profile with configured values replacing the defaults.

    Args:
        mode: ``walk``, ``ebike`` or ``truck``.
        overrides: optional replacements, e.g. ``{"default_kmh": 5, "highway_kmh":
            {"primary": 50}, "truck_height_m": 4.2}``. ``highway_kmh`` entries are merged into
            the default class speeds; the other keys replace the field of the same name.

    Returns:
        The profile.

    Raises:
        ValueError: for an unknown mode, an unknown override key or a speed that is not positive.
    """
    if mode not in PROFILES:
        raise ValueError(f"unknown travel mode {mode!r}; expected one of {sorted(PROFILES)}")
    base = PROFILES[mode]
    if not overrides:
        return base
    unknown = set(overrides) - OVERRIDE_KEYS
    if unknown:
        raise ValueError(f"unknown {mode} profile setting(s) {sorted(unknown)}")
    changes = {key: value for key, value in overrides.items() if key != "highway_kmh"}
    speeds = {**base.highway_kmh, **{k: float(v) for k, v in
                                     (overrides.get("highway_kmh") or {}).items()}}
    changes["highway_kmh"] = MappingProxyType(speeds)
    result = replace(base, **changes)
    if result.default_kmh <= 0 or any(v <= 0 for v in speeds.values()):
        raise ValueError(f"{mode} speeds must be positive: {overrides}")
    return result


def _parse_quantity(value: str | None, units: Mapping[str, float]) -> float | None:
    """Parse an OSM quantity such as ``3.5``, ``3.5 m``, ``20t`` or ``3'6"``.

    Of ``;``-separated values the smallest parseable one is taken (the stricter limit).

    Args:
        value: the tag value, or None.
        units: factors from the unit spellings accepted to the result unit.

    Returns:
        The value in the result unit, or None if the tag is missing or not parseable.
    """
    if value is None:
        return None
    parsed = []
    for part in str(value).lower().split(";"):
        part = part.strip()
        if part in _NO_LIMIT:
            continue
        feet = _FEET_INCHES.match(part)
        if feet and "ft" in units:
            inches = float(feet.group(2) or 0.0)
            parsed.append(float(feet.group(1)) * 0.3048 + inches * 0.0254)
            continue
        match = _NUMBER_UNIT.match(part)
        if match and match.group(2) in units:
            parsed.append(float(match.group(1).replace(",", ".")) * units[match.group(2)])
    return min(parsed) if parsed else None


def parse_length_m(value: str | None) -> float | None:
    """Parse a length tag (``maxheight``) to metres; None if missing or unparseable.

    Args:
        value: e.g. ``3.5``, ``3.5 m``, ``350 cm``, ``11 ft``, ``3'6"`` (3 ft 6 in).

    Returns:
        Metres, or None.
    """
    return _parse_quantity(value, _LENGTH_UNITS)


def parse_weight_t(value: str | None) -> float | None:
    """Parse a weight tag (``maxweight``) to tonnes; None if missing or unparseable.

    Args:
        value: e.g. ``"20"``, ``"7.5 t"``, ``"3500 kg"``, ``"10 st"``.

    Returns:
        Tonnes, or None.
    """
    return _parse_quantity(value, _WEIGHT_UNITS)


def parse_speed_kmh(value: str | None) -> float | None:
    """Parse a ``maxspeed`` tag to km/h; None if missing or unparseable (e.g. ``CN:urban``).

    Args:
        value: e.g. ``"50"``, ``"50 km/h"``, ``"30 mph"``.

    Returns:
        km/h, or None.
    """
    return _parse_quantity(value, _SPEED_UNITS)


def _is_area(tags: Mapping[str, str]) -> bool:
    """Return whether the way is tagged as an area (a square, not a line to travel along)."""
    return tags.get("area") == "yes"


def _closed_to(tags: Mapping[str, str], mode_key: str, opening: frozenset[str]) -> bool:
    """Return whether ``access`` closes the way and the mode's own tag does not reopen it.

    Args:
        tags: the way's OSM tags.
        mode_key: the mode's access key, e.g. ``foot``.
        opening: values of ``mode_key`` that open the way.

    Returns:
        True if the way is closed to the mode by general access tags.
    """
    return tags.get("access") in CLOSED_ACCESS and tags.get(mode_key) not in opening


def walk_allows(tags: Mapping[str, str]) -> bool:
    """Return whether pedestrians may use a way (after osmnx's ``walk`` network filter).

    Footways, paths, pedestrian streets, steps, tracks and roads from trunk down are walkable;
    cycleways only with ``foot=yes|designated``. Motorways, ``foot=no|use_sidepath`` (the
    sidewalk is mapped separately), ``access=no|private``
    (unless ``foot`` allows it), ``area=yes``, ``service=private`` and ways under construction,
    proposed or abandoned are not.

    Args:
        tags: the way's OSM tags.

    Returns:
        True if the way is part of the walking network.
    """
    highway = tags.get("highway")
    if highway == "cycleway":
        ok_class = tags.get("foot") in {"yes", "designated"}
    else:
        ok_class = highway in WALK_HIGHWAYS
    return (
        ok_class
        and tags.get("foot") not in {"no", "use_sidepath"}
        and not _closed_to(tags, "foot", FOOT_OPEN)
        and not _is_area(tags)
        and tags.get("service") != "private"
    )


def ebike_allows(tags: Mapping[str, str]) -> bool:
    """Return whether an e-bike may use a way.

    Cycleways, tracks and roads from trunk down are cycle-legal unless
    ``bicycle=no|use_sidepath|dismount``;
    footways, paths and pedestrian streets only with ``bicycle=yes|designated``; never
    motorways or steps. ``access=no|private`` closes a way unless ``bicycle`` opens it.

    Args:
        tags: the way's OSM tags.

    Returns:
        True if the way is part of the e-bike network.
    """
    highway = tags.get("highway")
    bicycle = tags.get("bicycle")
    if highway in EBIKE_IF_ALLOWED_HIGHWAYS:
        ok_class = bicycle in {"yes", "designated"}
    else:
        ok_class = highway in EBIKE_HIGHWAYS
    return (
        ok_class
        and bicycle not in {"no", "use_sidepath", "dismount"}
        and not _closed_to(tags, "bicycle", BICYCLE_OPEN)
        and not _is_area(tags)
        and tags.get("service") != "private"
    )


def truck_allows(tags: Mapping[str, str], height_m: float, weight_t: float) -> bool:
    """Return whether a truck of this height and weight may use a way.

    Drivable classes (motorway to residential, links, unclassified, living streets, service
    roads other than parking aisles, driveways, private and emergency access) are open unless
    ``hgv=no``, ``motor_vehicle=no``/``vehicle=no`` or ``access=no|private`` without an ``hgv``
    allowance (``hgv=destination`` stays open), or a parseable ``maxweight`` or ``maxheight``
    is below the truck's. Unparseable limits set no restriction.

    Args:
        tags: the way's OSM tags.
        height_m: the truck's height, metres.
        weight_t: the truck's weight, tonnes.

    Returns:
        True if the way is part of the truck network.
    """
    if tags.get("highway") not in TRUCK_HIGHWAYS or _is_area(tags):
        return False
    if tags.get("service") in TRUCK_EXCLUDED_SERVICE:
        return False
    hgv = tags.get("hgv")
    if hgv in {"no", "private"}:
        return False
    if hgv not in HGV_OPEN and (
        tags.get("access") in CLOSED_ACCESS
        or tags.get("motor_vehicle") in CLOSED_ACCESS
        or tags.get("vehicle") in CLOSED_ACCESS
    ):
        return False
    for key in ("maxweight", "maxweight:hgv"):
        limit = parse_weight_t(tags.get(key))
        if limit is not None and limit < weight_t:
            return False
    for key in ("maxheight", "maxheight:physical"):
        limit = parse_length_m(tags.get(key))
        if limit is not None and limit < height_m:
            return False
    return True


def oneway_direction(tags: Mapping[str, str]) -> int:
    """Return the direction a motor vehicle may travel a way in.

    ``oneway=yes|true|1`` is along the nodes, ``-1``/``reverse`` against them; roundabouts and
    motorways are one-way unless tagged ``oneway=no``.

    Args:
        tags: the way's OSM tags.

    Returns:
        0 for both directions, 1 along the node order, -1 against it.
    """
    oneway = tags.get("oneway")
    if oneway in ONEWAY_FORWARD:
        return 1
    if oneway in ONEWAY_BACKWARD:
        return -1
    if oneway == "no":
        return 0
    implied = (
        tags.get("junction") in {"roundabout", "circular"}
        or tags.get("highway") in IMPLIED_ONEWAY_HIGHWAYS
    )
    return 1 if implied else 0


def ebike_direction(tags: Mapping[str, str]) -> int:
    """Return the direction an e-bike may travel a way in.

    ``oneway:bicycle`` decides where present; otherwise a one-way street is two-way for bikes
    when ``cycleway=opposite*`` or any ``cycleway:*=opposite*`` marks a contraflow lane.

    Args:
        tags: the way's OSM tags.

    Returns:
        0 for both directions, 1 along the node order, -1 against it.
    """
    bike_oneway = tags.get("oneway:bicycle")
    if bike_oneway is not None:
        return oneway_direction({"oneway": bike_oneway})
    contraflow = any(
        (key == "cycleway" or key.startswith("cycleway:")) and str(value).startswith("opposite")
        for key, value in tags.items()
    )
    return 0 if contraflow else oneway_direction(tags)
