"""Station records in bulk: reading the station lists staff keep in Excel, CSV or GeoJSON, and
exporting stations to CSV, Excel, GeoJSON and GeoPackage.

Reading never writes anything. :func:`read_station_file` turns a file into an
:class:`ImportPlan`: the rows that are good, as :class:`~geo.stations.Station` objects, and a
:class:`RowProblem` for every bad cell, with the line a person sees in the file, the column and
the reason. The caller decides what to do with the plan (show it as a dry run, or store the
stations). CSV and Excel files are read row by row and only the first problems are kept (with a
count of the rest), so a large file of bad rows takes little memory; GeoJSON is read whole.

A file's columns are the canonical ids of :data:`COLUMNS` (matched ignoring case, spaces, ``-``
and ``_``) or the Chinese headers of :data:`CHINESE_HEADERS`; other columns are ignored. Kinds,
statuses, levels and amenities may be written as ids or as the Chinese or English names of the
vocabularies in :mod:`geo.stations`. Coordinates may be in any datum of :mod:`geo.coords` and are
stored in WGS-84.

Every export carries the data attribution and the ``demo`` flag of every station. CSV is UTF-8
with a byte-order mark, so that Excel shows Chinese text; CSV, Excel and GeoJSON exports read
back as the same stations.
"""

from __future__ import annotations

import codecs
import csv
import dataclasses
import io
import json
import math
import re
import unicodedata
import zipfile
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import date, datetime
from functools import partial
from pathlib import PurePath
from typing import BinaryIO

import geopandas as gpd
import pandas as pd
from openpyxl import Workbook, load_workbook
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from openpyxl.styles import Font
from openpyxl.utils.exceptions import InvalidFileException

from geo.coords import to_wgs84
from geo.export import csv_text, csv_text_read, geopackage_bytes
from geo.geojson import station_feature
from geo.stations import AMENITIES, KINDS, LEVELS, STATUSES, Station, validate_station
from geo.store import EARTH_RADIUS_M

#: The canonical columns of a station file, in the order exports write them.
COLUMNS: tuple[str, ...] = (
    "id", "name", "kind", "status", "lon", "lat", "datum", "address", "host", "union", "level",
    "amenities", "opening_hours", "phone", "capacity", "smart_24h", "verified_on", "notes", "demo",
)

#: Chinese header -> canonical column.
CHINESE_HEADERS: dict[str, str] = {
    "编号": "id",
    "名称": "name",
    "类型": "kind",
    "状态": "status",
    "经度": "lon",
    "纬度": "lat",
    "坐标系": "datum",
    "地址": "address",
    "所在单位": "host",
    "工会": "union",
    "级别": "level",
    "设施": "amenities",
    "开放时间": "opening_hours",
    "电话": "phone",
    "容纳人数": "capacity",
    "24小时智能驿站": "smart_24h",
    "核实日期": "verified_on",
    "备注": "notes",
    "演示数据": "demo",
}

#: The extra column of CSV and Excel exports that carries the data attribution on every row;
#: the importer ignores it.
ATTRIBUTION_COLUMN: str = "data_attribution"

#: Datum names accepted in a ``datum`` column or as the default, keyed as :func:`_key` folds
#: them (so "WGS-84", "wgs 84" and "WGS84" are all ``wgs84``) -> datum of :mod:`geo.coords`.
DATUM_NAMES: dict[str, str] = {
    "wgs84": "wgs84",
    "gps": "wgs84",
    "gcj02": "gcj02",
    "高德": "gcj02",
    "bd09": "bd09",
    "百度": "bd09",
}

#: Words accepted for a yes/no column, keyed as :func:`_key` folds them.
BOOLEAN_WORDS: dict[str, bool] = {
    "true": True, "false": False, "yes": True, "no": False, "1": True, "0": False,
    "是": True, "否": False,
}

#: What may separate amenities in one cell.
AMENITY_SEPARATORS: re.Pattern[str] = re.compile(r"[,，;；、|]")

#: How amenities are joined in CSV, Excel and GeoPackage exports (ids, so round trips are exact).
EXPORT_AMENITY_SEPARATOR: str = ";"

#: Two stations of the same name closer than this are duplicates.
DUPLICATE_RADIUS_M: float = 50.0

#: How far outside the region bounds a station may lie.
REGION_MARGIN_M: float = 2000.0

#: File name endings the importer reads.
IMPORT_SUFFIXES: tuple[str, ...] = (".csv", ".xlsx", ".geojson", ".json")

#: How many problems a check of a station file lists by default; the rest are counted.
IMPORT_PROBLEM_LIMIT: int = 200

#: Bytes read at a time when a CSV file is checked for its encoding.
_CHUNK_BYTES: int = 1 << 20

#: Formats :func:`export_stations` writes.
EXPORT_FORMATS: tuple[str, ...] = ("csv", "xlsx", "geojson", "gpkg")

#: Name of the GeoPackage layer and of the Excel sheet with the stations.
LAYER_NAME: str = "stations"

#: Name of the Excel sheet with the attribution and the vocabularies.
ABOUT_SHEET: str = "about"

#: Vocabulary columns: column -> (id -> (Chinese name, English name)).
VOCABULARIES: dict[str, dict[str, tuple[str, str]]] = {
    "kind": KINDS, "status": STATUSES, "level": LEVELS, "amenities": AMENITIES,
}

