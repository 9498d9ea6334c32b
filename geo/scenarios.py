"""What-if scenarios: named sets of hypothetical stations and switched-off ones that a planner
saves, and that staff later turn into planned station records.

Scenarios live in the app's database (:class:`geo.database.Database`, table made by the same
Alembic migrations as the stations'), on SQLite and PostgreSQL alike. A scenario's sites and removed
station ids are kept as JSON text; times are UTC. Names are cleaned as station text is
(:func:`geo.rules.clean_text`) and unique within a region by the rule station names are compared by
(:func:`geo.rules.name_key`: regardless of case, width and spaces), enforced by a unique index on
that key, so two planners saving at once cannot both take a name.

Turning a scenario into planned stations (:meth:`ScenarioStore.create_planned_stations`) is one
transaction: it claims the scenario with a compare-and-set on its ``converted_at`` (``UPDATE ...
WHERE converted_at IS NULL``), stores the stations and records their ids, and all of it commits
or none does. Of several concurrent callers exactly one wins and creates the stations, the others
are refused. Deleting a scenario keeps its row (who deleted it, and when) but frees
its name.
"""

from __future__ import annotations

import builtins
import dataclasses
import json
import math
from dataclasses import dataclass
from datetime import UTC, datetime
from numbers import Real

from sqlalchemy import Float, Index, Integer, String, Text, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Mapped, mapped_column

from geo.database import Base, Database, UTCDateTime
from geo.groups import GROUPS
from geo.rules import clean_text, name_key
from geo.stations import KINDS, Station
from geo.store import StationStore

#: Longest scenario name, in characters.
NAME_LIMIT: int = 120

#: Longest region id (the stations' region column).
REGION_LIMIT: int = 100

#: Longest name of an added site; it becomes a station name and part of its host.
SITE_NAME_LIMIT: int = 120

#: Longest category of an added site; with the name it fits a station's 200-character host.
SITE_CATEGORY_LIMIT: int = 60

#: Most station ids a scenario may switch off.
REMOVED_LIMIT: int = 1000

#: Longest note, in characters. A scenario's note is copied into the notes of the planned
#: stations made from it, after a line naming the scenario.
NOTE_LIMIT: int = 2000

#: Longest key of a name (:func:`geo.rules.name_key`), the width of its column: compatibility
#: and case folding make a name longer only in rare scripts; a name whose key is longer still
#: is refused as too long.
_KEY_LIMIT: int = 3 * NAME_LIMIT


@dataclass(frozen=True)
class ScenarioSite:
    """A hypothetical new station of a scenario.

    Attributes:
        lon: WGS-84 longitude.
        lat: WGS-84 latitude.
        name: the site's name (e.g. the place that would host it), may be empty.
        category: what kind of place it is (e.g. ``fuel``), may be empty.
    """

    lon: float
    lat: float
    name: str = ""
    category: str = ""


@dataclass(frozen=True)
class Scenario:
    """A saved what-if: stations added to and removed from a region's network.

    Attributes:
        region: the region's id.
        name: unique within the region, compared by :func:`geo.rules.name_key`.
        group: the worker group's id (:data:`geo.groups.GROUPS`).
        threshold_min: the travel-time threshold the planner looked at, in minutes.
        added: hypothetical new stations.
        removed: ids of existing stations switched off in the scenario.
        note: free text.
        id: set by the store.
        created_by: who saved it, set by the store.
        created_at: when it was saved (UTC), set by the store.
        planned_station_ids: the stations created from it, empty until it is converted.
    """

    region: str
    name: str
    group: str
    threshold_min: float
    added: tuple[ScenarioSite, ...] = ()
    removed: tuple[int, ...] = ()
    note: str = ""
    id: int | None = None
    created_by: str = ""
    created_at: datetime | None = None
    planned_station_ids: tuple[int, ...] = ()


class ScenarioInvalid(ValueError):
    """A scenario failed validation, or cannot be converted into planned stations.

    Attributes:
        errors: field name (a :class:`Scenario` field, ``kind``, or ``scenario`` for the
            scenario as a whole) -> message.
    """

    def __init__(self, errors: dict[str, str]) -> None:
        """Make the error.

        Args:
            errors: field name -> message.
        """
        super().__init__("; ".join(f"{k}: {v}" for k, v in errors.items()))
        self.errors = errors


