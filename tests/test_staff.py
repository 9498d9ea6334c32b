"""The staff pages as staff use them: sign-in and lock-out, who may do what, CSRF on every form,
adding and editing stations with validation next to the field, the conflict page instead of a
lost update, status changes, delete and undo, the history, bulk import with a dry run, export,
and station text shown as text everywhere.
"""

import io
import json
import re
import zipfile
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from click.testing import CliRunner
from openpyxl import Workbook
from werkzeug.datastructures import MultiDict

from geo.coords import from_wgs84
from geo.database import Database
from geo.store import StationStore
from tests.support import (
    PASSWORD,
    RECORDS,
    SCRIPT_NAME,
    XINJIEKOU,
    add,
    csrf_token,
    edit_form,
    make_app,
    moved,
    nearest_ids,
    post,
    sign_in,
    signed_in,
    station_form,
    store,
    upload,
)
from web import create_app
from web.cli import main


def error_ids(response) -> set[str]:
    """The fields a form page marks as wrong."""
    return set(re.findall(r'class="error" id="error-([a-z_]+)"', response.text))


# --- who may do what --------------------------------------------------------------------------

STAFF_PAGES = ["/staff", "/staff/stations/new", "/staff/stations/1", "/staff/stations/1/edit",
               "/staff/stations/1/history", "/staff/import",
               "/staff/export?region=nanjing&format=csv", "/staff/users"]

WRITES = ["/staff/stations/new", "/staff/stations/1/edit", "/staff/stations/1/status",
          "/staff/stations/1/delete", "/staff/stations/1/restore", "/staff/import"]


def test_workers_and_planners_read_without_an_account(app):
    add(app)
    client = app.test_client()
    assert client.get("/").status_code == 200
    assert client.get("/api/v1/stations?region=nanjing").status_code == 200
    assert client.get(f"/api/v1/nearest?lon={XINJIEKOU[0]}&lat={XINJIEKOU[1]}").status_code == 200
    assert "/sign-in" in client.get("/").text


def test_anonymous_visitors_are_sent_to_sign_in_and_change_nothing(app):
    add(app)
    client = app.test_client()
    for url in STAFF_PAGES:
        response = client.get(url)
        assert response.status_code == 302, url
        assert response.headers["Location"].startswith("/sign-in?next="), url
    before = store(app).revision()
    for url in WRITES:
        response = post(client, url, {**station_form(), "version": "1", "status": "closed"})
        assert response.status_code == 302 and "/sign-in" in response.headers["Location"], url
    assert store(app).revision() == before


def test_a_viewer_reads_the_staff_pages_but_every_change_is_refused(app):
    added = add(app)
    viewer = signed_in(app, "viewer")
    for url in ("/staff", f"/staff/stations/{added.id}", f"/staff/stations/{added.id}/history",
                "/staff/export?region=nanjing&format=csv"):
        assert viewer.get(url).status_code == 200, url
    assert "/staff/stations/new" not in viewer.get("/staff").text
    for url in ("/staff/stations/new", f"/staff/stations/{added.id}/edit", "/staff/import",
                "/staff/users"):
        assert viewer.get(url).status_code == 403, url
    before = store(app).revision()
    for url in WRITES:
        response = post(viewer, url.replace("/1/", f"/{added.id}/"),
                        {**station_form(), "version": "1", "status": "closed"})
        assert response.status_code == 403, url
    assert store(app).revision() == before


def test_staff_change_stations_but_only_admins_see_the_accounts(app):
    staff = signed_in(app, "staff", "wang")
    response = post(staff, "/staff/stations/new", station_form())
    assert response.status_code == 302
    assert staff.get("/staff/users").status_code == 403
    admin = signed_in(app, "admin", "zhao")
    page = admin.get("/staff/users")
    assert page.status_code == 200
    assert "wang" in page.text and "zhao" in page.text and PASSWORD not in page.text


def test_a_form_posted_without_its_csrf_token_is_refused_and_changes_nothing(app):
    added = add(app)
    staff = signed_in(app, "staff")
    before = store(app).revision()
    missing = staff.post("/staff/stations/new", data=station_form())
    forged = staff.post("/staff/stations/new", data={**station_form(), "csrf_token": "forged"})
    delete = staff.post(f"/staff/stations/{added.id}/delete", data={"version": "1"})
    assert (missing.status_code, forged.status_code, delete.status_code) == (400, 400, 400)
    assert store(app).revision() == before
    anonymous = app.test_client()
    assert anonymous.post("/sign-in", data={"username": "staff",
                                            "password": PASSWORD}).status_code == 400


