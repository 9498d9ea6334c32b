"""Importing station records in bulk: the station lists staff keep in Excel, CSV or GeoJSON,
planned, checked and then stored all at once or not at all.

An import is one flow wherever it starts (the staff page or ``yizhan import``):

1. plan: :func:`read_station_file` turns a file into an :class:`ImportPlan`: the rows that are
   good, as :class:`~geo.stations.Station` objects, and a :class:`RowProblem` for every bad
   cell, with the line a person sees in the file, the column and the reason. Reading never
   writes anything. CSV and Excel files are read row by row and only the first problems are
   kept (with a count of the rest), so a large file of bad rows takes little memory.
2. check: :attr:`ImportPlan.importable` says whether it may be stored: it has stations, no
   problems, and no row that updates a stored station (an import only adds stations).
3. apply: :func:`apply_import` stores its stations in one transaction.

A file's columns are the canonical ids of :data:`geo.sheets.COLUMNS` or any header of
:data:`geo.vocabulary.HEADERS` (Chinese, English and the synonyms clerks write; matched ignoring
case, spaces, ``-`` and ``_``); other columns are ignored. Kinds, statuses, levels and amenities
may be written as ids, as the Chinese or English names of the vocabularies in
:mod:`geo.stations`, or as their synonyms in :data:`geo.vocabulary.SYNONYMS` (see
:mod:`geo.cells`); opening hours in OSM syntax or as people write them
(:func:`geo.hours.read_hours`), the latter listed in :attr:`ImportPlan.hours_read` for staff
to confirm.
Coordinates may be in any datum of :mod:`geo.coords` and are stored in WGS-84. Every row is
checked by the station rules of :mod:`geo.rules`, as a station entered in a form is.
"""
from __future__ import annotations

import dataclasses
import io
from dataclasses import dataclass
from typing import BinaryIO

from geo.cells import (
    CELL_READERS,
    OPTIONAL_TERMS,
    CellError,
    fold,
    is_blank,
    read_coordinate,
    read_datum,
    read_point,
)
from geo.coords import to_wgs84
from geo.rules import clean_text, name_key, nearest_duplicate, too_far_outside
from geo.sheets import CHINESE_HEADERS, HEADER_COLUMNS, RecordsError, Table, read_table
from geo.stations import Station, text_problem, validate_station
from geo.store import StationStore

#: How many problems a check of a station file lists by default; the rest are counted.
IMPORT_PROBLEM_LIMIT: int = 200


@dataclass(frozen=True)
class RowProblem:
    """One thing wrong with one row of a station file.

    Attributes:
        line: the line a person sees: the file line for CSV (the header is line 1), the sheet
            row for Excel, the feature number (from 1) for GeoJSON.
        field: the canonical column (``geometry`` for a GeoJSON feature's geometry).
        message: what is wrong, naming the bad value, in English.
        code: what kind of problem it is, so that a page can say it in its reader's language
            with ``params``: a code of :class:`geo.cells.CellError`, or ``duplicate_column``,
            ``missing_column``, ``range``, ``outside``, ``unknown_id``, ``updated_twice``,
            ``duplicate``, ``duplicate_line``, ``invalid``, ``phone`` or ``capacity``.
        params: the data of the message (``value``: the cell as written, and so on).
    """

    line: int
    field: str
    message: str
    code: str = dataclasses.field(default="", compare=False)
    params: dict[str, object] = dataclasses.field(default_factory=dict, compare=False)


@dataclass(frozen=True)
class HoursRead:
    """Opening hours a row wrote in words, and how they were read: shown in the dry run so
    that staff confirm them.

    Attributes:
        line: the row's line.
        written: the hours as written.
        hours: the hours in OSM ``opening_hours`` syntax.
    """

    line: int
    written: str
    hours: str


@dataclass(frozen=True)
class ImportPlan:
    """What importing a station file would do.

    Attributes:
        stations: the good rows as stations: updates carry the existing station's ``id``,
            timestamps and ``version``, new ones have ``id`` None.
        problems: the first problems found, in line order (as many as the reader was asked to
            list).
        rows: how many data rows the file has (blank rows not counted).
        more_problems: how many problems were found beyond those listed.
        hours_read: the first good rows (as many as problems are listed) whose opening hours
            were written otherwise than in OSM syntax, with how they were read.
    """

    stations: list[Station]
    problems: list[RowProblem]
    rows: int
    more_problems: int = 0
    hours_read: list[HoursRead] = dataclasses.field(default_factory=list)

    @property
    def problem_count(self) -> int:
        """How many problems were found, listed or not."""
        return len(self.problems) + self.more_problems

    @property
    def updates(self) -> list[Station]:
        """The good rows that carry the id of a stored station (an import only adds stations,
        so these keep the plan from being imported)."""
        return [station for station in self.stations if station.id is not None]

    @property
    def importable(self) -> bool:
        """Whether the plan may be imported: it has stations, no problems and no updates."""
        return bool(self.stations) and not self.problem_count and not self.updates


