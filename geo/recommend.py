"""Recommend where to build the next stations, and say why.

:func:`recommend_sites` turns a region's open stations, a worker group's demand layer and a set of
candidate sites (:mod:`geo.candidates`) into a site-selection problem (:mod:`geo.siting`): one
bounded search over the reversed network from every candidate gives the demand it reaches within
the threshold (or, for p-median, the demand it would serve faster than the existing stations),
demand the existing stations already serve is set aside, and the problem is solved exactly with
HiGHS. The answer lists the chosen sites in the order a greedy planner would build them, each with
the demand it newly covers and the gap areas it closes, the coverage before and after, and the
curve of the objective against the number of new sites (0 … 2k).

Problems:

- ``mclp``: k new sites that cover the most demand within the threshold;
- ``lscp``: the fewest new sites that bring covered demand to a target share;
- ``pmedian``: k new sites that minimise demand-weighted travel time to the nearest station
  (demand beyond ``horizon_min`` of every station counts at that horizon);
- ``backup``: k new sites that cover the most demand twice, then the most demand once.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import geopandas as gpd
import numpy as np
import pandas as pd
from scipy.sparse import coo_matrix, csr_matrix
from scipy.sparse.csgraph import dijkstra

from geo.areas import REACH_OFFSET_S, gap_of_nodes, station_reach
from geo.cover_reduction import CoverInstance, reduce_cover
from geo.demand import DemandLayer
from geo.field import service_field
from geo.groups import WorkerGroup
from geo.index import RegionIndex
from geo.network import Network
from geo.pmedian import solve_pmedian
from geo.siting import (
    InfeasibleTarget,
    Solution,
    backup_weights,
    covered_weight,
    greedy_backup,
    greedy_cover,
    greedy_pmedian,
    order_by_gain,
    solve_backup,
    solve_lscp,
    solve_mclp,
    time_saved,
)

#: The problems :func:`recommend_sites` solves.
PROBLEMS: tuple[str, ...] = ("mclp", "lscp", "pmedian", "backup")

#: Demand farther than this from every station counts at this time in p-median (minutes).
HORIZON_MIN = 60.0

#: How many gap areas a site's explanation lists at most.
GAPS_PER_SITE = 5

#: Columns of :attr:`Recommendation.sites`.
SITE_COLUMNS = ["rank", "name", "category", "source_id", "lon", "lat", "node", "gain",
                "gain_share", "newly_covered", "newly_covered_share", "alone_covered",
                "alone_covered_share", "gaps", "geometry"]


class RecommendError(ValueError):
    """A request that cannot be answered, naming the parameter at fault.

    Attributes:
        field: the parameter (``k``, ``target``, ``candidates``, ``problem``, ``threshold``).
    """

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


@dataclass(frozen=True)
class Recommendation:
    """The recommended sites, their explanation and the solver's account of itself.

    Attributes:
        region_id, group, problem, threshold_min: what was asked.
        k: sites asked for (for ``lscp``, the number found).
        target_share: the covered share asked for (``lscp`` only).
        sites: the chosen sites in selection order (columns :data:`SITE_COLUMNS`): ``gain`` is
            the marginal gain in the problem's objective when the site is added after those
            ranked before it (demand newly covered for ``mclp``/``lscp``, newly covered twice
            for ``backup``, demand-weighted minutes saved for ``pmedian``) and ``gain_share``
            that gain over the total demand (for ``pmedian``: the minutes it takes off the
            demand-weighted mean travel time); ``newly_covered`` is
            the demand within the threshold it adds in that order; ``alone_covered`` the
            uncovered demand it would cover on its own; ``gaps`` the gap areas it reaches, as
            dicts ``gap`` (rank in the gap layer), ``closed_demand``, ``gap_demand``.
        before, after: coverage without and with the new sites: ``covered_demand``,
            ``covered_share``, ``double_covered_share``, ``mean_time_min``.
        objective: the objective of the chosen set, in the terms of :attr:`sites`' ``gain``
            (for ``lscp`` the number of sites; for ``pmedian`` demand-weighted minutes saved).
        bound: the best bound the solver proved.
        gap: the proven relative optimality gap (0 when optimal, inf when no bound is known).
        optimal: whether the sites are proven optimal.
        time_limit_hit: whether the time limit stopped the solver first.
        curve: the best set for 0 … 2k new sites (for ``lscp``, maximal covering sets): ``sites``,
            ``covered_demand``, ``covered_share``, ``double_covered_share``,
            ``mean_time_min``, ``optimal`` and ``method`` (``exact`` or, once the time budget
            is spent, ``greedy``).
        candidates_total: candidates offered; ``candidates_used``: left after reduction;
            ``demand_columns``: demand columns of the reduced problem.
        seconds: ``reach`` (bounded searches), ``solve``, ``curve`` and ``total`` wall time.
        demand_total, demand_unit: the demand layer's total and unit.
        notes: plain remarks on the answer (fewer useful sites than asked, a time limit hit).
    """

    region_id: str
    group: WorkerGroup
    problem: str
    threshold_min: float
    k: int
    target_share: float | None
    sites: gpd.GeoDataFrame
    before: dict
    after: dict
    objective: float
    bound: float
    gap: float
    optimal: bool
    time_limit_hit: bool
    curve: pd.DataFrame
    candidates_total: int
    candidates_used: int
    demand_columns: int
    seconds: dict = field(default_factory=dict)
    demand_total: float = 0.0
    demand_unit: str = ""
    notes: tuple[str, ...] = ()

    def as_dict(self) -> dict:
        """The recommendation as JSON-ready values (infinite numbers become None)."""
        sites = pd.DataFrame(self.sites.drop(columns="geometry"))
        return _finite({
            "region": self.region_id,
            "group": self.group.id,
            "problem": self.problem,
            "threshold_min": self.threshold_min,
            "k": self.k,
            "target_share": self.target_share,
            "sites": sites.to_dict(orient="records"),
            "before": self.before,
            "after": self.after,
            "objective": self.objective,
            "bound": self.bound,
            "gap": self.gap,
            "optimal": self.optimal,
            "time_limit_hit": self.time_limit_hit,
            "curve": self.curve.to_dict(orient="records"),
            "candidates_total": self.candidates_total,
            "candidates_used": self.candidates_used,
            "demand_columns": self.demand_columns,
            "demand_total": self.demand_total,
            "demand_unit": self.demand_unit,
            "seconds": self.seconds,
            "notes": list(self.notes),
        })


@dataclass(frozen=True)
class _Columns:
    """The demand nodes a problem works on (the columns of its matrices)."""

    nodes: np.ndarray
    weights: np.ndarray
    counts: np.ndarray


@dataclass(frozen=True)
class _StationSet:
    """What a set of stations does for every node: how many reach it within the threshold and
    the time to the nearest."""

    nodes: np.ndarray
    counts: np.ndarray
    time_s: np.ndarray


def recommend_sites(
    index: RegionIndex,
    group: WorkerGroup,
    demand: DemandLayer,
    candidates: gpd.GeoDataFrame,
    problem: str = "mclp",
    k: int | None = None,
    target_share: float | None = None,
    threshold_min: float | None = None,
    time_limit_s: float = 10.0,
    horizon_min: float = HORIZON_MIN,
    curve: bool = True,
) -> Recommendation:
    """Choose new station sites among ``candidates`` and explain the choice.

    Args:
        index: the region's index; its open stations are kept and count as covering.
        group: the worker group (its mode picks the network).
        demand: the group's demand layer on that network.
        candidates: candidate sites with ``name``, ``category``, ``source_id``, ``lon``,
            ``lat`` and ``node`` (see :func:`geo.candidates.candidate_sites`).
        problem: one of :data:`PROBLEMS`.
        k: how many new sites (``mclp``, ``pmedian``, ``backup``).
        target_share: the share of all demand to cover, in (0, 1] (``lscp``).
        threshold_min: the travel-time threshold; the group's default if None.
        time_limit_s: the solver's time limit for the answer; the curve gets as much again.
        horizon_min: p-median's cap on a node's travel time.
        curve: also solve for 0 … 2k sites.

    Returns:
        The recommendation.

    Raises:
        RecommendError: for an unknown problem, k < 1, a target outside (0, 1] or beyond the
            share all candidates together could reach, no candidates, or a bad threshold.
    """
    began = time.perf_counter()
    threshold = _checked_request(group, problem, k, target_share, threshold_min, candidates)
    network = index.network(group.mode)
    weights = np.asarray(demand.weights, dtype=np.float64)
    total = float(weights.sum())
    threshold_s = threshold * 60.0
    existing = _station_set(network, index.station_nodes(network.mode)[index.matching()],
                            threshold_s)
    before = _coverage(existing, weights, threshold_s)
    _, first = np.unique(candidates["node"].to_numpy(np.int64), return_index=True)
    offered = candidates.iloc[np.sort(first)].reset_index(drop=True)
    nodes = offered["node"].to_numpy(np.int64)
    seconds = {}
    clock = time.perf_counter()
    if problem == "pmedian":
        base = np.minimum(existing.time_s, horizon_min * 60.0)
        columns = np.nonzero(weights > 0)[0]
        limit = float(base[columns].max()) if len(columns) else 0.0
        times = pair_times(network, nodes, columns, limit, below=base[columns])
        within = _within(times, threshold_s)
        scores = csr_matrix((base[columns][times.indices] - (times.data - REACH_OFFSET_S),
                             times.indices, times.indptr), shape=times.shape)
        instance = _pmedian_instance(scores, weights[columns])
    else:
        wanted = existing.counts < (2 if problem == "backup" else 1)
        columns = np.nonzero((weights > 0) & wanted)[0]
        within = _within(pair_times(network, nodes, columns, threshold_s), threshold_s)
        scores = within
        instance = reduce_cover(within, weights[columns], existing.counts[columns],
                                drop_dominated=problem != "backup")
    seconds["reach"] = time.perf_counter() - clock
    served = float(weights[existing.counts > 0].sum())
    if instance.cover.shape[0] == 0 and not (
            problem == "lscp" and target_share * total <= served):
        raise RecommendError("candidates", "no candidate reaches any demand that is not served "
                             "already; try other candidates or a longer threshold")
    clock = time.perf_counter()
    solution, target = _solve(problem, instance, k, target_share, total, served, time_limit_s)
    seconds["solve"] = time.perf_counter() - clock
    part = _Columns(columns, weights[columns], existing.counts[columns])
    sites = _explain(network, offered, instance.candidates[solution.chosen], within, scores,
                     problem, part, existing, threshold_s, weights)
    k_used = k if problem != "lscp" else len(sites)
    clock = time.perf_counter()
    curve_frame = _curve(problem, instance, k_used, network, weights, existing, before,
                         threshold_s, nodes, time_limit_s) if curve else pd.DataFrame()
    seconds["curve"] = time.perf_counter() - clock
    built = np.concatenate([existing.nodes, sites["node"].to_numpy(np.int64)])
    scale = 1 / 60.0 if problem == "pmedian" else 1.0
    seconds["total"] = time.perf_counter() - began
    return Recommendation(
        region_id=index.region_id, group=group, problem=problem, threshold_min=threshold,
        k=k_used, target_share=target, sites=sites,
        before=before,
        after=_coverage(_station_set(network, built, threshold_s), weights, threshold_s),
        objective=solution.objective * scale, bound=solution.bound * scale, gap=solution.gap,
        optimal=solution.optimal, time_limit_hit=solution.time_limit_hit, curve=curve_frame,
        candidates_total=len(candidates), candidates_used=int(instance.cover.shape[0]),
        demand_columns=int(instance.cover.shape[1]), seconds=seconds, demand_total=total,
        demand_unit=demand.unit,
        notes=_notes(problem, k, len(sites), solution, len(solution.chosen)))


def pair_times(network: Network, candidate_nodes: np.ndarray, demand_nodes: np.ndarray,
               limit_s: float, below: np.ndarray | None = None, batch: int = 32) -> csr_matrix:
    """Travel time from each demand node to each candidate, where within ``limit_s``.

    Bounded searches run from whichever side is smaller: from every candidate over the reversed
    network, or from every demand node over the network itself; both give the same matrix.

    Args:
        network: the mode's network.
        candidate_nodes: node of each candidate (J,).
        demand_nodes: node of each demand column (M,).
        limit_s: the longest time kept, seconds.
        below: a time per demand column (M,); only pairs strictly faster are kept.
        batch: searches per call.

    Returns:
        A J × M matrix of times plus :data:`geo.areas.REACH_OFFSET_S`, stored where kept.
    """
    candidate_nodes = np.asarray(candidate_nodes, np.int64)
    demand_nodes = np.asarray(demand_nodes, np.int64)
    if len(candidate_nodes) <= len(demand_nodes):
        cut = None
        if below is not None:
            cut = np.full(network.n_nodes, -np.inf)
            np.maximum.at(cut, demand_nodes, below)
        return station_reach(network, candidate_nodes, limit_s, batch, cut)[:, demand_nodes]
    forward = network.matrix("time")
    rows, cols, times = [np.zeros(0, np.int64)], [np.zeros(0, np.int64)], [np.zeros(0)]
    for first in range(0, len(demand_nodes), batch):
        found = dijkstra(forward, directed=True, indices=demand_nodes[first:first + batch],
                         limit=limit_s)[:, candidate_nodes]
        keep = found <= limit_s
        if below is not None:
            keep &= found < below[first:first + batch, None]
        row, col = np.nonzero(keep)
        rows.append(row + first)
        cols.append(col)
        times.append(found[row, col] + REACH_OFFSET_S)
    return coo_matrix((np.concatenate(times), (np.concatenate(cols), np.concatenate(rows))),
                      shape=(len(candidate_nodes), len(demand_nodes))).tocsr()


def _checked_request(group: WorkerGroup, problem: str, k: int | None,
                     target_share: float | None, threshold_min: float | None,
                     candidates: gpd.GeoDataFrame) -> float:
    """Check the request's parameters; return the threshold in minutes."""
    if problem not in PROBLEMS:
        raise RecommendError("problem", f"unknown problem {problem!r}; use one of "
                             f"{', '.join(PROBLEMS)}")
    threshold = group.threshold_min if threshold_min is None else float(threshold_min)
    if not (np.isfinite(threshold) and threshold > 0):
        raise RecommendError("threshold", "threshold must be a positive number of minutes")
    if problem == "lscp":
        if target_share is None or not 0 < target_share <= 1:
            raise RecommendError("target", "target must be a share of demand above 0 and at "
                                 "most 1 (for example 0.9)")
    elif k is None or k < 1:
        raise RecommendError("k", "k must be a whole number of new sites, at least 1")
    if len(candidates) == 0:
        raise RecommendError("candidates", "the candidate set is empty")
    return threshold


