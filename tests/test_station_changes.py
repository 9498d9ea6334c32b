"""Station edits reach the index incrementally, and the result is the index built afresh."""

import stat
from datetime import datetime

import numpy as np
import pytest

from geo.atlas import Atlas
from geo.database import Database
from geo.field import entry_field, service_field
from geo.index import RegionIndex, StationFilter
from geo.nearest import nearest_stations
from geo.stamp import ChangeStamp, Stamped
from geo.stations import AMENITIES, KINDS, Station
from geo.store import StationStore
from web import create_app

MODES = ("walk", "ebike", "truck")
FILTERS = [
    None,
    StationFilter(amenities=frozenset({"toilet"})),
    StationFilter(kinds=frozenset({"courier_home", "love_station"}),
                  amenities=frozenset({"drinking_water", "wifi"})),
    StationFilter(open_at=datetime(2026, 11, 25, 19, 30)),
]
HOURS = ["", "24/7", "Mo-Fr 08:00-20:00", "Sa-Su 10:00-16:00"]


@pytest.fixture
def atlas(fresh_instance):
    return Atlas(StationStore(Database(f"sqlite:///{fresh_instance}/yizhan.db")))


def random_station(network, rng: np.random.Generator, name: str) -> Station:
    """A station near a random node of ``network``, with random kind, status and amenities."""
    node = int(rng.integers(network.n_nodes))
    return Station(
        name=name, region="nanjing", kind=str(rng.choice(list(KINDS))),
        lon=float(network.lon[node] + rng.normal(0, 2e-4)),
        lat=float(network.lat[node] + rng.normal(0, 2e-4)),
        status=str(rng.choice(["open", "open", "open", "closed", "planned"])),
        amenities=tuple(a for a in AMENITIES if rng.random() < 0.4),
        opening_hours=str(rng.choice(HOURS)),
    )


def random_edit(store: StationStore, network, rng: np.random.Generator, number: int) -> None:
    """One random staff edit: add, move, change amenities, kind and hours, close or open,
    delete or restore."""
    held = store.list(region="nanjing")
    action = rng.choice(["add", "move", "amenities", "status", "delete", "restore"])
    if action == "add" or not held:
        store.add(random_station(network, rng, f"added {number}"))
        return
    station = held[int(rng.integers(len(held)))]
    if action == "move":
        moved = random_station(network, rng, station.name)
        store.update(station.id, {"lon": moved.lon, "lat": moved.lat}, station.version)
    elif action == "amenities":
        store.update(station.id, {"amenities": random_station(network, rng, "").amenities,
                                  "kind": str(rng.choice(list(KINDS))),
                                  "opening_hours": str(rng.choice(HOURS))}, station.version)
    elif action == "status":
        status = "closed" if station.status == "open" else "open"
        store.set_status(station.id, status, station.version)
    elif action == "delete":
        store.delete(station.id, station.version)
    else:
        deleted = [s for s in store.list(region="nanjing", include_deleted=True)
                   if store.is_deleted(s.id)]
        if deleted:
            store.restore(deleted[0].id, deleted[0].version)


