"""The station store: station records in a SQL database, through the SQLAlchemy 2 ORM.

The public interface speaks plain :class:`~geo.stations.Station` dataclasses, never ORM rows.
SQLite is the embedded default; pointed at PostgreSQL by its URL the store uses PostGIS for
spatial queries. Both back ends behave the same: the only dialect-specific code is how
:meth:`StationStore.within` finds nearby stations and how concurrent schema upgrades are
serialised, both chosen from the engine's dialect.

The schema is made by the Alembic migrations in :mod:`geo.migrations`; opening a store upgrades
its database to the newest schema. On PostgreSQL the stations table also has a PostGIS point
``geom`` (SRID 4326), a column the database generates from ``lon`` and ``lat``, so it equals
them after every write.

Every write is a compare-and-set on the record's ``version``: ``UPDATE ... WHERE id = :id AND
version = :expected``, so of several writers holding the same version exactly one wins and the
others get :class:`VersionConflict` with the current record. In the same transaction every write
bumps a store-wide revision counter, which callers read cheaply (:meth:`StationStore.revision`)
to notice that stations changed, and appends one entry per station to its history (who, when,
what changed; :meth:`StationStore.history`). Nothing edits or deletes history, so it also says
which stations changed since an earlier reading (:meth:`StationStore.changed_since`).
"""

from __future__ import annotations

import dataclasses
import math
import os
import sqlite3
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from itertools import chain
from datetime import UTC, date, datetime
from pathlib import Path

import numpy as np
from geoalchemy2 import Geography, Geometry
from sqlalchemy import (
    JSON,
    Boolean,
    Connection,
    Date,
    DateTime,
    Float,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    TypeDecorator,
    cast,
    column,
    create_engine,
    delete,
    event,
    func,
    insert,
    inspect,
    make_url,
    or_,
    select,
    update,
)
from sqlalchemy.engine import Dialect, Engine
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column, sessionmaker
from sqlalchemy.sql.elements import ColumnElement

from geo.settings import instance_dir, private_file
from geo.stations import Station, validate_station

#: Station fields the store sets; ``update`` refuses to change them.
STORE_FIELDS: frozenset[str] = frozenset({"id", "created_at", "updated_at", "version"})

#: What a history entry records: a new station (``create`` by hand, ``import`` in bulk,
#: ``demo`` generated), an ``update``, a ``status`` change, a ``delete`` or a ``restore``.
HISTORY_ACTIONS: tuple[str, ...] = (
    "create", "import", "demo", "update", "status", "delete", "restore",
)

#: The actions that insert stations (:meth:`StationStore.add_many` takes one of them).
INSERT_ACTIONS: tuple[str, ...] = ("create", "import", "demo")

#: Radius of the sphere distances are measured on: the WGS-84 mean radius (2a + b) / 3, which is
#: also the sphere PostGIS uses for geography distances with ``use_spheroid = false``.
EARTH_RADIUS_M: float = (2 * 6_378_137.0 + 6_356_752.314_245_179) / 3

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

#: Rows per multi-row INSERT when stations are stored in bulk (a station has 23 columns, so a
#: batch stays well under SQLite's and PostgreSQL's limits on bound parameters).
INSERT_BATCH_ROWS: int = 500


class StationInvalid(ValueError):
    """A station failed validation.

    Attributes:
        errors: field name -> message for every problem.
        index: position of the offending station in a batch (:meth:`StationStore.add_many`,
            :meth:`StationStore.replace_demo`), None for a single station.
    """

    def __init__(self, errors: dict[str, str], index: int | None = None) -> None:
        """Make the error.

        Args:
            errors: field name -> message.
            index: position of the station in a batch, if any.
        """
        where = f"station {index}: " if index is not None else ""
        super().__init__(where + "; ".join(f"{k}: {v}" for k, v in errors.items()))
        self.errors = errors
        self.index = index


class VersionConflict(Exception):
    """Someone else changed the station since the caller read it.

    Attributes:
        current: the station as it is stored now.
    """

    def __init__(self, current: Station, expected_version: int) -> None:
        """Make the error.

        Args:
            current: the stored station.
            expected_version: the version the caller based its change on.
        """
        super().__init__(
            f"station {current.id} is at version {current.version}, not {expected_version}"
        )
        self.current = current


