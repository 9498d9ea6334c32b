"""Navigation links: each map app gets the station in its own datum, its own mode and a readable
name."""

import math
import re
from urllib.parse import parse_qs, urlsplit

import pytest

from geo.coords import to_wgs84
from geo.navigation import navigation_links

#: A station in Xinjiekou, WGS-84.
LON, LAT = 118.779650, 32.041810

#: Metres per degree of latitude (and of longitude at the equator).
M_PER_DEG = 111_320.0


def metres_apart(a: tuple[float, float], b: tuple[float, float]) -> float:
    """Equirectangular distance between two (lon, lat) points, in metres."""
    dx = (a[0] - b[0]) * math.cos(math.radians(b[1])) * M_PER_DEG
    dy = (a[1] - b[1]) * M_PER_DEG
    return math.hypot(dx, dy)


def query(url: str) -> dict[str, str]:
    """The decoded query parameters of a URL (each given once)."""
    params = parse_qs(urlsplit(url).query, keep_blank_values=True, strict_parsing=True)
    assert all(len(values) == 1 for values in params.values()), url
    return {key: values[0] for key, values in params.items()}


def amap_point(url: str) -> tuple[float, float, str]:
    """Amap's ``to=lon,lat,name``."""
    lon, lat, name = query(url)["to"].split(",", 2)
    return float(lon), float(lat), name


def baidu_point(url: str) -> tuple[float, float, str]:
    """Baidu's ``destination=latlng:lat,lng|name:...`` (latitude first)."""
    latlng, name = query(url)["destination"].split("|", 1)
    assert latlng.startswith("latlng:") and name.startswith("name:")
    lat, lon = latlng.removeprefix("latlng:").split(",")
    return float(lon), float(lat), name.removeprefix("name:")


def osm_point(url: str) -> tuple[float, float]:
    """openstreetmap.org's destination, the second ``lat,lon`` of ``route``."""
    start, end = query(url)["route"].split(";")
    assert start == ""  # the page starts from the browser's own location
    lat, lon = end.split(",")
    return float(lon), float(lat)


@pytest.fixture
def links() -> dict[str, str]:
    return navigation_links(LON, LAT, "新街口爱心驿站")


def test_there_is_a_link_for_amap_baidu_and_openstreetmap(links):
    assert set(links) == {"amap", "baidu", "osm"}
    assert links["amap"].startswith("https://uri.amap.com/navigation?")
    assert links["baidu"].startswith("https://api.map.baidu.com/direction?")
    assert links["osm"].startswith("https://www.openstreetmap.org/directions?")


def test_amap_gets_gcj02_which_converts_back_to_the_station(links):
    lon, lat, _ = amap_point(links["amap"])
    assert query(links["amap"])["coordinate"] == "gaode"
    assert metres_apart(to_wgs84(lon, lat, "gcj02"), (LON, LAT)) < 0.5
    assert metres_apart((lon, lat), (LON, LAT)) > 100  # really shifted, not passed through


def test_baidu_gets_bd09_latitude_first_which_converts_back_to_the_station(links):
    lon, lat, _ = baidu_point(links["baidu"])
    assert query(links["baidu"])["coord_type"] == "bd09ll"
    assert query(links["baidu"])["output"] == "html"
    assert query(links["baidu"])["src"]
    assert metres_apart(to_wgs84(lon, lat, "bd09"), (LON, LAT)) < 0.5
    assert metres_apart((lon, lat), (LON, LAT)) > 100


def test_openstreetmap_gets_plain_wgs84(links):
    assert metres_apart(osm_point(links["osm"]), (LON, LAT)) < 0.5


def test_coordinates_have_six_decimals(links):
    amap = query(links["amap"])["to"].split(",")[:2]
    baidu = query(links["baidu"])["destination"].split("|")[0].removeprefix("latlng:").split(",")
    osm = query(links["osm"])["route"].split(";")[1].split(",")
    for text in amap + baidu + osm:
        assert re.fullmatch(r"-?\d+\.\d{6}", text), text


def test_chinese_names_are_percent_encoded_and_survive_parsing(links):
    for url in links.values():
        assert url.isascii(), url
    assert "%E6%96%B0" in links["amap"]  # 新 in UTF-8
    assert amap_point(links["amap"])[2] == "新街口爱心驿站"
    assert baidu_point(links["baidu"])[2] == "新街口爱心驿站"


