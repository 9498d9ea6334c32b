"""Staff accounts, on SQLite and on PostgreSQL + PostGIS: hashed passwords, roles, lock-out after
wrong passwords, API tokens kept as digests only, the migration that makes the tables, and the
``yizhan user`` command.

Tests that take ``accounts_url`` run on both back ends (the PostgreSQL fixtures are the store
suite's, and skip the same way when there is no server).
"""

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from click.testing import CliRunner
from sqlalchemy import create_engine, inspect, text

from geo.accounts import (LOCKOUT, MAX_FAILED_ATTEMPTS, ROLES, AccountError, AccountStore,
                          SignInRefused)
from geo.store import StationStore
from tests.test_store import (postgis_url, postgres_database,  # noqa: F401 - fixtures
                              postgres_server, xinjiekou_station)
from web.cli import main

PASSWORD = "长城-correct-horse"

#: A cheap password hash for the tests that check many passwords (production uses scrypt).
FAST_HASH = "pbkdf2:sha256:1000"


class Clock:
    """A clock the test moves by hand."""

    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta) -> None:
        self.now += timedelta(**delta)


@pytest.fixture
def clock() -> Clock:
    return Clock(datetime(2026, 3, 2, 9, 30, tzinfo=UTC))


@pytest.fixture(params=["sqlite", "postgresql"])
def accounts_url(request, tmp_path) -> str:
    """A new, empty database: a SQLite file, or a PostgreSQL + PostGIS schema."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'yizhan.db'}"
    return request.getfixturevalue("postgis_url")


@pytest.fixture
def accounts(accounts_url, clock) -> Iterator[AccountStore]:
    store = AccountStore(accounts_url, clock=clock, password_method=FAST_HASH)
    yield store
    store.close()


def stored_rows(url: str, table: str) -> list[tuple]:
    """Every row of a table, as the database holds it."""
    engine = create_engine(url)
    with engine.connect() as connection:
        rows = connection.execute(text(f"SELECT * FROM {table}")).all()
    engine.dispose()
    return [tuple(row) for row in rows]


# Accounts and passwords


def test_an_account_keeps_its_role_and_only_a_salted_scrypt_hash_of_its_password(accounts_url):
    accounts = AccountStore(accounts_url)
    wang = accounts.add_user("王芳", PASSWORD, "staff")
    li = accounts.add_user("li.qiang", PASSWORD, "viewer")
    assert (wang.username, wang.role, wang.failed_attempts, wang.locked_until) == (
        "王芳", "staff", 0, None)
    assert accounts.get_user(wang.id) == wang
    assert [u.username for u in accounts.list_users()] == ["li.qiang", "王芳"]
    rows = stored_rows(accounts_url, "users")
    hashes = [value for row in rows for value in row if isinstance(value, str)
              and value.startswith("scrypt:")]
    assert len(hashes) == 2 and len(set(hashes)) == 2  # salted: same password, two hashes
    assert not any(PASSWORD in str(value) for row in rows for value in row)
    assert li.has_role("viewer") and not li.has_role("staff")
    assert wang.has_role("staff") and not wang.has_role("admin")
    assert accounts.authenticate("王芳", PASSWORD) == wang
    accounts.close()


def test_passwords_hashed_another_way_still_sign_in(accounts_url):
    AccountStore(accounts_url, password_method=FAST_HASH).add_user("wang", PASSWORD)
    assert AccountStore(accounts_url).authenticate("wang", PASSWORD).username == "wang"


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
    assert accounts.authenticate("wang", PASSWORD) == added
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


# API tokens


def test_an_api_token_names_its_account_and_notes_its_use(accounts, accounts_url, clock):
    wang = accounts.add_user("wang", PASSWORD)
    token = accounts.issue_token("wang")
    assert len(token) >= 40 and accounts.issue_token("wang") != token
    clock.advance(hours=1)
    assert accounts.user_for_token(token) == wang
    rows = stored_rows(accounts_url, "api_tokens")
    assert not any(token in str(value) for row in rows for value in row)
    engine = create_engine(accounts_url)
    with engine.connect() as connection:
        used = connection.execute(text(
            "SELECT last_used_at FROM api_tokens WHERE last_used_at IS NOT NULL")).scalars().all()
    engine.dispose()
    assert len(used) == 1


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


def test_accounts_share_the_station_store_s_database_and_its_migrations(accounts_url):
    stations = StationStore(accounts_url)
    stations.add(xinjiekou_station())
    accounts = AccountStore(accounts_url)
    accounts.add_user("wang", PASSWORD)
    engine = create_engine(accounts_url)
    with engine.connect() as connection:
        schema = connection.dialect.default_schema_name
        tables = set(inspect(connection).get_table_names(schema=schema))
        head = connection.execute(text("SELECT version_num FROM alembic_version")).scalar()
    engine.dispose()
    assert {"stations", "station_history", "users", "api_tokens"} <= tables
    assert head == "0003"
    assert stations.count() == 1 and len(accounts.list_users()) == 1
    stations.close()
    accounts.close()


# The yizhan user command


@pytest.fixture
def cli_database(tmp_path, monkeypatch) -> str:
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    monkeypatch.setenv("DATABASE_URL", url)
    return url


def run(*args: str, stdin: str | None = None):
    return CliRunner().invoke(main, list(args), input=stdin)


def test_user_add_makes_an_account_with_a_prompted_or_piped_password(cli_database):
    prompted = run("user", "add", "wang", "--role", "staff", stdin=f"{PASSWORD}\n{PASSWORD}\n")
    assert prompted.exit_code == 0, prompted.output
    assert PASSWORD not in prompted.output
    piped = run("user", "add", "zhao", "--role", "admin", "--password-stdin",
                stdin=f"{PASSWORD}\n")
    assert piped.exit_code == 0, piped.output
    accounts = AccountStore(cli_database)
    assert accounts.authenticate("wang", PASSWORD).role == "staff"
    assert accounts.authenticate("zhao", PASSWORD).role == "admin"
    listed = run("user", "list")
    assert "wang" in listed.output and "admin" in listed.output


def test_user_add_refuses_a_short_password_and_an_unknown_role(cli_database):
    short = run("user", "add", "wang", "--password-stdin", stdin="short\n")
    assert short.exit_code != 0 and "password" in short.output
    role = run("user", "add", "wang", "--role", "boss", "--password-stdin",
               stdin=f"{PASSWORD}\n")
    assert role.exit_code != 0 and all(r in role.output for r in ROLES)
    assert AccountStore(cli_database).list_users() == []


def test_user_token_prints_a_working_token_and_revoke_ends_it(cli_database):
    run("user", "add", "wang", "--password-stdin", stdin=f"{PASSWORD}\n")
    printed = run("user", "token", "wang")
    assert printed.exit_code == 0
    token = printed.output.strip()
    accounts = AccountStore(cli_database)
    assert accounts.user_for_token(token).username == "wang"
    assert run("user", "revoke", "wang").exit_code == 0
    assert accounts.user_for_token(token) is None
    assert run("user", "token", "nobody").exit_code != 0
