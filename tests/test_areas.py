"""Service areas and gaps on hand-made networks whose answers are known exactly.

Most networks here are straight streets laid out in metres in UTM zone 50 (Nanjing's zone), so
that shapes, lengths and areas can be checked to the metre. Time runs *to* the stations.

Service areas and gap areas are traced on a grid (see :func:`geo.areas.service_areas`); where
they are checked against the exact union of buffered street pieces, that union is computed here
with GEOS (:func:`buffer_union`, :func:`gap_unions`), as the reference the tracing approximates.
"""

import numpy as np
import pytest
import shapely
from pyproj import Transformer
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components, dijkstra

from geo.areas import (
    GAP_COLUMNS,
    REACH_OFFSET_S,
    SERVICE_AREA_COLUMNS,
    UNCOVERED_STREET_COLUMNS,
    gap_areas,
    service_areas,
    station_reach,
    uncovered_streets,
)
from geo.field import service_field
from geo.network import Network
from geo.streets import edge_pieces, reached_fraction
from tests.support import grid_network

#: Where the hand-made streets start, metres in UTM zone 50 (central Nanjing).
ORIGIN = np.array([668000.0, 3546000.0])
TO_LONLAT = Transformer.from_crs(32650, 4326, always_xy=True)
BUFFER = 35.0


def street_network(xy, two_way=(), one_way=()) -> Network:
    """Straight streets between nodes at ``xy`` (metres from :data:`ORIGIN`).

    Args:
        xy: node positions (N, 2), metres.
        two_way, one_way: streets as (u, v, seconds); lengths are the straight distances.
    """
    xy = np.asarray(xy, dtype=float)
    edges = list(one_way) + list(two_way) + [(v, u, t) for u, v, t in two_way]
    u, v, t = (np.array(c) for c in zip(*edges))
    lon, lat = TO_LONLAT.transform(*(xy + ORIGIN).T)
    length = np.hypot(*(xy[u] - xy[v]).T)
    return Network.from_edges("walk", np.arange(len(xy)), lon, lat, u, v, length, t)


def row_of_streets(count: int, step_m: float = 100.0, step_s: float = 60.0) -> Network:
    """Nodes 0 … count-1 along the x axis, ``step_m`` apart, two-way streets between them."""
    xy = np.column_stack([np.arange(count) * step_m, np.zeros(count)])
    return street_network(xy, two_way=[(i, i + 1, step_s) for i in range(count - 1)])


def point(x: float, y: float = 0.0) -> shapely.Point:
    """A WGS-84 point at (x, y) metres from :data:`ORIGIN`."""
    return shapely.Point(TO_LONLAT.transform(ORIGIN[0] + x, ORIGIN[1] + y))


def utm_ends(line: shapely.LineString) -> list[tuple[float, float]]:
    """A UTM piece's end points, in metres from :data:`ORIGIN`."""
    coords = shapely.get_coordinates(line)[[0, -1]] - ORIGIN
    return [tuple(np.round(c, 6)) for c in coords]


def edge_of(net: Network, u: int, v: int) -> int:
    return int(net.edge_ids([u], [v])[0])


def buffer_union(net: Network, station: int, threshold_s: float,
                 buffer_m: float = BUFFER) -> shapely.Geometry:
    """The exact service area of one station, in UTM: the street pieces within the threshold of
    it (through the service field, not the per-station reach) buffered and unioned by GEOS."""
    times = service_field(net, np.array([station])).time_s
    pieces = edge_pieces(net, times, threshold_s, covered=True)
    return shapely.union_all(shapely.buffer(pieces, buffer_m))


def random_streets(seed: int, count: int, side_m: float) -> Network:
    """``count`` nodes scattered over a square of ``side_m``, each joined by two-way streets to its
    three nearest (1.4 m/s): streets at every angle, close enough that their buffers meet."""
    rng = np.random.default_rng(seed)
    xy = rng.uniform(0, side_m, (count, 2))
    distance = np.hypot(*(xy[:, None] - xy[None]).transpose(2, 0, 1))
    near = np.argsort(distance, axis=1)[:, 1:4]
    pairs = {(min(i, j), max(i, j)) for i in range(len(xy)) for j in near[i]}
    return street_network(xy, two_way=[(i, j, distance[i, j] / 1.4) for i, j in pairs])


