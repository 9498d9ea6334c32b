"""The staff page of saved what-if scenarios: the list with links to the planner, turning a
scenario into planned stations, deleting one, who may do what, CSRF, and names shown as text.
"""

import re
from urllib.parse import parse_qs, urlsplit

import pytest

from geo.scenarios import Scenario, ScenarioSite, ScenarioStore
from tests.support import SCRIPT_NAME, post, signed_in, store

#: A scenario that adds two stations in Nanjing and switches one off.
SUMMER = Scenario(
    region="nanjing", name="新街口加密方案", group="couriers", threshold_min=12.5,
    added=(ScenarioSite(lon=118.7784, lat=32.0411, name="中石化加油站", category="fuel"),
           ScenarioSite(lon=118.7901, lat=32.0502)),
    removed=(7,),
)


def scenarios(app) -> ScenarioStore:
    return app.extensions["scenarios"]


@pytest.fixture
def saved(app) -> Scenario:
    return scenarios(app).save(SUMMER, actor="planner-li")


def rows(page) -> list[str]:
    """The scenario table's rows, as HTML."""
    return re.findall(r'<tr data-id="\d+">.*?</tr>', page.text, re.S)


def test_the_list_shows_each_scenario_with_a_link_to_the_planner(app, saved):
    other = scenarios(app).save(Scenario(region="nanjing", name="撤站评估", group="street",
                                         threshold_min=10, removed=(3, 4)), actor="planner-wu")
    viewer = signed_in(app, "viewer")
    page = viewer.get("/staff/scenarios")
    assert page.status_code == 200
    newest, oldest = rows(page)
    assert f'data-id="{other.id}"' in newest and f'data-id="{saved.id}"' in oldest
    assert "新街口加密方案" in oldest and "planner-li" in oldest and "12.5" in oldest
    link = re.search(r'href="(/planner\?[^"]+)"', oldest).group(1).replace("&amp;", "&")
    assert parse_qs(urlsplit(link).query) == {
        "region": ["nanjing"], "group": ["couriers"], "threshold": ["12.5"],
        "scenario": [str(saved.id)]}
    assert 'href="/staff/scenarios"' in viewer.get("/staff").text


def test_the_list_narrows_to_a_region(app, saved):
    scenarios(app).save(Scenario(region="shanghai", name="浦东方案", group="street",
                                 threshold_min=10, removed=(3,)), actor="planner-wu")
    viewer = signed_in(app, "viewer")
    assert len(rows(viewer.get("/staff/scenarios"))) == 2
    narrowed = viewer.get("/staff/scenarios?region=nanjing")
    assert len(rows(narrowed)) == 1 and "新街口加密方案" in narrowed.text


def test_staff_turn_a_scenario_into_planned_stations_once(app, saved):
    staff = signed_in(app, "staff", "wang")
    page = staff.get("/staff/scenarios")
    assert re.search(r'<option value="courier_home" selected', page.text)
    response = post(staff, f"/staff/scenarios/{saved.id}/plan", {"kind": "courier_home"})
    assert response.status_code == 302
    created = store(app).list(status="planned")
    assert [s.name for s in created] == ["中石化加油站", "新街口加密方案 2"]
    assert {s.kind for s in created} == {"courier_home"}
    assert all(store(app).history(s.id)[0].actor == "wang" for s in created)
    assert scenarios(app).get(saved.id).planned_station_ids == tuple(s.id for s in created)
    listed = staff.get(response.headers["Location"])
    for station in created:
        assert f'href="/staff/stations/{station.id}/edit"' in listed.text
    assert "Create planned stations" not in listed.text
    again = post(staff, f"/staff/scenarios/{saved.id}/plan", {"kind": "courier_home"})
    assert again.status_code == 302
    assert len(store(app).list(status="planned")) == 2


def test_an_unknown_kind_or_scenario_is_refused(app, saved):
    staff = signed_in(app, "staff")
    assert post(staff, f"/staff/scenarios/{saved.id}/plan", {"kind": "spa"}).status_code == 400
    assert post(staff, "/staff/scenarios/999/plan", {"kind": "love_station"}).status_code == 404
    assert post(staff, "/staff/scenarios/999/delete", {}).status_code == 404
    assert store(app).count() == 0


def test_staff_and_admins_delete_scenarios(app, saved):
    other = scenarios(app).save(Scenario(region="nanjing", name="撤站评估", group="street",
                                         threshold_min=10, removed=(3,)), actor="planner-wu")
    staff = signed_in(app, "staff")
    assert post(staff, f"/staff/scenarios/{saved.id}/delete", {}).status_code == 302
    admin = signed_in(app, "admin")
    assert post(admin, f"/staff/scenarios/{other.id}/delete", {}).status_code == 302
    assert scenarios(app).list() == []


def test_a_viewer_sees_no_buttons_and_every_action_is_refused(app, saved):
    viewer = signed_in(app, "viewer")
    page = viewer.get("/staff/scenarios")
    assert page.status_code == 200 and "新街口加密方案" in page.text
    assert f"/staff/scenarios/{saved.id}/plan" not in page.text
    assert f"/staff/scenarios/{saved.id}/delete" not in page.text
    assert post(viewer, f"/staff/scenarios/{saved.id}/plan",
                {"kind": "courier_home"}).status_code == 403
    assert post(viewer, f"/staff/scenarios/{saved.id}/delete", {}).status_code == 403
    assert store(app).count() == 0 and scenarios(app).get(saved.id) == saved


def test_anonymous_visitors_are_sent_to_sign_in(app, saved):
    client = app.test_client()
    assert client.get("/staff/scenarios").headers["Location"].startswith("/sign-in")
    response = post(client, f"/staff/scenarios/{saved.id}/plan", {"kind": "courier_home"})
    assert response.status_code == 302 and "/sign-in" in response.headers["Location"]
    assert store(app).count() == 0


def test_an_action_posted_without_its_csrf_token_is_refused(app, saved):
    staff = signed_in(app, "staff")
    missing = staff.post(f"/staff/scenarios/{saved.id}/plan", data={"kind": "courier_home"})
    forged = staff.post(f"/staff/scenarios/{saved.id}/delete", data={"csrf_token": "forged"})
    assert (missing.status_code, forged.status_code) == (400, 400)
    assert store(app).count() == 0 and scenarios(app).get(saved.id) == saved


def test_a_scenario_named_like_a_script_shows_as_text(app):
    named = scenarios(app).save(Scenario(
        region="nanjing", name=SCRIPT_NAME, group="street", threshold_min=10,
        added=(ScenarioSite(lon=118.7784, lat=32.0411),),
        note='"><img src=x onerror=alert(2)>'), actor="planner-li")
    staff = signed_in(app, "staff")
    listed = staff.get("/staff/scenarios")
    response = post(staff, f"/staff/scenarios/{named.id}/plan", {"kind": "love_station"})
    flashed = staff.get(response.headers["Location"])
    deleted = staff.get(post(staff, f"/staff/scenarios/{named.id}/delete",
                             {}).headers["Location"])
    for page in (listed, flashed, deleted):
        assert SCRIPT_NAME not in page.text and "<img src=x" not in page.text
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page.text
