"""Staff accounts, on SQLite and on PostgreSQL + PostGIS: hashed passwords, roles, lock-out after
wrong passwords (simultaneous ones all counted), the same password-hash work for every refusal,
session versions that end sessions, API tokens kept as digests only that expire and note their
use without a write per request, the migrations that make the tables, and the ``yizhan user``
command.

Tests that take ``store_url`` or ``database`` run on both back ends (the PostgreSQL fixtures
in ``tests/conftest.py`` skip and say why when there is no server).
"""

import dataclasses
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta

import pytest
from alembic import command
from sqlalchemy import create_engine, event, inspect, text
from sqlalchemy.engine import Engine

from geo import accounts as accounts_module
from geo.accounts import (
    LOCKOUT,
    MAX_FAILED_ATTEMPTS,
    MAX_TOKEN_DAYS,
    ROLES,
    TOKEN_DAYS,
    AccountError,
    AccountStore,
    SignInRefused,
)
from geo.database import Database
from geo.store import StationStore
from tests.support import FAST_HASH, PASSWORD, migrations_config, run_cli, xinjiekou_station
from web.cli import SHANGHAI


@pytest.fixture
def accounts(database, clock) -> AccountStore:
    return AccountStore(database, clock=clock, password_method=FAST_HASH)


def stored_rows(url: str, table: str) -> list[tuple]:
    """Every row of a table, as the database holds it."""
    engine = create_engine(url)
    with engine.connect() as connection:
        rows = connection.execute(text(f"SELECT * FROM {table}")).all()
    engine.dispose()
    return [tuple(row) for row in rows]


# Accounts and passwords


def test_an_account_keeps_its_role_and_only_a_salted_scrypt_hash_of_its_password(
        database, store_url):
    accounts = AccountStore(database)
    wang = accounts.add_user("王芳", PASSWORD, "staff")
    li = accounts.add_user("li.qiang", PASSWORD, "viewer")
    assert (wang.username, wang.role, wang.failed_attempts, wang.locked_until) == (
        "王芳", "staff", 0, None)
    assert accounts.get_user(wang.id) == wang
    assert [u.username for u in accounts.list_users()] == ["li.qiang", "王芳"]
    rows = stored_rows(store_url, "users")
    hashes = [value for row in rows for value in row if isinstance(value, str)
              and value.startswith("scrypt:")]
    assert len(hashes) == 2 and len(set(hashes)) == 2  # salted: same password, two hashes
    assert not any(PASSWORD in str(value) for row in rows for value in row)
    assert li.has_role("viewer") and not li.has_role("staff")
    assert wang.has_role("staff") and not wang.has_role("admin")
    signed_in = accounts.authenticate("王芳", PASSWORD)
    assert signed_in == dataclasses.replace(wang, last_sign_in_at=signed_in.last_sign_in_at)
    assert signed_in.last_sign_in_at is not None and wang.last_sign_in_at is None
    accounts.close()


def test_passwords_hashed_another_way_still_sign_in(database):
    AccountStore(database, password_method=FAST_HASH).add_user("wang", PASSWORD)
    assert AccountStore(database).authenticate("wang", PASSWORD).username == "wang"


@pytest.mark.parametrize(("username", "password", "role", "field"), [
    ("", PASSWORD, "staff", "username"),
    ("has space", PASSWORD, "staff", "username"),
    ("x" * 81, PASSWORD, "staff", "username"),
    ("zhao", "short", "staff", "password"),
    ("zhao", PASSWORD, "boss", "role"),
])
def test_a_bad_account_is_refused_naming_the_field(accounts, username, password, role, field):
    with pytest.raises(AccountError) as refused:
        accounts.add_user(username, password, role)
    assert refused.value.field == field
    assert accounts.list_users() == []


def test_a_user_name_can_be_taken_only_once(accounts):
    accounts.add_user("wang", PASSWORD)
    with pytest.raises(AccountError, match="taken") as refused:
        accounts.add_user("wang", "another password", "admin")
    assert refused.value.field == "username"
    assert [u.role for u in accounts.list_users()] == ["staff"]