def gap_unions(net: Network, times: np.ndarray, threshold_s: float,
               buffer_m: float) -> list[shapely.Geometry]:
    """The exact gap areas, in UTM, in no order: the uncovered pieces grouped by the uncovered
    nodes their ends share, each group buffered and unioned by GEOS."""
    pieces = edge_pieces(net, times, threshold_s, covered=False)
    node_at = {tuple(np.round(net.node_xy[n], 6)): n for n in np.nonzero(times > threshold_s)[0]}
    piece, node = [], []
    for end in (0, -1):
        for i, xy in enumerate(shapely.get_coordinates(shapely.get_point(pieces, end))):
            if tuple(np.round(xy, 6)) in node_at:
                piece.append(i)
                node.append(len(pieces) + node_at[tuple(np.round(xy, 6))])
    size = len(pieces) + net.n_nodes
    links = coo_matrix((np.ones(len(piece)), (piece, node)), shape=(size, size))
    label = connected_components(links, directed=False)[1][:len(pieces)]
    return [shapely.union_all(shapely.buffer(pieces[label == g], buffer_m))
            for g in np.unique(label)]


def default_cell(buffer_m: float = BUFFER) -> float:
    """The grid spacing :func:`service_areas` uses for areas under 2000 half-buffers across."""
    return buffer_m / 2


# --- reached fractions and street pieces -------------------------------------------------------

def test_reached_fraction_is_the_share_of_each_edge_within_the_threshold_from_its_head():
    net = grid_network()
    times = service_field(net, np.array([3, 4])).time_s  # [60, 120, 60, 0, 0, 60, 90, 60, inf, inf]
    fraction = reached_fraction(net, times, 90.0)
    assert fraction[edge_of(net, 2, 3)] == 1.0          # into a station: all of it
    assert fraction[edge_of(net, 1, 2)] == 0.5          # 2 is 60 s out: the last 30 of 60 s
    assert fraction[edge_of(net, 0, 1)] == 0.0          # 1 is 120 s out: none of it
    assert fraction[edge_of(net, 6, 5)] == 1.0          # the fast road, towards 5 (60 s + 30 s)
    assert fraction[edge_of(net, 5, 6)] == 0.0          # and away from it, ending at 90 s exactly
    assert fraction[edge_of(net, 8, 9)] == 0.0          # the separate piece reaches no station
    assert ((fraction >= 0) & (fraction <= 1)).all()


def test_a_one_way_street_is_only_covered_from_its_head_end():
    net = street_network([[0, 0], [100, 0]], one_way=[(0, 1, 60)])
    towards = service_field(net, np.array([1])).time_s
    assert reached_fraction(net, towards, 30.0)[0] == 0.5
    [covered] = edge_pieces(net, towards, 30.0, covered=True)
    assert utm_ends(covered) == [(50.0, 0.0), (100.0, 0.0)]
    [uncovered] = edge_pieces(net, towards, 30.0, covered=False)
    assert utm_ends(uncovered) == [(0.0, 0.0), (50.0, 0.0)]
    # A station at the tail is no use to anyone on the street: nobody can drive back to it.
    away = service_field(net, np.array([0])).time_s
    assert len(edge_pieces(net, away, 30.0, covered=True)) == 0
    [whole] = edge_pieces(net, away, 30.0, covered=False)
    assert utm_ends(whole) == [(0.0, 0.0), (100.0, 0.0)]


