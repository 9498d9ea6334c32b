"""Travel modes: which ways each mode uses, in which direction, how fast, how configured."""

import pytest

from geo.modes import (
    MODES,
    ebike_allows,
    ebike_direction,
    oneway_direction,
    parse_length_m,
    parse_speed_kmh,
    parse_weight_t,
    profile,
    truck_allows,
    walk_allows,
)


def truck_ok(**tags):
    return truck_allows(tags, height_m=4.0, weight_t=20.0)


def same_or_none(parsed, expected):
    """A parsed value equals the expected one, or both are None (no restriction)."""
    return parsed is None if expected is None else parsed == pytest.approx(expected)


def test_three_modes_with_labels():
    assert MODES == ("walk", "ebike", "truck")
    labels = {mode: (profile(mode).label_zh, profile(mode).label_en) for mode in MODES}
    assert labels["walk"] == ("步行", "walk")
    assert labels["ebike"][0] == "电动自行车"
    assert labels["truck"][0] == "货车"
    assert [profile(mode).bidirectional for mode in MODES] == [True, False, False]


@pytest.mark.parametrize("highway", [
    "footway", "path", "pedestrian", "steps", "living_street", "residential", "service",
    "tertiary", "secondary", "primary", "trunk", "primary_link", "track", "unclassified",
])
def test_walk_uses_pedestrian_ways_and_roads(highway):
    assert walk_allows({"highway": highway})


@pytest.mark.parametrize("tags", [
    {"highway": "motorway"},
    {"highway": "motorway_link"},
    {"highway": "residential", "foot": "no"},
    {"highway": "service", "access": "private"},
    {"highway": "footway", "access": "no"},
    {"highway": "pedestrian", "area": "yes"},
    {"highway": "service", "service": "private"},
    {"highway": "construction"},
    {"highway": "proposed"},
    {"highway": "abandoned"},
    {"highway": "cycleway"},
    {"highway": "bus_stop"},
])
def test_walk_excludes(tags):
    assert not walk_allows(tags)


def test_walk_cycleway_and_private_ways_only_when_foot_allowed():
    assert walk_allows({"highway": "cycleway", "foot": "yes"})
    assert walk_allows({"highway": "cycleway", "foot": "designated"})
    assert walk_allows({"highway": "service", "access": "private", "foot": "yes"})


def test_walk_is_two_way_everywhere():
    walk = profile("walk")
    assert walk.direction({"highway": "residential", "oneway": "yes"}) == 0
    assert walk.direction({"highway": "primary", "oneway": "-1"}) == 0
    assert walk.speed_kmh({"highway": "residential"}) == 4.5


@pytest.mark.parametrize("tags", [
    {"highway": "cycleway"},
    {"highway": "residential"},
    {"highway": "trunk"},
    {"highway": "service"},
    {"highway": "footway", "bicycle": "yes"},
    {"highway": "path", "bicycle": "designated"},
    {"highway": "residential", "access": "no", "bicycle": "yes"},
])
def test_ebike_uses_cycle_legal_ways(tags):
    assert ebike_allows(tags)


@pytest.mark.parametrize("tags", [
    {"highway": "motorway"},
    {"highway": "motorway_link"},
    {"highway": "primary", "bicycle": "no"},
    {"highway": "footway"},
    {"highway": "path"},
    {"highway": "pedestrian"},
    {"highway": "steps"},
    {"highway": "steps", "bicycle": "yes"},
    {"highway": "residential", "access": "private"},
])
def test_ebike_excludes(tags):
    assert not ebike_allows(tags)


@pytest.mark.parametrize("tags, direction", [
    ({"highway": "residential"}, 0),
    ({"highway": "residential", "oneway": "yes"}, 1),
    ({"highway": "residential", "oneway": "-1"}, -1),
    ({"highway": "residential", "oneway": "yes", "oneway:bicycle": "no"}, 0),
    ({"highway": "residential", "oneway": "yes", "cycleway": "opposite_lane"}, 0),
    ({"highway": "residential", "oneway": "yes", "cycleway:left": "opposite_track"}, 0),
    ({"highway": "residential", "oneway": "yes", "cycleway:right": "lane"}, 1),
    ({"highway": "residential", "junction": "roundabout"}, 1),
    ({"highway": "cycleway", "oneway:bicycle": "yes"}, 1),
])
def test_ebike_direction(tags, direction):
    assert ebike_direction(tags) == direction
    assert profile("ebike").direction(tags) == direction


@pytest.mark.parametrize("tags, direction", [
    ({"highway": "primary"}, 0),
    ({"highway": "primary", "oneway": "yes"}, 1),
    ({"highway": "primary", "oneway": "true"}, 1),
    ({"highway": "primary", "oneway": "1"}, 1),
    ({"highway": "primary", "oneway": "-1"}, -1),
    ({"highway": "primary", "oneway": "no"}, 0),
    ({"highway": "tertiary", "junction": "roundabout"}, 1),
    ({"highway": "tertiary", "junction": "roundabout", "oneway": "no"}, 0),
    ({"highway": "motorway"}, 1),
    ({"highway": "residential", "oneway": "yes", "oneway:bicycle": "no"}, 1),
])
def test_truck_direction(tags, direction):
    assert oneway_direction(tags) == direction
    assert profile("truck").direction(tags) == direction


@pytest.mark.parametrize("tags", [
    {"highway": "motorway"},
    {"highway": "trunk_link"},
    {"highway": "residential"},
    {"highway": "unclassified"},
    {"highway": "living_street"},
    {"highway": "service"},
    {"highway": "service", "service": "alley"},
    {"highway": "residential", "hgv": "destination"},
    {"highway": "service", "access": "private", "hgv": "yes"},
    {"highway": "primary", "maxweight": "30"},
    {"highway": "primary", "maxheight": "4.5 m"},
    {"highway": "primary", "maxheight": "default"},
    {"highway": "primary", "maxheight": "unsigned"},
    {"highway": "primary", "maxweight": "heavy"},
])
def test_truck_uses_drivable_ways(tags):
    assert truck_ok(**tags)


