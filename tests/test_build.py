"""Building per-mode street networks from the hand-made fixture ``tests/data/small.osm``.

The fixture (see the sketch in the file) is a small grid: a south street A-B-C-D (tertiary,
maxspeed 20), a north street E-F-G-H, two-way A-E, one-way B->F, C-G with ``hgv=no``, D-H with
``maxheight=3.2``, a footway H-J, a cycleway D-I, steps I-J, a one-way E->K with
``oneway:bicycle=no``, K-L-G, and a separate two-node street X-Y far away. Edges are checked
through the OSM segments their shapes follow, since simplification merges segments (and
the network keeps only the fastest of parallel edges, so the fixture has no two paths between
the same two junctions).
"""

import bz2
import math
import shutil
import xml.etree.ElementTree as ET
from pathlib import Path

import numpy as np
import osmium
import pytest
import shapely
from scipy.sparse.csgraph import connected_components

from geo.build import build_network, build_networks, read_highway_count, source_kind
from geo.highways import read_highway_ways
from geo.modes import MODES
from geo.osm import OsmSourceError, build_mode_network
from tests.support import CLIPPED

SMALL = Path(__file__).parent / "data" / "small.osm"

#: Fixture node ids by letter.
A, B, C, D, E, F, G, H, I, J, K, L, X, Y = 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 20, 21  # noqa: E741


def fixture_nodes(path: Path = SMALL) -> dict[tuple[int, int], int]:
    """Map rounded (lon, lat) of the fixture's nodes to their ids."""
    root = ET.parse(path).getroot()
    return {
        (round(float(n.get("lon")) * 1e6), round(float(n.get("lat")) * 1e6)): int(n.get("id"))
        for n in root.iter("node")
    }


def segments(net) -> set[tuple[int, int]]:
    """The directed fixture-node pairs travelled by the network's edges."""
    ids = fixture_nodes()
    pairs = set()
    for e in range(net.n_edges):
        shape = net.edge_shape(e)
        nodes = [ids[(round(x * 1e6), round(y * 1e6))] for x, y in shape]
        pairs.update(zip(nodes[:-1], nodes[1:], strict=True))
    return pairs


@pytest.fixture(scope="module")
def nets():
    return build_networks(SMALL)


def haversine_m(lon1, lat1, lon2, lat2):
    lon1, lat1, lon2, lat2 = map(np.radians, (lon1, lat1, lon2, lat2))
    a = (np.sin((lat2 - lat1) / 2) ** 2
         + np.cos(lat1) * np.cos(lat2) * np.sin((lon2 - lon1) / 2) ** 2)
    return 2 * 6_371_009 * np.arcsin(np.sqrt(a))


def test_walk_uses_footway_and_steps_but_not_plain_cycleway(nets):
    walk = segments(nets["walk"])
    assert {(H, J), (J, H), (I, J), (J, I)} <= walk
    assert (D, I) not in walk and (I, D) not in walk


def test_walk_ignores_oneway(nets):
    walk = segments(nets["walk"])
    assert {(B, F), (F, B), (E, K), (K, E)} <= walk


def test_walk_uses_every_street_both_ways(nets):
    walk = segments(nets["walk"])
    assert all((v, u) in walk for u, v in walk)
    assert {(C, G), (D, H)} <= walk


def test_ebike_uses_cycleway_not_steps_nor_plain_footway(nets):
    ebike = segments(nets["ebike"])
    assert {(D, I), (I, D)} <= ebike
    assert not {(I, J), (J, I), (H, J), (J, H)} & ebike


def test_ebike_respects_oneway_except_contraflow(nets):
    ebike = segments(nets["ebike"])
    assert (B, F) in ebike and (F, B) not in ebike
    assert {(E, K), (K, E)} <= ebike


def test_truck_drops_hgv_no_and_low_maxheight(nets):
    truck = segments(nets["truck"])
    assert not {(C, G), (G, C), (D, H), (H, D)} & truck
    assert not {(D, I), (H, J), (I, J)} & truck


def test_truck_respects_oneway(nets):
    truck = segments(nets["truck"])
    assert (B, F) in truck and (F, B) not in truck
    assert (E, K) in truck and (K, E) not in truck  # oneway:bicycle=no is not for trucks
    assert {(A, B), (B, A), (E, F), (F, E)} <= truck


