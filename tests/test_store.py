"""The station store, on SQLite and on PostgreSQL + PostGIS: records, validation, versions,
concurrency, history, restore, bulk imports, nearby stations, demo data and schema migrations.

Every test that takes the ``store`` (or ``database``, ``store_url``) fixture runs on both back
ends. The PostgreSQL runs need a server at ``YIZHAN_TEST_POSTGRES`` (a role that may create
databases) with the PostGIS extension installed; without one they skip and say why. The test run
works in one scratch database, dropped at the end, and every test in a fresh schema of it (see
``tests/conftest.py``).
"""

import dataclasses
import json
import math
import sqlite3
import stat
import subprocess
import sys
from datetime import UTC, date
from itertools import pairwise

import pytest
from alembic import command
from sqlalchemy import create_engine, inspect, text
from sqlalchemy.exc import DBAPIError

from geo.database import Database
from geo.stations import Station
from geo.store import (
    EARTH_RADIUS_M,
    INSERT_BATCH_ROWS,
    HistoryEntry,
    StationInvalid,
    StationStore,
    VersionConflict,
    default_store_url,
)
from tests.support import (
    STORE_XINJIEKOU,
    migrations_config,
    moved,
    run_together,
    scratch_database,
    xinjiekou_station,
)

#: The public interface of the store. History has a reader and no writer.
STORE_INTERFACE = {
    "add", "add_many", "get", "is_deleted", "list", "count", "within", "update", "set_status",
    "delete", "restore", "replace_demo", "history", "revision", "changed_since",
    "close",
}

@pytest.fixture
def store(database) -> StationStore:
    """An empty store on each back end."""
    return StationStore(database)


# Records


def test_an_added_station_reads_back_exactly_with_id_timestamps_and_version_1(store):
    added = store.add(xinjiekou_station())
    assert added.id is not None
    assert added.version == 1
    assert added.created_at == added.updated_at
    assert added.created_at.tzinfo == UTC
    read = store.get(added.id)
    assert read == added
    assert read.name == "新街口爱心驿站"
    assert read.amenities == ("drinking_water", "microwave", "phone_charging")
    assert read.verified_on == date(2024, 5, 1)
    assert store.list() == [added]


def test_the_store_survives_reopening(store_url):
    first = StationStore(Database(store_url))
    added = first.add(xinjiekou_station())
    first.close()
    second = StationStore(Database(store_url))
    assert second.get(added.id) == added
    assert second.history(added.id)[0].action == "create"
    second.close()


def test_list_filters_by_region_status_and_kind(store):
    a = store.add(xinjiekou_station())
    b = store.add(xinjiekou_station(name="快递员之家", kind="courier_home", status="planned"))
    c = store.add(xinjiekou_station(name="济南驿站", region="jinan"))
    assert store.list(region="nanjing") == [a, b]
    assert store.list(status="planned") == [b]
    assert store.list(kind="love_station") == [a, c]
    assert store.list(region="nanjing", kind="courier_home", status="open") == []
    assert store.count() == 3
    assert store.count(region="jinan") == 1
    assert store.list(ids=[c.id, a.id]) == [a, c]
    assert store.list(region="nanjing", ids=[c.id]) == [] and store.list(ids=[]) == []


def test_a_missing_station_is_a_key_error(store):
    with pytest.raises(KeyError):
        store.get(999)
    with pytest.raises(KeyError):
        store.is_deleted(999)


# Validation


def test_validation_errors_name_every_bad_field_and_nothing_is_stored(store):
    bad = xinjiekou_station(name="", kind="spa", amenities=("sauna",), lat=95.0, phone="电话")
    with pytest.raises(StationInvalid) as err:
        store.add(bad)
    assert set(err.value.errors) == {"name", "kind", "amenities", "lat", "phone"}
    assert "sauna" in err.value.errors["amenities"]
    assert store.count() == 0


def test_text_longer_than_its_column_and_a_verified_on_that_is_no_date_are_invalid(store):
    with pytest.raises(StationInvalid) as err:
        store.add(xinjiekou_station(name="驿" * 201, phone="1" * 61, verified_on="2024-05-01"))
    assert set(err.value.errors) == {"name", "phone", "verified_on"}
    assert "200" in err.value.errors["name"]
    assert store.add(xinjiekou_station(name="驿" * 200)).name == "驿" * 200


