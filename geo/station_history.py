"""Station history: every write appends one entry per station it adds, changes or removes, and
bumps the store-wide revision counter, in the write's own transaction. Nothing edits or deletes
history."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime

from sqlalchemy import insert, update
from sqlalchemy.orm import Session

from geo.station_tables import (
    HistoryRow,
    RevisionRow,
    StationRow,
    json_values,
    row_values,
    station_of,
)
from geo.stations import Station

#: What a history entry records: a new station (``create`` by hand, ``import`` in bulk,
#: ``demo`` generated), an ``update``, a ``status`` change, a ``delete`` or a ``restore``.
HISTORY_ACTIONS: tuple[str, ...] = (
    "create", "import", "demo", "update", "status", "delete", "restore",
)

#: The actions that insert stations (:meth:`geo.store.StationStore.add_many` takes one).
INSERT_ACTIONS: tuple[str, ...] = ("create", "import", "demo")


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


def insert_stations(session: Session, stations: list[Station], actor: str,
                    action: str) -> list[Station]:
    """Insert validated stations as version 1, each with its history entry, and bump the
    revision.

    Stations and their history entries go in multi-row INSERTs of :data:`INSERT_BATCH_ROWS`
    rows (see :class:`geo.database.Database`). ``RETURNING`` promises no order of its own, so the
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
    rows = [row_values(station) | {"created_at": now, "updated_at": now, "version": 1}
            for station in stations]
    ids = list(session.scalars(
        insert(StationRow).returning(StationRow.id, sort_by_parameter_order=True), rows))
    bump_revision(session)
    # RETURNING, though unused here, makes SQLAlchemy send multi-row batches on both back ends.
    session.execute(insert(HistoryRow).returning(HistoryRow.id), [
        {"station_id": station_id, "at": now, "actor": actor, "action": action,
         "changes": {name: [None, value] for name, value in json_values(row).items()},
         "version": 1}
        for station_id, row in zip(ids, rows, strict=True)
    ])
    return [station_of(row | {"id": station_id})
            for station_id, row in zip(ids, rows, strict=True)]


def record_change(session: Session, row: StationRow, at: datetime, actor: str, action: str,
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
    session.execute(insert(HistoryRow).values(
        station_id=row.id, at=at, actor=actor, action=action, changes=changes,
        version=row.version,
    ))


def bump_revision(session: Session) -> None:
    """Increment the store-wide revision counter in the session's transaction.

    Writers call it before they append history: the counter's row stays locked until the
    transaction ends, so history entries are numbered in the order their writes commit and
    :meth:`geo.store.StationStore.changed_since` misses none.

    Args:
        session: an open write session.
    """
    session.execute(
        update(RevisionRow).where(RevisionRow.id == 1).values(value=RevisionRow.value + 1)
    )
