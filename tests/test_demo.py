"""Host sites read from a real OSM extract, and the demo stations generated from them."""

from pathlib import Path

import numpy as np
import pytest

from geo.database import Database
from geo.demo import demo_stations, demo_stations_on_network, farthest_points
from geo.settings import data_dir
from geo.sites import host_sites, site_category
from geo.stations import validate_station
from geo.store import StationStore

NANJING_EXTRACT = Path("osm/nanjing_xinjiekou/osm_bbox.osm.pbf")
SHARED_DATA = Path(__file__).resolve().parents[2] / "shared" / "data"


@pytest.fixture(scope="module")
def nanjing_sites():
    """Host sites of the Nanjing Xinjiekou extract (the project's copy, else the shared one)."""
    for root in (data_dir(), SHARED_DATA):
        if (root / NANJING_EXTRACT).exists():
            return host_sites(root / NANJING_EXTRACT)
    pytest.skip("the Nanjing Xinjiekou extract is not available")


def test_host_sites_of_xinjiekou_include_banks_telecom_shops_and_a_post_office(nanjing_sites):
    counts = nanjing_sites["category"].value_counts().to_dict()
    print("Nanjing Xinjiekou host sites:", counts)
    assert counts["bank"] >= 20
    assert counts["telecom"] >= 1
    assert counts["post_office"] >= 1
    names = set(nanjing_sites["name"])
    assert {"新街口邮局", "中国移动", "中国建设银行"} <= names
    assert list(nanjing_sites.columns) == ["name", "category", "lon", "lat", "osm_id", "geometry"]
    assert nanjing_sites.crs.to_epsg() == 4326


def test_host_sites_lie_in_the_extract_and_come_from_nodes_ways_and_relations(nanjing_sites):
    assert nanjing_sites["lon"].between(118.76, 118.80).all()
    assert nanjing_sites["lat"].between(32.03, 32.06).all()
    kinds = {osm_id.split("/")[0] for osm_id in nanjing_sites["osm_id"]}
    assert kinds == {"node", "way", "relation"}
    assert nanjing_sites["osm_id"].is_unique


@pytest.mark.parametrize("tags, category", [
    ({"amenity": "bank", "name": "中国银行"}, "bank"),
    ({"amenity": "atm", "name": "中国银行"}, None),
    ({"amenity": "fuel"}, "fuel"),
    ({"amenity": "post_office", "name": "新街口邮局"}, "post_office"),
    ({"shop": "electronics", "name": "中国移动"}, "telecom"),
    ({"shop": "mobile_phone"}, "telecom"),
    ({"office": "telecommunication", "name": "江苏电信"}, "telecom"),
    ({"building": "yes", "name": "清华大学工会"}, "union"),
    ({"office": "union"}, "union"),
    ({"highway": "residential", "name": "工会路"}, None),
    ({"office": "government", "name": "新街口街道办事处"}, "community"),
    ({"amenity": "community_centre"}, "community"),
    ({"shop": "supermarket", "name": "苏果社区店"}, None),
    ({"office": "government", "name": "南京市公安局"}, None),
])
def test_site_category_follows_the_tags(tags, category):
    assert site_category(tags) == category


def test_demo_stations_validate_and_are_marked_as_demo_everywhere(nanjing_sites):
    stations = demo_stations("nanjing", nanjing_sites, union="玄武区总工会（演示）")
    assert len(stations) == len(nanjing_sites)
    for station in stations:
        assert validate_station(station) == {}
        assert station.demo
        assert station.name.endswith("（演示）")
        assert station.union == "玄武区总工会（演示）"
        assert "演示数据" in station.notes
        assert station.region == "nanjing"
        assert station.level == "district"
    assert len({s.name for s in stations}) == len(stations)


def test_demo_stations_are_deterministic(nanjing_sites):
    assert demo_stations("nanjing", nanjing_sites) == demo_stations("nanjing", nanjing_sites)


def test_the_kind_follows_the_host_and_filters_have_something_to_do(nanjing_sites):
    stations = demo_stations("nanjing", nanjing_sites)
    by_host = {s.host: s.kind for s in stations}
    assert by_host["加油站"] == "truck_driver_home"
    assert by_host["新街口邮局"] == "courier_home"
    assert by_host["中国移动"] == "love_station"
    kinds = {s.kind for s in stations}
    assert kinds == {"love_station", "courier_home", "truck_driver_home",
                     "platform_worker_station"}
    statuses = [s.status for s in stations]
    assert statuses.count("open") > len(stations) / 2
    assert {"suspended", "closed"} <= set(statuses)
    assert any(s.opening_hours == "24/7" for s in stations)


def test_a_limited_count_mixes_host_categories(nanjing_sites):
    stations = demo_stations("nanjing", nanjing_sites, count=5)
    assert len(stations) == 5
    assert {s.host for s in stations} >= {"加油站", "新街口邮局", "中国移动"}


def test_demo_stations_replace_a_regions_demo_data_in_the_store(nanjing_sites, tmp_path):
    store = StationStore(Database(f"sqlite:///{tmp_path / 'yizhan.db'}"))
    store.replace_demo("nanjing", demo_stations("nanjing", nanjing_sites))
    stored = store.replace_demo("nanjing", demo_stations("nanjing", nanjing_sites, count=10))
    assert store.list(region="nanjing") == stored
    assert len(stored) == 10
    store.close()


def grid(side_m: float, n: int) -> tuple[np.ndarray, np.ndarray]:
    """An n x n grid of nodes covering a square of side_m metres in Jinan."""
    lat0 = 36.67
    step_lat = side_m / (n - 1) / 111_195.0
    step_lon = step_lat / np.cos(np.radians(lat0))
    i, j = np.meshgrid(np.arange(n), np.arange(n))
    return 117.0 + step_lon * i.ravel(), lat0 + step_lat * j.ravel()


def test_farthest_points_cover_the_network_evenly():
    lon, lat = grid(10_000.0, 101)
    chosen = farthest_points(lon, lat, 9)
    assert len(set(chosen)) == 9
    x = (lon - lon.mean()) * 111_195.0 * np.cos(np.radians(lat.mean()))
    y = (lat - lat.mean()) * 111_195.0
    gaps = np.hypot(x[:, None] - x[chosen], y[:, None] - y[chosen]).min(axis=1)
    best_radius = np.hypot(10_000.0 / 6, 10_000.0 / 6)  # nine centres of a 3 x 3 tiling
    assert gaps.max() <= 2 * best_radius


def test_farthest_points_returns_at_most_all_points():
    lon, lat = grid(1_000.0, 3)
    assert sorted(farthest_points(lon, lat, 50)) == list(range(9))
    assert len(farthest_points(lon, lat, 0)) == 0


def test_network_demo_stations_are_numbered_valid_and_deterministic():
    lon, lat = grid(20_000.0, 60)
    stations = demo_stations_on_network("jinan", lon, lat, 12)
    assert [s.name for s in stations[:2]] == ["演示货车司机之家 #1", "演示货车司机之家 #2"]
    assert len(stations) == 12
    for station in stations:
        assert validate_station(station) == {}
        assert station.demo and station.kind == "truck_driver_home"
        assert "truck_parking" in station.amenities
    assert stations == demo_stations_on_network("jinan", lon, lat, 12)
    couriers = demo_stations_on_network("jinan", lon, lat, 2, kind="courier_home")
    assert couriers[0].name == "演示快递员之家 #1"