def test_an_update_is_validated_and_may_not_touch_store_fields(store):
    added = store.add(xinjiekou_station())
    with pytest.raises(StationInvalid) as err:
        store.update(added.id, {"opening_hours": "8点到18点", "capacity": -1}, 1)
    assert set(err.value.errors) == {"opening_hours", "capacity"}
    with pytest.raises(StationInvalid) as err:
        store.update(added.id, {"version": 7, "colour": "red"}, 1)
    assert set(err.value.errors) == {"version", "colour"}
    assert store.get(added.id) == added


# Versions and concurrency


def test_an_update_increments_the_version_and_keeps_created_at(store):
    added = store.add(xinjiekou_station())
    updated = store.update(added.id, {"notes": "新增休息床", "amenities": ("rest_beds",)}, 1)
    assert updated.version == 2
    assert updated.notes == "新增休息床"
    assert updated.amenities == ("rest_beds",)
    assert updated.created_at == added.created_at
    assert updated.updated_at > added.updated_at
    assert store.get(added.id) == updated


def test_an_update_based_on_a_stale_version_is_a_conflict_carrying_the_current_record(store):
    added = store.add(xinjiekou_station())
    store.update(added.id, {"notes": "第一次修改"}, expected_version=1)
    with pytest.raises(VersionConflict) as err:
        store.update(added.id, {"notes": "基于旧版本的修改"}, expected_version=1)
    assert err.value.current.version == 2
    assert err.value.current.notes == "第一次修改"
    assert store.get(added.id).notes == "第一次修改"


def test_of_concurrent_writers_with_the_same_version_exactly_one_wins(store):
    added = store.add(xinjiekou_station())
    writers = 8
    outcomes: list[object] = [None] * writers

    def write(i: int) -> None:
        try:
            outcomes[i] = store.update(added.id, {"notes": f"writer {i}"}, expected_version=1,
                                       actor=f"writer {i}")
        except VersionConflict as conflict:
            outcomes[i] = conflict

    run_together(writers, write)
    winners = [o for o in outcomes if isinstance(o, Station)]
    losers = [o for o in outcomes if isinstance(o, VersionConflict)]
    assert len(winners) == 1
    assert len(losers) == writers - 1
    assert store.get(added.id) == winners[0]
    assert winners[0].version == 2
    (entry,) = [e for e in store.history(added.id) if e.action == "update"]
    assert entry.actor == winners[0].notes


def test_editors_who_retry_on_conflict_lose_no_edit_and_the_last_accepted_one_stands(store):
    added = store.add(xinjiekou_station())
    editors, edits_each = 4, 5
    accepted: list[tuple[str, Station]] = []

    def edit(editor: int) -> None:
        for k in range(edits_each):
            base = store.get(added.id)
            while True:
                try:
                    result = store.update(added.id, {"notes": f"editor {editor} edit {k}"},
                                          base.version, actor=f"editor {editor}")
                except VersionConflict as conflict:
                    base = conflict.current
                    continue
                accepted.append((f"editor {editor}", result))
                break

    run_together(editors, edit)
    assert len(accepted) == editors * edits_each
    last = max((station for _, station in accepted), key=lambda s: s.version)
    assert store.get(added.id) == last
    assert last.version == 1 + editors * edits_each
    updates = store.history(added.id)[1:]
    assert [entry.version for entry in updates] == list(range(2, 2 + editors * edits_each))
    assert sorted((e.actor, e.changes["notes"][1]) for e in updates) == sorted(
        (actor, station.notes) for actor, station in accepted
    )
    for before, after in pairwise(updates):
        assert after.changes["notes"][0] == before.changes["notes"][1]


def test_set_status_suspends_a_station_and_rejects_unknown_statuses(store):
    added = store.add(xinjiekou_station())
    suspended = store.set_status(added.id, "suspended", expected_version=1)
    assert suspended.status == "suspended"
    assert suspended.version == 2
    assert store.list(status="suspended") == [suspended]
    assert store.list(status="open") == []
    with pytest.raises(StationInvalid) as err:
        store.set_status(added.id, "demolished", expected_version=2)
    assert "status" in err.value.errors
    with pytest.raises(VersionConflict):
        store.set_status(added.id, "open", expected_version=1)


# Delete and restore