@dataclass
class _Problems:
    """The problems of a file as they are found: the first ``limit`` kept, the rest counted.

    Attributes:
        limit: how many to keep.
        listed: the kept ones.
        more: how many were found beyond them.
    """

    limit: int
    listed: list[RowProblem] = dataclasses.field(default_factory=list)
    more: int = 0

    def add(self, problems: list[RowProblem]) -> None:
        """Note some problems, keeping them while there is room.

        Args:
            problems: the problems, in line order.
        """
        kept = problems[:max(self.limit - len(self.listed), 0)]
        self.listed += kept
        self.more += len(problems) - len(kept)


def read_station_file(
    data: bytes | BinaryIO,
    filename: str,
    region: str,
    existing: list[Station],
    default_datum: str = "wgs84",
    region_bounds: tuple[float, float, float, float] | None = None,
    problem_limit: int = IMPORT_PROBLEM_LIMIT,
    sheet: str | None = None,
) -> ImportPlan:
    """Read a station file and check every row, without storing anything.

    A row with an ``id`` updates the existing station of that id; columns the file lacks keep
    the station's values, and blank ``kind``, ``status`` or ``level`` cells keep them too. A row
    without an ``id`` is a new station; blank ``status`` and ``level`` cells take the
    :class:`~geo.stations.Station` defaults. Every other blank cell is an empty value.

    Args:
        data: the file's bytes, or the file open for binary reading (it must be seekable).
        filename: the file's name; its ending picks the format: ``.csv`` (UTF-8, with or
            without a byte-order mark, else GB18030), ``.xlsx`` (the first sheet or ``sheet``)
            or ``.geojson``/``.json`` (Point features, properties as columns). The header
            of CSV and Excel files may have title rows above it and two rows
            (:func:`geo.sheets.read_table`).
        region: the region the stations belong to.
        existing: the stations already stored, to find updated stations and duplicates.
        default_datum: the datum of rows without a ``datum`` value; any name of
            :data:`geo.cells.DATUM_NAMES`.
        region_bounds: ``(min_lon, min_lat, max_lon, max_lat)`` in WGS-84; stations more than
            :data:`geo.rules.REGION_MARGIN_M` outside are refused. None accepts any place.
        problem_limit: how many problems the plan lists; the rest are only counted.
        sheet: the Excel sheet to read; None for the first.

    Returns:
        The plan: the good rows as stations, the first problems and the count of the rest,
        the number of rows.

    Raises:
        RecordsError: the file is empty, of an unknown type, or cannot be parsed at all; the
            message names the file.
        ValueError: ``region`` is blank or ``default_datum`` unknown.
    """
    if not region.strip():
        raise ValueError("region is required")
    datum = read_datum(default_datum)
    table = read_table(io.BytesIO(data) if isinstance(data, bytes) else data, filename, sheet)
    columns, header_problems = _columns(table)
    problems = _Problems(problem_limit)
    problems.add(header_problems)
    missing = _missing_columns(table, columns)
    if missing:
        problems.add(missing)
        return ImportPlan([], problems.listed, sum(1 for _ in table.rows), problems.more)
    by_id = {station.id: station for station in existing if station.id is not None}
    named: dict[str, list[tuple[float, float, int | None, dict[str, object]]]] = {}
    for station in existing:
        named.setdefault(name_key(station.name), []).append(
            (station.lon, station.lat, station.id, {"id": station.id, "other": station.name})
        )
    updated_on: dict[int, int] = {}
    stations: list[Station] = []
    hours_read: list[HoursRead] = []
    rows = 0
    for line, cells, geometry in table.rows:
        rows += 1
        values = {column: cells[index] if index < len(cells) else None
                  for column, index in columns.items()}
        fields, row_problems = _row_fields(values, geometry, table.spatial, line, datum,
                                           region_bounds)
        current, id_problem = _current_station(fields, by_id, updated_on, line)
        row_problems += id_problem
        if is_blank(values.get("id")) and "kind" not in {*fields, *_fields_of(row_problems)}:
            row_problems.append(RowProblem(line, "kind", "kind is missing", "missing"))
        station = _station(fields, current, region)
        reported = _fields_of(row_problems)
        row_problems += [_invalid(station, line, field, message)
                         for field, message in validate_station(station).items()
                         if field in fields and field not in reported]
        if "name" in fields and "lon" in fields:
            row_problems += _duplicates(fields, named, line)
            named.setdefault(name_key(fields["name"]), []).append(
                (fields["lon"], fields["lat"], fields.get("id"), {"line": line})
            )
        problems.add(row_problems)
        if not row_problems:
            stations.append(station)
            written = _written_hours(values.get("opening_hours"))
            if (written != station.opening_hours and "opening_hours" in fields
                    and len(hours_read) < problem_limit):
                hours_read.append(HoursRead(line, written, station.opening_hours))
    return ImportPlan(stations, problems.listed, rows, problems.more, hours_read)