# --- signing in and out -----------------------------------------------------------------------

def test_sign_in_leads_to_the_page_asked_for_and_sign_out_ends_the_session(app):
    app.extensions["accounts"].add_user("wang", PASSWORD, "staff")
    client = app.test_client()
    asked = client.get("/staff?region=nanjing").headers["Location"]
    token = csrf_token(client)
    response = client.post(asked, data={"username": "wang", "password": PASSWORD,
                                        "csrf_token": token})
    assert response.headers["Location"] == "/staff?region=nanjing"
    assert client.get("/staff").status_code == 200
    assert post(client, "/sign-out", {}).status_code == 302
    assert client.get("/staff").status_code == 302


def test_sign_in_never_sends_you_to_another_site(app):
    app.extensions["accounts"].add_user("wang", PASSWORD, "staff")
    for target in ("//evil.example/", "https://evil.example/", "/\\evil.example"):
        client = app.test_client()
        response = client.post(f"/sign-in?next={target}", data={
            "username": "wang", "password": PASSWORD, "csrf_token": csrf_token(client)})
        assert response.headers["Location"] == "/staff", target


def test_five_wrong_passwords_lock_the_account_and_the_page_says_so_without_naming_it(app,
                                                                                      clock):
    app.extensions["accounts"].add_user("wang", PASSWORD, "staff")
    client = app.test_client()
    assert "5" in client.get("/sign-in").text and "15" in client.get("/sign-in").text
    for _ in range(5):
        refused = sign_in(client, "wang", "wrong password")
        assert refused.status_code == 401
    locked = sign_in(client, "wang", PASSWORD)
    unknown = sign_in(client, "nobody", PASSWORD)
    assert locked.status_code == unknown.status_code == 401
    message = re.compile(r'<p class="error summary" id="refused"[^>]*>([^<]+)</p>')
    assert message.search(locked.text).group(1) == message.search(unknown.text).group(1)
    assert message.search(locked.text).group(1) == message.search(refused.text).group(1)
    clock.advance(minutes=14)
    assert sign_in(client, "wang", PASSWORD).status_code == 401
    clock.advance(minutes=1, seconds=1)
    assert sign_in(client, "wang", PASSWORD).status_code == 302
    assert client.get("/staff").status_code == 200


def test_the_session_cookie_is_http_only_same_site_lax_and_secure_unless_turned_off(
        tmp_path, monkeypatch):
    for setting, secure in ((None, True), ("0", False), ("1", True)):
        if setting is None:
            monkeypatch.delenv("YIZHAN_SECURE_COOKIES", raising=False)
        else:
            monkeypatch.setenv("YIZHAN_SECURE_COOKIES", setting)
        folder = tmp_path / f"cookies-{setting}"
        folder.mkdir()
        app = make_app(folder)
        app.extensions["accounts"].add_user("wang", PASSWORD, "staff")
        client = app.test_client()
        cookie = sign_in(client, "wang").headers["Set-Cookie"]
        assert "HttpOnly" in cookie and "SameSite=Lax" in cookie
        assert ("Secure" in cookie) is secure


def test_the_signing_key_comes_from_the_environment_or_stays_in_the_instance_folder(
        tmp_path, monkeypatch):
    monkeypatch.setenv("YIZHAN_INSTANCE", str(tmp_path))
    first = create_app({"DATABASE_URL": f"sqlite:///{tmp_path}/y.db", "SEED_DEMO": False})
    second = create_app({"DATABASE_URL": f"sqlite:///{tmp_path}/y.db", "SEED_DEMO": False})
    assert len(first.secret_key) == 64 and first.secret_key == second.secret_key
    assert (tmp_path / "secret_key").stat().st_mode & 0o077 == 0
    monkeypatch.setenv("YIZHAN_SECRET_KEY", "from-the-environment")
    third = create_app({"DATABASE_URL": f"sqlite:///{tmp_path}/y.db", "SEED_DEMO": False})
    assert third.secret_key == "from-the-environment"