def test_a_deleted_station_is_hidden_from_lists_and_counts_but_kept_and_readable(store):
    kept = store.add(xinjiekou_station())
    gone = store.add(xinjiekou_station(name="已撤销的驿站"))
    with pytest.raises(VersionConflict):
        store.delete(gone.id, expected_version=2)
    store.delete(gone.id, expected_version=1)
    assert store.list() == [kept]
    assert store.count() == 1
    assert store.is_deleted(gone.id)
    assert not store.is_deleted(kept.id)
    assert store.get(gone.id).version == 2
    assert [s.name for s in store.list(include_deleted=True)] == ["新街口爱心驿站", "已撤销的驿站"]


def test_a_deleted_station_cannot_be_changed_or_deleted_again(store):
    gone = store.add(xinjiekou_station())
    store.delete(gone.id, expected_version=1)
    with pytest.raises(KeyError):
        store.update(gone.id, {"notes": "改"}, expected_version=2)
    with pytest.raises(KeyError):
        store.delete(gone.id, expected_version=2)


def test_a_delete_is_undone_by_restore_based_on_the_deleted_version(store):
    added = store.add(xinjiekou_station())
    store.delete(added.id, expected_version=1, actor="王芳")
    with pytest.raises(VersionConflict) as err:
        store.restore(added.id, expected_version=1)
    assert err.value.current.version == 2
    restored = store.restore(added.id, expected_version=2, actor="李强")
    assert restored.version == 3
    assert restored.updated_at > added.updated_at
    assert dataclasses.replace(restored, version=1, updated_at=added.updated_at) == added
    assert not store.is_deleted(added.id)
    assert store.list() == [restored]
    assert store.get(added.id) == restored


def test_only_a_deleted_station_can_be_restored(store):
    added = store.add(xinjiekou_station())
    with pytest.raises(KeyError):
        store.restore(added.id, expected_version=1)
    with pytest.raises(KeyError):
        store.restore(999, expected_version=1)


# History


def test_a_new_station_s_history_starts_with_create_listing_every_field_as_json(store):
    added = store.add(xinjiekou_station(), actor="王芳")
    (entry,) = store.history(added.id)
    assert isinstance(entry, HistoryEntry)
    assert (entry.action, entry.actor, entry.version) == ("create", "王芳", 1)
    assert entry.at == added.created_at
    assert entry.changes["name"] == [None, "新街口爱心驿站"]
    assert entry.changes["amenities"] == [None, ["drinking_water", "microwave", "phone_charging"]]
    assert entry.changes["verified_on"] == [None, "2024-05-01"]
    assert entry.changes["capacity"] == [None, 12]
    assert set(entry.changes) == {
        f.name for f in dataclasses.fields(Station)
        if f.name not in {"id", "created_at", "updated_at", "version"}
    }


def test_an_update_records_only_the_fields_it_changed_before_and_after(store):
    added = store.add(xinjiekou_station())
    updated = store.update(
        added.id,
        {"notes": "新增休息床", "amenities": ("rest_beds",), "verified_on": date(2025, 1, 2),
         "phone": added.phone},
        expected_version=1, actor="李强",
    )
    entry = store.history(added.id)[-1]
    assert (entry.action, entry.actor, entry.version) == ("update", "李强", 2)
    assert entry.at == updated.updated_at
    assert entry.changes == {
        "notes": ["夏季提供防暑降温用品", "新增休息床"],
        "amenities": [["drinking_water", "microwave", "phone_charging"], ["rest_beds"]],
        "verified_on": ["2024-05-01", "2025-01-02"],
    }


def test_status_delete_and_restore_are_recorded_oldest_first_with_their_actors(store):
    added = store.add(xinjiekou_station(), actor="王芳")
    store.set_status(added.id, "suspended", expected_version=1, actor="李强")
    store.delete(added.id, expected_version=2, actor="张伟")
    store.restore(added.id, expected_version=3, actor="王芳")
    history = store.history(added.id)
    assert [(e.action, e.actor, e.version) for e in history] == [
        ("create", "王芳", 1), ("status", "李强", 2), ("delete", "张伟", 3),
        ("restore", "王芳", 4),
    ]
    assert history[1].changes == {"status": ["open", "suspended"]}
    assert history[2].changes == history[3].changes == {}
    assert [e.at for e in history] == sorted(e.at for e in history)


def test_writes_without_an_actor_are_recorded_as_the_system(store):
    added = store.add(xinjiekou_station())
    store.update(added.id, {"notes": "改"}, expected_version=1)
    assert {e.actor for e in store.history(added.id)} == {"system"}


