"""Nearest-station queries: exact for any k and any filter, answered from service fields."""

from datetime import datetime

import numpy as np
import pytest
from scipy.sparse.csgraph import dijkstra

from geo.index import RegionIndex, StationFilter
from geo.nearest import nearest_open_first, nearest_stations
from geo.network import Network
from geo.snapping import WALK_MS
from geo.stations import Station
from tests.support import grid_network, station_at

SUNDAY_NOON = datetime(2026, 11, 22, 12, 0)
WEDNESDAY_NOON = datetime(2026, 11, 25, 12, 0)


@pytest.fixture(params=[10**9, 0], ids=["trees", "search"])
def grid(request):
    net = grid_network()
    stations = [
        station_at(net, 4, "west", amenities=("drinking_water",), opening_hours="24/7"),
        station_at(net, 3, "east", amenities=("drinking_water", "toilet", "microwave"),
                   opening_hours="Mo-Fr 08:00-18:00", kind="courier_home"),
        station_at(net, 7, "south-east", amenities=("toilet",)),
        station_at(net, 6, "closed one", status="closed", amenities=("toilet", "microwave")),
    ]
    return net, RegionIndex("test", {"walk": net}, stations, tree_budget=request.param)


def names(answer) -> list[str]:
    return [hit.station.name for hit in answer.hits]


def node_point(net: Network, node: int) -> tuple[float, float]:
    return float(net.lon[node]), float(net.lat[node])


def test_the_nearest_open_station_comes_with_time_distance_and_route(grid):
    net, index = grid
    answer = nearest_stations(index, node_point(net, 1), "walk")
    assert names(answer) == ["west"]
    hit = answer.hits[0]
    assert hit.time_s == pytest.approx(120) and hit.distance_m == pytest.approx(200)
    # The route follows 1 -> 5 -> 4 and ends on the station.
    np.testing.assert_allclose(hit.route[0], node_point(net, 1))
    np.testing.assert_allclose(hit.route[-1], node_point(net, 4))
    assert len(hit.route) == 3


def test_k_nearest_come_in_order_of_travel_time(grid):
    net, index = grid
    answer = nearest_stations(index, node_point(net, 2), "walk", k=3)
    # From 2: east at 3 (60 s), south-east at 7 (120 s), west at 4 via the fast road (150 s).
    assert names(answer) == ["east", "south-east", "west"]
    assert [h.time_s for h in answer.hits] == pytest.approx([60, 120, 150])
    assert [h.distance_m for h in answer.hits] == pytest.approx([100, 200, 500])


def test_fewer_hits_than_k_when_fewer_stations_match(grid):
    net, index = grid
    assert names(nearest_stations(index, node_point(net, 2), "walk", k=10)) == [
        "east", "south-east", "west"]


def test_closed_stations_are_never_returned(grid):
    net, index = grid
    assert "closed one" not in names(nearest_stations(index, node_point(net, 6), "walk", k=5))


def test_an_amenity_filter_skips_a_nearer_station_that_lacks_it(grid):
    net, index = grid
    need = StationFilter(amenities=frozenset({"toilet"}))
    # At 4 stands "west", which has no toilet; "south-east" (150 s) beats "east" (210 s).
    assert names(nearest_stations(index, node_point(net, 4), "walk", filters=need)) == [
        "south-east"]
    both = StationFilter(amenities=frozenset({"toilet", "microwave"}))
    assert names(nearest_stations(index, node_point(net, 0), "walk", k=2, filters=both)) == [
        "east"]


def test_a_kind_filter(grid):
    net, index = grid
    couriers = StationFilter(kinds=frozenset({"courier_home"}))
    assert names(nearest_stations(index, node_point(net, 4), "walk", filters=couriers)) == ["east"]


def test_open_now_uses_opening_hours_and_treats_unknown_hours_as_not_open(grid):
    net, index = grid
    weekday = nearest_stations(index, node_point(net, 2), "walk", k=3,
                               filters=StationFilter(open_at=WEDNESDAY_NOON))
    assert names(weekday) == ["east", "west"]  # south-east has no opening hours
    sunday = nearest_stations(index, node_point(net, 2), "walk", k=3,
                              filters=StationFilter(open_at=SUNDAY_NOON))
    assert names(sunday) == ["west"]


