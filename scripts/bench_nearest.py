"""Benchmark: nearest-station query latency on Jinan, against networkx, pandana and over HTTP.

Seeds Jinan's 40 demo truck-driver homes into an instance folder (a temporary one unless
``--instance`` names one), draws random worker positions within ~500 m of the network, and times
in the same run:

- ``geo.nearest.nearest_stations`` in process, k=1 and k=3;
- networkx ``single_source_dijkstra`` per query from the worker's point on its street (a plain
  per-query Dijkstra over the network with the point and the stations added as nodes), checked
  to give the same travel times;
- pandana ``nearest_pois`` (contraction hierarchies, all nodes at once), if pandana imports,
  with its agreement with ours;
- ``GET /api/v1/nearest`` against ``yizhan serve`` on loopback at concurrency 1 and 8.

    python scripts/bench_nearest.py [--queries 10000] [--peer-queries 200] [--http-queries 2000]
        [--mode truck] [--instance DIR] [--profile 500] [--no-pandana] [--no-http]
        [--parts jinan stations]

With ``--stations N`` (5,000 by default; 0 leaves it out) it also times a region with thousands
of stations: N stations on random nodes of Nanjing's walking network (seeded), and

- ``nearest_stations`` in process, k=1 and k=3 with an amenity filter, checked against a plain
  Dijkstra from the worker's node;
- the index work after one station edit (from the store's change until the next k=3 query has
  answered with the edit visible), against the full rebuild every edit used to cost (all
  stations read from the store and snapped, fields and trees computed afresh), in the same run;
- a mixed load over HTTP: ``yizhan serve`` on loopback, a staff editor changing stations through
  the REST API with a token while a few threads ask ``/api/v1/nearest``; requests/s and
  p50/p95 of ``/nearest``. ``--baseline-code DIR`` runs the same load against another source
  tree (e.g. ``git archive main``) as a peer.

The load test of ``yizhan serve`` with a real load generator (wrk, 32 connections, random points
in Nanjing) against the single-process server it replaced is ``scripts/bench_serve.py``.

    python scripts/bench_nearest.py --parts stations [--stations 5000] [--edits 60]
        [--mixed-seconds 20] [--readers 4] [--edit-interval 0.25] [--baseline-code DIR]
"""

from __future__ import annotations

import argparse
import contextlib
import cProfile
import http.client
import io
import json
import math
import os
import pstats
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from urllib.parse import urlencode

import networkx as nx
import numpy as np
from scipy.spatial import cKDTree

REGION = "jinan"
#: Relative tolerance for "the same travel time" between us and networkx.
REL_TOL = 1e-6
#: Absolute tolerance (s) on top of it, for the zero times of workers standing on a station node.
ABS_TOL = 1e-9
#: A pandana time further than this (s) from ours counts as a real disagreement, not float32 noise.
PANDANA_TOL_S = 0.5
#: Tolerance (s) for times in the HTTP answers, which round them to 0.1 s.
HTTP_TOL_S = 0.051


# --------------------------------------------------------------------------------------------
# small helpers


def stats_us(ns: np.ndarray) -> dict:
    """Median, p90, p95, p99 and mean of nanosecond timings, in microseconds."""
    us = np.asarray(ns, dtype=np.float64) / 1e3
    return {"n": len(us), "median": float(np.median(us)), "p90": float(np.percentile(us, 90)),
            "p95": float(np.percentile(us, 95)), "p99": float(np.percentile(us, 99)),
            "mean": float(us.mean())}


def fmt_us(us: float | None) -> str:
    """A duration in µs, shown in µs, ms or s as fits."""
    if us is None or not math.isfinite(us):
        return "-"
    if us < 1e3:
        return f"{us:.1f} µs"
    if us < 1e6:
        return f"{us / 1e3:.2f} ms"
    return f"{us / 1e6:.2f} s"


def check(condition: bool, message: str) -> None:
    """Raise AssertionError unless ``condition`` (kept under ``python -O`` too)."""
    if not condition:
        raise AssertionError(message)


def same_time(a: float, b: float) -> bool:
    """Whether two travel times agree within :data:`REL_TOL` (both inf also agree)."""
    if math.isinf(a) or math.isinf(b):
        return a == b
    return math.isclose(a, b, rel_tol=REL_TOL, abs_tol=ABS_TOL)


@contextlib.contextmanager
def quiet_fds():
    """Silence file descriptors 1 and 2 (pandana's C++ progress output bypasses sys.stdout)."""
    sys.stdout.flush()
    sys.stderr.flush()
    saved = os.dup(1), os.dup(2)
    with open(os.devnull, "w") as null:
        os.dup2(null.fileno(), 1)
        os.dup2(null.fileno(), 2)
        try:
            yield
        finally:
            sys.stdout.flush()
            sys.stderr.flush()
            os.dup2(saved[0], 1)
            os.dup2(saved[1], 2)
            os.close(saved[0])
            os.close(saved[1])


def say(message: str) -> None:
    """A progress line on standard error, with the time."""
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


# --------------------------------------------------------------------------------------------
# the steps