def test_the_history_can_only_be_read_and_refused_writes_leave_no_trace(store):
    assert {name for name in dir(StationStore) if not name.startswith("_")} == STORE_INTERFACE
    added = store.add(xinjiekou_station())
    entry = store.history(added.id)[0]
    with pytest.raises(dataclasses.FrozenInstanceError):
        entry.actor = "someone else"
    with pytest.raises(VersionConflict):
        store.update(added.id, {"notes": "改"}, expected_version=5)
    with pytest.raises(StationInvalid):
        store.update(added.id, {"kind": "spa"}, expected_version=1)
    with pytest.raises(KeyError):
        store.restore(added.id, expected_version=1)
    assert store.history(added.id) == [entry]
    assert store.history(999) == []


def test_imports_and_demo_stations_are_recorded_with_their_action(store):
    (imported,) = store.add_many([xinjiekou_station()], actor="导入员")
    (demo,) = store.replace_demo("nanjing", [xinjiekou_station(name="演示（演示）", demo=True)])
    assert [(e.action, e.actor) for e in store.history(imported.id)] == [("import", "导入员")]
    assert [(e.action, e.actor) for e in store.history(demo.id)] == [("demo", "system")]
    assert store.history(demo.id)[0].changes["demo"] == [None, True]


def test_station_ids_are_never_reused_so_a_history_belongs_to_one_station(store):
    first = store.replace_demo("nanjing", [xinjiekou_station(name=f"演示 {i}（演示）", demo=True)
                                           for i in range(3)])
    second = store.replace_demo("nanjing", [xinjiekou_station(name="新演示（演示）", demo=True)])
    assert second[0].id > max(s.id for s in first)
    assert [e.action for e in store.history(second[0].id)] == ["demo"]
    assert [e.action for e in store.history(first[-1].id)] == ["demo", "delete"]


# Bulk import


def test_add_many_stores_a_batch_in_order_each_with_an_import_entry(store):
    batch = [xinjiekou_station(name=f"驿站 {i}") for i in range(4)]
    before = store.revision()
    stored = store.add_many(batch, actor="导入员")
    assert [s.name for s in stored] == [s.name for s in batch]
    assert store.list() == stored
    assert all(s.version == 1 for s in stored)
    assert store.revision() > before
    assert [store.history(s.id)[0].action for s in stored] == ["import"] * 4
    assert store.add_many([]) == []


def test_add_many_rejects_a_batch_with_one_bad_station_whole_and_names_it(store):
    batch = [xinjiekou_station(name=f"驿站 {i}") for i in range(4)]
    batch[2] = xinjiekou_station(name="", lon=200.0)
    before = store.revision()
    with pytest.raises(StationInvalid) as err:
        store.add_many(batch, actor="导入员")
    assert err.value.index == 2
    assert set(err.value.errors) == {"name", "lon"}
    assert store.list(include_deleted=True) == []
    assert store.revision() == before


def test_add_many_only_records_actions_that_insert_stations(store):
    with pytest.raises(ValueError):
        store.add_many([xinjiekou_station()], action="update")
    assert store.count() == 0


def test_a_bulk_insert_of_several_batches_keeps_every_station_with_its_own_history(
        store, store_url):
    batch = [xinjiekou_station(name=f"驿站 {i}", lon=STORE_XINJIEKOU[0] + i * 1e-4)
             for i in range(2 * INSERT_BATCH_ROWS + 7)]
    stored = store.add_many(batch, actor="导入员")
    assert [s.name for s in stored] == [s.name for s in batch]
    assert [s.id for s in stored] == sorted({s.id for s in stored})
    assert store.list() == stored
    engine = create_engine(store_url)
    with engine.connect() as connection:
        entries = connection.execute(text(
            "SELECT station_id, action, version, changes FROM station_history")).all()
    engine.dispose()
    assert len(entries) == len(stored)
    names = {s.id: s.name for s in stored}
    for station_id, action, version, changes in entries:
        changes = json.loads(changes) if isinstance(changes, str) else changes
        assert (action, version, changes["name"]) == ("import", 1, [None, names[station_id]])
    assert store.history(stored[-1].id)[0].changes["lon"] == [None, stored[-1].lon]


