"""Account management, on SQLite and on PostgreSQL + PostGIS: an admin changes a role, lifts a
lock, resets a password (which must then be changed before anything else) and deactivates or
reactivates an account, every change recorded; a locked or deactivated account's API token is
refused; the last active admin stays; the accounts page is for admins only and its forms need
their CSRF token; and the ``yizhan user`` commands do the same from the server.

Tests that take ``store_url`` or ``database`` run on both back ends (the PostgreSQL fixtures
in ``tests/conftest.py`` skip and say why when there is no server).
"""

import re
import threading
from datetime import UTC, datetime

import pytest

from geo.accounts import LOCKOUT, MAX_FAILED_ATTEMPTS, AccountError, AccountStore, SignInRefused
from tests.support import FAST_HASH, PASSWORD, Clock, csrf_token, make_app, post, run_cli, sign_in
from web.staff import when


@pytest.fixture
def clock() -> Clock:
    return Clock(datetime(2026, 3, 2, 9, 30, tzinfo=UTC))


@pytest.fixture
def accounts(database, clock) -> AccountStore:
    return AccountStore(database, clock=clock, password_method=FAST_HASH)


def lock(accounts: AccountStore, name: str) -> None:
    """Lock an account with wrong passwords."""
    for _ in range(MAX_FAILED_ATTEMPTS):
        with pytest.raises(SignInRefused):
            accounts.authenticate(name, "wrong password")


# The engine


def test_a_new_role_ends_the_sessions_and_is_recorded_with_who_and_when(accounts, clock):
    wang = accounts.add_user("wang", PASSWORD, "staff")
    changed = accounts.set_role("wang", "viewer", actor="zhao")
    assert (changed.role, changed.session_version) == ("viewer", wang.session_version + 1)
    (event,) = accounts.events()
    assert (event.at, event.actor, event.username, event.action, event.detail) == (
        clock.now, "zhao", "wang", "role", "viewer")


@pytest.mark.parametrize(("change", "field"), [
    (lambda a: a.set_role("nobody", "staff"), "username"),
    (lambda a: a.set_role("wang", "boss"), "role"),
    (lambda a: a.unlock("nobody"), "username"),
    (lambda a: a.reset_password("nobody"), "username"),
    (lambda a: a.reset_password("wang", password="short"), "password"),
    (lambda a: a.deactivate("nobody"), "username"),
    (lambda a: a.activate("nobody"), "username"),
])
def test_a_change_of_an_unknown_account_or_to_an_unknown_role_names_the_field(
        accounts, change, field):
    accounts.add_user("wang", PASSWORD, "staff")
    with pytest.raises(AccountError) as refused:
        change(accounts)
    assert refused.value.field == field
    assert accounts.events() == []


def test_unlocking_lifts_the_lock_keeps_the_sessions_and_lets_the_token_work_again(accounts):
    accounts.add_user("wang", PASSWORD, "staff")
    token = accounts.issue_token("wang")
    lock(accounts, "wang")
    assert accounts.user_for_token(token) is None  # a locked account's token is refused
    version = accounts.list_users()[0].session_version
    unlocked = accounts.unlock("wang", actor="zhao")
    assert (unlocked.locked_until, unlocked.failed_attempts) == (None, 0)
    assert unlocked.session_version == version
    assert accounts.user_for_token(token).username == "wang"
    assert accounts.authenticate("wang", PASSWORD).username == "wang"
    assert [e.action for e in accounts.events()] == ["unlock"]


def test_a_locked_account_s_token_works_again_once_the_lock_ends(accounts, clock):
    accounts.add_user("wang", PASSWORD, "staff")
    token = accounts.issue_token("wang")
    lock(accounts, "wang")
    assert accounts.user_for_token(token) is None
    clock.advance(seconds=LOCKOUT.total_seconds())
    assert accounts.user_for_token(token).username == "wang"