@pytest.mark.parametrize("tags", [
    {"highway": "footway"},
    {"highway": "cycleway"},
    {"highway": "steps"},
    {"highway": "service", "service": "parking_aisle"},
    {"highway": "service", "service": "driveway"},
    {"highway": "service", "service": "emergency_access"},
    {"highway": "residential", "hgv": "no"},
    {"highway": "residential", "access": "no"},
    {"highway": "residential", "access": "private"},
    {"highway": "residential", "motor_vehicle": "no"},
    {"highway": "primary", "maxweight": "10"},
    {"highway": "primary", "maxweight": "10 t"},
    {"highway": "primary", "maxweight": "15000 kg"},
    {"highway": "primary", "maxheight": "3.5"},
    {"highway": "primary", "maxheight": "3.5 m"},
    {"highway": "primary", "maxheight": "3'6\""},
    {"highway": "primary", "maxheight": "3,8"},
    {"highway": "primary", "area": "yes"},
    {"highway": "construction"},
])
def test_truck_excludes(tags):
    assert not truck_ok(**tags)


def test_truck_limits_follow_the_truck():
    low = {"highway": "primary", "maxheight": "3.8", "maxweight": "15"}
    assert not truck_allows(low, height_m=4.0, weight_t=20.0)
    assert truck_allows(low, height_m=3.5, weight_t=10.0)
    small = profile("truck", {"truck_height_m": 3.5, "truck_weight_t": 10})
    assert small.allows(low)
    assert not profile("truck", {"truck_height_m": 4.2}).allows(
        {"highway": "primary", "maxheight": "4.1"}
    )


@pytest.mark.parametrize("value, metres", [
    ("3.5", 3.5), ("3.5 m", 3.5), ("3.5m", 3.5), ("350 cm", 3.5), ("3,5", 3.5),
    ("12'", 12 * 0.3048), ("3'6\"", 3 * 0.3048 + 6 * 0.0254), ("11 ft", 11 * 0.3048),
    ("4.2;3.9", 3.9), ("default", None), ("none", None), ("x", None), (None, None), ("", None),
])
def test_parse_length(value, metres):
    assert same_or_none(parse_length_m(value), metres)


@pytest.mark.parametrize("value, tonnes", [
    ("20", 20.0), ("7.5 t", 7.5), ("7.5t", 7.5), ("3500 kg", 3.5), ("10 st", 9.0718474),
    ("heavy", None), (None, None),
])
def test_parse_weight(value, tonnes):
    assert same_or_none(parse_weight_t(value), tonnes)


@pytest.mark.parametrize("value, kmh", [
    ("50", 50.0), ("50 km/h", 50.0), ("30 mph", 48.28032), ("CN:urban", None),
    ("none", None), ("signals", None), ("40;60", 40.0),
])
def test_parse_speed(value, kmh):
    assert same_or_none(parse_speed_kmh(value), kmh)


def test_truck_speeds_by_class_capped_by_maxspeed():
    truck = profile("truck")
    expected = {"motorway": 80, "trunk": 60, "primary": 45, "secondary": 40, "tertiary": 30,
                "unclassified": 25, "residential": 20, "living_street": 10, "service": 10}
    assert {k: truck.speed_kmh({"highway": k}) for k in expected} == expected
    assert truck.speed_kmh({"highway": "motorway_link"}) < 80
    assert truck.speed_kmh({"highway": "primary", "maxspeed": "30"}) == 30
    assert truck.speed_kmh({"highway": "primary", "maxspeed": "60"}) == 45
    assert truck.speed_kmh({"highway": "primary", "maxspeed": "CN:urban"}) == 45
    assert truck.speed_kmh({"highway": "primary", "maxspeed:hgv": "20 km/h"}) == 20


def test_ebike_speed_within_the_national_cap():
    ebike = profile("ebike")
    assert ebike.speed_kmh({"highway": "residential"}) == 15
    assert ebike.speed_kmh({"highway": "cycleway"}) == 15
    assert all(v <= 25 for v in ebike.highway_kmh.values())
    assert ebike.speed_kmh({"highway": "primary", "maxspeed": "5"}) == 15  # only trucks are capped


def test_overrides_replace_defaults_without_touching_the_builtin():
    walk = profile("walk", {"default_kmh": 5})
    assert walk.speed_kmh({"highway": "footway"}) == 5
    assert profile("walk").speed_kmh({"highway": "footway"}) == 4.5
    truck = profile("truck", {"highway_kmh": {"primary": 50}, "truck_height_m": 4.2})
    assert truck.speed_kmh({"highway": "primary"}) == 50
    assert truck.speed_kmh({"highway": "secondary"}) == 40
    assert truck.truck_height_m == 4.2
    assert profile("truck").speed_kmh({"highway": "primary"}) == 45


def test_profiles_are_frozen():
    with pytest.raises(AttributeError):
        profile("walk").default_kmh = 9  # type: ignore[misc]
    with pytest.raises(TypeError):
        profile("truck").highway_kmh["primary"] = 9  # type: ignore[index]


def test_unknown_mode_is_named():
    with pytest.raises(ValueError, match="bus"):
        profile("bus")


def test_bad_overrides_are_rejected():
    with pytest.raises(ValueError, match="speed_kmh"):
        profile("walk", {"speed_kmh": 5})
    with pytest.raises(ValueError, match="positive"):
        profile("ebike", {"highway_kmh": {"cycleway": 0}})
