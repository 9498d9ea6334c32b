"""Datum conversion: WGS-84 <-> GCJ-02 (Amap, Tencent) and BD-09 (Baidu)."""

import math
import warnings

import numpy as np
import prcoords
import pytest

from geo.coords import DATUMS, from_wgs84, to_wgs84

EARTH_RADIUS_M = 6_371_000.0

# Mainland China's bounding box; prcoords treats everything inside it as China.
CHINA_LON = (73.7, 134.8)
CHINA_LAT = (18.2, 53.5)

XINJIEKOU = (118.7784, 32.0411)
PARIS = (2.3522, 48.8566)


def haversine_m(a: tuple[float, float], b: tuple[float, float]) -> float:
    """Great-circle distance in metres between two (lon, lat) points."""
    lon1, lat1, lon2, lat2 = map(math.radians, (*a, *b))
    h = (math.sin((lat2 - lat1) / 2) ** 2
         + math.cos(lat1) * math.cos(lat2) * math.sin((lon2 - lon1) / 2) ** 2)
    return 2 * EARTH_RADIUS_M * math.asin(math.sqrt(h))


@pytest.fixture(scope="module")
def china_points() -> list[tuple[float, float]]:
    """1,000 random (lon, lat) points across China, the same every run."""
    rng = np.random.default_rng(20240501)
    lon = rng.uniform(*CHINA_LON, 1000)
    lat = rng.uniform(*CHINA_LAT, 1000)
    return [(float(x), float(y)) for x, y in zip(lon, lat, strict=True)]


@pytest.mark.parametrize("datum", ["gcj02", "bd09"])
def test_round_trip_from_wgs84_and_back_is_within_5_mm(china_points, datum):
    errors = [haversine_m(p, to_wgs84(*from_wgs84(*p, datum), datum)) for p in china_points]
    print(f"{datum} round trip: max {max(errors) * 1000:.2f} mm, "
          f"mean {np.mean(errors) * 1000:.2f} mm")
    assert max(errors) < 0.005


def test_gcj02_is_hundreds_of_metres_off_wgs84_in_china(china_points):
    offsets = [haversine_m(p, from_wgs84(*p, "gcj02")) for p in china_points]
    assert 300 < np.median(offsets) < 600
    assert max(offsets) < 750


def test_one_step_inverse_is_metres_off_which_is_why_the_iterative_one_is_used(china_points):
    gcj = [from_wgs84(*p, "gcj02") for p in china_points]
    one_step = [prcoords.gcj_wgs(prcoords.Coords(lat=lat, lon=lon)) for lon, lat in gcj]
    one_step_errors = [
        haversine_m(p, (q.lon, q.lat)) for p, q in zip(china_points, one_step, strict=True)
    ]
    our_errors = [
        haversine_m(p, to_wgs84(*g, "gcj02")) for p, g in zip(china_points, gcj, strict=True)
    ]
    assert max(one_step_errors) > 1.0
    assert np.mean(one_step_errors) > 100 * np.mean(our_errors)


def test_bd09_is_undone_in_two_iterative_stages_because_the_combined_one_stops_early(
        china_points):
    bd = [from_wgs84(*p, "bd09") for p in china_points]
    combined = [prcoords.bd_wgs_bored(prcoords.Coords(lat=lat, lon=lon)) for lon, lat in bd]
    combined_errors = [
        haversine_m(p, (q.lon, q.lat)) for p, q in zip(china_points, combined, strict=True)
    ]
    our_errors = [
        haversine_m(p, to_wgs84(*b, "bd09")) for p, b in zip(china_points, bd, strict=True)
    ]
    assert max(combined_errors) > 0.005 > max(our_errors)


def test_points_come_and_go_as_lon_lat_and_gcj02_shifts_nanjing_east_and_south():
    lon, lat = from_wgs84(*XINJIEKOU, "gcj02")
    assert 0.003 < lon - XINJIEKOU[0] < 0.007
    assert -0.004 < lat - XINJIEKOU[1] < 0
    assert to_wgs84(lon, lat, "gcj02") == pytest.approx(XINJIEKOU, abs=1e-7)


def test_wgs84_is_passed_through_unchanged():
    assert to_wgs84(*XINJIEKOU, "wgs84") == XINJIEKOU
    assert from_wgs84(*XINJIEKOU, "wgs84") == XINJIEKOU


def test_outside_china_gcj02_equals_wgs84_both_ways_without_warnings():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert from_wgs84(*PARIS, "gcj02") == PARIS
        assert to_wgs84(*PARIS, "gcj02") == PARIS


def test_outside_china_bd09_is_only_baidus_own_shift_and_round_trips():
    bd = from_wgs84(*PARIS, "bd09")
    assert 500 < haversine_m(PARIS, bd) < 1500
    assert haversine_m(PARIS, to_wgs84(*bd, "bd09")) < 0.005


def test_unknown_datum_is_named_together_with_the_allowed_ones():
    with pytest.raises(ValueError, match="'amap'") as err:
        to_wgs84(*XINJIEKOU, "amap")
    assert all(d in str(err.value) for d in DATUMS)
    with pytest.raises(ValueError, match="'EPSG:4326'"):
        from_wgs84(*XINJIEKOU, "EPSG:4326")


@pytest.mark.parametrize("convert", [to_wgs84, from_wgs84])
def test_out_of_range_coordinates_name_which_one(convert):
    with pytest.raises(ValueError, match="longitude"):
        convert(181.0, 32.0, "gcj02")
    with pytest.raises(ValueError, match="latitude"):
        convert(118.0, -90.5, "gcj02")
    with pytest.raises(ValueError, match="latitude"):
        convert(118.0, math.nan, "wgs84")
