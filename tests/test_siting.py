"""Site selection solvers: exact answers checked against brute force on small instances."""

import time
from itertools import combinations

import numpy as np
import pytest
from scipy.sparse import csr_matrix
from scipy.sparse import random as sparse_random

from geo.cover_reduction import reduce_cover
from geo.pmedian import solve_pmedian
from geo.siting import (
    InfeasibleTarget,
    backup_weights,
    covered_weight,
    greedy_cover,
    order_by_gain,
    solve_backup,
    solve_lscp,
    solve_mclp,
    time_saved,
)


def random_cover(seed: int, sites: int = 8, nodes: int = 14, density: float = 0.3):
    """A random covering instance: a sparse 0/1 matrix and positive integer weights."""
    rng = np.random.default_rng(seed)
    cover = csr_matrix(rng.random((sites, nodes)) < density)
    weights = rng.integers(1, 10, nodes).astype(float)
    return cover, weights


def best_by_brute_force(sites: int, k: int, value) -> float:
    """The best value over every set of k sites."""
    return max(value(np.array(c)) for c in combinations(range(sites), k))


@pytest.mark.parametrize("seed", range(12))
@pytest.mark.parametrize("k", [1, 2, 3])
def test_mclp_finds_the_brute_force_optimum(seed, k):
    cover, weights = random_cover(seed)
    solution = solve_mclp(cover, weights, k)
    best = best_by_brute_force(8, k, lambda s: covered_weight(cover, weights, s))
    assert solution.optimal and solution.gap == 0
    assert len(solution.chosen) == k
    assert solution.objective == pytest.approx(best)
    assert covered_weight(cover, weights, solution.chosen) == pytest.approx(best)


@pytest.mark.parametrize("seed", range(12))
def test_lscp_finds_the_fewest_sites_reaching_the_target(seed):
    cover, weights = random_cover(seed)
    reachable = covered_weight(cover, weights, np.arange(8))
    target = 0.8 * reachable
    fewest = next(k for k in range(9) if k and best_by_brute_force(
        8, k, lambda s: covered_weight(cover, weights, s)) >= target)
    solution = solve_lscp(cover, weights, target)
    assert solution.optimal
    assert len(solution.chosen) == fewest == solution.objective
    assert covered_weight(cover, weights, solution.chosen) >= target


def test_lscp_refuses_a_target_beyond_what_all_candidates_cover():
    cover, weights = random_cover(0)
    reachable = covered_weight(cover, weights, np.arange(8))
    with pytest.raises(InfeasibleTarget, match="cover"):
        solve_lscp(cover, weights, reachable + 1)
    assert len(solve_lscp(cover, weights, 0).chosen) == 0


@pytest.mark.parametrize("seed", range(12))
@pytest.mark.parametrize("k", [1, 2, 3])
def test_backup_maximises_double_coverage_then_single(seed, k):
    cover, weights = random_cover(seed, density=0.4)
    counts = np.random.default_rng(seed + 100).integers(0, 3, cover.shape[1])
    solution = solve_backup(cover, weights, counts, k)
    scores = {c: backup_weights(cover, weights, counts, np.array(c))
              for c in combinations(range(8), k)}
    best = max(scores.values())
    assert solution.optimal
    assert (solution.objective, solution.tie_break) == pytest.approx(best)
    assert backup_weights(cover, weights, counts, solution.chosen) == pytest.approx(best)


@pytest.mark.parametrize("seed", range(12))
@pytest.mark.parametrize("k", [1, 2, 3])
def test_pmedian_saves_the_most_weighted_time(seed, k):
    rng = np.random.default_rng(seed)
    base = rng.uniform(5, 20, 14)
    times = rng.uniform(0, 25, (8, 14))
    savings = csr_matrix(np.where(times < base, base - times, 0.0))
    weights = rng.integers(1, 10, 14).astype(float)
    solution = solve_pmedian(savings, weights, k)
    best = best_by_brute_force(8, k, lambda s: time_saved(savings, weights, s))
    assert solution.optimal
    assert solution.objective == pytest.approx(best)
    assert time_saved(savings, weights, solution.chosen) == pytest.approx(best)


