"""Recommending sites end to end: on small street networks the answer is the optimum found by
trying every set of candidates, measured with the service field alone."""

import json
from itertools import combinations

import geopandas as gpd
import numpy as np
import pytest

from geo.areas import gap_areas, station_reach
from geo.demand import DemandLayer
from geo.field import service_field
from geo.groups import GROUPS
from geo.index import RegionIndex
from geo.network import Network
from geo.recommend import RecommendError, pair_times, recommend_sites
from geo.stations import Station

GROUP = GROUPS["street"]
THRESHOLD_MIN = 3.0


def grid_streets(seed: int, side: int = 5) -> Network:
    """A side × side grid of two-way streets with random travel times of 40–100 s, and a few
    one-way ones."""
    rng = np.random.default_rng(seed)
    node = np.arange(side * side).reshape(side, side)
    pairs = [(node[r, c], node[r, c + 1]) for r in range(side) for c in range(side - 1)]
    pairs += [(node[r, c], node[r + 1, c]) for r in range(side - 1) for c in range(side)]
    u, v, t = [], [], []
    for a, b in pairs:
        time_s = rng.uniform(40, 100)
        u.append(a), v.append(b), t.append(time_s)
        if rng.random() > 0.15:
            u.append(b), v.append(a), t.append(time_s)
    rows, cols = np.divmod(np.arange(side * side), side)
    lon, lat = 118.78 + 0.001 * cols, 32.04 + 0.001 * rows
    return Network.from_edges("walk", np.arange(side * side), lon, lat, np.array(u),
                              np.array(v), np.array(t) * 1.2, np.array(t))


def setting(seed: int, existing=(0,)):
    """A grid, its index with open stations at ``existing`` nodes, a random demand layer and
    every other node as a candidate."""
    net = grid_streets(seed)
    stations = [Station(name=f"s{n}", region="test", kind="love_station", lon=net.lon[n],
                        lat=net.lat[n], id=i + 1) for i, n in enumerate(existing)]
    index = RegionIndex("test", {"walk": net}, stations)
    weights = np.random.default_rng(seed + 50).integers(0, 6, net.n_nodes).astype(float)
    demand = DemandLayer("street", weights, "points", {"all": weights.sum()}, 0.0, "test")
    nodes = np.setdiff1d(np.arange(net.n_nodes), existing)
    candidates = gpd.GeoDataFrame({
        "name": [f"c{n}" for n in nodes], "category": "node",
        "source_id": [f"node:{n}" for n in nodes], "lon": net.lon[nodes], "lat": net.lat[nodes],
        "node": nodes}, geometry=gpd.points_from_xy(net.lon[nodes], net.lat[nodes]), crs=4326)
    return net, index, demand, candidates, np.array(existing)


def measured(net: Network, nodes: np.ndarray, weights: np.ndarray) -> dict:
    """Coverage of a station set measured directly: covered, doubly covered, mean time."""
    field = service_field(net, nodes)
    counts = np.asarray((station_reach(net, nodes, THRESHOLD_MIN * 60) > 0).sum(axis=0)).ravel()
    return {
        "covered": weights[field.time_s <= THRESHOLD_MIN * 60].sum(),
        "double": weights[counts >= 2].sum(),
        "single": weights[counts >= 1].sum(),
        "time": (np.minimum(field.time_s, 3600) * weights).sum(),
    }


def every_choice(net, existing, candidates, weights, k):
    """Measure every set of k candidates added to the existing stations."""
    for chosen in combinations(candidates["node"], k):
        yield chosen, measured(net, np.concatenate([existing, chosen]), weights)


@pytest.mark.parametrize("seed", range(4))
@pytest.mark.parametrize("k", [1, 2])
def test_mclp_covers_the_most_demand_any_k_sites_can(seed, k):
    net, index, demand, candidates, existing = setting(seed)
    best = max(m["covered"] for _, m in every_choice(net, existing, candidates,
                                                     demand.weights, k))
    found = recommend_sites(index, GROUP, demand, candidates, "mclp", k=k,
                            threshold_min=THRESHOLD_MIN, curve=False)
    assert found.optimal and found.gap == 0
    built = np.concatenate([existing, found.sites["node"]])
    assert measured(net, built, demand.weights)["covered"] == pytest.approx(best)
    assert found.after["covered_demand"] == pytest.approx(best)


