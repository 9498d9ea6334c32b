"""Saved what-if scenarios, on SQLite and on PostgreSQL + PostGIS: saving, reading, listing and
deleting them, validation that names the field, names unique per region by the rule station
names are compared by, the migrations that make the table and key the names, and turning a
scenario into planned stations exactly once.

Tests that take ``store_url`` or ``database`` run on both back ends (the PostgreSQL fixtures in
``tests/conftest.py`` skip and say why when there is no server).
"""

import dataclasses
import math
from datetime import UTC, datetime

import pytest
from alembic import command
from sqlalchemy import create_engine, inspect, text
from sqlalchemy.exc import DBAPIError

from geo.database import Database
from geo.scenarios import (
    NOTE_LIMIT,
    REMOVED_LIMIT,
    Scenario,
    ScenarioInvalid,
    ScenarioSite,
    ScenarioStore,
)
from geo.stations import Station
from geo.store import StationStore
from tests.support import migrations_config, run_together, xinjiekou_station

#: Two hypothetical stations in Nanjing: one at a named place, one at a bare point.
SITES = (
    ScenarioSite(lon=118.7784, lat=32.0411, name="中石化加油站", category="fuel"),
    ScenarioSite(lon=118.7901, lat=32.0502),
)


def scenario(**changes) -> Scenario:
    """A valid scenario in Nanjing that adds two stations and removes one."""
    return dataclasses.replace(
        Scenario(region="nanjing", name="新街口加密方案", group="couriers", threshold_min=10,
                 added=SITES, removed=(7,), note="夏季高峰"),
        **changes)


@pytest.fixture
def scenarios(database) -> ScenarioStore:
    return ScenarioStore(database)


@pytest.fixture
def stations(database) -> StationStore:
    return StationStore(database)


# Saving and reading


def test_a_saved_scenario_reads_back_with_id_author_and_utc_time(scenarios):
    saved = scenarios.save(scenario(), actor="wang")
    assert saved.id is not None
    assert (saved.created_by, saved.created_at.tzinfo) == ("wang", UTC)
    assert dataclasses.replace(saved, id=None, created_by="", created_at=None) == scenario()
    assert scenarios.get(saved.id) == saved
    assert scenarios.get(saved.id).added == SITES
    assert saved.planned_station_ids == ()


def test_the_store_sets_its_own_fields_whatever_the_scenario_says(scenarios):
    saved = scenarios.save(scenario(name="  带空格  ", id=99, created_by="mallory",
                                    planned_station_ids=(1, 2)), actor="wang")
    assert (saved.name, saved.created_by, saved.planned_station_ids) == ("带空格", "wang", ())
    with pytest.raises(KeyError):
        scenarios.get(99)


def test_the_list_is_newest_first_and_narrows_to_a_region(scenarios):
    first = scenarios.save(scenario(name="一"), actor="wang")
    second = scenarios.save(scenario(name="二", region="shanghai"), actor="wang")
    third = scenarios.save(scenario(name="三"), actor="li")
    assert scenarios.list() == [third, second, first]
    assert scenarios.list("nanjing") == [third, first]
    assert scenarios.list("beijing") == []


def test_a_deleted_scenario_is_gone_and_frees_its_name(scenarios):
    saved = scenarios.save(scenario(), actor="wang")
    scenarios.delete(saved.id, actor="li")
    with pytest.raises(KeyError):
        scenarios.get(saved.id)
    assert scenarios.list() == []
    with pytest.raises(KeyError):
        scenarios.delete(saved.id, actor="li")
    with pytest.raises(KeyError):
        scenarios.delete(12345, actor="li")
    again = scenarios.save(scenario(), actor="wang")
    assert again.id != saved.id


def test_a_missing_scenario_is_a_key_error(scenarios):
    with pytest.raises(KeyError):
        scenarios.get(1)


# Validation