#: Vocabulary columns a row may leave blank: a new station then gets the Station default, an
#: updated one keeps its value.
OPTIONAL_TERMS: frozenset[str] = frozenset({"kind", "status", "level"})

#: Invisible characters that are not Unicode format characters (category ``Cf``, all of which
#: are removed too) and so are removed from station text by name: the Hangul fillers, the
#: combining grapheme joiner and the variation selectors. With the format characters (the
#: zero-width space and joiners, the soft hyphen, the byte-order mark, the bidirectional
#: marks, embeddings, overrides and isolates, the tag characters) they change nothing a reader
#: sees, or make a name read differently from how it is stored.
INVISIBLE_CHARACTERS: frozenset[str] = frozenset(
    "\u115f\u1160\u3164\uffa0\u034f"
    + "".join(map(chr, range(0xFE00, 0xFE10)))
    + "".join(map(chr, range(0xE0100, 0xE01F0)))
)

#: Free-text columns.
TEXT_COLUMNS: frozenset[str] = frozenset({
    "name", "address", "host", "union", "opening_hours", "phone", "notes",
})


class RecordsError(ValueError):
    """A station file is empty or cannot be read at all."""


@dataclass(frozen=True)
class RowProblem:
    """One thing wrong with one row of a station file.

    Attributes:
        line: the line a person sees: the file line for CSV (the header is line 1), the sheet
            row for Excel, the feature number (from 1) for GeoJSON.
        field: the canonical column (``geometry`` for a GeoJSON feature's geometry).
        message: what is wrong, naming the bad value.
    """

    line: int
    field: str
    message: str


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
    """

    stations: list[Station]
    problems: list[RowProblem]
    rows: int
    more_problems: int = 0

    @property
    def problem_count(self) -> int:
        """How many problems were found, listed or not."""
        return len(self.problems) + self.more_problems


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


@dataclass(frozen=True)
class _Table:
    """The raw cells of a station file, before any value is read.

    Attributes:
        header_line: the line of the header (of the first feature for GeoJSON).
        headers: the column headers as written.
        rows: (line, cells in header order, GeoJSON geometry or None) per data row, read
            once as they are needed.
        spatial: whether coordinates come from each row's geometry (GeoJSON) rather than from
            ``lon`` and ``lat`` columns.
    """

    header_line: int
    headers: list[str]
    rows: Iterable[tuple[int, list[object], object]]
    spatial: bool


def read_station_file(
    data: bytes | BinaryIO,
    filename: str,
    region: str,
    existing: list[Station],
    default_datum: str = "wgs84",
    region_bounds: tuple[float, float, float, float] | None = None,
    problem_limit: int = IMPORT_PROBLEM_LIMIT,
) -> ImportPlan:
    """Read a station file and check every row, without storing anything.

    A row with an ``id`` updates the existing station of that id; columns the file lacks keep
    the station's values, and blank ``kind``, ``status`` or ``level`` cells keep them too. A row
    without an ``id`` is a new station; blank ``status`` and ``level`` cells take the
    :class:`~geo.stations.Station` defaults. Every other blank cell is an empty value.

    Args:
        data: the file's bytes, or the file open for binary reading (it must be seekable).
        filename: the file's name; its ending picks the format: ``.csv`` (UTF-8, with or
            without a byte-order mark, else GB18030), ``.xlsx`` (the first sheet, the header in
            its first row) or ``.geojson``/``.json`` (Point features, properties as columns).
        region: the region the stations belong to.
        existing: the stations already stored, to find updated stations and duplicates.
        default_datum: the datum of rows without a ``datum`` value; any name of
            :data:`DATUM_NAMES`.
        region_bounds: ``(min_lon, min_lat, max_lon, max_lat)`` in WGS-84; stations more than
            :data:`REGION_MARGIN_M` outside are refused. None accepts any place.
        problem_limit: how many problems the plan lists; the rest are only counted.

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
    datum = _datum(default_datum)
    table = _read_table(io.BytesIO(data) if isinstance(data, bytes) else data, filename)
    columns, header_problems = _columns(table)
    problems = _Problems(problem_limit)
    problems.add(header_problems)
    missing = _missing_columns(table, columns)
    if missing:
        problems.add(missing)
        return ImportPlan([], problems.listed, sum(1 for _ in table.rows), problems.more)
    by_id = {station.id: station for station in existing if station.id is not None}
    named: dict[str, list[tuple[float, float, int | None, str]]] = {}
    for station in existing:
        named.setdefault(name_key(station.name), []).append(
            (station.lon, station.lat, station.id, f"station {station.id} {station.name!r}")
        )
    updated_on: dict[int, int] = {}
    stations: list[Station] = []
    rows = 0
    for line, cells, geometry in table.rows:
        rows += 1
        values = {column: cells[index] if index < len(cells) else None
                  for column, index in columns.items()}
        fields, row_problems = _row_fields(values, geometry, table.spatial, line, datum,
                                           region_bounds)
        current, id_problem = _current_station(fields, by_id, updated_on, line)
        row_problems += id_problem
        if _blank(values.get("id")) and "kind" not in {*fields, *_fields_of(row_problems)}:
            row_problems.append(RowProblem(line, "kind", "kind is missing"))
        station = _station(fields, current, region)
        reported = _fields_of(row_problems)
        row_problems += [RowProblem(line, field, message)
                         for field, message in validate_station(station).items()
                         if field in fields and field not in reported]
        if "name" in fields and "lon" in fields:
            row_problems += _duplicates(fields, named, line)
            named.setdefault(name_key(fields["name"]), []).append(
                (fields["lon"], fields["lat"], fields.get("id"), f"line {line}")
            )
        problems.add(row_problems)
        if not row_problems:
            stations.append(station)
    return ImportPlan(stations, problems.listed, rows, problems.more)


