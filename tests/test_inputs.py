"""Malformed input never reaches the database and never gets a 500: ids beyond what a record can
have are plain 404s, bad JSON bodies and query parameters are 4xx JSON naming the member or
parameter, text with control characters is refused naming its field on both back ends, every
refusal under /api/ is JSON, and station text is normalised before the duplicate check.
"""

import json

import pytest

from geo.stations import MAX_CAPACITY
from tests.support import (
    NEW,
    add,
    edit_form,
    make_app,
    post,
    signed_in,
    station_form,
    store,
    token_for,
)
from web.params import MAX_ID


@pytest.fixture
def app(tmp_path, store_url):
    """An app whose stations are on each back end, errors answered as in production."""
    app = make_app(tmp_path, DATABASE_URL=store_url)
    app.config["PROPAGATE_EXCEPTIONS"] = False
    return app


@pytest.fixture
def staff(app) -> dict[str, str]:
    return token_for(app, "staff", "wang")


def error(response, status: int) -> str:
    """The parameter (or field) an API refusal names, after checking it is JSON."""
    assert response.status_code == status, response.get_data(as_text=True)
    assert response.mimetype == "application/json"
    body = response.get_json()["error"]
    assert body["message"]
    return body.get("parameter", body.get("field"))


def send_raw(app, data: bytes | str, headers: dict, method: str = "POST",
             url: str = "/api/v1/stations", content_type: str = "application/json"):
    return app.test_client().open(url, method=method, data=data, headers=headers,
                                  content_type=content_type)


# --- ids --------------------------------------------------------------------------------------

@pytest.mark.parametrize("station_id", [0, MAX_ID + 1, 2**63, 10**30])
def test_an_id_no_record_can_have_is_a_json_404_for_every_method(app, staff, station_id):
    client = app.test_client()
    headers = {**staff, "If-Match": '"1"'}
    for method, url in [("GET", f"/api/v1/stations/{station_id}"),
                        ("PATCH", f"/api/v1/stations/{station_id}"),
                        ("DELETE", f"/api/v1/stations/{station_id}"),
                        ("POST", f"/api/v1/stations/{station_id}/restore"),
                        ("GET", f"/api/v1/scenarios/{station_id}")]:
        response = client.open(url, method=method, json={"phone": "1"}, headers=headers)
        assert error(response, 404) == "path"
    page = signed_in(app, "viewer")
    for url in (f"/staff/stations/{station_id}", f"/staff/stations/{station_id}/history"):
        response = page.get(url)
        assert response.status_code == 404 and response.mimetype == "text/html"


def test_the_largest_id_is_looked_up_and_simply_not_found(app):
    response = app.test_client().get(f"/api/v1/stations/{MAX_ID}")
    assert error(response, 404) == "id"


@pytest.mark.parametrize("version", ["²", "١", "99999999999999999999", "-1"])
def test_a_version_that_is_no_plain_number_is_refused(app, staff, version):
    added = add(app)
    response = app.test_client().patch(f"/api/v1/stations/{added.id}", json={"phone": "1"},
                                       headers={**staff, "If-Match": f'"{version}"'})
    assert error(response, 400) == "If-Match"
    page = signed_in(app, "staff", "li")
    response = post(page, f"/staff/stations/{added.id}/edit",
                    edit_form(added, phone="1", version=version))
    assert response.status_code == 400
    assert store(app).get(added.id).version == 1


# --- JSON bodies ------------------------------------------------------------------------------

def station_json(**members) -> str:
    """A new station as JSON text, members given as raw JSON text."""
    fields = {key: json.dumps(value, ensure_ascii=False) for key, value in NEW.items()}
    fields.update(members)
    return "{" + ", ".join(f'"{key}": {value}' for key, value in fields.items()) + "}"


