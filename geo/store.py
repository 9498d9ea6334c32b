"""The station store: station records in the app's database, through the SQLAlchemy 2 ORM.

The public interface speaks plain :class:`~geo.stations.Station` dataclasses, never ORM rows
(the tables are in :mod:`geo.station_tables`). The store works in a :class:`~geo.database.Database`
it is given, on SQLite or on PostgreSQL with PostGIS. Both back ends behave the same: the only
dialect-specific code is how :meth:`StationStore.within` finds nearby stations
(:mod:`geo.nearby`), chosen from the database's dialect.

Every write is a compare-and-set on the record's ``version``: ``UPDATE ... WHERE id = :id AND
version = :expected``, so of several writers holding the same version exactly one wins and the
others get :class:`VersionConflict` with the current record. In the same transaction every write
bumps a store-wide revision counter, which callers read cheaply (:meth:`StationStore.revision`)
to notice that stations changed, and appends one entry per station to its history (who, when,
what changed; :meth:`StationStore.history`, :mod:`geo.station_history`). Nothing edits or
deletes history, so it also says which stations changed since an earlier reading
(:meth:`StationStore.changed_since`). Writes join a transaction already open on the database
(:meth:`geo.database.Database.transaction`), so they can commit together with other stores'.
"""

from __future__ import annotations

import builtins
import dataclasses
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from itertools import chain

import numpy as np
from sqlalchemy import delete, func, insert, select, update
from sqlalchemy.orm import Session

from geo.database import INSERT_BATCH_ROWS, METADATA, MIGRATIONS, Database, default_store_url
from geo.nearby import EARTH_RADIUS_M, WithinQuery, within_bounding_box, within_postgis
from geo.stamp import station_stamp
from geo.station_history import (
    HISTORY_ACTIONS,
    INSERT_ACTIONS,
    HistoryEntry,
    bump_revision,
    insert_stations,
    record_change,
)
from geo.station_tables import (
    STORE_FIELDS,
    HistoryRow,
    RevisionRow,
    StationRow,
    json_fields,
    row_values,
    station_errors,
    to_station,
)
from geo.stations import Station

#: Names other modules import from here, though they are defined next to what they describe.
__all__ = [
    "EARTH_RADIUS_M", "HISTORY_ACTIONS", "INSERT_ACTIONS", "INSERT_BATCH_ROWS", "METADATA",
    "MIGRATIONS", "STORE_FIELDS", "HistoryEntry", "StationInvalid", "StationStore",
    "VersionConflict", "default_store_url",
]


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



