"""Reading the cells of a station file: text, vocabulary terms (ids, Chinese or English
names and their synonyms, :mod:`geo.vocabulary`), amenities, datums, coordinates, numbers, yes/no,
dates and opening hours, each to its station value or a :class:`CellError` naming the bad value
(with a code and data, so that a page can say it in its reader's language).
"""

from __future__ import annotations

import math
import re
import unicodedata
from collections.abc import Callable
from datetime import date, datetime
from functools import partial

from geo.hours import read_hours
from geo.rules import clean_text
from geo.vocabulary import SYNONYMS, VOCABULARIES

#: Datum names accepted in a ``datum`` column or as the default, keyed as :func:`fold` folds
#: them (so "WGS-84", "wgs 84" and "WGS84" are all ``wgs84``) -> datum of :mod:`geo.coords`.
DATUM_NAMES: dict[str, str] = {
    "wgs84": "wgs84",
    "gps": "wgs84",
    "gcj02": "gcj02",
    "高德": "gcj02",
    "bd09": "bd09",
    "百度": "bd09",
}

#: Words accepted for a yes/no column, keyed as :func:`fold` folds them.
BOOLEAN_WORDS: dict[str, bool] = {
    "true": True, "false": False, "yes": True, "no": False, "1": True, "0": False,
    "是": True, "否": False,
}

#: What may separate amenities in one cell.
AMENITY_SEPARATORS: re.Pattern[str] = re.compile(r"[,，;；、|]")

#: Vocabulary columns a row may leave blank: a new station then gets the Station default, an
#: updated one keeps its value.
OPTIONAL_TERMS: frozenset[str] = frozenset({"kind", "status", "level"})

#: Free-text columns.
TEXT_COLUMNS: frozenset[str] = frozenset({
    "name", "address", "host", "union", "phone", "notes",
})


class CellError(ValueError):
    """A cell cannot be read.

    Attributes:
        code: what kind of problem it is, for a message in the reader's language:
            ``missing``, ``text``, ``term``, ``amenities``, ``datum``, ``number``, ``whole``,
            ``boolean``, ``date``, ``hours`` or ``geometry``.
        params: the data of the message (``value``: the cell as written, ``column``).
    """

    def __init__(self, message: str, code: str, **params: object) -> None:
        """Make the error.

        Args:
            message: the message in English.
            code: the kind of problem.
            **params: the data of the message.
        """
        super().__init__(message)
        self.code = code
        self.params = params

def fold(text: str) -> str:
    """Fold a header or term for lookup: NFKC, case folded, without spaces, ``-`` and ``_``.

    Args:
        text: the text.

    Returns:
        The folded text.
    """
    return re.sub(r"[\s\-_]", "", unicodedata.normalize("NFKC", str(text)).casefold())