# --- adding and editing -----------------------------------------------------------------------

def test_a_station_added_on_the_form_is_found_by_the_next_nearest_query(app):
    staff = signed_in(app, "staff", "wang")
    form = staff.get("/staff/stations/new?region=nanjing")
    assert form.status_code == 200
    assert "/leaflet.js" in form.text and "/streets/nanjing/{z}/{x}/{y}.json" in form.text
    assert 'name="amenities" value="toilet"' in form.text
    response = post(staff, "/staff/stations/new", station_form())
    assert response.status_code == 302
    (added,) = store(app).list(region="nanjing")
    assert response.headers["Location"] == f"/staff/stations/{added.id}"
    assert (added.name, added.amenities, added.capacity) == (
        "新街口爱心驿站", ("drinking_water", "toilet"), 8)
    assert nearest_ids(app.test_client(), XINJIEKOU) == [added.id]
    assert store(app).history(added.id)[0].actor == "wang"


@pytest.mark.parametrize("datum", ["gcj02", "bd09"])
def test_coordinates_from_amap_or_baidu_are_stored_in_wgs84(app, datum):
    staff = signed_in(app, "staff")
    lon, lat = from_wgs84(*XINJIEKOU, datum)
    response = post(staff, "/staff/stations/new",
                    station_form(lon=f"{lon:.7f}", lat=f"{lat:.7f}", datum=datum))
    assert response.status_code == 302
    (added,) = store(app).list()
    assert added.lon == pytest.approx(XINJIEKOU[0], abs=1e-6)
    assert added.lat == pytest.approx(XINJIEKOU[1], abs=1e-6)


@pytest.mark.parametrize(("changes", "fields"), [
    ({"name": "  "}, {"name"}),
    ({"kind": ""}, {"kind"}),
    ({"lon": ""}, {"lon"}),
    ({"lat": "北纬32度"}, {"lat"}),
    ({"lon": "121.47", "lat": "31.23"}, {"lon"}),  # Shanghai: outside the Nanjing region
    ({"opening_hours": "Mo-Fx 08:00-18:00"}, {"opening_hours"}),
    ({"capacity": "many"}, {"capacity"}),
    ({"phone": "call me"}, {"phone"}),
    ({"verified_on": "2024-02-30"}, {"verified_on"}),
    ({"amenities": ["toilet", "sauna"]}, {"amenities"}),
    ({"datum": "mars"}, {"datum"}),
    ({"name": "", "kind": "", "opening_hours": "8 to 6"}, {"name", "kind", "opening_hours"}),
])
def test_a_bad_field_is_named_next_to_it_and_nothing_is_stored(app, changes, fields):
    staff = signed_in(app, "staff")
    response = post(staff, "/staff/stations/new", station_form(**changes))
    assert response.status_code == 422
    assert error_ids(response) == fields
    assert store(app).revision() == 0
    for name, value in changes.items():  # what was typed is kept
        if name != "datum" and isinstance(value, str) and value.strip():
            assert f'value="{value}"' in response.text or f">{value}<" in response.text


def test_the_opening_hours_message_says_where_the_syntax_breaks(app):
    staff = signed_in(app, "staff")
    response = post(staff, "/staff/stations/new", station_form(opening_hours="Mo-Fx 08:00"))
    message = re.search(r'id="error-opening_hours"[^>]*>([^<]+)<', response.text).group(1)
    assert "4" in message  # the fourth character is where it breaks


def test_a_station_of_the_same_name_within_50_m_is_a_duplicate(app):
    add(app, "珠江路爱心驿站")
    staff = signed_in(app, "staff")
    near = moved(*XINJIEKOU, 30, 0)
    response = post(staff, "/staff/stations/new", station_form(
        name="珠江路 爱心驿站", lon=repr(near[0]), lat=repr(near[1])))
    assert response.status_code == 422 and error_ids(response) == {"name"}
    far = moved(*XINJIEKOU, 80, 0)
    assert post(staff, "/staff/stations/new", station_form(
        name="珠江路爱心驿站", lon=repr(far[0]), lat=repr(far[1]))).status_code == 302
    assert post(staff, "/staff/stations/new", station_form(
        name="珠江路快递员之家", lon=repr(near[0]), lat=repr(near[1]))).status_code == 302