def _station_set(network: Network, nodes: np.ndarray, threshold_s: float) -> _StationSet:
    """A set of stations' nodes, how many of them reach each node within the threshold, and
    each node's time to the nearest."""
    if len(nodes) == 0:
        return _StationSet(nodes, np.zeros(network.n_nodes, np.int64),
                         np.full(network.n_nodes, np.inf))
    reach = station_reach(network, nodes, threshold_s)
    counts = np.diff(reach.tocsc().indptr).astype(np.int64)
    return _StationSet(nodes, counts, service_field(network, nodes).time_s)


def _within(reach: csr_matrix, threshold_s: float) -> csr_matrix:
    """The pairs of a reach matrix within the threshold, as a boolean matrix."""
    kept = reach.copy()
    kept.data = kept.data <= threshold_s + REACH_OFFSET_S
    kept.eliminate_zeros()
    return csr_matrix(kept, dtype=bool)


def _pmedian_instance(savings: csr_matrix, weights: np.ndarray) -> CoverInstance:
    """A p-median problem with columns without weight and candidates saving nothing dropped."""
    savings = savings.copy()
    savings.data = np.maximum(savings.data, 0.0)
    savings.eliminate_zeros()
    columns = np.nonzero((weights > 0) & (np.diff(savings.tocsc().indptr) > 0))[0]
    kept = savings[:, columns].tocsr()
    rows = np.nonzero(np.diff(kept.indptr) > 0)[0]
    return CoverInstance(cover=kept[rows], weights=weights[columns], candidates=rows,
                         counts=np.zeros(len(columns), np.int64))