def test_the_right_password_signs_in_and_a_wrong_one_or_an_unknown_name_does_not(accounts):
    added = accounts.add_user("wang", PASSWORD)
    assert accounts.authenticate("wang", PASSWORD).id == added.id
    with pytest.raises(SignInRefused):
        accounts.authenticate("wang", PASSWORD.upper())
    with pytest.raises(SignInRefused):
        accounts.authenticate("nobody", PASSWORD)
    with pytest.raises(SignInRefused):
        accounts.authenticate("wang", "")


# Lock-out


def test_five_wrong_passwords_lock_the_account_for_fifteen_minutes(accounts, clock):
    assert (MAX_FAILED_ATTEMPTS, LOCKOUT) == (5, timedelta(minutes=15))
    accounts.add_user("wang", PASSWORD)
    for _ in range(MAX_FAILED_ATTEMPTS):
        with pytest.raises(SignInRefused):
            accounts.authenticate("wang", "wrong password")
    (locked,) = accounts.list_users()
    assert locked.locked_until == clock.now + LOCKOUT and locked.is_locked(clock.now)
    with pytest.raises(SignInRefused):  # the right password, while locked
        accounts.authenticate("wang", PASSWORD)
    clock.advance(minutes=14, seconds=59)
    with pytest.raises(SignInRefused):
        accounts.authenticate("wang", PASSWORD)
    clock.advance(seconds=1)
    assert accounts.authenticate("wang", PASSWORD).username == "wang"


def test_a_right_password_resets_the_count_of_wrong_ones(accounts):
    accounts.add_user("wang", PASSWORD)
    for _ in range(MAX_FAILED_ATTEMPTS - 1):
        with pytest.raises(SignInRefused):
            accounts.authenticate("wang", "wrong password")
    assert accounts.authenticate("wang", PASSWORD).failed_attempts == 0
    for _ in range(MAX_FAILED_ATTEMPTS - 1):
        with pytest.raises(SignInRefused):
            accounts.authenticate("wang", "wrong password")
    assert accounts.authenticate("wang", PASSWORD).locked_until is None


def test_attempts_while_locked_do_not_extend_the_lock(accounts, clock):
    accounts.add_user("wang", PASSWORD)
    for _ in range(MAX_FAILED_ATTEMPTS):
        with pytest.raises(SignInRefused):
            accounts.authenticate("wang", "wrong password")
    clock.advance(minutes=10)
    for _ in range(3):
        with pytest.raises(SignInRefused):
            accounts.authenticate("wang", "wrong password")
    clock.advance(minutes=5)
    assert accounts.authenticate("wang", PASSWORD).username == "wang"


def attempts_at_once(accounts: AccountStore, password: str, count: int) -> int:
    """Make ``count`` sign-in attempts as ``wang`` released together; return how many were
    refused."""
    start = threading.Barrier(count)

    def attempt(_) -> bool:
        start.wait()
        try:
            accounts.authenticate("wang", password)
        except SignInRefused:
            return True
        return False

    with ThreadPoolExecutor(count) as pool:
        return sum(pool.map(attempt, range(count)))


def test_simultaneous_wrong_passwords_are_all_counted_and_the_fifth_locks(accounts, clock):
    accounts.add_user("wang", PASSWORD)
    assert attempts_at_once(accounts, "wrong password", 8) == 8
    (wang,) = accounts.list_users()
    assert wang.failed_attempts == 8
    assert wang.locked_until == clock.now + LOCKOUT


def test_five_simultaneous_wrong_passwords_lock_out_the_right_one(accounts):
    accounts.add_user("wang", PASSWORD)
    assert attempts_at_once(accounts, "wrong password", MAX_FAILED_ATTEMPTS) == 5
    with pytest.raises(SignInRefused):
        accounts.authenticate("wang", PASSWORD)


def test_four_simultaneous_wrong_passwords_leave_one_try(accounts):
    accounts.add_user("wang", PASSWORD)
    assert attempts_at_once(accounts, "wrong password", MAX_FAILED_ATTEMPTS - 1) == 4
    assert accounts.list_users()[0].failed_attempts == 4
    assert accounts.authenticate("wang", PASSWORD).failed_attempts == 0


def test_simultaneous_right_passwords_all_sign_in(accounts):
    accounts.add_user("wang", PASSWORD)
    assert attempts_at_once(accounts, PASSWORD, 8) == 0