def assert_same_index(kept: RegionIndex, fresh: RegionIndex, points: np.ndarray) -> None:
    """Stations, snaps, filters, fields and answers of two indexes are equal."""
    assert kept.stations == fresh.stations
    for mode in MODES:
        np.testing.assert_array_equal(kept.station_nodes(mode), fresh.station_nodes(mode))
        np.testing.assert_array_equal(kept.station_snap_m(mode), fresh.station_snap_m(mode))
        for ours, theirs in zip(kept.stations_on_street(mode), fresh.stations_on_street(mode)):
            np.testing.assert_array_equal(ours, theirs)
    for filters in FILTERS:
        mask = kept.matching(filters)
        np.testing.assert_array_equal(mask, fresh.matching(filters))
        for mode in MODES:
            field = kept.field(mode, mask)
            scratch = service_field(fresh.network(mode), fresh.station_nodes(mode)[mask])
            for name in ("station_nodes", "time_s", "dist_m", "nearest", "next_node"):
                np.testing.assert_array_equal(getattr(field, name), getattr(scratch, name))
            street = kept.street_field(mode, mask)
            scratch = entry_field(fresh.network(mode), *fresh.station_entries(mode, mask))
            for name in ("station_nodes", "time_s", "dist_m", "nearest", "next_node"):
                np.testing.assert_array_equal(getattr(street, name), getattr(scratch, name))
        for lon, lat in points:
            for k in (1, 3):
                ours = nearest_stations(kept, (lon, lat), "walk", k=k, filters=filters)
                theirs = nearest_stations(fresh, (lon, lat), "walk", k=k, filters=filters)
                assert [(h.station.id, h.time_s, h.distance_m) for h in ours.hits] == \
                    [(h.station.id, h.time_s, h.distance_m) for h in theirs.hits]
                for a, b in zip(ours.hits, theirs.hits):
                    np.testing.assert_array_equal(a.route, b.route)


@pytest.mark.parametrize("seed", [1, 2])
def test_after_random_edits_the_kept_index_equals_one_built_afresh(atlas, seed):
    rng = np.random.default_rng(seed)
    index = atlas.index("nanjing")
    network = index.network("walk")
    atlas.store.add_many([random_station(network, rng, f"station {i}") for i in range(300)])
    points = np.column_stack([network.lon, network.lat])[rng.integers(network.n_nodes, size=6)]
    number = 0
    for edits in (1, 1, 3, 8, 20):
        for _ in range(edits):
            number += 1
            random_edit(atlas.store, network, rng, number)
        kept = atlas.index("nanjing")
        for filters in FILTERS:  # fill the caches the next round keeps
            kept.field("walk", kept.matching(filters))
            kept.trees("walk", kept.matching(filters))
        fresh = RegionIndex("nanjing", kept.networks, atlas.store.list(region="nanjing"))
        assert_same_index(kept, fresh, points)


def test_an_edit_snaps_only_the_station_it_changed(atlas, monkeypatch):
    rng = np.random.default_rng(3)
    network = atlas.index("nanjing").network("walk")
    atlas.store.add_many([random_station(network, rng, f"station {i}") for i in range(200)])
    index = atlas.index("nanjing")
    snapped = []
    for mode_network in index.networks.values():
        to_utm = mode_network.to_utm
        monkeypatch.setattr(mode_network, "to_utm",
                            lambda lon, lat, f=to_utm: snapped.append(len(lon)) or f(lon, lat))
    station = index.stations[17]
    atlas.store.update(station.id, {"lon": station.lon + 0.001}, station.version)
    assert atlas.index("nanjing").stations[17].lon == station.lon + 0.001
    assert snapped == [1] * len(index.networks)


def test_each_kind_of_edit_shows_in_the_next_query(atlas):
    index = atlas.index("nanjing")
    network = index.network("walk")
    node = network.n_nodes // 2
    point = (float(network.lon[node]), float(network.lat[node]))
    far = 0

    def nearest_name(filters=None):
        hits = nearest_stations(atlas.index("nanjing"), point, "walk", filters=filters).hits
        return hits[0].station.name if hits else None

    here = atlas.store.add(Station(name="here", region="nanjing", kind="love_station",
                                   lon=point[0], lat=point[1]))
    atlas.store.add(Station(name="there", region="nanjing", kind="love_station",
                            lon=float(network.lon[far]), lat=float(network.lat[far]),
                            amenities=("toilet",)))
    assert nearest_name() == "here"
    toilet = StationFilter(amenities=frozenset({"toilet"}))
    assert nearest_name(toilet) == "there"
    here = atlas.store.update(here.id, {"amenities": ("toilet",)}, here.version)
    assert nearest_name(toilet) == "here"
    here = atlas.store.set_status(here.id, "closed", here.version)
    assert nearest_name() == "there"
    here = atlas.store.set_status(here.id, "open", here.version)
    assert nearest_name() == "here"
    atlas.store.delete(here.id, here.version)
    assert nearest_name() == "there"
    assert [s.name for s in atlas.index("nanjing").stations] == ["there"]


