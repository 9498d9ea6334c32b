"""What kept results weigh, and caches that keep within a budget of bytes."""

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from click.testing import CliRunner

from geo.atlas import Atlas
from geo.database import Database
from geo.field import service_field
from geo.index import RegionIndex
from geo.memory import COORDINATE_BYTES, GEOMETRY_BYTES, LruCache, nbytes
from geo.store import StationStore
from tests.support import grid_network, station_at
from web import create_app
from web.cli import main


def test_an_array_weighs_its_buffer():
    assert nbytes(np.zeros(1000)) == 8000
    assert nbytes(np.zeros((3, 10), dtype=np.int32)) == 120


def test_a_field_weighs_its_arrays():
    field = service_field(grid_network(), np.array([3, 4]))
    # station nodes, then time, distance, nearest station and next node of each of 10 nodes
    assert nbytes(field) == 2 * 8 + 4 * 10 * 8


def test_geometries_weigh_their_coordinates_and_parts():
    line = shapely.LineString([(0, 0), (1, 0), (1, 1)])
    pair = shapely.MultiPoint([(0, 0), (5, 5)])
    frame = gpd.GeoDataFrame({"n": np.arange(2, dtype=np.int64)}, geometry=[line, pair])
    geometry = 3 * COORDINATE_BYTES + GEOMETRY_BYTES + 2 * COORDINATE_BYTES + 2 * GEOMETRY_BYTES
    assert nbytes(frame) == frame.index.memory_usage() + 16 + geometry
    assert nbytes(line) == 3 * COORDINATE_BYTES + GEOMETRY_BYTES


def test_text_columns_count_their_strings():
    short = pd.DataFrame({"cell": ["a"] * 100})
    long = pd.DataFrame({"cell": ["a" * 1000] * 100})
    assert nbytes(long) - nbytes(short) >= 100 * 999


def test_the_cache_drops_the_least_recently_used_beyond_its_budget():
    cache = LruCache(budget_bytes=3000)
    for key in "abc":
        cache.put(key, np.zeros(125))          # 1000 bytes each: all three fit
    assert len(cache) == 3 and cache.size_bytes == 3000
    cache.find("a")                            # "a" is now the most recently used
    cache.put("d", np.zeros(125))
    assert [cache.find(k) is not None for k in "abcd"] == [True, False, True, True]
    cache.put("e", np.zeros(250))              # 2000 bytes: two must go
    assert [cache.find(k) is not None for k in "acde"] == [False, False, True, True]
    assert cache.size_bytes == 3000


def test_a_value_heavier_than_the_budget_is_returned_but_not_kept():
    cache = LruCache(budget_bytes=1000)
    cache.put("small", np.zeros(10))
    big = np.zeros(1000)
    assert cache.get("big", lambda: big) is big
    assert cache.find("big") is None and cache.find("small") is not None


def test_replacing_a_value_counts_only_the_new_one():
    cache = LruCache(budget_bytes=10_000)
    cache.put("a", np.zeros(100))
    cache.put("a", np.zeros(200))
    assert len(cache) == 1 and cache.size_bytes == 1600


def test_an_index_keeps_as_many_fields_as_its_budget_holds():
    network = grid_network()
    stations = [station_at(network, node, f"s{node}") for node in (0, 3, 4, 7)]
    one_field = nbytes(service_field(network, np.array([0, 3])))
    index = RegionIndex("grid", {"walk": network}, stations, cache_bytes=2 * one_field)
    masks = [np.array(bits, dtype=bool) for bits in
             ([1, 1, 0, 0], [0, 0, 1, 1], [1, 0, 1, 0])]       # two stations each
    first, second = (index.field("walk", mask) for mask in masks[:2])
    assert index.field("walk", masks[0]) is first             # both kept; the first used last
    index.field("walk", masks[2])
    assert index.field("walk", masks[0]) is first
    assert index.field("walk", masks[1]) is not second        # dropped, so made again
    again = index.with_stations(stations)                     # same stations, same fields
    assert again.field("walk", masks[0]) is first and again.field("walk", masks[1]) is not second


@pytest.fixture(scope="module")
def nanjing_store(tmp_path_factory):
    folder = tmp_path_factory.mktemp("memory")
    atlas = Atlas(StationStore(Database(f"sqlite:///{folder}/yizhan.db")))
    atlas.seed_demo_stations("nanjing")
    return atlas.store


def test_an_atlas_with_no_budget_keeps_no_analysis_or_demand_layer(nanjing_store):
    atlas = Atlas(nanjing_store, analysis_bytes=0, demand_bytes=0)
    analysis = atlas.coverage("nanjing", "trucks", geometry=False)
    assert atlas.cached_coverage("nanjing", "trucks", geometry=False) is None
    assert atlas.demand("nanjing", "trucks") is not analysis.demand


def test_an_atlas_keeps_analyses_within_its_budget(nanjing_store):
    sizing = Atlas(nanjing_store)
    one = nbytes(sizing.coverage("nanjing", "trucks", 10, geometry=False))
    atlas = Atlas(nanjing_store, analysis_bytes=int(2.5 * one))  # the same size at any threshold
    for threshold in (10, 20, 30):
        atlas.coverage("nanjing", "trucks", threshold, geometry=False)
    kept = [atlas.cached_coverage("nanjing", "trucks", t, geometry=False) is not None
            for t in (10, 20, 30)]
    assert kept == [False, True, True]
    assert atlas.demand("nanjing", "trucks") is atlas.demand("nanjing", "trucks")


def test_the_apps_cache_budgets_come_from_the_environment(monkeypatch, fresh_instance):
    monkeypatch.setenv("YIZHAN_ANALYSIS_CACHE_MB", "1.5")
    monkeypatch.setenv("YIZHAN_LAYER_CACHE_MB", "2")
    app = create_app({"DATABASE_URL": f"sqlite:///{fresh_instance}/y.db", "SEED_DEMO": False})
    assert app.config["ANALYSIS_CACHE_BYTES"] == 1_572_864
    assert app.config["LAYER_CACHE_BYTES"] == 2_097_152
    assert app.extensions["atlas"]._analyses.budget_bytes == 1_572_864


def test_a_budget_that_is_not_a_number_names_its_variable(monkeypatch, fresh_instance):
    monkeypatch.setenv("YIZHAN_FIELD_CACHE_MB", "lots")
    with pytest.raises(ValueError, match="YIZHAN_FIELD_CACHE_MB"):
        create_app({"DATABASE_URL": f"sqlite:///{fresh_instance}/y.db", "SEED_DEMO": False})


def test_serve_refuses_a_budget_that_is_not_a_number_with_a_message(monkeypatch,
                                                                      fresh_instance):
    monkeypatch.setenv("YIZHAN_ANALYSIS_CACHE_MB", "1 GB")
    result = CliRunner().invoke(main, ["serve", "--port", "5999"])
    assert result.exit_code == 1
    assert "YIZHAN_ANALYSIS_CACHE_MB must be a number of megabytes" in result.output
