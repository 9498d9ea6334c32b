"""Exact snapping: a point joins the network at the nearest point of its nearest street, and a
route counts the partial streets at both ends in the directions the mode may travel them."""

from datetime import datetime
from pathlib import Path

import numpy as np
import pytest
import shapely
from pyproj import Transformer
from scipy.sparse import csr_matrix
from scipy.sparse.csgraph import dijkstra

from geo.build import build_networks
from geo.index import RegionIndex, StationFilter
from geo.nearest import nearest_stations
from geo.network import Network
from geo.snapping import OFF_STREET_M, WALK_MS, OnStreet, StreetIndex
from geo.stations import Station
from tests.support import grid_network

NANJING = Path(__file__).resolve().parent.parent / "data" / "osm" / "nanjing_xinjiekou" / \
    "osm_bbox.osm.pbf"
WEDNESDAY_EVENING = datetime(2026, 11, 25, 19, 0)


def between(net: Network, a: int, b: int, share: float) -> tuple[float, float]:
    """The point ``share`` of the way from node ``a`` to node ``b`` (straight streets)."""
    return (float(net.lon[a] + share * (net.lon[b] - net.lon[a])),
            float(net.lat[a] + share * (net.lat[b] - net.lat[a])))


def halfway(net: Network, a: int, b: int) -> tuple[float, float]:
    """The point half-way from node ``a`` to node ``b``, half-way in metres (in the network's
    UTM zone, as streets are measured)."""
    x, y = net.node_xy[[a, b]].mean(axis=0)
    back = Transformer.from_crs(net.utm_crs, 4326, always_xy=True)
    return tuple(float(c) for c in back.transform(x, y))


def station(name: str, point: tuple[float, float], **fields) -> Station:
    return Station(name=name, region="test", kind="love_station", lon=point[0], lat=point[1],
                   **fields)


def grid_index(net: Network, stations: list[Station], tree_budget: int = 10**9) -> RegionIndex:
    return RegionIndex("test", {"ebike": net}, stations, tree_budget=tree_budget)


def test_a_point_half_way_along_an_edge_gets_exactly_half_its_time():
    # The grid of tests/test_field.py: 4 - 5 takes 60 s over 100 m, both ways.
    net = grid_network()
    index = grid_index(net, [station("at 4", between(net, 4, 4, 0))])
    answer = nearest_stations(index, halfway(net, 4, 5), "ebike")
    hit = answer.hits[0]
    assert hit.time_s == pytest.approx(30, abs=1e-6)
    assert hit.distance_m == pytest.approx(50, abs=1e-6)
    assert answer.snap.distance_m == pytest.approx(0, abs=1e-6)
    np.testing.assert_allclose(hit.route, [halfway(net, 4, 5), between(net, 4, 4, 0)])


def test_stations_along_one_street_are_told_apart():
    # Three stations 30 m apart on 5 - 6 (a 300 m road taking 30 s), a worker at 5.
    net = grid_network()
    stations = [station(f"{share}", between(net, 5, 6, share)) for share in (0.3, 0.4, 0.5)]
    answer = nearest_stations(grid_index(net, stations), between(net, 5, 5, 0), "ebike", k=3)
    assert [h.station.name for h in answer.hits] == ["0.3", "0.4", "0.5"]
    assert [h.time_s for h in answer.hits] == pytest.approx([9, 12, 15])
    assert [h.distance_m for h in answer.hits] == pytest.approx([90, 120, 150])
    for hit in answer.hits:  # along the street, from the worker to the station
        np.testing.assert_allclose(hit.route, [between(net, 5, 5, 0), (hit.station.lon,
                                                                        hit.station.lat)])


def test_a_one_way_partial_edge_is_travelled_only_forward():
    # 0 -> 1 is one-way (60 s). From its middle, a station at 0 lies behind the worker: the way
    # goes on to 1, then 1 -> 5 -> 4 -> 0 (180 s); one at 1 is 30 s ahead.
    net = grid_network()
    behind = station("behind", between(net, 0, 1, 0.25))
    ahead = station("ahead", between(net, 1, 1, 0))
    index = grid_index(net, [behind, ahead])
    answer = nearest_stations(index, between(net, 0, 1, 0.5), "ebike", k=2)
    assert [h.station.name for h in answer.hits] == ["ahead", "behind"]
    # Behind: 30 s to 1, 180 s round to 0, 15 s along 0 -> 1 to the station.
    assert [h.time_s for h in answer.hits] == pytest.approx([30, 225])
    route = answer.hits[1].route
    np.testing.assert_allclose(route[0], between(net, 0, 1, 0.5))
    np.testing.assert_allclose(route[-1], (behind.lon, behind.lat))
    nodes = [between(net, n, n, 0) for n in (1, 5, 4, 0)]
    np.testing.assert_allclose(route[1:-1], nodes)
    # On the two-way street 4 - 5 the same stretch back is direct.
    index = grid_index(net, [station("behind", between(net, 4, 5, 0.25))])
    answer = nearest_stations(index, between(net, 4, 5, 0.5), "ebike")
    assert answer.hits[0].time_s == pytest.approx(15)