def test_open_first_ranks_an_open_station_above_nearer_closed_and_unknown_ones(grid):
    net, index = grid
    # On Sunday, from 2: east (60 s) is closed, south-east (120 s) has no hours, west is open.
    answer = nearest_open_first(index, node_point(net, 2), "walk", SUNDAY_NOON, k=3)
    assert names(answer) == ["west", "east", "south-east"]
    assert [h.time_s for h in answer.hits] == pytest.approx([150, 60, 120])
    weekday = nearest_open_first(index, node_point(net, 2), "walk", WEDNESDAY_NOON, k=3)
    assert names(weekday) == ["east", "west", "south-east"]
    assert names(nearest_open_first(index, node_point(net, 2), "walk", SUNDAY_NOON, k=2)) == [
        "west", "east"]


def test_a_status_change_takes_effect_in_the_next_query(grid):
    net, index = grid
    stations = list(index.stations)
    stations[1] = Station(**{**vars(stations[1]), "status": "suspended"})
    assert names(nearest_stations(index.with_stations(stations), node_point(net, 2), "walk")) == [
        "south-east"]


def test_a_point_off_the_streets_walks_to_the_nearest_street_and_says_how_far(grid):
    net, index = grid
    lon, lat = node_point(net, 5)
    answer = nearest_stations(index, (lon, lat - 0.0009), "walk")  # about 100 m south of 5
    assert (answer.snap.lon, answer.snap.lat) == pytest.approx((lon, lat))
    assert answer.snap.distance_m == pytest.approx(100, abs=2)
    walk_s = answer.snap.distance_m / WALK_MS
    assert answer.snap.walk_s == pytest.approx(walk_s)
    hit = answer.hits[0]
    assert names(answer) == ["west"]
    assert hit.time_s == pytest.approx(walk_s + 60)
    assert hit.distance_m == pytest.approx(answer.snap.distance_m + 100)


def test_from_a_disconnected_piece_no_station_is_reachable(grid):
    net, index = grid
    assert nearest_stations(index, node_point(net, 8), "walk", k=2).hits == []


def test_bad_arguments_name_what_is_wrong(grid):
    net, index = grid
    with pytest.raises(ValueError, match="truck"):
        nearest_stations(index, node_point(net, 0), "truck")
    with pytest.raises(ValueError, match="k must be"):
        nearest_stations(index, node_point(net, 0), "walk", k=0)


@pytest.mark.parametrize("tree_budget, near_nodes", [(10**9, 2000), (0, 2000), (0, 3)],
                         ids=["trees", "search near", "bounded search"])
def test_answers_equal_a_plain_dijkstra_from_the_point_for_random_queries(
        tree_budget, near_nodes, monkeypatch):
    monkeypatch.setattr("geo.nearest.NEAR_SEARCH_NODES", near_nodes)
    rng = np.random.default_rng(11)
    n, e = 400, 1400
    lon = 118.70 + rng.uniform(0, 0.06, n)
    lat = 32.00 + rng.uniform(0, 0.06, n)
    u, v = rng.integers(0, n, e), rng.integers(0, n, e)
    t = rng.uniform(5, 120, e)
    net = Network.from_edges("ebike", np.arange(n), lon, lat, u, v, t * 4, t)
    amenity_sets = [("toilet",), ("microwave",), ("toilet", "microwave"), ()]
    nodes = rng.choice(n, 25, replace=False)
    stations = [station_at(net, int(node), f"s{i}", amenities=amenity_sets[i % 4])
                for i, node in enumerate(nodes)]
    index = RegionIndex("random", {"ebike": net}, stations, tree_budget=tree_budget)
    every = dijkstra(net.matrix("time"), directed=True)
    for query in rng.choice(n, 60, replace=False):
        need = amenity_sets[int(query) % 3]
        k = int(query) % 4 + 1
        answer = nearest_stations(index, node_point(net, int(query)), "ebike", k=k,
                                  filters=StationFilter(amenities=frozenset(need)))
        matching = [i for i, s in enumerate(stations) if set(need) <= set(s.amenities)]
        times = sorted(every[query, nodes[matching]])
        expected = [x for x in times if np.isfinite(x)][:k]
        assert [h.time_s for h in answer.hits] == pytest.approx(expected)
        for hit in answer.hits:
            assert set(need) <= set(hit.station.amenities)
            np.testing.assert_allclose(hit.route[-1], (hit.station.lon, hit.station.lat))
