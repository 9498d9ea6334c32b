"""The shipped real sources build usable networks for every mode.

``data/osm/nanjing_xinjiekou/osm_bbox.osm.pbf`` is a 2.9 × 1.9 km OSM extract of Xinjiekou,
Nanjing; ``data/roads/jinan/edges.shp`` is the OSM-derived directed road network of urban Jinan
(28,597 directed edges, 12,766 nodes, 5,127 km summed over directed edges).
"""

from pathlib import Path

import numpy as np
import pytest
from scipy.sparse.csgraph import connected_components

from geo.build import build_network, build_networks, read_highway_count
from geo.modes import MODES

ROOT = Path(__file__).resolve().parent.parent
NANJING = ROOT / "data" / "osm" / "nanjing_xinjiekou" / "osm_bbox.osm.pbf"
JINAN = ROOT / "data" / "roads" / "jinan" / "edges.shp"

pytestmark = pytest.mark.slow


def strongly_connected(net) -> bool:
    n_comp, _ = connected_components(net.matrix(), directed=True, connection="strong")
    return n_comp == 1


@pytest.fixture(scope="module")
def nanjing():
    return build_networks(NANJING)


def test_sources_are_shipped_with_attribution():
    for source in (NANJING, JINAN):
        attribution = (source.parent / "ATTRIBUTION.md").read_text(encoding="utf-8")
        assert "© OpenStreetMap contributors" in attribution and "ODbL 1.0" in attribution


@pytest.mark.parametrize("mode", MODES)
def test_nanjing_mode_builds_strongly_connected(nanjing, mode):
    net = nanjing[mode]
    assert net.mode == mode
    assert net.n_nodes > 200 and net.n_edges > net.n_nodes
    assert strongly_connected(net)
    assert (net.length_m > 0).all() and (net.time_s > 0).all()
    # the whole network lies in the Xinjiekou extract (with ways running a little beyond it)
    assert 118.75 < net.lon.min() <= net.lon.max() < 118.81
    assert 32.02 < net.lat.min() <= net.lat.max() < 32.07


def test_nanjing_modes_differ_as_expected(nanjing):
    walk, ebike, truck = (nanjing[m] for m in MODES)
    assert walk.n_nodes > truck.n_nodes
    assert walk.length_m.sum() > truck.length_m.sum()
    # trucks are the fastest on average, walkers the slowest
    def speed(n):
        return n.length_m.sum() / n.time_s.sum() * 3.6
    assert speed(walk) < speed(ebike) < speed(truck)
    assert speed(walk) == pytest.approx(4.5, rel=0.05)


def test_nanjing_highway_count():
    assert read_highway_count(NANJING) == 384


def test_jinan_truck_network():
    truck = build_network(JINAN, "truck")
    assert truck.n_nodes > 10_000
    assert strongly_connected(truck)
    assert (truck.length_m > 0).all()
    # summed over directed edges, so a two-way road counts twice: the layer's 28,597 edges
    # total 5,127 km, and the largest strongly connected part keeps most of it
    total_km = truck.length_m.sum() / 1000
    assert 4_500 < total_km < 5_200
    # every node of the layer is kept or counted as dropped; the rest (ids < 0) split parallel roads
    assert (truck.node_ids >= 0).sum() + truck.dropped_nodes == 12_766
    assert 116.7 < truck.lon.min() <= truck.lon.max() < 117.6
    assert 36.5 < truck.lat.min() <= truck.lat.max() < 37.2


def test_jinan_walk_is_two_way_and_has_no_motorway():
    walk = build_network(JINAN, "walk")
    assert strongly_connected(walk)
    rows = np.repeat(np.arange(walk.n_nodes), np.diff(walk.indptr))
    assert (walk.edge_ids(walk.edge_v, rows) >= 0).all()
    assert walk.n_nodes > 10_000
