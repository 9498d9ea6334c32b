"""The planner's API as a client sees it: recommended sites with their explanation and exports,
what-if coverage that saves nothing, saved scenarios, and HTTP 400 naming the member at fault."""

import csv
import io
import json

import pytest

from geo.scenarios import NOTE_LIMIT, REMOVED_LIMIT
from tests.support import demo_app

#: Nanjing couriers at 3 minutes leave gaps to close (at the default 10 minutes they have none).
AREA = {"region": "nanjing", "group": "couriers", "threshold": 3}


@pytest.fixture(scope="module")
def app(tmp_path_factory):
    """The app, its rate of heavy requests raised: every test here asks from one address."""
    app = demo_app(tmp_path_factory.mktemp("planning"))
    app.config["HEAVY_RATE_ANONYMOUS"] = "1000 per minute"
    return app


@pytest.fixture
def client(app):
    return app.test_client()


def post(client, url: str, body: dict, status: int = 200, **kwargs):
    """POST a JSON body, check the status, return the response."""
    response = client.post(url, json=body, **kwargs)
    assert response.status_code == status, (url, response.get_data(as_text=True)[:500])
    return response


def refused(client, url: str, body: dict, status: int = 400) -> str:
    """POST a request that must be refused; return the member its error names."""
    error = post(client, url, body, status).get_json()["error"]
    assert error["message"]
    return error.get("parameter") or error.get("field")


def test_recommend_returns_explained_sites_and_the_proven_gap(client):
    body = post(client, "/api/v1/recommend", {**AREA, "problem": "mclp", "k": 2}).get_json()
    assert body["optimal"] is True and body["gap"] == 0
    assert [s["rank"] for s in body["sites"]] == [1, 2]
    for site in body["sites"]:
        assert site["name"] and site["category"] and site["gain"] > 0
        assert site["gaps"] and all(g["closed_demand"] > 0 for g in site["gaps"])
    assert body["after"]["covered_share"] > body["before"]["covered_share"]
    assert [p["sites"] for p in body["curve"]] == list(range(min(4, body["candidates_used"]) + 1))
    coverage = client.get("/api/v1/coverage?region=nanjing&group=couriers&threshold=3")
    assert body["before"]["covered_share"] == pytest.approx(
        coverage.get_json()["covered_share"])


def test_adding_the_recommended_sites_in_a_whatif_gives_the_promised_coverage(client):
    body = post(client, "/api/v1/recommend", {**AREA, "k": 2}).get_json()
    added = [{"lon": s["lon"], "lat": s["lat"], "name": s["name"]} for s in body["sites"]]
    whatif = post(client, "/api/v1/whatif", {**AREA, "added": added}).get_json()
    assert whatif["report"]["covered_share"] == pytest.approx(body["after"]["covered_share"])
    assert whatif["report"]["stations"] == whatif["baseline"]["stations"] + 2
    assert len(whatif["new_service_areas"]["features"]) == 2
    real_gaps = client.get("/api/v1/gaps?region=nanjing&group=couriers&threshold=3").get_json()
    assert sum(f["properties"]["uncovered_demand"] for f in whatif["gaps"]["features"]) < sum(
        f["properties"]["uncovered_demand"] for f in real_gaps["features"])


def test_switching_a_station_off_in_a_whatif_lowers_coverage_and_saves_nothing(client):
    stations = client.get("/api/v1/stations?region=nanjing").get_json()["features"]
    first = stations[0]["properties"]["id"]
    whatif = post(client, "/api/v1/whatif", {**AREA, "removed": [first]}).get_json()
    assert whatif["report"]["stations"] == whatif["baseline"]["stations"] - 1
    assert whatif["report"]["covered_share"] <= whatif["baseline"]["covered_share"]
    again = client.get("/api/v1/stations?region=nanjing").get_json()["features"]
    assert len(again) == len(stations)


@pytest.mark.parametrize("problem", ["lscp", "pmedian", "backup"])
def test_every_problem_answers(client, problem):
    options = {"target": 0.97} if problem == "lscp" else {"k": 2}
    body = post(client, "/api/v1/recommend", {**AREA, "problem": problem, **options,
                                              "curve": False}).get_json()
    assert body["problem"] == problem and body["sites"]
    if problem == "lscp":
        assert body["after"]["covered_share"] >= 0.97