def query_points(network, count: int, snap_m: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """``count`` lon/lat points uniform in the network's bounding box, kept only when within
    ``snap_m`` metres of a node; returns them (count, 2) and their nearest nodes."""
    rng = np.random.default_rng(seed)
    tree = cKDTree(network.node_xy)  # the same points RegionIndex's tree holds
    lo = np.array([network.lon.min(), network.lat.min()])
    hi = np.array([network.lon.max(), network.lat.max()])
    points, nodes = [], []
    have = 0
    while have < count:
        cand = rng.uniform(lo, hi, size=(max(4 * count, 1000), 2))
        x, y = network.to_utm(cand[:, 0], cand[:, 1])
        dist, node = tree.query(np.column_stack([x, y]))
        keep = dist <= snap_m
        points.append(cand[keep])
        nodes.append(node[keep])
        have += int(keep.sum())
    return np.concatenate(points)[:count], np.concatenate(nodes)[:count].astype(np.int64)


def time_in_process(index, points: np.ndarray, mode: str, k: int, warmup: int, filters=None):
    """Time ``nearest_stations`` per point; return ns timings, the snaps, and per query the
    (station id, time) pairs of the hits."""
    from geo.nearest import nearest_stations

    for lon, lat in points[:warmup]:
        nearest_stations(index, (float(lon), float(lat)), mode, k=k, filters=filters)
    timings = np.empty(len(points), dtype=np.int64)
    snapped = []
    hits = []
    clock = time.perf_counter_ns
    for i, (lon, lat) in enumerate(points):
        point = (float(lon), float(lat))
        start = clock()
        answer = nearest_stations(index, point, mode, k=k, filters=filters)
        timings[i] = clock() - start
        snapped.append(answer.snap)
        hits.append([(h.station.id, h.time_s) for h in answer.hits])
    return timings, snapped, hits


def profile_k3(index, points: np.ndarray, mode: str, top: int = 10) -> str:
    """cProfile of ``nearest_stations(k=3)`` over ``points``: the top entries by cumulative time."""
    from geo.nearest import nearest_stations

    profiler = cProfile.Profile()
    profiler.enable()
    for lon, lat in points:
        nearest_stations(index, (float(lon), float(lat)), mode, k=3)
    profiler.disable()
    out = io.StringIO()
    pstats.Stats(profiler, stream=out).sort_stats("cumulative").print_stats(top)
    return out.getvalue()


def point_edges(index, mode: str, snap, mask: np.ndarray
                ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The edges (tails, heads, times) that add the worker's snapped point (node N) and the
    stations in ``mask`` (nodes N + 1, …, on their streets) to the network's N nodes: from the
    point to its street's ends, from the stations' streets' ends to them, and along the
    worker's street to the stations on it."""
    from geo.snapping import along_street, street_ends

    network = index.network(mode)
    n = network.n_nodes
    sources, source_s, _ = street_ends(network, snap.on, leaving=True)
    entries, entry_s, _ = index.station_entries(mode, mask)
    station = np.repeat(n + 1 + np.arange(len(entries)), 2).reshape(-1, 2)
    on = index.stations_on_street(mode).take(np.flatnonzero(mask))
    same = np.flatnonzero(on.edge == snap.on.edge[0])
    same_s, _ = along_street(network, snap.on, on.take(same))
    tails = np.concatenate([np.full(2, n), entries.ravel(), np.full(len(same), n)])
    heads = np.concatenate([sources[0], station.ravel(), n + 1 + same])
    times = np.concatenate([source_s[0], entry_s.ravel(), same_s])
    keep = (tails >= 0) & (heads >= 0) & np.isfinite(times)
    return tails[keep], heads[keep], times[keep]


def plain_times(index, mode: str, snap, mask: np.ndarray, k: int) -> list[float]:
    """The ``k`` smallest travel times from the worker's snapped point to the stations in
    ``mask``, by a plain Dijkstra over the network with them added as nodes."""
    from scipy.sparse import csr_matrix
    from scipy.sparse.csgraph import dijkstra

    network = index.network(mode)
    tails, heads, times = point_edges(index, mode, snap, mask)
    size = network.n_nodes + 1 + int(mask.sum())
    graph = csr_matrix((np.concatenate([np.maximum(network.time_s, 1e-6), times]),
                        (np.concatenate([network.edge_u, tails]),
                         np.concatenate([network.edge_v, heads]))), shape=(size, size))
    reached = np.sort(dijkstra(graph, indices=network.n_nodes)[network.n_nodes + 1:])
    return [float(t) for t in reached[np.isfinite(reached)][:k]]


def run_networkx(index, mode: str, station_ids: np.ndarray, snaps: list, ours_k1: list,
                 ours_k3: list) -> dict:
    """Per query, a full ``single_source_dijkstra`` from the worker's point on its street over
    the network with the point and the open stations added as nodes (:func:`point_edges`), then
    the 3 nearest; checks the times against ours."""
    network = index.network(mode)
    mask = index.matching()
    n = network.n_nodes
    graph = nx.DiGraph()
    graph.add_nodes_from(range(n))
    graph.add_weighted_edges_from(
        zip(network.edge_u.tolist(), network.edge_v.tolist(), network.time_s.tolist())
    )
    targets = (n + 1 + np.arange(int(mask.sum()))).tolist()
    order_key = np.arange(len(targets))  # ties go to the earlier station, as in geo.nearest
    timings = np.empty(len(snaps), dtype=np.int64)
    answers = []
    clock = time.perf_counter_ns
    for i, snap in enumerate(snaps):
        tails, heads, weights = point_edges(index, mode, snap, mask)
        graph.add_weighted_edges_from(zip(tails.tolist(), heads.tolist(), weights.tolist()))
        start = clock()
        dist, _paths = nx.single_source_dijkstra(graph, n, weight="weight")
        times = np.array([dist.get(t, math.inf) for t in targets])
        best = np.lexsort((order_key, times))[:3]
        best = best[np.isfinite(times[best])]
        timings[i] = clock() - start
        graph.remove_nodes_from([n, *targets])
        answers.append([(int(station_ids[j]), float(times[j])) for j in best])
    ids_differ = 0
    for i, (theirs, k1, k3) in enumerate(zip(answers, ours_k1, ours_k3)):
        check(len(k1) == min(1, len(theirs)) and len(k3) == len(theirs),
              f"query {i}: networkx reaches {len(theirs)} stations, we report {len(k3)}")
        check(all(same_time(a[1], b[1]) for a, b in zip(k1, theirs[:1])),
              f"query {i}: k=1 time {k1} != networkx {theirs[:1]}")
        check(all(same_time(a[1], b[1]) for a, b in zip(k3, theirs)),
              f"query {i}: k=3 times {k3} != networkx {theirs}")
        ids_differ += [a[0] for a in k3] != [b[0] for b in theirs]
    return {"timings": timings, "checked": len(answers), "ids_differ": ids_differ,
            "nodes": graph.number_of_nodes(), "edges": graph.number_of_edges()}


def run_pandana(network, station_nodes: np.ndarray, station_ids: np.ndarray,
                points: np.ndarray, our_nodes: np.ndarray, ours_k1: list, ours_k3: list,
                max_distance: float) -> dict:
    """pandana on the same directed network (node ids 0..N-1, UTM metres, travel-time weights):
    build, precompute, nearest_pois for all nodes, and the queries as get_node_ids + lookup."""
    import pandana
    import pandas as pd

    xy = network.node_xy
    out = {"version": pandana.__version__}
    start = time.perf_counter()
    with quiet_fds():
        net = pandana.Network(
            pd.Series(xy[:, 0]), pd.Series(xy[:, 1]),
            pd.Series(network.edge_u.astype(np.int64)), pd.Series(network.edge_v.astype(np.int64)),
            pd.DataFrame({"time": network.time_s}), twoway=False,
        )
    out["build_s"] = time.perf_counter() - start
    start = time.perf_counter()
    with quiet_fds():
        net.precompute(max_distance)
    out["precompute_s"] = time.perf_counter() - start
    sx = pd.Series(xy[station_nodes, 0], index=station_ids)  # the POI ids are station ids
    sy = pd.Series(xy[station_nodes, 1], index=station_ids)
    start = time.perf_counter()
    with quiet_fds():
        net.set_pois("stations", max_distance, 3, sx, sy)
    out["set_pois_s"] = time.perf_counter() - start
    poi_nodes = net.get_node_ids(sx, sy).to_numpy()
    out["poi_nodes_differ"] = int((poi_nodes != station_nodes).sum())
    start = time.perf_counter()
    with quiet_fds():
        table = net.nearest_pois(max_distance, "stations", num_pois=3, include_poi_ids=True)
    out["nearest_pois_s"] = time.perf_counter() - start
    out["n_nodes"] = len(table)

    # The worker's queries: snap all points, then read their rows.
    qx, qy = network.to_utm(points[:, 0], points[:, 1])
    start = time.perf_counter()
    their_nodes = net.get_node_ids(pd.Series(qx), pd.Series(qy)).to_numpy()
    rows = table.iloc[their_nodes]  # node ids are 0..N-1, so positions are ids
    answer_k1 = rows[1].to_numpy()
    out["queries_s"] = time.perf_counter() - start
    out["queries"] = len(points)
    out["snap_differ"] = int((their_nodes != our_nodes).sum())

    # Agreement on the queried nodes (ours), k=1 and all of k=3 inside max_distance.
    mine = table.iloc[our_nodes]
    d1 = mine[1].to_numpy()
    ours1 = np.array([h[0][1] if h else np.inf for h in ours_k1])
    ids1 = np.array([h[0][0] if h else -1 for h in ours_k1])
    diff1 = np.abs(d1 - ours1)
    out["k1_max_abs_s"] = float(diff1.max())
    out["k1_not_exact"] = int(np.sum(diff1 > REL_TOL * np.maximum(ours1, 1.0)))
    out["k1_disagree"] = int(np.sum(diff1 > PANDANA_TOL_S))
    out["k1_ids_differ"] = int(np.sum(mine["poi1"].to_numpy() != ids1))
    d3 = mine[[1, 2, 3]].to_numpy()
    ours3 = np.full((len(ours_k3), 3), np.inf)
    for i, hits in enumerate(ours_k3):
        ours3[i, :len(hits)] = [t for _, t in hits]
    inside = ours3 < max_distance  # pandana reports max_distance beyond it
    diff3 = np.abs(d3 - ours3)[inside]
    out["k3_compared"] = int(inside.sum())
    out["k3_outside"] = int((~inside).sum())
    out["k3_max_abs_s"] = float(diff3.max())
    out["k3_disagree"] = int(np.sum(diff3 > PANDANA_TOL_S))
    out["answer_k1_differ"] = int(np.sum(np.abs(answer_k1 - ours1) > PANDANA_TOL_S))
    return out


# --------------------------------------------------------------------------------------------
# HTTP


def free_port() -> int:
    """A free TCP port on the loopback interface."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def yizhan_command() -> list[str]:
    """The ``yizhan`` command of this interpreter's environment."""
    beside = Path(sys.executable).with_name("yizhan")
    if beside.exists():
        return [str(beside)]
    found = shutil.which("yizhan")
    if found:
        return [found]
    return [sys.executable, "-c", "from web.cli import main; main()"]


def wait_ready(proc: subprocess.Popen, port: int, timeout_s: float) -> float:
    """Poll ``/api/v1/regions`` until it answers 200; return the seconds it took."""
    start = time.perf_counter()
    while time.perf_counter() - start < timeout_s:
        if proc.poll() is not None:
            raise RuntimeError(f"yizhan serve exited with code {proc.returncode}")
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
            conn.request("GET", "/api/v1/regions")
            status = conn.getresponse().status
            conn.close()
            if status == 200:
                return time.perf_counter() - start
        except OSError:
            pass
        time.sleep(0.25)
    raise TimeoutError(f"yizhan serve did not answer /api/v1/regions within {timeout_s:.0f} s")


def http_run(port: int, paths: list[str], concurrency: int) -> dict:
    """Send every path once with ``concurrency`` threads, each on its own keep-alive connection;
    return latencies (ns), statuses, bodies and the wall time."""
    local = threading.local()
    connections = []
    lock = threading.Lock()

    def fetch(path: str):
        conn = getattr(local, "conn", None)
        if conn is None:
            conn = local.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
            with lock:
                connections.append(conn)
        start = time.perf_counter_ns()
        conn.request("GET", path)
        response = conn.getresponse()
        body = response.read()
        elapsed = time.perf_counter_ns() - start
        if response.will_close:
            conn.close()
            local.conn = None
        return elapsed, response.status, body

    start = time.perf_counter()
    with ThreadPoolExecutor(max_workers=concurrency) as pool:
        results = list(pool.map(fetch, paths))
    wall = time.perf_counter() - start
    for conn in connections:
        conn.close()
    return {"timings": np.array([r[0] for r in results], dtype=np.int64),
            "statuses": [r[1] for r in results], "bodies": [r[2] for r in results],
            "wall_s": wall}


def http_hits(body: bytes) -> list[tuple[int, float]]:
    """(station id, time_s) of each station in a /nearest answer."""
    features = json.loads(body)["features"]
    return [(f["properties"]["id"], f["properties"]["time_s"])
            for f in features if f["properties"].get("feature_type") == "station"]


def run_http(instance: Path, db_url: str, points: np.ndarray, mode: str, ours_k3: list,
             concurrencies: list[int], threads: int, warmup: int, timeout_s: float) -> dict:
    """Start ``yizhan serve`` on a free loopback port over the same instance, load it at each
    concurrency, check every answer, and stop it."""
    port = free_port()
    env = dict(os.environ, YIZHAN_INSTANCE=str(instance), DATABASE_URL=db_url)
    log_path = instance / "bench-serve.log"
    command = yizhan_command() + ["serve", "--host", "127.0.0.1", "--port", str(port),
                                  "--threads", str(threads)]
    paths = [
        "/api/v1/nearest?" + urlencode({"region": REGION, "lat": f"{lat:.7f}",
                                        "lon": f"{lon:.7f}", "mode": mode, "limit": 3})
        for lon, lat in points
    ]
    out = {"port": port, "runs": {}}
    with serving(command, env, log_path) as proc:
        out["ready_s"] = wait_ready(proc, port, timeout_s)
        warm = http_run(port, paths[:warmup], 1)  # the server computes its field here
        check(all(s == 200 for s in warm["statuses"]), "a warm-up request failed")
        for c in concurrencies:
            say(f"HTTP: {len(paths)} requests at concurrency {c}")
            run = http_run(port, paths, c)
            bad = [s for s in run["statuses"] if s != 200]
            check(not bad, f"c={c}: {len(bad)} responses were not 200 (e.g. {bad[:3]})")
            wrong = 0
            for body, ours in zip(run["bodies"], ours_k3):
                theirs = http_hits(body)
                same = len(theirs) == len(ours) and all(
                    a[0] == b[0] and abs(a[1] - b[1]) <= HTTP_TOL_S
                    for a, b in zip(theirs, ours))
                wrong += not same
            run["differ_from_in_process"] = wrong
            run.pop("bodies")
            out["runs"][c] = run
    return out


@contextlib.contextmanager
def serving(command: list[str], env: dict, log_path: Path, cwd: Path | None = None):
    """Run a server command in a process group of its own, its output appended to
    ``log_path``; show the log's tail if the block fails, and stop the server (a gunicorn
    master and its workers) on leaving it."""
    with open(log_path, "ab") as log:
        proc = subprocess.Popen(command, env=env, cwd=cwd, stdout=log,
                                stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                start_new_session=True)
        try:
            yield proc
        except BaseException:
            log.flush()
            tail = log_path.read_text(errors="replace")[-2000:]
            print(f"yizhan serve log (tail):\n{tail}", file=sys.stderr)
            raise
        finally:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGTERM)
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()


# --------------------------------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--instance", type=Path, default=None,
                        help="instance folder (default: a temporary folder, removed at the end)")
    parser.add_argument("--mode", default="truck")
    parser.add_argument("--queries", type=int, default=10_000, help="in-process queries")
    parser.add_argument("--peer-queries", type=int, default=200,
                        help="queries for networkx (a subsample of the in-process ones)")
    parser.add_argument("--http-queries", type=int, default=2_000)
    parser.add_argument("--concurrency", type=int, nargs="+", default=[1, 8],
                        help="HTTP client concurrencies")
    parser.add_argument("--threads", type=int, default=8,
                        help="request threads of each server process")
    parser.add_argument("--warmup", type=int, default=100)
    parser.add_argument("--snap-m", type=float, default=500.0,
                        help="keep query points at most this far from a network node")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--server-timeout", type=float, default=60.0)
    parser.add_argument("--profile", type=int, default=0, metavar="N",
                        help="also cProfile N in-process k=3 queries and print the top 10")
    parser.add_argument("--no-pandana", action="store_true")
    parser.add_argument("--no-http", action="store_true")
    parser.add_argument("--parts", nargs="+", choices=["jinan", "stations"],
                        default=["jinan", "stations"], help="which parts to run")
    parser.add_argument("--stations", type=int, default=5_000,
                        help="stations in the many-stations part (0 leaves it out)")
    parser.add_argument("--edits", type=int, default=60, help="station edits timed in process")
    parser.add_argument("--mixed-seconds", type=float, default=20.0,
                        help="length of the mixed HTTP load (0 leaves it out)")
    parser.add_argument("--readers", type=int, default=4,
                        help="threads asking /nearest in the mixed load")
    parser.add_argument("--edit-interval", type=float, default=0.25,
                        help="seconds between the editor's changes in the mixed load")
    parser.add_argument("--baseline-code", type=Path, default=None,
                        help="another source tree to run the mixed load against as a peer")
    args = parser.parse_args()
    check(args.queries > args.warmup or args.warmup == 0, "--queries must exceed --warmup")

    made_instance = args.instance is None
    instance = Path(tempfile.mkdtemp(prefix="yizhan-bench-")) if made_instance \
        else args.instance.resolve()
    instance.mkdir(parents=True, exist_ok=True)
    db_url = f"sqlite:///{instance}/yizhan.db"
    os.environ["YIZHAN_INSTANCE"] = str(instance)  # geo.regions caches networks here
    os.environ["DATABASE_URL"] = db_url
    try:
        if "jinan" in args.parts:
            run(args, instance, db_url)
        if "stations" in args.parts and args.stations:  # a database of its own
            run_many(args, instance, f"sqlite:///{instance}/many-stations.db")
    finally:
        if made_instance:
            shutil.rmtree(instance, ignore_errors=True)