def test_the_count_starts_again_after_a_lock_ends(accounts, clock):
    accounts.add_user("wang", PASSWORD)
    for _ in range(MAX_FAILED_ATTEMPTS + 2):
        with pytest.raises(SignInRefused):
            accounts.authenticate("wang", "wrong password")
    clock.advance(minutes=15)
    for _ in range(MAX_FAILED_ATTEMPTS - 1):
        with pytest.raises(SignInRefused):
            accounts.authenticate("wang", "wrong password")
    (wang,) = accounts.list_users()
    assert wang.failed_attempts == 4 and not wang.is_locked(clock.now)
    assert accounts.authenticate("wang", PASSWORD).username == "wang"


#: Sign-in attempts that are refused, with ``li`` locked and ``wang`` not.
REFUSALS = {
    "unknown name": ("nobody", PASSWORD), "locked, right password": ("li", PASSWORD),
    "locked, wrong password": ("li", "wrong password"),
    "wrong password": ("wang", "wrong password"),
}


@pytest.fixture
def hash_checks(monkeypatch) -> list[str]:
    """The password hashes checked, in order."""
    checked = []
    check = accounts_module.check_password_hash

    def counted(stored: str, password: str) -> bool:
        checked.append(stored)
        return check(stored, password)

    monkeypatch.setattr(accounts_module, "check_password_hash", counted)
    return checked


@contextmanager
def sent_statements() -> Iterator[list[str]]:
    """The first word of every SQL statement sent to any database meanwhile."""
    sent = []

    def note(connection, cursor, statement, parameters, context, executemany) -> None:
        sent.append(statement.split(None, 1)[0].upper())

    event.listen(Engine, "before_cursor_execute", note)
    try:
        yield sent
    finally:
        event.remove(Engine, "before_cursor_execute", note)


def test_every_refusal_sends_the_same_statements(accounts):
    accounts.add_user("wang", PASSWORD)
    accounts.add_user("li", PASSWORD)
    for _ in range(MAX_FAILED_ATTEMPTS):
        with pytest.raises(SignInRefused):
            accounts.authenticate("li", "wrong password")
    sent = {}
    for path, (name, password) in REFUSALS.items():
        with sent_statements() as statements, pytest.raises(SignInRefused):
            accounts.authenticate(name, password)
        sent[path] = statements
    assert sent["wrong password"] == ["SELECT", "UPDATE"]
    assert all(statements == sent["wrong password"] for statements in sent.values()), sent
    assert [user.failed_attempts for user in accounts.list_users()] == [
        MAX_FAILED_ATTEMPTS + 1, 1]


def test_every_refusal_does_the_same_password_hash_work(accounts, hash_checks):
    accounts.add_user("wang", PASSWORD)
    accounts.add_user("li", PASSWORD)
    for _ in range(MAX_FAILED_ATTEMPTS):
        with pytest.raises(SignInRefused):
            accounts.authenticate("li", "wrong password")
    method = hash_checks[0].split("$")[0]
    for path, (name, password) in REFUSALS.items():
        hash_checks.clear()
        with pytest.raises(SignInRefused):
            accounts.authenticate(name, password)
        assert [h.split("$")[0] for h in hash_checks] == [method], path
    hash_checks.clear()
    accounts.authenticate("wang", PASSWORD)
    assert [h.split("$")[0] for h in hash_checks] == [method]


# Ending sessions, new passwords and roles


def test_ending_sessions_a_new_password_or_a_new_role_move_the_session_version_on(accounts):
    wang = accounts.add_user("wang", PASSWORD)
    assert wang.session_version == 0
    accounts.end_sessions(wang.id)
    assert accounts.get_user(wang.id).session_version == 1
    assert accounts.set_password("wang", "a new password").session_version == 2
    changed = accounts.set_role("wang", "admin")
    assert (changed.role, changed.session_version) == ("admin", 3)
    assert accounts.authenticate("wang", "a new password").session_version == 3
    with pytest.raises(SignInRefused):
        accounts.authenticate("wang", PASSWORD)