def test_imports_running_at_once_give_every_station_its_own_history(store_url):
    stores = [StationStore(Database(store_url)) for _ in range(3)]

    def add(i: int) -> None:
        stores[i].add_many([xinjiekou_station(name=f"导入 {i} 站 {n}",
                                              lon=STORE_XINJIEKOU[0] + n * 1e-5)
                            for n in range(INSERT_BATCH_ROWS + 3)], actor=f"导入员 {i}")

    run_together(len(stores), add)
    for station_store in stores:
        station_store.close()
    engine = create_engine(store_url)
    with engine.connect() as connection:
        pairs = connection.execute(text(
            "SELECT s.name, h.changes, h.actor FROM stations s "
            "JOIN station_history h ON h.station_id = s.id")).all()
    engine.dispose()
    assert len(pairs) == len({name for name, _, _ in pairs}) == 3 * (INSERT_BATCH_ROWS + 3)
    for name, changes, actor in pairs:
        changes = json.loads(changes) if isinstance(changes, str) else changes
        assert changes["name"] == [None, name] and actor == f"导入员 {name.split()[1]}"


def test_an_import_refused_by_the_database_on_a_late_row_stores_nothing(store, store_url):
    refuse_row_named(store_url, "refused")
    batch = [xinjiekou_station(name=f"驿站 {i}", lon=STORE_XINJIEKOU[0] + i * 1e-4)
             for i in range(2 * INSERT_BATCH_ROWS + 7)]
    batch[-3] = dataclasses.replace(batch[-3], name="refused")
    before = store.revision()
    with pytest.raises(DBAPIError, match="refused"):
        store.add_many(batch, actor="导入员")
    assert store.list(include_deleted=True) == []
    assert store.revision() == before
    engine = create_engine(store_url)
    with engine.connect() as connection:
        assert connection.execute(text("SELECT count(*) FROM station_history")).scalar() == 0
    engine.dispose()


def refuse_row_named(url: str, name: str) -> None:
    """Make the database refuse to insert a station of this name (a trigger), as a database
    refuses a row for reasons of its own."""
    engine = create_engine(url)
    with engine.begin() as connection:
        if connection.dialect.name == "sqlite":
            connection.execute(text(
                f"CREATE TRIGGER refuse BEFORE INSERT ON stations WHEN NEW.name = '{name}' "
                f"BEGIN SELECT RAISE(ABORT, 'refused'); END"))
        else:
            connection.execute(text(
                f"CREATE FUNCTION refuse() RETURNS trigger AS $$ BEGIN IF NEW.name = '{name}' "
                f"THEN RAISE EXCEPTION 'refused'; END IF; RETURN NEW; END $$ LANGUAGE plpgsql"))
            connection.execute(text("CREATE TRIGGER refuse BEFORE INSERT ON stations "
                                    "FOR EACH ROW EXECUTE FUNCTION refuse()"))
    engine.dispose()


# Nearby stations


def test_within_finds_the_stations_in_reach_nearest_first_with_their_distances(store):
    lon, lat = STORE_XINJIEKOU
    ten = store.add(xinjiekou_station(name="10 m 北", lon=lon, lat=moved(lon, lat, 10, 0)[1]))
    forty = store.add(xinjiekou_station(name="40 m 东", lon=moved(lon, lat, 0, 40)[0], lat=lat))
    eighty_lon, eighty_lat = moved(lon, lat, -80 / math.sqrt(2), -80 / math.sqrt(2))
    eighty = store.add(xinjiekou_station(name="80 m 西南", lon=eighty_lon, lat=eighty_lat))
    other_lon, other_lat = moved(lon, lat, 20, 0)
    jinan = store.add(xinjiekou_station(name="别的区域", region="jinan", lon=other_lon,
                                        lat=other_lat))
    deleted = store.add(xinjiekou_station(name="已删除", lon=lon, lat=moved(lon, lat, 5, 0)[1]))
    store.delete(deleted.id, expected_version=1)

    found = store.within(lon, lat, 50, region="nanjing")
    assert [station for station, _ in found] == [ten, forty]
    assert [distance for _, distance in found] == [
        pytest.approx(10, abs=0.01), pytest.approx(40, abs=0.01),
    ]
    assert [s.id for s, _ in store.within(lon, lat, 100, region="nanjing")] == [
        ten.id, forty.id, eighty.id,
    ]
    assert [s.id for s, _ in store.within(lon, lat, 50)] == [ten.id, jinan.id, forty.id]
    assert [s.id for s, _ in store.within(lon, lat, 50, exclude_id=ten.id)] == [jinan.id, forty.id]
    assert store.within(lon, lat, 5) == []


