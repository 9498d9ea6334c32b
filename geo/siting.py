"""Site selection on arrays: maximal covering, set covering, p-median and backup coverage.

Every problem here takes sparse matrices with one row per candidate site and one column per
demand node, built from bounded shortest-path searches (see :mod:`geo.recommend`), never a dense
candidates × demand matrix. The problems are shrunk before solving — demand nodes no candidate
can change are dropped, demand nodes every candidate treats alike are merged into one weighted
column, and candidates whose coverage is contained in another's are removed where that cannot
change the optimum (:mod:`geo.cover_reduction`) — and then solved exactly as mixed-integer
programs under a time limit. A :class:`Solution` carries the proven optimality gap;
when the time limit stops the search it holds the best solution found and says so.

Formulations (x_j = 1 when candidate j is built, w_i the demand weight of node i):

- maximal covering (MCLP): max Σ w_i y_i, y_i ≤ Σ_{j covers i} x_j, Σ x_j = k, y_i ∈ [0, 1];
- partial set covering (LSCP with a target): min Σ x_j, Σ w_i y_i ≥ D, y_i ≤ Σ_{j covers i} x_j;
- backup coverage: with c_i existing stations covering i, max Σ w_i u_i, then (the tie-break)
  max Σ w_i y_i at that optimum, y_i + u_i ≤ c_i + Σ_{j covers i} x_j, u_i ≤ y_i, u_i binary;
- p-median against existing stations: with b_i the time from i to its nearest existing station,
  max Σ w_i (b_i − t_ij) z_ij over pairs with t_ij < b_i, Σ_j z_ij ≤ 1, z_ij ≤ x_j, Σ x_j = k —
  at city scale too large for HiGHS, so solved by Lagrangian relaxation with an interchange
  heuristic, HiGHS closing only what the Lagrangian bound leaves open (:func:`solve_pmedian`).

Every solve starts from a heuristic set of k sites and keeps the better of it and the solver's,
so a time limit never leaves fewer than k sites; the time limit covers model building.
"""

from __future__ import annotations

import itertools
import time
from collections.abc import Callable
from dataclasses import dataclass, replace

import highspy
import numpy as np
from scipy.sparse import csr_matrix, hstack, identity, vstack

#: Relative tolerance under which two objective values count as equal.
TOLERANCE = 1e-9

#: Subgradient steps without a better bound before the step size is halved.
STALL_STEPS = 50

#: Subgradient steps between interchanges started from the relaxation's top-k set (and looks
#: at how much the bound leaves open).
PRIMAL_EVERY = 100

#: The most pairs left open by the Lagrangian bound that are handed to HiGHS: its model of a
#: few thousand pairs solves in milliseconds, while at 20,000 it may not finish its first
#: linear relaxation in 5 s (nor stop at its time limit).
EXACT_PAIRS = 5000


class InfeasibleTarget(ValueError):
    """A target no choice of candidates can reach."""


@dataclass(frozen=True)
class Solution:
    """The answer of one solve.

    Attributes:
        chosen: indices of the chosen candidates (rows of the problem's matrix), ascending.
        objective: the objective value of ``chosen`` (the problem's own terms: covered weight for
            MCLP, number of sites for LSCP, doubly covered weight for backup, weighted time saved
            for p-median).
        bound: the best bound on the optimum the solver proved.
        gap: the proven relative optimality gap, ``|bound - objective| / |objective|`` (0 when
            proven optimal).
        optimal: whether the solver proved ``chosen`` optimal.
        time_limit_hit: whether the time limit stopped the search first.
        seconds: wall-clock time of the solve.
        tie_break: the tie-break objective, for backup coverage the singly covered weight.
    """

    chosen: np.ndarray
    objective: float
    bound: float
    gap: float
    optimal: bool
    time_limit_hit: bool
    seconds: float
    tie_break: float = 0.0


def solve_mclp(cover: csr_matrix, weights: np.ndarray, k: int, time_limit_s: float = 10.0,
               start: np.ndarray | None = None) -> Solution:
    """Choose k candidates that cover the most demand weight.

    Args:
        cover: J × M sparse matrix, nonzero where candidate j covers column i.
        weights: weight of each column (M,).
        k: how many candidates to choose (all of them if there are no more than k).
        time_limit_s: the time limit of the whole solve, model building included.
        start: candidate indices of a known solution to start from (greedy's if None).

    Returns:
        The solution; ``objective`` is the covered weight.
    """
    deadline = time.perf_counter() + time_limit_s
    cover = csr_matrix(cover, dtype=np.float64)
    n_sites, n_demand = cover.shape
    weights = np.asarray(weights, dtype=np.float64)
    if k >= n_sites:
        chosen = np.arange(n_sites)
        value = covered_weight(cover, weights, chosen)
        return Solution(chosen, value, value, 0.0, True, False, 0.0)
    if start is None:
        start = greedy_cover(cover, weights, k)[0]
    rows = _coverage_rows(cover)
    cardinality = csr_matrix(np.ones((1, n_sites)))
    matrix = vstack([rows, hstack([cardinality, csr_matrix((1, n_demand))])]).tocsr()
    model = _Model(
        cost=np.concatenate([np.zeros(n_sites), weights]),
        upper=np.ones(n_sites + n_demand),
        integer=np.arange(n_sites),
        matrix=matrix,
        row_lower=np.concatenate([np.full(n_demand, -np.inf), [k]]),
        row_upper=np.concatenate([np.zeros(n_demand), [k]]),
        maximize=True,
    )
    found = model.solve(n_sites, _left(deadline), _one_hot(start, n_sites))
    return _measured(found, lambda rows: covered_weight(cover, weights, rows), cover @ weights,
                     k, start)