def test_a_station_at_the_head_of_a_one_way_street_is_reached_at_its_node():
    net = grid_network()
    index = grid_index(net, [station("at 1", between(net, 1, 1, 0))])
    # From 2 the one-way 0 -> 1 cannot be taken backwards, but 1 is reached by 2 -> 6 -> 5 -> 1.
    answer = nearest_stations(index, between(net, 2, 2, 0), "ebike")
    assert answer.hits[0].time_s == pytest.approx(60 + 30 + 60)


def test_a_point_far_from_its_street_walks_there_and_a_near_one_does_not():
    net = grid_network()
    index = grid_index(net, [station("at 4", between(net, 4, 4, 0))])
    lon, lat = between(net, 4, 5, 0.5)
    near = nearest_stations(index, (lon, lat - 0.0002), "ebike")  # about 22 m south
    assert near.snap.distance_m == pytest.approx(22.2, abs=0.5) and near.snap.walk_s == 0
    assert near.hits[0].time_s == pytest.approx(30)
    far = nearest_stations(index, (lon, lat - 0.0005), "ebike")  # about 55 m south
    assert far.snap.distance_m > OFF_STREET_M
    assert far.hits[0].time_s == pytest.approx(30 + far.snap.distance_m / WALK_MS)
    assert far.hits[0].distance_m == pytest.approx(50 + far.snap.distance_m)


def test_a_station_far_from_its_street_adds_the_walk_from_it():
    net = grid_network()
    lon, lat = between(net, 4, 5, 0.5)
    index = grid_index(net, [station("in a yard", (lon, lat - 0.0005))])
    answer = nearest_stations(index, between(net, 4, 4, 0), "ebike")
    hit = answer.hits[0]
    assert hit.station_snap_m > OFF_STREET_M
    assert hit.time_s == pytest.approx(30 + hit.station_snap_m / WALK_MS)
    np.testing.assert_allclose(hit.route[-1], (lon, lat), atol=1e-9)  # on the street


# --- against a plain Dijkstra over the network with the points added as nodes ---------------


def split_graph(net: Network, points: OnStreet) -> csr_matrix:
    """The network's time matrix with every point added as a node on its street (nodes N, N+1,
    …): each street holding points is cut at them, both ways where it runs both ways."""
    n = net.n_nodes
    tails, heads, times = list(net.edge_u), list(net.edge_v), list(net.time_s)
    cut = set()
    for edge in set(points.edge.tolist()):
        on = np.flatnonzero(points.edge == edge)
        on = on[np.argsort(points.fraction[on], kind="stable")]
        back = int(net.reverse_edge[edge])
        chain = [int(net.edge_u[edge])] + [n + int(i) for i in on] + [int(net.edge_v[edge])]
        share = np.diff(np.concatenate([[0.0], points.fraction[on], [1.0]]))
        for a, b, s in zip(chain[:-1], chain[1:], share):
            tails += [a] if back < 0 else [a, b]
            heads += [b] if back < 0 else [b, a]
            times += [s * net.time_s[edge]] if back < 0 else [s * net.time_s[edge],
                                                              s * net.time_s[back]]
        cut.update([edge, back])
    keep = [i for i in range(len(tails)) if i >= net.n_edges or i not in cut]
    size = n + len(points.edge)
    return csr_matrix((np.maximum(np.array(times)[keep], 1e-12),
                       (np.array(tails)[keep], np.array(heads)[keep])), shape=(size, size))


@pytest.mark.parametrize("tree_budget, near_nodes", [(10**9, 2000), (0, 2000), (0, 3)],
                         ids=["trees", "search near", "bounded search"])