@pytest.mark.parametrize("changes, field", [
    ({"name": ""}, "name"),
    ({"name": "   "}, "name"),
    ({"name": "长" * 121}, "name"),
    ({"region": ""}, "region"),
    ({"group": "pilots"}, "group"),
    ({"threshold_min": 0}, "threshold_min"),
    ({"threshold_min": -5.0}, "threshold_min"),
    ({"threshold_min": math.nan}, "threshold_min"),
    ({"threshold_min": math.inf}, "threshold_min"),
    ({"added": (ScenarioSite(lon=181.0, lat=32.0),)}, "added"),
    ({"added": (ScenarioSite(lon=118.7, lat=-90.5),)}, "added"),
    ({"added": (ScenarioSite(lon=math.nan, lat=32.0),)}, "added"),
    ({"added": (ScenarioSite(lon=118.7, lat=math.inf),)}, "added"),
    ({"added": (ScenarioSite(lon=118.7, lat=32.0, name="名" * 121),)}, "added"),
    ({"added": (), "removed": ()}, "added"),
    ({"removed": (0,)}, "removed"),
    ({"removed": (3, 3)}, "removed"),
    ({"removed": tuple(range(1, REMOVED_LIMIT + 2))}, "removed"),
    ({"note": "注" * (NOTE_LIMIT + 1)}, "note"),
    ({"name": "\ufdfa" * 120}, "name"),
])
def test_a_bad_field_is_named_and_nothing_is_stored(scenarios, changes, field):
    with pytest.raises(ScenarioInvalid) as refused:
        scenarios.save(scenario(**changes), actor="wang")
    assert set(refused.value.errors) == {field}
    assert scenarios.list() == []


def test_every_bad_field_is_named_at_once(scenarios):
    with pytest.raises(ScenarioInvalid) as refused:
        scenarios.save(scenario(name="", group="pilots", threshold_min=0), actor="wang")
    assert set(refused.value.errors) == {"name", "group", "threshold_min"}


def test_a_scenario_that_only_removes_stations_is_valid(scenarios):
    saved = scenarios.save(scenario(added=(), removed=(3, 4)), actor="wang")
    assert (saved.added, saved.removed) == ((), (3, 4))


def test_names_are_unique_per_region_regardless_of_case(scenarios):
    scenarios.save(scenario(name="Summer Peak"), actor="wang")
    with pytest.raises(ScenarioInvalid) as refused:
        scenarios.save(scenario(name="summer peak"), actor="li")
    assert set(refused.value.errors) == {"name"}
    with pytest.raises(ScenarioInvalid):
        scenarios.save(scenario(name=" SUMMER PEAK "), actor="li")
    assert scenarios.save(scenario(name="Summer Peak", region="shanghai"), actor="li").id
    assert len(scenarios.list()) == 2


def test_names_are_compared_as_station_names_are(scenarios):
    saved = scenarios.save(scenario(name="\u202e S4\u200b "), actor="wang")
    assert saved.name == "S4" and scenarios.get(saved.id).name == "S4"
    for same in ("ｓ4", "s4", "s\u061c4", "S 4", "s\ufe0f4"):
        with pytest.raises(ScenarioInvalid) as refused:
            scenarios.save(scenario(name=same), actor="li")
        assert set(refused.value.errors) == {"name"}
    with pytest.raises(ScenarioInvalid) as refused:
        scenarios.save(scenario(name="\u200b\u3164"), actor="li")
    assert refused.value.errors == {"name": "name is required"}
    assert len(scenarios.list()) == 1


def test_a_longest_note_and_removed_list_are_kept(scenarios):
    removed = tuple(range(1, REMOVED_LIMIT + 1))
    saved = scenarios.save(scenario(note="注" * NOTE_LIMIT, removed=removed), actor="wang")
    assert (len(saved.note), saved.removed) == (NOTE_LIMIT, removed)


def test_of_planners_saving_the_same_name_at_once_exactly_one_wins(scenarios, store_url):
    stores = [ScenarioStore(Database(store_url)) for _ in range(4)]
    refused: list[ScenarioInvalid] = []

    def save(i: int) -> None:
        try:
            stores[i].save(scenario(name="同名方案"), actor=f"planner{i}")
        except ScenarioInvalid as error:
            refused.append(error)

    run_together(4, save)
    assert len(scenarios.list()) == 1 and len(refused) == 3
    assert all(set(error.errors) == {"name"} for error in refused)
    for store in stores:
        store.close()


# Planned stations


