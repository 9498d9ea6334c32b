"""The service field on a hand-made network whose shortest paths are known."""

import numpy as np
import pytest

from geo.field import NO_NODE, node_trees, service_field
from geo.network import Network
from tests.support import grid_network


# The hand-made network is the grid drawn at tests.support.grid_network.
def test_every_node_gets_the_travel_time_to_its_nearest_station():
    field = service_field(grid_network(), np.array([3, 4]))
    # 0 reaches 4 directly; 1 -> 5 -> 4; 2 -> 3; 6 -> 5 -> 4 over the fast road (90 s) beats
    # 6 -> 7 -> 3 (120 s).
    np.testing.assert_allclose(field.time_s[:8], [60, 120, 60, 0, 0, 60, 90, 60])
    assert list(field.nearest[:8]) == [1, 1, 0, 0, 1, 1, 1, 0]


def test_a_stations_own_node_has_time_and_distance_zero_and_no_next_node():
    field = service_field(grid_network(), np.array([3, 4]))
    assert field.time_s[3] == 0 and field.dist_m[3] == 0
    assert field.next_node[4] == NO_NODE
    assert list(field.route_nodes(4)) == [4]


def test_one_way_streets_are_only_used_in_their_direction():
    # From 2 to a station at 0, the way back along the one-way row is closed: 2 -> 6 -> 5 -> 4 -> 0.
    field = service_field(grid_network(), np.array([0]))
    assert list(field.route_nodes(2)) == [2, 6, 5, 4, 0]
    assert field.time_s[2] == pytest.approx(60 + 30 + 60 + 60)
    # Along the one-way direction, 0 reaches a station at 2 in two steps.
    assert service_field(grid_network(), np.array([2])).time_s[0] == pytest.approx(120)


def test_distance_is_the_length_of_the_fastest_route_not_the_shortest():
    # 4 -> 7: the fast road 5 - 6 (30 s, 300 m) beats going up and over the one-way row.
    field = service_field(grid_network(), np.array([7]))
    assert list(field.route_nodes(4)) == [4, 5, 6, 7]
    assert field.time_s[4] == pytest.approx(150)
    assert field.dist_m[4] == pytest.approx(500)


def test_a_disconnected_piece_reaches_no_station():
    field = service_field(grid_network(), np.array([3, 4]))
    assert np.isinf(field.time_s[[8, 9]]).all() and np.isinf(field.dist_m[[8, 9]]).all()
    assert list(field.nearest[[8, 9]]) == [-1, -1]
    with pytest.raises(ValueError, match="no station is reachable"):
        field.route_nodes(8)


def test_stations_sharing_a_node_report_the_first_of_them():
    field = service_field(grid_network(), np.array([5, 3, 5]))
    assert field.nearest[5] == 0 and field.nearest[1] == 0


def test_with_no_stations_nothing_is_reachable():
    field = service_field(grid_network(), np.array([], dtype=np.int64))
    assert np.isinf(field.time_s).all() and (field.nearest == -1).all()


def test_field_matches_a_plain_dijkstra_from_every_node_on_a_random_network():
    rng = np.random.default_rng(7)
    n = 300
    u = rng.integers(0, n, 1500)
    v = rng.integers(0, n, 1500)
    t = rng.uniform(5, 100, 1500)
    net = Network.from_edges(
        "truck", np.arange(n), 118.7 + rng.uniform(0, 0.05, n), 32.0 + rng.uniform(0, 0.05, n),
        u, v, t * 10, t,
    )
    stations = rng.choice(n, 12, replace=False)
    field = service_field(net, stations)
    from scipy.sparse.csgraph import dijkstra

    every = dijkstra(net.matrix("time"), directed=True)  # every[i, j]: time from i to j
    np.testing.assert_allclose(field.time_s, every[:, stations].min(axis=1))
    reached = np.isfinite(field.time_s)
    # The reported station is one that attains the minimum, and the route's length adds up.
    np.testing.assert_allclose(
        every[np.nonzero(reached)[0], stations[field.nearest[reached]]], field.time_s[reached]
    )
    for node in np.nonzero(reached)[0][:40]:
        path = field.route_nodes(node)
        edges = net.edge_ids(path[:-1], path[1:])
        assert net.time_s[edges].sum() == pytest.approx(field.time_s[node])
        assert net.length_m[edges].sum() == pytest.approx(field.dist_m[node])


def test_node_trees_give_each_root_its_own_times_and_routes():
    trees = node_trees(grid_network(), np.array([4, 3, 4]))
    assert trees.time_s.shape == (2, 10) and sorted(trees.row[[3, 4]].tolist()) == [0, 1]
    assert (trees.row[[0, 1, 2, 5, 6, 7, 8, 9]] == -1).all()
    assert trees.time_s[trees.row[4], 1] == pytest.approx(120)
    assert list(trees.route_nodes(4, 1)) == [1, 5, 4]
    assert np.isinf(trees.time_s[trees.row[3], 8])
    with pytest.raises(ValueError, match="not reachable"):
        trees.route_nodes(3, 8)
    with pytest.raises(ValueError, match="not reachable"):
        trees.route_nodes(7, 1)  # no tree is rooted at node 7


def test_kept_trees_are_reused_and_only_missing_roots_searched():
    network = grid_network()
    kept = node_trees(network, np.array([4, 3]))
    assert node_trees(network, np.array([3]), kept) is kept
    more = node_trees(network, np.array([7, 3]), kept)
    np.testing.assert_array_equal(more.row[[4, 3]], kept.row[[4, 3]])
    assert more.row[7] == 2
    np.testing.assert_array_equal(more.time_s[:2], kept.time_s)
    np.testing.assert_array_equal(more.time_s[2], node_trees(network, np.array([7])).time_s[0])