def test_a_two_way_street_covered_from_both_ends_leaves_its_middle_uncovered():
    net = row_of_streets(2, step_m=1000.0, step_s=600.0)
    times = service_field(net, np.array([0, 1])).time_s
    covered = edge_pieces(net, times, 120.0, covered=True)
    assert sorted(utm_ends(p) for p in covered) == [
        [(0.0, 0.0), (200.0, 0.0)], [(800.0, 0.0), (1000.0, 0.0)]]
    middle = uncovered_streets(net, times, 120.0)
    assert list(middle.columns) == UNCOVERED_STREET_COLUMNS and len(middle) == 1
    assert middle.length_m.iloc[0] == pytest.approx(600.0)
    [line] = middle.to_crs(net.utm_crs).geometry
    np.testing.assert_allclose(utm_ends(line), [(200.0, 0.0), (800.0, 0.0)], atol=1e-3)
    [piece] = edge_pieces(net, times, 120.0, covered=False)
    assert utm_ends(piece) == [(200.0, 0.0), (800.0, 0.0)]
    # It is a gap of its own, with no node in it: its centre is 200 + 300 m from either station.
    [gap] = gap_areas(net, times, 120.0, np.ones(2)).itertuples()
    assert gap.street_m == pytest.approx(600.0) and gap.uncovered_demand == 0
    assert gap.centre_time_s == pytest.approx(300.0)


def test_each_street_is_one_piece_when_all_is_covered():
    net = grid_network()
    times = service_field(net, np.arange(8)).time_s
    pieces = edge_pieces(net, times, 1000.0, covered=True)
    assert len(pieces) == 10  # 11 streets, less the separate piece 8 - 9 that reaches no station
    assert len(edge_pieces(net, times, 1000.0, covered=False)) == 1


def test_covered_and_uncovered_pieces_add_up_to_every_street_at_any_threshold():
    net = grid_network()
    times = service_field(net, np.array([3, 4])).time_s

    def street_length(threshold_s):
        return sum(shapely.length(edge_pieces(net, times, threshold_s, covered=c)).sum()
                   for c in (True, False))

    every_street = street_length(0.0)
    for threshold_s in (45.0, 90.0, 100.0, np.inf):
        assert street_length(threshold_s) == pytest.approx(every_street)


# --- service areas -----------------------------------------------------------------------------

def test_a_service_area_is_the_reached_street_buffered():
    net = row_of_streets(5)
    # From node 2, 90 s reach nodes 1 and 3 (60 s) and half of the streets beyond: 150 m a side.
    areas = service_areas(net, np.array([2]), 90.0, buffer_m=BUFFER)
    assert list(areas.columns) == SERVICE_AREA_COLUMNS and areas.crs.to_epsg() == 4326
    [area] = areas.itertuples()
    assert area.reached_m == pytest.approx(300.0)
    assert area.area_m2 == pytest.approx(300 * 2 * BUFFER + np.pi * BUFFER**2, rel=0.02)
    assert area.geometry.is_valid
    assert area.geometry.contains(point(200 + 140)) and area.geometry.contains(point(200 - 170))
    assert not area.geometry.contains(point(200 + 200))


def test_a_service_area_follows_the_streets_not_a_circle():
    net = row_of_streets(5)
    [area] = service_areas(net, np.array([2]), 90.0, buffer_m=BUFFER).geometry
    # 100 m from the station, well within the 150 m it reaches along the street, but off it.
    assert not area.contains(point(200, 100))
    assert area.contains(point(200, BUFFER - 1))


def test_service_areas_come_one_per_station_in_order():
    net = row_of_streets(5)
    areas = service_areas(net, np.array([2, 0, 2]), 90.0)
    assert list(areas.station) == [0, 1, 2]
    np.testing.assert_allclose(areas.reached_m, [300.0, 150.0, 300.0])


def test_a_station_that_reaches_no_street_gets_a_small_disc():
    net = row_of_streets(3)
    [area] = service_areas(net, np.array([1]), 0.0, buffer_m=BUFFER).itertuples()
    assert area.reached_m == 0
    assert area.area_m2 == pytest.approx(np.pi * BUFFER**2, rel=0.02)
    assert area.geometry.contains(point(100))


def test_no_stations_give_no_service_areas():
    areas = service_areas(row_of_streets(3), np.array([], dtype=np.int64), 90.0)
    assert len(areas) == 0 and list(areas.columns) == SERVICE_AREA_COLUMNS