def random_savings(seed: int, sites: int = 8, nodes: int = 14, useless: int = 0):
    """A random p-median instance: the time each node saves with each site over its current
    station (0 where the site is no faster), ``useless`` sites saving nothing, and weights."""
    rng = np.random.default_rng(seed)
    base = rng.uniform(5, 20, nodes)
    times = rng.uniform(0, 25, (sites, nodes))
    times[sites - useless:] = np.inf
    savings = csr_matrix(np.where(times < base, base - times, 0.0))
    return savings, rng.integers(1, 10, nodes).astype(float)


@pytest.mark.parametrize("seed", range(12))
@pytest.mark.parametrize("k", [2, 4])
def test_pmedian_finds_the_brute_force_optimum_on_larger_instances(seed, k):
    savings, weights = random_savings(seed, sites=11, nodes=40)
    solution = solve_pmedian(savings, weights, k)
    best = best_by_brute_force(11, k, lambda s: time_saved(savings, weights, s))
    assert solution.optimal and solution.gap == 0
    assert len(solution.chosen) == k
    assert solution.objective == pytest.approx(best)


@pytest.mark.parametrize("seed", range(6))
def test_pmedian_with_k_equal_to_the_useful_candidates_chooses_them_all(seed):
    savings, weights = random_savings(seed, sites=8, nodes=14, useless=3)
    useful = np.nonzero(savings.getnnz(axis=1))[0]
    solution = solve_pmedian(savings, weights, len(useful))
    assert list(solution.chosen) == list(useful)
    assert solution.optimal
    assert solution.objective == pytest.approx(time_saved(savings, weights, np.arange(8)))


def test_pmedian_when_existing_stations_already_serve_everyone_best():
    savings = csr_matrix((6, 10))
    solution = solve_pmedian(savings, np.ones(10), 2)
    assert len(solution.chosen) == 2
    assert solution.objective == solution.bound == solution.gap == 0
    assert solution.optimal


def test_a_cut_short_pmedian_reports_a_finite_gap_consistent_with_its_answer():
    savings = sparse_random(400, 3000, density=0.1, random_state=1, format="csr")
    weights = np.random.default_rng(1).random(3000)
    solution = solve_pmedian(savings, weights, 25, time_limit_s=0.5)
    assert len(solution.chosen) == 25
    assert solution.time_limit_hit and not solution.optimal
    assert solution.objective == pytest.approx(time_saved(savings, weights, solution.chosen))
    assert solution.objective < solution.bound < np.inf
    assert np.isfinite(solution.gap)
    assert solution.gap == pytest.approx((solution.bound - solution.objective)
                                         / solution.objective)
    assert solution.bound <= time_saved(savings, weights, np.arange(400)) * (1 + 1e-9)


def hard_instances():
    """Instances of each problem that no solver here finishes in a few seconds."""
    rng = np.random.default_rng(7)
    cover = csr_matrix(rng.random((300, 3000)) < 0.02)
    weights = rng.random(3000)
    counts = rng.integers(0, 2, 3000)
    savings = sparse_random(400, 3000, density=0.1, random_state=1, format="csr")
    target = 0.9 * covered_weight(cover, weights, np.arange(300))
    return {
        "mclp": lambda limit: solve_mclp(cover, weights, 25, limit),
        "lscp": lambda limit: solve_lscp(cover, weights, target, limit),
        "backup": lambda limit: solve_backup(cover, weights, counts, 25, limit),
        "pmedian": lambda limit: solve_pmedian(savings, weights, 25, limit),
    }


@pytest.mark.parametrize("problem", ["mclp", "lscp", "backup", "pmedian"])
def test_every_problem_honours_its_time_limit_model_building_included(problem):
    """The solve stops at its limit: the work it does (CPU time, which other processes on a
    shared machine do not inflate as they do the clock) stays within the limit and a tenth."""
    run = hard_instances()[problem]
    began = time.process_time()
    solution = run(3.0)
    worked = time.process_time() - began
    assert solution.time_limit_hit and not solution.optimal
    assert worked <= 3.0 * 1.1
    if problem != "lscp":
        assert len(solution.chosen) == 25


def nested_cover():
    """Sites whose coverage nests, so greedy is provably optimal: each site covers a superset
    of the next, plus a private column."""
    rows = [[0, 1, 2, 3, 4, 5], [0, 1, 2, 6], [0, 7], [8], [9]]
    dense = np.zeros((5, 10), bool)
    for j, columns in enumerate(rows):
        dense[j, columns] = True
    return csr_matrix(dense), np.array([1, 1, 1, 1, 1, 1, 5, 3, 2, 1], float)