def test_an_edit_saves_only_what_changed_and_records_it(app):
    added = add(app, phone="025-1111")
    staff = signed_in(app, "staff", "wang")
    page = staff.get(f"/staff/stations/{added.id}/edit")
    assert 'name="version" value="1"' in page.text
    response = post(staff, f"/staff/stations/{added.id}/edit", edit_form(
        added, phone="025-2222", amenities=["toilet", "wifi"]))
    assert response.status_code == 302
    saved = store(app).get(added.id)
    assert (saved.version, saved.phone, saved.amenities) == (2, "025-2222", ("toilet", "wifi"))
    last = store(app).history(added.id)[-1]
    assert (last.actor, last.action) == ("wang", "update")
    assert last.changes == {"phone": ["025-1111", "025-2222"], "amenities": [[], ["toilet",
                                                                                  "wifi"]]}


def test_an_edit_from_a_stale_version_shows_both_versions_and_overwrites_nothing(app):
    added = add(app, phone="025-1111", notes="")
    wang = signed_in(app, "staff", "wang")
    li = signed_in(app, "staff", "li")
    assert post(wang, f"/staff/stations/{added.id}/edit",
                edit_form(added, phone="025-2222")).status_code == 302
    conflict = post(li, f"/staff/stations/{added.id}/edit",
                    edit_form(added, notes="夏季提供防暑药品"))
    assert conflict.status_code == 409
    stored = store(app).get(added.id)
    assert (stored.version, stored.phone, stored.notes) == (2, "025-2222", "")
    assert [e.actor for e in store(app).history(added.id)] == ["someone", "wang"]
    rows = dict(re.findall(r'<tr data-field="([a-z_]+)" class="([^"]*)"', conflict.text))
    assert rows["notes"].split() == ["mine"] and rows["phone"].split() == ["theirs"]
    assert "夏季提供防暑药品" in conflict.text and "025-2222" in conflict.text

    reapply = re.search(r'<form[^>]*id="reapply".*?</form>', conflict.text, re.S).group(0)
    fields = re.findall(r'name="([a-z_]+)" value="([^"]*)"', reapply)
    assert ("version", "2") in fields and ("phone", "025-2222") in fields
    response = li.post(f"/staff/stations/{added.id}/edit", data=MultiDict(fields))
    assert response.status_code == 302
    merged = store(app).get(added.id)
    assert (merged.version, merged.phone, merged.notes) == (3, "025-2222", "夏季提供防暑药品")
    assert [e.actor for e in store(app).history(added.id)] == ["someone", "wang", "li"]
    assert store(app).history(added.id)[-1].changes == {"notes": ["", "夏季提供防暑药品"]}


def test_discarding_a_conflict_opens_the_stored_version(app):
    added = add(app)
    staff = signed_in(app, "staff")
    store(app).update(added.id, {"phone": "025-3333"}, 1, actor="someone")
    conflict = post(staff, f"/staff/stations/{added.id}/edit", edit_form(added, notes="x"))
    discard = re.search(r'id="discard" href="([^"]+)"', conflict.text).group(1)
    page = staff.get(discard)
    assert 'name="version" value="2"' in page.text and 'value="025-3333"' in page.text


# --- status, delete and undo ------------------------------------------------------------------

def test_close_suspend_and_reopen_change_what_workers_find(app):
    added = add(app)
    staff = signed_in(app, "staff", "wang")
    worker = app.test_client()
    assert nearest_ids(worker, XINJIEKOU) == [added.id]
    for version, status in enumerate(("closed", "open", "suspended"), start=1):
        response = post(staff, f"/staff/stations/{added.id}/status",
                        {"status": status, "version": str(version)})
        assert response.status_code == 302
        assert store(app).get(added.id).status == status
        assert nearest_ids(worker, XINJIEKOU) == ([added.id] if status == "open" else [])
    history = store(app).history(added.id)
    assert [(e.action, e.actor) for e in history[1:]] == [("status", "wang")] * 3
    stale = post(staff, f"/staff/stations/{added.id}/status", {"status": "open", "version": "1"})
    assert stale.status_code == 409 and store(app).get(added.id).status == "suspended"


