"""Shared test set-up: every test session gets its own instance folder, never the repo's, and
one PostgreSQL scratch database when a server is given."""

import os
import secrets
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from sqlalchemy import create_engine, text

from geo.database import Database


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


@contextmanager
def scratch_database(server_url: str) -> Iterator[str]:
    """Create a database named ``yizhan_test_<random>`` on the server, drop it afterwards.

    Yields:
        Its URL, as a plain ``postgresql://`` URL like the server's.
    """
    import psycopg

    name = f"yizhan_test_{secrets.token_hex(4)}"
    with psycopg.connect(server_url, autocommit=True) as admin:
        admin.execute(f"CREATE DATABASE {name}")
        try:
            yield server_url.rsplit("/", 1)[0] + f"/{name}"
        finally:
            admin.execute(f"DROP DATABASE {name} WITH (FORCE)")


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