class StationStore:
    """Station records in a SQL database, read and written as :class:`Station` dataclasses."""

    def __init__(self, database: Database) -> None:
        """Keep station records in a database.

        Args:
            database: the app's database, already at the newest schema.
        """
        self.database = database
        self._within: WithinQuery = (
            within_postgis if database.dialect == "postgresql" else within_bounding_box
        )
        #: Moved after every committed write, for readers that ask :meth:`revision` only when
        #: it moved (see :mod:`geo.stamp`).
        self.changes = station_stamp()

    def close(self) -> None:
        """Release the database connections."""
        self.database.close()

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
        errors = station_errors(station)
        if errors:
            raise StationInvalid(errors)
        with self._write() as session:
            (stored,) = insert_stations(session, [station], actor, "create")
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
            errors = station_errors(station)
            if errors:
                raise StationInvalid(errors, index)
        if not stations:
            return []
        with self._write() as session:
            return insert_stations(session, stations, actor, action)

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
        query = select(StationRow).order_by(StationRow.id)
        for column_, value in (
            (StationRow.region, region), (StationRow.status, status), (StationRow.kind, kind),
        ):
            if value is not None:
                query = query.where(column_ == value)
        if not include_deleted:
            query = query.where(StationRow.deleted_at.is_(None))
        if ids is not None:
            query = query.where(StationRow.id.in_([int(i) for i in ids]))
        with self.database.session() as session:
            return [to_station(row) for row in session.scalars(query)]

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
            query = select(func.coalesce(func.max(HistoryRow.id), 0))
            with self.database.session() as session:
                return session.scalar(query), np.zeros(0, dtype=np.int64)
        query = select(HistoryRow.id, HistoryRow.station_id).where(HistoryRow.id > mark)
        with self.database.session() as session:
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
        query = select(func.count()).select_from(StationRow).where(
            StationRow.deleted_at.is_(None)
        )
        if region is not None:
            query = query.where(StationRow.region == region)
        with self.database.session() as session:
            return session.scalar(query)

    def within(
        self,
        lon: float,
        lat: float,
        metres: float,
        region: str | None = None,
        exclude_id: int | None = None,
    ) -> builtins.list[tuple[Station, float]]:
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
        filters = [StationRow.deleted_at.is_(None)]
        if region is not None:
            filters.append(StationRow.region == region)
        if exclude_id is not None:
            filters.append(StationRow.id != exclude_id)
        with self.database.session() as session:
            found = self._within(session, float(lon), float(lat), float(metres), filters)
            return [(to_station(row), distance) for row, distance in found]

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
    ) -> builtins.list[Station]:
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
            errors = station_errors(station)
            if not station.demo:
                errors["demo"] = "replace_demo only stores demo stations"
            if station.region != region:
                errors["region"] = f"must be {region!r}"
            if errors:
                raise StationInvalid(errors, index)
        with self._write() as session:
            bump_revision(session)
            removed = session.execute(
                delete(StationRow).where(StationRow.region == region, StationRow.demo.is_(True))
                .returning(StationRow.id, StationRow.version)
            ).all()
            now = datetime.now(UTC)
            for station_id, version in removed:
                session.execute(insert(HistoryRow).values(
                    station_id=station_id, at=now, actor=actor, action="delete", changes={},
                    version=version))
            stored = insert_stations(session, stations, actor, "demo")
        return stored

    def history(self, station_id: int) -> builtins.list[HistoryEntry]:
        """Read a station's history, oldest first.

        Args:
            station_id: the station's id.

        Returns:
            Every recorded change of the station; empty for an id that never existed.
        """
        query = (
            select(HistoryRow).where(HistoryRow.station_id == station_id)
            .order_by(HistoryRow.id)
        )
        with self.database.session() as session:
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
        with self.database.session() as session:
            return session.scalar(select(RevisionRow.value).where(RevisionRow.id == 1))

    def _read(self, station_id: int) -> tuple[Station, bool]:
        """Read a station and whether it is deleted.

        Args:
            station_id: the station's id.

        Returns:
            The station and True if it is deleted.

        Raises:
            KeyError: no such station.
        """
        with self.database.session() as session:
            row = session.get(StationRow, station_id)
            if row is None:
                raise KeyError(station_id)
            return to_station(row), row.deleted_at is not None

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
        errors = station_errors(changed)
        if errors:
            raise StationInvalid(errors)
        if current.version != expected_version:
            raise VersionConflict(current, expected_version)
        # The compare-and-set only succeeds while the row is still at expected_version, so
        # ``current`` is exactly the state the change replaces.
        before, after = json_fields(current), json_fields(changed)
        diff = {name: [before[name], after[name]] for name in after if before[name] != after[name]}
        values = row_values(changed)
        values["updated_at"] = datetime.now(UTC)
        return self._compare_and_set(
            station_id, expected_version, values,
            deleted=False, actor=actor, action=action, changes=diff,
        )

    def _compare_and_set(self, station_id: int, expected_version: int, values: dict[str, object],
                         *, deleted: bool, actor: str, action: str,
                         changes: dict[str, builtins.list[object]]) -> Station:
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
        deleted_at = StationRow.deleted_at
        deletion = deleted_at.is_not(None) if deleted else deleted_at.is_(None)
        with self._write() as session:
            result = session.execute(
                update(StationRow)
                .where(StationRow.id == station_id, StationRow.version == expected_version,
                       deletion)
                .values(**values, version=StationRow.version + 1)
                .execution_options(synchronize_session=False)
            )
            # An UPDATE's result is a CursorResult; SQLAlchemy types execute() as Result.
            if result.rowcount == 1:  # type: ignore[attr-defined]
                bump_revision(session)
                row = session.get(StationRow, station_id)
                record_change(session, row, values["updated_at"], actor, action, changes)
                return to_station(row)
        current, is_deleted = self._read(station_id)
        if is_deleted != deleted:
            raise KeyError(station_id)
        raise VersionConflict(current, expected_version)


    @contextmanager
    def _write(self) -> Iterator[Session]:
        """Open (or join) a write transaction whose commit moves the store's change stamp.

        Yields:
            The session; see :meth:`geo.database.Database.transaction`.
        """
        with self.database.transaction() as session:
            self.database.on_commit(self.changes.bump)
            yield session
