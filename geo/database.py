"""The app's one SQL database: its engine, its sessions and transactions, and its schema.

Stations (:mod:`geo.store`), accounts (:mod:`geo.accounts`) and scenarios (:mod:`geo.scenarios`)
are tables of one database, mapped on one declarative :class:`Base`. A :class:`Database` is
opened once per process (the web app opens it from ``DATABASE_URL``) and handed to each store,
so a change that spans stores, such as turning a scenario into stations, is one transaction
(:meth:`Database.transaction`).

SQLite is the embedded default; PostgreSQL URLs get the psycopg 3 driver and PostGIS. The schema
is made by the Alembic migrations in :mod:`geo.migrations`; opening a database upgrades it to
the newest schema, one opener at a time.
"""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import Connection, DateTime, MetaData, create_engine, event, func, make_url, select
from sqlalchemy.engine import Dialect, Engine
from sqlalchemy.orm import DeclarativeBase, Session, sessionmaker
from sqlalchemy.types import TypeDecorator

from geo.settings import instance_dir, private_file

#: Where the Alembic migrations live, as a package resource.
MIGRATIONS: str = "geo:migrations"

#: Key of the PostgreSQL advisory lock that serialises schema upgrades of one database.
MIGRATION_LOCK_KEY: int = 0x79697A68616E  # "yizhan" in ASCII

#: How long a SQLite connection waits for another one's write lock before it gives up with
#: "database is locked", in milliseconds. A large import holds the lock for a few seconds.
SQLITE_BUSY_TIMEOUT_MS: int = 30_000

#: Connection pool of a PostgreSQL engine: connections kept open, extra ones allowed under load,
#: seconds to wait for a free one, seconds after which a connection is replaced, and a check
#: that a pooled connection still works before it is handed out (the server may have closed it).
POSTGRES_POOL: dict[str, object] = {
    "pool_size": 5, "max_overflow": 10, "pool_timeout": 30, "pool_recycle": 1800,
    "pool_pre_ping": True,
}

#: Rows per multi-row INSERT when rows are stored in bulk (a station has 23 columns, so a
#: batch stays well under SQLite's and PostgreSQL's limits on bound parameters).
INSERT_BATCH_ROWS: int = 500

#: Key of a session's ``info`` holding what to run once its transaction commits.
_ON_COMMIT = "yizhan.on_commit"


class Base(DeclarativeBase):
    """Declarative base of every table of the database."""


#: Every table as the ORM sees it (PostGIS-only objects excluded), once the modules that map
#: them (:mod:`geo.store`, :mod:`geo.accounts`, :mod:`geo.scenarios`) are imported. The
#: migrations must make the same schema, and Alembic's autogenerate compares against this.
METADATA: MetaData = Base.metadata


