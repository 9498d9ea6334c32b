"""Station writes through the REST API: per-user API tokens, roles, If-Match versions (428 without,
409 when stale, with the stored record), soft delete and restore, errors as JSON naming the field,
the next nearest query seeing every saved change, cookie sessions needing the CSRF header, and
concurrent editors losing no update.
"""

import json
import threading

import pytest

from geo.coords import from_wgs84
from tests.support import (
    NEW,
    PASSWORD,
    SCRIPT_NAME,
    XINJIEKOU,
    add,
    csrf_token,
    make_app,
    moved,
    nearest_ids,
    sign_in,
    store,
    token_for,
)


@pytest.fixture
def app(tmp_path):
    return make_app(tmp_path)


@pytest.fixture
def staff(app) -> dict[str, str]:
    return token_for(app, "staff", "wang")


def send(app, method: str, url: str, body=None, headers=None, status: int = 200):
    """Send a JSON request, check the status, return the response."""
    response = app.test_client().open(url, method=method, json=body, headers=headers or {})
    assert response.status_code == status, response.get_data(as_text=True)
    return response


def error_of(response) -> tuple[str, str]:
    """The (field or parameter, message) an error answer names."""
    (key, name), = [(k, v) for k, v in response.get_json()["error"].items() if k != "message"]
    assert key in ("field", "parameter") and response.get_json()["error"]["message"]
    return name


# --- authorisation ----------------------------------------------------------------------------

def test_writes_without_a_usable_token_are_401_and_viewers_get_403(app):
    added = add(app)
    viewer = token_for(app, "viewer")
    accounts = app.extensions["accounts"]
    accounts.add_user("revoked", PASSWORD, "staff")
    revoked = {"Authorization": f"Bearer {accounts.issue_token('revoked')}"}
    accounts.revoke_tokens("revoked")
    before = store(app).revision()
    writes = [("POST", "/api/v1/stations", NEW), ("PATCH", f"/api/v1/stations/{added.id}",
                                                  {"phone": "1"}),
              ("DELETE", f"/api/v1/stations/{added.id}", None),
              ("POST", f"/api/v1/stations/{added.id}/restore", None)]
    for method, url, body in writes:
        for headers in ({}, {"Authorization": "Bearer nonsense"}, revoked,
                        {"Authorization": "Basic d2FuZzpwYXNz"}):
            response = send(app, method, url, body, {**headers, "If-Match": '"1"'}, 401)
            assert error_of(response) == "Authorization"
            assert response.headers["WWW-Authenticate"].startswith("Bearer")
        response = send(app, method, url, body, {**viewer, "If-Match": '"1"'}, 403)
        assert error_of(response) == "Authorization"
    assert store(app).revision() == before


def test_a_signed_in_session_may_write_only_with_the_csrf_header(app):
    app.extensions["accounts"].add_user("wang", PASSWORD, "staff")
    client = app.test_client()
    sign_in(client, "wang")
    refused = client.post("/api/v1/stations", json=NEW)
    assert refused.status_code == 400 and error_of(refused) == "X-CSRFToken"
    assert store(app).revision() == 0
    accepted = client.post("/api/v1/stations", json=NEW,
                           headers={"X-CSRFToken": csrf_token(client)})
    assert accepted.status_code == 201
    assert store(app).history(accepted.get_json()["properties"]["id"])[0].actor == "wang"


# --- adding -----------------------------------------------------------------------------------

def test_post_stores_a_station_and_the_next_nearest_query_finds_it(app, staff):
    response = send(app, "POST", "/api/v1/stations", NEW, staff, 201)
    feature = response.get_json()
    station_id = feature["properties"]["id"]
    assert response.headers["Location"] == f"/api/v1/stations/{station_id}"
    assert response.headers["ETag"] == '"1"' and feature["properties"]["version"] == 1
    assert feature["geometry"]["coordinates"] == [XINJIEKOU[0], XINJIEKOU[1]]
    assert feature["properties"]["amenities"] == ["drinking_water", "toilet"]
    assert nearest_ids(app.test_client(), XINJIEKOU) == [station_id]
    assert send(app, "GET", response.headers["Location"]).get_json() == feature
    assert [(e.action, e.actor) for e in store(app).history(station_id)] == [("create", "wang")]