def export_stations(stations: list[Station], fmt: str, attribution: str) -> bytes:
    """Write stations to a file in one of :data:`EXPORT_FORMATS`.

    ``csv``: UTF-8 with a byte-order mark, the canonical :data:`COLUMNS` and
    :data:`ATTRIBUTION_COLUMN`. ``xlsx``: the same columns in a sheet ``stations`` (bold header,
    typed cells), and a sheet ``about`` with the attribution and the vocabularies in Chinese and
    English. ``geojson``: a FeatureCollection of Points with every field as a property and an
    ``attribution`` member. ``gpkg``: a GeoPackage layer ``stations`` whose description is the
    attribution. Amenities are ids; coordinates are WGS-84.

    Args:
        stations: the stations to write.
        fmt: one of :data:`EXPORT_FORMATS`.
        attribution: the data attribution the file carries.

    Returns:
        The file's bytes.

    Raises:
        ValueError: unknown format.
    """
    if fmt == "csv":
        return _csv_bytes(stations, attribution)
    if fmt == "xlsx":
        return _xlsx_bytes(stations, attribution)
    if fmt == "geojson":
        return _geojson_bytes(stations, attribution)
    if fmt == "gpkg":
        return _gpkg_bytes(stations, attribution)
    raise ValueError(f"unknown export format {fmt!r}; use one of {', '.join(EXPORT_FORMATS)}")


# --- reading files ---------------------------------------------------------------------------

def _read_table(file: BinaryIO, filename: str) -> _Table:
    """Read the raw cells of a station file, by its file name ending.

    Args:
        file: the file, open for binary reading.
        filename: the file's name.

    Returns:
        The table; reading its rows raises :class:`RecordsError` when there are none.

    Raises:
        RecordsError: empty, unknown type, or unreadable.
    """
    suffix = PurePath(filename).suffix.lower()
    if suffix not in IMPORT_SUFFIXES:
        hint = "; save Excel 97-2003 .xls files as .xlsx" if suffix == ".xls" else ""
        raise RecordsError(f"{filename}: cannot read {suffix or 'files without an ending'!r}; "
                           f"use {', '.join(IMPORT_SUFFIXES)}{hint}")
    if _blank_file(file):
        raise RecordsError(f"{filename} is empty")
    if suffix == ".csv":
        table = _csv_table(file, filename)
    elif suffix == ".xlsx":
        table = _xlsx_table(file, filename)
    else:
        table = _geojson_table(file.read(), filename)
    return dataclasses.replace(table, rows=_some_rows(table.rows, filename))


def _blank_file(file: BinaryIO) -> bool:
    """Tell whether a file holds nothing but whitespace (and a UTF-8 byte-order mark), reading
    it only as far as its first other byte.

    Args:
        file: the file, open for binary reading at its start; it is left there.

    Returns:
        True if it is blank.
    """
    try:
        chunk = file.read(_CHUNK_BYTES).removeprefix(codecs.BOM_UTF8)
        while chunk and not chunk.strip():
            chunk = file.read(_CHUNK_BYTES)
        return not chunk
    finally:
        file.seek(0)


def _some_rows(rows: Iterable[tuple[int, list[object], object]], filename: str
               ) -> Iterator[tuple[int, list[object], object]]:
    """Pass a table's rows on, and refuse a table that has none once they are read.

    Args:
        rows: the rows.
        filename: the file's name, for the message.

    Yields:
        The rows.

    Raises:
        RecordsError: there were no rows.
    """
    empty = True
    for row in rows:
        empty = False
        yield row
    if empty:
        raise RecordsError(f"{filename} is empty: it has no station rows")


def _csv_table(file: BinaryIO, filename: str) -> _Table:
    """Read a CSV file: UTF-8 (with or without a byte-order mark), else GB18030.

    Args:
        file: the file, open for binary reading.
        filename: the file's name, for messages.

    Returns:
        The table, its rows read from the file as they are needed; blank lines are skipped,
        a quoted cell may span lines, and the ``'`` an export puts before text that starts
        like a formula is dropped (:func:`geo.export.csv_text_read`).

    Raises:
        RecordsError: not text in either encoding, binary, or not CSV (also while the rows
            are read).
    """
    text = io.TextIOWrapper(file, encoding=_csv_encoding(file, filename), newline="")
    reader = csv.reader(text)

    def records() -> Iterator[tuple[int, list[object], object]]:
        last_line = 0
        try:
            for record in reader:
                line, last_line = last_line + 1, reader.line_num
                if any(cell.strip() for cell in record):
                    yield line, [csv_text_read(cell) for cell in record], None
        except csv.Error as error:
            raise RecordsError(f"{filename} is not a readable CSV file: {error} "
                               f"(line {reader.line_num})") from error
        finally:
            text.detach()  # the caller's file stays open

    return _header_and_rows(records(), filename, lambda cell: cell)