class _ScenarioRow(Base):
    """One scenario; ``deleted_at`` marks a deleted one, whose ``name_key`` is cleared.

    ``converted_at`` and ``planned_station_ids`` (JSON text) are set by the transaction that
    turns the scenario into stations.
    """

    __tablename__ = "scenarios"
    __table_args__ = (
        Index("ix_scenarios_region_name_key", "region", "name_key", unique=True),
        {"sqlite_autoincrement": True},
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    region: Mapped[str] = mapped_column(String(REGION_LIMIT), index=True)
    name: Mapped[str] = mapped_column(String(NAME_LIMIT))
    name_key: Mapped[str | None] = mapped_column(String(_KEY_LIMIT))
    group: Mapped[str] = mapped_column("worker_group", String(20))
    threshold_min: Mapped[float] = mapped_column(Float)
    added: Mapped[str] = mapped_column(Text)
    removed: Mapped[str] = mapped_column(Text)
    note: Mapped[str] = mapped_column(Text)
    created_by: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    converted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    planned_station_ids: Mapped[str] = mapped_column(Text)
    deleted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    deleted_by: Mapped[str | None] = mapped_column(Text)


class ScenarioStore:
    """Saved what-if scenarios in the app's database."""

    def __init__(self, database: Database) -> None:
        """Keep scenarios in a database.

        Args:
            database: the app's database, already at the newest schema.
        """
        self._database = database

    def close(self) -> None:
        """Release the database connections."""
        self._database.close()

    def save(self, scenario: Scenario, *, actor: str) -> Scenario:
        """Store a new scenario.

        Args:
            scenario: the scenario; its ``id``, ``created_by``, ``created_at`` and
                ``planned_station_ids`` are ignored. Its name is stored cleaned
                (:func:`geo.rules.clean_text`).
            actor: who saves it.

        Returns:
            The stored scenario with ``id``, ``created_by`` = ``actor`` and ``created_at`` (UTC)
            set.

        Raises:
            ScenarioInvalid: a field does not validate, or the region already has a scenario
                of that name (compared by :func:`geo.rules.name_key`); nothing is stored.
        """
        if isinstance(scenario.name, str):
            scenario = dataclasses.replace(scenario, name=clean_text(scenario.name))
        errors = scenario_errors(scenario)
        if errors:
            raise ScenarioInvalid(errors)
        name = scenario.name
        row = _ScenarioRow(
            region=scenario.region, name=name, name_key=name_key(name), group=scenario.group,
            threshold_min=float(scenario.threshold_min), added=_sites_json(scenario.added),
            removed=json.dumps([int(i) for i in scenario.removed]), note=scenario.note,
            created_by=actor, created_at=datetime.now(UTC), converted_at=None,
            planned_station_ids="[]", deleted_at=None, deleted_by=None,
        )
        try:
            with self._database.transaction() as session:
                session.add(row)
        except IntegrityError:
            raise ScenarioInvalid({"name": f"region {scenario.region!r} already has a scenario "
                                           f"named {name!r}"}) from None
        return _to_scenario(row)

    def get(self, scenario_id: int) -> Scenario:
        """Read one scenario.

        Args:
            scenario_id: the scenario's id.

        Returns:
            The scenario.

        Raises:
            KeyError: no such scenario, or it was deleted.
        """
        with self._database.session() as session:
            row = session.get(_ScenarioRow, scenario_id)
            if row is None or row.deleted_at is not None:
                raise KeyError(scenario_id)
            return _to_scenario(row)

    def list(self, region: str | None = None) -> list[Scenario]:
        """List the scenarios that are not deleted, newest first.

        Args:
            region: only this region's scenarios.

        Returns:
            The scenarios, by ``created_at`` then id, both descending.
        """
        query = (
            select(_ScenarioRow).where(_ScenarioRow.deleted_at.is_(None))
            .order_by(_ScenarioRow.created_at.desc(), _ScenarioRow.id.desc())
        )
        if region is not None:
            query = query.where(_ScenarioRow.region == region)
        with self._database.session() as session:
            return [_to_scenario(row) for row in session.scalars(query)]

    def delete(self, scenario_id: int, *, actor: str) -> None:
        """Delete a scenario: it is no longer read or listed, and its name is free again.

        Stations already created from it stay.

        Args:
            scenario_id: the scenario's id.
            actor: who deletes it (kept with the deleted row).

        Raises:
            KeyError: no such scenario, or it was already deleted.
        """
        with self._database.transaction() as session:
            result = session.execute(
                update(_ScenarioRow)
                .where(_ScenarioRow.id == scenario_id, _ScenarioRow.deleted_at.is_(None))
                .values(deleted_at=datetime.now(UTC), deleted_by=actor, name_key=None)
            )
        # An UPDATE's result is a CursorResult; SQLAlchemy types execute() as Result.
        if result.rowcount != 1:  # type: ignore[attr-defined]
            raise KeyError(scenario_id)

    def create_planned_stations(self, scenario_id: int, stations: StationStore, *, actor: str,
                                kind: str) -> builtins.list[Station]:
        """Turn a scenario's added sites into planned station records, once.

        Each site becomes a station with status ``planned``, named after the site or else
        ``"<scenario name> <n>"`` (n counting the sites from 1), hosted by the site (its name
        and category), in the scenario's region, with notes naming the scenario. They are
        stored in one batch by :meth:`StationStore.add_many` (history action ``create`` by
        ``actor``) and their ids recorded on the scenario.

        It is one transaction: the scenario is claimed by a compare-and-set before any station
        is made, so concurrent calls create the stations once, and the claim, the stations and
        their ids commit together or, if anything fails, not at all.

        Args:
            scenario_id: the scenario's id.
            stations: the station store to add them to, on this store's database.
            actor: who converts it, for the stations' history.
            kind: the stations' kind, one of :data:`geo.stations.KINDS`.

        Returns:
            The stored stations, in the order of the sites.

        Raises:
            KeyError: no such scenario, or it was deleted.
            ScenarioInvalid: ``kind`` is unknown (field ``kind``), or the scenario has no added
                sites or was already converted (field ``scenario``).
            StationInvalid: a station made from a site does not validate; nothing is stored.
            ValueError: the station store works in another database.
        """
        if stations.database is not self._database:
            raise ValueError("the station store must work in the scenario store's database")
        if kind not in KINDS:
            raise ScenarioInvalid({"kind": f"unknown kind {kind!r}; use one of "
                                           f"{', '.join(KINDS)}"})
        scenario = self.get(scenario_id)
        if not scenario.added:
            raise ScenarioInvalid({"scenario": "it adds no sites to turn into stations"})
        planned = [_planned_station(scenario, number, site, kind)
                   for number, site in enumerate(scenario.added, start=1)]
        with self._database.transaction() as session:
            claimed = session.execute(
                update(_ScenarioRow)
                .where(_ScenarioRow.id == scenario_id, _ScenarioRow.deleted_at.is_(None),
                       _ScenarioRow.converted_at.is_(None))
                .values(converted_at=datetime.now(UTC))
            )
            # An UPDATE's result is a CursorResult; SQLAlchemy types execute() as Result.
            if claimed.rowcount != 1:  # type: ignore[attr-defined]
                self.get(scenario_id)
                raise ScenarioInvalid({"scenario": "it was already turned into planned stations"})
            stored = stations.add_many(planned, actor=actor, action="create")
            session.execute(
                update(_ScenarioRow).where(_ScenarioRow.id == scenario_id)
                .values(planned_station_ids=json.dumps([s.id for s in stored]))
            )
        return stored


def scenario_errors(scenario: Scenario) -> dict[str, str]:
    """Check a scenario before it is saved (its name's uniqueness is checked by the store).

    Args:
        scenario: the scenario.

    Returns:
        Field name -> message for every problem found; empty if it can be saved.
    """
    errors: dict[str, str] = {}
    for field, limit in (("region", REGION_LIMIT), ("name", NAME_LIMIT)):
        value = getattr(scenario, field)
        if not isinstance(value, str) or not value.strip():
            errors[field] = f"{field} is required"
        elif len(value.strip()) > limit:
            errors[field] = f"{field} may be at most {limit} characters long"
    if "name" not in errors and len(name_key(scenario.name)) > _KEY_LIMIT:
        errors["name"] = "name is too long once its characters are compared"
    if scenario.group not in GROUPS:
        errors["group"] = (f"unknown worker group {scenario.group!r}; use one of "
                           f"{', '.join(GROUPS)}")
    if not _is_number(scenario.threshold_min) or scenario.threshold_min <= 0:
        errors["threshold_min"] = "threshold_min must be a number of minutes above 0"
    if not isinstance(scenario.note, str) or len(scenario.note) > NOTE_LIMIT:
        errors["note"] = f"note must be text of at most {NOTE_LIMIT} characters"
    site_problems = [f"new station {number}: {problem}"
                     for number, site in enumerate(scenario.added, start=1)
                     for problem in _site_problems(site)]
    if site_problems:
        errors["added"] = "; ".join(site_problems)
    removed_problem = _removed_problem(scenario.removed)
    if removed_problem:
        errors["removed"] = removed_problem
    if not scenario.added and not scenario.removed:
        errors["added"] = "a scenario adds at least one station or removes one"
    return errors


def _site_problems(site: ScenarioSite) -> list[str]:
    """Check one added site.

    Args:
        site: the site.

    Returns:
        What is wrong with it; empty if nothing.
    """
    problems = []
    for field, limit in (("lon", 180), ("lat", 90)):
        value = getattr(site, field)
        if not _is_number(value) or abs(value) > limit:
            problems.append(f"{field} must be a number from -{limit} to {limit}")
    for field, limit in (("name", SITE_NAME_LIMIT), ("category", SITE_CATEGORY_LIMIT)):
        value = getattr(site, field)
        if not isinstance(value, str) or len(value) > limit:
            problems.append(f"{field} must be text of at most {limit} characters")
    return problems


def _removed_problem(removed: tuple[int, ...]) -> str:
    """Check the ids of the stations a scenario switches off.

    Args:
        removed: the ids.

    Returns:
        What is wrong with them, or an empty string.
    """
    if not all(isinstance(i, int) and not isinstance(i, bool) and i > 0 for i in removed):
        return "removed must list station ids (whole numbers above 0)"
    if len(removed) > REMOVED_LIMIT:
        return f"removed may list at most {REMOVED_LIMIT} stations, not {len(removed)}"
    if len(set(removed)) != len(removed):
        return "removed lists a station more than once"
    return ""


def _is_number(value: object) -> bool:
    """Tell whether a value is a finite real number (booleans are not numbers here).

    Args:
        value: the value.

    Returns:
        True for a finite int or float (numpy's included).
    """
    return isinstance(value, Real) and not isinstance(value, bool) and math.isfinite(value)


def _planned_station(scenario: Scenario, number: int, site: ScenarioSite, kind: str) -> Station:
    """Make the planned station of one of a scenario's sites.

    Args:
        scenario: the scenario.
        number: the site's position among the scenario's sites, from 1.
        site: the site.
        kind: the station kind.

    Returns:
        The station, not yet stored.
    """
    host = f"{site.name} ({site.category})" if site.name and site.category else (
        site.name or site.category)
    notes = f"Planned from what-if scenario #{scenario.id} “{scenario.name}”."
    if scenario.note:
        notes += f"\n{scenario.note}"
    return Station(
        name=site.name or f"{scenario.name} {number}", region=scenario.region, kind=kind,
        lon=float(site.lon), lat=float(site.lat), status="planned", host=host, notes=notes,
    )


def _sites_json(sites: tuple[ScenarioSite, ...]) -> str:
    """Return the JSON text a scenario's sites are stored as.

    Args:
        sites: the sites.

    Returns:
        A JSON list of ``{lon, lat, name, category}`` objects.
    """
    return json.dumps(
        [{"lon": float(s.lon), "lat": float(s.lat), "name": s.name, "category": s.category}
         for s in sites],
        ensure_ascii=False,
    )


def _to_scenario(row: _ScenarioRow) -> Scenario:
    """Turn a row into a Scenario.

    Args:
        row: the ORM row.

    Returns:
        The scenario.
    """
    return Scenario(
        region=row.region, name=row.name, group=row.group, threshold_min=row.threshold_min,
        added=tuple(ScenarioSite(**site) for site in json.loads(row.added)),
        removed=tuple(json.loads(row.removed)), note=row.note, id=row.id,
        created_by=row.created_by, created_at=row.created_at,
        planned_station_ids=tuple(json.loads(row.planned_station_ids)),
    )