def apply_import(store: StationStore, plan: ImportPlan, actor: str) -> list[Station]:
    """Store the stations of an importable plan, all in one transaction or none.

    Args:
        store: the station store.
        plan: the plan, from :func:`read_station_file`.
        actor: who imports, for the history (action ``import``).

    Returns:
        The stations as stored.

    Raises:
        RecordsError: the plan is not :attr:`~ImportPlan.importable`.
        geo.store.StationInvalid: the store refused a station; nothing was stored.
    """
    if not plan.importable:
        raise RecordsError("the file has problems or updates stored stations; nothing was "
                           "imported", "not_importable")
    return store.add_many(plan.stations, actor=actor, action="import")


def _columns(table: Table) -> tuple[dict[str, int], list[RowProblem]]:
    """Match a table's headers to canonical columns.

    Args:
        table: the table.

    Returns:
        Canonical column -> cell index, and a problem for every column with two headers (the
        first is read).
    """
    columns: dict[str, int] = {}
    problems: list[RowProblem] = []
    for index, header in enumerate(table.headers):
        column = HEADER_COLUMNS.get(fold(header))
        if column is None:
            continue
        if column in columns:
            first = table.headers[columns[column]]
            problems.append(RowProblem(table.header_line, column,
                                       f"two columns hold {column}: {first!r} and {header!r}; "
                                       f"only {first!r} is read", "duplicate_column",
                                       {"first": first, "header": header}))
        else:
            columns[column] = index
    return columns, problems


def _missing_columns(table: Table, columns: dict[str, int]) -> list[RowProblem]:
    """Report the required columns a table lacks: ``name``, and ``lon`` and ``lat`` unless the
    coordinates come from geometries.

    Args:
        table: the table.
        columns: its canonical columns (see :func:`_columns`).

    Returns:
        One problem on the header line per missing column.
    """
    required = ("name",) if table.spatial else ("name", "lon", "lat")
    chinese = {column: header for header, column in CHINESE_HEADERS.items()}
    return [
        RowProblem(table.header_line, column,
                   f"missing column {column!r} (header {column!r} or {chinese[column]!r})",
                   "missing_column", {"header": chinese[column]})
        for column in required if column not in columns
    ]


# --- reading rows ----------------------------------------------------------------------------

def _row_fields(
    values: dict[str, object],
    geometry: object,
    spatial: bool,
    line: int,
    default_datum: str,
    region_bounds: tuple[float, float, float, float] | None,
) -> tuple[dict[str, object], list[RowProblem]]:
    """Read the station fields of one row.

    Args:
        values: canonical column -> raw cell value, for the columns the file has.
        geometry: the row's GeoJSON geometry (when ``spatial``).
        spatial: whether the coordinates come from ``geometry``.
        line: the row's line, for problems.
        default_datum: the datum of a row without one.
        region_bounds: WGS-84 bounds the station must lie near, or None.

    Returns:
        Station field -> value for every cell read well (``id`` included, ``lon``/``lat`` in
        WGS-84; blank optional vocabulary cells left out), and the problems.
    """
    fields: dict[str, object] = {}
    problems: list[RowProblem] = []
    for column, raw in values.items():
        if column in ("lon", "lat", "datum") or (column in OPTIONAL_TERMS and is_blank(raw)):
            continue
        try:
            fields[column] = CELL_READERS[column](raw)
        except CellError as error:
            problems.append(_cell_problem(line, column, error))
    if "name" in fields and not fields["name"]:
        del fields["name"]
        problems.append(RowProblem(line, "name", "name is missing", "missing"))
    coordinates, coordinate_problems = _coordinates(values, geometry, spatial, line,
                                                    default_datum, region_bounds)
    if coordinates:
        fields["lon"], fields["lat"] = coordinates
    return fields, problems + coordinate_problems