def run(args, instance: Path, db_url: str) -> None:
    from geo.atlas import Atlas
    from geo.database import Database
    from geo.store import StationStore

    say(f"instance {instance}; building/loading {REGION} networks and demo stations")
    atlas = Atlas(StationStore(Database(db_url)))
    atlas.seed_demo_stations(REGION)
    index = atlas.index(REGION)
    mode = args.mode
    network = index.network(mode)
    open_idx = np.nonzero(index.matching())[0]
    station_nodes = index.station_nodes(mode)[open_idx]
    station_ids = np.array([index.stations[i].id for i in open_idx], dtype=np.int64)
    field = index.field(mode, index.matching())
    reachable = field.time_s[np.isfinite(field.time_s)]
    max_distance = 2.0 * float(reachable.max())

    n_all = max(args.queries, args.http_queries)
    all_points, tree_nodes = query_points(network, n_all, args.snap_m, args.seed)
    points, tree_nodes = all_points[:args.queries], tree_nodes[:args.queries]

    say(f"in process: {args.queries} queries, k=1")
    t1, snaps1, hits1 = time_in_process(index, points, mode, 1, args.warmup)
    say(f"in process: {args.queries} queries, k=3")
    t3, _, hits3 = time_in_process(index, points, mode, 3, args.warmup)
    node_m = np.hypot(*(np.column_stack(network.to_utm(points[:, 0], points[:, 1]))
                        - network.node_xy[tree_nodes]).T)
    check(all(snap.distance_m <= m + 1e-6 for snap, m in zip(snaps1, node_m)),
          "a point snapped farther from its street than from its nearest node")
    # k=1 reads the field, k=3 searches forward: the sums differ in the last bits only.
    check(all(len(a) == min(1, len(b)) and all(same_time(x[1], y[1]) for x, y in zip(a, b))
              for a, b in zip(hits1, hits3)), "k=1 and k=3 disagree on the nearest time")
    s1, s3 = stats_us(t1), stats_us(t3)

    profile_text = profile_k3(index, points[:args.profile], mode) if args.profile else ""

    rng = np.random.default_rng(args.seed + 1)
    sub = np.sort(rng.choice(len(points), min(args.peer_queries, len(points)), replace=False))
    say(f"networkx: {len(sub)} single_source_dijkstra queries")
    nxr = run_networkx(index, mode, station_ids, [snaps1[i] for i in sub],
                       [hits1[i] for i in sub], [hits3[i] for i in sub])
    snx = stats_us(nxr["timings"])

    pd_out, pd_skip = None, None
    if args.no_pandana:
        pd_skip = "--no-pandana"
    else:
        try:
            import pandana  # noqa: F401
        except Exception as error:  # ImportError, or a binary wheel that fails to load
            pd_skip = f"pandana does not import: {type(error).__name__}: {error}"
        else:
            say(f"pandana: build, precompute({max_distance:.0f} s), nearest_pois")
            pd_out = run_pandana(network, station_nodes, station_ids, points, tree_nodes,
                                 hits1, hits3, max_distance)

    http_out, http_skip = None, None
    if args.no_http:
        http_skip = "--no-http"
    else:
        http_points = all_points[:args.http_queries]  # the first of the in-process points
        ours_http = (hits3 + [None] * len(http_points))[:len(http_points)]
        if args.http_queries > len(hits3):  # answers for the extra points, to check HTTP with
            from geo.nearest import nearest_stations
            for i in range(len(hits3), len(http_points)):
                answer = nearest_stations(index, tuple(map(float, http_points[i])), mode, k=3)
                ours_http[i] = [(h.station.id, h.time_s) for h in answer.hits]
        say(f"HTTP: starting yizhan serve --threads {args.threads}")
        http_out = run_http(instance, db_url, http_points, mode, ours_http, args.concurrency,
                            args.threads, min(args.warmup, 50), args.server_timeout)

    # ---------------------------------------------------------------- report
    print(f"Jinan {mode} network: {network.n_nodes} nodes, {network.n_edges} edges; "
          f"{len(open_idx)} open stations of {len(index.stations)}; "
          f"query points within {args.snap_m:.0f} m of a node, seed {args.seed}")
    print(f"nearest station by travel time: median {np.median(reachable):.0f} s, "
          f"max {reachable.max():.0f} s")
    print()
    print("in process, geo.nearest.nearest_stations (µs, after a warm-up of "
          f"{args.warmup} queries):")
    print(f"{'k':>3} {'queries':>8} {'median':>9} {'p90':>9} {'p99':>9} {'mean':>9}")
    for k, s in ((1, s1), (3, s3)):
        print(f"{k:>3} {s['n']:>8} {s['median']:>9.1f} {s['p90']:>9.1f} {s['p99']:>9.1f} "
              f"{s['mean']:>9.1f}")
    print()

    base = s1["median"]
    rows = [
        ("yizhan in-process k=1", s1["n"], s1["median"], s1["p99"], ""),
        ("yizhan in-process k=3", s3["n"], s3["median"], s3["p99"], ""),
        ("networkx single_source_dijkstra", snx["n"], snx["median"], snx["p99"],
         "full search per query, + 3 nearest"),
    ]
    if pd_out:
        rows += [
            ("pandana precompute (once)", None, pd_out["precompute_s"] * 1e6, None,
             f"build {pd_out['build_s']:.2f} s, set_pois {pd_out['set_pois_s'] * 1e3:.0f} ms"),
            ("pandana nearest_pois (all nodes)", pd_out["n_nodes"],
             pd_out["nearest_pois_s"] * 1e6 / pd_out["n_nodes"], None,
             f"amortised per node; {pd_out['nearest_pois_s'] * 1e3:.0f} ms in all, k=3"),
            ("pandana queries (snap + lookup)", pd_out["queries"],
             pd_out["queries_s"] * 1e6 / pd_out["queries"], None,
             f"amortised per query; {pd_out['queries_s'] * 1e3:.0f} ms in all; with nearest_pois "
             f"{fmt_us((pd_out['queries_s'] + pd_out['nearest_pois_s']) * 1e6 / pd_out['queries'])}"
             "/query"),
        ]
    if http_out:
        for c, r in http_out["runs"].items():
            s = stats_us(r["timings"])
            rows.append((f"HTTP c={c} (limit=3)", s["n"], s["median"], s["p99"],
                         f"{s['n'] / r['wall_s']:.0f} req/s"))
    print(f"{'what':<34} {'queries':>8} {'median':>10} {'p99':>10} {'ratio vs yizhan k=1':>20}"
          "  note")
    for what, n, median, p99, note in rows:
        ratio = "-" if n is None else f"{median / base:.{1 if median >= 0.1 * base else 3}f}x"
        print(f"{what:<34} {n if n is not None else '-':>8} {fmt_us(median):>10} "
              f"{fmt_us(p99):>10} {ratio:>20}  {note}".rstrip())
    print()

    same = nxr["checked"]
    print(f"networkx ({nxr['nodes']} nodes, {nxr['edges']} edges): travel times identical to ours "
          f"(relative tolerance {REL_TOL:g}) for k=1 and k=3 on all {same} of {same} queries; "
          f"station lists differ on {nxr['ids_differ']} (possible only on ties).")
    if pd_out:
        print(f"pandana {pd_out['version']} (contraction hierarchies, float32 weights), "
              f"max_distance {max_distance:.0f} s, on our {pd_out['queries']} snapped nodes:")
        print(f"  k=1: max |diff| {pd_out['k1_max_abs_s']:.4f} s; {pd_out['k1_not_exact']} not "
              f"within {REL_TOL:g} relative; {pd_out['k1_disagree']} differ by more than "
              f"{PANDANA_TOL_S} s; nearest station differs on {pd_out['k1_ids_differ']}")
        print(f"  k=1..3 ({pd_out['k3_compared']} times inside max_distance, "
              f"{pd_out['k3_outside']} beyond it left out): max |diff| "
              f"{pd_out['k3_max_abs_s']:.4f} s; {pd_out['k3_disagree']} differ by more than "
              f"{PANDANA_TOL_S} s")
        print(f"  its own snapping (get_node_ids) picks another node for {pd_out['snap_differ']} "
              f"points, and its k=1 answer differs by more than {PANDANA_TOL_S} s for "
              f"{pd_out['answer_k1_differ']}; stations mapped to other nodes: "
              f"{pd_out['poi_nodes_differ']}")
    else:
        print(f"pandana skipped: {pd_skip}")
    if http_out:
        parts = [f"c={c}: all {len(r['statuses'])} answered 200, "
                 f"{r['differ_from_in_process']} differ from in-process k=3"
                 for c, r in http_out["runs"].items()]
        print(f"HTTP (yizhan serve --threads {args.threads}, ready after "
              f"{http_out['ready_s']:.1f} s): " + "; ".join(parts))
    else:
        print(f"HTTP skipped: {http_skip}")
    if profile_text:
        print()
        print(f"cProfile of {args.profile} in-process k=3 queries, top 10 by cumulative time:")
        print(profile_text.rstrip())