def test_candidates_can_be_every_node_a_file_and_filtered_by_category(app, client):
    planner = {"Authorization": f"Bearer {token_for(app, 'viewer')}"}
    nodes = post(client, "/api/v1/recommend", {**AREA, "k": 1, "candidates": "nodes",
                                               "curve": False}, headers=planner).get_json()
    assert nodes["sites"][0]["category"] == "node"
    shops = post(client, "/api/v1/recommend", {**AREA, "k": 2, "categories": ["convenience"],
                                               "curve": False}).get_json()
    assert [s["category"] for s in shops["sites"]] == ["convenience", "convenience"]
    inline = {"type": "FeatureCollection", "features": [
        {"type": "Feature", "properties": {"name": "新址"},
         "geometry": {"type": "Point", "coordinates": [nodes["sites"][0]["lon"],
                                                       nodes["sites"][0]["lat"]]}}]}
    mine = post(client, "/api/v1/recommend", {**AREA, "k": 1, "candidates": inline,
                                              "curve": False}).get_json()
    assert [s["name"] for s in mine["sites"]] == ["新址"]


def test_sites_download_as_csv_and_geojson(client):
    text = post(client, "/api/v1/recommend?format=csv", {**AREA, "k": 2}).get_data(as_text=True)
    assert text.startswith("\ufeff")
    rows = list(csv.DictReader(io.StringIO(text.lstrip("\ufeff").split("\n#")[0])))
    assert [r["rank"] for r in rows] == ["1", "2"] and rows[0]["gaps"].startswith("gap ")
    layer = json.loads(post(client, "/api/v1/recommend?format=geojson",
                            {**AREA, "k": 2}).get_data(as_text=True))
    assert len(layer["features"]) == 2 and layer["optimal"] is True
    assert layer["features"][0]["geometry"]["type"] == "Point"



def test_a_site_name_that_starts_like_a_formula_downloads_as_text(client):
    found = post(client, "/api/v1/recommend", {**AREA, "k": 1, "curve": False}).get_json()
    inline = {"type": "FeatureCollection", "features": [
        {"type": "Feature", "properties": {"name": "=HYPERLINK(\"http://x\")"},
         "geometry": {"type": "Point", "coordinates": [found["sites"][0]["lon"],
                                                       found["sites"][0]["lat"]]}}]}
    text = post(client, "/api/v1/recommend?format=csv",
                {**AREA, "k": 1, "candidates": inline, "curve": False}).get_data(as_text=True)
    (row,) = csv.DictReader(io.StringIO(text.lstrip("\ufeff").split("\n#")[0]))
    assert row["name"] == "'=HYPERLINK(\"http://x\")" and float(row["lon"]) > 0


@pytest.mark.parametrize(("body", "member"), [
    ({**AREA, "k": 0}, "k"),
    ({**AREA, "k": "five"}, "k"),
    ({**AREA}, "k"),
    ({**AREA, "problem": "lscp", "target": 1.5}, "target"),
    ({**AREA, "problem": "lscp", "target": 1.0}, "target"),
    ({**AREA, "problem": "nearest", "k": 1}, "problem"),
    ({**AREA, "k": 1, "categories": ["bank"], "min_distance_m": 100_000}, "candidates"),
    ({**AREA, "k": 1, "categories": ["casino"]}, "categories"),
    ({**AREA, "k": 1, "candidates": "everywhere"}, "candidates"),
    ({**AREA, "k": 1, "excluded": {"type": "Point", "coordinates": [0, 0]}}, "excluded"),
    ({**AREA, "k": 1, "time_limit_s": 1000}, "time_limit_s"),
    ({**AREA, "region": "atlantis", "k": 1}, "region"),
    ({**AREA, "threshold": -1, "k": 1}, "threshold"),
])
def test_bad_recommend_requests_name_the_member(client, body, member):
    assert refused(client, "/api/v1/recommend", body) == member


@pytest.mark.parametrize(("body", "member"), [
    ({**AREA, "added": [{"lon": 0, "lat": 0}]}, "added"),
    ({**AREA, "added": [{"lat": 32.04}]}, "added[0].lon"),
    ({**AREA, "added": [{"lon": 118.79, "lat": 32.04}, {"lon": 118.79, "lat": "x"}]},
     "added[1].lat"),
    ({**AREA, "added": [{"lon": 118.79, "lat": 32.04, "category": ["<b>"]}]},
     "added[0].category"),
    ({**AREA, "added": [{"lon": 118.79, "lat": 32.04, "category": 5}]}, "added[0].category"),
    ({**AREA, "added": [{"lon": 118.79, "lat": 32.04, "category": "c" * 61}]},
     "added[0].category"),
    ({**AREA, "added": [{"lon": 118.79, "lat": 32.04, "name": {"zh": "站"}}]}, "added[0].name"),
    ({**AREA, "added": ["here"]}, "added[0]"),
    ({**AREA, "added": "here"}, "added"),
    ({**AREA, "removed": [999999]}, "removed"),
    ({**AREA, "removed": ["x"]}, "removed"),
    ({**AREA, "removed": list(range(1, REMOVED_LIMIT + 2))}, "removed"),
])
def test_bad_whatif_requests_name_the_member(client, body, member):
    assert refused(client, "/api/v1/whatif", body) == member