def test_post_takes_coordinates_from_amap(app, staff):
    lon, lat = from_wgs84(*XINJIEKOU, "gcj02")
    feature = send(app, "POST", "/api/v1/stations",
                   {**NEW, "lon": lon, "lat": lat, "datum": "gcj02"}, staff, 201).get_json()
    assert feature["geometry"]["coordinates"] == pytest.approx(list(XINJIEKOU), abs=1e-6)


@pytest.mark.parametrize(("changes", "field"), [
    ({"name": None}, "name"),
    ({"name": "  "}, "name"),
    ({"kind": "spa"}, "kind"),
    ({"lat": "32.04"}, "lat"),
    ({"lon": 121.47, "lat": 31.23}, "lon"),
    ({"amenities": ["toilet", "sauna"]}, "amenities"),
    ({"opening_hours": "Mo-Fx 08:00"}, "opening_hours"),
    ({"capacity": -1}, "capacity"),
    ({"capacity": "eight"}, "capacity"),
    ({"verified_on": "2024-02-30"}, "verified_on"),
    ({"datum": "mars"}, "datum"),
    ({"demo": True}, "demo"),
    ({"favourite": True}, "favourite"),
    ({"name": "x" * 201}, "name"),
])
def test_a_bad_field_is_422_naming_it_and_nothing_is_stored(app, staff, changes, field):
    body = {k: v for k, v in {**NEW, **changes}.items() if v is not None}
    response = send(app, "POST", "/api/v1/stations", body, staff, 422)
    assert error_of(response) == field
    assert field in {p["field"] for p in response.get_json()["problems"]}
    assert store(app).revision() == 0


def test_a_duplicate_within_50_m_is_422_naming_the_name(app, staff):
    add(app, NEW["name"])
    near = moved(*XINJIEKOU, 20, 20)
    response = send(app, "POST", "/api/v1/stations", {**NEW, "lon": near[0], "lat": near[1]},
                    staff, 422)
    assert error_of(response) == "name" and store(app).count() == 1


def test_a_body_that_is_no_json_object_is_400(app, staff):
    client = app.test_client()
    for data in ("not json", "[1, 2]"):
        response = client.post("/api/v1/stations", data=data, headers=staff,
                               content_type="application/json")
        assert response.status_code == 400 and error_of(response) == "body"


# --- changing ---------------------------------------------------------------------------------

def test_patch_needs_if_match_and_changes_only_the_fields_sent(app, staff):
    added = add(app, phone="025-1111")
    url = f"/api/v1/stations/{added.id}"
    assert error_of(send(app, "PATCH", url, {"phone": "025-2222"}, staff, 428)) == "If-Match"
    assert error_of(send(app, "PATCH", url, {"phone": "025-2222"},
                         {**staff, "If-Match": "latest"}, 400)) == "If-Match"
    response = send(app, "PATCH", url, {"phone": "025-2222", "status": "suspended"},
                    {**staff, "If-Match": '"1"'})
    assert response.headers["ETag"] == '"2"'
    properties = response.get_json()["properties"]
    assert (properties["phone"], properties["status"], properties["name"]) == (
        "025-2222", "suspended", added.name)
    assert store(app).history(added.id)[-1].changes == {
        "phone": ["025-1111", "025-2222"], "status": ["open", "suspended"]}
    assert nearest_ids(app.test_client(), XINJIEKOU) == []  # suspended: no longer offered


def test_a_stale_patch_is_409_with_the_stored_record_and_changes_nothing(app, staff):
    added = add(app)
    url = f"/api/v1/stations/{added.id}"
    send(app, "PATCH", url, {"phone": "025-2222"}, {**staff, "If-Match": '"1"'})
    response = send(app, "PATCH", url, {"phone": "025-3333"}, {**staff, "If-Match": 'W/"1"'},
                    409)
    assert error_of(response) == "If-Match"
    current = response.get_json()["current"]
    assert (current["properties"]["version"], current["properties"]["phone"]) == (2, "025-2222")
    assert store(app).get(added.id).phone == "025-2222"
    assert [e.version for e in store(app).history(added.id)] == [1, 2]