# --------------------------------------------------------------------------------------------
# thousands of stations

MANY_REGION = "nanjing"
MANY_MODE = "walk"
#: The amenity the k=3 queries ask for.
MANY_AMENITY = "toilet"
#: The edits timed in process, in turn.
EDIT_ACTIONS = ("move", "amenities", "close", "open", "add", "delete")


def many_stations(network, count: int, seed: int) -> list:
    """``count`` stations on random nodes of ``network``: random kinds, each amenity with
    probability 1/2, nine in ten open."""
    from geo.stations import AMENITIES, KINDS, Station

    rng = np.random.default_rng(seed)
    nodes = rng.integers(network.n_nodes, size=count)
    kinds, amenities = list(KINDS), list(AMENITIES)
    return [
        Station(name=f"驿站 {i}", region=MANY_REGION, kind=kinds[rng.integers(len(kinds))],
                lon=float(network.lon[node]), lat=float(network.lat[node]),
                status="open" if rng.random() < 0.9 else "closed",
                amenities=tuple(a for a in amenities if rng.random() < 0.5))
        for i, node in enumerate(nodes.tolist())
    ]


def one_edit(store, index, network, action: str, rng: np.random.Generator, number: int):
    """Make one staff edit of ``action`` in the store; return (station id, its version after the
    edit or None when deleted, where to ask from)."""
    from geo.stations import Station

    held = index.stations
    node = int(rng.integers(network.n_nodes))
    here = (float(network.lon[node]), float(network.lat[node]))
    if action == "add":
        added = store.add(Station(name=f"新驿站 {number}", region=MANY_REGION,
                                  kind="love_station", lon=here[0], lat=here[1],
                                  amenities=(MANY_AMENITY,)))
        return added.id, added.version, here
    wanted = {"close": "open", "open": "closed"}.get(action)
    station = held[int(rng.integers(len(held)))]
    while wanted is not None and station.status != wanted:
        station = held[int(rng.integers(len(held)))]
    at = (station.lon, station.lat)
    if action == "move":
        changed = store.update(station.id, {"lon": here[0], "lat": here[1]}, station.version)
        at = here
    elif action == "amenities":
        toggled = tuple(a for a in station.amenities if a != MANY_AMENITY) \
            if MANY_AMENITY in station.amenities else station.amenities + (MANY_AMENITY,)
        changed = store.update(station.id, {"amenities": toggled}, station.version)
    elif action in ("close", "open"):
        changed = store.set_status(station.id, "closed" if action == "close" else "open",
                                   station.version)
    else:
        store.delete(station.id, station.version)
        return station.id, None, at
    return changed.id, changed.version, at


