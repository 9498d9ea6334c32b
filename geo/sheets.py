"""Station files as tables of raw cells: CSV (UTF-8 or GB18030), Excel (.xlsx) and GeoJSON
read into headers and rows, before any value is read (see :mod:`geo.cells`) or checked (see
:mod:`geo.records`). CSV and Excel files are read row by row; GeoJSON is read whole.
"""

from __future__ import annotations

import codecs
import csv
import dataclasses
import io
import itertools
import json
import zipfile
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import PurePath
from typing import BinaryIO

from openpyxl import load_workbook
from openpyxl.utils.exceptions import InvalidFileException

from geo.cells import fold, is_blank
from geo.export import csv_text_read
from geo.vocabulary import HEADERS

#: The canonical columns of a station file, in the order exports write them.
COLUMNS: tuple[str, ...] = (
    "id", "name", "kind", "status", "lon", "lat", "datum", "address", "host", "union", "level",
    "amenities", "opening_hours", "phone", "capacity", "smart_24h", "verified_on", "notes", "demo",
)

#: Chinese header -> canonical column (the headers Chinese exports write).
CHINESE_HEADERS: dict[str, str] = {zh: column for column, (zh, _en, _more) in HEADERS.items()}

#: Every header a column is known by, folded by :func:`geo.cells.fold` -> canonical column:
#: the column ids and the Chinese, English and other headers of :data:`geo.vocabulary.HEADERS`.
HEADER_COLUMNS: dict[str, str] = {
    fold(header): column
    for column, (zh, en, more) in HEADERS.items()
    for header in (column, zh, en, *more)
}

#: How many non-blank rows at the top of a sheet are searched for its header (title rows,
#: notes and a date often come first).
HEADER_SEARCH_ROWS: int = 10

#: File name endings the importer reads.
IMPORT_SUFFIXES: tuple[str, ...] = (".csv", ".xlsx", ".geojson", ".json")

#: Bytes read at a time when a CSV file is checked for its encoding.
_CHUNK_BYTES: int = 1 << 20


class RecordsError(ValueError):
    """A station file is empty or cannot be read at all.

    Attributes:
        code: what kind of problem it is, for a message in the reader's language:
            ``suffix``, ``empty``, ``no_rows``, ``csv``, ``binary``, ``encoding``, ``xlsx``,
            ``sheet``, ``json``, ``geojson`` or ``not_importable``.
        params: the data of the message (``file``, ``detail``, ...).
    """

    def __init__(self, message: str, code: str = "", **params: object) -> None:
        """Make the error.

        Args:
            message: the message in English.
            code: the kind of problem.
            **params: the data of the message.
        """
        super().__init__(message)
        self.code = code
        self.params = params


@dataclass(frozen=True)
class Table:
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


def read_table(file: BinaryIO, filename: str, sheet: str | None = None) -> Table:
    """Read the raw cells of a station file, by its file name ending.

    In CSV and Excel files the header is the first of the top :data:`HEADER_SEARCH_ROWS`
    non-blank rows that holds two known headers (:data:`HEADER_COLUMNS`), else the first
    non-blank row; the rows above it (a title, a date) are skipped. A header of two rows
    (cells merged across columns above their sub-headers, or down over two rows) is read as
    one: each column takes the known header of either row.

    Args:
        file: the file, open for binary reading.
        filename: the file's name.
        sheet: the name of the Excel sheet to read; None for the first.

    Returns:
        The table; reading its rows raises :class:`RecordsError` when there are none.

    Raises:
        RecordsError: empty, unknown type, or unreadable.
    """
    suffix = PurePath(filename).suffix.lower()
    if suffix not in IMPORT_SUFFIXES:
        hint = "; save Excel 97-2003 .xls files as .xlsx" if suffix == ".xls" else ""
        raise RecordsError(f"{filename}: cannot read {suffix or 'files without an ending'!r}; "
                           f"use {', '.join(IMPORT_SUFFIXES)}{hint}", "suffix", file=filename,
                           suffix=suffix, suffixes=", ".join(IMPORT_SUFFIXES))
    if _blank_file(file):
        raise RecordsError(f"{filename} is empty", "empty", file=filename)
    if suffix == ".csv":
        table = _csv_table(file, filename)
    elif suffix == ".xlsx":
        table = _xlsx_table(file, filename, sheet)
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
        raise RecordsError(f"{filename} is empty: it has no station rows", "no_rows",
                           file=filename)


def _csv_table(file: BinaryIO, filename: str) -> Table:
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
                               f"(line {reader.line_num})", "csv", file=filename,
                               line=reader.line_num, detail=str(error)) from error
        finally:
            text.detach()  # the caller's file stays open

    return _header_and_rows(records(), filename, str)  # csv cells are text already


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
                               "data or UTF-16); save it from Excel as 'CSV UTF-8'", "binary",
                               file=filename)
        decoders = {name: d for name, d in decoders.items() if _decodes(d, chunk, final=False)}
    file.seek(0)
    fitting = [name for name, d in decoders.items() if _decodes(d, b"", final=True)]
    if not fitting:
        raise RecordsError(f"{filename} is neither UTF-8 nor GB18030 text", "encoding",
                           file=filename)
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
        raise RecordsError(f"{filename} is neither UTF-8 nor GB18030 text", "encoding",
                           file=filename) from error


