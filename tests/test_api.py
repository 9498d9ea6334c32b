"""The JSON API as a client sees it: regions, stations, nearest stations with navigation links,
place search and the OpenAPI document, and HTTP 400 naming the parameter for every bad input."""

import json
import re
from urllib.parse import parse_qs, urlsplit

import pytest

from geo.coords import DATUMS, from_wgs84, to_wgs84
from geo.hours import hours_text
from geo.modes import MODES
from geo.places import CATEGORIES
from geo.stations import AMENITIES, KINDS, STATUSES
from tests.support import demo_app

#: A worker at Xinjiekou, WGS-84.
LON, LAT = 118.7790, 32.0418

NEAREST = f"/api/v1/nearest?lat={LAT}&lon={LON}"


@pytest.fixture(scope="module")
def app(tmp_path_factory):
    """One app for the tests that only read."""
    return demo_app(tmp_path_factory.mktemp("api"))


@pytest.fixture
def client(app):
    return app.test_client()


def get_json(client, url: str, status: int = 200) -> dict:
    """GET a URL, check the status, return the JSON body."""
    response = client.get(url)
    assert response.status_code == status, (url, response.get_json())
    assert response.is_json
    return response.get_json()


def bad(client, url: str) -> str:
    """GET a URL that must be refused; return the parameter the error names."""
    body = get_json(client, url, 400)
    assert set(body) == {"error"} and set(body["error"]) == {"parameter", "message"}
    assert body["error"]["message"]
    return body["error"]["parameter"]


def stations_of(body: dict) -> list[dict]:
    """The station features of a nearest answer."""
    return [f for f in body["features"] if f["properties"]["feature_type"] == "station"]


# --- /regions ---------------------------------------------------------------------------------

def test_regions_lists_nanjing_and_jinan_with_bounds_and_attribution(client):
    regions = {r["id"]: r for r in get_json(client, "/api/v1/regions")["regions"]}
    assert {"nanjing", "jinan"} <= set(regions)
    assert regions["nanjing"]["default"] is True
    for region in regions.values():
        min_lon, min_lat, max_lon, max_lat = region["bounds"]
        assert min_lon < max_lon and min_lat < max_lat
        assert "OpenStreetMap" in region["attribution"]
        assert region["modes"] == list(MODES)
        assert region["stations"] > 0 and region["demo"] is True
    assert regions["nanjing"]["bounds"][0] < LON < regions["nanjing"]["bounds"][2]


# --- /stations --------------------------------------------------------------------------------

def test_stations_are_a_geojson_feature_collection_of_points(client):
    body = get_json(client, "/api/v1/stations?region=nanjing")
    assert body["type"] == "FeatureCollection" and "OpenStreetMap" in body["attribution"]
    assert len(body["features"]) > 10
    for feature in body["features"]:
        assert feature["geometry"]["type"] == "Point"
        assert feature["properties"]["region"] == "nanjing" and feature["properties"]["demo"]
        assert feature["properties"]["open_state"] in {"open", "closed", "unknown"}


def test_stations_filter_by_kind_status_and_amenity(client):
    everything = get_json(client, "/api/v1/stations")["features"]
    loves = get_json(client, "/api/v1/stations?kind=love_station")["features"]
    assert 0 < len(loves) < len(everything)
    assert all(f["properties"]["kind"] == "love_station" for f in loves)
    both = get_json(client, "/api/v1/stations?kind=love_station,courier_home")["features"]
    assert len(both) == len(get_json(
        client, "/api/v1/stations?kind=love_station&kind=courier_home")["features"])
    assert {f["properties"]["kind"] for f in both} == {"love_station", "courier_home"}
    for status in STATUSES:
        found = get_json(client, f"/api/v1/stations?status={status}")["features"]
        assert all(f["properties"]["status"] == status for f in found)
    open_ = get_json(client, "/api/v1/stations?status=open")["features"]
    assert 0 < len(open_) < len(everything)  # the demo data has closed stations too
    wifi_reading = get_json(client, "/api/v1/stations?amenity=wifi,reading")["features"]
    assert 0 < len(wifi_reading) < len(everything)
    assert all({"wifi", "reading"} <= set(f["properties"]["amenities"]) for f in wifi_reading)