def test_conversion_makes_planned_stations_recorded_on_the_scenario_and_in_history(
        scenarios, stations):
    saved = scenarios.save(scenario(), actor="wang")
    created = scenarios.create_planned_stations(saved.id, stations, actor="li",
                                                kind="courier_home")
    assert [s.name for s in created] == ["中石化加油站", "新街口加密方案 2"]
    assert [(s.lon, s.lat) for s in created] == [(site.lon, site.lat) for site in SITES]
    assert {(s.status, s.kind, s.region) for s in created} == {
        ("planned", "courier_home", "nanjing")}
    assert [s.host for s in created] == ["中石化加油站 (fuel)", ""]
    assert all("新街口加密方案" in s.notes and f"#{saved.id}" in s.notes for s in created)
    assert stations.list(status="planned") == created
    assert scenarios.get(saved.id).planned_station_ids == tuple(s.id for s in created)
    for station in created:
        (entry,) = stations.history(station.id)
        assert (entry.actor, entry.action) == ("li", "create")


def test_a_second_conversion_is_refused_and_creates_nothing(scenarios, stations):
    saved = scenarios.save(scenario(), actor="wang")
    scenarios.create_planned_stations(saved.id, stations, actor="li", kind="courier_home")
    revision = stations.revision()
    with pytest.raises(ScenarioInvalid) as refused:
        scenarios.create_planned_stations(saved.id, stations, actor="li", kind="courier_home")
    assert set(refused.value.errors) == {"scenario"}
    assert stations.revision() == revision and stations.count() == 2


def test_a_scenario_without_added_sites_or_an_unknown_kind_cannot_be_converted(
        scenarios, stations):
    removing = scenarios.save(scenario(added=(), removed=(3,)), actor="wang")
    with pytest.raises(ScenarioInvalid) as no_sites:
        scenarios.create_planned_stations(removing.id, stations, actor="li", kind="love_station")
    assert set(no_sites.value.errors) == {"scenario"}
    adding = scenarios.save(scenario(name="另一个"), actor="wang")
    with pytest.raises(ScenarioInvalid) as bad_kind:
        scenarios.create_planned_stations(adding.id, stations, actor="li", kind="spa")
    assert set(bad_kind.value.errors) == {"kind"}
    with pytest.raises(KeyError):
        scenarios.create_planned_stations(999, stations, actor="li", kind="love_station")
    assert stations.count() == 0
    assert scenarios.create_planned_stations(adding.id, stations, actor="li",
                                             kind="love_station")


def test_a_conversion_failing_after_its_stations_are_stored_leaves_neither_stations_nor_mark(
        scenarios, stations, monkeypatch):
    saved = scenarios.save(scenario(), actor="wang")
    revision = stations.revision()
    store_many = stations.add_many
    stored: list[Station] = []

    def store_then_fail(planned: list[Station], actor: str, action: str) -> list[Station]:
        stored.extend(store_many(planned, actor=actor, action=action))
        raise ConnectionError("the database went away")

    monkeypatch.setattr(stations, "add_many", store_then_fail)
    with pytest.raises(ConnectionError):
        scenarios.create_planned_stations(saved.id, stations, actor="li", kind="courier_home")
    assert len(stored) == 2
    assert scenarios.get(saved.id).planned_station_ids == ()
    assert (stations.count(), stations.revision()) == (0, revision)
    assert stations.list(include_deleted=True) == []
    assert all(stations.history(s.id) == [] for s in stored)
    monkeypatch.undo()
    created = scenarios.create_planned_stations(saved.id, stations, actor="li",
                                                kind="courier_home")
    assert scenarios.get(saved.id).planned_station_ids == tuple(s.id for s in created)
    assert stations.count() == 2


def test_a_conversion_refused_by_the_database_on_its_last_write_leaves_no_stations(
        scenarios, stations, store_url):
    saved = scenarios.save(scenario(), actor="wang")
    engine = create_engine(store_url)
    with engine.begin() as connection:
        if connection.dialect.name == "sqlite":
            connection.execute(text(
                "CREATE TRIGGER refuse BEFORE UPDATE OF planned_station_ids ON scenarios "
                "BEGIN SELECT RAISE(ABORT, 'refused'); END"))
        else:
            connection.execute(text(
                "CREATE FUNCTION refuse() RETURNS trigger LANGUAGE plpgsql AS "
                "$$ BEGIN RAISE EXCEPTION 'refused'; END $$"))
            connection.execute(text(
                "CREATE TRIGGER refuse BEFORE UPDATE OF planned_station_ids ON scenarios "
                "FOR EACH ROW EXECUTE FUNCTION refuse()"))
    engine.dispose()
    with pytest.raises(DBAPIError):
        scenarios.create_planned_stations(saved.id, stations, actor="li", kind="courier_home")
    assert scenarios.get(saved.id).planned_station_ids == ()
    assert (stations.count(), stations.revision()) == (0, 0)