def test_exact_and_greedy_agree_when_greedy_is_optimal():
    # With k = 1 greedy is optimal by definition; with disjoint sites it is optimal for every
    # k (the best k sites are the k heaviest).
    cover, weights = random_cover(3)
    assert greedy_cover(cover, weights, 1)[1][0] == pytest.approx(
        solve_mclp(cover, weights, 1).objective)
    disjoint = csr_matrix(np.kron(np.eye(5), np.ones((1, 3))).astype(bool))
    heavy = np.random.default_rng(1).integers(1, 20, 15).astype(float)
    for k in range(1, 6):
        chosen, gains = greedy_cover(disjoint, heavy, k)
        exact = solve_mclp(disjoint, heavy, k)
        assert gains.sum() == pytest.approx(exact.objective)
        assert sorted(chosen) == sorted(exact.chosen)
    cover, weights = nested_cover()
    for k in range(1, 5):
        assert greedy_cover(cover, weights, k)[1].sum() == pytest.approx(
            solve_mclp(cover, weights, k).objective)


def test_greedy_can_be_beaten_and_exact_is_not():
    # The classic trap: one big site overlapping two halves that together cover more.
    dense = np.array([[1, 1, 1, 1, 0, 0], [1, 1, 0, 0, 1, 0], [0, 0, 1, 1, 0, 1]], bool)
    weights = np.array([2, 2, 2, 2, 1.5, 1.5])
    greedy = greedy_cover(csr_matrix(dense), weights, 2)[1].sum()
    exact = solve_mclp(csr_matrix(dense), weights, 2)
    assert greedy == pytest.approx(9.5)
    assert exact.objective == pytest.approx(11.0)
    assert sorted(exact.chosen) == [1, 2]


def test_reduction_keeps_the_optimum_and_shrinks_the_problem():
    cover, weights = random_cover(5, sites=30, nodes=60, density=0.15)
    dense = cover.toarray()
    dense = np.vstack([dense, dense[:5] & dense[5:10]])   # five dominated sites
    dense = np.hstack([dense, dense[:, :20]])             # twenty duplicated columns
    weights = np.concatenate([weights, weights[:20]])
    weights[3] = 0.0                                       # a column without weight
    reduced = reduce_cover(csr_matrix(dense), weights)
    useful = (weights > 0) & dense.any(axis=0)
    patterns = {tuple(column) for column in dense[:, useful].T}
    assert reduced.cover.shape[1] == len(patterns) < 80
    assert reduced.cover.shape[0] <= 30
    assert reduced.weights.sum() == pytest.approx(
        weights[dense.any(axis=0)].sum())
    for k in (1, 3, 5):
        full = solve_mclp(csr_matrix(dense), weights, k).objective
        small = solve_mclp(reduced.cover, reduced.weights, k)
        assert small.objective == pytest.approx(full)
        assert covered_weight(csr_matrix(dense), weights, reduced.candidates[small.chosen]) == \
            pytest.approx(full)


def test_reduction_of_identical_sites_keeps_the_first():
    dense = np.array([[1, 1, 0], [1, 1, 0], [1, 0, 0], [0, 0, 1]], bool)
    reduced = reduce_cover(csr_matrix(dense), np.ones(3))
    assert list(reduced.candidates) == [0, 3]
    kept = reduce_cover(csr_matrix(dense), np.ones(3), drop_dominated=False)
    assert list(kept.candidates) == [0, 1, 2, 3]


def test_order_by_gain_lists_marginal_gains_that_sum_to_the_objective():
    cover, weights = nested_cover()
    chosen = solve_mclp(cover, weights, 3).chosen
    order, gains = order_by_gain(chosen, lambda s: covered_weight(cover, weights, s))
    assert sorted(order) == sorted(chosen)
    assert list(gains) == sorted(gains, reverse=True)
    assert gains.sum() == pytest.approx(covered_weight(cover, weights, chosen))


def test_a_time_limit_returns_the_best_found_and_says_so():
    rng = np.random.default_rng(7)
    cover = csr_matrix(rng.random((300, 3000)) < 0.02)
    weights = rng.random(3000)
    solution = solve_mclp(cover, weights, 25, time_limit_s=0.01)
    assert len(solution.chosen) == 25
    assert solution.time_limit_hit and not solution.optimal
    assert solution.gap > 0 and solution.bound >= solution.objective
    assert covered_weight(cover, weights, solution.chosen) == pytest.approx(solution.objective)