@pytest.mark.parametrize("query, parameter", [
    ("kind=palace", "kind"),
    ("status=demolished", "status"),
    ("amenity=sauna", "amenity"),
    ("amenity=wifi,sauna", "amenity"),
    ("region=atlantis", "region"),
])
def test_stations_refuse_unknown_values(client, query, parameter):
    assert bad(client, f"/api/v1/stations?{query}") == parameter


# --- /nearest ---------------------------------------------------------------------------------

def test_nearest_gives_three_stations_each_followed_by_its_route_in_order_of_time(client):
    body = get_json(client, NEAREST)
    assert body["type"] == "FeatureCollection" and body["region"] == "nanjing"
    assert body["mode"] == "walk" and "OpenStreetMap" in body["attribution"]
    features = body["features"]
    assert [f["properties"]["feature_type"] for f in features] == ["station", "route"] * 3
    for station, route in zip(features[::2], features[1::2]):
        props = station["properties"]
        assert station["geometry"]["type"] == "Point"
        assert props["time_s"] >= 0 and props["distance_m"] >= 0
        assert set(props["navigation"]) == {"amap", "baidu", "osm"}
        assert props["open_state"] in {"open", "closed", "unknown"}
        assert route["geometry"]["type"] == "LineString"
        assert len(route["geometry"]["coordinates"]) >= 2
        assert route["properties"]["station_id"] == props["id"]
        assert route["properties"]["rank"] == props["rank"]
    times = [f["properties"]["time_s"] for f in stations_of(body)]
    assert times == sorted(times)
    assert [f["properties"]["rank"] for f in stations_of(body)] == [1, 2, 3]


def test_navigation_links_lead_to_the_station_in_each_apps_datum_and_mode(client):
    body = get_json(client, NEAREST + "&mode=ebike")
    for station in stations_of(body):
        lon, lat = station["geometry"]["coordinates"]
        links = station["properties"]["navigation"]
        amap = parse_qs(urlsplit(links["amap"]).query)
        to_lon, to_lat, name = amap["to"][0].split(",", 2)
        assert name == station["properties"]["name"].replace(",", "，")
        assert amap["mode"] == ["ride"]
        back = to_wgs84(float(to_lon), float(to_lat), "gcj02")
        assert back == pytest.approx((lon, lat), abs=5e-6)
        osm = parse_qs(urlsplit(links["osm"]).query)
        assert osm["engine"] == ["fossgis_osrm_bike"]


def test_navigation_links_start_from_the_query_point(client):
    body = get_json(client, NEAREST + "&lang=zh")
    start = (body["query"]["lon"], body["query"]["lat"])
    for station in stations_of(body):
        links = station["properties"]["navigation"]
        lon, lat, name = parse_qs(urlsplit(links["amap"]).query)["from"][0].split(",")
        assert to_wgs84(float(lon), float(lat), "gcj02") == pytest.approx(start, abs=5e-6)
        assert name == "我的位置"
        origin = parse_qs(urlsplit(links["baidu"]).query)["origin"][0]
        lat, lon = origin.split("|")[0].removeprefix("latlng:").split(",")
        assert to_wgs84(float(lon), float(lat), "bd09") == pytest.approx(start, abs=5e-6)
        route = parse_qs(urlsplit(links["osm"]).query)["route"][0]
        lat, lon = route.split(";")[0].split(",")
        assert (float(lon), float(lat)) == pytest.approx(start, abs=5e-6)


@pytest.mark.parametrize("query, parameter", [
    ("lon=118.779", "lat"),
    ("lat=32.04", "lon"),
    ("lat=&lon=118.779", "lat"),
    ("lat=north&lon=118.779", "lat"),
    ("lat=32.04&lon=east", "lon"),
    ("lat=nan&lon=118.779", "lat"),
    ("lat=95&lon=118.779", "lat"),
    ("lat=32.04&lon=200", "lon"),
    ("lat=32.04&lon=118.779&region=atlantis", "region"),
    ("lat=32.04&lon=118.779&mode=bus", "mode"),
    ("lat=32.04&lon=118.779&datum=utm50", "datum"),
    ("lat=32.04&lon=118.779&amenity=sauna", "amenity"),
    ("lat=32.04&lon=118.779&kind=palace", "kind"),
    ("lat=32.04&lon=118.779&open_now=maybe", "open_now"),
    ("lat=32.04&lon=118.779&limit=0", "limit"),
    ("lat=32.04&lon=118.779&limit=11", "limit"),
    ("lat=32.04&lon=118.779&limit=three", "limit"),
])
def test_nearest_names_the_bad_parameter(client, query, parameter):
    assert bad(client, f"/api/v1/nearest?{query}") == parameter