def _csv_encoding(file: BinaryIO, filename: str) -> str:
    """Find a CSV file's encoding: UTF-8 (a byte-order mark dropped) if the whole file is
    UTF-8, else GB18030; reads the file once, a chunk at a time.

    Args:
        file: the file, open for binary reading at its start; it is left there.
        filename: the file's name, for messages.

    Returns:
        ``utf-8-sig`` or ``gb18030``.

    Raises:
        RecordsError: the file holds NUL bytes, or is neither encoding.
    """
    decoders = {name: codecs.getincrementaldecoder(name)() for name in ("utf-8-sig", "gb18030")}
    for chunk in iter(lambda: file.read(_CHUNK_BYTES), b""):
        if b"\x00" in chunk:
            raise RecordsError(f"{filename} is not a CSV text file (it holds NUL bytes: binary "
                               "data or UTF-16); save it from Excel as 'CSV UTF-8'")
        decoders = {name: d for name, d in decoders.items() if _decodes(d, chunk, final=False)}
    file.seek(0)
    fitting = [name for name, d in decoders.items() if _decodes(d, b"", final=True)]
    if not fitting:
        raise RecordsError(f"{filename} is neither UTF-8 nor GB18030 text")
    return fitting[0]


def _decodes(decoder: codecs.IncrementalDecoder, chunk: bytes, final: bool) -> bool:
    """Feed a chunk to an incremental decoder and tell whether it took it.

    Args:
        decoder: the decoder.
        chunk: the next bytes.
        final: whether they are the last.

    Returns:
        False if the bytes are not in the decoder's encoding.
    """
    try:
        decoder.decode(chunk, final)
    except UnicodeDecodeError:
        return False
    return True


def _decode(data: bytes, filename: str) -> str:
    """Decode text as UTF-8 (a byte-order mark dropped), else as GB18030.

    Args:
        data: the bytes.
        filename: the file's name, for messages.

    Returns:
        The text.

    Raises:
        RecordsError: the bytes are neither.
    """
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        pass
    try:
        return data.decode("gb18030")
    except UnicodeDecodeError as error:
        raise RecordsError(f"{filename} is neither UTF-8 nor GB18030 text") from error


def _xlsx_table(file: BinaryIO, filename: str) -> _Table:
    """Read the first sheet of an Excel workbook; its first non-blank row is the header.

    Formulas are read as the values Excel last computed.

    Args:
        file: the file, open for binary reading.
        filename: the file's name, for messages.

    Returns:
        The table, lines being sheet row numbers, its rows read from the sheet as they are
        needed.

    Raises:
        RecordsError: not an .xlsx workbook (also while the rows are read: a damaged sheet).
    """
    try:
        book = load_workbook(file, read_only=True, data_only=True)
    except (zipfile.BadZipFile, InvalidFileException, KeyError, OSError, ValueError) as error:
        raise RecordsError(f"{filename} is not a readable Excel (.xlsx) workbook: "
                           f"{error}") from error

    def records() -> Iterator[tuple[int, list[object], object]]:
        line = 0
        try:
            sheet = book.worksheets[0]
            sheet.reset_dimensions()
            for line, record in enumerate(sheet.iter_rows(min_row=1, values_only=True),
                                          start=1):
                if not all(_blank(cell) for cell in record):
                    yield line, list(record), None
        except Exception as error:  # a damaged sheet fails inside openpyxl in many ways
            raise RecordsError(f"{filename} is not a readable Excel (.xlsx) workbook: its "
                               f"sheet is damaged after row {line} ({error})") from error
        finally:
            book.close()

    return _header_and_rows(records(), filename,
                            lambda cell: "" if cell is None else str(cell))


def _header_and_rows(records: Iterator[tuple[int, list[object], object]], filename: str,
                     header_text: Callable[[object], str]) -> _Table:
    """Make a table of a sheet's non-blank records: the first is the header.

    Args:
        records: (line, cells, None) per non-blank record, read as they are needed.
        filename: the file's name, for messages.
        header_text: turns a header cell into its text.

    Returns:
        The table; its rows are the rest of ``records``.

    Raises:
        RecordsError: there is no header.
    """
    first = next(records, None)
    if first is None:
        raise RecordsError(f"{filename} is empty")
    line, cells, _ = first
    return _Table(line, [header_text(cell) for cell in cells], records, spatial=False)


def _geojson_table(data: bytes, filename: str) -> _Table:
    """Read a GeoJSON FeatureCollection (or one Feature): properties as columns.

    Args:
        data: the file's bytes.
        filename: the file's name, for messages.

    Returns:
        The table, lines being feature numbers from 1; headers are every property name in
        order of first appearance.

    Raises:
        RecordsError: not JSON, nested too deeply, not a FeatureCollection or Feature, or a
            feature whose properties are not an object.
    """
    try:
        body = json.loads(_decode(data, filename))
    except json.JSONDecodeError as error:
        raise RecordsError(f"{filename} is not valid JSON: {error}") from error
    except RecursionError as error:
        raise RecordsError(f"{filename} nests arrays and objects too deeply to be "
                           f"GeoJSON") from error
    if isinstance(body, dict) and body.get("type") == "Feature":
        features = [body]
    elif (isinstance(body, dict) and body.get("type") == "FeatureCollection"
          and isinstance(body.get("features"), list)):
        features = body["features"]
    else:
        raise RecordsError(f"{filename} is not a GeoJSON FeatureCollection")
    properties = [
        (f.get("properties") if isinstance(f, dict) else None) or {} for f in features
    ]
    for number, p in enumerate(properties, start=1):
        if not isinstance(p, dict):
            raise RecordsError(f"{filename}: feature {number}'s properties are not an object")
    headers = list(dict.fromkeys(key for p in properties for key in p))
    rows: list[tuple[int, list[object], object]] = [
        (number, [p.get(header) for header in headers],
         feature.get("geometry") if isinstance(feature, dict) else None)
        for number, (feature, p) in enumerate(zip(features, properties, strict=True), start=1)
    ]
    return _Table(1, headers, rows, spatial=True)


