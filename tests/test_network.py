"""The array network: CSR layout, no street lost to parallel edges or loops, and the disk cache."""

import numpy as np
import pytest
from scipy.sparse.csgraph import dijkstra

from geo.network import Network

LON = np.array([118.780, 118.782, 118.784])
LAT = np.array([32.040, 32.040, 32.040])


def test_edges_are_in_csr_order_with_one_edge_per_node_pair():
    net = Network.from_edges("walk", [1, 2, 3], LON, LAT, [2, 0, 1], [1, 1, 0], [5, 6, 7],
                             [1, 2, 3])
    assert list(net.indptr) == [0, 1, 2, 3]
    assert list(net.edge_v) == [1, 0, 1]
    assert list(net.edge_ids([0, 1, 2, 0], [1, 0, 1, 2])) == [0, 1, 2, -1]


def test_a_parallel_street_is_split_at_its_middle_not_dropped():
    # Two streets join 0 and 1 both ways: a straight one (60 s) and a curved detour (90 s).
    curve = np.array([[118.780, 32.040], [118.781, 32.042], [118.782, 32.040]])
    geoms = [curve[[0, 2]], curve[[2, 0]], curve, curve[::-1]]
    net = Network.from_edges("walk", [1, 2, 3], LON, LAT, [0, 1, 0, 1], [1, 0, 1, 0],
                             [200, 200, 450, 450], [60, 60, 90, 90], geoms)
    assert net.n_nodes == 4 and net.node_ids[3] < 0  # one new node, shared by both directions
    np.testing.assert_allclose([net.lon[3], net.lat[3]], [118.781, 32.042])
    assert net.length_m.sum() == pytest.approx(2 * 200 + 2 * 450)
    times = dijkstra(net.matrix(), directed=True)
    assert times[0, 1] == 60 and times[0, 3] == 45 and times[3, 1] == 45


def test_a_loop_is_kept_as_two_halves_through_a_new_node():
    loop = np.array([[118.780, 32.040], [118.781, 32.041], [118.780, 32.042], [118.780, 32.040]])
    there = np.array([[118.780, 32.040], [118.782, 32.040]])
    net = Network.from_edges("walk", [1, 2, 3], LON, LAT, [0, 0, 1], [0, 1, 0], [300, 200, 200],
                             [30, 20, 20], [loop, there, there[::-1]])
    assert net.n_nodes == 4 and net.length_m.sum() == pytest.approx(700)
    new = net.n_nodes - 1
    assert (net.edge_ids([0, new], [new, 0]) >= 0).all()


def test_a_loop_without_a_shape_is_dropped():
    net = Network.from_edges("walk", [1, 2, 3], LON, LAT, [0, 0], [0, 1], [10, 200], [1, 20])
    assert net.n_nodes == 3 and net.n_edges == 1


def test_saved_networks_load_back_identical(tmp_path):
    rng = np.random.default_rng(3)
    n, e = 50_000, 150_000
    net = Network.from_edges("truck", np.arange(n), 117 + rng.random(n), 36 + rng.random(n),
                             rng.integers(0, n, e), rng.integers(0, n, e), rng.random(e) * 100,
                             rng.random(e) * 10)
    net.save(tmp_path / "net.npz")
    loaded = Network.load(tmp_path / "net.npz")
    for name in ("node_ids", "lon", "lat", "indptr", "edge_v", "length_m", "time_s",
                 "geom_offsets", "geom_lonlat"):
        np.testing.assert_array_equal(getattr(loaded, name), getattr(net, name))
    assert loaded.mode == "truck"


def test_path_shape_follows_the_edges_shapes():
    bend = np.array([[118.780, 32.040], [118.781, 32.041], [118.782, 32.040]])
    net = Network.from_edges("walk", [1, 2, 3], LON, LAT, [0, 1], [1, 2], [250, 200], [25, 20],
                             [bend, np.array([[118.782, 32.040], [118.784, 32.040]])])
    np.testing.assert_allclose(net.path_shape([0, 1, 2]),
                               [[118.780, 32.040], [118.781, 32.041], [118.782, 32.040],
                                [118.784, 32.040]])
