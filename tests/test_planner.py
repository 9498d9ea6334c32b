"""The planner's coverage API, CLI and page on the Nanjing demo region."""

import csv
import gzip
import io
import json
import os
import re
import sqlite3
import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
from click.testing import CliRunner

from geo.tiles import region_tiles
from web import create_app, planner
from web.cli import main
from web.layers import LayerCache

QUERY = "region=nanjing&group=street&threshold=3"


@pytest.fixture(scope="module")
def client(tmp_path_factory):
    folder = tmp_path_factory.mktemp("planner")
    # One test client asks for many planner views and layers: raise the anonymous rate.
    return create_app({"DATABASE_URL": f"sqlite:///{folder}/yizhan.db",
                       "HEAVY_RATE_ANONYMOUS": "1000 per minute"}).test_client()


def bad(client, url: str) -> str:
    response = client.get(url)
    assert response.status_code == 400, response.data
    return response.json["error"]["parameter"]


def test_coverage_gives_the_numbers_curve_catchments_and_cells(client):
    body = client.get(f"/api/v1/coverage?{QUERY}").json
    assert body["region"] == "nanjing" and body["group"] == "street" and body["mode"] == "walk"
    assert body["threshold_min"] == 3
    assert 0 < body["covered_share"] < 1
    assert 0 <= body["double_covered_share"] <= body["covered_share"]
    assert body["covered_street_m"] <= body["total_street_m"]
    assert body["demand"]["unit"] == "m of street" and body["demand"]["total"] > 0
    assert body["curve"][0]["minutes"] == 0 and body["curve"][-1]["minutes"] == 30
    at_three = next(p for p in body["curve"] if p["minutes"] == 3)
    assert at_three["covered_share"] == pytest.approx(body["covered_share"])
    assert sum(s["covered_demand"] for s in body["catchments"]) == pytest.approx(
        body["covered_demand"])
    assert body["cells"] and "OpenStreetMap" in body["attribution"]


def test_a_mode_picks_the_group_that_travels_by_it(client):
    assert client.get("/api/v1/coverage?region=nanjing&mode=truck").json["group"] == "trucks"
    default = client.get("/api/v1/coverage?region=nanjing&group=couriers").json
    assert default["threshold_min"] == 10


@pytest.mark.parametrize("query, parameter", [
    ("group=pilots", "group"),
    ("mode=boat", "mode"),
    ("threshold=0", "threshold"),
    ("threshold=-5", "threshold"),
    ("threshold=500", "threshold"),
    ("threshold=ten", "threshold"),
    ("region=atlantis", "region"),
])
def test_bad_coverage_parameters_are_named(client, query, parameter):
    assert bad(client, f"/api/v1/coverage?{query}") == parameter
    assert bad(client, f"/api/v1/gaps?{query}") == parameter


def test_gaps_are_polygons_ranked_by_uncovered_demand(client):
    body = client.get(f"/api/v1/gaps?{QUERY}").json
    assert body["type"] == "FeatureCollection" and "OpenStreetMap" in body["attribution"]
    demand = [f["properties"]["uncovered_demand"] for f in body["features"]]
    assert demand == sorted(demand, reverse=True) and demand[0] > 0
    assert [f["properties"]["gap"] for f in body["features"]] == list(range(1, len(demand) + 1))
    assert {f["geometry"]["type"] for f in body["features"]} <= {"Polygon", "MultiPolygon"}


def test_service_areas_come_one_per_open_station(client):
    areas = client.get(f"/api/v1/service-areas?{QUERY}").json["features"]
    report = client.get(f"/api/v1/coverage?{QUERY}").json
    assert len(areas) == report["stations"]
    assert all(a["properties"]["reached_m"] > 0 for a in areas)


def test_layers_download_as_geopackages_with_the_attribution(client, tmp_path):
    response = client.get(f"/api/v1/gaps?{QUERY}&format=gpkg")
    assert response.status_code == 200 and "attachment" in response.headers["Content-Disposition"]
    path = tmp_path / "gaps.gpkg"
    path.write_bytes(response.data)
    description = sqlite3.connect(path).execute(
        "select description from gpkg_contents").fetchone()[0]
    assert "OpenStreetMap" in description


