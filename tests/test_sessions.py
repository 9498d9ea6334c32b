"""Sessions and tokens as a browser and an API client meet them: signing out ends every copy of
the session, a new password or role ends it too, a session lasts a working day, the CSRF secret
changes at sign-in, an expired token is refused naming ``Authorization``, and anonymous callers
see no user names."""

import time
from datetime import timedelta

import pytest

from geo.scenarios import Scenario, ScenarioSite
from tests.support import PASSWORD, add, csrf_token, post, sign_in, signed_in
from web import SESSION_LIFETIME


def copy_of(app, client):
    """Another client carrying a copy of ``client``'s session cookie."""
    copy = app.test_client()
    copy.set_cookie("session", client.get_cookie("session").value)
    return copy


def is_signed_in(client) -> bool:
    return client.get("/staff").status_code == 200


def test_signing_out_ends_every_session_of_the_account_and_every_copy_of_its_cookie(app):
    laptop = signed_in(app, "staff", "wang")
    copied = copy_of(app, laptop)
    phone = app.test_client()
    assert sign_in(phone, "wang").status_code == 302
    assert is_signed_in(laptop) and is_signed_in(copied) and is_signed_in(phone)
    assert post(laptop, "/sign-out", {}).status_code == 302
    assert not is_signed_in(copied) and not is_signed_in(phone)
    assert sign_in(laptop, "wang").status_code == 302 and is_signed_in(laptop)


@pytest.mark.parametrize("change", [
    lambda accounts: accounts.set_password("wang", "a new password"),
    lambda accounts: accounts.set_role("wang", "viewer"),
])
def test_a_new_password_or_role_signs_the_account_out(app, change):
    client = signed_in(app, "staff", "wang")
    change(app.extensions["accounts"])
    assert not is_signed_in(client)


def write_with(app, token: str) -> int:
    """The status of a station write made with an API token."""
    return app.test_client().post("/api/v1/stations", json={},
                                  headers={"Authorization": f"Bearer {token}"}).status_code


def test_a_new_password_ends_the_account_s_api_tokens(app):
    accounts = app.extensions["accounts"]
    accounts.add_user("wang", PASSWORD, "staff")
    token = accounts.issue_token("wang")
    assert write_with(app, token) == 422  # allowed to write: refused only for the empty station
    accounts.set_password("wang", "a new password")
    assert write_with(app, token) == 401


def test_a_demoted_account_s_api_token_has_only_its_new_role_s_rights(app):
    accounts = app.extensions["accounts"]
    accounts.add_user("wang", PASSWORD, "staff")
    token = accounts.issue_token("wang")
    assert write_with(app, token) == 422
    accounts.set_role("wang", "viewer")
    assert write_with(app, token) == 403
    accounts.set_role("wang", "staff")
    assert write_with(app, token) == 422


def test_a_session_naming_an_account_without_its_version_is_anonymous(app):
    client = signed_in(app, "staff", "wang")
    with client.session_transaction() as session:
        session["_user_id"] = session["_user_id"].partition(":")[0]
    assert not is_signed_in(client)


def test_a_session_lasts_until_the_browser_closes_and_at_most_twelve_hours(app, monkeypatch):
    assert SESSION_LIFETIME == timedelta(hours=12)
    client = app.test_client()
    app.extensions["accounts"].add_user("wang", PASSWORD, "staff")
    cookie = sign_in(client, "wang").headers["Set-Cookie"]
    assert "Expires" not in cookie and "Max-Age" not in cookie
    assert is_signed_in(client)
    signed = time.time()
    monkeypatch.setattr(time, "time", lambda: signed + SESSION_LIFETIME.total_seconds() - 60)
    assert is_signed_in(client)
    monkeypatch.setattr(time, "time", lambda: signed + SESSION_LIFETIME.total_seconds() + 60)
    assert not is_signed_in(client)


def test_a_session_ends_twelve_hours_after_sign_in_though_a_change_renewed_its_cookie(
        app, monkeypatch):
    station = add(app)
    client = signed_in(app, "staff", "wang")
    signed = time.time()
    monkeypatch.setattr(time, "time", lambda: signed + 11 * 3600)
    changed = post(client, f"/staff/stations/{station.id}/status",
                   {"status": "closed", "version": str(station.version)})
    assert changed.status_code == 302 and "session=" in changed.headers["Set-Cookie"]
    assert is_signed_in(client)
    monkeypatch.setattr(time, "time", lambda: signed + SESSION_LIFETIME.total_seconds() + 60)
    assert not is_signed_in(client)


def test_a_session_that_does_not_say_when_it_signed_in_is_anonymous(app):
    client = signed_in(app, "staff", "wang")
    with client.session_transaction() as session:
        del session["signed_in_at"]
    assert not is_signed_in(client)


def test_a_form_token_from_before_sign_in_is_refused_after_it(app):
    app.extensions["accounts"].add_user("wang", PASSWORD, "staff")
    client = app.test_client()
    before = csrf_token(client)
    assert client.post("/sign-in", data={"username": "wang", "password": PASSWORD,
                                         "csrf_token": before}).status_code == 302
    assert client.post("/sign-out", data={"csrf_token": before}).status_code == 400
    assert is_signed_in(client)
    assert post(client, "/sign-out", {}).status_code == 302


def test_an_expired_token_is_refused_naming_authorization(app, clock):
    accounts = app.extensions["accounts"]
    accounts.add_user("wang", PASSWORD, "staff")
    token = accounts.issue_token("wang", days=1)
    clock.advance(days=1)
    response = app.test_client().post("/api/v1/stations", json={},
                                      headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 401
    assert response.get_json()["error"]["parameter"] == "Authorization"


def saved_by_wang(app) -> Scenario:
    """A scenario that the account ``wang`` saved."""
    return app.extensions["scenarios"].save(
        Scenario(region="nanjing", name="两个新站", group="couriers", threshold_min=3,
                 added=(ScenarioSite(lon=118.79, lat=32.036, name="品帅超市"),)),
        actor="wang")


def test_anonymous_callers_see_scenarios_without_who_saved_them(app):
    saved = saved_by_wang(app)
    anonymous = app.test_client()
    (listed,) = anonymous.get("/api/v1/scenarios").get_json()["scenarios"]
    one = anonymous.get(f"/api/v1/scenarios/{saved.id}").get_json()
    assert listed["name"] == one["name"] == "两个新站"
    assert "created_by" not in listed and "created_by" not in one
    assert "wang" not in anonymous.get("/api/v1/scenarios").get_data(as_text=True)
    viewer = signed_in(app, "viewer")
    assert viewer.get("/api/v1/scenarios").get_json()["scenarios"][0]["created_by"] == "wang"
    assert viewer.get(f"/api/v1/scenarios/{saved.id}").get_json()["created_by"] == "wang"


def test_a_caller_with_an_api_token_sees_who_saved_a_scenario(app):
    saved = saved_by_wang(app)
    app.extensions["accounts"].add_user("li", PASSWORD, "viewer")
    token = {"Authorization": f"Bearer {app.extensions['accounts'].issue_token('li')}"}
    client = app.test_client()
    listed = client.get("/api/v1/scenarios", headers=token).get_json()["scenarios"]
    assert listed[0]["created_by"] == "wang"
    assert client.get(f"/api/v1/scenarios/{saved.id}", headers=token).get_json()[
        "created_by"] == "wang"
