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
  heuristic in :mod:`geo.pmedian`, HiGHS closing only what the bound leaves open
  (:func:`solve_pair_model`).

Every solve starts from a heuristic set of k sites and keeps the better of it and the solver's,
so a time limit never leaves fewer than k sites; the time limit covers model building.
"""

from __future__ import annotations

import os
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace

import numpy as np
from scipy.sparse import csr_matrix, hstack, identity, vstack

#: Relative tolerance under which two objective values count as equal.
TOLERANCE = 1e-9

#: Share of the time left that HiGHS is given: it checks its limit between search nodes and
#: finishes the one it is in, which on a hard model took it up to a tenth past the limit.
HIGHS_TIME_SHARE = 0.9


#: Held while standard output points at standard error, so two solves starting together restore
#: it in order.
_STDOUT_SWAP = threading.Lock()


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
        value, tie = backup_weights(cover, weights, counts, chosen)
        return Solution(chosen, value, value, 0.0, True, False, 0.0, tie)
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
                         gap=relative_gap(value, double.bound))
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


def solve_pair_model(savings: csr_matrix, k: int, time_limit_s: float, start: np.ndarray
                     ) -> Solution:
    """Solve the classic p-median model (a variable per candidate–node pair) of a weighted
    savings matrix with HiGHS, starting from the candidates ``start``; ``objective`` and
    ``bound`` are HiGHS's own. Only for small matrices: see :func:`geo.pmedian.solve_pmedian`.
    """
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
    return model.solve(n_sites, time_limit_s, _one_hot(start, n_sites))


def proven(value: float, bound: float) -> bool:
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
    chosen: list[int] = []
    gained: list[float] = []
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
        import highspy

        n_cols = len(self.cost)
        integrality = np.zeros(n_cols, np.int32)
        integrality[self.integer] = 1
        lower = np.zeros(n_cols) if self.lower is None else self.lower
        matrix = self.matrix
        highs = _quiet_highs()
        highs.setOptionValue("time_limit", float(time_limit_s) * HIGHS_TIME_SHARE)
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
        gap = 0.0 if optimal else relative_gap(objective, bound)
        return Solution(chosen, objective, bound, gap, optimal,
                        status == highspy.HighsModelStatus.kTimeLimit, seconds)


@contextmanager
def _stdout_to_stderr() -> Iterator[None]:
    """Send what C code writes to standard output (file descriptor 1) to standard error while
    the block runs."""
    with _STDOUT_SWAP:
        sys.stdout.flush()
        saved = os.dup(1)
        try:
            os.dup2(2, 1)
            yield
        finally:
            os.dup2(saved, 1)
            os.close(saved)


def _quiet_highs():
    """A HiGHS solver that logs nothing. HiGHS prints its banner to standard output when the
    solver is made, before any option can be set, so it is made with standard output sent to
    standard error: a command's standard output stays its answer alone."""
    import highspy

    with _stdout_to_stderr():
        highs = highspy.Highs()
    highs.setOptionValue("output_flag", False)
    return highs


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
    optimal = found.optimal or proven(objective, bound)
    return replace(found, chosen=chosen, objective=objective, bound=bound, optimal=optimal,
                   gap=0.0 if optimal else relative_gap(objective, bound))


def relative_gap(objective: float, bound: float) -> float:
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