def test_service_areas_match_the_buffer_union_on_a_random_network():
    # Streets crossing at every angle, close enough that their buffers meet, merge and leave
    # small holes: the cases where tracing on a grid differs most from the exact union.
    net = random_streets(3, 120, 1500)
    stations = np.array([0, 40, 80])
    areas = service_areas(net, stations, 400.0).to_crs(net.utm_crs)
    assert areas.geometry.is_valid.all()
    for area, station in zip(areas.geometry, stations):
        exact = buffer_union(net, int(station), 400.0)
        assert area.area == pytest.approx(exact.area, rel=0.03)
        assert area.symmetric_difference(exact).area < 0.05 * exact.area


def test_service_areas_do_not_depend_on_the_memory_budget(monkeypatch):
    # Stations are traced in batches whose streets' distances fit geo.tracing.PAIR_BUDGET; a
    # station over it on its own is measured street chunk by street chunk. Same areas either way.
    import geo.tracing

    net = random_streets(8, 150, 2000)
    stations = np.array([3, 50, 100, 149, 3])
    expected = service_areas(net, stations, 300.0)
    for budget in (4000, 500):  # batches of one or two stations; every station over budget
        monkeypatch.setattr(geo.tracing, "PAIR_BUDGET", budget)
        areas = service_areas(net, stations, 300.0)
        np.testing.assert_allclose(areas.area_m2, expected.area_m2, rtol=1e-9)
        assert shapely.equals_exact(areas.geometry.values, expected.geometry.values,
                                    tolerance=1e-9).all()


def test_areas_traced_side_by_side_are_the_areas_traced_alone(monkeypatch):
    # Areas' grids are laid side by side on canvases of geo.tracing.CANVAS_CELLS nodes in rows of
    # geo.tracing._CANVAS_WIDTH; one area a canvas, or all in one row, gives the same areas.
    import geo.tracing

    net = random_streets(8, 150, 2000)
    stations = np.arange(0, 150, 10)
    times = service_field(net, stations).time_s
    demand = np.ones(net.n_nodes)
    expected_gaps = gap_areas(net, times, 150.0, demand)
    expected_areas = service_areas(net, stations, 300.0)
    assert len(expected_gaps) > 10
    for cells, width in ((1, 1), (1 << 30, 1 << 12)):
        monkeypatch.setattr(geo.tracing, "CANVAS_CELLS", cells)
        monkeypatch.setattr(geo.tracing, "_CANVAS_WIDTH", width)
        for traced, expected in ((gap_areas(net, times, 150.0, demand), expected_gaps),
                                 (service_areas(net, stations, 300.0), expected_areas)):
            np.testing.assert_allclose(traced.area_m2, expected.area_m2, rtol=1e-9)
            assert shapely.equals_exact(traced.geometry.values, expected.geometry.values,
                                        tolerance=1e-9).all()


def test_a_coarser_grid_still_follows_the_streets():
    net = row_of_streets(5)
    exact_m2 = 300 * 2 * BUFFER + np.pi * BUFFER**2
    # Along a straight street the outline is exact whatever the grid; the round ends are chords
    # of about a cell, so the area falls short by their segments, more as the grid coarsens.
    for cell, rel in ((BUFFER, 0.05), (2 * BUFFER, 0.10)):
        [area] = service_areas(net, np.array([2]), 90.0, cell_m=cell).itertuples()
        assert area.geometry.contains(point(200, BUFFER - 1))
        assert not area.geometry.contains(point(200, BUFFER + 1))
        assert area.geometry.contains(point(200 + 140)) and not area.geometry.contains(point(400))
        assert exact_m2 * (1 - rel) < area.area_m2 < exact_m2


def test_station_reach_matches_a_dense_dijkstra_on_a_random_network():
    rng = np.random.default_rng(11)
    n = 250
    u, v = rng.integers(0, n, 1200), rng.integers(0, n, 1200)
    t = rng.uniform(5, 100, 1200)
    net = Network.from_edges("truck", np.arange(n), 118.7 + rng.uniform(0, 0.05, n),
                             32.0 + rng.uniform(0, 0.05, n), u, v, t * 10, t)
    stations = rng.choice(n, 40, replace=False)
    threshold = 150.0
    reach = station_reach(net, stations, threshold, batch=7)
    expected = dijkstra(net.matrix("time"), directed=True)[:, stations].T  # [s, i]: i to s
    within = expected <= threshold
    assert reach.shape == (40, net.n_nodes)
    np.testing.assert_array_equal(reach.toarray() > 0, within)
    np.testing.assert_allclose(reach.toarray()[within] - REACH_OFFSET_S, expected[within])
    np.testing.assert_array_equal(np.asarray((reach > 0).sum(axis=0)).ravel(), within.sum(axis=0))
    # A station's own node is an entry, at time zero.
    assert (reach[np.arange(40), stations] > 0).all()