@pytest.mark.parametrize("members, named", [
    ({"capacity": "1e400"}, "capacity"),
    ({"capacity": str(2**63)}, "capacity"),
    ({"lon": "1" + "0" * 400}, "lon"),
    ({"lat": "NaN"}, "body"),
    ({"name": '"\\ud800"'}, "name"),
    ({"notes": '"a\\u0000b"'}, "notes"),
    ({"amenities": '["toilet", "\\udfff"]'}, "amenities"),
    ({"address": "[" * 1000 + "]" * 1000}, "body"),
])
def test_a_bad_json_value_is_400_naming_the_member_and_stores_nothing(app, staff, members,
                                                                       named):
    response = send_raw(app, station_json(**members), staff)
    assert error(response, 400) == named
    assert store(app).count() == 0


@pytest.mark.parametrize("data, content_type, status, named", [
    (b'{"name": "\xff"}', "application/json", 400, "body"),
    (b'[1, 2]', "application/json", 400, "body"),
    (b'"text"', "application/json", 400, "body"),
    (b'{"name": ', "application/json", 400, "body"),
    (b'{"name": "x"}', "text/plain", 415, "Content-Type"),
])
def test_a_body_that_is_not_a_json_object_is_refused_naming_it(app, staff, data, content_type,
                                                               status, named):
    for url in ("/api/v1/stations", "/api/v1/whatif", "/api/v1/recommend"):
        response = send_raw(app, data, staff, url=url, content_type=content_type)
        assert error(response, status) == named


def test_capacity_beyond_the_documented_maximum_is_422(app, staff):
    response = app.test_client().post("/api/v1/stations",
                                      json={**NEW, "capacity": MAX_CAPACITY + 1}, headers=staff)
    assert error(response, 422) == "capacity"
    page = signed_in(app, "staff", "li")
    for capacity in (str(MAX_CAPACITY + 1), "²", "9" * 5000):
        assert post(page, "/staff/stations/new", station_form(capacity=capacity)).status_code \
            == 422
    assert store(app).count() == 0


def test_removed_ids_beyond_any_record_are_refused_by_what_if_and_scenarios(app, staff):
    for url in ("/api/v1/whatif", "/api/v1/scenarios"):
        response = app.test_client().post(url, json={"name": "x", "removed": [2**63]},
                                          headers=staff)
        assert error(response, 400) == "removed"


# --- text ---------------------------------------------------------------------------------------

def test_a_nul_byte_in_a_form_field_is_refused_naming_it_on_both_back_ends(app):
    page = signed_in(app, "staff")
    response = post(page, "/staff/stations/new", station_form(name="新街口\x00驿站"))
    assert error(response, 400) == "name"
    assert error(page.get("/staff/stations?q=%00"), 400) == "q"
    assert store(app).count() == 0


@pytest.mark.parametrize("url", ["/api/v1/scenarios?region=%00", "/api/v1/places?q=a%01b",
                                 "/api/v1/stations?kind=%00"])
def test_a_control_character_in_a_query_parameter_is_400_naming_it(app, url):
    name = url.split("?")[1].split("=")[0]
    assert error(app.test_client().get(url), 400) == name


def test_a_name_with_invisible_characters_is_a_duplicate_of_the_plain_name(app, staff):
    client = app.test_client()
    client.post("/api/v1/stations", json=NEW, headers=staff)
    for name in ("新街口\u200b爱心驿站", "\u202e新街口爱心驿站", "新街口爱心驿站\ufeff",
                 "新街口\u2066爱心\u2069驿站"):
        response = client.post("/api/v1/stations", json={**NEW, "name": name}, headers=staff)
        assert error(response, 422) == "name"
    assert store(app).count() == 1


def test_station_text_is_stored_normalised(app, staff):
    response = app.test_client().post(
        "/api/v1/stations", headers=staff,
        json={**NEW, "name": "\u202eＡＢＣ驿站（演示）\u200d", "notes": "第一行，第二行"})
    assert response.status_code == 201, response.get_data(as_text=True)
    stored = store(app).get(response.get_json()["properties"]["id"])
    assert (stored.name, stored.notes) == ("ＡＢＣ驿站（演示）", "第一行，第二行")


# --- refusals under /api/ are JSON -------------------------------------------------------------

