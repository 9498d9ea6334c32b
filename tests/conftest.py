"""Shared test set-up: every test session gets its own instance folder, never the repo's, and
one PostgreSQL scratch database when a server is given; the staff app on a hand-moved clock; and
the ``browser`` and ``postgres`` markers, given by module and by fixture.

Fixtures shared by several test modules live here, helpers in ``tests/support.py``.
"""

import os
import secrets
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from sqlalchemy import create_engine, text

from geo.database import Database
from tests.support import Clock, make_app, scratch_database


@pytest.fixture(scope="session", autouse=True)
def session_instance(tmp_path_factory):
    """Point ``YIZHAN_INSTANCE`` at a fresh folder for the whole session; networks built by one
    test are cached there for the next."""
    folder = tmp_path_factory.mktemp("instance")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("YIZHAN_INSTANCE", str(folder))
        patch.delenv("DATABASE_URL", raising=False)
        yield folder


@pytest.fixture
def fresh_instance(tmp_path, monkeypatch):
    """An empty instance folder of the test's own (no regions added, no stations, no caches)."""
    folder = tmp_path / "instance"
    folder.mkdir()
    monkeypatch.setenv("YIZHAN_INSTANCE", str(folder))
    return folder


@pytest.fixture
def clock() -> Clock:
    """A clock standing at 09:30 UTC on 2 March 2026 until the test moves it."""
    return Clock(datetime(2026, 3, 2, 9, 30, tzinfo=UTC))


@pytest.fixture
def app(tmp_path, clock):
    """An app with a store of its own and no demo stations, its accounts on ``clock``; a module
    that needs another app defines its own ``app``."""
    return make_app(tmp_path, clock)


# --- PostgreSQL + PostGIS ---------------------------------------------------------------------
# One scratch database per test run, shared by every PostgreSQL test; each test works in a fresh
# schema of it, so tables start empty.


@pytest.fixture(scope="session")
def postgres_server() -> str:
    """The URL of a PostgreSQL server with PostGIS available, as a role that may create
    databases (``YIZHAN_TEST_POSTGRES``); skips when it is unset or there is no such server."""
    url = os.environ.get("YIZHAN_TEST_POSTGRES")
    if not url:
        pytest.skip("YIZHAN_TEST_POSTGRES is unset: set it to the URL of a PostgreSQL server "
                    "with PostGIS, as a role that may create databases, to run this on "
                    "PostgreSQL")
    try:
        import psycopg
    except ImportError:
        pytest.skip("psycopg is not installed (pip install 'psycopg[binary]')")
    try:
        with psycopg.connect(url, connect_timeout=3) as connection:
            postgis = connection.execute(
                "SELECT 1 FROM pg_available_extensions WHERE name = 'postgis'"
            ).fetchone()
    except psycopg.OperationalError as error:
        pytest.skip(f"PostgreSQL is unreachable at {url}: {' '.join(str(error).split())}")
    if postgis is None:
        pytest.skip(
            f"PostGIS is not installed on the PostgreSQL server at {url} "
            "(apt-get install postgresql-15-postgis-3)"
        )
    return url


@pytest.fixture(scope="session")
def postgres_database(postgres_server) -> Iterator[str]:
    """The run's scratch database, with PostGIS installed in its public schema for the
    per-test schemas to share."""
    with scratch_database(postgres_server) as url:
        url = url.replace("postgresql://", "postgresql+psycopg://", 1)
        engine = create_engine(url)
        with engine.begin() as connection:
            connection.execute(text("CREATE EXTENSION postgis"))
        engine.dispose()
        yield url


@pytest.fixture
def postgis_url(postgres_database) -> str:
    """The URL of a fresh, empty schema in the run's PostgreSQL database."""
    schema = f"test_{secrets.token_hex(4)}"
    engine = create_engine(postgres_database)
    with engine.begin() as connection:
        connection.execute(text(f"CREATE SCHEMA {schema}"))
    engine.dispose()
    return f"{postgres_database}?options=-csearch_path%3D{schema},public"


@pytest.fixture(params=["sqlite", "postgresql"])
def store_url(request, tmp_path) -> str:
    """The URL of a new, empty database: a SQLite file, or a PostgreSQL + PostGIS schema."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'yizhan.db'}"
    return request.getfixturevalue("postgis_url")


@pytest.fixture
def database(store_url) -> Iterator[Database]:
    """A new, empty database at the newest schema, on each back end."""
    opened = Database(store_url)
    yield opened
    opened.close()


# --- markers ----------------------------------------------------------------------------------
# ``-m "not browser and not postgres and not slow and not fuzz"`` is the fast inner loop.

#: The fixtures that reach a PostgreSQL server.
POSTGRES_FIXTURES = {"postgres_server", "postgres_database", "postgis_url"}


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark the tests of ``*_browser.py`` as ``browser`` and every test that uses a PostgreSQL
    fixture (directly, or through ``store_url`` on its PostgreSQL side) as ``postgres``."""
    for item in items:
        if item.path.name.endswith("_browser.py"):
            item.add_marker(pytest.mark.browser)
        fixtures = set(getattr(item, "fixturenames", ()))
        callspec = getattr(item, "callspec", None)
        on_postgres = callspec is not None and callspec.params.get("store_url") == "postgresql"
        if fixtures & POSTGRES_FIXTURES or on_postgres:
            item.add_marker(pytest.mark.postgres)