def test_a_deleted_station_disappears_and_undo_brings_it_back(app):
    added = add(app, SCRIPT_NAME)
    staff = signed_in(app, "staff", "wang")
    worker = app.test_client()
    response = post(staff, f"/staff/stations/{added.id}/delete", {"version": "1"})
    assert response.status_code == 302
    assert nearest_ids(worker, XINJIEKOU) == [] and store(app).list() == []
    page = staff.get(response.headers["Location"])
    undo = re.search(r'<form method="post" action="(/staff/stations/\d+/restore)".*?'
                     r'name="version" value="(\d+)"', page.text, re.S)
    assert undo.groups() == (f"/staff/stations/{added.id}/restore", "2")
    assert "Undo" in page.text or "撤销" in page.text
    assert store(app).get(added.id).name == SCRIPT_NAME  # kept, only hidden
    restored = post(staff, undo.group(1), {"version": undo.group(2)})
    assert restored.status_code == 302
    assert nearest_ids(worker, XINJIEKOU) == [added.id]
    assert [(e.action, e.actor) for e in store(app).history(added.id)][1:] == [
        ("delete", "wang"), ("restore", "wang")]


@pytest.mark.parametrize("undo", ["\u00b2", "99999999999999999999999", "-1", "0"])
def test_an_undo_that_is_no_station_id_is_ignored_on_the_station_list(app, undo):
    staff = signed_in(app, "staff")
    page = staff.get("/staff", query_string={"undo": undo})
    assert page.status_code == 200
    assert "/restore" not in page.text


def test_a_deleted_station_s_page_offers_the_undo_and_refuses_edits(app):
    added = add(app)
    store(app).delete(added.id, 1, actor="someone")
    staff = signed_in(app, "staff")
    page = staff.get(f"/staff/stations/{added.id}")
    assert f'action="/staff/stations/{added.id}/restore"' in page.text
    assert 'id="edit-station"' not in page.text
    assert staff.get(f"/staff/stations/{added.id}/edit").status_code == 302
    before = store(app).revision()
    assert post(staff, f"/staff/stations/{added.id}/edit",
                edit_form(added, phone="1")).status_code == 302
    assert store(app).revision() == before


def test_a_delete_based_on_a_stale_version_deletes_nothing(app):
    added = add(app)
    store(app).update(added.id, {"phone": "025-3333"}, 1, actor="someone")
    staff = signed_in(app, "staff")
    response = post(staff, f"/staff/stations/{added.id}/delete", {"version": "1"})
    assert response.status_code == 409 and not store(app).is_deleted(added.id)
    assert 'id="retry"' in response.text and 'value="2"' in response.text


# --- the station table ------------------------------------------------------------------------

def test_the_table_searches_name_address_and_host_sorts_and_hides_deleted_stations(app):
    a = add(app, "甲站", address="中山路 1 号", host="中国银行")
    b = add(app, "乙站", at=moved(*XINJIEKOU, 200, 0), address="汉中路 2 号", host="中国电信")
    c = add(app, "丙站", at=moved(*XINJIEKOU, 400, 0), address="中山路 3 号", host="邮政局")
    store(app).delete(c.id, 1)
    viewer = signed_in(app, "viewer")

    def listed(query: str) -> list[int]:
        return [int(i) for i in re.findall(r'<tr data-id="(\d+)"',
                                           viewer.get(f"/staff?region=nanjing&{query}").text)]

    assert sorted(listed("")) == [a.id, b.id]
    assert listed("q=中山路") == [a.id]
    assert listed("q=电信") == [b.id]
    assert listed("q=乙") == [b.id]
    assert sorted(listed("q=中山路&deleted=1")) == [a.id, c.id]
    by_name = listed("sort=name")
    assert listed("sort=name&order=desc") == by_name[::-1]
    store(app).update(a.id, {"notes": "更新"}, 1)
    assert listed("sort=updated&order=desc")[0] == a.id
    page = viewer.get("/staff?region=nanjing&deleted=1")
    assert re.search(rf'<tr data-id="{c.id}" class="is-deleted"', page.text)


# --- history ----------------------------------------------------------------------------------

