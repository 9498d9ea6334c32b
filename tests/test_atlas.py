"""The atlas on the real Nanjing extract: demo stations, service fields, and the store kept in
step."""

import numpy as np
import pytest

from geo.atlas import Atlas
from geo.database import Database
from geo.index import StationFilter
from geo.nearest import nearest_stations
from geo.sheets import RecordsError
from geo.store import StationStore


@pytest.fixture
def atlas(fresh_instance):
    atlas = Atlas(StationStore(Database(f"sqlite:///{fresh_instance}/yizhan.db")))
    atlas.seed_demo_stations("nanjing")
    return atlas


def test_demo_stations_come_from_the_extracts_own_host_sites(atlas):
    stations = atlas.store.list(region="nanjing")
    assert len(stations) >= 20 and all(s.demo for s in stations)
    assert any("银行" in s.host for s in stations)
    assert atlas.seed_demo_stations("nanjing") == []  # a region with stations is left alone


@pytest.mark.parametrize("mode", ["walk", "ebike", "truck"])
def test_on_every_mode_each_node_reaches_a_station_and_stations_are_at_zero(atlas, mode):
    index = atlas.index("nanjing")
    mask = index.matching()
    field = index.field(mode, mask)
    # the network is one strongly connected part, so every node reaches some open station
    assert np.isfinite(field.time_s).all() and np.isfinite(field.dist_m).all()
    assert (field.time_s[index.station_nodes(mode)[mask]] == 0).all()
    assert (field.dist_m[index.station_nodes(mode)[mask]] == 0).all()
    assert (index.station_snap_m(mode) < 300).all()


def test_a_saved_change_shows_in_the_next_query(atlas):
    point = (118.7790, 32.0418)
    first = nearest_stations(atlas.index("nanjing"), point, "walk").hits[0].station
    atlas.store.set_status(first.id, "closed", first.version)
    after = nearest_stations(atlas.index("nanjing"), point, "walk").hits
    assert after and after[0].station.id != first.id


def test_walkers_reach_nearby_stations_and_filters_hold_on_real_data(atlas):
    index = atlas.index("nanjing")
    answer = nearest_stations(index, (118.7790, 32.0418), "walk", k=3,
                              filters=StationFilter(amenities=frozenset({"toilet"})))
    assert len(answer.hits) == 3
    assert all("toilet" in h.station.amenities for h in answer.hits)
    times = [h.time_s for h in answer.hits]
    assert times == sorted(times) and times[0] < 15 * 60


def test_the_region_shown_first_is_the_one_asked_for_else_the_default(fresh_instance):
    atlas = Atlas(StationStore(Database(f"sqlite:///{fresh_instance}/yizhan.db")))
    assert atlas.region_or_default("jinan").id == "jinan"
    assert atlas.region_or_default(None).id == "nanjing"
    assert atlas.region_or_default("atlantis").id == "nanjing"


def test_a_plan_that_updates_a_stored_station_is_not_imported(atlas):
    stored = atlas.store.list(region="nanjing")[0]
    row = f"id,name,kind,lon,lat\n{stored.id},改名驿站,love_station,{stored.lon},{stored.lat}\n"
    plan = atlas.plan_import("nanjing", row.encode(), "stations.csv")
    assert plan.problem_count == 0 and [s.id for s in plan.updates] == [stored.id]
    assert not plan.importable
    revision = atlas.store.revision()
    with pytest.raises(RecordsError, match="nothing was imported"):
        atlas.apply_import(plan, "wang")
    assert atlas.store.revision() == revision