# --- gaps --------------------------------------------------------------------------------------

def test_two_uncovered_ends_are_two_gaps_ranked_by_demand():
    # Nodes every 100 m from x = 0 to 700; a station at x = 300 covers 150 m each way in 90 s,
    # leaving 0 - 150 m (nodes 0, 1) and 450 - 700 m (nodes 5, 6, 7) uncovered.
    net = row_of_streets(8)
    times = service_field(net, np.array([3])).time_s
    demand = np.array([5, 4, 10, 10, 10, 1, 1, 2], dtype=float)
    gaps = gap_areas(net, times, 90.0, demand)
    assert list(gaps.columns) == GAP_COLUMNS and gaps.crs.to_epsg() == 4326
    assert list(gaps.gap) == [1, 2]
    np.testing.assert_allclose(gaps.uncovered_demand, [9, 4])    # covered nodes do not count
    np.testing.assert_allclose(gaps.street_m, [150, 250])        # ranked by demand, not length
    # Each centre is the gap's uncovered node nearest its middle: x = 100 and x = 600.
    np.testing.assert_allclose(gaps.centre_time_s, [120, 180])
    np.testing.assert_allclose(gaps.centre_lon, [net.lon[1], net.lon[6]])
    assert gaps.geometry.is_valid.all()
    assert gaps.geometry.iloc[0].contains(point(50)) and gaps.geometry.iloc[1].contains(point(600))
    assert not gaps.geometry.iloc[0].contains(point(300))


def test_everything_covered_leaves_no_gaps():
    net = row_of_streets(4)
    times = service_field(net, np.array([1])).time_s
    gaps = gap_areas(net, times, 1000.0, np.ones(4))
    assert len(gaps) == 0 and list(gaps.columns) == GAP_COLUMNS and gaps.crs.to_epsg() == 4326
    assert len(uncovered_streets(net, times, 1000.0)) == 0


def test_with_no_stations_every_connected_piece_is_a_gap_out_of_reach():
    net = grid_network()
    times = service_field(net, np.array([], dtype=np.int64)).time_s
    gaps = gap_areas(net, times, 600.0, np.ones(10))
    np.testing.assert_allclose(gaps.uncovered_demand, [8, 2])
    # The grid: two one-way and seven two-way streets of 100 m plus the 300 m fast road.
    np.testing.assert_allclose(gaps.street_m, [1200, 100])
    assert np.isinf(gaps.centre_time_s).all()


def test_gaps_meet_only_at_uncovered_nodes():
    net = grid_network()
    times = service_field(net, np.array([3, 4])).time_s
    gaps = gap_areas(net, times, 90.0, np.arange(10, dtype=float))
    # The separate piece 8 - 9; the one-way 0 -> 1 with the halves of 1 - 2 and 1 - 5 around
    # node 1; and the two halves next to node 6 (at 90 s, so covered), each a gap of its own.
    np.testing.assert_allclose(gaps.uncovered_demand, [17, 1, 0, 0])
    np.testing.assert_allclose(gaps.street_m, [100, 200, 50, 50])
    np.testing.assert_allclose(gaps.centre_time_s[1:], [120, 105, 105])


def test_gap_areas_match_the_buffer_union_on_a_random_network():
    net = random_streets(3, 120, 1500)
    times = service_field(net, np.array([0, 40, 80])).time_s
    gaps = gap_areas(net, times, 300.0, np.ones(net.n_nodes)).to_crs(net.utm_crs)
    exact = gap_unions(net, times, 300.0, 50.0)
    assert len(gaps) == len(exact) > 2 and gaps.geometry.is_valid.all()
    disc = np.pi * 50.0**2
    for area in gaps.geometry:
        match = max(exact, key=lambda e: area.intersection(e).area / area.union(e).area)
        if match.area > 10 * disc:
            assert area.area == pytest.approx(match.area, rel=0.03)
            assert area.symmetric_difference(match).area < 0.05 * match.area
        else:
            # A short piece's area is mostly its round ends, which the trace cuts by chords of
            # about a cell (25 m on 50 m): it falls short by a few per cent, never more.
            assert 0.95 * match.area < area.area < 1.005 * match.area
            assert area.symmetric_difference(match).area < 0.06 * match.area