def test_the_history_shows_who_when_in_beijing_time_and_each_field_before_and_after(app):
    staff = signed_in(app, "staff", "wang")
    post(staff, "/staff/stations/new", station_form())
    (added,) = store(app).list()
    post(staff, f"/staff/stations/{added.id}/edit", edit_form(added, phone="025-9999"))
    post(staff, f"/staff/stations/{added.id}/status", {"status": "closed", "version": "2"})
    page = staff.get(f"/staff/stations/{added.id}/history")
    assert page.status_code == 200
    entries = store(app).history(added.id)
    rows = re.findall(r'<td class="when">([^<]+)</td>\s*<td class="who">([^<]+)</td>', page.text)
    shanghai = ZoneInfo("Asia/Shanghai")
    assert rows == [(e.at.astimezone(shanghai).strftime("%Y-%m-%d %H:%M:%S"), "wang")
                    for e in reversed(entries)]
    change = re.search(r'<li data-field="phone">.*?<span class="before">([^<]+)</span> → '
                       r'<span class="after">([^<]+)</span>', page.text, re.S)
    assert change.groups() == ("(025) 8888-1234", "025-9999")
    assert staff.post(f"/staff/stations/{added.id}/history").status_code == 405


# --- import and export ------------------------------------------------------------------------

def test_an_import_dry_run_lists_every_bad_row_and_stores_nothing(app):
    add(app)
    staff = signed_in(app, "staff")
    before = store(app).revision()
    response = upload(staff, RECORDS / "bad_rows.csv")
    assert response.status_code == 422
    problems = re.findall(r'<td class="line">(\d+)</td><td class="field">', response.text)
    lines = {int(line) for line in problems}
    assert {3, 5, 6, 7, 11} <= lines  # bad coordinates, unknown amenity, no name, bad datum,
    assert 'id="import-form"' not in response.text  # a duplicate: and no import offered
    assert "桑拿" in response.text and "火星" in response.text
    assert store(app).revision() == before and store(app).count() == 1