@dataclasses.dataclass(frozen=True)
class HistoryEntry:
    """One change to a station, as recorded in the same transaction as the change.

    Attributes:
        at: when the change was made (UTC).
        actor: who made it (a user name, or ``"system"``).
        action: one of :data:`HISTORY_ACTIONS`.
        changes: field name -> ``[before, after]`` in JSON-ready values (dates as ISO strings,
            amenities as lists); ``before`` is None for a new station. An update lists only the
            fields it changed; a delete or restore lists none.
        version: the station's version after the change.
    """

    at: datetime
    actor: str
    action: str
    changes: dict[str, list[object]]
    version: int


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


class _Base(DeclarativeBase):
    """Declarative base of the store's tables."""


class _StationRow(_Base):
    """One station record; ``deleted_at`` marks a soft-deleted one.

    On PostgreSQL the table also has the generated PostGIS column ``geom``, which the ORM does
    not map (SQLite has no such column); :func:`_within_postgis` reads it.
    """

    __tablename__ = "stations"
    # AUTOINCREMENT: SQLite never reuses an id, so a history never mixes two stations.
    __table_args__ = (Index("ix_stations_lat_lon", "lat", "lon"), {"sqlite_autoincrement": True})

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    region: Mapped[str] = mapped_column(String(100), index=True)
    kind: Mapped[str] = mapped_column(String(40))
    lon: Mapped[float] = mapped_column(Float)
    lat: Mapped[float] = mapped_column(Float)
    status: Mapped[str] = mapped_column(String(20))
    address: Mapped[str] = mapped_column(String(300))
    host: Mapped[str] = mapped_column(String(200))
    union: Mapped[str] = mapped_column("union_name", String(200))
    level: Mapped[str] = mapped_column(String(20))
    amenities: Mapped[list[str]] = mapped_column(JSON)
    opening_hours: Mapped[str] = mapped_column(String(300))
    phone: Mapped[str] = mapped_column(String(60))
    capacity: Mapped[int | None] = mapped_column(Integer)
    smart_24h: Mapped[bool] = mapped_column(Boolean)
    verified_on: Mapped[date | None] = mapped_column(Date)
    notes: Mapped[str] = mapped_column(Text)
    demo: Mapped[bool] = mapped_column(Boolean, index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)
    deleted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    version: Mapped[int] = mapped_column(Integer)


class _RevisionRow(_Base):
    """The single-row store-wide revision counter."""

    __tablename__ = "store_revision"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    value: Mapped[int] = mapped_column(Integer)


