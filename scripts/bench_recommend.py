"""Benchmark: maximal covering site selection (MCLP) against PySAL spopt on the same instance.

The instance, built the same way by each side:

- Jinan's truck network (region ``jinan``) and the ``trucks`` demand layer
  (``geo.demand.demand_layer``); the demand columns are the nodes with weight > 0;
- the 40 demo truck-driver homes the atlas seeds on a region without host sites
  (``geo.demo.demo_stations_on_network``, spread by farthest-point sampling), all open, snapped
  to nodes as :class:`geo.index.RegionIndex` snaps them; they are kept and count as covering;
- ``--candidates`` (2,000) candidate sites: a sample of the other nodes drawn with
  ``np.random.default_rng(--seed)``;
- a threshold of ``--threshold-min`` (10) minutes of travel time and k = ``--k`` (20) new sites.

Ours (yizhan), step by step: the existing stations' reach (``geo.areas.station_reach``), whose
covered demand is set aside; bounded searches between the candidates and the demand nodes still
uncovered (``geo.recommend.pair_times``); the reduction (``geo.cover_reduction.reduce_cover``); the
exact solve (``geo.siting.solve_mclp``, HiGHS). The objective is the demand the existing stations
cover plus the solution's. The whole ``geo.recommend.recommend_sites`` call (``curve=False``) on
the same instance is timed as well, in a process of its own; it also builds the explanation of
every site.

The peer (PySAL spopt): ``spopt.locate.MCLP.from_cost_matrix`` on a dense demand × facilities
cost matrix (the candidates, then the 40 existing stations, marked as predefined facilities;
p = k + 40) and ``.solve(pulp.HiGHS(...))``, the same solver family. The cost matrix comes from
our own searches (``scipy.sparse.csgraph.dijkstra`` from every demand node, bounded at the
threshold: times beyond it do not change coverage and are stored as :data:`FAR_S`, as are
unreachable nodes); its build is timed and reported but counted to neither side. Both solvers get
the same time limit (``--time-limit``) and the same optimality tolerances (relative gap 0,
absolute gap 1e-7; HiGHS's default relative gap of 1e-4 would let spopt stop short of the
optimum). spopt's covered demand is read from its ``fac2cli`` result and checked against the
coverage of its chosen facilities recomputed from the cost matrix; ours is checked the same way
from fresh searches from the chosen nodes.

A second scenario (``--skip-all-nodes`` to skip) offers every node but the existing stations'
as a candidate. The peer then gets a demand × all nodes matrix, and its run is stopped once it
has spent ``--peer-timeout`` seconds after its inputs are ready, or once its resident memory
passes ``--peer-memory-gb``; what it was doing then is reported.

``--problem pmedian`` runs p-median instead, on the same instance (the demand columns are every
node with weight; no threshold): ours is ``geo.pmedian.solve_pmedian`` on the savings over the
existing stations (``geo.recommend.pair_times`` bounded at the node's current time, capped at
``geo.recommend.HORIZON_MIN``), the peer ``spopt.locate.PMedian.from_cost_matrix`` on the dense
demand × (candidates + existing) matrix of unbounded travel times, the existing stations
predefined, p = k + 40. Both objectives are the demand-weighted mean travel time to the nearest
station, recomputed from fresh searches (ours) and from the cost matrix (spopt); the gap of ours
is its proven gap on the time saved and on the whole weighted travel time. spopt gets a demand ×
facilities variable per pair, so both sides also run at the ``--peer-candidates`` counts
(samples drawn the same way), and spopt is stopped by ``--peer-timeout`` / ``--peer-memory-gb``.

Each side runs in a child process of its own (this script with ``--side``), which prints its
results as JSON lines, so that no two share allocator state. Peak memory is the growth
of the child's resident set over what it holds once its inputs are loaded (network, demand,
stations and candidates, the region index for ``recommend_sites``, and for spopt the dense cost
matrix, whose size is reported apart): the kernel's high-water mark is reset through
``/proc/self/clear_refs`` when the inputs are ready and ``VmHWM − VmRSS`` then is the growth.

    python scripts/bench_recommend.py [--candidates 2000] [--k 20] [--threshold-min 10]
        [--time-limit 60] [--seed 0] [--peer-timeout 600] [--peer-memory-gb 12]
        [--skip-all-nodes]
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
from scipy.sparse import csr_matrix

from geo.network import Network
from geo.stations import Station

REGION = "jinan"
GROUP = "trucks"
EXISTING = 40
#: Cost-matrix entry of a facility beyond the threshold (or unreachable), seconds.
FAR_S = 1e9
#: Relative difference under which two objectives count as equal.
EQUAL_REL = 1e-6
#: Demand-node searches per dijkstra call when building the dense cost matrix.
SEARCH_BATCH = 64


def say(message: str) -> None:
    """A progress line on standard error, with the time."""
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


# --------------------------------------------------------------------------------------------
# memory of this process


def memory_mb() -> dict[str, float]:
    """Current (``VmRSS``) and peak (``VmHWM``) resident memory of this process, MB."""
    status = Path("/proc/self/status").read_text()
    return {key: int(re.search(rf"{key}:\s+(\d+) kB", status).group(1)) / 1024
            for key in ("VmRSS", "VmHWM")}


def reset_peak() -> float:
    """Reset the process's resident high-water mark to its current size; return that size, MB."""
    Path("/proc/self/clear_refs").write_text("5")
    return memory_mb()["VmRSS"]


