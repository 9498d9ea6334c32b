"""Reading requests: query parameters, JSON bodies and record ids in paths. Every bad value
becomes a :class:`BadParameter` naming it, checked before anything reaches the database."""

from __future__ import annotations

import json
import math
from collections.abc import Iterable

from flask import Request
from werkzeug.datastructures import MultiDict
from werkzeug.exceptions import NotFound
from werkzeug.routing import IntegerConverter

from geo import text_problem

#: Largest record id (stations, scenarios) and version: PostgreSQL's ``integer``, the narrower
#: of the two stores. A larger id in a path is no record (404).
MAX_ID = 2**31 - 1

#: Deepest nesting of arrays and objects a JSON body may have (a GeoJSON multipolygon inside a
#: feature collection needs 7).
MAX_JSON_DEPTH = 20

#: Largest whole number a JSON body may hold anywhere: beyond it JSON numbers lose precision.
MAX_JSON_INTEGER = 2**53 - 1

#: What is wrong with a body nested deeper than :data:`MAX_JSON_DEPTH`.
_TOO_DEEP = f"nests arrays and objects more than {MAX_JSON_DEPTH} levels deep"


class BadParameter(ValueError):
    """A request parameter, header or body member is missing or wrong; answered with HTTP
    ``status`` (400 unless said otherwise) as ``{"error": {"parameter": ..., "message": ...}}``."""

    def __init__(self, parameter: str, message: str, status: int = 400) -> None:
        super().__init__(f"{parameter}: {message}")
        self.parameter = parameter
        self.message = message
        self.status = status


class IdConverter(IntegerConverter):
    """``<id:name>`` in a route: a record id, 1 to :data:`MAX_ID` written in ASCII digits.

    Any other number is no record: 404 for every method (a plain range check would let the
    router answer 405 where a route of another method has the same path).
    """

    def to_python(self, value: str) -> int:
        number = whole_number(value, MAX_ID)
        if not number:
            raise NotFound(f"no record has the id {value}; ids run from 1 to {MAX_ID}")
        return number


def whole_number(raw: str, high: int) -> int | None:
    """A whole number from 0 to ``high`` written in ASCII digits (a form field, a header).

    Returns:
        The number, or None for anything else (signs, other scripts' digits, too large).
    """
    raw = raw.strip()
    if not (raw.isascii() and raw.isdigit()) or len(raw) > len(str(high)):
        return None
    value = int(raw)
    return value if value <= high else None


def json_body(request: Request) -> dict:
    """The request's body as a JSON object, every string and number in it checked.

    Raises:
        BadParameter: 415 naming ``Content-Type`` unless the body is declared JSON; 400 naming
            ``body`` for bytes that are not UTF-8, text that is not JSON, nesting deeper than
            :data:`MAX_JSON_DEPTH` or anything but an object; 400 naming the top-level member
            that holds text with a control character or a lone surrogate, a number that is not
            finite or a whole number beyond :data:`MAX_JSON_INTEGER`.
    """
    if not request.is_json:
        raise BadParameter("Content-Type", "send a JSON object with Content-Type: "
                                           "application/json", 415)
    try:
        text = request.get_data().decode("utf-8")
    except UnicodeDecodeError as error:
        raise BadParameter("body", f"is not UTF-8 text (byte {error.start})") from None
    try:
        body = json.loads(text, parse_constant=_no_constant)
    except RecursionError:
        raise BadParameter("body", _TOO_DEEP) from None
    except ValueError as error:
        raise BadParameter("body", f"is not valid JSON: {error}") from None
    if not isinstance(body, dict):
        raise BadParameter("body", "must be a JSON object")
    for name, value in body.items():
        problem = text_problem(name)
        if problem:
            raise BadParameter("body", f"a member name {problem}")
        _check_json(name, value)
    return body


def check_text_parameters(request: Request) -> None:
    """Refuse query parameters and form fields holding a control character.

    Raises:
        BadParameter: naming the first such parameter or field.
    """
    for name, value in [*request.args.items(multi=True), *request.form.items(multi=True)]:
        problem = text_problem(name) or text_problem(value)
        if problem:
            raise BadParameter(name, problem)