def test_a_reset_password_signs_in_once_and_must_then_be_changed(accounts):
    accounts.add_user("wang", PASSWORD, "staff")
    token = accounts.issue_token("wang")
    lock(accounts, "wang")
    reset, temporary = accounts.reset_password("wang", actor="zhao")
    assert re.fullmatch(r"[a-hjkmnp-z2-9]{16}", temporary)  # no look-alikes such as 0 and o
    assert reset.must_change_password and reset.locked_until is None
    assert accounts.user_for_token(token) is None  # revoked
    with pytest.raises(SignInRefused):
        accounts.authenticate("wang", PASSWORD)
    assert accounts.authenticate("wang", temporary).must_change_password
    changed = accounts.set_password("wang", "my own password", actor="wang")
    assert not changed.must_change_password
    assert [(e.actor, e.action) for e in accounts.events()] == [("wang", "password"),
                                                                 ("zhao", "reset")]
    assert accounts.events("nobody") == []


def test_two_resets_give_two_different_temporary_passwords(accounts):
    accounts.add_user("wang", PASSWORD, "staff")
    assert accounts.reset_password("wang")[1] != accounts.reset_password("wang")[1]


def test_a_deactivated_account_cannot_sign_in_and_its_tokens_are_refused_until_reactivated(
        accounts):
    wang = accounts.add_user("wang", PASSWORD, "staff")
    token = accounts.issue_token("wang")
    deactivated = accounts.deactivate("wang", actor="zhao")
    assert not deactivated.active and deactivated.session_version == wang.session_version + 1
    with pytest.raises(SignInRefused):
        accounts.authenticate("wang", PASSWORD)
    assert accounts.user_for_token(token) is None
    assert accounts.usable_tokens() == {"wang": 1}  # refused, not revoked
    assert accounts.activate("wang", actor="zhao").active
    assert accounts.user_for_token(token).username == "wang"
    assert accounts.authenticate("wang", PASSWORD).active
    assert [e.action for e in accounts.events()] == ["activate", "deactivate"]


def test_a_sign_in_notes_its_time_and_a_refused_one_does_not(accounts, clock):
    accounts.add_user("wang", PASSWORD, "staff")
    with pytest.raises(SignInRefused):
        accounts.authenticate("wang", "wrong password")
    assert accounts.list_users()[0].last_sign_in_at is None
    clock.advance(minutes=5)
    assert accounts.authenticate("wang", PASSWORD).last_sign_in_at == clock.now


def test_usable_tokens_leave_out_revoked_and_expired_ones(accounts, clock):
    accounts.add_user("wang", PASSWORD, "staff")
    accounts.add_user("li", PASSWORD, "staff")
    accounts.issue_token("wang", days=1)
    accounts.issue_token("wang", days=30)
    accounts.issue_token("li")
    accounts.revoke_tokens("li")
    assert accounts.usable_tokens() == {"wang": 2}
    clock.advance(days=2)
    assert accounts.usable_tokens() == {"wang": 1}


def test_the_last_active_admin_can_be_neither_demoted_nor_deactivated(accounts):
    accounts.add_user("zhao", PASSWORD, "admin")
    accounts.add_user("qian", PASSWORD, "admin")
    accounts.deactivate("qian")  # a deactivated admin does not count
    for change in (lambda: accounts.set_role("zhao", "staff", actor="zhao"),
                   lambda: accounts.deactivate("zhao", actor="zhao")):
        with pytest.raises(AccountError, match="last active admin"):
            change()
    zhao = next(u for u in accounts.list_users() if u.username == "zhao")
    assert (zhao.role, zhao.active) == ("admin", True)
    accounts.activate("qian")
    assert accounts.set_role("zhao", "staff", actor="zhao").role == "staff"
    assert accounts.set_role("qian", "admin").role == "admin"  # no change of rights: allowed