def test_cells_csv_opens_in_excel_and_adds_up(client):
    response = client.get(f"/api/v1/cells.csv?{QUERY}")
    assert response.data.startswith("\ufeff".encode())
    rows = list(csv.DictReader(line for line in io.StringIO(response.data.decode("utf-8-sig"))
                               if not line.startswith("#")))
    total = client.get(f"/api/v1/coverage?{QUERY}").json["demand_total"]
    assert sum(float(r["demand"]) for r in rows) == pytest.approx(total)


def test_the_planner_page_shows_the_apis_numbers_and_loads_nothing_from_elsewhere(client):
    page = client.get(f"/planner?{QUERY}").data.decode()
    report = client.get(f"/api/v1/coverage?{QUERY}").json
    assert f'data-value="{report["covered_share"]}"' in page
    assert f'{report["covered_share"] * 100:.1f}%' in page
    assert "https://" not in page.split("<body")[0]  # scripts and styles come from the app
    names = [layer["name"] for layer in map_config(page)["layers"]]
    assert names == ["需求六边形", "服务范围", "覆盖空白", "未覆盖街道", "驿站"]


def map_config(page: str) -> dict:
    """What the page hands to ``static/planner_map.js``."""
    found = re.search(r'<script id="map-config" type="application/json">(.*?)</script>',
                      page, re.S)
    return json.loads(found.group(1))


def layer_tiles(client, layer: dict, z: int) -> list[dict]:
    """The features of every tile of a tiled layer at zoom ``z`` (the layer's ``tiles`` and
    ``box`` from the map config)."""
    features = []
    for _z, x, y in region_tiles(layer["box"], z):
        response = client.get(layer["tiles"].format(z=z, x=x, y=y))
        assert response.status_code in (200, 204), response.data
        if response.status_code == 200:
            features += response.json["features"]
    return features


def test_the_page_carries_no_map_layer_each_loads_in_tiles_from_its_own_address(client):
    page = client.get(f"/planner?{QUERY}&lang=en").data.decode()
    assert len(page.encode()) < 40_000 and "FeatureCollection" not in page
    layers = {layer["id"]: layer for layer in map_config(page)["layers"]}
    assert [id for id, layer in layers.items() if not layer["on"]] == ["uncovered-streets"]
    report = client.get(f"/api/v1/coverage?{QUERY}").json
    stations = client.get(layers["stations"]["url"]).json["features"]
    assert len(stations) == report["stations"]
    assert {s["properties"]["status"] for s in stations} == {"open"}
    for id in ("cells", "service-areas", "gaps", "uncovered-streets"):
        assert "{z}/{x}/{y}.json?" in layers[id]["tiles"], id
        features = layer_tiles(client, layers[id], 16)
        assert features, id
        shown = {key for key, _label in layers[id]["tooltip"]}
        assert set(features[0]["properties"]) - {"colour"} == shown, id
    cells = layer_tiles(client, layers["cells"], 16)
    assert len({c["id"] for c in cells}) == len(report["cells"])
    assert {c["properties"]["colour"] for c in cells} <= {
        "#b71c1c", "#e65100", "#f9a825", "#9ccc65", "#2e7d32"}
    assert client.get(f"/planner/tiles/secrets/16/0/0.json?{QUERY}").status_code == 404


@pytest.mark.parametrize("z", [5, 12, 15, 18])
def test_every_feature_of_a_layer_is_in_its_tiles_at_every_zoom(client, z):
    layers = {layer["id"]: layer for layer in map_config(client.get(f"/planner?{QUERY}").text)[
        "layers"]}
    areas = client.get(f"/api/v1/service-areas?{QUERY}").json["features"]
    found = {f["id"] for f in layer_tiles(client, layers["service-areas"], z)}
    assert found == set(range(len(areas)))


def test_tiles_are_gzipped_kept_by_browsers_and_asked_again_by_their_etag(client):
    layer = next(layer for layer in map_config(client.get(f"/planner?{QUERY}").text)["layers"]
                 if layer["id"] == "service-areas")
    _z, x, y = region_tiles(layer["box"], 15)[0]
    url = layer["tiles"].format(z=15, x=x, y=y)
    plain = client.get(url)
    packed = client.get(url, headers={"Accept-Encoding": "gzip, deflate"})
    assert packed.headers["Content-Encoding"] == "gzip" and "Accept-Encoding" in packed.vary
    assert gzip.decompress(packed.data) == plain.data
    assert packed.headers["Cache-Control"] == "max-age=86400" and packed.headers["ETag"]
    again = client.get(url, headers={"If-None-Match": packed.headers["ETag"],
                                     "Accept-Encoding": "gzip"})
    assert again.status_code == 304 and not again.data


