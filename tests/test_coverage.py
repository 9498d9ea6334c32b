"""Coverage numbers: exact on a hand-made street, and sound on the real Nanjing network."""

import h3
import numpy as np
import pytest

from geo.atlas import Atlas
from geo.coverage import (
    cell_statistics,
    coverage_curve,
    coverage_report,
    station_catchments,
    station_reach_counts,
    street_lengths,
)
from geo.database import Database
from geo.field import service_field
from geo.groups import GROUPS
from geo.network import Network
from geo.store import StationStore

# One straight two-way street of 1,000 m in ten 100 m blocks, walked at 1 m/s, so seconds equal
# metres. Nodes 0 .. 10 from west to east.
N = 11


def street() -> Network:
    u = np.concatenate([np.arange(10), np.arange(1, 11)])
    v = np.concatenate([np.arange(1, 11), np.arange(10)])
    lon = 118.78 + np.arange(N) * 100 / (111_320 * np.cos(np.radians(32.04)))
    return Network.from_edges("walk", np.arange(N), lon, np.full(N, 32.04), u, v,
                              np.full(20, 100.0), np.full(20, 100.0))


def street_demand() -> np.ndarray:
    """Street length on each node: half of each block to either end."""
    weights = np.full(N, 100.0)
    weights[[0, -1]] = 50.0
    return weights


def test_covered_demand_and_street_length_on_a_straight_street():
    net = street()
    field = service_field(net, np.array([0]))
    report = coverage_report(net, field, street_demand(), threshold_min=250 / 60)
    # Nodes 0, 1 and 2 are within 250 s: 50 + 100 + 100 m of street on them.
    assert report.covered_demand == pytest.approx(250)
    assert report.covered_share == pytest.approx(0.25)
    # The street itself is covered up to 250 m, half of the third block included.
    assert report.covered_street_m == pytest.approx(250)
    assert report.total_street_m == pytest.approx(1000)
    assert report.stations == 1 and report.demand_total == pytest.approx(1000)


def test_double_coverage_counts_demand_within_the_threshold_of_two_stations():
    net = street()
    field = service_field(net, np.array([0, 10]))
    counts = station_reach_counts(net, np.array([0, 10]), 600 / 60)
    assert list(counts) == [1, 1, 1, 1, 2, 2, 2, 1, 1, 1, 1]
    report = coverage_report(net, field, street_demand(), 600 / 60, counts)
    assert report.covered_share == pytest.approx(1.0)
    assert report.double_covered_share == pytest.approx(0.3)


def test_travel_times_are_weighted_by_demand():
    net = street()
    field = service_field(net, np.array([0]))
    report = coverage_report(net, field, street_demand(), 10)
    weights = street_demand()
    times = np.arange(N) * 100.0
    assert report.mean_time_min == pytest.approx(np.dot(times, weights) / weights.sum() / 60)
    assert report.median_time_min == pytest.approx(500 / 60)
    assert report.p90_time_min == pytest.approx(900 / 60)


def test_a_street_covered_from_both_ends_counts_its_length_once():
    net = street()
    field = service_field(net, np.array([0, 10]))
    covered, total = street_lengths(net, field.time_s, 450.0)
    assert covered == pytest.approx(900) and total == pytest.approx(1000)
    assert street_lengths(net, field.time_s, 600.0)[0] == pytest.approx(1000)


def test_the_curve_rises_to_all_reachable_demand_and_meets_the_report_at_the_threshold():
    net = street()
    field = service_field(net, np.array([3]))
    curve = coverage_curve(field, street_demand())
    assert curve["minutes"].iloc[0] == 0 and curve["minutes"].iloc[-1] == 30
    assert np.all(np.diff(curve["covered_share"]) >= 0)
    assert curve["covered_share"].iloc[-1] == pytest.approx(1.0)
    at_five = curve.loc[curve["minutes"] == 5, "covered_share"].item()
    assert at_five == pytest.approx(coverage_report(net, field, street_demand(), 5).covered_share)


def test_catchments_split_the_covered_demand_between_the_stations():
    net = street()
    field = service_field(net, np.array([0, 10]))
    table = station_catchments(field, street_demand(), 200 / 60)
    assert list(table["covered_demand"]) == pytest.approx([250, 250])
    assert table["catchment_demand"].sum() == pytest.approx(1000)


def test_cells_hold_all_the_demand():
    net = street()
    field = service_field(net, np.array([0]))
    cells = cell_statistics(net, field, street_demand(), 5, resolution=10)
    assert cells["demand"].sum() == pytest.approx(1000)
    assert set(cells["cell"]) == {h3.latlng_to_cell(lat, lon, 10)
                                  for lat, lon in zip(net.lat, net.lon)}
    assert ((cells["covered_share"] >= 0) & (cells["covered_share"] <= 1)).all()


def test_with_no_stations_nothing_is_covered():
    net = street()
    field = service_field(net, np.array([], dtype=np.int64))
    report = coverage_report(net, field, street_demand(), 10)
    assert report.covered_share == 0 and report.double_covered_share == 0
    assert np.isinf(report.mean_time_min) and report.as_dict()["mean_time_min"] is None


@pytest.fixture(scope="module")
def nanjing(tmp_path_factory):
    folder = tmp_path_factory.mktemp("coverage")
    atlas = Atlas(StationStore(Database(f"sqlite:///{folder}/yizhan.db")))
    atlas.seed_demo_stations("nanjing")
    return atlas


@pytest.mark.parametrize("group", ["street", "couriers", "trucks"])
def test_on_nanjing_coverage_rises_with_the_threshold_to_all_reachable_demand(nanjing, group):
    shares = [nanjing.coverage("nanjing", group, t, geometry=False).report.covered_share
              for t in (1, 2, 4, 8, 16, 60)]
    assert shares == sorted(shares)
    final = nanjing.coverage("nanjing", group, 60, geometry=False).report
    assert final.covered_demand == pytest.approx(final.demand_reachable)


def test_on_nanjing_catchments_add_up_to_the_covered_total(nanjing):
    analysis = nanjing.coverage("nanjing", "street", 5, geometry=False)
    assert analysis.stations["covered_demand"].sum() == pytest.approx(
        analysis.report.covered_demand)
    assert len(analysis.stations) == analysis.report.stations


def test_on_nanjing_adding_a_station_never_lowers_coverage(nanjing):
    index = nanjing.index("nanjing")
    demand = nanjing.demand("nanjing", "street").weights
    network = index.network("walk")
    nodes = index.station_nodes("walk")[index.matching()]
    before = coverage_report(network, service_field(network, nodes), demand, 5)
    rng = np.random.default_rng(5)
    for extra in rng.choice(network.n_nodes, 10, replace=False):
        more = np.append(nodes, extra)
        after = coverage_report(network, service_field(network, more), demand, 5)
        assert after.covered_share >= before.covered_share - 1e-12
        assert after.double_covered_share >= before.double_covered_share - 1e-12


def test_every_group_has_its_mode_and_default_threshold():
    assert {g: (GROUPS[g].mode, GROUPS[g].threshold_min) for g in GROUPS} == {
        "street": ("walk", 10.0), "couriers": ("ebike", 10.0), "trucks": ("truck", 15.0)}