def solve_lscp(cover: csr_matrix, weights: np.ndarray, target: float,
               time_limit_s: float = 10.0) -> Solution:
    """Choose the fewest candidates that together cover at least ``target`` demand weight.

    Args:
        cover: J × M sparse matrix, nonzero where candidate j covers column i.
        weights: weight of each column (M,).
        target: demand weight to cover; 0 or less needs no candidate.
        time_limit_s: the time limit of the whole solve, model building included.

    Returns:
        The solution; ``objective`` is the number of candidates chosen.

    Raises:
        InfeasibleTarget: if all candidates together cover less than ``target``.
    """
    deadline = time.perf_counter() + time_limit_s
    cover = csr_matrix(cover, dtype=np.float64)
    n_sites, n_demand = cover.shape
    weights = np.asarray(weights, dtype=np.float64)
    reachable = covered_weight(cover, weights, np.arange(n_sites))
    if target > reachable * (1 + TOLERANCE):
        raise InfeasibleTarget(
            f"all candidates together cover {reachable:,.6g} of the {target:,.6g} asked for")
    if target <= 0:
        return Solution(np.zeros(0, np.int64), 0.0, 0.0, 0.0, True, False, 0.0)
    target = min(target, reachable)
    greedy = greedy_cover(cover, weights, n_sites, target)[0]
    matrix = vstack([_coverage_rows(cover),
                     hstack([csr_matrix((1, n_sites)), csr_matrix(weights[None, :])])]).tocsr()
    model = _Model(
        cost=np.concatenate([np.ones(n_sites), np.zeros(n_demand)]),
        upper=np.ones(n_sites + n_demand),
        integer=np.arange(n_sites),
        matrix=matrix,
        row_lower=np.concatenate([np.full(n_demand, -np.inf), [target * (1 - TOLERANCE)]]),
        row_upper=np.concatenate([np.zeros(n_demand), [np.inf]]),
        maximize=False,
    )
    found = model.solve(n_sites, _left(deadline), _one_hot(greedy, n_sites))
    if covered_weight(cover, weights, found.chosen) < target * (1 - TOLERANCE):
        found = replace(found, chosen=np.sort(greedy))
    return replace(found, objective=float(len(found.chosen)))