def test_two_admins_demoting_each_other_at_once_leave_one_admin(accounts):
    accounts.add_user("zhao", PASSWORD, "admin")
    accounts.add_user("qian", PASSWORD, "admin")
    start = threading.Barrier(2)
    refused: list[str] = []

    def demote(name: str) -> None:
        start.wait()
        try:
            accounts.set_role(name, "staff")
        except AccountError:
            refused.append(name)

    threads = [threading.Thread(target=demote, args=(name,)) for name in ("zhao", "qian")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(refused) == 1
    assert sorted(u.role for u in accounts.list_users()) == ["admin", "staff"]


# The web app


@pytest.fixture
def app(tmp_path, clock, store_url):
    return make_app(tmp_path, clock, DATABASE_URL=store_url)


def client_of(app, name: str, password: str = PASSWORD):
    """A client signed in as an existing account."""
    client = app.test_client()
    assert sign_in(client, name, password).status_code == 302
    return client


def write_with(app, token: str, lang: str = "zh"):
    """A station write made with an API token."""
    return app.test_client().post(f"/api/v1/stations?lang={lang}", json={},
                                  headers={"Authorization": f"Bearer {token}"})


@pytest.mark.parametrize("refuse", ["deactivate", "lock"])
def test_a_deactivated_or_locked_account_s_token_gets_401_json_in_the_user_s_language(
        app, refuse):
    accounts = app.extensions["accounts"]
    accounts.add_user("wang", PASSWORD, "staff")
    token = accounts.issue_token("wang")
    assert write_with(app, token).status_code == 422  # may write: refused for the empty station
    if refuse == "deactivate":
        accounts.deactivate("wang")
    else:
        lock(accounts, "wang")
    chinese, english = write_with(app, token), write_with(app, token, "en")
    assert chinese.status_code == english.status_code == 401
    assert chinese.headers["WWW-Authenticate"] == 'Bearer realm="yizhan"'
    assert chinese.json["error"]["parameter"] == "Authorization"
    assert "停用" in chinese.json["error"]["message"]
    assert "deactivated" in english.json["error"]["message"]


def test_a_deactivated_account_s_session_ends_at_its_next_request(app):
    accounts = app.extensions["accounts"]
    accounts.add_user("wang", PASSWORD, "staff")
    client = client_of(app, "wang")
    assert client.get("/staff").status_code == 200
    accounts.deactivate("wang")
    assert client.get("/staff").status_code == 302
    assert sign_in(client, "wang").status_code == 401


def test_the_accounts_page_is_for_admins_only(app):
    accounts = app.extensions["accounts"]
    accounts.add_user("zhao", PASSWORD, "admin")
    accounts.add_user("wang", PASSWORD, "staff")
    target = accounts.list_users()[0].id
    assert app.test_client().get("/staff/users").status_code == 302  # to the sign-in page
    staff = client_of(app, "wang")
    assert staff.get("/staff/users").status_code == 403
    for action in ("role", "unlock", "reset-password", "deactivate", "activate"):
        refused = post(staff, f"/staff/users/{target}/{action}", {"role": "viewer"})
        assert refused.status_code == 403
    assert accounts.events() == []


def test_the_accounts_page_lists_role_state_lock_last_sign_in_and_tokens(app, clock):
    accounts = app.extensions["accounts"]
    accounts.add_user("zhao", PASSWORD, "admin")
    accounts.add_user("wang", PASSWORD, "staff")
    accounts.add_user("li", PASSWORD, "viewer")
    clock.now = datetime.now(UTC).replace(microsecond=0)  # the page shows locks as of now
    accounts.issue_token("wang")
    accounts.issue_token("wang")
    lock(accounts, "li")
    admin = client_of(app, "zhao")
    page = admin.get("/staff/users?lang=en").text
    wang = row(page, accounts, "wang")
    assert 'value="staff" selected' in wang and "never" in wang and "active" in wang
    assert re.search(r'class="tokens">2<', wang)
    li = row(page, accounts, "li")
    assert when(clock.now + LOCKOUT) in li and "Unlock" in li  # locked until, Beijing time
    assert when(clock.now) in row(page, accounts, "zhao")  # signed in just now
    assert "账号" in admin.get("/staff/users?lang=zh").text


def row(page: str, accounts: AccountStore, name: str) -> str:
    """The accounts table's row of an account."""
    user_id = next(u.id for u in accounts.list_users() if u.username == name)
    return re.search(rf'<tr id="user-{user_id}".*?</tr>', page, re.S).group(0)


def test_an_admin_changes_roles_unlocks_resets_and_deactivates_and_each_is_recorded(app):
    accounts = app.extensions["accounts"]
    accounts.add_user("zhao", PASSWORD, "admin")
    wang = accounts.add_user("wang", PASSWORD, "staff")
    admin = client_of(app, "zhao")
    assert post(admin, f"/staff/users/{wang.id}/role", {"role": "viewer"}).status_code == 302
    lock(accounts, "wang")
    assert post(admin, f"/staff/users/{wang.id}/unlock", {}).status_code == 302
    reset = post(admin, f"/staff/users/{wang.id}/reset-password", {})
    assert reset.status_code == 200 and reset.headers["Cache-Control"] == "no-store"
    temporary = re.search(r'<code class="secret">([^<]+)</code>', reset.text).group(1)
    assert accounts.authenticate("wang", temporary).must_change_password
    assert post(admin, f"/staff/users/{wang.id}/deactivate", {}).status_code == 302
    assert not accounts.get_user(wang.id).active
    assert post(admin, f"/staff/users/{wang.id}/activate", {}).status_code == 302
    assert accounts.get_user(wang.id).role == "viewer"
    events = accounts.events()
    assert [e.action for e in events] == ["activate", "deactivate", "reset", "unlock", "role"]
    assert {e.actor for e in events} == {"zhao"} and {e.username for e in events} == {"wang"}
    page = admin.get("/staff/users?lang=en").text
    assert "role changed to viewer" in page and "password reset" in page
    assert temporary not in page  # shown once only


def test_an_unknown_account_or_role_changes_nothing(app):
    accounts = app.extensions["accounts"]
    accounts.add_user("zhao", PASSWORD, "admin")
    wang = accounts.add_user("wang", PASSWORD, "staff")
    admin = client_of(app, "zhao")
    assert post(admin, "/staff/users/999/unlock", {}).status_code == 404
    refused = post(admin, f"/staff/users/{wang.id}/role?lang=en", {"role": "boss"})
    assert refused.status_code == 400 and "Choose one of the listed roles" in refused.text
    assert accounts.get_user(wang.id).role == "staff" and accounts.events() == []


def test_the_last_admin_cannot_deactivate_or_demote_themselves_on_the_page(app):
    accounts = app.extensions["accounts"]
    zhao = accounts.add_user("zhao", PASSWORD, "admin")
    admin = client_of(app, "zhao")
    for action, form in (("deactivate", {}), ("role", {"role": "staff"})):
        refused = post(admin, f"/staff/users/{zhao.id}/{action}?lang=en", form)
        assert refused.status_code == 409 and "last active admin" in refused.text
    assert accounts.get_user(zhao.id).role == "admin" and accounts.get_user(zhao.id).active
    assert admin.get("/staff/users").status_code == 200  # still signed in


def test_the_account_forms_need_their_csrf_token(app):
    accounts = app.extensions["accounts"]
    accounts.add_user("zhao", PASSWORD, "admin")
    wang = accounts.add_user("wang", PASSWORD, "staff")
    admin = client_of(app, "zhao")
    for action in ("role", "unlock", "reset-password", "deactivate", "activate"):
        refused = admin.post(f"/staff/users/{wang.id}/{action}", data={"role": "viewer"})
        assert refused.status_code == 400
    assert accounts.get_user(wang.id) == wang and accounts.events() == []


def test_after_a_reset_the_sign_in_leads_to_the_new_password_form_before_anything_else(app):
    accounts = app.extensions["accounts"]
    accounts.add_user("wang", PASSWORD, "staff")
    _user, temporary = accounts.reset_password("wang", actor="zhao")
    client = app.test_client()
    signed = sign_in(client, "wang", temporary)
    assert signed.headers["Location"] == "/account/password"
    for page in ("/staff", "/", "/staff/import"):
        assert client.get(page).headers["Location"] == "/account/password"
    api = client.post("/api/v1/stations", json={},
                      headers={"X-CSRFToken": csrf_token(client, "/account/password")})
    assert api.status_code == 403 and api.json["error"]["parameter"] == "Authorization"
    form = {"current": temporary, "password": "my own password", "repeat": "my own password"}
    for wrong in ({"current": "wrong password"}, {"repeat": "something else"},
                  {"password": temporary, "repeat": temporary}, {"password": "short",
                                                                 "repeat": "short"}):
        assert post(client, "/account/password", {**form, **wrong}).status_code == 400
    changed = post(client, "/account/password", form)
    assert changed.status_code == 302 and changed.headers["Location"] == "/staff"
    assert client.get("/staff").status_code == 200  # this session stays signed in
    assert not accounts.list_users()[0].must_change_password
    with pytest.raises(SignInRefused):
        accounts.authenticate("wang", temporary)


def test_a_signed_in_account_may_change_its_own_password(app):
    app.extensions["accounts"].add_user("wang", PASSWORD, "staff")
    client = client_of(app, "wang")
    assert client.get("/account/password").status_code == 200
    form = {"current": PASSWORD, "password": "my own password", "repeat": "my own password"}
    assert post(client, "/account/password", form).status_code == 302
    assert app.extensions["accounts"].authenticate("wang", "my own password")


# The yizhan user command


@pytest.fixture
def cli_accounts(store_url, monkeypatch) -> AccountStore:
    monkeypatch.setenv("DATABASE_URL", store_url)
    from geo.database import Database
    return AccountStore(Database(store_url), password_method=FAST_HASH)


def test_user_commands_unlock_reset_deactivate_and_activate(cli_accounts):
    cli_accounts.add_user("zhao", PASSWORD, "admin")
    cli_accounts.add_user("wang", PASSWORD, "staff")
    token = cli_accounts.issue_token("wang")
    lock(cli_accounts, "wang")
    assert run_cli("user", "unlock", "wang").output == "unlocked wang\n"
    assert cli_accounts.authenticate("wang", PASSWORD).username == "wang"
    deactivated = run_cli("user", "deactivate", "wang")
    assert deactivated.output == "deactivated wang\n"
    assert cli_accounts.user_for_token(token) is None
    assert run_cli("user", "activate", "wang").output == "activated wang\n"
    assert cli_accounts.user_for_token(token).username == "wang"
    reset = run_cli("user", "reset-password", "wang")
    assert reset.exit_code == 0
    temporary = reset.stdout.strip()
    assert cli_accounts.authenticate("wang", temporary).must_change_password
    assert "must choose a new password" in reset.stderr
    piped = run_cli("user", "reset-password", "wang", "--password-stdin", stdin="hand-picked\n")
    assert piped.exit_code == 0 and "hand-picked" not in piped.output
    assert cli_accounts.authenticate("wang", "hand-picked").must_change_password
    assert {e.actor for e in cli_accounts.events()} == {f"cli:{__import__('getpass').getuser()}"}


@pytest.mark.parametrize(("args", "message"), [
    (("user", "unlock", "nobody"), "Error: username: no account named 'nobody'"),
    (("user", "deactivate", "nobody"), "Error: username: no account named 'nobody'"),
    (("user", "activate", "nobody"), "Error: username: no account named 'nobody'"),
    (("user", "reset-password", "nobody"), "Error: username: no account named 'nobody'"),
    (("user", "role", "nobody", "staff"), "Error: username: no account named 'nobody'"),
    (("user", "role", "zhao", "boss"),
     "Error: role: unknown role 'boss'; use one of viewer, staff, admin"),
    (("user", "deactivate", "zhao"), "Error: username: 'zhao' is the last active admin; "
                                     "make another account admin first"),
    (("user", "role", "zhao", "staff"), "Error: username: 'zhao' is the last active admin; "
                                        "make another account admin first"),
])
def test_user_commands_say_what_is_wrong_in_one_line(cli_accounts, args, message):
    cli_accounts.add_user("zhao", PASSWORD, "admin")
    refused = run_cli(*args)
    assert refused.exit_code == 1 and refused.output == message + "\n"


def test_user_list_shows_role_state_lock_last_sign_in_and_usable_tokens(cli_accounts):
    cli_accounts.add_user("zhao", PASSWORD, "admin")
    cli_accounts.add_user("wang", PASSWORD, "staff")
    cli_accounts.add_user("li", PASSWORD, "viewer")
    cli_accounts.issue_token("wang")
    cli_accounts.authenticate("zhao", PASSWORD)
    lock(cli_accounts, "li")
    cli_accounts.deactivate("wang")
    cli_accounts.reset_password("zhao")
    lines = {line.split()[0]: line for line in run_cli("user", "list").output.splitlines()
             if not line.startswith(" ")}
    assert lines["wang"].split()[1:3] == ["staff", "deactivated"]
    assert "last sign-in never" in lines["wang"] and "1 usable token," in lines["wang"]
    assert re.search(r"last sign-in 20\d\d-\d\d-\d\d \d\d:\d\d", lines["zhao"])
    assert "must change password" in lines["zhao"]
    assert lines["li"].split()[1:3] == ["viewer", "active"] and "locked until" in lines["li"]