def test_writes_to_a_missing_station_are_404(app, staff):
    for method in ("PATCH", "DELETE"):
        response = send(app, method, "/api/v1/stations/999", {"phone": "1"},
                        {**staff, "If-Match": '"1"'}, 404)
        assert error_of(response) == "id"
    send(app, "GET", "/api/v1/stations/999", status=404)


# --- deleting and restoring -------------------------------------------------------------------

def test_delete_is_soft_and_restore_undoes_it(app, staff):
    added = add(app, SCRIPT_NAME)
    url = f"/api/v1/stations/{added.id}"
    assert error_of(send(app, "DELETE", url, headers=staff, status=428)) == "If-Match"
    send(app, "DELETE", url, headers={**staff, "If-Match": '"2"'}, status=409)
    deleted = send(app, "DELETE", url, headers={**staff, "If-Match": '"1"'}).get_json()
    assert deleted == {"id": added.id, "deleted": True, "version": 2}
    send(app, "GET", url, status=404)
    send(app, "PATCH", url, {"phone": "1"}, {**staff, "If-Match": '"2"'}, 404)
    assert nearest_ids(app.test_client(), XINJIEKOU) == []
    restored = send(app, "POST", f"{url}/restore", headers={**staff, "If-Match": '"2"'})
    assert restored.headers["ETag"] == '"3"'
    assert nearest_ids(app.test_client(), XINJIEKOU) == [added.id]
    again = send(app, "POST", f"{url}/restore", headers={**staff, "If-Match": '"3"'},
                 status=409)
    assert error_of(again) == "id"
    assert [(e.action, e.actor) for e in store(app).history(added.id)] == [
        ("create", "someone"), ("delete", "wang"), ("restore", "wang")]


# --- many editors -----------------------------------------------------------------------------

def test_concurrent_editors_who_retry_on_409_lose_no_update(app, staff):
    added = add(app)
    url = f"/api/v1/stations/{added.id}"
    accepted: list[tuple[int, str]] = []
    lock = threading.Lock()

    def edit(writer: int) -> None:
        client = app.test_client()
        for attempt in range(3):
            note = f"editor {writer}, edit {attempt}"
            while True:
                version = client.get(url).headers["ETag"]
                response = client.patch(url, json={"notes": note},
                                        headers={**staff, "If-Match": version})
                if response.status_code == 200:
                    with lock:
                        accepted.append((response.get_json()["properties"]["version"], note))
                    break
                assert response.status_code == 409

    threads = [threading.Thread(target=edit, args=(i,)) for i in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    accepted.sort()
    assert [version for version, _ in accepted] == list(range(2, 20))
    history = store(app).history(added.id)[1:]
    assert [(e.version, e.changes["notes"][1]) for e in history] == accepted
    assert store(app).get(added.id).notes == accepted[-1][1]


# --- output and description -------------------------------------------------------------------

def test_station_text_comes_back_as_it_was_sent_in_json(app, staff):
    added = send(app, "POST", "/api/v1/stations", {**NEW, "name": SCRIPT_NAME}, staff, 201)
    assert added.mimetype == "application/json"
    assert added.get_json()["properties"]["name"] == SCRIPT_NAME
    listed = app.test_client().get("/api/v1/stations?region=nanjing")
    assert listed.mimetype == "application/json"
    assert json.loads(listed.data)["features"][0]["properties"]["name"] == SCRIPT_NAME


def test_openapi_describes_the_writes_and_their_token(app):
    spec = app.test_client().get("/api/v1/openapi.json").get_json()
    assert spec["components"]["securitySchemes"]["apiToken"] == {
        "type": "http", "scheme": "bearer",
        "description": spec["components"]["securitySchemes"]["apiToken"]["description"]}
    assert "post" in spec["paths"]["/stations"]
    assert {"get", "patch", "delete"} <= set(spec["paths"]["/stations/{id}"])
    assert "post" in spec["paths"]["/stations/{id}/restore"]
    patch = spec["paths"]["/stations/{id}"]["patch"]
    assert {"401", "403", "409", "422", "428"} <= set(patch["responses"])
    assert patch["parameters"][0]["name"] == "If-Match" and patch["security"]
    validator = pytest.importorskip("openapi_spec_validator")
    validator.validate(spec)