def _coordinates(
    values: dict[str, object],
    geometry: object,
    spatial: bool,
    line: int,
    default_datum: str,
    region_bounds: tuple[float, float, float, float] | None,
) -> tuple[tuple[float, float] | None, list[RowProblem]]:
    """Read a row's coordinates and datum, convert them to WGS-84 and check them.

    Args:
        values: canonical column -> raw cell value.
        geometry: the row's GeoJSON geometry (when ``spatial``).
        spatial: whether the coordinates come from ``geometry``.
        line: the row's line, for problems.
        default_datum: the datum of a row without one.
        region_bounds: WGS-84 bounds the station must lie near, or None.

    Returns:
        WGS-84 ``(lon, lat)``, or None with the problems.
    """
    problems: list[RowProblem] = []
    datum = default_datum
    if not is_blank(values.get("datum")):
        try:
            datum = read_datum(values["datum"])
        except CellError as error:
            problems.append(_cell_problem(line, "datum", error))
    if spatial:
        lon_field = lat_field = "geometry"
        try:
            lon, lat = read_point(geometry)
        except CellError as error:
            return None, [_cell_problem(line, "geometry", error), *problems]
    else:
        lon_field, lat_field = "lon", "lat"
        parsed = []
        for column, label in (("lon", "longitude"), ("lat", "latitude")):
            try:
                parsed.append(read_coordinate(values[column], label))
            except CellError as error:
                problems.append(_cell_problem(line, column, error))
        if problems:
            return None, problems
        lon, lat = parsed
    swapped = " (are longitude and latitude swapped?)" if abs(lon) <= 90 < abs(lat) <= 180 else ""
    if not -180 <= lon <= 180:
        problems.append(RowProblem(line, lon_field, f"longitude {lon!r} is outside [-180, 180]",
                                   "range", {"value": lon, "low": -180, "high": 180}))
    if not -90 <= lat <= 90:
        problems.append(RowProblem(line, lat_field,
                                   f"latitude {lat!r} is outside [-90, 90]{swapped}", "range",
                                   {"value": lat, "low": -90, "high": 90,
                                    "swapped": bool(swapped)}))
    if problems:
        return None, problems
    lon, lat = to_wgs84(lon, lat, datum)
    if region_bounds is not None:
        outside = _outside_region(lon, lat, region_bounds, lon_field, lat_field, line)
        if outside:
            return None, [outside]
    return (lon, lat), []


def _outside_region(lon: float, lat: float, bounds: tuple[float, float, float, float],
                    lon_field: str, lat_field: str, line: int) -> RowProblem | None:
    """Say whether a point lies more than :data:`geo.rules.REGION_MARGIN_M` outside the region
    bounds.

    Args:
        lon: WGS-84 longitude.
        lat: WGS-84 latitude.
        bounds: ``(min_lon, min_lat, max_lon, max_lat)``.
        lon_field: the field to blame when the longitude is outside the bounds.
        lat_field: the field to blame when only the latitude is.
        line: the row's line.

    Returns:
        The problem, or None if the point is near enough.
    """
    distance = too_far_outside(lon, lat, bounds)
    if distance is None:
        return None
    min_lon, min_lat, max_lon, max_lat = bounds
    return RowProblem(
        line, lon_field if not min_lon <= lon <= max_lon else lat_field,
        f"the station at WGS-84 ({lon:.6f}, {lat:.6f}) is {distance / 1000:.1f} km outside the "
        f"region ({min_lon:g}–{max_lon:g} E, {min_lat:g}–{max_lat:g} N)",
        "outside", {"km": f"{distance / 1000:.1f}", "lon": f"{lon:.6f}", "lat": f"{lat:.6f}"},
    )