@pytest.mark.parametrize("mode", MODES)
def test_disconnected_piece_is_dropped_and_counted(nets, mode):
    net = nets[mode]
    assert not {X, Y} & set(net.node_ids.tolist())
    assert net.dropped_nodes == 2
    n_comp, _ = connected_components(net.matrix(), directed=True, connection="strong")
    assert n_comp == 1


@pytest.mark.parametrize("mode", MODES)
def test_lengths_match_haversine(nets, mode):
    net = nets[mode]
    coords = net.geom_lonlat
    seg = haversine_m(coords[:-1, 0], coords[:-1, 1], coords[1:, 0], coords[1:, 1])
    part = np.repeat(np.arange(net.n_edges), np.diff(net.geom_offsets))
    same = part[1:] == part[:-1]
    expected = np.bincount(part[1:][same], weights=seg[same], minlength=net.n_edges)
    assert (net.length_m > 0).all()
    np.testing.assert_allclose(net.length_m, expected, rtol=0.01)


@pytest.mark.parametrize("mode", MODES)
def test_shapes_run_from_tail_to_head(nets, mode):
    net = nets[mode]
    starts = net.geom_lonlat[net.geom_offsets[:-1]]
    ends = net.geom_lonlat[net.geom_offsets[1:] - 1]
    np.testing.assert_allclose(starts, np.column_stack([net.lon, net.lat])[net.edge_u])
    np.testing.assert_allclose(ends, np.column_stack([net.lon, net.lat])[net.edge_v])


def test_time_is_length_over_speed(nets):
    # every truck way is residential (20 km/h) or tertiary capped by maxspeed=20
    np.testing.assert_allclose(nets["truck"].time_s, nets["truck"].length_m / (20 / 3.6))
    # every e-bike way is at the default 15 km/h
    np.testing.assert_allclose(nets["ebike"].time_s, nets["ebike"].length_m / (15 / 3.6))


def test_mixed_edge_time_sums_its_segments(nets):
    walk = nets["walk"]
    # the edge H-J-I is 94 m of footway at 4.5 km/h then 111 m of steps at 2.5 km/h
    ids = {v: i for i, v in enumerate(walk.node_ids.tolist())}
    edge = walk.edge_ids(np.array([ids[H]]), np.array([ids[I]]))[0]
    assert edge >= 0
    footway = haversine_m(118.783, 32.041, 118.784, 32.041)
    steps = haversine_m(118.784, 32.041, 118.784, 32.040)
    assert walk.time_s[edge] == pytest.approx(footway / (4.5 / 3.6) + steps / (2.5 / 3.6), rel=0.01)


def test_reverse_oneway_is_the_same_street(tmp_path, nets):
    reversed_way = SMALL.read_text(encoding="utf-8").replace(
        '<nd ref="2"/><nd ref="6"/><tag k="highway" v="residential"/><tag k="oneway" v="yes"/>',
        '<nd ref="6"/><nd ref="2"/><tag k="highway" v="residential"/><tag k="oneway" v="-1"/>',
    )
    assert 'v="-1"' in reversed_way
    path = tmp_path / "reversed.osm"
    path.write_text(reversed_way, encoding="utf-8")
    for mode in ("ebike", "truck"):
        assert segments(build_network(path, mode)) == segments(nets[mode])


def test_overrides_change_speeds():
    walk = build_network(SMALL, "walk", {"default_kmh": 5, "highway_kmh": {"steps": 5}})
    np.testing.assert_allclose(walk.time_s, walk.length_m / (5 / 3.6))
    truck = build_network(SMALL, "truck", {"highway_kmh": {"residential": 10}})
    speeds = truck.length_m / truck.time_s * 3.6
    assert speeds.min() == pytest.approx(10) and speeds.max() == pytest.approx(20)


def test_overrides_for_truck_size_change_the_network():
    low = build_network(SMALL, "truck", {"truck_height_m": 3.0})
    assert {(D, H), (H, D)} <= segments(low)


def test_unknown_mode_is_named():
    with pytest.raises(ValueError, match="tram"):
        build_network(SMALL, "tram")