def solve_backup(cover: csr_matrix, weights: np.ndarray, counts: np.ndarray, k: int,
                 time_limit_s: float = 10.0) -> Solution:
    """Choose k candidates that maximise the demand covered at least twice, then, among the
    choices that do, the demand covered at least once.

    Args:
        cover: J × M sparse matrix, nonzero where candidate j covers column i.
        weights: weight of each column (M,).
        counts: how many existing stations cover each column (M,).
        k: how many candidates to choose.
        time_limit_s: the time limit of both solves together, model building included.

    Returns:
        The solution; ``objective`` is the doubly covered weight, ``tie_break`` the singly
        covered weight (both counting existing stations).
    """
    deadline = time.perf_counter() + time_limit_s
    cover = csr_matrix(cover, dtype=np.float64)
    n_sites, n_demand = cover.shape
    weights = np.asarray(weights, dtype=np.float64)
    counts = np.minimum(np.asarray(counts, dtype=np.int64), 2)
    k = min(k, n_sites)
    if k >= n_sites:
        chosen = np.arange(n_sites)
        double, single = backup_weights(cover, weights, counts, chosen)
        return Solution(chosen, double, double, 0.0, True, False, 0.0, single)
    start = greedy_backup(cover, weights, counts, k)
    eye = identity(n_demand, format="csr")
    matrix = vstack([
        hstack([-cover.T, eye, eye]),                            # y + u − Σx ≤ c
        hstack([csr_matrix((n_demand, n_sites)), -eye, eye]),    # u − y ≤ 0
        hstack([csr_matrix(np.ones((1, n_sites))), csr_matrix((1, 2 * n_demand))]),
    ]).tocsr()
    lower = np.concatenate([np.zeros(n_sites), (counts >= 1).astype(float), np.zeros(n_demand)])
    upper = np.concatenate([np.ones(n_sites), np.ones(n_demand), np.ones(n_demand)])
    row_lower = np.concatenate([np.full(2 * n_demand, -np.inf), [k]])
    row_upper = np.concatenate([counts.astype(float), np.zeros(n_demand), [k]])
    integer = np.concatenate([np.arange(n_sites), n_sites + n_demand + np.arange(n_demand)])
    first = _Model(np.concatenate([np.zeros(n_sites + n_demand), weights]), upper, integer,
                   matrix, row_lower, row_upper, maximize=True, lower=lower)
    double = first.solve(n_sites, _left(deadline), _one_hot(start, n_sites))
    if len(double.chosen) != k:
        value = backup_weights(cover, weights, counts, start)[0]
        double = replace(double, chosen=np.sort(start), objective=value,
                         gap=_gap(value, double.bound))
    if _left(deadline) > 0:
        keep_double = csr_matrix(np.concatenate([np.zeros(n_sites + n_demand),
                                                 weights])[None, :])
        second = _Model(np.concatenate([np.zeros(n_sites), weights, np.zeros(n_demand)]),
                        upper, integer, vstack([matrix, keep_double]).tocsr(),
                        np.concatenate([row_lower, [double.objective * (1 - TOLERANCE)]]),
                        np.concatenate([row_upper, [np.inf]]), maximize=True, lower=lower)
        single = second.solve(n_sites, _left(deadline), _one_hot(double.chosen, n_sites))
    else:
        single = replace(double, optimal=False, time_limit_hit=True, seconds=0.0)
    chosen = single.chosen if len(single.chosen) == k else double.chosen
    value, tie = backup_weights(cover, weights, counts, chosen)
    return Solution(chosen, value, double.bound, double.gap,
                    double.optimal and single.optimal,
                    double.time_limit_hit or single.time_limit_hit,
                    double.seconds + single.seconds, tie)


def solve_pmedian(savings: csr_matrix, weights: np.ndarray, k: int,
                  time_limit_s: float = 10.0) -> Solution:
    """Choose k candidates that save the most demand-weighted travel time.

    The classic model (a variable per candidate–node pair) does not hold at city scale: Jinan
    with 2,000 candidates has 339,359 pairs, 1.4 GB of model and no bound worth showing after
    10 s. So the answer comes in three steps that each keep a proven bound and a full set of k
    sites (Beasley's Lagrangian p-median with Resende and Werneck's interchange):

    1. a primal: the greedy order, then swaps of one chosen site for one other while any swap
       saves more (the savings of every swap come from one pass over the pairs);
    2. a bound: the Lagrangian relaxation of "each node is served once", whose subproblem is
       the k candidates of largest reduced saving — one pass over the pairs — improved by
       subgradient steps; its best value equals the linear relaxation's bound, which is close
       for p-median on street networks, and its top-k sets seed further swaps;
    3. closing the gap: candidates the bound proves out (forcing them in bounds every set below
       the best found) are dropped and those it proves in are fixed; once what is left is
       small (:data:`EXACT_PAIRS`), HiGHS solves it exactly as the classic model with what
       remains of the time limit.

    A radius (covering) formulation would not help here: travel times are continuous, so a node
    has about as many distinct levels as pairs. Every step stops at the time limit, and the
    best set found is returned with its proven gap (on Jinan, within 0.04 % after 30 s).

    Args:
        savings: J × M sparse matrix of ``b_i − t_ij`` > 0, the time demand node i saves when
            candidate j is its nearest station instead of the nearest existing one; stored only
            where positive.
        weights: weight of each column (M,).
        k: how many candidates to choose (all of them if there are no more than k).
        time_limit_s: the time limit of the whole solve.

    Returns:
        The solution; ``objective`` is the weighted time saved, Σ w_i max_j∈chosen savings_ij.
    """
    began = time.perf_counter()
    deadline = began + time_limit_s
    savings = csr_matrix(savings, dtype=np.float64)
    savings.eliminate_zeros()
    n_sites = savings.shape[0]
    weights = np.asarray(weights, dtype=np.float64)
    if k >= n_sites:
        chosen = np.arange(n_sites)
        value = time_saved(savings, weights, chosen)
        return Solution(chosen, value, value, 0.0, True, False, 0.0)
    pairs = _Pairs.of(savings, weights)
    # the bounds of any monotone submodular objective (see _measured): a finite gap even when
    # the time limit leaves no subgradient step
    alone = np.sort(pairs.per_site(pairs.saving))[::-1]
    first_bound = min(float(alone[:k].sum()), pairs.value(np.arange(n_sites)))
    chosen = pairs.interchange(greedy_pmedian(savings, weights, k), deadline)
    best = pairs.value(chosen)
    bound, multipliers, chosen, best = _lagrangian(pairs, k, chosen, best, deadline)
    bound = min(bound, first_bound)
    if not _proven(best, bound) and time.perf_counter() < deadline:
        chosen, best, bound = _close_gap(pairs, k, chosen, best, bound, multipliers, deadline)
    bound = max(bound, best)
    optimal = _proven(best, bound)
    seconds = time.perf_counter() - began
    return Solution(np.sort(chosen), best, bound, 0.0 if optimal else _gap(best, bound),
                    optimal, not optimal and seconds >= 0.99 * time_limit_s, seconds)


