"""The station tables: stations, their history and the store-wide revision counter, and how a
:class:`~geo.stations.Station` becomes a row and back.

On PostgreSQL the stations table also has a PostGIS point ``geom`` (SRID 4326), a column the
database generates from ``lon`` and ``lat``, so it equals them after every write; the ORM does
not map it (:data:`GEOM` names it for queries).
"""

from __future__ import annotations

import dataclasses
from datetime import date, datetime

from geoalchemy2 import Geometry
from sqlalchemy import JSON, Boolean, Date, Float, Index, Integer, String, Text, column, inspect
from sqlalchemy.orm import Mapped, mapped_column

from geo.database import Base, UTCDateTime
from geo.stations import Station, validate_station

#: Station fields the store sets; ``update`` refuses to change them.
STORE_FIELDS: frozenset[str] = frozenset({"id", "created_at", "updated_at", "version"})


class StationRow(Base):
    """One station record; ``deleted_at`` marks a soft-deleted one.

    On PostgreSQL the table also has the generated PostGIS column ``geom``, which the ORM does
    not map (SQLite has no such column); :func:`geo.nearby.within_postgis` reads it.
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


class RevisionRow(Base):
    """The single-row store-wide revision counter."""

    __tablename__ = "store_revision"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    value: Mapped[int] = mapped_column(Integer)


class HistoryRow(Base):
    """One entry of a station's history; rows are only ever inserted.

    ``station_id`` has no foreign key: the history of a demo station outlives the station when
    :meth:`geo.store.StationStore.replace_demo` removes it.
    """

    __tablename__ = "station_history"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    station_id: Mapped[int] = mapped_column(Integer, index=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    actor: Mapped[str] = mapped_column(Text)
    action: Mapped[str] = mapped_column(String(20))
    changes: Mapped[dict[str, list[object]]] = mapped_column(JSON)
    version: Mapped[int] = mapped_column(Integer)


#: The PostGIS point of a station, a column of ``stations`` only on PostgreSQL.
GEOM = column("geom", Geometry("POINT", srid=4326, spatial_index=False))

#: Mapper attribute name -> maximum length, for the station's length-limited text columns.
TEXT_LIMITS: dict[str, int] = {
    attribute.key: attribute.columns[0].type.length
    for attribute in inspect(StationRow).column_attrs
    if isinstance(attribute.columns[0].type, String) and attribute.columns[0].type.length
}


def station_errors(station: Station) -> dict[str, str]:
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
    for name, limit in TEXT_LIMITS.items():
        value = getattr(station, name)
        if name not in errors and isinstance(value, str) and len(value) > limit:
            errors[name] = f"{name} may be at most {limit} characters long, not {len(value)}"
    return errors


def row_values(station: Station) -> dict[str, object]:
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


def json_fields(station: Station) -> dict[str, object]:
    """Return a station's own fields as JSON-ready values, for its history.

    Args:
        station: the station.

    Returns:
        Field name -> value, with amenities as a list and dates as ISO strings.
    """
    return json_values(row_values(station))


def json_values(values: dict[str, object]) -> dict[str, object]:
    """Return the JSON-ready form of a station's column values (see :func:`row_values`).

    Args:
        values: column name -> value, store fields ignored.

    Returns:
        The station's own fields, with ``verified_on`` as an ISO string.
    """
    fields = {name: value for name, value in values.items() if name not in STORE_FIELDS}
    if fields["verified_on"] is not None:
        fields["verified_on"] = fields["verified_on"].isoformat()
    return fields


def to_station(row: StationRow) -> Station:
    """Turn a row into a Station.

    Args:
        row: the ORM row.

    Returns:
        The station, amenities as a tuple.
    """
    return station_of({f.name: getattr(row, f.name) for f in dataclasses.fields(Station)})


def station_of(values: dict[str, object]) -> Station:
    """Make a Station of every field's stored value.

    Args:
        values: field name -> value, amenities as any sequence.

    Returns:
        The station, amenities as a tuple.
    """
    return Station(**values | {"amenities": tuple(values["amenities"])})