@pytest.mark.parametrize("content", [
    "",
    "<osm><node id='1'",
    "this is not OSM data\n",
    '<?xml version="1.0"?><osm version="0.6"><node id="1" lat="32" lon="118"/></osm>',
    '<?xml version="1.0"?><osm version="0.6"><node id="1" lat="32" lon="118"/>'
    '<way id="1"><nd ref="1"/><nd ref="2"/><tag k="highway" v="residential"/></way></osm>',
], ids=["empty", "truncated", "garbage", "no-highway", "highway-missing-nodes"])
def test_unusable_files_raise_naming_the_file(tmp_path, content):
    path = tmp_path / "bad_region.osm"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(OsmSourceError, match="bad_region.osm"):
        build_network(path, "walk")
    if content.count("<way") == 0:
        with pytest.raises(OsmSourceError, match="bad_region.osm"):
            read_highway_count(path)


def test_missing_and_unknown_files_raise_naming_the_file(tmp_path):
    with pytest.raises(OsmSourceError, match="nowhere.osm.pbf"):
        build_network(tmp_path / "nowhere.osm.pbf", "walk")
    with pytest.raises(OsmSourceError, match="streets.csv"):
        build_network(tmp_path / "streets.csv", "walk")
    assert isinstance(OsmSourceError("x"), ValueError)


def test_garbage_pbf_raises(tmp_path):
    path = tmp_path / "broken.osm.pbf"
    path.write_bytes(b"\x00\x01 not a pbf")
    with pytest.raises(OsmSourceError, match="broken.osm.pbf"):
        read_highway_count(path)


def test_highway_count_is_a_cheap_check():
    assert read_highway_count(SMALL) == 13
    assert source_kind(SMALL) == "osm"
    assert source_kind(Path("x/edges.shp")) == "roads"


def same_network(a, b):
    assert a.n_nodes == b.n_nodes and a.n_edges == b.n_edges
    np.testing.assert_array_equal(a.node_ids, b.node_ids)
    np.testing.assert_array_equal(a.indptr, b.indptr)
    np.testing.assert_array_equal(a.edge_v, b.edge_v)
    np.testing.assert_allclose(a.length_m, b.length_m)
    np.testing.assert_allclose(a.time_s, b.time_s)
    np.testing.assert_allclose(a.geom_lonlat, b.geom_lonlat)


def test_bz2_and_pbf_copies_give_the_same_network(tmp_path, nets):
    compressed = tmp_path / "small.osm.bz2"
    compressed.write_bytes(bz2.compress(SMALL.read_bytes()))
    pbf = tmp_path / "small.osm.pbf"
    with osmium.SimpleWriter(str(pbf)) as writer:
        for obj in osmium.FileProcessor(str(SMALL)):
            writer.add(obj)
    xml_named = tmp_path / "small.osm.xml"
    shutil.copyfile(SMALL, xml_named)
    for path in (compressed, pbf, xml_named):
        copies = build_networks(path)
        for mode in MODES:
            same_network(copies[mode], nets[mode])




def test_clipped_way_keeps_its_present_runs(tmp_path):
    path = tmp_path / "clipped.osm"
    path.write_text(CLIPPED, encoding="utf-8")
    ways = read_highway_ways(path)
    pieces = np.split(ways.node_refs, ways.offsets[1:-1])
    assert [p.tolist() for p in pieces] == [[5, 10], [1, 2], [4, 5, 6]]  # lone 8 is no run
    assert ways.way_ids.tolist() == [2, 1, 1]
    assert ways.cut_start.tolist() == [False, False, True]
    assert ways.cut_end.tolist() == [False, True, True]
    net = build_mode_network(ways, "walk", clip_edges=False)
    assert sorted(net.node_ids.tolist()) == [4, 5, 6, 10]
    assert net.dropped_nodes == 2  # the run 1-2
    street = haversine_m(118.783, 32.04, 118.785, 32.04)
    footway = haversine_m(118.784, 32.04, 118.784, 32.041)
    assert net.length_m.sum() == pytest.approx(2 * (street + footway), rel=0.01)


def test_repeated_node_references_do_not_break_a_way(tmp_path):
    path = tmp_path / "repeat.osm"
    path.write_text(CLIPPED.replace('<nd ref="1"/>', '<nd ref="1"/><nd ref="1"/>'), "utf-8")
    pieces = read_highway_ways(path)
    assert pieces.node_refs[pieces.offsets[1]: pieces.offsets[2]].tolist() == [1, 2]