def test_unknown_paths_wrong_methods_and_big_bodies_under_the_api_answer_json(app, staff):
    client = app.test_client()
    assert error(client.get("/api/v1/nowhere"), 404) == "path"
    assert error(client.get("/api/nowhere"), 404) == "path"
    assert error(client.put("/api/v1/stations"), 405) == "method"
    app.config["MAX_CONTENT_LENGTH"] = 100
    big = client.post("/api/v1/stations", data=json.dumps({"notes": "x" * 200}),
                      headers=staff, content_type="application/json")
    assert error(big, 413) == "body"
    page = client.get("/nowhere")
    assert page.status_code == 404 and page.mimetype == "text/html"


def test_an_excluded_area_that_is_no_geojson_object_is_400_naming_it(app):
    for excluded in ([1], True, 3, "x"):
        response = app.test_client().post("/api/v1/recommend",
                                          json={"k": 1, "excluded": excluded})
        assert error(response, 400) == "excluded"


# --- the document states the bounds ------------------------------------------------------------

def test_the_openapi_document_states_the_bounds_the_api_enforces(app, staff):
    document = app.test_client().get("/api/v1/openapi.json").get_json()
    paths = document["paths"]
    for schema in (paths["/stations/{id}"]["parameters"][0]["schema"],
                   paths["/scenarios/{id}"]["get"]["parameters"][0]["schema"]):
        assert (schema["minimum"], schema["maximum"]) == (1, MAX_ID)
    station = document["components"]["schemas"]["StationInput"]["properties"]
    assert (station["capacity"]["minimum"], station["capacity"]["maximum"]) == (0, MAX_CAPACITY)
    client = app.test_client()
    for field in ("name", "address", "host", "union", "phone", "opening_hours"):
        limit = station[field]["maxLength"]
        response = client.post("/api/v1/stations", json={**NEW, field: "1" * (limit + 1)},
                               headers=staff)
        assert error(response, 422) == field
    assert station["region"]["maxLength"] == 100
    assert client.post("/api/v1/stations", json={**NEW, "capacity": MAX_CAPACITY},
                       headers=staff).status_code == 201


def test_scenario_and_site_names_are_normalised_as_station_names_are(app, staff):
    response = app.test_client().post("/api/v1/scenarios", headers=staff, json={
        "name": "\u202e加密方案\u200b", "added": [
            {"lon": 118.7784, "lat": 32.0411, "name": "中石化\u2066加油站",
             "category": "fuel\u200b"}]})
    assert response.status_code == 201, response.get_data(as_text=True)
    saved = response.get_json()
    assert saved["name"] == "加密方案"
    assert (saved["added"][0]["name"], saved["added"][0]["category"]) == ("中石化加油站", "fuel")


def test_a_deleted_station_answers_its_version_as_the_etag_restore_takes(app, staff):
    added = add(app)
    client = app.test_client()
    deleted = client.delete(f"/api/v1/stations/{added.id}",
                            headers={**staff, "If-Match": '"1"'})
    assert deleted.headers["ETag"] == '"2"' and deleted.get_json()["version"] == 2
    restored = client.post(f"/api/v1/stations/{added.id}/restore",
                           headers={**staff, "If-Match": deleted.headers["ETag"]})
    assert restored.status_code == 200


def test_an_unexpected_failure_under_the_api_is_still_json(app, monkeypatch):
    def broken():
        raise RuntimeError("the disk is gone")

    monkeypatch.setattr(app.extensions["atlas"], "regions", broken)
    response = app.test_client().get("/api/v1/regions")
    assert error(response, 500) == "request"
    assert "disk" not in response.get_data(as_text=True)


def test_a_body_may_nest_20_levels_and_no_more(app, staff):
    def nested(levels: int) -> str:
        return "[" * levels + "]" * levels

    at_limit = send_raw(app, station_json(notes=nested(19)), staff)
    assert error(at_limit, 422) == "notes"
    beyond = send_raw(app, station_json(notes=nested(20)), staff)
    assert error(beyond, 400) == "body"