# --- a real network ----------------------------------------------------------------------------

@pytest.mark.slow
def test_nanjing_walk_areas_are_valid_and_account_for_every_street():
    from geo.regions import get_region, load_networks

    net = load_networks(get_region("nanjing"), ("walk",))["walk"]
    rng = np.random.default_rng(5)
    stations = rng.choice(net.n_nodes, 4, replace=False)
    threshold = 300.0
    areas = service_areas(net, stations, threshold)
    assert len(areas) == 4 and areas.crs.to_epsg() == 4326
    assert areas.geometry.is_valid.all() and (areas.area_m2 > 0).all()
    margin = 0.001  # ≈ 100 m, more than the buffer
    min_lon, min_lat, max_lon, max_lat = areas.total_bounds
    assert net.lon.min() - margin < min_lon and max_lon < net.lon.max() + margin
    assert net.lat.min() - margin < min_lat and max_lat < net.lat.max() + margin
    for area, node in zip(areas.geometry, stations):
        assert area.contains(shapely.Point(net.lon[node], net.lat[node]))

    times = service_field(net, stations).time_s
    pair = np.column_stack([np.minimum(net.edge_u, net.edge_v), np.maximum(net.edge_u, net.edge_v)])
    _, one_per_street = np.unique(pair, axis=0, return_index=True)
    street_m = net.length_m[one_per_street].sum()
    pieces_m = sum(shapely.length(edge_pieces(net, times, threshold, covered=c)).sum()
                   for c in (True, False))
    assert pieces_m == pytest.approx(street_m, rel=1e-3)
    gaps = gap_areas(net, times, threshold, np.ones(net.n_nodes))
    uncovered_m = uncovered_streets(net, times, threshold).length_m.sum()
    assert gaps.street_m.sum() == pytest.approx(uncovered_m)
    assert gaps.geometry.is_valid.all()


@pytest.mark.slow
def test_nanjing_walk_service_areas_agree_with_the_buffer_union():
    from geo.regions import get_region, load_networks

    net = load_networks(get_region("nanjing"), ("walk",))["walk"]
    stations = np.random.default_rng(5).choice(net.n_nodes, 4, replace=False)
    threshold = 600.0
    areas = service_areas(net, stations, threshold)
    utm = areas.to_crs(net.utm_crs)
    assert utm.geometry.is_valid.all()
    cell = default_cell()
    rng = np.random.default_rng(6)
    for area, area_m2, station in zip(utm.geometry, areas.area_m2, stations):
        exact = buffer_union(net, int(station), threshold)
        assert area_m2 == pytest.approx(area.area)
        assert area.area == pytest.approx(exact.area, rel=0.05)
        assert area.symmetric_difference(exact).area < 0.05 * exact.area

        # Every point of a reached street is inside (or, where the grid cuts a corner, within a
        # cell of the outline).
        times = service_field(net, np.array([station])).time_s
        reached = edge_pieces(net, times, threshold, covered=True)
        on_street = shapely.get_coordinates(shapely.segmentize(reached, 5.0))
        inside = shapely.contains_xy(area, *on_street.T)
        assert inside.mean() > 0.999
        assert (shapely.distance(area, shapely.points(on_street[~inside])) <= cell).all()

        # A point 100 m (or more) from every reached street is outside.
        streets = shapely.multilinestrings(reached)
        lo, hi = np.array(area.bounds[:2]) - 200, np.array(area.bounds[2:]) + 200
        probes = shapely.points(rng.uniform(lo, hi, (4000, 2)))
        far = probes[shapely.distance(streets, probes) >= 100.0]
        assert len(far) > 100
        assert not shapely.contains(area, far).any()