def test_a_new_password_revokes_the_account_s_tokens_and_a_new_role_keeps_them(accounts):
    accounts.add_user("wang", PASSWORD, "staff")
    accounts.add_user("li", PASSWORD, "staff")
    old, others = accounts.issue_token("wang"), accounts.issue_token("li")
    accounts.set_password("wang", "a new password")
    assert accounts.user_for_token(old) is None and accounts.list_tokens("wang") == []
    assert accounts.user_for_token(others).username == "li"
    new = accounts.issue_token("wang")
    accounts.set_role("wang", "viewer")
    assert accounts.user_for_token(new).role == "viewer"


def test_a_new_password_lifts_a_lock(accounts, clock):
    accounts.add_user("wang", PASSWORD)
    for _ in range(MAX_FAILED_ATTEMPTS):
        with pytest.raises(SignInRefused):
            accounts.authenticate("wang", "wrong password")
    accounts.set_password("wang", "a new password")
    assert accounts.authenticate("wang", "a new password").failed_attempts == 0


@pytest.mark.parametrize(("change", "field"), [
    (lambda a: a.set_password("nobody", PASSWORD), "username"),
    (lambda a: a.set_password("wang", "short"), "password"),
    (lambda a: a.set_role("nobody", "staff"), "username"),
    (lambda a: a.set_role("wang", "boss"), "role"),
])
def test_a_bad_password_or_role_change_is_refused_naming_the_field(accounts, change, field):
    wang = accounts.add_user("wang", PASSWORD)
    with pytest.raises(AccountError) as refused:
        change(accounts)
    assert refused.value.field == field
    assert accounts.get_user(wang.id) == wang


# API tokens


def test_an_api_token_names_its_account_and_notes_its_use(accounts, store_url, clock):
    wang = accounts.add_user("wang", PASSWORD)
    token = accounts.issue_token("wang")
    assert len(token) >= 40 and accounts.issue_token("wang") != token
    clock.advance(hours=1)
    assert accounts.user_for_token(token) == wang
    rows = stored_rows(store_url, "api_tokens")
    assert not any(token in str(value) for row in rows for value in row)
    engine = create_engine(store_url)
    with engine.connect() as connection:
        used = connection.execute(text(
            "SELECT last_used_at FROM api_tokens WHERE last_used_at IS NOT NULL")).scalars().all()
    engine.dispose()
    assert len(used) == 1


def test_a_token_lasts_ninety_days_unless_told_otherwise(accounts, clock):
    accounts.add_user("wang", PASSWORD)
    default = accounts.issue_token("wang")
    short = accounts.issue_token("wang", days=2)
    assert TOKEN_DAYS == 90
    assert [t.expires_at for t in accounts.list_tokens("wang")] == [
        clock.now + timedelta(days=90), clock.now + timedelta(days=2)]
    clock.advance(days=2, seconds=-1)
    assert accounts.user_for_token(short).username == "wang"
    clock.advance(seconds=1)
    assert accounts.user_for_token(short) is None
    assert [t.is_expired(clock.now) for t in accounts.list_tokens("wang")] == [False, True]
    clock.advance(days=88)
    assert accounts.user_for_token(default) is None
    with pytest.raises(AccountError) as refused:
        accounts.issue_token("wang", days=0)
    assert refused.value.field == "days"


@pytest.mark.parametrize("days", [0, MAX_TOKEN_DAYS + 1, 3_000_000])
def test_a_token_lasts_at_most_ten_years(accounts, clock, days):
    accounts.add_user("wang", PASSWORD)
    assert MAX_TOKEN_DAYS == 3650
    accounts.issue_token("wang", days=MAX_TOKEN_DAYS)
    with pytest.raises(AccountError) as refused:
        accounts.issue_token("wang", days=days)
    assert refused.value.field == "days"
    assert [t.expires_at for t in accounts.list_tokens("wang")] == [
        clock.now + timedelta(days=MAX_TOKEN_DAYS)]


@contextmanager
def counted_writes() -> Iterator[list[str]]:
    """The INSERT, UPDATE and DELETE statements sent to any database meanwhile."""
    writes = []

    def note(connection, cursor, statement, parameters, context, executemany) -> None:
        if statement.lstrip().upper().startswith(("INSERT", "UPDATE", "DELETE")):
            writes.append(statement)

    event.listen(Engine, "before_cursor_execute", note)
    try:
        yield writes
    finally:
        event.remove(Engine, "before_cursor_execute", note)