def peak_growth(base_mb: float) -> float:
    """Growth of the peak resident memory over ``base_mb`` since the last :func:`reset_peak`."""
    return memory_mb()["VmHWM"] - base_mb


# --------------------------------------------------------------------------------------------
# the instance


@dataclass(frozen=True)
class Instance:
    """One MCLP instance on Jinan's truck network.

    Attributes:
        network: the truck network.
        weights: the trucks demand per node (N,).
        stations: the 40 demo stations, all open.
        existing: node of each existing station (40,).
        candidates: node of each candidate (J,), none of them an existing node.
        threshold_s: the travel-time threshold, seconds.
        k: new sites to choose.
        time_limit_s: each solver's time limit, seconds.
    """

    network: Network
    weights: np.ndarray
    stations: list[Station]
    existing: np.ndarray
    candidates: np.ndarray
    threshold_s: float
    k: int
    time_limit_s: float


def load_instance(scenario: str, args: argparse.Namespace) -> Instance:
    """Network, demand, existing stations and candidates of a scenario (``sample`` or ``all``)."""
    from scipy.spatial import cKDTree

    from geo.demand import demand_layer
    from geo.demo import demo_stations_on_network
    from geo.regions import get_region, load_networks

    region = get_region(REGION)
    network = load_networks(region, ("truck",))["truck"]
    weights = np.asarray(demand_layer(region, GROUP, network).weights, dtype=np.float64)
    stations = [replace(s, status="open") for s in
                demo_stations_on_network(REGION, network.lon, network.lat, EXISTING)]
    xy = np.column_stack(network.to_utm([s.lon for s in stations], [s.lat for s in stations]))
    existing = np.asarray(cKDTree(network.node_xy).query(xy)[1], dtype=np.int64)
    others = np.setdiff1d(np.arange(network.n_nodes), existing)
    if scenario == "sample":
        candidates = np.random.default_rng(args.seed).choice(others, args.candidates,
                                                             replace=False)
    else:
        candidates = others
    return Instance(network, weights, stations, existing, candidates,
                    args.threshold_min * 60.0, args.k, args.time_limit)


def covered_by(instance: Instance, nodes: np.ndarray) -> float:
    """Demand within the threshold of any of ``nodes``, from fresh searches."""
    from geo.areas import station_reach

    reach = station_reach(instance.network, nodes, instance.threshold_s)
    return float(instance.weights[np.diff(reach.tocsc().indptr) > 0].sum())


# --------------------------------------------------------------------------------------------
# the sides, each run in a child process


class Events:
    """JSON lines to the parent, on the process's original standard output; anything else that
    writes to standard output (a library, a solver) goes to standard error instead."""

    def __init__(self) -> None:
        self._out = os.fdopen(os.dup(1), "w")
        os.dup2(2, 1)

    def send(self, event: str, **fields) -> None:
        """One event: ``stage`` (progress), ``ready`` (inputs loaded), ``result`` or
        ``error``."""
        self._out.write(json.dumps({"event": event, **fields}) + "\n")
        self._out.flush()