def test_a_conversion_into_a_station_store_of_another_database_is_refused(
        scenarios, tmp_path):
    saved = scenarios.save(scenario(), actor="wang")
    elsewhere = StationStore(Database(f"sqlite:///{tmp_path / 'elsewhere.db'}"))
    with pytest.raises(ValueError):
        scenarios.create_planned_stations(saved.id, elsewhere, actor="li", kind="courier_home")
    assert scenarios.get(saved.id).planned_station_ids == () and elsewhere.count() == 0
    elsewhere.close()


def test_of_staff_converting_at_once_exactly_one_creates_the_stations(scenarios, store_url):
    saved = scenarios.save(scenario(), actor="wang")
    workers = 6
    databases = [Database(store_url) for _ in range(workers)]
    pairs = [(ScenarioStore(database), StationStore(database)) for database in databases]
    created: list[list[Station]] = []
    refused: list[ScenarioInvalid] = []

    def convert(i: int) -> None:
        scenario_store, station_store = pairs[i]
        try:
            created.append(scenario_store.create_planned_stations(
                saved.id, station_store, actor=f"staff{i}", kind="courier_home"))
        except ScenarioInvalid as error:
            refused.append(error)

    run_together(workers, convert)
    assert len(created) == 1 and len(refused) == workers - 1
    assert pairs[0][1].count() == 2
    assert scenarios.get(saved.id).planned_station_ids == tuple(s.id for s in created[0])
    for scenario_store, station_store in pairs:
        scenario_store.close()
        station_store.close()


def test_deleting_a_converted_scenario_keeps_its_stations(scenarios, stations):
    stations.add(xinjiekou_station())
    saved = scenarios.save(scenario(), actor="wang")
    scenarios.create_planned_stations(saved.id, stations, actor="li", kind="courier_home")
    scenarios.delete(saved.id, actor="li")
    assert stations.count() == 3


# Schema


def test_scenarios_share_the_station_store_s_database_at_the_newest_migration(store_url):
    Database(store_url).close()
    engine = create_engine(store_url)
    with engine.connect() as connection:
        schema = connection.dialect.default_schema_name
        tables = set(inspect(connection).get_table_names(schema=schema))
        head = connection.execute(text("SELECT version_num FROM alembic_version")).scalar()
    engine.dispose()
    assert {"stations", "users", "scenarios"} <= tables
    assert head == "0006"


def test_scenarios_saved_under_the_old_name_rule_are_keyed_by_the_new_one(store_url):
    engine = create_engine(store_url)
    with engine.begin() as connection:
        command.upgrade(migrations_config(connection), "0004")
        for name in ("ｓ4", "S4", "Summer Peak", "gone"):
            connection.execute(text(
                "INSERT INTO scenarios (region, name, name_key, worker_group, threshold_min, "
                "added, removed, note, created_by, created_at, planned_station_ids, deleted_at) "
                "VALUES ('nanjing', :name, :key, 'couriers', 10, '[]', '[7]', '', 'wang', :at, "
                "'[]', :deleted_at)"),
                {"name": name, "key": None if name == "gone" else name.casefold(),
                 "at": datetime.now(UTC), "deleted_at": datetime.now(UTC) if name == "gone"
                 else None})
    engine.dispose()
    scenarios = ScenarioStore(Database(store_url))
    assert sorted(s.name for s in scenarios.list()) == ["S4", "Summer Peak", "ｓ4"]
    for taken in ("s4", "ＳＵＭＭＥＲ  peak"):
        with pytest.raises(ScenarioInvalid):
            scenarios.save(scenario(name=taken), actor="li")
    assert scenarios.save(scenario(name="Gone"), actor="li").id
    scenarios.close()
    engine = create_engine(store_url)
    with engine.begin() as connection:
        keys = connection.execute(text(
            "SELECT name, name_key FROM scenarios ORDER BY id")).all()
        command.downgrade(migrations_config(connection), "0004")
        old_keys = connection.execute(text("SELECT name_key FROM scenarios ORDER BY id")).all()
    engine.dispose()
    assert keys == [("ｓ4", "s4"), ("S4", "s4\n2"), ("Summer Peak", "summerpeak"),
                    ("gone", None), ("Gone", "gone")]
    assert [key for key, in old_keys] == ["ｓ4", "s4", "summer peak", None, "gone"]