def test_reading_with_a_token_writes_its_last_use_at_most_once_a_minute(accounts, clock):
    accounts.add_user("wang", PASSWORD)
    token = accounts.issue_token("wang")
    first_use = clock.now
    with counted_writes() as writes:
        accounts.user_for_token(token)
    assert len(writes) == 1
    with counted_writes() as writes:
        for _ in range(10):
            clock.advance(seconds=5)
            assert accounts.user_for_token(token).username == "wang"
    assert writes == []
    assert accounts.list_tokens("wang")[0].last_used_at == first_use
    clock.advance(seconds=10)
    with counted_writes() as writes:
        accounts.user_for_token(token)
    assert len(writes) == 1
    assert accounts.list_tokens("wang")[0].last_used_at == clock.now


def test_unknown_and_revoked_tokens_name_no_account(accounts):
    accounts.add_user("wang", PASSWORD)
    first, second = accounts.issue_token("wang"), accounts.issue_token("wang")
    assert accounts.user_for_token("not-a-token") is None
    assert accounts.revoke_tokens("wang") == 2
    assert accounts.user_for_token(first) is None and accounts.user_for_token(second) is None
    third = accounts.issue_token("wang")
    assert accounts.user_for_token(third).username == "wang"
    with pytest.raises(AccountError):
        accounts.issue_token("nobody")


# Schema


def test_accounts_share_the_station_store_s_database_and_its_migrations(database, store_url):
    stations = StationStore(database)
    stations.add(xinjiekou_station())
    accounts = AccountStore(database)
    accounts.add_user("wang", PASSWORD)
    engine = create_engine(store_url)
    with engine.connect() as connection:
        schema = connection.dialect.default_schema_name
        tables = set(inspect(connection).get_table_names(schema=schema))
        head = connection.execute(text("SELECT version_num FROM alembic_version")).scalar()
    engine.dispose()
    assert {"stations", "station_history", "users", "api_tokens"} <= tables
    assert head == "0006"
    assert stations.count() == 1 and len(accounts.list_users()) == 1
    stations.close()
    accounts.close()


def test_accounts_and_tokens_made_before_session_versions_keep_working(store_url):
    engine = create_engine(store_url)
    with engine.connect() as connection:
        command.upgrade(migrations_config(connection), "0003")
        connection.execute(text(
            "INSERT INTO users (username, password_hash, role, failed_attempts, created_at) "
            "VALUES ('wang', 'x', 'staff', 0, :at)"), {"at": datetime.now(UTC)})
        connection.execute(text(
            "INSERT INTO api_tokens (user_id, token_hash, created_at) "
            "VALUES (1, :digest, :at)"), {"digest": accounts_module._digest("old token"),
                                          "at": datetime.now(UTC) - timedelta(days=365)})
        connection.commit()
    engine.dispose()
    accounts = AccountStore(Database(store_url))
    assert accounts.user_for_token("old token").session_version == 0
    (token,) = accounts.list_tokens("wang")
    assert abs(token.expires_at - datetime.now(UTC) - timedelta(days=90)) < timedelta(minutes=1)
    accounts.close()


# The yizhan user command


@pytest.fixture
def cli_database(tmp_path, monkeypatch) -> str:
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    monkeypatch.setenv("DATABASE_URL", url)
    return url


def test_user_add_makes_an_account_with_a_prompted_or_piped_password(cli_database):
    prompted = run_cli("user", "add", "wang", "--role", "staff", stdin=f"{PASSWORD}\n{PASSWORD}\n")
    assert prompted.exit_code == 0, prompted.output
    assert PASSWORD not in prompted.output
    piped = run_cli("user", "add", "zhao", "--role", "admin", "--password-stdin",
                stdin=f"{PASSWORD}\n")
    assert piped.exit_code == 0, piped.output
    accounts = AccountStore(Database(cli_database))
    assert accounts.authenticate("wang", PASSWORD).role == "staff"
    assert accounts.authenticate("zhao", PASSWORD).role == "admin"
    listed = run_cli("user", "list")
    assert "wang" in listed.output and "admin" in listed.output