def _columns(table: _Table) -> tuple[dict[str, int], list[RowProblem]]:
    """Match a table's headers to canonical columns.

    Args:
        table: the table.

    Returns:
        Canonical column -> cell index, and a problem for every column with two headers (the
        first is read).
    """
    lookup = {_key(column): column for column in COLUMNS}
    lookup |= {_key(header): column for header, column in CHINESE_HEADERS.items()}
    columns: dict[str, int] = {}
    problems: list[RowProblem] = []
    for index, header in enumerate(table.headers):
        column = lookup.get(_key(header))
        if column is None:
            continue
        if column in columns:
            first = table.headers[columns[column]]
            problems.append(RowProblem(table.header_line, column,
                                       f"two columns hold {column}: {first!r} and {header!r}; "
                                       f"only {first!r} is read"))
        else:
            columns[column] = index
    return columns, problems


def _missing_columns(table: _Table, columns: dict[str, int]) -> list[RowProblem]:
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
                   f"missing column {column!r} (header {column!r} or {chinese[column]!r})")
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
        if column in ("lon", "lat", "datum") or (column in OPTIONAL_TERMS and _blank(raw)):
            continue
        try:
            fields[column] = _CELL_READERS[column](raw)
        except ValueError as error:
            problems.append(RowProblem(line, column, str(error)))
    if "name" in fields and not fields["name"]:
        del fields["name"]
        problems.append(RowProblem(line, "name", "name is missing"))
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
    if not _blank(values.get("datum")):
        try:
            datum = _datum(values["datum"])
        except ValueError as error:
            problems.append(RowProblem(line, "datum", str(error)))
    if spatial:
        lon_field = lat_field = "geometry"
        try:
            lon, lat = _point(geometry)
        except ValueError as error:
            return None, [RowProblem(line, "geometry", str(error)), *problems]
    else:
        lon_field, lat_field = "lon", "lat"
        parsed = []
        for column, label in (("lon", "longitude"), ("lat", "latitude")):
            try:
                parsed.append(_coordinate(values[column], label))
            except ValueError as error:
                problems.append(RowProblem(line, column, str(error)))
        if problems:
            return None, problems
        lon, lat = parsed
    swapped = " (are longitude and latitude swapped?)" if abs(lon) <= 90 < abs(lat) <= 180 else ""
    if not -180 <= lon <= 180:
        problems.append(RowProblem(line, lon_field, f"longitude {lon!r} is outside [-180, 180]"))
    if not -90 <= lat <= 90:
        problems.append(RowProblem(line, lat_field,
                                   f"latitude {lat!r} is outside [-90, 90]{swapped}"))
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
    """Say whether a point lies more than :data:`REGION_MARGIN_M` outside the region bounds.

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
    min_lon, min_lat, max_lon, max_lat = bounds
    nearest_lon, nearest_lat = min(max(lon, min_lon), max_lon), min(max(lat, min_lat), max_lat)
    distance = _distance_m(lon, lat, nearest_lon, nearest_lat)
    if distance <= REGION_MARGIN_M:
        return None
    return RowProblem(
        line, lon_field if nearest_lon != lon else lat_field,
        f"the station at WGS-84 ({lon:.6f}, {lat:.6f}) is {distance / 1000:.1f} km outside the "
        f"region ({min_lon:g}–{max_lon:g} E, {min_lat:g}–{max_lat:g} N)",
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
        return None, [RowProblem(line, "id", f"unknown id {station_id}: no such station")]
    if station_id in updated_on:
        return None, [RowProblem(line, "id", f"station {station_id} is already updated on "
                                             f"line {updated_on[station_id]}")]
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
                named: dict[str, list[tuple[float, float, int | None, str]]], line: int
                ) -> list[RowProblem]:
    """Find stations of the same name within :data:`DUPLICATE_RADIUS_M` of a row's.

    Args:
        fields: the row's fields, with ``name``, ``lon`` and ``lat``; a row with an ``id`` is
            not a duplicate of the station with that id.
        named: name key -> (lon, lat, id, description) of existing stations and earlier rows.
        line: the row's line.

    Returns:
        One problem for the nearest duplicate, or none.
    """
    own_id = fields.get("id")
    found = [
        (_distance_m(fields["lon"], fields["lat"], lon, lat), where)
        for lon, lat, station_id, where in named.get(name_key(fields["name"]), [])
        if own_id is None or station_id != own_id
    ]
    near = [(distance, where) for distance, where in found if distance <= DUPLICATE_RADIUS_M]
    if not near:
        return []
    distance, where = min(near)
    return [RowProblem(line, "name", f"duplicate: {fields['name']!r} is {distance:.0f} m from "
                                     f"{where} of the same name")]


def _fields_of(problems: list[RowProblem]) -> set[str]:
    """The fields some problems are about.

    Args:
        problems: the problems.

    Returns:
        Their fields.
    """
    return {problem.field for problem in problems}


# --- reading cells ---------------------------------------------------------------------------

def _key(text: str) -> str:
    """Fold a header or term for lookup: NFKC, case folded, without spaces, ``-`` and ``_``.

    Args:
        text: the text.

    Returns:
        The folded text.
    """
    return re.sub(r"[\s\-_]", "", unicodedata.normalize("NFKC", str(text)).casefold())


def clean_text(text: str) -> str:
    """Normalise station text before it is checked and stored: composed (NFC), without format
    characters (Unicode category ``Cf``) and the other invisible characters of
    :data:`INVISIBLE_CHARACTERS`, surrounding whitespace stripped.
    Full-width punctuation stays as written: ``（演示）`` is how a Chinese clerk writes it.

    Args:
        text: the text as submitted.

    Returns:
        The text as stored.
    """
    visible = "".join(character for character in text
                      if character not in INVISIBLE_CHARACTERS
                      and unicodedata.category(character) != "Cf")
    return unicodedata.normalize("NFC", visible).strip()


def name_key(name: str) -> str:
    """The form of a station name that duplicates are compared in: cleaned by
    :func:`clean_text`, then compatibility-folded (NFKC: ``ＡＢＣ`` is ``ABC``, ``（`` is
    ``(``) and case-folded, without any whitespace.

    Args:
        name: the name.

    Returns:
        The key; two names with the same key are the same name.
    """
    return "".join(unicodedata.normalize("NFKC", clean_text(name)).casefold().split())


def _blank(value: object) -> bool:
    """Tell whether a cell is empty.

    Args:
        value: a raw cell value.

    Returns:
        True for None, blank text and an empty list.
    """
    return value is None or value == [] or (isinstance(value, str) and not value.strip())


def _text(value: object) -> str:
    """Read a free-text cell.

    Args:
        value: the raw cell; numbers are written without a needless ``.0`` (Excel stores
            digits-only cells such as phone numbers as numbers).

    Returns:
        The text cleaned by :func:`clean_text`; blank for an empty cell.

    Raises:
        ValueError: not text or a number.
    """
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, str | int | float) and not isinstance(value, bool):
        return clean_text(str(value))
    raise ValueError(f"expected text, got {value!r}")


def _term(column: str, value: object) -> str:
    """Read a vocabulary cell: an id, a Chinese or an English name.

    Args:
        column: ``kind``, ``status`` or ``level``.
        value: the raw cell.

    Returns:
        The id.

    Raises:
        ValueError: blank or unknown, naming the value and the vocabulary.
    """
    if _blank(value):
        raise ValueError(f"{column} is missing")
    found = _TERMS[column].get(_key(value)) if isinstance(value, str) else None
    if found is None:
        raise ValueError(f"unknown {column} {value!r}; use one of {_choices(column)}")
    return found


def _amenities(value: object) -> tuple[str, ...]:
    """Read an amenities cell: terms separated by :data:`AMENITY_SEPARATORS`, or a JSON list.

    Args:
        value: the raw cell.

    Returns:
        The amenity ids, in the order given, each once.

    Raises:
        ValueError: a term is unknown (every unknown one is named).
    """
    if _blank(value):
        return ()
    if isinstance(value, list):
        terms = [str(item).strip() for item in value]
    elif isinstance(value, str):
        terms = [term.strip() for term in AMENITY_SEPARATORS.split(value)]
    else:
        raise ValueError(f"amenities must be text, got {value!r}")
    terms = [term for term in terms if term]
    unknown = [term for term in terms if _key(term) not in _TERMS["amenities"]]
    if unknown:
        noun = "amenity" if len(unknown) == 1 else "amenities"
        raise ValueError(f"unknown {noun} {', '.join(map(repr, unknown))}; use one of "
                         f"{_choices('amenities')}")
    return tuple(dict.fromkeys(_TERMS["amenities"][_key(term)] for term in terms))


def _choices(column: str) -> str:
    """List a vocabulary for a message.

    Args:
        column: a column of :data:`VOCABULARIES`.

    Returns:
        ``id (Chinese name)`` for every term, comma-separated.
    """
    return ", ".join(f"{term} ({names[0]})" for term, names in VOCABULARIES[column].items())


def _datum(value: object) -> str:
    """Read a datum name.

    Args:
        value: a name of :data:`DATUM_NAMES`, e.g. ``"GCJ-02"`` or ``"百度"``.

    Returns:
        ``wgs84``, ``gcj02`` or ``bd09``.

    Raises:
        ValueError: unknown datum.
    """
    datum = DATUM_NAMES.get(_key(value)) if isinstance(value, str) else None
    if datum is None:
        raise ValueError(f"unknown datum {value!r}; use wgs84 (WGS-84, GPS), gcj02 (GCJ-02, 高德) "
                         "or bd09 (BD-09, 百度)")
    return datum


def _coordinate(value: object, label: str) -> float:
    """Read a longitude or latitude cell.

    Args:
        value: the raw cell.
        label: ``longitude`` or ``latitude``, for messages.

    Returns:
        The number (its range is checked by the caller).

    Raises:
        ValueError: blank, not a number, or not finite.
    """
    if _blank(value):
        raise ValueError(f"{label} is missing")
    try:
        number = _number(value)
    except ValueError:
        raise ValueError(f"{label} must be a number, got {value!r}") from None
    return number


def _number(value: object) -> float:
    """Read a finite number from a number or text cell.

    Args:
        value: the raw cell.

    Returns:
        The number.

    Raises:
        ValueError: not a finite number.
    """
    if isinstance(value, bool):
        raise ValueError(value)
    number = float(value.strip()) if isinstance(value, str) else value
    if not isinstance(number, int | float) or not math.isfinite(number):
        raise ValueError(value)
    return float(number)


def _whole(column: str, value: object) -> int | None:
    """Read a whole-number cell (``id``, ``capacity``).

    Args:
        column: the column, for messages.
        value: the raw cell.

    Returns:
        The number, or None for a blank cell.

    Raises:
        ValueError: not a whole number.
    """
    if _blank(value):
        return None
    try:
        number = _number(value)
    except ValueError:
        number = math.nan
    if not number.is_integer():
        raise ValueError(f"{column} must be a whole number, got {value!r}")
    return int(number)


def _boolean(column: str, value: object) -> bool:
    """Read a yes/no cell.

    Args:
        column: the column, for messages.
        value: the raw cell: a boolean, 1/0, or a word of :data:`BOOLEAN_WORDS`.

    Returns:
        The value; False for a blank cell.

    Raises:
        ValueError: anything else.
    """
    if _blank(value):
        return False
    if isinstance(value, bool):
        return value
    if isinstance(value, int | float) and value in (0, 1):
        return bool(value)
    found = BOOLEAN_WORDS.get(_key(value)) if isinstance(value, str) else None
    if found is None:
        raise ValueError(f"{column} must be true/false, yes/no, 1/0 or 是/否, got {value!r}")
    return found


def _date(column: str, value: object) -> date | None:
    """Read a date cell: an Excel date, or text ``YYYY-MM-DD`` (``YYYY/MM/DD`` too).

    Args:
        column: the column, for messages.
        value: the raw cell.

    Returns:
        The date, or None for a blank cell.

    Raises:
        ValueError: not a date.
    """
    if _blank(value):
        return None
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    match = re.fullmatch(r"(\d{4})[-/](\d{1,2})[-/](\d{1,2})", str(value).strip())
    if not match:
        raise ValueError(f"{column} must be a date YYYY-MM-DD, got {value!r}")
    try:
        return date(*map(int, match.groups()))
    except ValueError as error:
        raise ValueError(f"{column} {value!r} is not a date: {error}") from None


def _point(geometry: object) -> tuple[float, float]:
    """Read a GeoJSON Point geometry.

    Args:
        geometry: the feature's geometry.

    Returns:
        ``(lon, lat)`` as given.

    Raises:
        ValueError: missing, not a Point, or without two numbers.
    """
    if geometry is None:
        raise ValueError("geometry is missing")
    kind = geometry.get("type") if isinstance(geometry, dict) else type(geometry).__name__
    if kind != "Point":
        raise ValueError(f"geometry must be a Point, got {kind!r}")
    position = geometry.get("coordinates")
    if not isinstance(position, list) or len(position) < 2:
        raise ValueError(f"a Point needs [longitude, latitude], got {position!r}")
    try:
        return _number(position[0]), _number(position[1])
    except ValueError:
        raise ValueError(f"Point coordinates must be numbers, got {position!r}") from None


def _distance_m(lon1: float, lat1: float, lon2: float, lat2: float) -> float:
    """Great-circle distance between two points, as the store measures it.

    Args:
        lon1: first longitude in degrees.
        lat1: first latitude in degrees.
        lon2: second longitude in degrees.
        lat2: second latitude in degrees.

    Returns:
        Metres on the sphere of radius :data:`geo.store.EARTH_RADIUS_M`.
    """
    phi1, phi2 = math.radians(lat1), math.radians(lat2)
    h = (math.sin((phi2 - phi1) / 2) ** 2
         + math.cos(phi1) * math.cos(phi2) * math.sin(math.radians(lon2 - lon1) / 2) ** 2)
    return 2 * EARTH_RADIUS_M * math.asin(math.sqrt(min(h, 1.0)))


def _vocabulary_terms(vocabulary: dict[str, tuple[str, str]]) -> dict[str, str]:
    """Every way of writing the terms of a vocabulary, folded by :func:`_key`.

    Args:
        vocabulary: id -> (Chinese name, English name).

    Returns:
        Folded id, Chinese name and English name -> id.
    """
    return {
        _key(text): term
        for term, names in vocabulary.items()
        for text in (term, *names)
    }


#: Column -> folded term -> id, for the vocabulary columns.
_TERMS: dict[str, dict[str, str]] = {
    column: _vocabulary_terms(vocabulary) for column, vocabulary in VOCABULARIES.items()
}

#: How each column's cells are read (``lon``, ``lat`` and ``datum`` are read together).
_CELL_READERS: dict[str, Callable[[object], object]] = {
    **{column: _text for column in TEXT_COLUMNS},
    "id": partial(_whole, "id"),
    "kind": partial(_term, "kind"),
    "status": partial(_term, "status"),
    "level": partial(_term, "level"),
    "amenities": _amenities,
    "capacity": partial(_whole, "capacity"),
    "smart_24h": partial(_boolean, "smart_24h"),
    "demo": partial(_boolean, "demo"),
    "verified_on": partial(_date, "verified_on"),
}


# --- writing files ---------------------------------------------------------------------------

def _row(station: Station) -> list[object]:
    """A station's values in :data:`COLUMNS` order, typed (numbers, booleans, dates).

    Args:
        station: the station.

    Returns:
        The values; amenities joined by :data:`EXPORT_AMENITY_SEPARATOR`, datum ``wgs84``.
    """
    values = {
        field.name: getattr(station, field.name) for field in dataclasses.fields(Station)
    }
    values["amenities"] = EXPORT_AMENITY_SEPARATOR.join(station.amenities)
    values["datum"] = "wgs84"
    return [values[column] for column in COLUMNS]


def _csv_cell(value: object) -> str:
    """Write a value as CSV text.

    Args:
        value: a value of :func:`_row`.

    Returns:
        The text: blank for None, ``true``/``false``, ISO dates, shortest exact numbers, text
        that starts like a formula after a ``'`` (:func:`geo.export.csv_text`).
    """
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, str):
        return csv_text(value)
    return str(value)


def _csv_bytes(stations: list[Station], attribution: str) -> bytes:
    """Stations as CSV, UTF-8 with a byte-order mark.

    Args:
        stations: the stations.
        attribution: the data attribution, in :data:`ATTRIBUTION_COLUMN` of every row.

    Returns:
        The file's bytes.
    """
    text = io.StringIO()
    writer = csv.writer(text)
    writer.writerow([*COLUMNS, ATTRIBUTION_COLUMN])
    for station in stations:
        writer.writerow([*map(_csv_cell, _row(station)), csv_text(attribution)])
    return text.getvalue().encode("utf-8-sig")


def _xlsx_bytes(stations: list[Station], attribution: str) -> bytes:
    """Stations as an Excel workbook: sheet ``stations`` and sheet ``about``.

    Args:
        stations: the stations.
        attribution: the data attribution, in :data:`ATTRIBUTION_COLUMN` of every row and on
            the ``about`` sheet.

    Returns:
        The file's bytes.
    """
    book = Workbook()
    sheet = book.active
    sheet.title = LAYER_NAME
    sheet.append([*COLUMNS, ATTRIBUTION_COLUMN])
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    for station in stations:
        sheet.append([_xlsx_cell(value) for value in _row(station)] + [attribution])
        for cell in sheet[sheet.max_row]:
            if isinstance(cell.value, str):
                cell.data_type = "s"  # text, even when it starts with "="
            elif isinstance(cell.value, date):
                cell.number_format = "yyyy-mm-dd"
    sheet.freeze_panes = "A2"
    about = book.create_sheet(ABOUT_SHEET)
    about.append(["attribution", attribution])
    about.append(["demo", "demo = true: demo data, not a real station (演示数据，非真实驿站)"])
    about.append(["coordinates", "lon, lat: WGS-84 (datum wgs84)"])
    about.append([])
    about.append(["column", "id", "中文", "English"])
    for cell in about[about.max_row]:
        cell.font = Font(bold=True)
    for column, vocabulary in VOCABULARIES.items():
        for term, (chinese, english) in vocabulary.items():
            about.append([column, term, chinese, english])
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def _xlsx_cell(value: object) -> object:
    """Make a value fit for an Excel cell.

    Args:
        value: a value of :func:`_row`.

    Returns:
        The value; text without the control characters Excel files cannot hold.
    """
    return ILLEGAL_CHARACTERS_RE.sub("", value) if isinstance(value, str) else value


def _geojson_bytes(stations: list[Station], attribution: str) -> bytes:
    """Stations as a GeoJSON FeatureCollection (UTF-8, Chinese unescaped).

    Args:
        stations: the stations.
        attribution: the data attribution, as the ``attribution`` member.

    Returns:
        The file's bytes.
    """
    body = {
        "type": "FeatureCollection",
        "attribution": attribution,
        "features": [station_feature(station, datum="wgs84") for station in stations],
    }
    return json.dumps(body, ensure_ascii=False).encode("utf-8")


def _gpkg_bytes(stations: list[Station], attribution: str) -> bytes:
    """Stations as a GeoPackage layer ``stations`` in WGS-84.

    Args:
        stations: the stations.
        attribution: the data attribution, as the layer's description.

    Returns:
        The file's bytes.
    """
    rows = [_row(station) for station in stations]
    table = pd.DataFrame(rows, columns=list(COLUMNS))
    for column in ("id", "capacity"):
        table[column] = pd.array(table[column].tolist(), dtype="Int64")
    table["verified_on"] = [None if day is None else day.isoformat()
                            for day in table["verified_on"]]
    for column in ("smart_24h", "demo"):
        table[column] = table[column].astype(bool)
    layer = gpd.GeoDataFrame(
        table, geometry=gpd.points_from_xy(table["lon"], table["lat"]), crs="EPSG:4326"
    )
    return geopackage_bytes(layer, LAYER_NAME, attribution)