def _solve(problem: str, instance: CoverInstance, k: int | None, target_share: float | None,
           total: float, served: float, time_limit_s: float
           ) -> tuple[Solution, float | None]:
    """Solve the reduced problem; return the solution and, for ``lscp``, the target share."""
    if problem == "mclp":
        return solve_mclp(instance.cover, instance.weights, k, time_limit_s), None
    if problem == "backup":
        return (solve_backup(instance.cover, instance.weights, instance.counts, k,
                             time_limit_s), None)
    if problem == "pmedian":
        return solve_pmedian(instance.cover, instance.weights, k, time_limit_s), None
    reachable = served + float(instance.weights.sum())
    if target_share * total > reachable * (1 + 1e-9):
        raise RecommendError("target", f"target {target_share:.1%} is beyond reach: existing "
                             f"stations and all candidates together cover at most "
                             f"{reachable / total:.1%} of demand")
    try:
        solution = solve_lscp(instance.cover, instance.weights, target_share * total - served,
                              time_limit_s)
    except InfeasibleTarget as error:
        raise RecommendError("target", str(error)) from error
    return solution, target_share


def _value(problem: str, scores: csr_matrix, part: _Columns):
    """The objective of a set of candidate rows on the unreduced problem: weighted time saved
    (``pmedian``, ``scores`` holding the savings), demand newly covered twice (``backup``) or
    newly covered (``mclp``, ``lscp``)."""
    if problem == "pmedian":
        return lambda rows: time_saved(scores, part.weights, rows)
    if problem == "backup":
        return lambda rows: backup_weights(scores, part.weights, part.counts, rows)[0]
    return lambda rows: covered_weight(scores, part.weights, rows)