def answer_after(make_index, at: tuple[float, float], filters, out: dict, prefix: str):
    """Make an index, then answer a k=3 query from ``at`` with it; append the nanoseconds of
    both and their sum to ``out`` under ``prefix`` + index, query and total."""
    from geo.nearest import nearest_stations

    clock = time.perf_counter_ns
    start = clock()
    index = make_index()
    indexed = clock()
    answer = nearest_stations(index, at, MANY_MODE, k=3, filters=filters)
    answered = clock()
    out[prefix + "index"].append(indexed - start)
    out[prefix + "query"].append(answered - indexed)
    out[prefix + "total"].append(answered - start)
    return index, answer


def time_edits(atlas, filters, edits: int, seed: int) -> dict:
    """After each of ``edits`` station edits, time the index work until the next k=3 query has
    answered with the edit visible, and the full rebuild's, checking both answer alike."""
    from geo.index import RegionIndex

    rng = np.random.default_rng(seed)
    store = atlas.store
    index = atlas.index(MANY_REGION)
    network = index.network(MANY_MODE)
    clock = time.perf_counter_ns
    out = {name: [] for name in ("write", "index", "query", "total", "rebuild_index",
                                 "rebuild_query", "rebuild_total")}
    for number in range(edits):
        action = EDIT_ACTIONS[number % len(EDIT_ACTIONS)]
        start = clock()
        station_id, version, at = one_edit(store, index, network, action, rng, number)
        out["write"].append(clock() - start)

        index, ours = answer_after(lambda: atlas.index(MANY_REGION), at, filters, out, "")
        held = {s.id: s.version for s in index.stations}
        check(held.get(station_id) == version, f"edit {number} ({action}) is not in the index")
        _, theirs = answer_after(
            lambda: RegionIndex(MANY_REGION, index.networks, store.list(region=MANY_REGION)),
            at, filters, out, "rebuild_")
        check([(h.station.id, h.time_s) for h in ours.hits]
              == [(h.station.id, h.time_s) for h in theirs.hits],
              f"edit {number} ({action}): the kept index and a rebuilt one answer differently")
    return {name: np.array(values, dtype=np.int64) for name, values in out.items()}


