"""Opening hours in OpenStreetMap ``opening_hours`` syntax.

Stations record their hours the way OSM does (``"24/7"``, ``"Mo-Fr 08:00-18:00; PH off"``), so
one well-specified syntax covers weekdays, public holidays and exceptions. Parsing and evaluation
are done by opening-hours-py (module :mod:`opening_hours`); public holidays (``PH``) are those of
mainland China, and times are China Standard Time (Asia/Shanghai).
"""

from __future__ import annotations

import re
from datetime import datetime
from functools import lru_cache
from typing import Literal
from zoneinfo import ZoneInfo

import opening_hours

#: The time zone that naive datetimes are read in and aware ones are converted to.
CHINA_TZ = ZoneInfo("Asia/Shanghai")

#: Country whose public holidays ``PH`` refers to.
HOLIDAY_COUNTRY = "CN"

OpenState = Literal["open", "closed", "unknown"]

#: Where the parser's report gives the failing column (``--> line:column``) and its reason
#: (``= expected ...``).
_POSITION = re.compile(r"-->\s*\d+:(\d+)")
_DETAIL = re.compile(r"^\s*=\s*(.+)$", re.MULTILINE)


def hours_error(expr: str) -> str | None:
    """Say what is wrong with an opening-hours expression.

    Args:
        expr: expression in OSM ``opening_hours`` syntax; empty or blank means "not recorded".

    Returns:
        None if the expression is valid or empty, otherwise a one-line message naming the
        character where parsing failed and what the parser expected there.
    """
    if not expr.strip():
        return None
    return _parse(expr)[1]


def open_state(expr: str, when: datetime) -> OpenState:
    """Tell whether a place with these opening hours is open at a given time.

    Args:
        expr: expression in OSM ``opening_hours`` syntax.
        when: the time asked about. A naive datetime is China Standard Time (Asia/Shanghai); an
            aware one is converted to it.

    Returns:
        ``"open"`` or ``"closed"``; ``"unknown"`` if the expression is empty, does not parse, or
        itself says ``unknown`` for that time.
    """
    if not expr.strip():
        return "unknown"
    parsed = _parse(expr)[0]
    if parsed is None:
        return "unknown"
    if when.tzinfo is not None:
        when = when.astimezone(CHINA_TZ).replace(tzinfo=None)
    state, _comment = parsed.state(when)
    if state == opening_hours.State.OPEN:
        return "open"
    if state == opening_hours.State.CLOSED:
        return "closed"
    return "unknown"


@lru_cache(maxsize=4096)
def _parse(expr: str) -> tuple[opening_hours.OpeningHours | None, str | None]:
    """Parse an expression once; station lists evaluate the same few expressions many times.

    Args:
        expr: a non-blank expression in OSM ``opening_hours`` syntax.

    Returns:
        ``(parsed, None)`` on success, ``(None, message)`` if it does not parse.
    """
    try:
        return opening_hours.OpeningHours(expr, country=HOLIDAY_COUNTRY), None
    # opening-hours-py's stubs leave out ParserError, the error it raises on bad syntax.
    except opening_hours.ParserError as err:  # type: ignore[attr-defined]
        return None, _one_line(str(err))


def _one_line(message: str) -> str:
    """Shorten the parser's multi-line report (a caret drawing) to one line.

    Args:
        message: the text of an :class:`opening_hours.ParserError`, e.g. ``"Failed to parse
            expression:  --> 1:7 | ... = expected EOI, timespan, or holiday"``.

    Returns:
        ``"at character 7: expected EOI, timespan, or holiday"``, or the message with its lines
        joined if it is not in that form.
    """
    position = _POSITION.search(message)
    detail = _DETAIL.search(message)
    if position and detail:
        return f"at character {position.group(1)}: {detail.group(1).strip()}"
    return " ".join(line.strip() for line in message.splitlines() if line.strip())