def _explain(network: Network, offered: gpd.GeoDataFrame, chosen: np.ndarray,
             within: csr_matrix, scores: csr_matrix, problem: str, part: _Columns,
             existing: _StationSet, threshold_s: float, weights: np.ndarray) -> gpd.GeoDataFrame:
    """The chosen sites in selection order with their gains and the gap areas they close;
    sites that add nothing once the others are built are left out."""
    total = float(weights.sum())
    order, gains = order_by_gain(chosen, _value(problem, scores, part))
    useful = gains > 0
    order, gains = order[useful], gains[useful]
    if problem == "pmedian":
        gains = gains / 60.0
    uncovered = part.weights * (part.counts == 0)
    alone = np.array([covered_weight(within, uncovered, [j]) for j in order])
    newly = np.diff([covered_weight(within, uncovered, order[:i]) for i in
                     range(len(order) + 1)])
    node_gap = gap_of_nodes(network, existing.time_s, threshold_s, weights)
    gap_demand = np.bincount(node_gap, weights=weights * (node_gap > 0))
    column_gap = node_gap[part.nodes]
    frame = offered.iloc[order].reset_index(drop=True)
    records = pd.DataFrame({
        "rank": np.arange(1, len(order) + 1),
        "name": frame["name"].to_numpy(),
        "category": frame["category"].to_numpy(),
        "source_id": frame["source_id"].to_numpy(),
        "lon": frame["lon"].to_numpy(float),
        "lat": frame["lat"].to_numpy(float),
        "node": frame["node"].to_numpy(np.int64),
        "gain": gains,
        "gain_share": gains / total,
        "newly_covered": newly,
        "newly_covered_share": newly / total,
        "alone_covered": alone,
        "alone_covered_share": alone / total,
        "gaps": [_gaps_closed(within, j, column_gap, part.weights, gap_demand) for j in order],
    })
    return gpd.GeoDataFrame(records, geometry=gpd.points_from_xy(records.lon, records.lat),
                            crs="EPSG:4326")[SITE_COLUMNS]