def _current_station(fields: dict[str, object], by_id: dict[int, Station],
                     updated_on: dict[int, int], line: int
                     ) -> tuple[Station | None, list[RowProblem]]:
    """Find the station a row updates, and note that this line updates it.

    Args:
        fields: the row's fields; an ``id`` among them makes the row an update.
        by_id: the existing stations by id.
        updated_on: station id -> the line that updates it, for the rows read so far.
        line: the row's line.

    Returns:
        The existing station (None for a new row or an id in error), and the problems.
    """
    station_id = fields.get("id")
    if station_id is None:
        return None, []
    if station_id not in by_id:
        return None, [RowProblem(line, "id", f"unknown id {station_id}: no such station",
                                 "unknown_id", {"id": station_id})]
    if station_id in updated_on:
        return None, [RowProblem(line, "id", f"station {station_id} is already updated on "
                                             f"line {updated_on[station_id]}", "updated_twice",
                                 {"id": station_id, "other": updated_on[station_id]})]
    updated_on[station_id] = line
    return by_id[station_id], []


def _station(fields: dict[str, object], current: Station | None, region: str) -> Station:
    """Make the station a row describes.

    Fields the row did not give keep the current station's values, or for a new station the
    Station defaults (with blank placeholders for the name, kind and coordinates, whose absence
    the caller reports).

    Args:
        fields: the row's fields.
        current: the station the row updates, or None.
        region: the region.

    Returns:
        The station.
    """
    base = current or Station(name="", region=region, kind="", lon=0.0, lat=0.0)
    return dataclasses.replace(base, region=region, **fields)


def _duplicates(fields: dict[str, object],
                named: dict[str, list[tuple[float, float, int | None, dict[str, object]]]],
                line: int
                ) -> list[RowProblem]:
    """Find stations of the same name within :data:`geo.rules.DUPLICATE_RADIUS_M` of a row's.

    Args:
        fields: the row's fields, with ``name``, ``lon`` and ``lat``; a row with an ``id`` is
            not a duplicate of the station with that id.
        named: name key -> (lon, lat, id, where) of existing stations (where: their ``id``
            and name as ``other``) and earlier rows (where: their ``line``).
        line: the row's line.

    Returns:
        One problem for the nearest duplicate, or none.
    """
    own_id = fields.get("id")
    near = nearest_duplicate(fields["lon"], fields["lat"], (
        (lon, lat, where)
        for lon, lat, station_id, where in named.get(name_key(fields["name"]), [])
        if own_id is None or station_id != own_id))
    if near is None:
        return []
    distance, where = near
    told = (f"line {where['line']}" if "line" in where
            else f"station {where['id']} {where['other']!r}")
    return [RowProblem(line, "name", f"duplicate: {fields['name']!r} is {distance:.0f} m from "
                                     f"{told} of the same name",
                       "duplicate_line" if "line" in where else "duplicate",
                       {"name": fields["name"], "metres": f"{distance:.0f}", **where})]


def _cell_problem(line: int, column: str, error: CellError) -> RowProblem:
    """The problem of a cell that cannot be read.

    Args:
        line: the row's line.
        column: the cell's column.
        error: what the cell reader said.

    Returns:
        The problem, with the reader's code and data.
    """
    return RowProblem(line, column, str(error), error.code, error.params)


def _invalid(station: Station, line: int, field: str, message: str) -> RowProblem:
    """The problem of a value that :func:`geo.stations.validate_station` refuses.

    Args:
        station: the station the row describes.
        line: the row's line.
        field: the field refused.
        message: the refusal.

    Returns:
        The problem: ``invalid`` for text with a forbidden character, else by field
        (``phone``, ``capacity``, ``hours``, ``range``, ``missing``; ``invalid`` for others).
    """
    value = getattr(station, field)
    codes = {"phone": "phone", "capacity": "capacity", "opening_hours": "hours",
             "lon": "range", "lat": "range", "name": "missing"}
    if isinstance(value, str) and text_problem(value):
        return RowProblem(line, field, message, "invalid", {"detail": text_problem(value)})
    return RowProblem(line, field, message, codes.get(field, "invalid"),
                      {"value": "" if value is None else str(value), "detail": message})


def _written_hours(raw: object) -> str:
    """Opening hours as a row wrote them, as text."""
    return "" if is_blank(raw) else clean_text(str(raw))


def _fields_of(problems: list[RowProblem]) -> set[str]:
    """The fields some problems are about.

    Args:
        problems: the problems.

    Returns:
        Their fields.
    """
    return {problem.field for problem in problems}