def test_within_reaches_across_the_antimeridian_and_around_a_pole(store):
    date_line = store.add(xinjiekou_station(name="日界线", lon=179.9999, lat=0.0))
    pole = store.add(xinjiekou_station(name="北极", lon=0.0, lat=89.9999))
    degree_m = math.radians(1) * EARTH_RADIUS_M
    ((found, distance),) = store.within(-179.9999, 0.0, 50)
    assert found == date_line
    assert distance == pytest.approx(0.0002 * degree_m, abs=0.01)
    ((found, distance),) = store.within(180.0, 89.9999, 50)
    assert found == pole
    assert distance == pytest.approx(0.0002 * degree_m, abs=0.01)


# Demo data and the revision


def test_replace_demo_swaps_one_regions_demo_stations_and_leaves_the_rest(store):
    real = store.add(xinjiekou_station())
    store.add(xinjiekou_station(name="旧演示驿站（演示）", demo=True))
    other_region = store.add(xinjiekou_station(name="济南演示驿站（演示）", region="jinan",
                                               demo=True))
    new = [xinjiekou_station(name=f"新演示驿站 {i}（演示）", demo=True) for i in range(3)]
    stored = store.replace_demo("nanjing", new)
    assert [s.name for s in stored] == [s.name for s in new]
    assert store.list(region="nanjing") == [real, *stored]
    assert store.list(region="jinan") == [other_region]


def test_replace_demo_rejects_a_bad_batch_whole(store):
    old = store.add(xinjiekou_station(name="旧演示驿站（演示）", demo=True))
    batch = [
        xinjiekou_station(name="新演示驿站（演示）", demo=True),
        xinjiekou_station(name="不是演示数据"),
        xinjiekou_station(name="别的区域（演示）", region="jinan", demo=True),
    ]
    with pytest.raises(StationInvalid) as err:
        store.replace_demo("nanjing", batch)
    assert err.value.index == 1
    assert set(err.value.errors) == {"demo"}
    with pytest.raises(StationInvalid) as err:
        store.replace_demo("nanjing", [batch[0], batch[2]])
    assert (err.value.index, set(err.value.errors)) == (1, {"region"})
    assert store.list() == [old]


def test_changed_since_names_each_station_written_after_a_mark_once(store):
    mark, none = store.changed_since(None)
    assert none.tolist() == []
    a = store.add(xinjiekou_station())
    b, c = store.add_many([xinjiekou_station(name="快递员之家"),
                           xinjiekou_station(name="济南驿站", region="jinan")])
    store.update(a.id, {"notes": "改"}, 1)
    mark, written = store.changed_since(mark)
    assert written.tolist() == [a.id, b.id, c.id] and written.dtype == "int64"
    again, nothing = store.changed_since(mark)
    assert again == mark and nothing.tolist() == []
    store.set_status(b.id, "closed", 1)
    store.delete(c.id, 1)
    later, written = store.changed_since(mark)
    assert later > mark and written.tolist() == [b.id, c.id]
    store.restore(c.id, 2)
    assert store.changed_since(later)[1].tolist() == [c.id]


def test_replacing_demo_stations_names_the_removed_ones_as_changed_too(store):
    (old,) = store.replace_demo("nanjing", [xinjiekou_station(name="旧（演示）", demo=True)])
    mark, _ = store.changed_since(None)
    (new,) = store.replace_demo("nanjing", [xinjiekou_station(name="新（演示）", demo=True)])
    assert store.changed_since(mark)[1].tolist() == [old.id, new.id]
    assert store.history(old.id)[-1].action == "delete"


def test_the_revision_grows_with_every_write_and_only_with_writes(store):
    seen = [store.revision()]
    added = store.add(xinjiekou_station())
    seen.append(store.revision())
    store.update(added.id, {"notes": "改"}, 1)
    seen.append(store.revision())
    store.replace_demo("nanjing", [xinjiekou_station(name="演示（演示）", demo=True)])
    seen.append(store.revision())
    store.delete(added.id, 2)
    seen.append(store.revision())
    store.restore(added.id, 3)
    seen.append(store.revision())
    store.add_many([xinjiekou_station(name="导入")])
    seen.append(store.revision())
    assert seen == sorted(set(seen))
    store.list()
    store.count()
    store.within(*STORE_XINJIEKOU, 100)
    store.history(added.id)
    store.changed_since(seen[0])
    with pytest.raises(VersionConflict):
        store.set_status(store.list()[0].id, "closed", expected_version=5)
    with pytest.raises(StationInvalid):
        store.add(xinjiekou_station(kind="spa"))
    assert store.revision() == seen[-1]