def number(args: MultiDict, name: str, low: float, high: float,
           default: float | None = None) -> float:
    """A finite number within [low, high]; required unless it has a ``default``."""
    raw = args.get(name)
    if raw is None or raw.strip() == "":
        if default is None:
            raise BadParameter(name, "is required")
        return default
    try:
        value = float(raw)
    except ValueError:
        raise BadParameter(name, f"must be a number, got {raw!r}") from None
    if not low <= value <= high:
        raise BadParameter(name, f"must be between {low:g} and {high:g}, got {raw}")
    return value


def numbers(args: MultiDict, name: str, low: float, high: float, most: int,
            default: tuple[float, ...]) -> tuple[float, ...]:
    """Comma-separated finite numbers, each within [low, high], at most ``most`` of them;
    ``default`` when the parameter is absent or blank."""
    raw = args.get(name)
    if raw is None or raw.strip() == "":
        return default
    parts = raw.split(",")
    if len(parts) > most:
        raise BadParameter(name, f"at most {most} numbers, got {len(parts)}")
    return tuple(number(MultiDict({name: part}), name, low, high) for part in parts)


def integer(args: MultiDict, name: str, default: int, low: int, high: int) -> int:
    """An optional whole number within [low, high]."""
    raw = args.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise BadParameter(name, f"must be a whole number, got {raw!r}") from None
    if not low <= value <= high:
        raise BadParameter(name, f"must be between {low} and {high}, got {value}")
    return value


def choice(args: MultiDict, name: str, allowed: Iterable[str], default: str | None) -> str:
    """An optional value from a fixed set."""
    allowed = list(allowed)
    raw = args.get(name)
    if raw is None or raw.strip() == "":
        if default is None:
            raise BadParameter(name, "is required")
        return default
    if raw not in allowed:
        raise BadParameter(name, f"unknown value {raw!r}; use one of {', '.join(allowed)}")
    return raw


def choices(args: MultiDict, name: str, allowed: Iterable[str]) -> frozenset[str]:
    """Zero or more values from a fixed set, repeated or comma-separated."""
    allowed = set(allowed)
    values = {v.strip() for raw in args.getlist(name) for v in raw.split(",") if v.strip()}
    unknown = sorted(values - allowed)
    if unknown:
        raise BadParameter(name, f"unknown value {unknown[0]!r}; use any of "
                                 f"{', '.join(sorted(allowed))}")
    return frozenset(values)


def flag(args: MultiDict, name: str) -> bool:
    """An optional boolean: true/false, 1/0, yes/no (absent is false)."""
    raw = (args.get(name) or "").strip().lower()
    if raw in ("", "0", "false", "no"):
        return False
    if raw in ("1", "true", "yes"):
        return True
    raise BadParameter(name, f"must be true or false, got {raw!r}")


def _no_constant(name: str) -> None:
    """Refuse ``NaN``, ``Infinity`` and ``-Infinity``, which JSON does not have."""
    raise ValueError(f"{name} is not a JSON number")


def _check_json(member: str, value: object) -> None:
    """Check one top-level member of a JSON body, and everything inside it, without recursion.

    Raises:
        BadParameter: naming ``member``, as :func:`json_body` says.
    """
    stack = [(value, 2)]  # the body is level 1
    while stack:
        item, depth = stack.pop()
        if isinstance(item, list | dict) and depth > MAX_JSON_DEPTH:
            raise BadParameter("body", _TOO_DEEP)
        if isinstance(item, str):
            problem = text_problem(item)
            if problem:
                raise BadParameter(member, problem)
        elif isinstance(item, float) and not math.isfinite(item):
            raise BadParameter(member, "holds a number too large to be finite")
        elif isinstance(item, int) and abs(item) > MAX_JSON_INTEGER:
            raise BadParameter(member, f"holds a whole number beyond ±{MAX_JSON_INTEGER}")
        elif isinstance(item, list):
            stack += [(child, depth + 1) for child in item]
        elif isinstance(item, dict):
            stack += [(key, depth + 1) for key in item]
            stack += [(child, depth + 1) for child in item.values()]