def pruned_search(network, source: int, bound: np.ndarray) -> tuple[list[int], list[float]]:
    """A Dijkstra over the reversed network from ``source`` that only goes where it beats
    ``bound`` (the current field's times): the incremental update of a field for one added
    station. Returns the nodes it improved and their new times."""
    import heapq

    graph = network.reverse_matrix("time")
    indptr, indices, weights = graph.indptr, graph.indices, graph.data
    best = {source: 0.0}
    heap = [(0.0, source)]
    done = []
    while heap:
        time_s, node = heapq.heappop(heap)
        if time_s > best[node]:
            continue
        done.append(node)
        for j in range(indptr[node], indptr[node + 1]):
            head, reach = int(indices[j]), time_s + float(weights[j])
            if reach < bound[head] and reach < best.get(head, math.inf):
                best[head] = reach
                heapq.heappush(heap, (reach, head))
    return done, [best[n] for n in done]


def field_update_costs(network, count: int, seed: int, repeats: int) -> dict:
    """For ``repeats`` stations added to ``count`` on random nodes: the time of the service field
    computed afresh (what the index does) and of updating the old one by a search pruned by it,
    whose travel times are checked to equal the fresh field's."""
    from geo.field import service_field

    rng = np.random.default_rng(seed)
    nodes = rng.integers(network.n_nodes, size=count)
    old = service_field(network, nodes)
    clock = time.perf_counter_ns
    fresh_ns, pruned_ns, reached = [], [], []
    for node in rng.integers(network.n_nodes, size=repeats).tolist():
        start = clock()
        fresh = service_field(network, np.append(nodes, node))
        fresh_ns.append(clock() - start)
        start = clock()
        improved, times = pruned_search(network, node, old.time_s)
        updated = old.time_s.copy()
        updated[improved] = times
        pruned_ns.append(clock() - start)
        reached.append(len(improved))
        check(np.array_equal(updated, fresh.time_s), "the pruned search's times differ")
    return {"fresh": np.array(fresh_ns), "pruned": np.array(pruned_ns),
            "reached": float(np.median(reached))}