# Schema migrations


def test_opening_a_store_twice_finds_the_schema_at_head_and_leaves_it_alone(store_url):
    first = StationStore(Database(store_url))
    added = first.add(xinjiekou_station())
    revision = first.revision()
    first.close()
    second = StationStore(Database(store_url))
    assert (second.list(), second.revision()) == ([added], revision)
    second.close()
    engine = create_engine(store_url)
    with engine.connect() as connection:
        assert connection.execute(text("SELECT version_num FROM alembic_version")).all() == [
            ("0006",)
        ]
        command.check(migrations_config(connection))  # the tables match the ORM's
    engine.dispose()


def test_databases_opened_by_many_stores_at_once_are_migrated_once(store_url):
    opened: list[StationStore] = []
    failures: list[Exception] = []

    def open_store(_: int) -> None:
        try:
            opened.append(StationStore(Database(store_url)))
        except Exception as error:  # noqa: BLE001 - the test reports any failure
            failures.append(error)

    run_together(8, open_store)
    assert failures == []
    assert opened[0].add(xinjiekou_station()).id == 1
    assert {s.revision() for s in opened} == {1}
    for station_store in opened:
        station_store.close()


def test_the_schema_migrates_down_to_nothing_and_up_again(store_url):
    StationStore(Database(store_url)).close()
    engine = create_engine(store_url)
    with engine.begin() as connection:
        command.downgrade(migrations_config(connection), "base")
    with engine.connect() as connection:
        schema = connection.dialect.default_schema_name
        assert inspect(connection).get_table_names(schema=schema) == ["alembic_version"]
    engine.dispose()
    reopened = StationStore(Database(store_url))
    assert (reopened.count(), reopened.revision()) == (0, 0)
    reopened.close()


# PostgreSQL + PostGIS only


def test_a_new_postgresql_database_gets_postgis_and_the_tables_on_first_open(postgres_server):
    with scratch_database(postgres_server) as url:
        store = StationStore(Database(url))  # a plain postgresql:// URL: psycopg 3 is picked
        added = store.add(xinjiekou_station())
        assert store.within(*STORE_XINJIEKOU, 1) == [(added, 0.0)]
        store.close()
        engine = create_engine(url.replace("postgresql://", "postgresql+psycopg://", 1))
        with engine.connect() as connection:
            assert connection.execute(text(
                "SELECT extname FROM pg_extension WHERE extname = 'postgis'"
            )).all() == [("postgis",)]
            assert set(inspect(connection).get_table_names()) >= {
                "stations", "store_revision", "station_history", "alembic_version",
            }
        engine.dispose()


def test_on_postgis_every_station_has_a_point_equal_to_its_lon_and_lat(postgis_url):
    store = StationStore(Database(postgis_url))
    added = store.add(xinjiekou_station())
    moved_lon, moved_lat = moved(*STORE_XINJIEKOU, 30, 30)
    store.update(added.id, {"lon": moved_lon, "lat": moved_lat}, expected_version=1)
    imported = store.add_many([xinjiekou_station(lon=118.8, lat=32.05)])
    store.close()
    engine = create_engine(postgis_url)
    with engine.connect() as connection:
        points = connection.execute(text(
            "SELECT id, ST_X(geom), ST_Y(geom), ST_SRID(geom) FROM stations ORDER BY id"
        )).all()
    engine.dispose()
    assert points == [(added.id, moved_lon, moved_lat, 4326), (imported[0].id, 118.8, 32.05, 4326)]


def test_on_postgis_nearby_stations_are_found_through_the_spatial_index(postgis_url):
    store = StationStore(Database(postgis_url))
    store.add_many(xinjiekou_station(name=f"驿站 {i}", lon=118.7 + i / 1000) for i in range(50))
    store.close()
    engine = create_engine(postgis_url)
    with engine.begin() as connection:
        connection.execute(text("SET LOCAL enable_seqscan = off"))
        plan = "\n".join(connection.execute(text(
            "EXPLAIN SELECT id FROM stations WHERE ST_DWithin(geom::geography, "
            "ST_SetSRID(ST_MakePoint(118.7, 32.04), 4326)::geography, 100, false)"
        )).scalars())
    engine.dispose()
    assert "ix_stations_geog" in plan