def _gaps_closed(within: csr_matrix, row: int, column_gap: np.ndarray, weights: np.ndarray,
                 gap_demand: np.ndarray) -> list[dict]:
    """The gap areas a candidate reaches, with the demand of each it covers, largest first."""
    columns = within.indices[within.indptr[row]:within.indptr[row + 1]]
    columns = columns[column_gap[columns] > 0]
    closed = np.bincount(column_gap[columns], weights=weights[columns],
                         minlength=len(gap_demand))
    touched = np.nonzero(closed > 0)[0]
    touched = touched[np.argsort(-closed[touched], kind="stable")][:GAPS_PER_SITE]
    return [{"gap": int(g), "closed_demand": float(closed[g]),
             "gap_demand": float(gap_demand[g])} for g in touched]


def _curve(problem: str, instance: CoverInstance, k: int, network: Network,
           weights: np.ndarray, existing: _StationSet, before: dict, threshold_s: float,
           nodes: np.ndarray, time_limit_s: float) -> pd.DataFrame:
    """The best set of 1 … 2k new sites, with the coverage each gives.

    Each count is solved exactly while the ``time_limit_s`` budget lasts, each solve limited to
    what is left; the counts after that take the greedy set (``method`` says which, and
    ``optimal`` whether the set is proven best)."""
    top = min(2 * max(k, 1), instance.cover.shape[0])
    deadline = time.perf_counter() + time_limit_s
    rows = [{"sites": 0, **before, "optimal": True, "method": "exact"}]
    greedy = _greedy(problem, instance, top)
    for count in range(1, top + 1):
        left = deadline - time.perf_counter()
        if left > 0.05:
            found = _exact(problem, instance, count, left)
            chosen, optimal, method = found.chosen, found.optimal, "exact"
        else:
            chosen, optimal, method = greedy[:count], False, "greedy"
        built = np.concatenate([existing.nodes, nodes[instance.candidates[chosen]]])
        rows.append({"sites": count, **_coverage(_station_set(network, built, threshold_s),
                                                 weights, threshold_s),
                     "optimal": bool(optimal), "method": method})
    return pd.DataFrame(rows)