@pytest.mark.parametrize("seed", range(4))
def test_lscp_finds_the_fewest_sites_reaching_the_target(seed):
    net, index, demand, candidates, existing = setting(seed)
    total = demand.weights.sum()
    target = 0.9
    fewest = next(k for k in range(0, 6) if any(
        m["covered"] >= target * total
        for _, m in every_choice(net, existing, candidates, demand.weights, k)))
    found = recommend_sites(index, GROUP, demand, candidates, "lscp", target_share=target,
                            threshold_min=THRESHOLD_MIN, curve=False)
    assert len(found.sites) == fewest == found.k
    assert found.after["covered_share"] >= target


@pytest.mark.parametrize("seed", range(4))
@pytest.mark.parametrize("k", [1, 2])
def test_pmedian_minimises_the_demand_weighted_travel_time(seed, k):
    net, index, demand, candidates, existing = setting(seed)
    best = min(m["time"] for _, m in every_choice(net, existing, candidates, demand.weights, k))
    found = recommend_sites(index, GROUP, demand, candidates, "pmedian", k=k,
                            threshold_min=THRESHOLD_MIN, curve=False)
    built = np.concatenate([existing, found.sites["node"]])
    assert found.optimal
    assert measured(net, built, demand.weights)["time"] == pytest.approx(best)
    before = measured(net, existing, demand.weights)["time"]
    assert found.objective == pytest.approx((before - best) / 60)


@pytest.mark.parametrize("seed", range(4))
def test_pmedian_stopped_at_once_still_gives_k_sites_and_a_gap_true_to_its_numbers(seed):
    net, index, demand, candidates, existing = setting(seed)
    found = recommend_sites(index, GROUP, demand, candidates, "pmedian", k=3,
                            threshold_min=THRESHOLD_MIN, time_limit_s=0.0, curve=False)
    assert len(found.sites) == 3
    assert np.isfinite(found.gap) and found.bound >= found.objective > 0
    assert found.gap == pytest.approx((found.bound - found.objective) / found.objective)
    built = np.concatenate([existing, found.sites["node"]])
    saved = measured(net, existing, demand.weights)["time"] - measured(
        net, built, demand.weights)["time"]
    assert found.objective == pytest.approx(saved / 60)


@pytest.mark.parametrize("seed", range(4))
@pytest.mark.parametrize("k", [1, 2])
def test_backup_maximises_double_coverage_then_single(seed, k):
    net, index, demand, candidates, existing = setting(seed, existing=(0, 24))
    best = max((m["double"], m["single"]) for _, m in every_choice(
        net, existing, candidates, demand.weights, k))
    found = recommend_sites(index, GROUP, demand, candidates, "backup", k=k,
                            threshold_min=THRESHOLD_MIN, curve=False)
    built = np.concatenate([existing, found.sites["node"]])
    got = measured(net, built, demand.weights)
    assert found.optimal
    assert (got["double"], got["single"]) == pytest.approx(best)


def test_each_site_explains_its_gain_and_the_gaps_it_closes():
    net, index, demand, candidates, existing = setting(1)
    found = recommend_sites(index, GROUP, demand, candidates, "mclp", k=3,
                            threshold_min=THRESHOLD_MIN)
    sites = found.sites
    assert list(sites["rank"]) == [1, 2, 3]
    assert list(sites["gain"]) == sorted(sites["gain"], reverse=True)
    assert sites["gain"].sum() == pytest.approx(found.objective)
    assert found.after["covered_demand"] - found.before["covered_demand"] == pytest.approx(
        sites["newly_covered"].sum())
    assert (sites["alone_covered"] >= sites["newly_covered"] - 1e-9).all()
    gaps = gap_areas(net, service_field(net, existing).time_s, THRESHOLD_MIN * 60,
                     demand.weights).set_index("gap")
    for closed in sites["gaps"]:
        for gap in closed:
            assert gap["gap_demand"] == pytest.approx(gaps.loc[gap["gap"], "uncovered_demand"])
            assert 0 < gap["closed_demand"] <= gap["gap_demand"] + 1e-9
    assert all(len(closed) > 0 for closed in sites["gaps"])