def test_names_with_the_apps_separators_and_url_characters_stay_one_value():
    name = "驿站, A|B & C=D #1 ?"
    links = navigation_links(LON, LAT, name)
    assert amap_point(links["amap"])[2] == "驿站， A|B & C=D #1 ?"  # Amap splits on commas
    assert baidu_point(links["baidu"])[2] == "驿站, A｜B & C=D #1 ?"  # Baidu splits on bars
    for url in links.values():
        assert urlsplit(url).fragment == ""


@pytest.mark.parametrize("mode, amap, baidu, engine", [
    ("walk", "walk", "walking", "fossgis_osrm_foot"),
    ("ebike", "ride", "riding", "fossgis_osrm_bike"),
    ("truck", "car", "driving", "fossgis_osrm_car"),
])
def test_each_mode_maps_to_the_apps_own(mode, amap, baidu, engine):
    links = navigation_links(LON, LAT, "驿站", mode)
    assert query(links["amap"])["mode"] == amap
    assert query(links["baidu"])["mode"] == baidu
    assert query(links["osm"])["engine"] == engine


def test_walking_is_the_default_and_unknown_modes_are_refused():
    assert query(navigation_links(LON, LAT, "驿站")["amap"])["mode"] == "walk"
    with pytest.raises(ValueError, match="bus"):
        navigation_links(LON, LAT, "驿站", "bus")


def test_amap_opens_the_app_when_installed(links):
    assert query(links["amap"])["callnative"] == "1"


def test_out_of_range_coordinates_are_refused():
    with pytest.raises(ValueError, match="latitude"):
        navigation_links(LON, 95.0, "驿站")


#: A worker on Zhongshan Road, a few hundred metres from the station, WGS-84.
ORIGIN = (118.783100, 32.045200)


@pytest.fixture
def links_from_worker() -> dict[str, str]:
    return navigation_links(LON, LAT, "新街口爱心驿站", "truck", origin=ORIGIN,
                            origin_name="我的位置")


def test_amap_gets_the_start_as_from_in_gcj02_longitude_first(links_from_worker):
    lon, lat, name = query(links_from_worker["amap"])["from"].split(",", 2)
    assert name == "我的位置"
    assert metres_apart(to_wgs84(float(lon), float(lat), "gcj02"), ORIGIN) < 0.5
    assert metres_apart((float(lon), float(lat)), ORIGIN) > 100
    assert metres_apart(to_wgs84(*amap_point(links_from_worker["amap"])[:2], "gcj02"),
                        (LON, LAT)) < 0.5
    assert query(links_from_worker["amap"])["coordinate"] == "gaode"


def test_baidu_gets_the_start_as_origin_in_bd09_latitude_first(links_from_worker):
    latlng, name = query(links_from_worker["baidu"])["origin"].split("|")
    assert name == "name:我的位置"
    lat, lon = map(float, latlng.removeprefix("latlng:").split(","))
    assert metres_apart(to_wgs84(lon, lat, "bd09"), ORIGIN) < 0.5
    assert metres_apart((lon, lat), ORIGIN) > 100
    assert query(links_from_worker["baidu"])["coord_type"] == "bd09ll"


def test_openstreetmap_gets_the_start_first_in_route_in_wgs84(links_from_worker):
    start, end = query(links_from_worker["osm"])["route"].split(";")
    lat, lon = map(float, start.split(","))
    assert metres_apart((lon, lat), ORIGIN) < 0.5
    lat, lon = map(float, end.split(","))
    assert metres_apart((lon, lat), (LON, LAT)) < 0.5


def test_a_truck_is_sent_as_the_apps_car_mode_from_the_start(links_from_worker):
    assert query(links_from_worker["amap"])["mode"] == "car"
    assert query(links_from_worker["baidu"])["mode"] == "driving"
    assert query(links_from_worker["osm"])["engine"] == "fossgis_osrm_car"


def test_a_start_without_a_name_is_a_bare_point():
    links = navigation_links(LON, LAT, "驿站", origin=ORIGIN)
    assert len(query(links["amap"])["from"].split(",")) == 2
    assert query(links["baidu"])["origin"].startswith("latlng:")
    assert "|" not in query(links["baidu"])["origin"]


def test_without_a_start_the_links_name_none():
    links = navigation_links(LON, LAT, "驿站")
    assert "from" not in query(links["amap"])
    assert "origin" not in query(links["baidu"])