@pytest.mark.parametrize("tile, parameter", [
    ("4/13/6", "z"), ("19/0/0", "z"), ("x/1/1", "z"), ("15/-1/0", "x"), ("15/32768/0", "x"),
    ("15/0/1e3", "y"), ("15/0/32768", "y"),
])
def test_a_tile_that_does_not_exist_is_refused_naming_its_number(client, tile, parameter):
    assert bad(client, f"/planner/tiles/gaps/{tile}.json?{QUERY}") == parameter


def test_a_zoom_too_large_to_read_is_refused_with_the_zooms_there_are(client):
    response = client.get(f"/planner/tiles/gaps/99999999999999999999/1/1.json?{QUERY}")
    assert response.status_code == 400
    assert response.json["error"] == {"parameter": "z",
                                      "message": "must be a whole number from 5 to 18"}


def test_an_unknown_layer_is_a_json_404_naming_the_layers(client):
    response = client.get(f"/planner/tiles/nope/15/0/0.json?{QUERY}")
    assert response.status_code == 404 and response.json["error"]["parameter"] == "layer"
    assert "cells, service-areas, gaps, uncovered-streets" in response.json["error"]["message"]


def test_a_tile_outside_the_layer_is_empty(client):
    assert client.get(f"/planner/tiles/gaps/15/0/0.json?{QUERY}").status_code == 204
    assert client.get("/streets/nanjing/15/0/0.json").status_code == 204


def test_a_planner_views_layers_and_chart_are_made_together_once_per_station_revision(
        client, monkeypatch):
    made = []
    real = planner._tiled_layer
    monkeypatch.setattr(planner, "_tiled_layer", lambda *args: made.append(1) or real(*args))
    query = "region=nanjing&group=street&threshold=4"
    url = f"/planner/tiles/gaps/15/27195/13301.json?{query}"
    assert client.get(url).data == client.get(url).data
    assert len(made) == len(planner.MAP_LAYERS)
    assert client.get(f"/planner?{query}").status_code == 200
    assert client.get(f"/planner/chart.svg?{query}").status_code == 200
    for z, x, y in region_tiles((118.756, 32.029, 118.80, 32.059), 16):
        assert client.get(f"/planner/tiles/cells/{z}/{x}/{y}.json?{query}").status_code in (
            200, 204)
    assert len(made) == len(planner.MAP_LAYERS)


def test_tiles_asked_for_together_share_one_job_and_none_is_refused(client, monkeypatch):
    made, started = [], threading.Barrier(4)
    real_tiled = planner._tiled_layer
    monkeypatch.setattr(planner, "_tiled_layer", lambda *args: made.append(1) or real_tiled(*args))
    query = "region=nanjing&group=street&threshold=6"
    tiles = region_tiles((118.756, 32.029, 118.80, 32.059), 14)[:4]

    def ask(tile) -> int:
        started.wait()
        return client.get(f"/planner/tiles/cells/{tile[0]}/{tile[1]}/{tile[2]}.json?{query}"
                          ).status_code

    with ThreadPoolExecutor(4) as pool:
        answers = list(pool.map(ask, tiles))
    assert all(status in (200, 204) for status in answers), answers
    assert len(made) == len(planner.MAP_LAYERS)


