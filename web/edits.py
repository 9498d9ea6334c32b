"""What staff submit about a station, read and checked before it is stored.

Form fields (the staff pages) and JSON bodies (the REST API) become station values here, with
coordinates in any datum converted to WGS-84. Every problem is a :class:`Problem` naming its
field, so a page can show it next to the field and the API can name it. Beyond
:func:`geo.stations.validate_station`, a station must lie in its region and must not repeat a
station of the same name close by: the station rules of :mod:`geo.rules`, asked through
:meth:`geo.atlas.Atlas.check_station` as the bulk import asks them.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from datetime import date
from numbers import Real

from werkzeug.datastructures import MultiDict

from geo import (
    AMENITIES,
    DATUMS,
    MAX_CAPACITY,
    TEXT_FIELDS,
    Atlas,
    HistoryEntry,
    RegionError,
    Station,
    StationInvalid,
    VersionConflict,
    clean_text,
    read_hours,
    text_problem,
    to_wgs84,
    validate_station,
)
from web.params import whole_number

#: The station fields staff may set, in the order forms and conflict pages show them.
EDITABLE: tuple[str, ...] = (
    "name", "kind", "status", "lon", "lat", "address", "host", "union", "level", "amenities",
    "opening_hours", "phone", "capacity", "smart_24h", "verified_on", "notes", "region",
)

#: Fields a new station must have.
REQUIRED: tuple[str, ...] = ("name", "region", "kind", "lon", "lat")

#: What :func:`geo.stations.validate_station` complaints about a field mean, as problem codes.
_VALIDATION_CODES: dict[str, str] = {
    "name": "required", "region": "required", "kind": "choice", "status": "choice",
    "level": "choice", "amenities": "choice", "lon": "range", "lat": "range",
    "opening_hours": "hours", "capacity": "whole", "phone": "phone", "verified_on": "date",
}


@dataclasses.dataclass(frozen=True)
class Problem:
    """Something wrong with one submitted field.

    Attributes:
        field: the field at fault (a station field, or ``datum``).
        message: what is wrong, in English, as the API reports it.
        code: the kind of problem (``required``, ``number``, ``choice``, ``whole``, ``date``,
            ``datum``, ``range``, ``hours``, ``phone``, ``outside``, ``duplicate``, ``type``,
            ``unknown`` or ``invalid``), which pages turn into a translated message.
        detail: the part of the message that is data (a parser's note, a station name).
    """

    field: str
    message: str
    code: str
    detail: str = ""


class Rejected(ValueError):
    """A submission was refused; nothing was stored.

    Attributes:
        problems: every problem found, at most one per field.
    """

    def __init__(self, problems: list[Problem]) -> None:
        """Make the error.

        Args:
            problems: the problems, at least one.
        """
        super().__init__("; ".join(f"{p.field}: {p.message}" for p in problems))
        self.problems = problems


def field_values(station: Station) -> dict[str, object]:
    """Return a station's editable fields as JSON-ready values, as its history records them.

    Args:
        station: the station.

    Returns:
        Field name -> value, amenities as a list and ``verified_on`` as an ISO date or None.
    """
    values = {name: getattr(station, name) for name in EDITABLE}
    values["amenities"] = list(station.amenities)
    values["verified_on"] = station.verified_on.isoformat() if station.verified_on else None
    return values


def values_from_form(form: MultiDict) -> tuple[dict[str, object], list[Problem]]:
    """Read the station form of the staff pages.

    Every field of the form is read; ``region`` only if the form carries it. Opening hours
    may be written as people write them (:func:`geo.hours.read_hours`). Unticked
    checkboxes mean no amenities and no 24-hour smart access. ``lon``/``lat`` are in the datum
    chosen in ``datum`` and come back in WGS-84.

    Args:
        form: the submitted form.

    Returns:
        The values read (field -> typed value) and the problems found; a field with a problem
        is left out of the values.
    """
    values: dict[str, object] = {}
    problems: list[Problem] = []
    for name in TEXT_FIELDS:
        if name in form or name != "region":
            values[name] = clean_text(form.get(name, ""))
    try:
        values["opening_hours"] = read_hours(values["opening_hours"])
    except ValueError:
        pass  # kept as typed: the station check refuses it, naming the field
    for name in ("lon", "lat"):
        raw = form.get(name, "").strip()
        try:
            values[name] = float(raw)
        except ValueError:
            problems.append(Problem(name, f"{name} must be a number, got {raw!r}", "number")
                            if raw else Problem(name, f"{name} is required", "required"))
    values["amenities"] = tuple(a for a in AMENITIES if a in form.getlist("amenities"))
    unknown = sorted(set(form.getlist("amenities")) - set(AMENITIES))
    if unknown:
        problems.append(_unknown_amenities(unknown))
    raw = form.get("capacity", "").strip()
    capacity = whole_number(raw, MAX_CAPACITY)
    if not raw:
        values["capacity"] = None
    elif capacity is not None:
        values["capacity"] = capacity
    else:
        problems.append(Problem("capacity", f"capacity must be a whole number from 0 to "
                                            f"{MAX_CAPACITY}, got {raw!r}", "whole"))
    values["smart_24h"] = form.get("smart_24h") in ("1", "on", "true")
    raw = form.get("verified_on", "").strip()
    try:
        values["verified_on"] = date.fromisoformat(raw) if raw else None
    except ValueError:
        problems.append(Problem("verified_on", f"verified_on must be a date YYYY-MM-DD, got "
                                               f"{raw!r}", "date"))
    for name in REQUIRED:
        if values.get(name) == "":
            problems.append(Problem(name, f"{name} is required", "required"))
            del values[name]
    return _in_wgs84(values, form.get("datum", "wgs84"), problems)


def values_from_json(body: Mapping[str, object], new: bool
                     ) -> tuple[dict[str, object], list[Problem]]:
    """Read a JSON body of the REST API.

    Args:
        body: the parsed JSON object, with station fields and an optional ``datum`` (of
            ``lon``/``lat``; ``wgs84`` if absent).
        new: whether it describes a new station (then :data:`REQUIRED` fields must be there)
            or changes to a stored one (any subset of fields).

    Returns:
        The values read and the problems found, as :func:`values_from_form` does.
    """
    values: dict[str, object] = {}
    problems: list[Problem] = []
    for name, raw in body.items():
        if name == "datum":
            continue
        if name not in EDITABLE:
            problems.append(Problem(name, f"{name} is not a field staff may set", "unknown"))
            continue
        value, problem = _json_value(name, raw)
        if problem is None:
            values[name] = value
        else:
            problems.append(problem)
    if new:
        reported = {p.field for p in problems}
        problems += [Problem(name, f"{name} is required", "required") for name in REQUIRED
                     if name not in reported and values.get(name) in (None, "")]
    datum = body.get("datum", "wgs84")
    return _in_wgs84(values, datum if isinstance(datum, str) else repr(datum), problems)


def create_station(atlas: Atlas, values: dict[str, object], actor: str,
                   reported: list[Problem] | None = None) -> Station:
    """Check a new station and store it.

    Args:
        atlas: the atlas, whose store keeps the station.
        values: field -> value, from :func:`values_from_form` or :func:`values_from_json`.
        actor: who adds it, for the history.
        reported: the problems found while reading the values; any problem means nothing is
            stored.

    Returns:
        The stored station.

    Raises:
        Rejected: a value could not be read, or the station is invalid, outside its region or
            a duplicate; every problem is listed and nothing is stored.
    """
    station = Station(**{"name": "", "region": "", "kind": "", "lon": 0.0, "lat": 0.0,
                         **values})
    _raise_problems(_merged(reported, station_problems(atlas, station, None,
                                                       _place_known(reported))))
    try:
        return atlas.store.add(station, actor=actor)
    except StationInvalid as error:
        raise Rejected(_invalid(error)) from None


def change_station(atlas: Atlas, station_id: int, values: dict[str, object],
                   expected_version: int, actor: str,
                   reported: list[Problem] | None = None) -> Station:
    """Check changes to a stored station and store those that change something.

    Args:
        atlas: the atlas, whose store keeps the station.
        station_id: the station's id.
        values: field -> new value; fields equal to the stored ones are left alone (amenities
            compare as sets).
        expected_version: the version the changes are based on.
        actor: who changes it, for the history.
        reported: the problems found while reading the values; any problem means nothing is
            stored.

    Returns:
        The station as stored now (unchanged if nothing differed).

    Raises:
        KeyError: no such station, or it is deleted.
        Rejected: a value could not be read, or the result is invalid, outside its region or
            a duplicate; every problem is listed.
        VersionConflict: the stored version is not ``expected_version``.
    """
    store = atlas.store
    if store.is_deleted(station_id):
        raise KeyError(station_id)
    current = store.get(station_id)
    changes = {name: value for name, value in values.items()
               if not same_value(name, value, getattr(current, name))}
    changed = dataclasses.replace(current, **changes)
    _raise_problems(_merged(reported, station_problems(atlas, changed, current,
                                                       _place_known(reported))))
    if not changes:
        if current.version != expected_version:
            raise VersionConflict(current, expected_version)
        return current
    try:
        return store.update(station_id, changes, expected_version, actor=actor)
    except StationInvalid as error:
        raise Rejected(_invalid(error)) from None


def station_problems(atlas: Atlas, station: Station, current: Station | None,
                     place_known: bool = True) -> list[Problem]:
    """Check a station as it would be stored.

    Args:
        atlas: the atlas (for the region's extent and the stored stations).
        station: the station to check.
        current: the stored version it changes, or None for a new station. Location and
            duplicates are only checked if it is new or its name, region or point changed.
        place_known: False if the submitted point could not be read (the station then holds
            a stand-in point, which is not checked against the region or for duplicates).

    Returns:
        The problems, at most one per field.
    """
    problems = [_validation_problem(station, field, message)
                for field, message in validate_station(station).items()]
    moved = current is None or any(
        getattr(station, name) != getattr(current, name) for name in ("name", "region", "lon",
                                                                      "lat"))
    if problems or not moved or not place_known:
        return problems
    try:
        region = atlas.region(station.region)
        refusal = atlas.check_station(station, current.id if current is not None else None)
    except RegionError as error:
        return [Problem("region", str(error), "choice")]
    if refusal is None:
        return []
    if refusal.reason == "outside":
        return [Problem("lon", f"the point ({station.lon:.6f}, {station.lat:.6f}) is "
                               f"{refusal.metres / 1000:.1f} km outside region {region.id!r}",
                        "outside", region.name)]
    other, metres = refusal.other, refusal.metres
    return [Problem("name", f"station {other.id} has the same name {metres:.0f} m away",
                    "duplicate", f"{other.name} ({other.id}, {metres:.0f} m)")]


def _validation_problem(station: Station, field: str, message: str) -> Problem:
    """Turn a complaint of :func:`geo.stations.validate_station` into a problem.

    Args:
        station: the station checked.
        field: the field complained about.
        message: the complaint.

    Returns:
        The problem; text with a forbidden character is ``invalid``, the message its detail;
        the detail of refused opening hours is the hours as written.
    """
    value = getattr(station, field)
    if isinstance(value, str) and text_problem(value):
        return Problem(field, message, "invalid", message)
    return Problem(field, message, _VALIDATION_CODES.get(field, "invalid"),
                   value if field == "opening_hours" else "")


def values_at_version(history: list[HistoryEntry], version: int) -> dict[str, object]:
    """Rebuild a station's fields as they were at one of its versions, from its history.

    Args:
        history: the station's history, oldest first (:meth:`geo.store.StationStore.history`).
        version: the version wanted.

    Returns:
        Field -> JSON-ready value at that version; empty if the history has no such version.
    """
    if not any(entry.version == version for entry in history):
        return {}
    values: dict[str, object] = {}
    for entry in history:
        if entry.version > version:
            break
        values.update({name: after for name, (_before, after) in entry.changes.items()})
    return values


def _json_value(name: str, raw: object) -> tuple[object, Problem | None]:
    """Read one field of a JSON body.

    Args:
        name: the field, one of :data:`EDITABLE`.
        raw: its JSON value.

    Returns:
        The typed value and None, or None and the problem.
    """
    if name in TEXT_FIELDS:
        if isinstance(raw, str):
            return clean_text(raw), None
        return None, Problem(name, f"{name} must be a string", "type")
    if name in ("lon", "lat"):
        if isinstance(raw, Real) and not isinstance(raw, bool):
            return float(raw), None
        return None, Problem(name, f"{name} must be a number", "number")
    if name == "amenities":
        if not isinstance(raw, list) or not all(isinstance(a, str) for a in raw):
            return None, Problem(name, "amenities must be a list of strings", "type")
        unknown = sorted(set(raw) - set(AMENITIES))
        if unknown:
            return None, _unknown_amenities(unknown)
        return tuple(dict.fromkeys(raw)), None
    if name == "capacity":
        if raw is None or (isinstance(raw, int) and not isinstance(raw, bool)):
            return raw, None
        return None, Problem(name, "capacity must be a whole number or null", "whole")
    if name == "smart_24h":
        if isinstance(raw, bool):
            return raw, None
        return None, Problem(name, "smart_24h must be true or false", "type")
    if raw is None:  # verified_on
        return None, None
    try:
        return date.fromisoformat(raw), None
    except (TypeError, ValueError):
        return None, Problem(name, "verified_on must be a date YYYY-MM-DD or null", "date")


def _in_wgs84(values: dict[str, object], datum: str, problems: list[Problem]
              ) -> tuple[dict[str, object], list[Problem]]:
    """Convert the submitted point to WGS-84.

    Args:
        values: the values read so far (``lon``/``lat`` in ``datum``), changed in place.
        datum: the datum the point was given in.
        problems: the problems found so far, added to.

    Returns:
        The values, with ``lon``/``lat`` in WGS-84, and the problems.
    """
    if datum not in DATUMS:
        problems.append(Problem("datum", f"unknown datum {datum!r}; use one of "
                                         f"{', '.join(DATUMS)}", "datum"))
        return values, problems
    if datum == "wgs84":
        return values, problems
    if "lon" not in values or "lat" not in values:
        if not any(p.field in ("lon", "lat") for p in problems):
            problems.append(Problem("lon", f"a point in {datum} needs both lon and lat",
                                    "required"))
        return values, problems
    try:
        values["lon"], values["lat"] = to_wgs84(values["lon"], values["lat"], datum)
    except ValueError as error:
        problems.append(Problem("lon", str(error), "range"))
    return values, problems


def _unknown_amenities(unknown: list[str]) -> Problem:
    """The problem of amenities outside the vocabulary.

    Args:
        unknown: the unknown amenity ids.

    Returns:
        A ``choice`` problem on ``amenities`` naming them.
    """
    names = ", ".join(unknown)
    return Problem("amenities", f"unknown amenities {names}; use any of "
                                f"{', '.join(AMENITIES)}", "choice", names)


def _invalid(error: StationInvalid) -> list[Problem]:
    """Turn the store's refusal into problems.

    Args:
        error: the store's validation error (what :func:`station_problems` cannot see, such
            as text too long for its column).

    Returns:
        One ``invalid`` problem per field, the store's message as the detail.
    """
    return [Problem(field, message, "invalid", message) for field, message in
            error.errors.items()]


def _place_known(reported: list[Problem] | None) -> bool:
    """Tell whether the submitted point and region were read without a problem.

    Args:
        reported: the problems found while reading.

    Returns:
        False if ``lon``, ``lat``, ``datum`` or ``region`` had a problem.
    """
    return not any(p.field in ("lon", "lat", "datum", "region") for p in reported or [])


def _merged(reported: list[Problem] | None, found: list[Problem]) -> list[Problem]:
    """Join the problems of reading values with those of checking the station, one per field.

    Args:
        reported: the problems found while reading (they win).
        found: the problems found by :func:`station_problems`.

    Returns:
        Every problem, at most one per field.
    """
    reported = list(reported or [])
    fields = {p.field for p in reported}
    return reported + [p for p in found if p.field not in fields]


def _raise_problems(problems: list[Problem]) -> None:
    """Raise :class:`Rejected` if there are problems.

    Args:
        problems: the problems found.

    Raises:
        Rejected: there is at least one.
    """
    if problems:
        raise Rejected(problems)


def same_value(name: str, new: object, old: object) -> bool:
    """Tell whether two values of a field are the same for the station.

    Args:
        name: the field.
        new: one value (e.g. submitted).
        old: the other (e.g. stored).

    Returns:
        True if storing one over the other would change nothing (amenities compare as sets).
    """
    if name == "amenities":
        return set(new) == set(old)
    return new == old