@dataclass(frozen=True)
class _Pairs:
    """The candidate–node pairs of a p-median problem, as arrays.

    Attributes:
        row: candidate of each pair.
        col: demand node of each pair.
        saving: the pair's weighted saving, w_i × savings_ij (> 0).
        n_sites, n_nodes: the problem's shape.
    """

    row: np.ndarray
    col: np.ndarray
    saving: np.ndarray
    starts: np.ndarray
    n_sites: int
    n_nodes: int

    @classmethod
    def of(cls, savings: csr_matrix, weights: np.ndarray) -> "_Pairs":
        """The pairs of a savings matrix (positive entries) under column weights, grouped by
        candidate."""
        pairs = savings.tocoo()
        value = pairs.data * weights[pairs.col]
        keep = value > 0
        row = pairs.row[keep].astype(np.int64)
        order = np.argsort(row, kind="stable")
        row = row[order]
        starts = np.searchsorted(row, np.arange(savings.shape[0] + 1))
        return cls(row, pairs.col[keep].astype(np.int64)[order], value[keep][order], starts,
                   savings.shape[0], savings.shape[1])

    def per_site(self, values: np.ndarray) -> np.ndarray:
        """The sum of a value per pair over each candidate's pairs."""
        sums = np.add.reduceat(np.append(values, 0.0), self.starts[:-1])
        return np.where(np.diff(self.starts) > 0, sums, 0.0)

    def of_sites(self, sites: np.ndarray) -> np.ndarray:
        """The indices of the pairs of ``sites``."""
        sites = np.asarray(sites, np.int64)
        lengths = self.starts[sites + 1] - self.starts[sites]
        offsets = np.repeat(self.starts[sites] - np.cumsum(lengths) + lengths, lengths)
        return offsets + np.arange(lengths.sum())

    def best_two(self, open_: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """For each node, its best saving among open candidates, that candidate (−1 for none)
        and its second-best saving (0 where there is none)."""
        inside = self.of_sites(np.nonzero(open_)[0])
        row, col, value = self.row[inside], self.col[inside], self.saving[inside]
        order = np.lexsort((-value, col))
        row, col, value = row[order], col[order], value[order]
        first = np.ones(len(col), bool)
        first[1:] = col[1:] != col[:-1]
        second = np.zeros(len(col), bool)
        second[1:] = first[:-1] & ~first[1:]
        best, runner_up = np.zeros(self.n_nodes), np.zeros(self.n_nodes)
        site = np.full(self.n_nodes, -1, np.int64)
        best[col[first]] = value[first]
        site[col[first]] = row[first]
        runner_up[col[second]] = value[second]
        return best, site, runner_up

    def value(self, chosen: np.ndarray) -> float:
        """The weighted time ``chosen`` saves."""
        open_ = np.zeros(self.n_sites, bool)
        open_[np.asarray(chosen, np.int64)] = True
        return float(self.best_two(open_)[0].sum())

    def interchange(self, chosen: np.ndarray, deadline: float) -> np.ndarray:
        """Swap one chosen candidate for one other, the best swap each time, while a swap saves
        more (or until ``deadline``).

        The change of every swap (j in, r out) is gain_j − loss_r + extra_jr: what j adds to
        the current set, what the set loses without r, and what j gives back of that loss —
        the last only on the nodes r serves, found in one pass over the pairs.
        """
        chosen = np.asarray(chosen, np.int64).copy()
        k = len(chosen)
        slot = np.full(self.n_sites, -1, np.int64)
        while time.perf_counter() < deadline:
            open_ = np.zeros(self.n_sites, bool)
            open_[chosen] = True
            slot[:] = -1
            slot[chosen] = np.arange(k)
            best, site, runner_up = self.best_two(open_)
            gain = self.per_site(np.maximum(self.saving - best[self.col], 0.0))
            served = site >= 0
            loss = np.bincount(slot[site[served]], (best - runner_up)[served], k)
            back = self.saving > np.where(served, runner_up, np.inf)[self.col]
            col = self.col[back]
            extra = np.bincount(self.row[back] * k + slot[site[col]],
                                np.minimum(self.saving[back], best[col]) - runner_up[col],
                                self.n_sites * k).reshape(self.n_sites, k)
            change = gain[:, None] - loss[None, :] + extra
            change[open_] = -np.inf
            j, r = np.unravel_index(int(np.argmax(change)), change.shape)
            if change[j, r] <= TOLERANCE * max(float(best.sum()), 1.0):
                break
            chosen[r] = j
        return chosen


def _lagrangian(pairs: _Pairs, k: int, chosen: np.ndarray, best: float, deadline: float
                ) -> tuple[float, np.ndarray, np.ndarray, float]:
    """Bound a p-median optimum by subgradient steps on the Lagrangian relaxation of "each node
    is served once" (multiplier λ_i ≥ 0 per node).

    For given λ the relaxation is Σ λ_i plus the k largest ρ_j = Σ_i (w_i s_ij − λ_i)⁺; its
    minimum over λ is the linear relaxation's bound. Steps follow Polyak's rule towards the
    best value found, halving the step after :data:`STALL_STEPS` steps without progress; every
    :data:`PRIMAL_EVERY` steps the relaxation's top k seed an interchange. The steps stop at
    ``deadline``, once the bound proves the best set optimal, once the step is negligible, or
    once what the bound leaves open is small enough for HiGHS (:data:`EXACT_PAIRS`).

    Returns:
        The best bound, its multipliers, and the best set found with its value.
    """
    open_ = np.zeros(pairs.n_sites, bool)
    open_[chosen] = True
    multipliers = pairs.best_two(open_)[0]
    bound, kept = np.inf, multipliers
    step, stalled = 2.0, 0
    for steps in itertools.count(1):
        if time.perf_counter() >= deadline or step < 1e-6:
            break
        value, top, subgradient = _relaxation(pairs, k, multipliers)
        if value < bound * (1 - 1e-12):
            bound, kept, stalled = value, multipliers, 0
        else:
            stalled += 1
            if stalled >= STALL_STEPS:
                step, stalled = step / 2, 0
        if _proven(best, bound):
            break
        if steps % PRIMAL_EVERY == 0:
            improved = pairs.interchange(top, deadline)
            if pairs.value(improved) > best:
                chosen, best = improved, pairs.value(improved)
            if _open_part(pairs, k, kept, best)[2].nnz <= EXACT_PAIRS:
                break
        norm = float(subgradient @ subgradient)
        if norm == 0:
            break
        multipliers = np.maximum(multipliers - step * (value - best) / norm * subgradient, 0.0)
    return bound, kept, chosen, best


def _relaxation(pairs: _Pairs, k: int, multipliers: np.ndarray
                ) -> tuple[float, np.ndarray, np.ndarray]:
    """The Lagrangian relaxation at ``multipliers``: its value, the k candidates it opens and
    its subgradient (1 − how many of them serve each node)."""
    rho = pairs.per_site(np.maximum(pairs.saving - multipliers[pairs.col], 0.0))
    top = np.argpartition(-rho, k - 1)[:k]
    inside = pairs.of_sites(top)
    hit = pairs.col[inside][pairs.saving[inside] > multipliers[pairs.col[inside]]]
    subgradient = 1.0 - np.bincount(hit, minlength=pairs.n_nodes)
    return float(multipliers.sum() + rho[top].sum()), top, subgradient


def _open_part(pairs: _Pairs, k: int, multipliers: np.ndarray, best: float
               ) -> tuple[np.ndarray, np.ndarray, csr_matrix, np.ndarray]:
    """What the Lagrangian bound at ``multipliers`` leaves open of a set beating ``best``.

    With ρ sorted, forcing candidate j into the relaxation's top k bounds every set holding j
    by the bound − ρ_(k) + ρ_j, forcing it out by the bound − ρ_j + ρ_(k+1); a set beating
    ``best`` therefore lacks every j whose first bound is below it and holds every j whose
    second is.

    Returns:
        The candidates fixed in, the free ones, the free ones' savings above what the fixed
        ones give each node (a free × nodes matrix) and that saving of the fixed ones per node.
    """
    rho = pairs.per_site(np.maximum(pairs.saving - multipliers[pairs.col], 0.0))
    order = np.argsort(-rho, kind="stable")
    kth, next_ = rho[order[k - 1]], rho[order[k]]
    value = float(multipliers.sum() + rho[order[:k]].sum())
    margin = TOLERANCE * max(abs(best), 1.0)
    inside = np.zeros(pairs.n_sites, bool)
    inside[order[:k]] = True
    fixed_in = np.nonzero(inside & (value - rho + next_ < best - margin))[0]
    free = np.nonzero(~(inside & (value - rho + next_ < best - margin)) &
                      ~(~inside & (value - kth + rho < best - margin)))[0]
    base = np.zeros(pairs.n_nodes)
    fixed = pairs.of_sites(fixed_in)
    np.maximum.at(base, pairs.col[fixed], pairs.saving[fixed])
    rest = pairs.of_sites(free)
    rest = rest[pairs.saving[rest] > base[pairs.col[rest]]]
    column = np.full(pairs.n_sites, -1, np.int64)
    column[free] = np.arange(len(free))
    savings = csr_matrix((pairs.saving[rest] - base[pairs.col[rest]],
                          (column[pairs.row[rest]], pairs.col[rest])),
                         shape=(len(free), pairs.n_nodes))
    return fixed_in, free, savings, base


def _close_gap(pairs: _Pairs, k: int, chosen: np.ndarray, best: float, bound: float,
               multipliers: np.ndarray, deadline: float) -> tuple[np.ndarray, float, float]:
    """Fix what the Lagrangian bound proves and, when what is left has at most
    :data:`EXACT_PAIRS` pairs, solve it exactly with HiGHS until ``deadline``.

    Returns:
        The best set, its value and the bound on the optimum.
    """
    fixed_in, free, savings, base = _open_part(pairs, k, multipliers, best)
    left = k - len(fixed_in)
    if left <= 0 or len(free) <= left:
        trial = np.concatenate([fixed_in, free])[:k]
        if len(trial) == k and pairs.value(trial) > best:
            return trial, pairs.value(trial), pairs.value(trial)
        return chosen, best, best
    if savings.nnz > EXACT_PAIRS:
        return chosen, best, bound
    column = np.full(pairs.n_sites, -1, np.int64)
    column[free] = np.arange(len(free))
    start = column[chosen][column[chosen] >= 0]
    start = np.concatenate([start, np.setdiff1d(np.arange(len(free)), start)])[:left]
    found = _pmedian_model(savings, left, deadline, start)
    trial = np.concatenate([fixed_in, free[found.chosen]])
    if len(trial) == k and pairs.value(trial) > best:
        chosen, best = trial, pairs.value(trial)
    exact = float(base.sum()) + found.bound
    return chosen, best, min(bound, max(best, exact))


def _pmedian_model(savings: csr_matrix, k: int, deadline: float, start: np.ndarray
                   ) -> Solution:
    """The classic p-median model (a variable per pair) of a weighted savings matrix, solved by
    HiGHS until ``deadline``; ``objective`` and ``bound`` are HiGHS's own."""
    n_sites, n_demand = savings.shape
    pairs = savings.tocoo()
    n_pairs = len(pairs.data)
    pair_ids = np.arange(n_pairs)
    one_per_node = csr_matrix((np.ones(n_pairs), (pairs.col, pair_ids)), shape=(n_demand, n_pairs))
    open_site = hstack([csr_matrix((-np.ones(n_pairs), (pair_ids, pairs.row)),
                                   shape=(n_pairs, n_sites)), identity(n_pairs, format="csr")])
    matrix = vstack([
        hstack([csr_matrix((n_demand, n_sites)), one_per_node]),  # Σ_j z_ij ≤ 1
        open_site,                                                # z_ij − x_j ≤ 0
        hstack([csr_matrix(np.ones((1, n_sites))), csr_matrix((1, n_pairs))]),
    ]).tocsr()
    model = _Model(
        cost=np.concatenate([np.zeros(n_sites), pairs.data]),
        upper=np.ones(n_sites + n_pairs),
        integer=np.arange(n_sites),
        matrix=matrix,
        row_lower=np.concatenate([np.full(n_demand + n_pairs, -np.inf), [k]]),
        row_upper=np.concatenate([np.ones(n_demand), np.zeros(n_pairs), [k]]),
        maximize=True,
    )
    return model.solve(n_sites, _left(deadline), _one_hot(start, n_sites))


def _proven(value: float, bound: float) -> bool:
    """Whether a bound proves a value optimal, to :data:`TOLERANCE`."""
    return bound - value <= TOLERANCE * max(abs(value), 1.0)


def greedy_cover(cover: csr_matrix, weights: np.ndarray, k: int,
                 target: float = np.inf) -> tuple[np.ndarray, np.ndarray]:
    """Add, k times or until ``target`` weight is covered, the candidate that newly covers the
    most weight.

    Args:
        cover: J × M sparse matrix, nonzero where candidate j covers column i.
        weights: weight of each column (M,).
        k: the most candidates to add.
        target: stop once this much weight is covered.

    Returns:
        The chosen candidates in the order added, and the weight each newly covered.
    """
    cover = csr_matrix(cover, dtype=np.float64)
    by_column = cover.tocsc()
    left = np.asarray(weights, dtype=np.float64).copy()
    gains = cover @ left
    chosen, gained = [], []
    covered = 0.0
    while len(chosen) < min(k, cover.shape[0]) and covered < target * (1 - TOLERANCE):
        best = int(np.argmax(gains))
        if gains[best] <= 0:
            break
        columns = cover.indices[cover.indptr[best]:cover.indptr[best + 1]]
        newly = columns[left[columns] > 0]
        chosen.append(best)
        gained.append(float(left[newly].sum()))
        covered += gained[-1]
        gains -= by_column[:, newly] @ left[newly]
        left[newly] = 0.0
        gains[best] = -np.inf
    return np.array(chosen, dtype=np.int64), np.array(gained)


def greedy_backup(cover: csr_matrix, weights: np.ndarray, counts: np.ndarray, k: int
                  ) -> np.ndarray:
    """Add, k times, the candidate that newly covers the most weight twice, breaking ties by
    the weight it newly covers once.

    Args:
        cover: J × M sparse matrix, nonzero where candidate j covers column i.
        weights: weight of each column (M,).
        counts: existing stations covering each column (M,).
        k: how many candidates to add.

    Returns:
        The chosen candidates in the order added.
    """
    cover = csr_matrix(cover, dtype=np.float64)
    weights = np.asarray(weights, np.float64)
    hits = np.asarray(counts, np.int64).copy()
    chosen: list[int] = []
    for _ in range(min(k, cover.shape[0])):
        double = cover @ (weights * (hits == 1))
        single = cover @ (weights * (hits == 0))
        double[chosen] = single[chosen] = -np.inf
        best = int(np.lexsort((single, double))[-1])
        chosen.append(best)
        hits[cover.indices[cover.indptr[best]:cover.indptr[best + 1]]] += 1
    return np.array(chosen, dtype=np.int64)


def greedy_pmedian(savings: csr_matrix, weights: np.ndarray, k: int) -> np.ndarray:
    """Add, k times, the candidate that saves the most further weighted time.

    Args:
        savings: J × M sparse matrix of the time each column saves with each candidate.
        weights: weight of each column (M,).
        k: how many candidates to add.

    Returns:
        The chosen candidates in the order added.
    """
    savings = csr_matrix(savings, dtype=np.float64)
    weights = np.asarray(weights, np.float64)
    rows = np.repeat(np.arange(savings.shape[0]), np.diff(savings.indptr))
    current = np.zeros(savings.shape[1])
    chosen: list[int] = []
    for _ in range(min(k, savings.shape[0])):
        extra = np.maximum(savings.data - current[savings.indices], 0.0) * weights[savings.indices]
        gains = np.bincount(rows, weights=extra, minlength=savings.shape[0]).astype(float)
        gains[chosen] = -np.inf
        best = int(np.argmax(gains))
        chosen.append(best)
        row = slice(savings.indptr[best], savings.indptr[best + 1])
        columns = savings.indices[row]
        current[columns] = np.maximum(current[columns], savings.data[row])
    return np.array(chosen, dtype=np.int64)


def order_by_gain(chosen: np.ndarray, value: Callable[[np.ndarray], float]
                  ) -> tuple[np.ndarray, np.ndarray]:
    """Order a chosen set as a greedy would add it: each step the member whose addition raises
    ``value`` most.

    Args:
        chosen: the chosen candidate indices.
        value: the objective of a set of candidate indices.

    Returns:
        ``chosen`` reordered, and each member's marginal gain in that order.
    """
    order: list[int] = []
    gains: list[float] = []
    rest = [int(j) for j in chosen]
    current = value(np.zeros(0, np.int64))
    while rest:
        scores = [value(np.array(order + [j])) for j in rest]
        best = int(np.argmax(scores))
        order.append(rest.pop(best))
        gains.append(scores[best] - current)
        current = scores[best]
    return np.array(order, dtype=np.int64), np.array(gains)


def covered_weight(cover: csr_matrix, weights: np.ndarray, chosen: np.ndarray) -> float:
    """Weight of the columns at least one chosen candidate covers."""
    hit = np.asarray(csr_matrix(cover)[np.asarray(chosen, np.int64)].sum(axis=0)).ravel() > 0
    return float(np.asarray(weights, np.float64)[hit].sum())


def backup_weights(cover: csr_matrix, weights: np.ndarray, counts: np.ndarray,
                   chosen: np.ndarray) -> tuple[float, float]:
    """Weight of the columns covered at least twice and at least once, counting ``counts``
    existing stations and the chosen candidates."""
    cover = csr_matrix(cover, dtype=bool)
    hits = np.asarray(cover[np.asarray(chosen, np.int64)].sum(axis=0)).ravel() + counts
    weights = np.asarray(weights, np.float64)
    return float(weights[hits >= 2].sum()), float(weights[hits >= 1].sum())


def time_saved(savings: csr_matrix, weights: np.ndarray, chosen: np.ndarray) -> float:
    """Demand-weighted time saved when each column uses its best chosen candidate."""
    rows = csr_matrix(savings)[np.asarray(chosen, np.int64)]
    if rows.shape[0] == 0:
        return 0.0
    best = np.asarray(rows.max(axis=0).todense()).ravel()
    return float(best @ np.asarray(weights, np.float64))


@dataclass(frozen=True)
class _Model:
    """A mixed-integer program in the arrays HiGHS takes (rows as a CSR matrix)."""

    cost: np.ndarray
    upper: np.ndarray
    integer: np.ndarray
    matrix: csr_matrix
    row_lower: np.ndarray
    row_upper: np.ndarray
    maximize: bool
    lower: np.ndarray | None = None

    def solve(self, n_sites: int, time_limit_s: float, start: np.ndarray) -> Solution:
        """Solve, starting from the 0/1 site vector ``start``; the first ``n_sites`` columns are
        the site variables."""
        n_cols = len(self.cost)
        integrality = np.zeros(n_cols, np.int32)
        integrality[self.integer] = 1
        lower = np.zeros(n_cols) if self.lower is None else self.lower
        matrix = self.matrix
        highs = highspy.Highs()
        highs.setOptionValue("output_flag", False)
        highs.setOptionValue("time_limit", float(time_limit_s))
        highs.setOptionValue("mip_rel_gap", 0.0)
        highs.setOptionValue("mip_abs_gap", 1e-7)
        highs.passModel(
            n_cols, matrix.shape[0], matrix.nnz, int(highspy.MatrixFormat.kRowwise),
            int(highspy.ObjSense.kMaximize if self.maximize else highspy.ObjSense.kMinimize),
            0.0, self.cost, lower, self.upper, self.row_lower, self.row_upper,
            matrix.indptr.astype(np.int32), matrix.indices.astype(np.int32),
            matrix.data.astype(np.float64), integrality)
        highs.setSolution(n_sites, np.arange(n_sites, dtype=np.int32), start.astype(np.float64))
        began = time.perf_counter()
        highs.run()
        seconds = time.perf_counter() - began
        status = highs.getModelStatus()
        info = highs.getInfo()
        values = np.asarray(highs.getSolution().col_value)
        if len(values) < n_sites:
            values = start
        chosen = np.nonzero(values[:n_sites] > 0.5)[0]
        objective = float(info.objective_function_value)
        optimal = status == highspy.HighsModelStatus.kOptimal
        bound = objective if optimal else float(info.mip_dual_bound)
        gap = 0.0 if optimal else _gap(objective, bound)
        return Solution(chosen, objective, bound, gap, optimal,
                        status == highspy.HighsModelStatus.kTimeLimit, seconds)


def _measured(found: Solution, value: Callable[[np.ndarray], float], alone: np.ndarray,
              k: int, start: np.ndarray) -> Solution:
    """A maximising solve's answer with its objective measured on the chosen set and its bound
    tightened by two that hold for any monotone submodular objective (covered weight, time
    saved): the k best values of single candidates (``alone``) added up, and the value of all
    candidates together. They give a finite gap even when the time limit stops HiGHS before it
    has a bound of its own; and when it stops HiGHS before it has k sites as good as
    ``start``'s, the answer is ``start``.
    """
    chosen = found.chosen
    objective = value(chosen)
    if len(chosen) != k or value(start) > objective:
        chosen, objective = np.sort(np.asarray(start, np.int64)), value(start)
    everything = value(np.arange(len(alone)))
    bound = max(min(found.bound, float(np.sort(alone)[::-1][:k].sum()), everything), objective)
    optimal = found.optimal or _proven(objective, bound)
    return replace(found, chosen=chosen, objective=objective, bound=bound, optimal=optimal,
                   gap=0.0 if optimal else _gap(objective, bound))


def _gap(objective: float, bound: float) -> float:
    """The relative gap between a solution's value and a proven bound: 0 when both are 0, inf
    when no finite bound is known or the value is 0 below a positive bound."""
    if not np.isfinite(bound):
        return np.inf
    if abs(bound - objective) <= TOLERANCE * max(abs(objective), 1.0):
        return 0.0
    if objective == 0:
        return np.inf
    return abs(bound - objective) / abs(objective)


def _left(deadline: float) -> float:
    """Seconds left until ``deadline`` (0 once it has passed)."""
    return max(deadline - time.perf_counter(), 0.0)


def _coverage_rows(cover: csr_matrix) -> csr_matrix:
    """Rows y_i − Σ_{j covers i} x_j (≤ 0) over columns [x, y]."""
    n_demand = cover.shape[1]
    return hstack([-cover.T, identity(n_demand)]).tocsr()


def _one_hot(chosen: np.ndarray, n: int) -> np.ndarray:
    """A 0/1 vector of length n with ones at ``chosen``."""
    vector = np.zeros(n)
    vector[np.asarray(chosen, np.int64)] = 1.0
    return vector