def timed(run) -> tuple[float, object]:
    """Wall time of one run (seconds) and its result."""
    start = time.perf_counter()
    result = run()
    return time.perf_counter() - start, result


def run_ours(instance: Instance, events: Events) -> dict:
    """Our MCLP step by step: existing reach, pair searches, reduction, exact solve."""
    from geo.areas import station_reach
    from geo.cover_reduction import reduce_cover
    from geo.recommend import pair_times
    from geo.siting import solve_mclp

    network, weights, nodes = instance.network, instance.weights, instance.candidates
    base = reset_peak()
    events.send("ready")

    seconds = {}
    seconds["existing reach"], reach = timed(
        lambda: station_reach(network, instance.existing, instance.threshold_s))
    counts = np.diff(reach.tocsc().indptr)
    served = float(weights[counts > 0].sum())
    columns = np.nonzero((weights > 0) & (counts == 0))[0]
    seconds["pair searches"], times = timed(
        lambda: pair_times(network, nodes, columns, instance.threshold_s))
    within = times.astype(bool)
    seconds["reduction"], reduced = timed(lambda: reduce_cover(within, weights[columns]))
    events.send("stage", name="solve")
    seconds["solve"], solution = timed(
        lambda: solve_mclp(reduced.cover, reduced.weights, instance.k, instance.time_limit_s))
    seconds["total"] = sum(seconds.values())
    memory = peak_growth(base)
    chosen = nodes[reduced.candidates[solution.chosen]]
    return {
        "objective": served + solution.objective, "gap": solution.gap,
        "optimal": solution.optimal, "time_limit_hit": solution.time_limit_hit,
        "seconds": seconds, "highs_s": solution.seconds, "peak_mb": memory,
        "verified": covered_by(instance, np.concatenate([instance.existing, chosen])),
        "served": served, "columns": len(columns), "candidates_used": int(reduced.cover.shape[0]),
        "reduced_columns": int(reduced.cover.shape[1]), "chosen": len(chosen),
    }


def run_recommend(instance: Instance, events: Events) -> dict:
    """The whole ``recommend_sites`` call (``curve=False``) on the same instance."""
    import geopandas as gpd

    from geo.groups import worker_group
    from geo.index import RegionIndex
    from geo.recommend import recommend_sites

    network, nodes = instance.network, instance.candidates
    index = RegionIndex(REGION, {"truck": network}, instance.stations)
    offered = gpd.GeoDataFrame({
        "name": [f"node {n}" for n in nodes], "category": "node",
        "source_id": [f"node:{n}" for n in nodes], "lon": network.lon[nodes],
        "lat": network.lat[nodes], "node": nodes},
        geometry=gpd.points_from_xy(network.lon[nodes], network.lat[nodes]), crs=4326)
    base = reset_peak()
    events.send("ready")
    wall, found = timed(lambda: recommend_sites(
        index, worker_group(GROUP), _demand(instance.weights), offered, "mclp", k=instance.k,
        threshold_min=instance.threshold_s / 60.0, time_limit_s=instance.time_limit_s,
        curve=False))
    return {"objective": found.after["covered_demand"], "gap": found.gap,
            "optimal": found.optimal, "seconds": found.seconds, "wall_s": wall,
            "peak_mb": peak_growth(base)}


def _demand(weights: np.ndarray):
    """The trucks demand weights as a DemandLayer for ``recommend_sites``."""
    from geo.demand import DemandLayer

    return DemandLayer(GROUP, weights, "km of major road", {"all": float(weights.sum())}, 0.0,
                       "the trucks layer of the benchmark")