def test_a_point_far_outside_the_region_is_refused_naming_the_parameter(client):
    # Beijing, asked of the Nanjing region
    assert bad(client, "/api/v1/nearest?region=nanjing&lat=39.9042&lon=116.4074") == "lat"


def test_limit_one_and_ten_are_accepted(client):
    assert len(stations_of(get_json(client, NEAREST + "&limit=1"))) == 1
    assert len(stations_of(get_json(client, NEAREST + "&limit=10"))) == 10


@pytest.mark.parametrize("datum", ["gcj02", "bd09"])
def test_an_amap_or_baidu_point_gives_the_same_stations_as_the_gps_point(client, datum):
    lon, lat = from_wgs84(LON, LAT, datum)
    wgs = get_json(client, NEAREST)
    other = get_json(client, f"/api/v1/nearest?lat={lat!r}&lon={lon!r}&datum={datum}")
    ids = [f["properties"]["id"] for f in stations_of(wgs)]
    assert [f["properties"]["id"] for f in stations_of(other)] == ids
    assert (other["query"]["lon"], other["query"]["lat"]) == pytest.approx((LON, LAT), abs=1e-7)
    assert other["query"]["datum"] == "wgs84"


def test_without_a_datum_coordinates_are_taken_as_gps_as_given(client):
    lon, lat = from_wgs84(LON, LAT, "gcj02")
    shifted = get_json(client, f"/api/v1/nearest?lat={lat}&lon={lon}")
    assert (shifted["query"]["lon"], shifted["query"]["lat"]) == pytest.approx((lon, lat))


def test_a_point_inside_the_region_but_off_the_network_reports_the_snap(app, client):
    # about 500 m north of the network's northern edge: still accepted (1 km margin)
    min_lon, min_lat, max_lon, max_lat = app.extensions["atlas"].index("nanjing").bounds
    body = get_json(client, f"/api/v1/nearest?lat={max_lat + 0.0045}&lon={LON}")
    assert body["snap"]["distance_m"] > 400
    assert len(stations_of(body)) == 3


def test_filters_hold_on_every_returned_station(client):
    body = get_json(client, NEAREST + "&amenity=toilet,wifi&limit=5")
    assert stations_of(body)
    for station in stations_of(body):
        assert {"toilet", "wifi"} <= set(station["properties"]["amenities"])
    loves = get_json(client, NEAREST + "&kind=love_station&limit=5")
    assert all(f["properties"]["kind"] == "love_station" for f in stations_of(loves))


def test_open_now_only_returns_open_stations_or_none(client):
    body = get_json(client, NEAREST + "&open_now=true")
    assert all(f["properties"]["status"] == "open" for f in stations_of(body))


def test_station_hours_come_in_words_of_the_requests_language(client):
    zh = stations_of(get_json(client, NEAREST + "&lang=zh"))[0]["properties"]
    en = stations_of(get_json(client, NEAREST + "&lang=en"))[0]["properties"]
    assert zh["id"] == en["id"]
    assert zh["hours_text"] == hours_text(zh["opening_hours"], "zh")
    assert en["hours_text"] == hours_text(zh["opening_hours"], "en") != zh["hours_text"]
    assert en["open_text"] and zh["open_text"] and en["open_text"] != zh["open_text"]
    listed = get_json(client, "/api/v1/stations?lang=en")["features"][0]["properties"]
    assert {"hours_text", "open_text"} <= set(listed)

def test_without_open_now_an_open_station_ranks_above_a_nearer_closed_one(tmp_path):
    app = demo_app(tmp_path)
    client = app.test_client()
    store = app.extensions["atlas"].store
    first, second = [f["properties"] for f in stations_of(get_json(client, NEAREST))][:2]
    store.update(first["id"], {"opening_hours": "off"}, first["version"])
    store.update(second["id"], {"opening_hours": "24/7"}, second["version"])
    ranked = [f["properties"] for f in stations_of(get_json(client, NEAREST + "&limit=10"))]
    ids = [p["id"] for p in ranked]
    assert ids[0] == second["id"] and first["id"] in ids
    states = [p["open_state"] for p in ranked]
    assert states == sorted(states, key=lambda state: state != "open")  # open ones first
    open_times = [p["time_s"] for p in ranked if p["open_state"] == "open"]
    assert open_times == sorted(open_times)