class _HistoryRow(_Base):
    """One entry of a station's history; rows are only ever inserted.

    ``station_id`` has no foreign key: the history of a demo station outlives the station when
    :meth:`StationStore.replace_demo` removes it.
    """

    __tablename__ = "station_history"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    station_id: Mapped[int] = mapped_column(Integer, index=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    actor: Mapped[str] = mapped_column(Text)
    action: Mapped[str] = mapped_column(String(20))
    changes: Mapped[dict[str, list[object]]] = mapped_column(JSON)
    version: Mapped[int] = mapped_column(Integer)


#: The tables as the ORM sees them (PostGIS-only objects excluded); the migrations must make
#: the same schema, and Alembic's autogenerate compares against this.
METADATA: MetaData = _Base.metadata

#: The PostGIS point of a station, a column of ``stations`` only on PostgreSQL.
_GEOM = column("geom", Geometry("POINT", srid=4326, spatial_index=False))

#: Mapper attribute name -> maximum length, for the station's length-limited text columns.
_TEXT_LIMITS: dict[str, int] = {
    attribute.key: attribute.columns[0].type.length
    for attribute in inspect(_StationRow).column_attrs
    if isinstance(attribute.columns[0].type, String) and attribute.columns[0].type.length
}

#: How a dialect finds stations near a point; see :func:`_within_bounding_box`.
_WithinQuery = Callable[
    [Session, float, float, float, list[ColumnElement[bool]]], list[tuple[_StationRow, float]]
]


def create_store_engine(url: str) -> Engine:
    """Make the engine of every store in the database (stations, accounts, scenarios).

    Rows inserted in bulk go in multi-row INSERTs of :data:`INSERT_BATCH_ROWS` rows.

    SQLite connections use write-ahead logging, so that readers never wait for a writer and a
    writer only waits for another writer, and wait up to :data:`SQLITE_BUSY_TIMEOUT_MS` for
    the write lock; the database file is made readable by its owner only (SQLite gives its
    ``-wal`` and ``-shm`` files the same mode; see :func:`geo.settings.private_file`).
    PostgreSQL engines pool their connections as :data:`POSTGRES_POOL` says.

    Args:
        url: SQLAlchemy database URL (see :class:`StationStore`).

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


class StationStore:
    """Station records in a SQL database, read and written as :class:`Station` dataclasses."""

    def __init__(self, url: str) -> None:
        """Connect and upgrade the database to the newest schema.

        Args:
            url: SQLAlchemy database URL, e.g. ``sqlite:////path/yizhan.db`` or
                ``postgresql://user@host/db`` (plain ``postgresql://`` and ``postgres://`` URLs
                use the psycopg 3 driver).

        Raises:
            RuntimeError: the URL is a PostgreSQL one and PostGIS is not installed on the server.
        """
        self._engine = create_store_engine(url)
        _upgrade_to_head(self._engine)
        self._sessions = sessionmaker(self._engine, expire_on_commit=False)
        self._within: _WithinQuery = (
            _within_postgis if self._engine.dialect.name == "postgresql" else _within_bounding_box
        )

    def close(self) -> None:
        """Release the database connections."""
        self._engine.dispose()

    def add(self, station: Station, *, actor: str = "system") -> Station:
        """Store a new station.

        Args:
            station: the station; its ``id``, timestamps and ``version`` are ignored.
            actor: who adds it, for the history (action ``create``).

        Returns:
            The stored station with ``id``, ``created_at`` = ``updated_at`` (UTC) and
            ``version`` = 1 set.

        Raises:
            StationInvalid: the station does not validate.
        """
        errors = _station_errors(station)
        if errors:
            raise StationInvalid(errors)
        with self._write() as session:
            (stored,) = _insert(session, [station], actor, "create")
        return stored

    def add_many(
        self, stations: Iterable[Station], actor: str = "system", action: str = "import"
    ) -> list[Station]:
        """Store many new stations in one transaction, or none of them.

        Args:
            stations: the stations; their ``id``, timestamps and ``version`` are ignored.
            actor: who adds them, for the history.
            action: the history action of every entry, one of :data:`INSERT_ACTIONS`.

        Returns:
            The stored stations, in the given order.

        Raises:
            StationInvalid: a station does not validate; ``index`` says which (the first bad
                one) and nothing is stored.
            ValueError: ``action`` does not insert stations.
        """
        if action not in INSERT_ACTIONS:
            raise ValueError(f"action must be one of {', '.join(INSERT_ACTIONS)}, not {action!r}")
        stations = list(stations)
        for index, station in enumerate(stations):
            errors = _station_errors(station)
            if errors:
                raise StationInvalid(errors, index)
        if not stations:
            return []
        with self._write() as session:
            return _insert(session, stations, actor, action)

    def get(self, station_id: int) -> Station:
        """Read one station, deleted or not (see :meth:`is_deleted`).

        Args:
            station_id: the station's id.

        Returns:
            The station.

        Raises:
            KeyError: no such station.
        """
        return self._read(station_id)[0]

    def is_deleted(self, station_id: int) -> bool:
        """Tell whether a station is (soft-)deleted.

        Args:
            station_id: the station's id.

        Returns:
            True if the station was deleted and not restored since.

        Raises:
            KeyError: no such station.
        """
        return self._read(station_id)[1]

    def list(
        self,
        region: str | None = None,
        status: str | None = None,
        kind: str | None = None,
        include_deleted: bool = False,
        ids: Iterable[int] | None = None,
    ) -> list[Station]:
        """List stations, in order of id.

        Args:
            region: only this region's stations.
            status: only stations with this status.
            kind: only stations of this kind.
            include_deleted: also list soft-deleted stations.
            ids: only the stations with these ids.

        Returns:
            The matching stations.
        """
        query = select(_StationRow).order_by(_StationRow.id)
        for column_, value in (
            (_StationRow.region, region), (_StationRow.status, status), (_StationRow.kind, kind),
        ):
            if value is not None:
                query = query.where(column_ == value)
        if not include_deleted:
            query = query.where(_StationRow.deleted_at.is_(None))
        if ids is not None:
            query = query.where(_StationRow.id.in_([int(i) for i in ids]))
        with self._sessions() as session:
            return [_to_station(row) for row in session.scalars(query)]

    def changed_since(self, mark: int | None) -> tuple[int, np.ndarray]:
        """Tell which stations were written since an earlier reading, from their history.

        Every write appends a history entry for each station it adds, changes or removes, and
        entries are numbered in the order their writes commit.

        Args:
            mark: the mark an earlier call returned; None only asks for the current mark.

        Returns:
            The current mark and the ids (int64, ascending, each once) of the stations with
            entries after ``mark``.
        """
        if mark is None:
            query = select(func.coalesce(func.max(_HistoryRow.id), 0))
            with self._sessions() as session:
                return session.scalar(query), np.zeros(0, dtype=np.int64)
        query = select(_HistoryRow.id, _HistoryRow.station_id).where(_HistoryRow.id > mark)
        with self._sessions() as session:
            rows = session.connection().execute(query).all()
        found = np.fromiter(chain.from_iterable(rows), dtype=np.int64, count=2 * len(rows))
        return int(found[0::2].max(initial=mark)), np.unique(found[1::2])

    def count(self, region: str | None = None) -> int:
        """Count the stations that are not deleted.

        Args:
            region: only count this region's stations.

        Returns:
            The number of stations.
        """
        query = select(func.count()).select_from(_StationRow).where(
            _StationRow.deleted_at.is_(None)
        )
        if region is not None:
            query = query.where(_StationRow.region == region)
        with self._sessions() as session:
            return session.scalar(query)

    def within(
        self,
        lon: float,
        lat: float,
        metres: float,
        region: str | None = None,
        exclude_id: int | None = None,
    ) -> list[tuple[Station, float]]:
        """Find the stations within a straight-line distance of a point, nearest first.

        Distances are great-circle distances on the sphere of radius :data:`EARTH_RADIUS_M`,
        the same on every back end (they differ from distances on the WGS-84 ellipsoid by less
        than 0.5 %). PostGIS answers in the database from a spatial index; other databases
        prefilter by a lon/lat bounding box in SQL and measure the rest in numpy.

        Args:
            lon: the point's WGS-84 longitude.
            lat: the point's WGS-84 latitude.
            metres: the largest distance, in metres.
            region: only this region's stations.
            exclude_id: leave this station out (e.g. the one being edited).

        Returns:
            (station, distance in metres) for every station that is not deleted, ordered by
            distance, then id.
        """
        filters = [_StationRow.deleted_at.is_(None)]
        if region is not None:
            filters.append(_StationRow.region == region)
        if exclude_id is not None:
            filters.append(_StationRow.id != exclude_id)
        with self._sessions() as session:
            found = self._within(session, float(lon), float(lat), float(metres), filters)
            return [(_to_station(row), distance) for row, distance in found]

    def update(
        self,
        station_id: int,
        changes: dict[str, object],
        expected_version: int,
        *,
        actor: str = "system",
    ) -> Station:
        """Change fields of a station, if nobody changed it since the caller read it.

        Args:
            station_id: the station's id.
            changes: field name -> new value, for any :class:`Station` fields but ``id``,
                ``created_at``, ``updated_at`` and ``version``.
            expected_version: the version the caller read.
            actor: who changes it, for the history (action ``update``).

        Returns:
            The updated station; its version is ``expected_version + 1``.

        Raises:
            KeyError: no such station, or it was deleted.
            StationInvalid: a field is unknown or read-only, or the result does not validate.
            VersionConflict: the stored version is not ``expected_version``.
        """
        return self._edit(station_id, changes, expected_version, actor, "update")

    def set_status(
        self, station_id: int, status: str, expected_version: int, *, actor: str = "system"
    ) -> Station:
        """Change a station's status (open, suspend, close, ...).

        Args:
            station_id: the station's id.
            status: a status from :data:`geo.stations.STATUSES`.
            expected_version: the version the caller read.
            actor: who changes it, for the history (action ``status``).

        Returns:
            The updated station.

        Raises:
            KeyError: no such station, or it was deleted.
            StationInvalid: unknown status.
            VersionConflict: the stored version is not ``expected_version``.
        """
        return self._edit(station_id, {"status": status}, expected_version, actor, "status")

    def delete(self, station_id: int, expected_version: int, *, actor: str = "system") -> None:
        """Soft-delete a station: it is no longer listed, counted or found nearby, but it is kept
        and can be restored.

        Args:
            station_id: the station's id.
            expected_version: the version the caller read.
            actor: who deletes it, for the history (action ``delete``).

        Raises:
            KeyError: no such station, or it was already deleted.
            VersionConflict: the stored version is not ``expected_version``.
        """
        now = datetime.now(UTC)
        self._compare_and_set(
            station_id, expected_version, {"deleted_at": now, "updated_at": now},
            deleted=False, actor=actor, action="delete", changes={},
        )

    def restore(self, station_id: int, expected_version: int, *, actor: str = "system") -> Station:
        """Undo the deletion of a station.

        Args:
            station_id: the station's id.
            expected_version: the version the caller read (the deleted station's version).
            actor: who restores it, for the history (action ``restore``).

        Returns:
            The restored station; its version is ``expected_version + 1``.

        Raises:
            KeyError: no such station, or it is not deleted.
            VersionConflict: the stored version is not ``expected_version``.
        """
        return self._compare_and_set(
            station_id, expected_version,
            {"deleted_at": None, "updated_at": datetime.now(UTC)},
            deleted=True, actor=actor, action="restore", changes={},
        )

    def replace_demo(
        self, region: str, stations: Iterable[Station], *, actor: str = "system"
    ) -> list[Station]:
        """Replace a region's demo stations with new ones, in one transaction.

        Every demo station of the region (deleted ones included) is removed; stations that are
        not demo data are left alone. Each new station gets a history entry with action
        ``demo``; the history of removed ones is kept and ends with a ``delete`` entry.

        Args:
            region: the region.
            stations: the new demo stations; each must have ``demo=True`` and this region.
            actor: who replaces them, for the history.

        Returns:
            The stored new stations.

        Raises:
            StationInvalid: a station does not validate, is not marked demo, or belongs to
                another region (``index`` says which); nothing is changed then.
        """
        stations = list(stations)
        for index, station in enumerate(stations):
            errors = _station_errors(station)
            if not station.demo:
                errors["demo"] = "replace_demo only stores demo stations"
            if station.region != region:
                errors["region"] = f"must be {region!r}"
            if errors:
                raise StationInvalid(errors, index)
        with self._write() as session:
            _bump_revision(session)
            removed = session.execute(
                delete(_StationRow).where(_StationRow.region == region, _StationRow.demo.is_(True))
                .returning(_StationRow.id, _StationRow.version)
            ).all()
            now = datetime.now(UTC)
            for station_id, version in removed:
                session.execute(insert(_HistoryRow).values(
                    station_id=station_id, at=now, actor=actor, action="delete", changes={},
                    version=version))
            stored = _insert(session, stations, actor, "demo")
        return stored

    def history(self, station_id: int) -> list[HistoryEntry]:
        """Read a station's history, oldest first.

        Args:
            station_id: the station's id.

        Returns:
            Every recorded change of the station; empty for an id that never existed.
        """
        query = (
            select(_HistoryRow).where(_HistoryRow.station_id == station_id)
            .order_by(_HistoryRow.id)
        )
        with self._sessions() as session:
            return [
                HistoryEntry(
                    at=row.at, actor=row.actor, action=row.action, changes=row.changes,
                    version=row.version,
                )
                for row in session.scalars(query)
            ]

    def revision(self) -> int:
        """Return the store's revision: it grows with every add, update, delete, restore or
        replace.

        Returns:
            A counter; compare it with an earlier reading to tell whether anything changed.
        """
        with self._sessions() as session:
            return session.scalar(select(_RevisionRow.value).where(_RevisionRow.id == 1))

    def _read(self, station_id: int) -> tuple[Station, bool]:
        """Read a station and whether it is deleted.

        Args:
            station_id: the station's id.

        Returns:
            The station and True if it is deleted.

        Raises:
            KeyError: no such station.
        """
        with self._sessions() as session:
            row = session.get(_StationRow, station_id)
            if row is None:
                raise KeyError(station_id)
            return _to_station(row), row.deleted_at is not None

    def _edit(self, station_id: int, changes: dict[str, object], expected_version: int,
              actor: str, action: str) -> Station:
        """Validate and write a change of fields; see :meth:`update`.

        Args:
            station_id: the station's id.
            changes: field name -> new value.
            expected_version: the version the caller read.
            actor: who changes it.
            action: the history action, ``update`` or ``status``.

        Returns:
            The updated station.

        Raises:
            KeyError: no such station, or it was deleted.
            StationInvalid: a field is unknown or read-only, or the result does not validate.
            VersionConflict: the stored version is not ``expected_version``.
        """
        current, deleted = self._read(station_id)
        if deleted:
            raise KeyError(station_id)
        field_names = {f.name for f in dataclasses.fields(Station)}
        bad = {
            name: "set by the store" if name in STORE_FIELDS else "not a station field"
            for name in changes
            if name in STORE_FIELDS or name not in field_names
        }
        if bad:
            raise StationInvalid(bad)
        changed = dataclasses.replace(current, **changes)
        errors = _station_errors(changed)
        if errors:
            raise StationInvalid(errors)
        if current.version != expected_version:
            raise VersionConflict(current, expected_version)
        # The compare-and-set only succeeds while the row is still at expected_version, so
        # ``current`` is exactly the state the change replaces.
        before, after = _json_fields(current), _json_fields(changed)
        diff = {name: [before[name], after[name]] for name in after if before[name] != after[name]}
        values = _row_values(changed)
        values["updated_at"] = datetime.now(UTC)
        return self._compare_and_set(
            station_id, expected_version, values,
            deleted=False, actor=actor, action=action, changes=diff,
        )

    def _compare_and_set(self, station_id: int, expected_version: int, values: dict[str, object],
                         *, deleted: bool, actor: str, action: str,
                         changes: dict[str, list[object]]) -> Station:
        """Write ``values`` only if the stored version is still ``expected_version``, with the
        revision bump and the history entry in the same transaction.

        Args:
            station_id: the station's id.
            expected_version: the version the write is based on.
            values: column values to set (with ``updated_at``); ``version`` is incremented here.
            deleted: whether the write applies to a deleted station (a restore) or to one that
                is not deleted (any other change).
            actor: who makes the change.
            action: the history action.
            changes: the history's field name -> [before, after].

        Returns:
            The station after the write.

        Raises:
            KeyError: no such station, or it is not in the ``deleted`` state.
            VersionConflict: the stored version is not ``expected_version``.
        """
        deleted_at = _StationRow.deleted_at
        deletion = deleted_at.is_not(None) if deleted else deleted_at.is_(None)
        with self._write() as session:
            result = session.execute(
                update(_StationRow)
                .where(_StationRow.id == station_id, _StationRow.version == expected_version,
                       deletion)
                .values(**values, version=_StationRow.version + 1)
                .execution_options(synchronize_session=False)
            )
            if result.rowcount == 1:
                _bump_revision(session)
                row = session.get(_StationRow, station_id)
                _record(session, row, values["updated_at"], actor, action, changes)
                return _to_station(row)
        current, is_deleted = self._read(station_id)
        if is_deleted != deleted:
            raise KeyError(station_id)
        raise VersionConflict(current, expected_version)

    @contextmanager
    def _write(self) -> Iterator[Session]:
        """Open a write transaction.

        Yields:
            The session; the transaction commits when the block ends without an exception
            (and rolls back otherwise). Writers that changed stations call
            :func:`_bump_revision` and :func:`_record` inside it.
        """
        with self._sessions.begin() as session:
            yield session


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


def _upgrade_to_head(engine: Engine) -> None:
    """Run the Alembic migrations the database has not had yet, one opener at a time.

    Args:
        engine: the store's engine.
    """
    from alembic import command
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", MIGRATIONS)
    with engine.connect() as connection:
        _lock_schema(connection)
        config.attributes["connection"] = connection
        command.upgrade(config, "head")
        connection.commit()


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


def _within_postgis(session: Session, lon: float, lat: float, metres: float,
                    filters: list[ColumnElement[bool]]) -> list[tuple[_StationRow, float]]:
    """Find stations near a point with PostGIS (see :meth:`StationStore.within`).

    ``ST_DWithin`` on the stations' geography uses the GiST index on ``geom::geography``.

    Args:
        session: an open session.
        lon: the point's longitude.
        lat: the point's latitude.
        metres: the largest distance.
        filters: further conditions on the stations.

    Returns:
        (row, distance in metres), nearest first.
    """
    point = cast(func.ST_SetSRID(func.ST_MakePoint(lon, lat), 4326), Geography)
    station = cast(_GEOM, Geography)
    distance = func.ST_Distance(station, point, False)
    query = (
        select(_StationRow, distance)
        .where(func.ST_DWithin(station, point, metres, False), *filters)
        .order_by(distance, _StationRow.id)
    )
    return [(row, float(metres_away)) for row, metres_away in session.execute(query)]


def _within_bounding_box(session: Session, lon: float, lat: float, metres: float,
                         filters: list[ColumnElement[bool]]) -> list[tuple[_StationRow, float]]:
    """Find stations near a point on any SQL database (see :meth:`StationStore.within`).

    The database returns the stations in the lon/lat box around the circle; their exact
    great-circle distances are computed in numpy.

    Args:
        session: an open session.
        lon: the point's longitude.
        lat: the point's latitude.
        metres: the largest distance.
        filters: further conditions on the stations.

    Returns:
        (row, distance in metres), nearest first.
    """
    south, north, lon_ranges = _bounding_box(lon, lat, metres)
    query = select(_StationRow).where(
        *filters,
        _StationRow.lat.between(south, north),
        or_(*(_StationRow.lon.between(west, east) for west, east in lon_ranges)),
    )
    rows = session.scalars(query).all()
    if not rows:
        return []
    distances = _great_circle_m(
        lon, lat, np.array([row.lon for row in rows]), np.array([row.lat for row in rows])
    )
    order = np.lexsort((np.array([row.id for row in rows]), distances))
    order = order[distances[order] <= metres]
    return [(rows[i], float(distances[i])) for i in order]


def _bounding_box(lon: float, lat: float, metres: float
                  ) -> tuple[float, float, list[tuple[float, float]]]:
    """Return the smallest lon/lat box holding every point within a distance of a point.

    Args:
        lon: the centre's longitude.
        lat: the centre's latitude.
        metres: the radius, on the sphere of radius :data:`EARTH_RADIUS_M`.

    Returns:
        South and north latitude, and one or two (west, east) longitude ranges (two when the box
        crosses the antimeridian; the whole circle of longitudes when it holds a pole).
    """
    angle = metres / EARTH_RADIUS_M
    south, north = lat - math.degrees(angle), lat + math.degrees(angle)
    if south <= -90 or north >= 90:
        return max(south, -90.0), min(north, 90.0), [(-180.0, 180.0)]
    half_width = math.degrees(math.asin(math.sin(angle) / math.cos(math.radians(lat))))
    west, east = lon - half_width, lon + half_width
    if west < -180:
        return south, north, [(west + 360, 180.0), (-180.0, east)]
    if east > 180:
        return south, north, [(west, 180.0), (-180.0, east - 360)]
    return south, north, [(west, east)]


def _great_circle_m(lon: float, lat: float, lons: np.ndarray, lats: np.ndarray) -> np.ndarray:
    """Return haversine distances from one point to many.

    Args:
        lon: the point's longitude in degrees.
        lat: the point's latitude in degrees.
        lons: the other points' longitudes in degrees.
        lats: the other points' latitudes in degrees.

    Returns:
        Distances in metres on the sphere of radius :data:`EARTH_RADIUS_M`.
    """
    lat0, lats = math.radians(lat), np.radians(lats)
    half_dlat = (lats - lat0) / 2
    half_dlon = np.radians(lons - lon) / 2
    h = np.sin(half_dlat) ** 2 + math.cos(lat0) * np.cos(lats) * np.sin(half_dlon) ** 2
    return 2 * EARTH_RADIUS_M * np.arcsin(np.sqrt(np.clip(h, 0.0, 1.0)))


def _insert(session: Session, stations: list[Station], actor: str, action: str) -> list[Station]:
    """Insert validated stations as version 1, each with its history entry, and bump the
    revision.

    Stations and their history entries go in multi-row INSERTs of :data:`INSERT_BATCH_ROWS`
    rows (see :func:`create_store_engine`). ``RETURNING`` promises no order of its own, so the
    ids are asked for in the order of the rows (SQLAlchemy's ``sort_by_parameter_order``, which
    matches each returned id to its row on both back ends).

    Args:
        session: the open write session.
        stations: the stations to insert.
        actor: who adds them.
        action: the history action.

    Returns:
        The stored stations with ids, timestamps and versions.
    """
    now = datetime.now(UTC)
    rows = [_row_values(station) | {"created_at": now, "updated_at": now, "version": 1}
            for station in stations]
    ids = list(session.scalars(
        insert(_StationRow).returning(_StationRow.id, sort_by_parameter_order=True), rows))
    _bump_revision(session)
    # RETURNING, though unused here, makes SQLAlchemy send multi-row batches on both back ends.
    session.execute(insert(_HistoryRow).returning(_HistoryRow.id), [
        {"station_id": station_id, "at": now, "actor": actor, "action": action,
         "changes": {name: [None, value] for name, value in _json_values(row).items()},
         "version": 1}
        for station_id, row in zip(ids, rows, strict=True)
    ])
    return [_station_of(row | {"id": station_id})
            for station_id, row in zip(ids, rows, strict=True)]


def _record(session: Session, row: _StationRow, at: datetime, actor: str, action: str,
            changes: dict[str, list[object]]) -> None:
    """Append a history entry for a station just written.

    Args:
        session: the open write session.
        row: the station's row after the write.
        at: when the write happened.
        actor: who made it.
        action: the history action.
        changes: field name -> [before, after].
    """
    session.execute(insert(_HistoryRow).values(
        station_id=row.id, at=at, actor=actor, action=action, changes=changes,
        version=row.version,
    ))


def _bump_revision(session: Session) -> None:
    """Increment the store-wide revision counter in the session's transaction.

    Writers call it before they append history: the counter's row stays locked until the
    transaction ends, so history entries are numbered in the order their writes commit and
    :meth:`StationStore.changed_since` misses none.

    Args:
        session: an open write session.
    """
    session.execute(
        update(_RevisionRow).where(_RevisionRow.id == 1).values(value=_RevisionRow.value + 1)
    )


def _station_errors(station: Station) -> dict[str, str]:
    """Check a station as :func:`~geo.stations.validate_station` does, that ``verified_on`` is a
    date, and that its text fits the columns (SQLite would store longer text, PostgreSQL refuse
    it).

    Args:
        station: the station.

    Returns:
        Field name -> message for every problem found; empty if the station can be stored.
    """
    errors = validate_station(station)
    verified_on = station.verified_on
    if verified_on is not None and (isinstance(verified_on, datetime)
                                    or not isinstance(verified_on, date)):
        errors["verified_on"] = f"verified_on must be a date, got {verified_on!r}"
    for name, limit in _TEXT_LIMITS.items():
        value = getattr(station, name)
        if name not in errors and isinstance(value, str) and len(value) > limit:
            errors[name] = f"{name} may be at most {limit} characters long, not {len(value)}"
    return errors


def _row_values(station: Station) -> dict[str, object]:
    """Return the column values of a station's own fields (not the store's).

    Args:
        station: the station.

    Returns:
        Column name -> value, with amenities as a list and numbers as plain Python numbers
        (numpy scalars from a data frame do not bind everywhere).
    """
    values = {
        f.name: getattr(station, f.name)
        for f in dataclasses.fields(Station)
        if f.name not in STORE_FIELDS
    }
    values["amenities"] = list(station.amenities)
    values["lon"], values["lat"] = float(station.lon), float(station.lat)
    if station.capacity is not None:
        values["capacity"] = int(station.capacity)
    return values


def _json_fields(station: Station) -> dict[str, object]:
    """Return a station's own fields as JSON-ready values, for its history.

    Args:
        station: the station.

    Returns:
        Field name -> value, with amenities as a list and dates as ISO strings.
    """
    return _json_values(_row_values(station))


def _json_values(values: dict[str, object]) -> dict[str, object]:
    """Return the JSON-ready form of a station's column values (see :func:`_row_values`).

    Args:
        values: column name -> value, store fields ignored.

    Returns:
        The station's own fields, with ``verified_on`` as an ISO string.
    """
    fields = {name: value for name, value in values.items() if name not in STORE_FIELDS}
    if fields["verified_on"] is not None:
        fields["verified_on"] = fields["verified_on"].isoformat()
    return fields


def _to_station(row: _StationRow) -> Station:
    """Turn a row into a Station.

    Args:
        row: the ORM row.

    Returns:
        The station, amenities as a tuple.
    """
    return _station_of({f.name: getattr(row, f.name) for f in dataclasses.fields(Station)})


def _station_of(values: dict[str, object]) -> Station:
    """Make a Station of every field's stored value.

    Args:
        values: field name -> value, amenities as any sequence.

    Returns:
        The station, amenities as a tuple.
    """
    return Station(**values | {"amenities": tuple(values["amenities"])})