def test_the_curve_runs_from_today_to_twice_k_and_never_falls():
    net, index, demand, candidates, existing = setting(2)
    found = recommend_sites(index, GROUP, demand, candidates, "mclp", k=2,
                            threshold_min=THRESHOLD_MIN)
    curve = found.curve
    assert list(curve["sites"]) == [0, 1, 2, 3, 4]
    assert curve["covered_share"].iloc[0] == pytest.approx(found.before["covered_share"])
    assert curve["covered_share"].iloc[2] == pytest.approx(found.after["covered_share"])
    assert (np.diff(curve["covered_share"]) >= -1e-12).all()
    assert curve["optimal"].all() and (curve["method"] == "exact").all()


def test_sites_that_would_add_nothing_are_left_out_and_said_so():
    net, index, demand, candidates, existing = setting(0)
    found = recommend_sites(index, GROUP, demand, candidates, "mclp", k=20,
                            threshold_min=THRESHOLD_MIN, curve=False)
    assert len(found.sites) < 20
    assert found.after["covered_share"] == pytest.approx(
        measured(net, np.arange(net.n_nodes), demand.weights)["covered"] / demand.weights.sum())
    assert any("of the 20 sites asked for add anything" in note for note in found.notes)


def test_searches_from_either_side_give_the_same_pairs():
    net = grid_streets(3)
    candidates, demand_nodes = np.array([1, 7, 12, 20]), np.arange(0, 25, 2)
    few_candidates = pair_times(net, candidates, demand_nodes, 200.0)
    few_demand = pair_times(net, np.arange(25), demand_nodes[:3], 200.0)[candidates]
    assert few_candidates.shape == (4, 13)
    np.testing.assert_allclose(few_candidates[:, :3].toarray(), few_demand.toarray())
    below = np.full(13, 120.0)
    cut = pair_times(net, candidates, demand_nodes, 200.0, below=below).toarray()
    assert ((cut == 0) | (cut < 120.0 + 1e-6)).all()


@pytest.mark.parametrize(("problem", "options", "field"), [
    ("mclp", {"k": 0}, "k"),
    ("mclp", {}, "k"),
    ("lscp", {"target_share": 1.5}, "target"),
    ("lscp", {}, "target"),
    ("nearest", {"k": 1}, "problem"),
])
def test_bad_requests_name_the_parameter(problem, options, field):
    _, index, demand, candidates, _ = setting(0)
    with pytest.raises(RecommendError) as error:
        recommend_sites(index, GROUP, demand, candidates, problem, **options)
    assert error.value.field == field


def test_a_target_beyond_reach_and_an_empty_candidate_set_are_refused():
    net, index, demand, candidates, _ = setting(0)
    few = candidates.iloc[:1]
    with pytest.raises(RecommendError, match="beyond reach") as error:
        recommend_sites(index, GROUP, demand, few, "lscp", target_share=1.0,
                        threshold_min=1.0)
    assert error.value.field == "target"
    with pytest.raises(RecommendError, match="empty") as error:
        recommend_sites(index, GROUP, demand, candidates.iloc[:0], "mclp", k=2)
    assert error.value.field == "candidates"


def test_a_target_already_met_needs_no_new_site():
    _, index, demand, candidates, _ = setting(0)
    found = recommend_sites(index, GROUP, demand, candidates, "lscp", target_share=0.01,
                            threshold_min=THRESHOLD_MIN, curve=False)
    assert len(found.sites) == 0
    assert found.notes == ("the existing stations already meet the target",)


def test_the_answer_is_json_ready():
    _, index, demand, candidates, _ = setting(0)
    found = recommend_sites(index, GROUP, demand, candidates, "mclp", k=2,
                            threshold_min=THRESHOLD_MIN)
    body = found.as_dict()
    text = json.dumps(body)
    assert "Infinity" not in text and "NaN" not in text
    assert {"sites", "gap", "optimal", "curve", "before", "after"} <= set(body)
    assert all("gain" in site for site in body["sites"])