def test_a_field_is_kept_while_changes_miss_its_stations(atlas):
    rng = np.random.default_rng(4)
    network = atlas.index("nanjing").network("walk")
    atlas.store.add_many([random_station(network, rng, f"station {i}") for i in range(50)])
    index = atlas.index("nanjing")
    open_field = index.field("walk", index.matching())
    closed = next(s for s in index.stations if s.status != "open")
    atlas.store.update(closed.id, {"name": "renamed", "lon": closed.lon + 0.002},
                       closed.version)
    after = atlas.index("nanjing")
    assert after is not index
    assert after.field("walk", after.matching()) is open_field
    opened = atlas.store.get(closed.id)
    atlas.store.set_status(opened.id, "open", opened.version)
    last = atlas.index("nanjing")
    assert last.field("walk", last.matching()) is not open_field


def test_replaced_demo_stations_leave_the_index_as_the_new_ones_arrive(atlas):
    atlas.seed_demo_stations("nanjing")
    index = atlas.index("nanjing")
    network = index.network("walk")
    points = np.column_stack([network.lon, network.lat])[:: network.n_nodes // 4]
    demo = [Station(name=f"演示 {i}（演示）", region="nanjing", kind="love_station",
                    lon=float(network.lon[i]), lat=float(network.lat[i]), demo=True)
            for i in range(5)]
    atlas.store.replace_demo("nanjing", demo)
    kept = atlas.index("nanjing")
    assert [s.name for s in kept.stations] == [s.name for s in demo]
    assert_same_index(kept, RegionIndex("nanjing", kept.networks,
                                        atlas.store.list(region="nanjing")), points)


def test_an_edit_in_one_server_process_shows_in_the_next_query_of_another(tmp_path,
                                                                          monkeypatch):
    """Two apps on one database and instance folder stand for two worker processes of
    ``yizhan serve``: the reader asks the database for the station revision only once the
    editor's write has moved the change stamp."""
    monkeypatch.setattr("geo.stamp.MAX_AGE_S", 3600.0)  # only the stamp tells of a change
    asked = []
    revision = StationStore.revision
    monkeypatch.setattr(StationStore, "revision", lambda store: asked.append(1) or revision(store))
    url = f"sqlite:///{tmp_path}/y.db"
    editor, reader = create_app({"DATABASE_URL": url}), create_app({"DATABASE_URL": url})
    client = reader.test_client()
    lon, lat = 118.7790, 32.0418

    def nearest_name() -> str:
        answer = client.get(f"/api/v1/nearest?lat={lat}&lon={lon}&limit=1").get_json()
        return next(f["properties"]["name"] for f in answer["features"]
                    if f["properties"]["feature_type"] == "station")

    first = nearest_name()
    asked.clear()
    assert [nearest_name() for _ in range(5)] == [first] * 5
    assert asked == []
    editor.extensions["atlas"].store.add(
        Station(name="across the street", region="nanjing", kind="love_station", lon=lon,
                lat=lat, opening_hours="24/7"))
    assert nearest_name() == "across the street"
    assert len(asked) == 1


def test_a_stamp_counts_every_write_even_within_one_clock_tick(tmp_path):
    stamp = ChangeStamp(tmp_path / "changes")
    assert stamp.read() == 0
    for _ in range(100):
        stamp.bump()
    assert stamp.read() == 100
    assert stat.S_IMODE((tmp_path / "changes").stat().st_mode) == 0o600


def test_a_stamped_value_is_read_again_once_the_stamp_moves(tmp_path):
    stamp = ChangeStamp(tmp_path / "changes")
    readings = iter(range(100))
    value = Stamped(stamp, lambda: next(readings), max_age_s=3600.0)
    assert [value.get(), value.get()] == [0, 0]
    stamp.bump()
    assert [value.get(), value.get()] == [1, 1]
