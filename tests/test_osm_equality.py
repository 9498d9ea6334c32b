"""The array build gives osmnx's network: the same nodes and coordinates, the same edges with
lengths and times to the millimetre and millisecond, and the same shapes.

The reference is osmnx's ``graph_from_xml`` + ``simplify_graph`` + ``largest_component``
(``tests/osmnx_build.py``), both built from the same pieces with the clip-edge rule off. The
default run compares the fixture, every real extract in ``data/`` and ``../shared/data/osm/``
and a small synthetic grid (about 15 s in all); ``-m osmnx`` compares grids of 20 k and 200 k
OSM nodes (osmnx takes minutes on the larger).
"""

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from geo.highways import read_highway_ways
from geo.modes import MODES
from geo.osm import build_mode_network
from tests.osmnx_build import osmnx_mode_network

ROOT = Path(__file__).resolve().parent.parent
SHARED_OSM = ROOT.parent / "shared" / "data" / "osm"
SYNTHETIC = ROOT / "scripts" / "synthetic_osm.py"

EXTRACTS = sorted([*ROOT.glob("data/osm/*/*.osm*"), *SHARED_OSM.glob("*/*.osm*")])


def canonical(net) -> tuple[dict, dict]:
    """Nodes by id (split-edge middles by their rounded coordinates) and edges by node pair."""
    names = [
        int(i) if i >= 0 else (round(x * 1e7), round(y * 1e7))
        for i, x, y in zip(net.node_ids.tolist(), net.lon.tolist(), net.lat.tolist(), strict=True)
    ]
    nodes = dict(zip(names, zip(net.lon.tolist(), net.lat.tolist(), strict=True), strict=True))
    edges = {
        (names[u], names[v]): (net.length_m[e], net.time_s[e], net.edge_shape(e))
        for e, (u, v) in enumerate(zip(net.edge_u.tolist(), net.edge_v.tolist(), strict=True))
    }
    return nodes, edges


def assert_same_network(new, old):
    new_nodes, new_edges = canonical(new)
    old_nodes, old_edges = canonical(old)
    assert new_nodes == old_nodes
    assert new_edges.keys() == old_edges.keys()
    for pair, (length, time, shape) in new_edges.items():
        old_length, old_time, old_shape = old_edges[pair]
        assert abs(length - old_length) < 1e-3 and abs(time - old_time) < 1e-3, pair
        np.testing.assert_array_equal(shape, old_shape)
    assert new.dropped_nodes == old.dropped_nodes


def assert_same_as_osmnx(path: Path):
    ways = read_highway_ways(path)
    for mode in MODES:
        assert_same_network(build_mode_network(ways, mode, clip_edges=False),
                            osmnx_mode_network(ways, mode))


def synthetic_city(folder: Path, nodes: int) -> Path:
    path = folder / f"city-{nodes}.osm.pbf"
    subprocess.run([sys.executable, str(SYNTHETIC), "city", str(nodes), str(path)], check=True,
                   capture_output=True)
    return path


@pytest.mark.parametrize("path", [ROOT / "tests" / "data" / "small.osm",
                                  ROOT / "data" / "osm" / "nanjing_xinjiekou" / "osm_bbox.osm.pbf"],
                         ids=lambda p: p.parent.name)
def test_small_extracts_build_as_osmnx_builds_them(path):
    assert_same_as_osmnx(path)


def test_a_small_synthetic_city_builds_as_osmnx_builds_it(tmp_path):
    assert_same_as_osmnx(synthetic_city(tmp_path, 3_000))


@pytest.mark.parametrize("path", EXTRACTS, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_every_real_extract_builds_as_osmnx_builds_it(path):
    assert_same_as_osmnx(path)


@pytest.mark.osmnx
@pytest.mark.parametrize("nodes", [20_000, 200_000])
def test_synthetic_cities_build_as_osmnx_builds_them(tmp_path, nodes):
    assert_same_as_osmnx(synthetic_city(tmp_path, nodes))


@pytest.mark.osmnx
def test_shared_extracts_are_there():
    assert len(list(SHARED_OSM.glob("*/*.osm*"))) >= 10