def test_reading_is_shared_between_modes(monkeypatch):
    import geo.build

    calls = []
    real = geo.build.read_osm
    monkeypatch.setattr(geo.build, "read_osm",
                        lambda p, c, progress: calls.append(p) or real(p, c, progress))
    reports = []
    build_networks(SMALL, progress=lambda *report: reports.append(report))
    assert len(calls) == 1
    assert reports[0] == ("reading small.osm", 0, None)
    assert ("reading small.osm", 13, 13) in reports
    assert [r for r in reports if r[0] == "building networks"] == [
        ("building networks", done, 3) for done in range(4)]


def test_haversine_helper_sanity():
    # 0.001 degree of latitude is about 111 m
    assert haversine_m(0, 0, 0, 0.001) == pytest.approx(111.2, abs=0.1)
    assert math.isclose(haversine_m(118.78, 32.04, 118.78, 32.04), 0.0)


def test_header_bounds_are_read():
    assert read_highway_ways(SMALL).bounds == (118.78, 32.04, 118.801, 32.05)


def test_a_way_cut_at_the_extract_edge_is_kept(tmp_path):
    path = tmp_path / "clipped.osm"
    path.write_text(CLIPPED, encoding="utf-8")
    net = build_network(path, "walk")
    # 1-2 and 4-5-6 both end where the way leaves the extract, so they join through outside
    assert sorted(net.node_ids.tolist()) == [1, 2, 4, 5, 6, 10]
    assert net.dropped_nodes == 0 and net.dropped_km == {}
    without_rule = build_mode_network(read_highway_ways(path), "walk", clip_edges=False)
    assert without_rule.dropped_km == {"residential": pytest.approx(0.0943, abs=1e-4)}


LEAVING = """<?xml version="1.0"?>
<osm version="0.6">
 <bounds minlat="32.0400" minlon="118.7800" maxlat="32.0500" maxlon="118.7900"/>
 <node id="1" lat="32.0410" lon="118.7810"/>
 <node id="2" lat="32.0410" lon="118.7850"/>
 <node id="3" lat="32.0450" lon="118.7850"/>
 <node id="4" lat="32.0450" lon="118.7810"/>
 <node id="5" lat="32.0410" lon="118.7950"/>
 <node id="6" lat="32.0450" lon="118.7950"/>
 <way id="1"><nd ref="1"/><nd ref="2"/><nd ref="3"/><nd ref="4"/><nd ref="1"/>
  <tag k="highway" v="residential"/></way>
 <way id="2"><nd ref="2"/><nd ref="5"/><tag k="highway" v="trunk"/><tag k="oneway" v="yes"/></way>
 <way id="3"><nd ref="6"/><nd ref="3"/><tag k="highway" v="trunk"/><tag k="oneway" v="yes"/></way>
</osm>
"""


def osm_nodes(net) -> set[int]:
    """The network's OSM node ids (without the middles of split edges)."""
    return {i for i in net.node_ids.tolist() if i > 0}


def test_one_way_roads_leaving_the_bounds_are_kept(tmp_path):
    path = tmp_path / "leaving.osm"
    path.write_text(LEAVING, encoding="utf-8")
    ways = read_highway_ways(path)
    truck = build_mode_network(ways, "truck")
    assert osm_nodes(truck) == {2, 3, 5, 6}  # 1 and 4 are shape nodes of the ring 2-3
    assert truck.dropped_km == {}
    off = build_mode_network(ways, "truck", clip_edges=False)
    assert osm_nodes(off) == {2, 3}
    trunk = haversine_m(118.785, 32.041, 118.795, 32.041) + haversine_m(118.785, 32.045,
                                                                        118.795, 32.045)
    assert off.dropped_km == {"trunk": pytest.approx(trunk / 1000, rel=0.01)}
    assert off.dropped_nodes == 2


def test_a_boundary_polygon_replaces_the_header_bounds(tmp_path):
    path = tmp_path / "leaving.osm"
    path.write_text(LEAVING, encoding="utf-8")
    ways = read_highway_ways(path)
    wide = shapely.box(118.77, 32.03, 118.80, 32.06)
    assert osm_nodes(build_mode_network(ways, "truck", boundary=wide)) == {2, 3}
    narrow = shapely.box(118.78, 32.04, 118.79, 32.05)
    assert osm_nodes(build_networks(path, ["truck"], boundary=narrow)["truck"]) == {2, 3, 5, 6}
