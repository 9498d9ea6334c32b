"""The station store: station records in a SQL database, through the SQLAlchemy 2 ORM.

The public interface speaks plain :class:`~geo.stations.Station` dataclasses, never ORM rows, so
another back end (PostGIS) can implement the same interface. The SQL is dialect-neutral: SQLite
is the embedded default, and any database SQLAlchemy reaches works from its URL.

Every write is a compare-and-set on the record's ``version``: ``UPDATE ... WHERE id = :id AND
version = :expected``, so of several writers holding the same version exactly one wins and the
others get :class:`VersionConflict` with the current record. Every write also bumps a store-wide
revision counter in the same transaction, which callers read cheaply (:meth:`StationStore.revision`)
to notice that stations changed, e.g. to recompute a service field.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime

from sqlalchemy import (
    JSON,
    Boolean,
    Date,
    DateTime,
    Float,
    Integer,
    String,
    Text,
    TypeDecorator,
    create_engine,
    delete,
    func,
    insert,
    select,
    update,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column, sessionmaker

from geo.settings import instance_dir
from geo.stations import Station, validate_station

#: Station fields the store sets; ``update`` refuses to change them.
STORE_FIELDS: frozenset[str] = frozenset({"id", "created_at", "updated_at", "version"})


class StationInvalid(ValueError):
    """A station failed validation.

    Attributes:
        errors: field name -> message for every problem.
        index: position of the offending station in a batch (:meth:`StationStore.replace_demo`),
            None for a single station.
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
    """One station record; ``deleted_at`` marks a soft-deleted one."""

    __tablename__ = "stations"

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
        """Connect, creating the tables if they are not there yet.

        Args:
            url: SQLAlchemy database URL, e.g. ``sqlite:////path/yizhan.db`` or
                ``postgresql+psycopg://user@host/db``.
        """
        self._engine = create_engine(url)
        self._sessions = sessionmaker(self._engine, expire_on_commit=False)
        _Base.metadata.create_all(self._engine)
        self._ensure_revision_row()

    def close(self) -> None:
        """Release the database connections."""
        self._engine.dispose()

    def add(self, station: Station) -> Station:
        """Store a new station.

        Args:
            station: the station; its ``id``, timestamps and ``version`` are ignored.

        Returns:
            The stored station with ``id``, ``created_at`` = ``updated_at`` (UTC) and
            ``version`` = 1 set.

        Raises:
            StationInvalid: the station does not validate.
        """
        _raise_if_invalid(station)
        with self._write() as session:
            (stored,) = self._insert(session, [station])
            _bump_revision(session)
        return stored

    def get(self, station_id: int) -> Station:
        """Read one station.

        Args:
            station_id: the station's id.

        Returns:
            The station.

        Raises:
            KeyError: no such station, or it was deleted.
        """
        with self._sessions() as session:
            row = session.get(_StationRow, station_id)
            if row is None or row.deleted_at is not None:
                raise KeyError(station_id)
            return _to_station(row)

    def list(
        self,
        region: str | None = None,
        status: str | None = None,
        kind: str | None = None,
        include_deleted: bool = False,
    ) -> list[Station]:
        """List stations, in order of id.

        Args:
            region: only this region's stations.
            status: only stations with this status.
            kind: only stations of this kind.
            include_deleted: also list soft-deleted stations.

        Returns:
            The matching stations.
        """
        query = select(_StationRow).order_by(_StationRow.id)
        for column, value in (
            (_StationRow.region, region), (_StationRow.status, status), (_StationRow.kind, kind),
        ):
            if value is not None:
                query = query.where(column == value)
        if not include_deleted:
            query = query.where(_StationRow.deleted_at.is_(None))
        with self._sessions() as session:
            return [_to_station(row) for row in session.scalars(query)]

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

    def update(self, station_id: int, changes: dict[str, object], expected_version: int) -> Station:
        """Change fields of a station, if nobody changed it since the caller read it.

        Args:
            station_id: the station's id.
            changes: field name -> new value, for any :class:`Station` fields but ``id``,
                ``created_at``, ``updated_at`` and ``version``.
            expected_version: the version the caller read.

        Returns:
            The updated station; its version is ``expected_version + 1``.

        Raises:
            KeyError: no such station, or it was deleted.
            StationInvalid: a field is unknown or read-only, or the result does not validate.
            VersionConflict: the stored version is not ``expected_version``.
        """
        current = self.get(station_id)
        field_names = {f.name for f in dataclasses.fields(Station)}
        bad = {
            name: "set by the store" if name in STORE_FIELDS else "not a station field"
            for name in changes
            if name in STORE_FIELDS or name not in field_names
        }
        if bad:
            raise StationInvalid(bad)
        changed = dataclasses.replace(current, **changes)
        _raise_if_invalid(changed)
        if current.version != expected_version:
            raise VersionConflict(current, expected_version)
        values = _row_values(changed)
        values["updated_at"] = datetime.now(UTC)
        return self._compare_and_set(station_id, expected_version, values)

    def set_status(self, station_id: int, status: str, expected_version: int) -> Station:
        """Change a station's status (open, suspend, close, ...).

        Args:
            station_id: the station's id.
            status: a status from :data:`geo.stations.STATUSES`.
            expected_version: the version the caller read.

        Returns:
            The updated station.

        Raises:
            KeyError: no such station, or it was deleted.
            StationInvalid: unknown status.
            VersionConflict: the stored version is not ``expected_version``.
        """
        return self.update(station_id, {"status": status}, expected_version)

    def delete(self, station_id: int, expected_version: int) -> None:
        """Soft-delete a station: it stays in the database but is no longer listed or read.

        Args:
            station_id: the station's id.
            expected_version: the version the caller read.

        Raises:
            KeyError: no such station, or it was already deleted.
            VersionConflict: the stored version is not ``expected_version``.
        """
        current = self.get(station_id)
        if current.version != expected_version:
            raise VersionConflict(current, expected_version)
        now = datetime.now(UTC)
        self._compare_and_set(station_id, expected_version, {"deleted_at": now, "updated_at": now})

    def replace_demo(self, region: str, stations: Iterable[Station]) -> list[Station]:
        """Replace a region's demo stations with new ones, in one transaction.

        Every demo station of the region (deleted ones included) is removed; stations that are
        not demo data are left alone.

        Args:
            region: the region.
            stations: the new demo stations; each must have ``demo=True`` and this region.

        Returns:
            The stored new stations.

        Raises:
            StationInvalid: a station does not validate, is not marked demo, or belongs to
                another region (``index`` says which); nothing is changed then.
        """
        stations = list(stations)
        for index, station in enumerate(stations):
            errors = validate_station(station)
            if not station.demo:
                errors["demo"] = "replace_demo only stores demo stations"
            if station.region != region:
                errors["region"] = f"must be {region!r}"
            if errors:
                raise StationInvalid(errors, index)
        with self._write() as session:
            session.execute(
                delete(_StationRow).where(_StationRow.region == region, _StationRow.demo.is_(True))
            )
            stored = self._insert(session, stations)
            _bump_revision(session)
        return stored

    def revision(self) -> int:
        """Return the store's revision: it grows with every add, update, delete or replace.

        Returns:
            A counter; compare it with an earlier reading to tell whether anything changed.
        """
        with self._sessions() as session:
            return session.scalar(select(_RevisionRow.value).where(_RevisionRow.id == 1))

    def _compare_and_set(self, station_id: int, expected_version: int,
                         values: dict[str, object]) -> Station:
        """Write ``values`` only if the stored version is still ``expected_version``.

        Args:
            station_id: the station's id.
            expected_version: the version the write is based on.
            values: column values to set; ``version`` is incremented here.

        Returns:
            The station after the write (for a delete, as it was deleted).

        Raises:
            KeyError: the station disappeared meanwhile.
            VersionConflict: another writer got there first.
        """
        with self._write() as session:
            result = session.execute(
                update(_StationRow)
                .where(
                    _StationRow.id == station_id,
                    _StationRow.version == expected_version,
                    _StationRow.deleted_at.is_(None),
                )
                .values(**values, version=_StationRow.version + 1)
                .execution_options(synchronize_session=False)
            )
            if result.rowcount == 1:
                _bump_revision(session)
                return _to_station(session.get(_StationRow, station_id))
        raise VersionConflict(self.get(station_id), expected_version)

    def _insert(self, session: Session, stations: list[Station]) -> list[Station]:
        """Insert validated stations as version 1.

        Args:
            session: the open write session.
            stations: the stations to insert.

        Returns:
            The stored stations with ids, timestamps and versions.
        """
        now = datetime.now(UTC)
        rows = [
            _StationRow(**_row_values(s), created_at=now, updated_at=now, version=1)
            for s in stations
        ]
        session.add_all(rows)
        session.flush()
        return [_to_station(row) for row in rows]

    @contextmanager
    def _write(self) -> Iterator[Session]:
        """Open a write transaction.

        Yields:
            The session; the transaction commits when the block ends without an exception
            (and rolls back otherwise). Writers that changed stations call
            :func:`_bump_revision` inside it.
        """
        with self._sessions.begin() as session:
            yield session

    def _ensure_revision_row(self) -> None:
        """Create the revision counter row if this is a new database."""
        with self._sessions() as session:
            if session.get(_RevisionRow, 1) is not None:
                return
        try:
            with self._sessions.begin() as session:
                session.execute(insert(_RevisionRow).values(id=1, value=0))
        except IntegrityError:
            pass  # another process created it first


def _bump_revision(session: Session) -> None:
    """Increment the store-wide revision counter in the session's transaction.

    Args:
        session: an open write session.
    """
    session.execute(
        update(_RevisionRow).where(_RevisionRow.id == 1).values(value=_RevisionRow.value + 1)
    )


def _raise_if_invalid(station: Station) -> None:
    """Raise StationInvalid if the station does not validate.

    Args:
        station: the station.

    Raises:
        StationInvalid: with every problem found.
    """
    errors = validate_station(station)
    if errors:
        raise StationInvalid(errors)


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


def _to_station(row: _StationRow) -> Station:
    """Turn a row into a Station.

    Args:
        row: the ORM row.

    Returns:
        The station, amenities as a tuple.
    """
    values = {f.name: getattr(row, f.name) for f in dataclasses.fields(Station)}
    values["amenities"] = tuple(row.amenities)
    return Station(**values)
