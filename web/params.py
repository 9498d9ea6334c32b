"""Reading query parameters: every bad value becomes a :class:`BadParameter` naming it."""

from __future__ import annotations

from collections.abc import Iterable

from werkzeug.datastructures import MultiDict


class BadParameter(ValueError):
    """A request parameter is missing or wrong; answered with HTTP 400."""

    def __init__(self, parameter: str, message: str) -> None:
        super().__init__(f"{parameter}: {message}")
        self.parameter = parameter
        self.message = message


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
