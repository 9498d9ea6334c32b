"""The station store on SQLite: records, validation, versions, concurrency, demo data."""

import dataclasses
import threading
from datetime import UTC, date

import pytest

from geo.stations import Station
from geo.store import StationInvalid, StationStore, VersionConflict, default_store_url


def xinjiekou_station(**changes) -> Station:
    """A valid station in Nanjing with Chinese text and amenities."""
    station = Station(
        name="新街口爱心驿站",
        region="nanjing",
        kind="love_station",
        lon=118.7784,
        lat=32.0411,
        address="南京市玄武区中山路 1 号",
        host="中国移动新街口营业厅",
        union="玄武区总工会",
        amenities=("drinking_water", "microwave", "phone_charging"),
        opening_hours="Mo-Su 08:00-20:00",
        phone="(025) 8888-1234",
        capacity=12,
        verified_on=date(2024, 5, 1),
        notes="夏季提供防暑降温用品",
    )
    return dataclasses.replace(station, **changes)


@pytest.fixture
def store(tmp_path):
    """An empty store in a SQLite file."""
    station_store = StationStore(f"sqlite:///{tmp_path / 'yizhan.db'}")
    yield station_store
    station_store.close()


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


def test_the_store_survives_reopening(tmp_path):
    url = f"sqlite:///{tmp_path / 'yizhan.db'}"
    first = StationStore(url)
    added = first.add(xinjiekou_station())
    first.close()
    second = StationStore(url)
    assert second.get(added.id) == added
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


def test_a_missing_station_is_a_key_error(store):
    with pytest.raises(KeyError):
        store.get(999)


def test_validation_errors_name_every_bad_field_and_nothing_is_stored(store):
    bad = xinjiekou_station(name="", kind="spa", amenities=("sauna",), lat=95.0, phone="电话")
    with pytest.raises(StationInvalid) as err:
        store.add(bad)
    assert set(err.value.errors) == {"name", "kind", "amenities", "lat", "phone"}
    assert "sauna" in err.value.errors["amenities"]
    assert store.count() == 0


def test_an_update_is_validated_and_may_not_touch_store_fields(store):
    added = store.add(xinjiekou_station())
    with pytest.raises(StationInvalid) as err:
        store.update(added.id, {"opening_hours": "8点到18点", "capacity": -1}, 1)
    assert set(err.value.errors) == {"opening_hours", "capacity"}
    with pytest.raises(StationInvalid) as err:
        store.update(added.id, {"version": 7, "colour": "red"}, 1)
    assert set(err.value.errors) == {"version", "colour"}
    assert store.get(added.id) == added


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
    start = threading.Barrier(writers)
    outcomes: list[object] = [None] * writers

    def write(i: int) -> None:
        start.wait()
        try:
            outcomes[i] = store.update(added.id, {"notes": f"writer {i}"}, expected_version=1)
        except VersionConflict as conflict:
            outcomes[i] = conflict

    threads = [threading.Thread(target=write, args=(i,)) for i in range(writers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    winners = [o for o in outcomes if isinstance(o, Station)]
    losers = [o for o in outcomes if isinstance(o, VersionConflict)]
    assert len(winners) == 1
    assert len(losers) == writers - 1
    assert store.get(added.id) == winners[0]
    assert winners[0].version == 2


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


def test_a_deleted_station_is_hidden_but_kept(store):
    kept = store.add(xinjiekou_station())
    gone = store.add(xinjiekou_station(name="已撤销的驿站"))
    with pytest.raises(VersionConflict):
        store.delete(gone.id, expected_version=2)
    store.delete(gone.id, expected_version=1)
    assert store.list() == [kept]
    assert store.count() == 1
    with pytest.raises(KeyError):
        store.get(gone.id)
    assert [s.name for s in store.list(include_deleted=True)] == ["新街口爱心驿站", "已撤销的驿站"]


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
    assert seen == sorted(set(seen))
    store.list()
    store.count()
    with pytest.raises(VersionConflict):
        store.set_status(store.list()[0].id, "closed", expected_version=5)
    with pytest.raises(StationInvalid):
        store.add(xinjiekou_station(kind="spa"))
    assert store.revision() == seen[-1]


def test_the_default_store_is_a_sqlite_file_in_the_instance_folder(tmp_path, monkeypatch):
    monkeypatch.delenv("DATABASE_URL", raising=False)
    monkeypatch.setenv("YIZHAN_INSTANCE", str(tmp_path / "instance"))
    assert default_store_url() == f"sqlite:///{tmp_path / 'instance' / 'yizhan.db'}"
    monkeypatch.setenv("DATABASE_URL", "postgresql+psycopg://yizhan@db/yizhan")
    assert default_store_url() == "postgresql+psycopg://yizhan@db/yizhan"