def is_blank(value: object) -> bool:
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
        The text cleaned by :func:`geo.rules.clean_text`; blank for an empty cell.

    Raises:
        ValueError: not text or a number.
    """
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, str | int | float) and not isinstance(value, bool):
        return clean_text(str(value))
    raise CellError(f"expected text, got {value!r}", "text", value=str(value))


def _hours(value: object) -> str:
    """Read an opening-hours cell: OSM syntax, or hours as people write them
    (:func:`geo.hours.read_hours`).

    Args:
        value: the raw cell.

    Returns:
        The hours in OSM syntax; blank for an empty cell.

    Raises:
        CellError: the hours cannot be understood.
    """
    text = _text(value)
    try:
        return read_hours(text)
    except ValueError:
        raise CellError(f"cannot read opening hours {text!r}: write OSM opening_hours such as "
                        "'Mo-Fr 08:30-17:30', or '周一至周五 8:30-17:30', '每天 7:00-21:00', "
                        "'24小时'", "hours", value=text) from None


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
    if is_blank(value):
        raise CellError(f"{column} is missing", "missing", column=column)
    found = _TERMS[column].get(fold(value)) if isinstance(value, str) else None
    if found is None:
        raise CellError(f"unknown {column} {value!r}; use one of {_choices(column)}", "term",
                        column=column, value=str(value))
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
    if is_blank(value):
        return ()
    if isinstance(value, list):
        terms = [str(item).strip() for item in value]
    elif isinstance(value, str):
        terms = [term.strip() for term in AMENITY_SEPARATORS.split(value)]
    else:
        raise CellError(f"amenities must be text, got {value!r}", "text", value=str(value))
    terms = [term for term in terms if term]
    unknown = [term for term in terms if fold(term) not in _TERMS["amenities"]]
    if unknown:
        noun = "amenity" if len(unknown) == 1 else "amenities"
        raise CellError(f"unknown {noun} {', '.join(map(repr, unknown))}; use one of "
                        f"{_choices('amenities')}", "term", column="amenities",
                        value="、".join(unknown))
    return tuple(dict.fromkeys(_TERMS["amenities"][fold(term)] for term in terms))


def _choices(column: str) -> str:
    """List a vocabulary for a message.

    Args:
        column: a column of :data:`VOCABULARIES`.

    Returns:
        ``id (Chinese name)`` for every term, comma-separated.
    """
    return ", ".join(f"{term} ({names[0]})" for term, names in VOCABULARIES[column].items())


def read_datum(value: object) -> str:
    """Read a datum name.

    Args:
        value: a name of :data:`DATUM_NAMES`, e.g. ``"GCJ-02"`` or ``"百度"``.

    Returns:
        ``wgs84``, ``gcj02`` or ``bd09``.

    Raises:
        ValueError: unknown datum.
    """
    datum = DATUM_NAMES.get(fold(value)) if isinstance(value, str) else None
    if datum is None:
        raise CellError(f"unknown datum {value!r}; use wgs84 (WGS-84, GPS), gcj02 (GCJ-02, 高德) "
                        "or bd09 (BD-09, 百度)", "datum", value=str(value))
    return datum


def read_coordinate(value: object, label: str) -> float:
    """Read a longitude or latitude cell.

    Args:
        value: the raw cell.
        label: ``longitude`` or ``latitude``, for messages.

    Returns:
        The number (its range is checked by the caller).

    Raises:
        ValueError: blank, not a number, or not finite.
    """
    if is_blank(value):
        raise CellError(f"{label} is missing", "missing", column=label)
    try:
        number = _number(value)
    except ValueError:
        raise CellError(f"{label} must be a number, got {value!r}", "number",
                        value=str(value)) from None
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
    if is_blank(value):
        return None
    try:
        number = _number(value)
    except ValueError:
        number = math.nan
    if not number.is_integer():
        raise CellError(f"{column} must be a whole number, got {value!r}", "whole",
                        value=str(value))
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
    if is_blank(value):
        return False
    if isinstance(value, bool):
        return value
    if isinstance(value, int | float) and value in (0, 1):
        return bool(value)
    found = BOOLEAN_WORDS.get(fold(value)) if isinstance(value, str) else None
    if found is None:
        raise CellError(f"{column} must be true/false, yes/no, 1/0 or 是/否, got {value!r}",
                        "boolean", value=str(value))
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
    if is_blank(value):
        return None
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    match = re.fullmatch(r"(\d{4})[-/](\d{1,2})[-/](\d{1,2})", str(value).strip())
    if not match:
        raise CellError(f"{column} must be a date YYYY-MM-DD, got {value!r}", "date",
                        value=str(value))
    try:
        return date(*map(int, match.groups()))
    except ValueError as error:
        raise CellError(f"{column} {value!r} is not a date: {error}", "date",
                        value=str(value)) from None


def read_point(geometry: object) -> tuple[float, float]:
    """Read a GeoJSON Point geometry.

    Args:
        geometry: the feature's geometry.

    Returns:
        ``(lon, lat)`` as given.

    Raises:
        ValueError: missing, not a Point, or without two numbers.
    """
    if geometry is None:
        raise CellError("geometry is missing", "missing", column="geometry")
    kind = geometry.get("type") if isinstance(geometry, dict) else type(geometry).__name__
    if kind != "Point" or not isinstance(geometry, dict):
        raise CellError(f"geometry must be a Point, got {kind!r}", "geometry", value=str(kind))
    position = geometry.get("coordinates")
    if not isinstance(position, list) or len(position) < 2:
        raise CellError(f"a Point needs [longitude, latitude], got {position!r}", "geometry",
                        value=str(position))
    try:
        return _number(position[0]), _number(position[1])
    except ValueError:
        raise CellError(f"Point coordinates must be numbers, got {position!r}", "geometry",
                        value=str(position)) from None


def _vocabulary_terms(column: str) -> dict[str, str]:
    """Every way of writing the terms of a vocabulary, folded by :func:`fold`.

    Args:
        column: a column of :data:`geo.vocabulary.VOCABULARIES`.

    Returns:
        Folded id, Chinese name, English name and synonyms
        (:data:`geo.vocabulary.SYNONYMS`) -> id.
    """
    return {
        fold(text): term
        for term, names in VOCABULARIES[column].items()
        for text in (term, *names, *SYNONYMS[column].get(term, ()))
    }


#: Column -> folded term -> id, for the vocabulary columns.
_TERMS: dict[str, dict[str, str]] = {
    column: _vocabulary_terms(column) for column in VOCABULARIES
}

#: How each column's cells are read (``lon``, ``lat`` and ``datum`` are read together).
CELL_READERS: dict[str, Callable[[object], object]] = {
    **{column: _text for column in TEXT_COLUMNS},
    "opening_hours": _hours,
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