def test_an_excluded_area_keeps_candidates_out(client):
    first = post(client, "/api/v1/recommend", {**AREA, "k": 1, "curve": False}).get_json()
    lon, lat = first["sites"][0]["lon"], first["sites"][0]["lat"]
    square = {"type": "Polygon", "coordinates": [[[lon - 0.001, lat - 0.001],
                                                  [lon + 0.001, lat - 0.001],
                                                  [lon + 0.001, lat + 0.001],
                                                  [lon - 0.001, lat + 0.001],
                                                  [lon - 0.001, lat - 0.001]]]}
    other = post(client, "/api/v1/recommend", {**AREA, "k": 1, "curve": False,
                                               "excluded": square}).get_json()
    site = other["sites"][0]
    assert abs(site["lon"] - lon) > 0.001 or abs(site["lat"] - lat) > 0.001


def token_for(app, role: str) -> str:
    """An API token of a new account with ``role``."""
    store = app.extensions["accounts"]
    name = f"{role}-planner"
    if not any(u.username == name for u in store.list_users()):
        store.add_user(name, "a long enough password", role)
    return store.issue_token(name)


def test_a_scenario_is_saved_by_a_signed_in_account_and_listed(app, client):
    body = {**AREA, "name": "两个新站", "note": "试算", "added": [
        {"lon": 118.7900, "lat": 32.0360, "name": "品帅超市"}], "removed": []}
    refused(client, "/api/v1/scenarios", body, 401)
    headers = {"Authorization": f"Bearer {token_for(app, 'viewer')}"}
    saved = post(client, "/api/v1/scenarios", body, 201, headers=headers).get_json()
    assert saved["name"] == "两个新站" and saved["created_by"] == "viewer-planner"
    listed = client.get("/api/v1/scenarios?region=nanjing").get_json()["scenarios"]
    assert saved["id"] in [s["id"] for s in listed]
    assert client.get(f"/api/v1/scenarios/{saved['id']}").get_json()["added"][0]["name"] == \
        "品帅超市"
    duplicate = post(client, "/api/v1/scenarios", body, 422, headers=headers).get_json()
    assert duplicate["error"]["field"] == "name"
    unknown = post(client, "/api/v1/scenarios", {**body, "name": "x", "removed": [999999]}, 400,
                   headers=headers).get_json()
    assert unknown["error"]["parameter"] == "removed"
    assert client.get("/api/v1/scenarios/999999").status_code == 404


def test_a_scenario_refuses_non_text_categories_long_notes_and_long_removed_lists(app, client):
    headers = {"Authorization": f"Bearer {token_for(app, 'viewer')}"}
    site = {"lon": 118.7900, "lat": 32.0360}
    body = {**AREA, "name": "界限", "added": [site], "removed": []}
    for changes, member in (
            ({"added": [{**site, "category": ["<b>"]}]}, "added[0].category"),
            ({"note": "注" * (NOTE_LIMIT + 1)}, "note"),
            ({"removed": list(range(1, REMOVED_LIMIT + 2))}, "removed")):
        error = post(client, "/api/v1/scenarios", {**body, **changes}, 400,
                     headers=headers).get_json()["error"]
        assert error["parameter"] == member
    many_unknown = {**body, "removed": list(range(10**6, 10**6 + REMOVED_LIMIT))}
    for url in ("/api/v1/scenarios", "/api/v1/whatif"):
        unknown = post(client, url, many_unknown, 400, headers=headers).get_json()["error"]
        assert unknown["message"].startswith("no station with id 1000000, 1000001, ")
        assert f"and {REMOVED_LIMIT - 10} more" in unknown["message"]
        assert len(unknown["message"]) < 200
    saved = post(client, "/api/v1/scenarios", {**body, "note": "注" * NOTE_LIMIT,
                                               "added": [{**site, "category": "fuel"}]}, 201,
                 headers=headers).get_json()
    assert (saved["added"][0]["category"], len(saved["note"])) == ("fuel", NOTE_LIMIT)


def test_the_openapi_document_states_the_scenario_bounds(client):
    schemas = client.get("/api/v1/openapi.json").get_json()["components"]["schemas"]
    request = schemas["ScenarioRequest"]["properties"]
    assert request["note"]["maxLength"] == NOTE_LIMIT
    assert request["removed"]["maxItems"] == REMOVED_LIMIT
    assert schemas["WhatIf"]["properties"]["removed"]["maxItems"] == REMOVED_LIMIT