def test_a_planner_view_counts_against_the_heavy_rate_only_when_it_makes_work(tmp_path):
    app = create_app({"DATABASE_URL": f"sqlite:///{tmp_path}/yizhan.db",
                      "HEAVY_RATE_ANONYMOUS": "2 per minute"})
    anonymous = app.test_client()
    views = [f"/planner?region=nanjing&group=street&threshold={t}" for t in (2, 3, 4)]
    assert [anonymous.get(views[0]).status_code for _ in range(4)] == [200] * 4
    assert anonymous.get(f"/planner/tiles/gaps/15/27195/13301.json?{views[0][9:]}"
                         ).status_code in (200, 204)
    assert anonymous.get(f"/planner/chart.svg?{views[0][9:]}").status_code == 200
    assert anonymous.get(views[1]).status_code == 200
    refused = anonymous.get(views[2])
    assert refused.status_code == 429 and int(refused.headers["Retry-After"]) > 0
    assert anonymous.get("/api/v1/coverage?region=nanjing&group=street&threshold=5") \
        .status_code == 429
    assert anonymous.get("/api/v1/coverage?region=nanjing&group=street&threshold=3") \
        .status_code == 200


def test_the_layer_cache_keeps_within_its_byte_budget():
    made = []

    def make() -> bytes:
        made.append(1)
        return os.urandom(1000)  # does not compress: about 2,000 bytes kept a layer

    cache = LayerCache(budget_bytes=3000)
    first = cache.get("a", make)
    assert cache.get("a", make) == first and len(made) == 1
    assert gzip.decompress(first[1]) == first[0]
    cache.get("b", make)  # "a" is dropped to make room
    cache.get("a", make)
    assert len(made) == 3


def test_the_hexagons_come_as_geojson_polygons(client):
    body = client.get(f"/api/v1/cells?{QUERY}").json
    report = client.get(f"/api/v1/coverage?{QUERY}").json
    assert len(body["features"]) == len(report["cells"]) and "OpenStreetMap" in body["attribution"]
    assert {f["geometry"]["type"] for f in body["features"]} == {"Polygon"}
    assert sum(f["properties"]["demand"] for f in body["features"]) == pytest.approx(
        report["demand_total"])
    assert bad(client, "/api/v1/cells?threshold=0") == "threshold"


def test_the_planner_shows_a_region_without_open_stations(tmp_path):
    app = create_app({"DATABASE_URL": f"sqlite:///{tmp_path}/yizhan.db"})
    client = app.test_client()
    before = map_config(client.get(f"/planner?{QUERY}").data.decode())["layers"][0]["tiles"]
    store = app.extensions["atlas"].store
    for station in store.list("nanjing"):
        store.set_status(station.id, "closed", station.version)
    response = client.get(f"/planner?{QUERY}&lang=en")
    assert response.status_code == 200
    page = response.data.decode()
    assert 'id="station-count">0<' in page and 'data-value="0.0"' in page
    assert ">– / – / – min<" in page
    layers = {layer["id"]: layer for layer in map_config(page)["layers"]}
    assert layers["cells"]["tiles"] != before  # a browser keeps a tile until a station changes
    assert layers["service-areas"]["box"] is None  # no station, no service area
    centre = "/15/27195/13301.json?"
    assert client.get(layers["service-areas"]["tiles"].replace("/{z}/{x}/{y}.json?", centre)
                      ).status_code == 204
    for id in ("cells", "gaps", "uncovered-streets"):
        assert layer_tiles(client, layers[id], 15), id
    assert client.get(layers["stations"]["url"]).status_code == 200
    assert client.get(f"/planner/chart.svg?{QUERY}").status_code == 200


def test_the_chart_downloads_as_a_png_and_shows_as_an_svg_image(client):
    response = client.get(f"/planner/chart.png?{QUERY}")
    assert response.status_code == 200 and response.data.startswith(b"\x89PNG")
    image = client.get(f"/planner/chart.svg?{QUERY}")
    assert image.mimetype == "image/svg+xml" and b"<svg" in image.data
    assert 'src="/planner/chart.svg?' in client.get(f"/planner?{QUERY}").data.decode()
    assert client.get(f"/planner/chart.gif?{QUERY}").status_code == 404


def test_the_cli_prints_numbers_json_and_writes_layers(tmp_path):
    runner = CliRunner()
    text = runner.invoke(main, ["coverage", "--region", "nanjing", "--group", "couriers",
                                "--threshold", "10"], catch_exceptions=False)
    assert text.exit_code == 0 and "demand covered" in text.output
    result = runner.invoke(main, ["coverage", "--region", "nanjing", "--group", "street",
                                  "--threshold", "3", "--json", "--out", str(tmp_path)],
                           catch_exceptions=False)
    numbers = json.loads(result.stdout)
    assert 0 < numbers["covered_share"] < 1
    names = {p.split("/")[-1] for p in numbers["files"]}
    assert "nanjing-street-3min-gaps.gpkg" in names and "nanjing-street-3min-curve.png" in names
    assert all((tmp_path / name).stat().st_size > 0 for name in names)