def cost_matrix(instance: Instance, demand_nodes: np.ndarray,
                facilities: np.ndarray, limit_s: float | None = None) -> np.ndarray:
    """Dense travel times from each demand node to each facility (M × F), :data:`FAR_S` beyond
    ``limit_s`` (the threshold if None; ``np.inf`` for unbounded searches) or unreachable;
    :data:`SEARCH_BATCH` searches at a time."""
    from scipy.sparse.csgraph import dijkstra

    limit_s = instance.threshold_s if limit_s is None else limit_s
    forward = instance.network.matrix("time")
    costs = np.empty((len(demand_nodes), len(facilities)))
    for first in range(0, len(demand_nodes), SEARCH_BATCH):
        found = dijkstra(forward, directed=True, limit=limit_s,
                         indices=demand_nodes[first:first + SEARCH_BATCH])[:, facilities]
        costs[first:first + SEARCH_BATCH] = np.where(np.isfinite(found), found, FAR_S)
    return costs


def mean_time_min(instance: Instance, nodes: np.ndarray) -> float:
    """Demand-weighted mean travel time to the nearest of ``nodes``, minutes, from a fresh
    search."""
    from geo.field import service_field

    times = service_field(instance.network, nodes).time_s
    demand = instance.weights > 0
    return float(times[demand] @ instance.weights[demand] / instance.weights[demand].sum() / 60)


def run_ours_pmedian(instance: Instance, events: Events) -> dict:
    """Our p-median step by step: the existing stations' field, pair searches, exact solve."""
    from geo.areas import REACH_OFFSET_S
    from geo.field import service_field
    from geo.pmedian import solve_pmedian
    from geo.recommend import HORIZON_MIN, pair_times

    network, weights, nodes = instance.network, instance.weights, instance.candidates
    base_mb = reset_peak()
    events.send("ready")
    seconds = {}
    seconds["existing field"], field = timed(lambda: service_field(network, instance.existing))
    base = np.minimum(field.time_s, HORIZON_MIN * 60.0)
    columns = np.nonzero(weights > 0)[0]
    seconds["pair searches"], times = timed(lambda: pair_times(
        network, nodes, columns, float(base[columns].max()), below=base[columns]))
    savings = csr_matrix((base[columns][times.indices] - (times.data - REACH_OFFSET_S),
                          times.indices, times.indptr), shape=times.shape)
    savings.data = np.maximum(savings.data, 0.0)
    savings.eliminate_zeros()
    useful = np.nonzero(savings.getnnz(axis=1))[0]
    savings = savings[useful]
    events.send("stage", name="solve")
    seconds["solve"], solution = timed(lambda: solve_pmedian(
        savings, weights[columns], instance.k, instance.time_limit_s))
    seconds["total"] = sum(seconds.values())
    memory = peak_growth(base_mb)
    chosen = nodes[useful[solution.chosen]]
    weighted_before = float(base[columns] @ weights[columns])
    return {
        "objective": mean_time_min(instance, np.concatenate([instance.existing, chosen])),
        "before": mean_time_min(instance, instance.existing),
        "gap": solution.gap,
        "time_gap": (solution.bound - solution.objective) / (weighted_before
                                                             - solution.objective),
        "optimal": solution.optimal, "time_limit_hit": solution.time_limit_hit,
        "seconds": seconds, "peak_mb": memory, "chosen": len(chosen),
        "sites": len(useful), "pairs": int(savings.nnz),
    }


def run_spopt_pmedian(instance: Instance, events: Events) -> dict:
    """spopt's p-median on the dense cost matrix, the existing stations predefined."""
    import pulp
    from spopt.locate import PMedian

    weights = instance.weights
    demand_nodes = np.nonzero(weights > 0)[0]
    facilities = np.concatenate([instance.candidates, instance.existing])
    predefined = np.zeros(len(facilities), dtype=int)
    predefined[len(instance.candidates):] = 1
    matrix_s, costs = timed(lambda: cost_matrix(instance, demand_nodes, facilities, np.inf))
    base = reset_peak()
    events.send("ready", matrix_s=matrix_s, matrix_mb=costs.nbytes / 1e6,
                matrix_shape=list(costs.shape))
    seconds = {}
    events.send("stage", name="from_cost_matrix")
    seconds["from_cost_matrix"], model = timed(lambda: PMedian.from_cost_matrix(
        costs, weights[demand_nodes], p_facilities=instance.k + len(instance.existing),
        predefined_facilities_arr=predefined, name="bench"))
    events.send("stage", name="solve")
    solver = pulp.HiGHS(msg=False, timeLimit=instance.time_limit_s, gapRel=0.0, gapAbs=1e-7)
    seconds["solve"], _ = timed(lambda: model.solve(solver))
    seconds["total"] = seconds["from_cost_matrix"] + seconds["solve"]
    memory = peak_growth(base)
    highs = model.problem.solverModel
    status = highs.modelStatusToString(highs.getModelStatus())
    chosen = np.array([j for j, x in enumerate(model.fac_vars) if x.value() > 0.5])
    nearest = costs[:, chosen].min(axis=1)
    return {
        "objective": float(nearest @ weights[demand_nodes] / weights[demand_nodes].sum() / 60),
        "gap": float(highs.getInfo().mip_gap), "optimal": status == "Optimal",
        "status": status, "time_limit_hit": status == "Time limit reached",
        "seconds": seconds, "peak_mb": memory, "chosen": len(chosen),
    }