# Connections


def test_a_database_keeps_sqlite_in_write_ahead_mode_in_a_file_only_its_owner_reads(tmp_path):
    path = tmp_path / "yizhan.db"
    opened = Database(f"sqlite:///{path}")
    with sqlite3.connect(path) as connection:
        assert connection.execute("PRAGMA journal_mode").fetchone() == ("wal",)
    for name in ("yizhan.db", "yizhan.db-wal", "yizhan.db-shm"):
        assert stat.S_IMODE((tmp_path / name).stat().st_mode) == 0o600, name
    opened.close()


def test_a_sqlite_connection_waits_30_s_for_the_write_lock(tmp_path):
    database = Database(f"sqlite:///{tmp_path / 'yizhan.db'}")
    with database.engine.connect() as connection:
        assert connection.exec_driver_sql("PRAGMA busy_timeout").scalar() == 30_000
    database.close()


def test_readers_go_on_while_another_process_holds_the_sqlite_write_lock(tmp_path):
    path = tmp_path / "yizhan.db"
    store = StationStore(Database(f"sqlite:///{path}"))
    added = store.add(xinjiekou_station())
    writer = sqlite3.connect(path, isolation_level=None, timeout=0)
    writer.execute("BEGIN EXCLUSIVE")
    writer.execute("UPDATE stations SET notes = 'not yet committed'")
    try:
        assert store.get(added.id) == added
        assert store.list() == [added]
    finally:
        writer.execute("ROLLBACK")
        writer.close()
        store.close()


def test_opening_more_stores_on_a_sqlite_file_in_use_keeps_other_processes_in_step(tmp_path):
    """Each database opened makes sure the file is private; that must not drop the locks SQLite
    holds for the databases already open, or another process resets the write-ahead log and
    stops seeing their writes."""
    path = tmp_path / "yizhan.db"
    store = StationStore(Database(f"sqlite:///{path}"))
    store.add(xinjiekou_station(name="甲"))
    others = [Database(f"sqlite:///{path}"), Database(f"sqlite:///{path}")]
    assert stations_seen_by_another_process(path) == 1
    store.add(xinjiekou_station(name="乙", lon=STORE_XINJIEKOU[0] + 0.01))
    assert stations_seen_by_another_process(path) == 2
    for opened in [store, *others]:
        opened.close()


def stations_seen_by_another_process(path) -> int:
    """How many stations a new process finds in a SQLite file."""
    code = (f"import sqlite3; c = sqlite3.connect({str(path)!r}); "
            "print(c.execute('SELECT count(*) FROM stations').fetchone()[0]); c.close()")
    return int(subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                              check=True).stdout)


def test_an_existing_sqlite_file_readable_by_others_is_made_private(tmp_path):
    path = tmp_path / "yizhan.db"
    sqlite3.connect(path).close()
    path.chmod(0o644)
    StationStore(Database(f"sqlite:///{path}")).close()
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_a_postgresql_store_replaces_pooled_connections_the_server_closed(postgis_url):
    store = StationStore(Database(postgis_url))
    added = store.add(xinjiekou_station())
    admin = create_engine(postgis_url)
    with admin.begin() as connection:
        closed = connection.execute(text(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
            "WHERE datname = current_database() AND pid <> pg_backend_pid()")).scalar()
    admin.dispose()
    assert closed >= 1
    assert store.get(added.id) == added
    store.close()


# Configuration


def test_the_default_store_is_a_sqlite_file_in_the_instance_folder(tmp_path, monkeypatch):
    monkeypatch.delenv("DATABASE_URL", raising=False)
    monkeypatch.setenv("YIZHAN_INSTANCE", str(tmp_path / "instance"))
    assert default_store_url() == f"sqlite:///{tmp_path / 'instance' / 'yizhan.db'}"
    monkeypatch.setenv("DATABASE_URL", "postgresql+psycopg://yizhan@db/yizhan")
    assert default_store_url() == "postgresql+psycopg://yizhan@db/yizhan"