def test_the_cli_refuses_a_bad_threshold_or_group():
    runner = CliRunner()
    assert runner.invoke(main, ["coverage", "--region", "nanjing", "--threshold", "0"]).exit_code
    result = runner.invoke(main, ["coverage", "--region", "nanjing", "--group", "pilots"])
    assert result.exit_code != 0 and "pilots" in result.output


def test_the_cli_measures_coverage_of_a_users_demand_layer(tmp_path):
    layer = tmp_path / "workers.csv"
    # Three sites of sanitation crews; the last is 8 km west of the extract and left out.
    layer.write_text("lon,lat,weight\n118.7790,32.0418,10\n118.7856,32.0399,30\n"
                     "118.7000,32.0300,5\n", encoding="utf-8")
    result = CliRunner().invoke(main, ["coverage", "--region", "nanjing", "--group", "street",
                                       "--threshold", "3", "--demand", str(layer), "--json"],
                                catch_exceptions=False)
    numbers = json.loads(result.stdout)
    assert numbers["demand_total"] == pytest.approx(40)
    assert numbers["demand_unplaced"] == pytest.approx(5)
    assert numbers["covered_share"] in (0.0, 0.25, 0.75, 1.0)
    broken = tmp_path / "broken.csv"
    broken.write_text("lon,lat,weight\n118.78,32.04,many\n", encoding="utf-8")
    result = CliRunner().invoke(main, ["coverage", "--region", "nanjing", "--demand",
                                       str(broken)])
    assert result.exit_code != 0 and "line 2" in result.output


PLANNING = "region=nanjing&group=couriers&threshold=3"


def planning_config(page: str) -> dict:
    """The planner tools' settings the page hands to ``static/planner.js``."""
    found = re.search(r'<script id="planning-config" type="application/json">(.*?)</script>',
                      page, re.S)
    return json.loads(found.group(1))


@pytest.mark.parametrize("scenario", ["abc", "0", "1.5"])
def test_a_scenario_to_open_must_be_a_whole_number(client, scenario):
    assert bad(client, f"/planner?{PLANNING}&scenario={scenario}") == "scenario"


def test_the_planner_page_gives_its_tools_their_words_layers_and_scenario(client):
    page = client.get(f"/planner?{PLANNING}&scenario=7&lang=en").data.decode()
    config = planning_config(page)
    assert (config["region"], config["group"], config["threshold"]) == ("nanjing", "couriers", 3)
    assert config["scenario"] == 7 and config["csrfToken"] is None
    assert config["texts"]["optimal"] == "Proven optimal."
    assert config["categories"]["post_office"] == "post office"
    assert client.get(f"/planner?{PLANNING}").status_code == 200
    assert planning_config(client.get(f"/planner?{PLANNING}").data.decode())["scenario"] is None
    assert 'id="recommend-form"' in page and 'id="scenario-form"' not in page
    assert 'id="scenario-sign-in"' in page and "/sign-in?next=" in page


def test_a_signed_in_planner_saves_a_scenario_with_the_pages_token(client):
    from tests.support import PASSWORD, sign_in

    app = client.application
    app.extensions["accounts"].add_user("planner-qian", PASSWORD, "viewer")
    signed = app.test_client()
    assert sign_in(signed, "planner-qian").status_code == 302
    page = signed.get(f"/planner?{PLANNING}").data.decode()
    assert 'id="scenario-form"' in page and 'id="scenario-sign-in"' not in page
    token = planning_config(page)["csrfToken"]
    body = {"region": "nanjing", "group": "couriers", "threshold": 3, "name": "页面令牌",
            "added": [{"lon": 118.79, "lat": 32.036, "name": ""}], "removed": []}
    assert signed.post("/api/v1/scenarios", json=body).status_code == 400  # no token
    saved = signed.post("/api/v1/scenarios", json=body, headers={"X-CSRFToken": token})
    assert saved.status_code == 201 and saved.json["created_by"] == "planner-qian"