def staff_token(db_url: str) -> str:
    """An API token of a new staff account in the instance's database."""
    from geo.accounts import AccountStore
    from geo.database import Database

    accounts = AccountStore(Database(db_url))
    name = f"bench{secrets.token_hex(4)}"
    accounts.add_user(name, secrets.token_urlsafe(24), "staff")
    return accounts.issue_token(name)


def server_command(code: Path, port: int, threads: int) -> tuple[list[str], dict]:
    """The command and environment that serve the app from the source tree ``code``."""
    env = dict(os.environ, PYTHONPATH=str(code))
    command = [sys.executable, "-c", "from web.cli import main; main()", "serve",
               "--host", "127.0.0.1", "--port", str(port), "--threads", str(threads)]
    return command, env


def mixed_load(port: int, paths: list[str], token: str, stations: list, network,
               seconds: float, readers: int, interval_s: float, seed: int) -> dict:
    """For ``seconds``, ``readers`` threads ask ``paths`` in turn while one staff editor moves
    stations and changes their amenities through ``PATCH /api/v1/stations/<id>`` every
    ``interval_s``; return the latencies (ns) and statuses of both."""
    stop = threading.Event()
    lock = threading.Lock()
    asked, edited = [], []

    def read(offset: int) -> None:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        i = offset
        while not stop.is_set():
            start = time.perf_counter_ns()
            conn.request("GET", paths[i % len(paths)])
            response = conn.getresponse()
            response.read()
            with lock:
                asked.append((time.perf_counter_ns() - start, response.status))
            i += readers
        conn.close()

    def edit() -> None:
        rng = np.random.default_rng(seed)
        versions = {s.id: s.version for s in stations}
        amenities = {s.id: list(s.amenities) for s in stations}
        ids = list(versions)
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        number = 0
        while not stop.wait(interval_s):
            station_id = ids[int(rng.integers(len(ids)))]
            if number % 2:
                node = int(rng.integers(network.n_nodes))
                body = {"lon": float(network.lon[node]), "lat": float(network.lat[node])}
            else:
                had = amenities[station_id]
                body = {"amenities": [a for a in had if a != MANY_AMENITY]
                        if MANY_AMENITY in had else had + [MANY_AMENITY]}
            start = time.perf_counter_ns()
            conn.request("PATCH", f"/api/v1/stations/{station_id}", json.dumps(body),
                         {"Authorization": f"Bearer {token}", "Content-Type": "application/json",
                          "If-Match": f'"{versions[station_id]}"'})
            response = conn.getresponse()
            answer = json.loads(response.read())
            edited.append((time.perf_counter_ns() - start, response.status))
            if response.status == 200:
                versions[station_id] = int(response.headers["ETag"].strip('"'))
                amenities[station_id] = answer["properties"]["amenities"]
            number += 1
        conn.close()

    threads = [threading.Thread(target=read, args=(i,)) for i in range(readers)]
    threads.append(threading.Thread(target=edit))
    start = time.perf_counter()
    for thread in threads:
        thread.start()
    time.sleep(seconds)
    stop.set()
    for thread in threads:
        thread.join()
    wall = time.perf_counter() - start
    return {"nearest": np.array([t for t, _ in asked], dtype=np.int64),
            "nearest_bad": sum(status != 200 for _, status in asked),
            "edits": np.array([t for t, _ in edited], dtype=np.int64),
            "edits_bad": sum(status != 200 for _, status in edited), "wall_s": wall}


def run_mixed(args, instance: Path, db_url: str, code: Path, stations: list, network,
              points: np.ndarray) -> dict:
    """Serve the app from ``code`` over the instance and put the mixed load on it."""
    port = free_port()
    command, env = server_command(code, port, args.threads)
    env.update(YIZHAN_INSTANCE=str(instance), DATABASE_URL=db_url)
    paths = [
        "/api/v1/nearest?" + urlencode({"region": MANY_REGION, "lat": f"{lat:.7f}",
                                        "lon": f"{lon:.7f}", "mode": MANY_MODE, "limit": 3,
                                        "amenity": MANY_AMENITY})
        for lon, lat in points
    ]
    token = staff_token(db_url)
    with serving(command, env, instance / "bench-serve.log", cwd=code) as proc:
        ready_s = wait_ready(proc, port, args.server_timeout)
        warm = http_run(port, paths[:20], 1)  # the server builds the region's index here
        check(all(s == 200 for s in warm["statuses"]), "a warm-up request failed")
        out = mixed_load(port, paths, token, stations, network, args.mixed_seconds,
                         args.readers, args.edit_interval, args.seed)
    out["ready_s"] = ready_s
    return out