def _xlsx_table(file: BinaryIO, filename: str, sheet_name: str | None) -> Table:
    """Read one sheet of an Excel workbook.

    Formulas are read as the values Excel last computed.

    Args:
        file: the file, open for binary reading.
        filename: the file's name, for messages.
        sheet_name: the sheet to read; None for the first.

    Returns:
        The table, lines being sheet row numbers, its rows read from the sheet as they are
        needed.

    Raises:
        RecordsError: not an .xlsx workbook, or no sheet of that name (also while the rows
            are read: a damaged sheet).
    """
    try:
        book = load_workbook(file, read_only=True, data_only=True)
    except (zipfile.BadZipFile, InvalidFileException, KeyError, OSError, ValueError) as error:
        raise RecordsError(f"{filename} is not a readable Excel (.xlsx) workbook: "
                           f"{error}", "xlsx", file=filename, detail=str(error)) from error
    if sheet_name and sheet_name not in book.sheetnames:
        names = ", ".join(book.sheetnames)
        book.close()
        raise RecordsError(f"{filename} has no sheet {sheet_name!r}; its sheets are {names}",
                           "sheet", file=filename, sheet=sheet_name, sheets=names)

    def records() -> Iterator[tuple[int, list[object], object]]:
        line = 0
        try:
            sheet = book[sheet_name] if sheet_name else book.worksheets[0]
            sheet.reset_dimensions()
            for line, record in enumerate(sheet.iter_rows(min_row=1, values_only=True),
                                          start=1):
                if not all(is_blank(cell) for cell in record):
                    yield line, list(record), None
        except Exception as error:  # a damaged sheet fails inside openpyxl in many ways
            raise RecordsError(f"{filename} is not a readable Excel (.xlsx) workbook: its "
                               f"sheet is damaged after row {line} ({error})", "xlsx",
                               file=filename, detail=str(error)) from error
        finally:
            book.close()

    return _header_and_rows(records(), filename,
                            lambda cell: "" if cell is None else str(cell))


def _header_and_rows(records: Iterator[tuple[int, list[object], object]], filename: str,
                     header_text: Callable[[object], str]) -> Table:
    """Make a table of a sheet's non-blank records: find the header (see :func:`read_table`);
    the records below it are the rows.

    Args:
        records: (line, cells, None) per non-blank record, read as they are needed.
        filename: the file's name, for messages.
        header_text: turns a header cell into its text.

    Returns:
        The table; its rows are the records after the header.

    Raises:
        RecordsError: there is no header.
    """
    top = list(itertools.islice(records, HEADER_SEARCH_ROWS))
    if not top:
        raise RecordsError(f"{filename} is empty", "empty", file=filename)
    texts = [[header_text(cell).strip() for cell in cells] for _line, cells, _ in top]
    known = [sum(fold(text) in HEADER_COLUMNS for text in row if text) for row in texts]
    at = next((index for index, count in enumerate(known) if count >= 2), 0)
    headers = texts[at]
    below = at + 1
    if below < len(texts) and _sub_headers(texts[below]):
        headers = _merged_headers(headers, texts[below])
        below += 1
    return Table(top[at][0], headers, itertools.chain(top[below:], records), spatial=False)


def _sub_headers(texts: list[str]) -> bool:
    """Tell whether a row under a header is the second row of the header: every cell in it is
    blank or a known header, and one is.

    Args:
        texts: the row's cells as text.

    Returns:
        True if it is.
    """
    filled = [text for text in texts if text]
    return bool(filled) and all(fold(text) in HEADER_COLUMNS for text in filled)


def _merged_headers(upper: list[str], lower: list[str]) -> list[str]:
    """Join the two rows of a header: each column takes its known header in either row
    (the lower first), else the upper row's text.

    Args:
        upper: the first row (cells merged across columns hold their text in the first one).
        lower: the second row.

    Returns:
        The headers.
    """
    width = max(len(upper), len(lower))
    upper, lower = upper + [""] * (width - len(upper)), lower + [""] * (width - len(lower))
    return [below if fold(below) in HEADER_COLUMNS else above
            for above, below in zip(upper, lower, strict=True)]


def _geojson_table(data: bytes, filename: str) -> Table:
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
        raise RecordsError(f"{filename} is not valid JSON: {error}", "json", file=filename,
                           detail=str(error)) from error
    except RecursionError as error:
        raise RecordsError(f"{filename} nests arrays and objects too deeply to be "
                           f"GeoJSON", "geojson", file=filename) from error
    if isinstance(body, dict) and body.get("type") == "Feature":
        features = [body]
    elif (isinstance(body, dict) and body.get("type") == "FeatureCollection"
          and isinstance(body.get("features"), list)):
        features = body["features"]
    else:
        raise RecordsError(f"{filename} is not a GeoJSON FeatureCollection", "geojson",
                           file=filename)
    properties = [
        (f.get("properties") if isinstance(f, dict) else None) or {} for f in features
    ]
    for number, p in enumerate(properties, start=1):
        if not isinstance(p, dict):
            raise RecordsError(f"{filename}: feature {number}'s properties are not an object",
                               "geojson", file=filename)
    headers = list(dict.fromkeys(key for p in properties for key in p))
    rows: list[tuple[int, list[object], object]] = [
        (number, [p.get(header) for header in headers],
         feature.get("geometry") if isinstance(feature, dict) else None)
        for number, (feature, p) in enumerate(zip(features, properties, strict=True), start=1)
    ]
    return Table(1, headers, rows, spatial=True)