def test_truck_mode_in_jinan(client):
    body = get_json(client, "/api/v1/nearest?region=jinan&lat=36.6512&lon=117.1201&mode=truck")
    assert body["mode"] == "truck" and len(stations_of(body)) == 3
    car = parse_qs(urlsplit(stations_of(body)[0]["properties"]["navigation"]["baidu"]).query)
    assert car["mode"] == ["driving"]


def test_a_station_that_closes_is_not_returned_by_the_next_query(tmp_path):
    app = demo_app(tmp_path)
    client = app.test_client()
    first = stations_of(get_json(client, NEAREST))[0]["properties"]
    app.extensions["atlas"].store.set_status(first["id"], "closed", first["version"])
    after = [f["properties"]["id"] for f in stations_of(get_json(client, NEAREST))]
    assert len(after) == 3 and first["id"] not in after
    closed = get_json(client, "/api/v1/stations?status=closed")["features"]
    assert first["id"] in [f["properties"]["id"] for f in closed]


# --- /places ----------------------------------------------------------------------------------

def test_places_finds_a_mall_by_part_of_its_name(client):
    body = get_json(client, "/api/v1/places?region=nanjing&q=德基")
    assert "OpenStreetMap" in body["attribution"]
    mall = next(p for p in body["places"] if p["name"] == "德基广场")
    assert set(mall) == {"name", "category", "lon", "lat"}
    assert mall["category"] == "shop"
    assert 118.77 < mall["lon"] < 118.79 and 32.04 < mall["lat"] < 32.05


def test_places_rank_exact_matches_first_and_honour_the_limit(client):
    places = get_json(client, "/api/v1/places?q=中山&limit=3")["places"]
    assert [p["name"] for p in places] == ["中山路", "中山东路", "中山南路"]
    assert all(p["category"] in CATEGORIES for p in places)


def test_a_found_place_can_be_used_as_the_workers_location(client):
    place = get_json(client, "/api/v1/places?q=中央商场")["places"][0]
    body = get_json(client, f"/api/v1/nearest?lat={place['lat']}&lon={place['lon']}")
    assert len(stations_of(body)) == 3


def test_places_with_a_blank_or_missing_query_or_no_match_are_empty(client):
    for url in ("/api/v1/places", "/api/v1/places?q=", "/api/v1/places?q=%20%20",
                "/api/v1/places?q=不存在的地方"):
        assert get_json(client, url)["places"] == []


def test_a_road_edge_region_has_no_places(client):
    assert get_json(client, "/api/v1/places?region=jinan&q=路")["places"] == []


@pytest.mark.parametrize("query, parameter", [
    ("q=路&limit=0", "limit"),
    ("q=路&limit=51", "limit"),
    ("q=路&limit=many", "limit"),
    ("q=路&region=atlantis", "region"),
])
def test_places_names_the_bad_parameter(client, query, parameter):
    assert bad(client, f"/api/v1/places?{query}") == parameter


# --- /openapi.json ----------------------------------------------------------------------------

@pytest.fixture(scope="module")
def spec(app) -> dict:
    response = app.test_client().get("/api/v1/openapi.json")
    assert response.status_code == 200 and response.is_json
    return json.loads(response.get_data(as_text=True))


def parameters(spec: dict, path: str) -> dict[str, dict]:
    """A path's GET parameters by name."""
    return {p["name"]: p for p in spec["paths"][path]["get"]["parameters"]}


def test_openapi_describes_the_four_paths(spec):
    assert spec["openapi"].startswith("3.0")
    assert {"/regions", "/stations", "/nearest", "/places"} <= set(spec["paths"])
    for path in ("/stations", "/nearest", "/places"):
        responses = spec["paths"][path]["get"]["responses"]
        assert {"200", "400"} <= set(responses)
    error = spec["components"]["schemas"]["Error"]["properties"]["error"]
    assert set(error["properties"]) == {"parameter", "message"}


def test_openapi_describes_every_address_the_app_answers(app, spec):
    # The assets blueprint serves the pages' scripts, styles, images and favicon: files, not
    # operations, so they are the only rules left out.
    documented = set()
    for path, item in spec["paths"].items():
        base = item.get("servers", spec["servers"])[0]["url"].rstrip("/")
        methods = {m.upper() for m in item if m not in ("parameters", "servers")}
        documented |= {(re.sub(r"\{[^}]*\}", "{}", base + path), m) for m in methods}
    answered = {(re.sub(r"<[^>]*>", "{}", rule.rule), method)
                for rule in app.url_map.iter_rules() if rule.endpoint.split(".")[0] != "assets"
                for method in rule.methods - {"HEAD", "OPTIONS"}}
    assert answered - documented == set()
    assert documented - answered == set()