def test_answers_equal_a_plain_dijkstra_from_the_snapped_point(tree_budget, near_nodes,
                                                                monkeypatch):
    monkeypatch.setattr("geo.nearest.NEAR_SEARCH_NODES", near_nodes)
    rng = np.random.default_rng(5)
    n, e = 300, 500
    lon = 118.70 + rng.uniform(0, 0.05, n)
    lat = 32.00 + rng.uniform(0, 0.05, n)
    u, v = rng.integers(0, n, e), rng.integers(0, n, e)
    keep = u != v
    u, v = u[keep], v[keep]
    two_way = rng.random(len(u)) < 0.7  # the rest are one-way streets
    t = rng.uniform(5, 120, len(u))
    net = Network.from_edges("ebike", np.arange(n), lon, lat,
                             np.concatenate([u, v[two_way]]), np.concatenate([v, u[two_way]]),
                             np.concatenate([t, t[two_way]]) * 4,
                             np.concatenate([t, t[two_way]]))
    edges = rng.integers(0, net.n_edges, 100)
    shares = rng.uniform(0, 1, 100)
    places = [between_shape(net, int(edge), share) for edge, share in zip(edges, shares)]
    away = rng.normal(0, 1e-4, (100, 2)) * np.where(np.arange(100) % 5, 1, 8)[:, None]
    places = [(x + dx, y + dy) for (x, y), (dx, dy) in zip(places, away)]
    stations = [station(f"s{i}", place, amenities=(("toilet",), ("microwave",), ())[i % 3],
                        opening_hours=("24/7", "Mo-Fr 08:00-18:00")[i % 2])
                for i, place in enumerate(places[:40])]
    index = RegionIndex("random", {"ebike": net}, stations, tree_budget=tree_budget)
    assert (index.stations_on_street("ebike").walk_s > 0).any()  # some walk from their street
    filters = [None, StationFilter(amenities=frozenset({"toilet"})),
               StationFilter(open_at=WEDNESDAY_EVENING)]
    for q, worker in enumerate(places[40:]):
        answer = nearest_stations(index, worker, "ebike", k=q % 4 + 1, filters=filters[q % 3])
        mask = index.matching(filters[q % 3])
        on = index.stations_on_street("ebike")
        points = answer.snap.on.join(on)
        times = dijkstra(split_graph(net, points), indices=net.n_nodes)[net.n_nodes + 1:]
        times = times + points.walk_s[0] + on.walk_s
        expected = np.sort(times[mask])
        expected = expected[np.isfinite(expected)][:q % 4 + 1]
        assert [h.time_s for h in answer.hits] == pytest.approx(expected, abs=1e-6)
        for hit in answer.hits:
            i = index.stations.index(hit.station)
            np.testing.assert_allclose(hit.route[0], (answer.snap.lon, answer.snap.lat))
            np.testing.assert_allclose(hit.route[-1], (on.lon[i], on.lat[i]))


def between_shape(net: Network, edge: int, share: float) -> tuple[float, float]:
    """A point ``share`` of the way along an edge's first segment."""
    shape = net.edge_shape(edge)
    return tuple(shape[0] + share * (shape[1] - shape[0]))


# --- the real Nanjing extract ---------------------------------------------------------------


@pytest.fixture(scope="module")
def nanjing():
    return build_networks(NANJING, modes=("walk", "ebike"))


@pytest.mark.slow
@pytest.mark.parametrize("mode", ["walk", "ebike"])
def test_points_on_nanjing_streets_snap_onto_them_within_a_metre(nanjing, mode):
    net = nanjing[mode]
    rng = np.random.default_rng(13)
    lines = shapely.linestrings(net.geom_xy, indices=np.repeat(np.arange(net.n_edges),
                                                               np.diff(net.geom_offsets)))
    edges = rng.choice(net.n_edges, 200, p=net.length_m / net.length_m.sum())
    drawn = shapely.line_interpolate_point(lines[edges], rng.uniform(0, 1, 200), normalized=True)
    x, y = shapely.get_x(drawn), shapely.get_y(drawn)
    on = StreetIndex(net).snap(x, y)
    assert on.distance_m.max() < 1.0
    sx, sy = net.to_utm(on.lon, on.lat)
    assert np.hypot(sx - x, sy - y).max() < 1.0


@pytest.mark.slow
def test_snapping_finds_the_nearest_street_exactly(nanjing):
    net = nanjing["ebike"]
    rng = np.random.default_rng(17)
    lines = shapely.linestrings(net.geom_xy, indices=np.repeat(np.arange(net.n_edges),
                                                               np.diff(net.geom_offsets)))
    low, high = net.node_xy.min(axis=0), net.node_xy.max(axis=0)
    xy = rng.uniform(low, high, (500, 2))
    tree = shapely.STRtree(lines)
    _, distance = tree.query_nearest(shapely.points(xy), return_distance=True, all_matches=False)
    on = StreetIndex(net).snap(xy[:, 0], xy[:, 1])
    np.testing.assert_allclose(on.distance_m, distance, atol=1e-6)
