"""Opening hours in OpenStreetMap ``opening_hours`` syntax.

Stations record their hours the way OSM does (``"24/7"``, ``"Mo-Fr 08:00-18:00; PH off"``), so
one well-specified syntax covers weekdays, public holidays and exceptions. Parsing and evaluation
are done by opening-hours-py (module :mod:`opening_hours`); public holidays (``PH``) are those of
mainland China, and times are China Standard Time (Asia/Shanghai).
"""

from __future__ import annotations

import re
import unicodedata
from datetime import datetime, timedelta
from functools import lru_cache
from typing import Literal
from zoneinfo import ZoneInfo

import opening_hours

#: The time zone that naive datetimes are read in and aware ones are converted to.
CHINA_TZ = ZoneInfo("Asia/Shanghai")

#: Country whose public holidays ``PH`` refers to.
HOLIDAY_COUNTRY = "CN"

OpenState = Literal["open", "closed", "unknown"]

#: Languages hours are told in.
Lang = Literal["zh", "en"]

#: Weekday abbreviations of the syntax, Monday first, and their names in each language.
_DAYS = ("Mo", "Tu", "We", "Th", "Fr", "Sa", "Su")
_DAY_NAMES = {"zh": ("周一", "周二", "周三", "周四", "周五", "周六", "周日"),
              "en": ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")}

#: The words of an expression and the phrases of its state, in each language.
_WORDS = {
    "zh": {"24/7": "24 小时", "PH off": "法定节假日休息", "PH": "法定节假日", "off": "休息",
           "to": "至", "and": "、", "rule": "；", "open_24h": "24 小时营业",
           "open_until": "营业至 {time}", "closed": "已停止开放", "opens_today": "{time} 开门",
           "opens_tomorrow": "明天 {time} 开门", "opens_on": "{day} {time} 开门",
           "unknown": "营业时间未知"},
    "en": {"24/7": "24 hours", "PH off": "closed on public holidays", "PH": "public holidays",
           "off": "closed", "to": "–", "and": ", ", "rule": "; ", "open_24h": "open 24 hours",
           "open_until": "open until {time}", "closed": "closed", "opens_today": "opens at {time}",
           "opens_tomorrow": "opens {time} tomorrow", "opens_on": "opens {day} {time}",
           "unknown": "hours unknown"},
}

#: The parts of an expression :func:`hours_text` tells: 24/7, "PH off", a day range, a day, a
#: time range, "off"/"closed", and the separators of days and of rules.
_TOKEN = re.compile(
    r"(?P<always>24/7)|(?P<ph_off>PH\s+(?:off|closed))|(?P<ph>\bPH\b)"
    r"|(?P<days>\b(?:Mo|Tu|We|Th|Fr|Sa|Su)-(?:Mo|Tu|We|Th|Fr|Sa|Su)\b)"
    r"|(?P<day>\b(?:Mo|Tu|We|Th|Fr|Sa|Su)\b)"
    r"|(?P<times>\b\d\d:\d\d-\d\d:\d\d\b)|(?P<off>\b(?:off|closed)\b)"
    r"|(?P<comma>\s*,\s*)|(?P<rule>\s*;\s*)")

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


def hours_error_at(expr: str) -> int | None:
    """Find where an opening-hours expression stops being OSM syntax, for a message that
    points there without the parser's grammar.

    Args:
        expr: expression in OSM ``opening_hours`` syntax.

    Returns:
        The character (from 1) where parsing failed; None if the expression is valid or blank,
        or the parser did not say where.
    """
    problem = hours_error(expr)
    found = re.match(r"at character (\d+)", problem or "")
    return int(found.group(1)) if found else None


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


def hours_text(expr: str, lang: Lang) -> str:
    """Tell opening hours in words of a language.

    Args:
        expr: expression in OSM ``opening_hours`` syntax.
        lang: ``"zh"`` or ``"en"``.

    Returns:
        e.g. ``"周一至周五 09:00–17:00；法定节假日休息"`` or ``"Mon–Fri 09:00–17:00; closed on
        public holidays"``, ``"24 小时"`` / ``"24 hours"``; the expression as written if it does
        not parse, and ``""`` if it is empty. Parts without words here are kept as written.
    """
    expr = expr.strip()
    if not expr or _parse(expr)[0] is None:
        return expr
    words, days = _WORDS[lang], _DAY_NAMES[lang]

    def told(match: re.Match) -> str:
        kind, token = match.lastgroup, match.group()
        if kind == "always":
            return words["24/7"]
        if kind == "ph_off":
            return words["PH off"]
        if kind in ("ph", "off"):
            return words[{"ph": "PH", "off": "off"}[kind]]
        if kind == "days":
            first, last = token.split("-")
            return f"{days[_DAYS.index(first)]}{words['to']}{days[_DAYS.index(last)]}"
        if kind == "day":
            return days[_DAYS.index(token)]
        if kind == "times":
            return token.replace("-", "–")
        return words["and"] if kind == "comma" else words["rule"]

    return _TOKEN.sub(told, expr)


def hours_status(expr: str, when: datetime, lang: Lang) -> str:
    """Say whether a place is open at ``when`` and until when, or when it opens next.

    Args:
        expr: expression in OSM ``opening_hours`` syntax.
        when: the time asked about (Asia/Shanghai when naive, converted when aware).
        lang: ``"zh"`` or ``"en"``.

    Returns:
        e.g. ``"营业至 17:00"`` / ``"open until 17:00"``, ``"明天 08:30 开门"`` / ``"opens 08:30
        tomorrow"``, ``"24 小时营业"`` / ``"open 24 hours"``, or "hours unknown" in the
        language when :func:`open_state` says ``unknown``.
    """
    words = _WORDS[lang]
    state = open_state(expr, when)
    if state == "unknown":
        return words["unknown"]
    if when.tzinfo is not None:
        when = when.astimezone(CHINA_TZ).replace(tzinfo=None)
    parsed = _parse(expr)[0]
    assert parsed is not None  # open_state read the hours, so they parse
    change = parsed.next_change(when)
    if state == "open":
        if change is None:
            return words["open_24h"]
        return words["open_until"].format(time=_time_on(change, when, lang))
    if change is None:
        return words["closed"]
    time = f"{change:%H:%M}"
    if change.date() == when.date():
        return words["opens_today"].format(time=time)
    if change.date() == when.date() + timedelta(days=1):
        return words["opens_tomorrow"].format(time=time)
    return words["opens_on"].format(day=_DAY_NAMES[lang][change.weekday()], time=time)


def _time_on(moment: datetime, today: datetime, lang: Lang) -> str:
    """``"17:00"`` on the same day, else with the weekday (``"周二 09:00"``, ``"Tue 09:00"``)."""
    if moment.date() == today.date():
        return f"{moment:%H:%M}"
    return f"{_DAY_NAMES[lang][moment.weekday()]} {moment:%H:%M}"


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


# --- hours as people write them ----------------------------------------------------------------

#: Whole expressions meaning "always open", matched on the text without spaces.
_ALWAYS = re.compile(r"(?:7[x*×]?)?24(?:小时|h|hours?)(?:全天)?(?:开放|营业|服务|值守)?"
                     r"|全天(?:候)?(?:24小时)?(?:开放|营业|服务)?|全年无休(?:24小时)?")

#: Words that say nothing about the hours themselves and are dropped.
_FILLER = re.compile(r"开放时间|营业时间|服务时间|时间|开放|营业|服务|对外|为")

#: A weekday as written after 周 (星期 and 礼拜 become 周 first): Monday is 一 or 1.
_WEEKDAY = "一二三四五六日"
_DAY = r"周([一二三四五六日天1-7])"

#: The parts of a loosely written expression, tried in this order.
_LOOSE_TOKEN = re.compile(
    rf"(?P<range>{_DAY}\s*(?:至|到|-|~)\s*周?([一二三四五六日天1-7]))"
    rf"|(?P<day>{_DAY})"
    r"|(?P<every>每天|每日|天天|全周|每周)"
    r"|(?P<workdays>工作日)"
    r"|(?P<weekend>周末|双休日|星期六日)"
    r"|(?P<holidays>(?:法定)?节假日)"
    r"|(?P<times>(?P<m1>上午|早上|下午|晚上)?(?P<h1>\d{1,2})(?:[:.点时](?P<n1>\d{2})?)?分?\s*"
    r"(?:-|~|至|到)\s*(?P<m2>上午|早上|下午|晚上)?(?P<h2>\d{1,2})(?:[:.点时](?P<n2>\d{2})?)?分?)"
    r"|(?P<allday>全天|24小时)"
    r"|(?P<off>休息|闭馆|关闭|不开放|停止开放|off|closed)"
    r"|(?P<rule>[;\n])"
    r"|(?P<gap>[\s,、:和及])")


@lru_cache(maxsize=4096)
def read_hours(text: str) -> str:
    """Read opening hours as people write them into OSM ``opening_hours`` syntax (once per
    text: a station list repeats the same few hours).

    Text that is already valid OSM syntax is kept as written. Otherwise full-width digits and
    punctuation are made ASCII, dashes and ``~``/至/到 join times, and Chinese day words,
    times and closures are read: ``"周一至周五 8:30-17:30"`` -> ``"Mo-Fr 08:30-17:30"``,
    ``"每天 7:00-21:00"`` -> ``"07:00-21:00"``, ``"工作日 9:00—17:00，周末休息"`` ->
    ``"Mo-Fr 09:00-17:00; Sa,Su off"``, ``"24小时"`` and ``"全天开放"`` -> ``"24/7"``,
    ``"8:00-12:00, 14:00-18:00"`` -> ``"08:00-12:00,14:00-18:00"``.

    Args:
        text: the hours as written; blank means "not recorded".

    Returns:
        The expression in OSM syntax; ``""`` for blank text.

    Raises:
        ValueError: the text is understood neither way.
    """
    text = text.strip()
    if not text or _parse(text)[0] is not None:
        return text
    loose = unicodedata.normalize("NFKC", text).casefold()
    loose = re.sub(r"[—–―‐‑－~〜～]", "-", loose).replace("星期", "周").replace("礼拜", "周")
    if _ALWAYS.fullmatch(re.sub(r"[\s()（）]", "", loose)):
        return "24/7"
    expr = _rules(_FILLER.sub(" ", loose))
    if expr is None or _parse(expr)[0] is None:
        raise ValueError(f"cannot read opening hours {text!r}")
    return expr


def _rules(text: str) -> str | None:
    """Turn loosely written hours, normalised by :func:`read_hours`, into OSM rules.

    Args:
        text: the text.

    Returns:
        The rules joined by ``"; "``, or None if some part is not understood.
    """
    rules: list[str] = []
    days: list[str] = []
    times: list[str] = []
    off = False
    position = 0

    def close() -> bool:
        nonlocal days, times, off
        if not (times or off):
            return not days
        when = "off" if off and not times else ",".join(times)
        rules.append(f"{','.join(days)} {when}".strip())
        days, times, off = [], [], False
        return True

    for match in _LOOSE_TOKEN.finditer(text):
        if match.start() != position:
            return None
        position = match.end()
        kind = match.lastgroup if match.lastgroup not in ("m1", "h1", "n1", "m2", "h2", "n2") \
            else "times"
        if kind in ("range", "day", "every", "workdays", "weekend", "holidays"):
            if (times or off) and not close():
                return None
            days += _days(kind, match)
        elif kind == "times":
            span = _span(match)
            if span is None:
                return None
            times.append(span)
        elif kind == "allday":
            times.append("00:00-24:00")
        elif kind == "off":
            off = True
        elif kind == "rule" and not close():
            return None
    if position != len(text) or not close() or not rules:
        return None
    return "; ".join(rules)


def _days(kind: str, match: re.Match) -> list[str]:
    """The OSM days of a day token of :data:`_LOOSE_TOKEN` (none for "every day")."""
    if kind == "every":
        return []
    if kind == "workdays":
        return ["Mo-Fr"]
    if kind == "weekend":
        return ["Sa,Su"]
    if kind == "holidays":
        return ["PH"]
    numbers = [_weekday(g) for g in match.groups()[match.re.groupindex[kind]:][:2] if g]
    if kind == "day":
        return [_DAYS[numbers[0]]]
    first, last = numbers
    return [] if (first, last) == (0, 6) else [f"{_DAYS[first]}-{_DAYS[last]}"]


def _weekday(written: str) -> int:
    """Monday = 0 for a weekday written as 一…日, 天 or 1…7."""
    if written.isdigit():
        return int(written) - 1
    return 6 if written == "天" else _WEEKDAY.index(written)


#: Words that put an hour written 1-11 in the afternoon or evening.
_LATER = ("下午", "晚上")


def _span(match: re.Match) -> str | None:
    """``"HH:MM-HH:MM"`` of a time-range token, or None if a time is impossible."""
    ends: list[str] = []
    for meridiem, hour, minute in (("m1", "h1", "n1"), ("m2", "h2", "n2")):
        h, m = int(match[hour]), int(match[minute] or 0)
        if match[meridiem] in _LATER and h < 12:
            h += 12
        elif (ends and not match[meridiem] and match["m1"] in _LATER and h < 12
              and h + 12 > int(ends[0][:2])):
            h += 12  # "下午2点-5点": the closing time keeps the opening's afternoon
        if h > 24 or m > 59 or (h == 24 and m):
            return None
        ends.append(f"{h:02d}:{m:02d}")
    return "-".join(ends)