class UTCDateTime(TypeDecorator):
    """A timestamp stored in UTC and always read back as an aware UTC datetime.

    SQLite keeps no time zone, PostgreSQL's ``timestamptz`` does; both come back the same.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        """Convert an aware datetime to UTC on the way in.

        Args:
            value: aware datetime or None.
            dialect: the database dialect (unused).

        Returns:
            The same instant in UTC.
        """
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("store timestamps must be timezone-aware")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        """Attach UTC to what comes back.

        Args:
            value: datetime from the database, naive (UTC) or aware.
            dialect: the database dialect (unused).

        Returns:
            Aware UTC datetime.
        """
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


def default_store_url() -> str:
    """Return the database URL to use when none is given.

    Returns:
        The environment variable ``DATABASE_URL`` if set, else a SQLite file ``yizhan.db`` in
        the instance folder (:func:`geo.settings.instance_dir`).
    """
    url = os.environ.get("DATABASE_URL")
    if url:
        return url
    return f"sqlite:///{instance_dir() / 'yizhan.db'}"


class Database:
    """One SQL database: its engine, sessions and transactions, at the newest schema.

    Attributes:
        engine: the SQLAlchemy engine; it connects lazily.
    """

    def __init__(self, url: str) -> None:
        """Make the engine and upgrade the database to the newest schema (:meth:`upgrade`).

        Rows inserted in bulk go in multi-row INSERTs of :data:`INSERT_BATCH_ROWS` rows.
        SQLite connections use write-ahead logging, so that readers never wait for a writer
        and a writer only waits for another writer, and wait up to
        :data:`SQLITE_BUSY_TIMEOUT_MS` for the write lock; the database file is made readable
        by its owner only (SQLite gives its ``-wal`` and ``-shm`` files the same mode; see
        :func:`geo.settings.private_file`). PostgreSQL engines pool their connections as
        :data:`POSTGRES_POOL` says.

        Args:
            url: SQLAlchemy database URL, e.g. ``sqlite:////path/yizhan.db`` or
                ``postgresql://user@host/db`` (plain ``postgresql://`` and ``postgres://`` URLs
                use the psycopg 3 driver).

        Raises:
            RuntimeError: the URL is a PostgreSQL one and PostGIS is not installed on the server.
        """
        self.engine: Engine = _create_engine(url)
        self._sessions = sessionmaker(self.engine, expire_on_commit=False)
        self._transaction: ContextVar[Session | None] = ContextVar("transaction", default=None)
        self.upgrade()

    @property
    def dialect(self) -> str:
        """The database's dialect name: ``sqlite`` or ``postgresql``."""
        return self.engine.dialect.name

    def upgrade(self) -> None:
        """Run the Alembic migrations the database has not had yet, one opener at a time.

        On SQLite the upgrade's transaction takes the database's write lock at once
        (``BEGIN IMMEDIATE``); on PostgreSQL it takes an advisory lock held until it ends.
        """
        from alembic import command  # only opening a database needs it, not the CLI's start
        from alembic.config import Config

        config = Config()
        config.set_main_option("script_location", MIGRATIONS)
        with self.engine.connect() as connection:
            _lock_schema(connection)
            config.attributes["connection"] = connection
            command.upgrade(config, "head")
            connection.commit()

    def session(self) -> Session:
        """Open a session for reading; use it as a context manager, which closes it.

        Returns:
            A new session (objects read stay usable after it closes).
        """
        return self._sessions()

    @contextmanager
    def transaction(self) -> Iterator[Session]:
        """Open a write transaction, or join the one already open in this thread or task.

        Nested calls share the outermost transaction, so writes of several stores made inside
        one ``with database.transaction():`` block commit together or not at all. Reads through
        :meth:`session` use a connection of their own and see only what is committed.

        Yields:
            The session; the outermost block commits when it ends without an exception and
            rolls everything back otherwise.
        """
        current = self._transaction.get()
        if current is not None:
            yield current
            return
        with self._sessions.begin() as session:
            token = self._transaction.set(session)
            try:
                yield session
            finally:
                self._transaction.reset(token)
        for action in session.info.pop(_ON_COMMIT, ()):
            action()

    def on_commit(self, action: Callable[[], None]) -> None:
        """Run ``action`` once the transaction open in this thread or task commits (not at all
        if it rolls back).

        Raises:
            RuntimeError: no transaction is open.
        """
        current = self._transaction.get()
        if current is None:
            raise RuntimeError("on_commit needs an open transaction")
        current.info.setdefault(_ON_COMMIT, []).append(action)

    def close(self) -> None:
        """Release the database connections (the engine reconnects if used again)."""
        self.engine.dispose()


def _create_engine(url: str) -> Engine:
    """Make the engine of a database URL, as :class:`Database` describes.

    Args:
        url: SQLAlchemy database URL.

    Returns:
        The engine; it connects lazily.
    """
    parsed = make_url(_with_driver(url))
    batches = {"insertmanyvalues_page_size": INSERT_BATCH_ROWS}
    if parsed.get_backend_name() != "sqlite":
        pool = POSTGRES_POOL if parsed.get_backend_name() == "postgresql" else {}
        return create_engine(parsed, **batches, **pool)
    if parsed.database and parsed.database != ":memory:" and not parsed.database.startswith(
            "file:"):
        private_file(Path(parsed.database))
    engine = create_engine(parsed, **batches)
    event.listen(engine, "connect", _sqlite_pragmas)
    return engine


def _sqlite_pragmas(connection: sqlite3.Connection, record: object) -> None:
    """Set up a new SQLite connection: the busy timeout first (switching to write-ahead
    logging may itself wait for a lock), then write-ahead logging, which the database file
    keeps once set.

    Args:
        connection: the DB-API connection.
        record: the pool's record of it (unused).
    """
    connection.execute(f"PRAGMA busy_timeout = {SQLITE_BUSY_TIMEOUT_MS}")
    connection.execute("PRAGMA journal_mode = WAL")


def _with_driver(url: str) -> str:
    """Make a PostgreSQL URL without a driver use psycopg 3.

    Args:
        url: a SQLAlchemy database URL.

    Returns:
        ``postgresql+psycopg://...`` for ``postgresql://...`` and ``postgres://...``; any other
        URL unchanged.
    """
    parsed = make_url(url)
    if parsed.drivername in ("postgresql", "postgres"):
        return parsed.set(drivername="postgresql+psycopg").render_as_string(hide_password=False)
    return url


def _lock_schema(connection: Connection) -> None:
    """Start the upgrade transaction so that concurrent openers of the database wait for it.

    On SQLite the transaction takes the database's write lock at once (``BEGIN IMMEDIATE``);
    on PostgreSQL it takes an advisory lock held until it ends. Other databases are not locked.

    Args:
        connection: a fresh connection, not yet in a transaction.
    """
    if connection.dialect.name == "sqlite":
        connection.exec_driver_sql("BEGIN IMMEDIATE")
    elif connection.dialect.name == "postgresql":
        connection.execute(select(func.pg_advisory_xact_lock(MIGRATION_LOCK_KEY)))