def run_spopt(instance: Instance, events: Events) -> dict:
    """spopt's MCLP on the dense cost matrix, the existing stations predefined."""
    import pulp
    from spopt.locate import MCLP

    weights = instance.weights
    demand_nodes = np.nonzero(weights > 0)[0]
    facilities = np.concatenate([instance.candidates, instance.existing])
    predefined = np.zeros(len(facilities), dtype=int)
    predefined[len(instance.candidates):] = 1
    matrix_s, costs = timed(lambda: cost_matrix(instance, demand_nodes, facilities))
    base = reset_peak()
    events.send("ready", matrix_s=matrix_s, matrix_mb=costs.nbytes / 1e6,
                matrix_shape=list(costs.shape))

    seconds = {}
    events.send("stage", name="from_cost_matrix")
    seconds["from_cost_matrix"], model = timed(lambda: MCLP.from_cost_matrix(
        costs, weights[demand_nodes], service_radius=instance.threshold_s,
        p_facilities=instance.k + len(instance.existing), predefined_facilities_arr=predefined,
        name="bench"))
    events.send("stage", name="solve")
    solver = pulp.HiGHS(msg=False, timeLimit=instance.time_limit_s, gapRel=0.0,
                        gapAbs=1e-7)
    seconds["solve"], _ = timed(lambda: model.solve(solver))
    seconds["total"] = seconds["from_cost_matrix"] + seconds["solve"]
    memory = peak_growth(base)
    highs = model.problem.solverModel
    info = highs.getInfo()
    status = highs.modelStatusToString(highs.getModelStatus())
    chosen = np.array([j for j, x in enumerate(model.fac_vars) if x.value() > 0.5])
    served = sorted(set().union(*model.fac2cli))
    return {
        "objective": float(weights[demand_nodes[served]].sum()),
        "pulp_objective": float(pulp.value(model.problem.objective)),
        "verified": float(weights[demand_nodes][
            (costs[:, chosen] <= instance.threshold_s).any(axis=1)].sum()),
        "gap": float(info.mip_gap), "optimal": status == "Optimal", "status": status,
        "time_limit_hit": status == "Time limit reached", "seconds": seconds,
        "highs_s": float(highs.getRunTime()), "peak_mb": memory, "chosen": len(chosen),
        "columns": len(demand_nodes),
    }


def child(args: argparse.Namespace) -> None:
    """Run one side on one scenario and send its results to the parent."""
    events = Events()
    instance = load_instance(args.scenario, args)
    events.send("stage", name="inputs", demand_total=float(instance.weights.sum()),
                demand_columns=int((instance.weights > 0).sum()),
                candidates=len(instance.candidates), nodes=instance.network.n_nodes,
                edges=instance.network.n_edges)
    sides = {"ours": run_ours, "recommend": run_recommend, "spopt": run_spopt,
             "ours-pmedian": run_ours_pmedian, "spopt-pmedian": run_spopt_pmedian}
    try:
        result = sides[args.side](instance, events)
    except Exception as error:
        events.send("error", message=f"{type(error).__name__}: {error}")
        raise
    events.send("result", **result)


# --------------------------------------------------------------------------------------------
# the parent: run the children, watch the peer, print the tables