def run_many(args, instance: Path, db_url: str) -> None:
    from geo.atlas import Atlas
    from geo.database import Database
    from geo.index import StationFilter
    from geo.regions import get_region, load_networks
    from geo.store import StationStore

    store = StationStore(Database(db_url))
    network = load_networks(get_region(MANY_REGION), (MANY_MODE,))[MANY_MODE]
    if store.count(region=MANY_REGION) == 0:
        say(f"storing {args.stations} stations on {MANY_REGION}'s {MANY_MODE} network")
        store.add_many(many_stations(network, args.stations, args.seed))
    atlas = Atlas(store)
    start = time.perf_counter()
    index = atlas.index(MANY_REGION)
    first_s = time.perf_counter() - start
    filters = StationFilter(amenities=frozenset({MANY_AMENITY}))
    points, nodes = query_points(network, max(args.queries, 1000), 200.0, args.seed)

    say(f"in process: {len(points)} queries each, k=1 and k=3 + {MANY_AMENITY}")
    t1, _, hits1 = time_in_process(index, points, MANY_MODE, 1, args.warmup)
    t3, snapped, hits3 = time_in_process(index, points, MANY_MODE, 3, args.warmup, filters)
    mask = index.matching(filters)
    sample = np.random.default_rng(args.seed).choice(len(points), 100, replace=False)
    for i in sample.tolist():
        check(np.allclose([t for _, t in hits1[i]],
                          plain_times(index, MANY_MODE, snapped[i], index.matching(), 1),
                          rtol=REL_TOL),
              f"query {i}: k=1 differs from a plain Dijkstra")
        check(np.allclose([t for _, t in hits3[i]],
                          plain_times(index, MANY_MODE, snapped[i], mask, 3), rtol=REL_TOL),
              f"query {i}: k=3 + {MANY_AMENITY} differs from a plain Dijkstra")

    say(f"{args.edits} station edits, each followed by a k=3 query, and the full rebuild")
    edits = time_edits(atlas, filters, args.edits, args.seed)

    say(f"service field after an added station, {args.stations} stations: afresh vs pruned")
    networks = load_networks(get_region(MANY_REGION))
    if "jinan" in args.parts:
        networks["jinan truck"] = load_networks(get_region(REGION), ("truck",))["truck"]
    fields = {name: field_update_costs(net, args.stations, args.seed, 20)
              for name, net in networks.items()}

    mixed = {}
    index = atlas.index(MANY_REGION)
    if args.mixed_seconds > 0 and not args.no_http:
        trees = [("this tree", Path(__file__).resolve().parent.parent)]
        if args.baseline_code is not None:
            trees.append((f"baseline {args.baseline_code}", args.baseline_code.resolve()))
        for label, code in trees:
            say(f"mixed load over HTTP, {label}: {args.mixed_seconds:.0f} s, "
                f"{args.readers} readers, an edit every {args.edit_interval} s")
            mixed[label] = run_mixed(args, instance, db_url, code,
                                     store.list(region=MANY_REGION), network, points)

    # ---------------------------------------------------------------- report
    print()
    print(f"{MANY_REGION} {MANY_MODE} network: {network.n_nodes} nodes, {network.n_edges} "
          f"edges; {len(index.stations)} stations ({int(index.matching().sum())} open, "
          f"{int(mask.sum())} open with {MANY_AMENITY}); first index {first_s:.2f} s")
    print(f"in process, geo.nearest.nearest_stations (after a warm-up of {args.warmup}; "
          "100 of each checked against a plain Dijkstra):")
    print(f"{'query':<24} {'queries':>8} {'median':>10} {'p95':>10} {'p99':>10}")
    for what, timings in (("k=1", t1), (f"k=3 + {MANY_AMENITY}", t3)):
        st = stats_us(timings)
        print(f"{what:<24} {st['n']:>8} {fmt_us(st['median']):>10} {fmt_us(st['p95']):>10} "
              f"{fmt_us(st['p99']):>10}")
    print()
    print(f"index work after one station edit ({args.edits} edits: "
          f"{', '.join(EDIT_ACTIONS)} in turn), until the next k=3 + {MANY_AMENITY} query "
          "has answered with it visible:")
    base = stats_us(edits["rebuild_total"])["median"]
    print(f"{'what':<46} {'median':>10} {'p95':>10} {'ratio vs rebuild':>17}")
    rows = [
        ("store write (not index work)", edits["write"]),
        ("incremental: Atlas.index (history, read, snap)", edits["index"]),
        ("incremental: next query (fields, trees)", edits["query"]),
        ("incremental: index work in all", edits["total"]),
        ("full rebuild: store.list + RegionIndex", edits["rebuild_index"]),
        ("full rebuild: next query (fields, trees)", edits["rebuild_query"]),
        ("full rebuild: index work in all (peer)", edits["rebuild_total"]),
    ]
    for what, timings in rows:
        st = stats_us(timings)
        print(f"{what:<46} {fmt_us(st['median']):>10} {fmt_us(st['p95']):>10} "
              f"{st['median'] / base:>16.3f}x")
    speedup = base / stats_us(edits["total"])["median"]
    print(f"the kept index answered every query as a rebuilt one did; median index work "
          f"{speedup:.0f}x less than the rebuild")
    print()
    print(f"the service field after one station is added to {args.stations} (20 additions): "
          "computed afresh, as the index does, vs updating the old field by a Dijkstra pruned "
          "where it does not beat it (Python heapq; times checked equal):")
    print(f"{'network':<16} {'nodes':>8} {'afresh':>10} {'pruned':>10} {'nodes reached':>14} "
          f"{'pruned / afresh':>16}")
    for name, costs in fields.items():
        fresh, pruned = stats_us(costs["fresh"])["median"], stats_us(costs["pruned"])["median"]
        size = networks[name].n_nodes
        print(f"{name:<16} {size:>8} {fmt_us(fresh):>10} {fmt_us(pruned):>10} "
              f"{costs['reached']:>14.0f} {pruned / fresh:>15.2f}x")
    if mixed:
        print()
        print(f"mixed load over HTTP (yizhan serve --threads {args.threads}, {args.readers} "
              f"threads asking /api/v1/nearest k=3 + {MANY_AMENITY}, one staff editor "
              f"PATCHing every {args.edit_interval} s, {args.mixed_seconds:.0f} s):")
        print(f"{'server':<40} {'nearest/s':>10} {'p50':>10} {'p95':>10} {'edits':>6} "
              f"{'edit p50':>10} {'not 200':>8}")
        for label, out in mixed.items():
            st = stats_us(out["nearest"])
            se = stats_us(out["edits"]) if len(out["edits"]) else {"median": math.nan}
            print(f"{label[:40]:<40} {len(out['nearest']) / out['wall_s']:>10.1f} "
                  f"{fmt_us(st['median']):>10} {fmt_us(st['p95']):>10} {len(out['edits']):>6} "
                  f"{fmt_us(se['median']):>10} {out['nearest_bad'] + out['edits_bad']:>8}")



if __name__ == "__main__":
    main()