def test_user_add_refuses_a_short_password_and_an_unknown_role(cli_database):
    short = run_cli("user", "add", "wang", "--password-stdin", stdin="short\n")
    assert short.exit_code != 0 and "password" in short.output
    role = run_cli("user", "add", "wang", "--role", "boss", "--password-stdin",
               stdin=f"{PASSWORD}\n")
    assert role.exit_code != 0 and all(r in role.output for r in ROLES)
    assert AccountStore(Database(cli_database)).list_users() == []


def test_user_token_prints_a_working_token_and_revoke_ends_it(cli_database):
    run_cli("user", "add", "wang", "--password-stdin", stdin=f"{PASSWORD}\n")
    printed = run_cli("user", "token", "wang")
    assert printed.exit_code == 0
    token = printed.output.strip()
    accounts = AccountStore(Database(cli_database))
    assert accounts.user_for_token(token).username == "wang"
    assert run_cli("user", "revoke", "wang").exit_code == 0
    assert accounts.user_for_token(token) is None
    assert run_cli("user", "token", "nobody").exit_code != 0


def test_user_password_and_role_change_the_account_and_name_what_is_wrong(cli_database):
    run_cli("user", "add", "wang", "--password-stdin", stdin=f"{PASSWORD}\n")
    changed = run_cli("user", "password", "wang", "--password-stdin", stdin="a new password\n")
    assert changed.exit_code == 0, changed.output
    prompted = run_cli("user", "password", "wang", stdin="another password\nanother password\n")
    assert prompted.exit_code == 0 and "another password" not in prompted.output
    assert run_cli("user", "role", "wang", "admin").exit_code == 0
    wang = AccountStore(Database(cli_database)).authenticate("wang", "another password")
    assert (wang.role, wang.session_version) == ("admin", 3)
    short = run_cli("user", "password", "wang", "--password-stdin", stdin="short\n")
    assert short.exit_code != 0 and "password" in short.output
    unknown = run_cli("user", "role", "nobody", "staff")
    assert unknown.exit_code != 0 and "nobody" in unknown.output
    role = run_cli("user", "role", "wang", "boss")
    assert role.exit_code != 0 and all(r in role.output for r in ROLES)


def test_user_token_lasts_the_days_asked_and_user_list_shows_tokens_and_locks(cli_database):
    run_cli("user", "add", "wang", "--password-stdin", stdin=f"{PASSWORD}\n")
    run_cli("user", "add", "li", "--password-stdin", stdin=f"{PASSWORD}\n")
    assert run_cli("user", "token", "wang", "--days", "0").exit_code != 0
    token = run_cli("user", "token", "wang", "--days", "7").output.strip()
    accounts = AccountStore(Database(cli_database))
    accounts.user_for_token(token)
    for _ in range(MAX_FAILED_ATTEMPTS):
        with pytest.raises(SignInRefused):
            accounts.authenticate("li", "wrong password")
    listed = run_cli("user", "list").output.splitlines()
    (li,) = [line for line in listed if line.startswith("li ")]
    assert "locked until" in li and "5 wrong passwords" in li
    (wang,) = [line for line in listed if line.startswith("wang ")]
    assert "locked" not in wang
    assert "1 usable token," in wang and "0 usable tokens" in li
    (token_line,) = [line for line in listed if line.lstrip().startswith("token ")]
    expires = (datetime.now(UTC) + timedelta(days=7)).astimezone(SHANGHAI)
    assert f"expires {expires:%Y-%m-%d}" in token_line and "last used 20" in token_line


def test_user_token_refuses_more_than_ten_years_naming_days_and_user_list_shows_ten(
        cli_database):
    run_cli("user", "add", "wang", "--password-stdin", stdin=f"{PASSWORD}\n")
    for days in ("0", "3651", "3000000", "99999999999999999999"):
        refused = run_cli("user", "token", "wang", "--days", days)
        assert refused.exit_code == 2 and "--days" in refused.output
        assert "Traceback" not in refused.output
    assert run_cli("user", "token", "wang", "--days", "3650").exit_code == 0
    listed = run_cli("user", "list")
    assert listed.exit_code == 0 and listed.output.count("    token ") == 1