def damaged_files(folder: Path) -> list[Path]:
    """A GeoJSON file nested 100,000 deep, and a workbook whose sheet is cut off halfway."""
    deep = folder / "deep.geojson"
    deep.write_bytes(b"[" * 100_000 + b"]" * 100_000)
    book = Workbook()
    book.active.append(["name", "kind", "lon", "lat"])
    for number in range(2000):
        book.active.append([f"驿站{number}", "love_station", 118.78, 32.04])
    whole = io.BytesIO()
    book.save(whole)
    cut = folder / "cut.xlsx"
    with zipfile.ZipFile(whole) as source, zipfile.ZipFile(cut, "w") as damaged:
        for name in source.namelist():
            data = source.read(name)
            damaged.writestr(name, data[:len(data) // 2] if "worksheets" in name else data)
    return [deep, cut]


def test_a_damaged_file_is_refused_on_the_import_page_and_its_upload_removed(app, tmp_path):
    staff = signed_in(app, "staff")
    for path in damaged_files(tmp_path):
        response = upload(staff, path)
        assert response.status_code == 422 and path.name in response.text
    uploads = Path(app.instance_path) / "uploads"
    assert not uploads.exists() or not any(uploads.iterdir())
    assert store(app).revision() == 0


def test_the_import_command_names_a_damaged_file(tmp_path, monkeypatch):
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'cli.db'}")
    for path in damaged_files(tmp_path):
        result = CliRunner().invoke(main, ["import", "--region", "nanjing", "--dry-run",
                                           str(path)])
        assert result.exit_code == 1 and result.exception.__class__ is SystemExit
        assert f"Error: {path.name}" in result.output


def test_a_good_file_is_imported_in_one_go_and_the_next_nearest_query_finds_it(app):
    staff = signed_in(app, "staff", "wang")
    dry_run = upload(staff, RECORDS / "good_chinese_gcj02.csv")
    assert dry_run.status_code == 200 and store(app).revision() == 0
    assert re.search(r'id="row-counts">[^<]*3[^<]*3', dry_run.text)
    form = re.search(r'<form[^>]*id="import-form".*?</form>', dry_run.text, re.S).group(0)
    fields = dict(re.findall(r'name="([a-z_]+)" value="([^"]*)"', form))
    imported = staff.post("/staff/import", data=fields)
    assert imported.status_code == 302
    stations = store(app).list(region="nanjing")
    assert len(stations) == 3 and store(app).revision() == 1  # one transaction
    assert {s.name for s in stations} >= {"珠江路爱心驿站", "汉中路快递员之家"}
    for station in stations:
        assert [(e.action, e.actor) for e in store(app).history(station.id)] == [
            ("import", "wang")]
    open_one = next(s for s in stations if s.status == "open")
    assert open_one.id in nearest_ids(app.test_client(), (open_one.lon, open_one.lat))
    again = staff.post("/staff/import", data=fields)  # the same form sent twice
    assert again.status_code == 422 and store(app).count() == 3


def test_rows_that_update_stored_stations_are_not_imported(app):
    add(app)
    staff = signed_in(app, "staff")
    exported = staff.get("/staff/export?region=nanjing&format=csv").data
    path = Path(app.instance_path) / "stations.csv"
    path.write_bytes(exported)
    response = upload(staff, path)
    assert response.status_code == 422 and 'id="updates"' in response.text
    assert 'id="import-form"' not in response.text and store(app).revision() == 1


def test_export_downloads_every_format_with_the_attribution(app):
    add(app, "新街口爱心驿站")
    viewer = signed_in(app, "viewer")
    csv = viewer.get("/staff/export?region=nanjing&format=csv")
    assert csv.data.startswith(b"\xef\xbb\xbf") and "新街口爱心驿站" in csv.data.decode("utf-8-sig")
    assert "OpenStreetMap" in csv.data.decode("utf-8-sig")
    assert "attachment" in csv.headers["Content-Disposition"]
    xlsx = viewer.get("/staff/export?region=nanjing&format=xlsx")
    assert zipfile.is_zipfile(io.BytesIO(xlsx.data))
    geojson = json.loads(viewer.get("/staff/export?region=nanjing&format=geojson").data)
    assert [f["properties"]["name"] for f in geojson["features"]] == ["新街口爱心驿站"]
    gpkg = viewer.get("/staff/export?region=nanjing&format=gpkg")
    assert gpkg.data.startswith(b"SQLite format 3")
    assert viewer.get("/staff/export?region=nanjing&format=pdf").status_code == 400
    assert viewer.get("/staff/export?region=atlantis&format=csv").status_code == 400


def test_the_import_and_export_commands(tmp_path, monkeypatch):
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    monkeypatch.setenv("DATABASE_URL", url)
    runner = CliRunner()
    bad = runner.invoke(main, ["import", "--region", "nanjing", str(RECORDS / "bad_rows.csv")])
    assert bad.exit_code != 0 and "line 5, amenities" in bad.output
    dry = runner.invoke(main, ["import", "--region", "nanjing", "--dry-run",
                               str(RECORDS / "good_chinese_gcj02.csv")])
    stored = StationStore(Database(url))
    assert dry.exit_code == 0 and stored.revision() == 0
    real = runner.invoke(main, ["import", "--region", "nanjing", "--as", "wang",
                                str(RECORDS / "good_chinese_gcj02.csv")])
    assert real.exit_code == 0, real.output
    stations = stored.list()
    assert len(stations) == 3 and stored.history(stations[0].id)[0].actor == "wang"
    out = tmp_path / "out.csv"
    exported = runner.invoke(main, ["export", "--region", "nanjing", "--format", "csv",
                                    "-o", str(out)])
    assert exported.exit_code == 0 and out.read_bytes().startswith(b"\xef\xbb\xbf")
    assert "汉中路快递员之家" in out.read_text(encoding="utf-8-sig")


# --- station text is shown as text ------------------------------------------------------------

def test_a_station_named_like_a_script_shows_as_text_on_every_staff_page(app):
    added = add(app, SCRIPT_NAME, host=SCRIPT_NAME, notes='"><img src=x onerror=alert(2)>')
    staff = signed_in(app, "staff")
    store(app).update(added.id, {"address": SCRIPT_NAME}, 1)
    conflict = post(staff, f"/staff/stations/{added.id}/edit", edit_form(added, phone="1"))
    pages = [staff.get("/staff?region=nanjing"), staff.get(f"/staff/stations/{added.id}"),
             staff.get(f"/staff/stations/{added.id}/edit"),
             staff.get(f"/staff/stations/{added.id}/history"), conflict]
    for page in pages:
        assert SCRIPT_NAME not in page.text and "<img src=x" not in page.text
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page.text
    api = app.test_client().get("/api/v1/stations?region=nanjing")
    assert api.mimetype == "application/json"
    assert api.get_json()["features"][0]["properties"]["name"] == SCRIPT_NAME