def child_rss_mb(pid: int) -> float:
    """Resident memory of a child process, MB (0 once it is gone)."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return 0.0
    found = re.search(r"VmRSS:\s+(\d+) kB", status)
    return int(found.group(1)) / 1024 if found else 0.0


def last_stage(events: list[dict]) -> str:
    """The stage a child reported last (``loading`` before any)."""
    return next((e["name"] for e in reversed(events) if e["event"] == "stage"), "loading")


def run_child(side: str, scenario: str, args: argparse.Namespace, timeout_s: float | None,
              cap_gb: float | None, candidates: int | None = None) -> dict:
    """Run one side in a child process and collect its events.

    The child is stopped once ``timeout_s`` has passed after its ``ready`` event, or once its
    resident memory passes ``cap_gb`` (None: no limit). ``candidates`` overrides
    ``--candidates``.

    Returns:
        ``events`` (all received), ``result`` (the result event or None), ``failure`` (why
        there is no result, or None) and ``most_mb`` (the largest resident size seen, MB).
    """
    command = [sys.executable, __file__, "--side", side, "--scenario", scenario,
               "--candidates", str(candidates or args.candidates), "--k", str(args.k),
               "--threshold-min", str(args.threshold_min), "--time-limit", str(args.time_limit),
               "--seed", str(args.seed)]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, text=True)
    events: list[dict] = []
    reader = threading.Thread(target=lambda: events.extend(
        json.loads(line) for line in process.stdout), daemon=True)
    reader.start()
    cap_mb = np.inf if cap_gb is None else cap_gb * 1024
    ready_at, failure, most_mb = None, None, 0.0
    while process.poll() is None:
        time.sleep(0.2)
        rss = child_rss_mb(process.pid)
        most_mb = max(most_mb, rss)
        if ready_at is None and any(e["event"] == "ready" for e in events):
            ready_at = time.perf_counter()
        stage = last_stage(events)
        if timeout_s is not None and ready_at and time.perf_counter() - ready_at > timeout_s:
            failure = f"did not finish in {timeout_s:g} s (was in {stage})"
        elif rss > cap_mb:
            failure = (f"stopped at {rss / 1024:.2f} GB resident, over the "
                       f"{cap_gb:g} GB cap (was in {stage})")
        if failure:
            process.kill()
            process.wait()
    reader.join(timeout=5)
    result = next((e for e in events if e["event"] == "result"), None)
    error = next((e["message"] for e in events if e["event"] == "error"), None)
    if result is None and failure is None:
        failure = (f"failed in {last_stage(events)}: {error}" if error else
                   f"exited with code {process.returncode} without a result")
    return {"events": events, "result": result, "failure": failure, "most_mb": most_mb}


def scenario_rows(name: str, args: argparse.Namespace) -> None:
    """Run both sides on one scenario and print its table."""
    say(f"{name}: yizhan")
    ours = run_child("ours", name, args, None, None)
    say(f"{name}: yizhan recommend_sites")
    recommend = run_child("recommend", name, args, None, None)
    for side in (ours, recommend):
        if side["result"] is None:
            raise SystemExit(f"our side failed: {side['failure']}")
    say(f"{name}: spopt")
    peer = run_child("spopt", name, args, args.peer_timeout, args.peer_memory_gb)
    inputs = next(e for e in ours["events"] if e.get("name") == "inputs")
    print_table(name, inputs, ours["result"], recommend["result"], peer)


def print_table(name: str, inputs: dict, ours: dict, recommend: dict, peer: dict) -> None:
    """The results table of one scenario, the step times and the ratios."""
    total = inputs["demand_total"]
    title = ("sampled candidates" if name == "sample" else "every other node a candidate")
    print()
    print(f"== Jinan truck network ({inputs['nodes']:,} nodes, {inputs['edges']:,} edges), "
          f"{title}: {inputs['candidates']:,} candidates + {EXISTING} existing, "
          f"{inputs['demand_columns']:,} demand nodes ({total:,.3f} km of major road) ==")
    print(f"{'side':<26} {'candidates':>10} {'objective':>12} {'covered':>8} {'gap':>9} "
          f"{'solve ms':>10} {'total ms':>10} {'peak MB':>9}")
    rows = [("yizhan (steps)", ours, ours["seconds"]["solve"], ours["seconds"]["total"]),
            ("yizhan recommend_sites()", recommend, recommend["seconds"]["solve"],
             recommend["wall_s"])]
    result = peer["result"]
    if result is not None:
        rows.append(("spopt 0.7 (pulp HiGHS)", result, result["seconds"]["solve"],
                     result["seconds"]["total"]))
    for label, row, solve_s, total_s in rows:
        print(f"{label:<26} {inputs['candidates']:>10,} {row['objective']:>12.6f} "
              f"{row['objective'] / total:>8.2%} {row['gap']:>9.2e} {solve_s * 1e3:>10.1f} "
              f"{total_s * 1e3:>10.1f} {row['peak_mb']:>9.1f}")
    if result is None:
        print(f"{'spopt 0.7 (pulp HiGHS)':<26} {inputs['candidates']:>10,}  {peer['failure']}; "
              f"largest resident size seen {peer['most_mb'] / 1024:.2f} GB")
    steps = ", ".join(f"{k} {v * 1e3:.1f} ms" for k, v in ours["seconds"].items()
                      if k != "total")
    print(f"yizhan steps: {steps}; HiGHS run {ours['highs_s'] * 1e3:.1f} ms; "
          f"{ours['columns']:,} demand columns still uncovered "
          f"(existing stations cover {ours['served']:,.3f}); reduced to "
          f"{ours['candidates_used']:,} candidates × {ours['reduced_columns']:,} columns; "
          f"optimal {ours['optimal']}; coverage of the chosen set recomputed "
          f"{ours['verified']:.6f}")
    parts = ", ".join(f"{k} {v * 1e3:.1f} ms" for k, v in recommend["seconds"].items())
    print(f"recommend_sites: {parts} (its own clock); optimal {recommend['optimal']}")
    ready = next((e for e in peer["events"] if e["event"] == "ready"), None)
    if ready is not None:
        demand_count, facility_count = ready["matrix_shape"]
        print(f"dense cost matrix for spopt ({demand_count:,} × {facility_count:,}, "
              f"{ready['matrix_mb']:,.0f} MB, "
              f"counted as spopt's input): built in {ready['matrix_s']:.2f} s, counted to "
              f"neither side")
    if result is None:
        return
    print(f"spopt steps: from_cost_matrix {result['seconds']['from_cost_matrix']:.2f} s, "
          f"solve {result['seconds']['solve']:.2f} s (HiGHS run {result['highs_s']:.2f} s); "
          f"HiGHS status {result['status']}; pulp objective {result['pulp_objective']:.6f}, "
          f"coverage of its {result['chosen']} facilities recomputed {result['verified']:.6f}")
    print(f"ratios spopt / yizhan (steps): total time "
          f"{result['seconds']['total'] / ours['seconds']['total']:.1f}x, solve time "
          f"{result['seconds']['solve'] / ours['seconds']['solve']:.1f}x, peak memory "
          f"{result['peak_mb'] / max(ours['peak_mb'], 1e-9):.1f}x")
    difference = abs(ours["objective"] - result["objective"]) / max(abs(result["objective"]),
                                                                     1e-12)
    verdict = "EQUAL" if difference <= EQUAL_REL else "DIFFERENT"
    if difference > EQUAL_REL and result["time_limit_hit"]:
        verdict += " (spopt's HiGHS stopped at its time limit, short of the optimum)"
    print(f"objectives {verdict} to {EQUAL_REL:g} relative: yizhan {ours['objective']:.9f}, "
          f"recommend_sites {recommend['objective']:.9f}, spopt {result['objective']:.9f} "
          f"(relative difference {difference:.1e})")


def pmedian_rows(args: argparse.Namespace) -> None:
    """Run p-median, ours and spopt, at ``--peer-candidates`` and at ``--candidates``, and
    print the table."""
    sizes = sorted({*args.peer_candidates, args.candidates})
    print(f"\n== p-median on the Jinan truck network, {EXISTING} existing stations, k = {args.k}, "
          f"time limit {args.time_limit:g} s; objective: demand-weighted mean travel time ==")
    print(f"{'side':<10} {'candidates':>10} {'mean min':>9} {'gap saved':>10} "
          f"{'gap time':>9} {'solve s':>8} {'total s':>8} {'peak MB':>8}  notes")
    for size in sizes:
        say(f"p-median {size}: yizhan")
        ours = run_child("ours-pmedian", "sample", args, None, None, size)
        if ours["result"] is None:
            raise SystemExit(f"our side failed: {ours['failure']}")
        row = ours["result"]
        print(f"{'yizhan':<10} {size:>10,} {row['objective']:>9.4f} {row['gap']:>10.2e} "
              f"{row['time_gap']:>9.2e} {row['seconds']['solve']:>8.2f} "
              f"{row['seconds']['total']:>8.2f} {row['peak_mb']:>8.1f}  before "
              f"{row['before']:.4f} min; {row['sites']:,} sites, {row['pairs']:,} pairs; "
              f"optimal {row['optimal']}, {row['chosen']} chosen")
        say(f"p-median {size}: spopt")
        peer = run_child("spopt-pmedian", "sample", args, args.peer_timeout,
                         args.peer_memory_gb, size)
        result = peer["result"]
        ready = next((e for e in peer["events"] if e["event"] == "ready"), None)
        matrix = (f"cost matrix {ready['matrix_shape'][0]:,} × {ready['matrix_shape'][1]:,} "
                  f"built in {ready['matrix_s']:.1f} s (counted to neither side)"
                  if ready else "")
        if result is None:
            print(f"{'spopt 0.7':<10} {size:>10,}  {peer['failure']}; largest resident size "
                  f"{peer['most_mb'] / 1024:.2f} GB; {matrix}")
            continue
        print(f"{'spopt 0.7':<10} {size:>10,} {result['objective']:>9.4f} "
              f"{result['gap']:>10.2e} {'':>9} {result['seconds']['solve']:>8.2f} "
              f"{result['seconds']['total']:>8.2f} {result['peak_mb']:>8.1f}  HiGHS "
              f"{result['status']}, {result['chosen']} facilities; {matrix}")
        print(f"{'':<10} {'':>10}  ratios spopt / yizhan: total time "
              f"{result['seconds']['total'] / row['seconds']['total']:.1f}x, peak memory "
              f"{result['peak_mb'] / max(row['peak_mb'], 1e-9):.1f}x; mean time "
              f"{(result['objective'] - row['objective']) / row['objective']:+.2e} relative")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--candidates", type=int, default=2000, help="sampled candidates")
    parser.add_argument("--k", type=int, default=20, help="new sites to choose")
    parser.add_argument("--threshold-min", type=float, default=10.0)
    parser.add_argument("--time-limit", type=float, default=60.0,
                        help="each solver's time limit, seconds")
    parser.add_argument("--seed", type=int, default=0, help="seed of the candidate sample")
    parser.add_argument("--peer-timeout", type=float, default=600.0,
                        help="stop spopt after this many seconds once its inputs are ready")
    parser.add_argument("--peer-memory-gb", type=float, default=12.0,
                        help="stop spopt once its resident memory passes this")
    parser.add_argument("--skip-all-nodes", action="store_true",
                        help="skip the scenario with every node a candidate")
    parser.add_argument("--problem", choices=["mclp", "pmedian"], default="mclp")
    parser.add_argument("--peer-candidates", type=int, nargs="*", default=[100, 300],
                        help="p-median: smaller candidate counts where spopt may finish")
    parser.add_argument("--side", choices=["ours", "recommend", "spopt", "ours-pmedian",
                                           "spopt-pmedian"],
                        help=argparse.SUPPRESS)
    parser.add_argument("--scenario", choices=["sample", "all"], default="sample",
                        help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.side:
        child(args)
        return
    started = time.perf_counter()
    if args.problem == "pmedian":
        pmedian_rows(args)
        print(f"\nwhole run {time.perf_counter() - started:.0f} s")
        return
    scenario_rows("sample", args)
    if not args.skip_all_nodes:
        scenario_rows("all", args)
    print(f"\nwhole run {time.perf_counter() - started:.0f} s")


if __name__ == "__main__":
    main()