def _exact(problem: str, instance: CoverInstance, count: int, time_limit_s: float) -> Solution:
    """Solve the reduced problem for ``count`` sites (``lscp`` curves use maximal covering)."""
    if problem == "backup":
        return solve_backup(instance.cover, instance.weights, instance.counts, count,
                            time_limit_s)
    if problem == "pmedian":
        return solve_pmedian(instance.cover, instance.weights, count, time_limit_s)
    return solve_mclp(instance.cover, instance.weights, count, time_limit_s)


def _greedy(problem: str, instance: CoverInstance, count: int) -> np.ndarray:
    """The greedy order of ``count`` sites for the reduced problem."""
    if problem == "backup":
        return greedy_backup(instance.cover, instance.weights, instance.counts, count)
    if problem == "pmedian":
        return greedy_pmedian(instance.cover, instance.weights, count)
    return greedy_cover(instance.cover, instance.weights, count)[0]


def _notes(problem: str, k: int | None, useful: int, solution: Solution, chosen: int
           ) -> tuple[str, ...]:
    """Remarks a planner needs next to the answer."""
    notes = []
    if problem == "lscp" and chosen == 0:
        notes.append("the existing stations already meet the target")
    if problem != "lscp" and useful < k:
        notes.append(f"only {useful} of the {k} sites asked for add anything: the demand the "
                     f"candidates can reach is then all served")
    if solution.time_limit_hit:
        gap = ("no bound proven" if not np.isfinite(solution.gap)
               else f"proven within {solution.gap:.2%} of the optimum")
        notes.append(f"the time limit stopped the solver: this is the best solution found, "
                     f"{gap}")
    return tuple(notes)


def _coverage(stations: _StationSet, weights: np.ndarray, threshold_s: float) -> dict:
    """Covered demand, covered and doubly covered share and mean time for a station set."""
    total = float(weights.sum()) or 1.0
    times, counts = stations.time_s, stations.counts
    reachable = np.isfinite(times)
    mean = (float(times[reachable] @ weights[reachable] / weights[reachable].sum() / 60.0)
            if weights[reachable].sum() > 0 else np.inf)
    covered = float(weights[times <= threshold_s].sum())
    return {"covered_demand": covered, "covered_share": covered / total,
            "double_covered_share": float(weights[counts >= 2].sum()) / total,
            "mean_time_min": mean}


def _finite(value):
    """Replace infinite and NaN floats (and numpy scalars) in nested data with JSON values."""
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_finite(v) for v in value]
    if isinstance(value, (np.integer,)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        return float(value) if np.isfinite(value) else None
    if isinstance(value, np.bool_):
        return bool(value)
    return value