def test_openapi_names_every_parameter_the_api_reads(spec):
    assert set(parameters(spec, "/stations")) == {"region", "kind", "status", "amenity"}
    assert set(parameters(spec, "/nearest")) == {
        "region", "lat", "lon", "mode", "datum", "kind", "amenity", "open_now", "limit"}
    assert set(parameters(spec, "/places")) == {"region", "q", "limit"}
    nearest = parameters(spec, "/nearest")
    assert nearest["lat"]["required"] and nearest["lon"]["required"]
    assert not nearest["mode"]["required"]
    assert all(p["in"] == "query" for p in nearest.values())
    assert nearest["limit"]["schema"]["maximum"] == 10
    assert parameters(spec, "/places")["limit"]["schema"]["maximum"] == 50


def test_openapi_enums_are_the_vocabularies(spec):
    stations, nearest = parameters(spec, "/stations"), parameters(spec, "/nearest")
    assert stations["kind"]["schema"]["items"]["enum"] == list(KINDS)
    assert stations["status"]["schema"]["items"]["enum"] == list(STATUSES)
    assert stations["amenity"]["schema"]["items"]["enum"] == list(AMENITIES)
    assert nearest["kind"]["schema"]["items"]["enum"] == list(KINDS)
    assert nearest["amenity"]["schema"]["items"]["enum"] == list(AMENITIES)
    assert nearest["mode"]["schema"]["enum"] == list(MODES)
    assert nearest["datum"]["schema"]["enum"] == list(DATUMS)


def test_openapi_document_is_valid_openapi_30(spec):
    validator = pytest.importorskip("openapi_spec_validator")
    validator.validate(spec)


# --- reading changes nothing ------------------------------------------------------------------

def test_no_request_changes_the_store(app, client):
    store = app.extensions["atlas"].store
    before = store.revision()
    for url in ("/api/v1/regions", "/api/v1/stations", "/api/v1/stations?kind=palace",
                NEAREST, NEAREST + "&limit=0", "/api/v1/nearest", "/api/v1/nearest?lat=1&lon=1",
                "/api/v1/places?q=德基", "/api/v1/places?limit=0", "/api/v1/openapi.json"):
        client.get(url)
    assert store.revision() == before


REACH = f"/api/v1/reach?lat={LAT}&lon={LON}"


def test_reach_gives_an_area_per_time_growing_with_it_and_the_stations_inside(client):
    body = get_json(client, REACH + "&lang=zh")
    areas = [f for f in body["features"] if f["properties"]["feature_type"] == "area"]
    assert [a["properties"]["minutes"] for a in areas] == [5, 10, 15]
    sizes = [a["properties"]["area_m2"] for a in areas]
    assert sizes == sorted(sizes) and sizes[0] > 0
    assert all(a["geometry"]["type"] in ("Polygon", "MultiPolygon") for a in areas)
    stations = stations_of(body)
    times = [s["properties"]["time_s"] for s in stations]
    assert stations and times == sorted(times) and times[-1] <= 15 * 60
    for s in stations:
        assert (s["properties"]["minutes"] - 5) * 60 < s["properties"]["time_s"] \
            <= s["properties"]["minutes"] * 60
        assert s["properties"]["open_text"]


def test_reach_times_match_the_nearest_answer(client):
    nearest = stations_of(get_json(client, NEAREST + "&limit=1"))[0]["properties"]
    inside = {s["properties"]["id"]: s["properties"]["time_s"]
              for s in stations_of(get_json(client, REACH))}
    assert inside[nearest["id"]] == pytest.approx(nearest["time_s"], abs=0.1)


@pytest.mark.parametrize("query, parameter", [
    ("&minutes=0", "minutes"),
    ("&minutes=5,ten", "minutes"),
    ("&minutes=5,10,15,20,25", "minutes"),
    ("&minutes=90", "minutes"),
    ("&mode=boat", "mode"),
])
def test_reach_refuses_bad_times_and_modes_naming_the_parameter(client, query, parameter):
    body = get_json(client, REACH + query, 400)
    assert parameter in json.dumps(body)
