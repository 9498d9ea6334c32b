"""Benchmark: worker queries while the planner API is flooded with heavy requests.

Starts ``yizhan serve`` (a subprocess on a free loopback port) over a temporary
instance with Jinan's demo stations, and measures ``GET /api/v1/nearest`` latency (one query
every ``--probe-pause-s``, on one keep-alive connection) at rest and during each flood:

- ``audit``: anonymous callers from ``--clients`` loopback addresses, each repeating the
  request that once made the site unresponsive (k = 100, every node a candidate, a 60 s time
  limit);
- ``anonymous``: the same callers within the anonymous limits (k = 10, 500 candidate points of
  their own, a 10 s time limit);
- ``signed-in``: ``--clients`` planners with API tokens repeating the audit request.

The peer is measured in the same run: the same server with the job pool switched off
(``YIZHAN_JOB_WORKERS=0``, the default), or the code of a git revision (``--peer REV``, served
from a ``git archive`` of it). Each flood gets a fresh server, which is stopped when the flood
ends, so abandoned work never spills into the next measurement. Prints a table of p50/p99 with
the peer's and their ratios, and how the flood's requests were answered (200, 400, 429, 503,
5xx, or not at all by the flood's end).

    python scripts/bench_flood.py [--flood-s 30] [--rest-s 10] [--clients 8] [--peer REV]
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urlencode

import numpy as np
from bench_nearest import free_port, say, serving, wait_ready

REGION = "jinan"
ROOT = Path(__file__).resolve().parent.parent

#: The planning area every flood asks about: trucks at 5 minutes leave gaps to close.
AREA = {"region": REGION, "group": "trucks", "threshold": 5}

#: The request of the audit: k = 100, every node a candidate, a 60 s time limit.
AUDIT = {**AREA, "k": 100, "candidates": "nodes", "time_limit_s": 60}

#: How long a probe or flood request may wait for its answer, in seconds.
REQUEST_TIMEOUT_S = 30.0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--flood-s", type=float, default=30.0, help="length of each flood")
    parser.add_argument("--rest-s", type=float, default=10.0, help="length of the rest probe")
    parser.add_argument("--clients", type=int, default=8, help="flooding clients")
    parser.add_argument("--flood-pause-s", type=float, default=0.1,
                        help="pause of a flooding client between its requests")
    parser.add_argument("--probe-pause-s", type=float, default=0.05)
    parser.add_argument("--threads", type=int, default=8,
                        help="request threads of each server process")
    parser.add_argument("--peer", default="pool-off",
                        help="'pool-off' (this code, no job pool) or a git revision")
    parser.add_argument("--floods", nargs="+", default=["audit", "anonymous", "signed-in"],
                        choices=["audit", "anonymous", "signed-in"])
    args = parser.parse_args()
    if not 1 <= args.clients <= 200:
        parser.error("--clients must be between 1 and 200")
    if not 0 < args.flood_s <= 600 or not 0 < args.rest_s <= 600:
        parser.error("--flood-s and --rest-s must be between 0 and 600 seconds")

    folder = Path(tempfile.mkdtemp(prefix="yizhan-flood-"))
    try:
        instance = folder / "instance"
        instance.mkdir()
        db_url = f"sqlite:///{instance}/yizhan.db"
        tokens, points, paths = prepare(instance, db_url, args.clients)
        servers = {"ours": Server(instance, db_url, ROOT, {}, args.threads),
                   "peer": peer_server(args.peer, folder, instance, db_url, args.threads)}
        bodies = {"audit": AUDIT, "signed-in": AUDIT,
                  "anonymous": {**AREA, "k": 10, "time_limit_s": 10, "candidates": points}}
        results = {}
        for name, server in servers.items():
            say(f"{name}: at rest, {args.rest_s:g} s")
            with server.running(paths):
                results[(name, "at rest")] = (probe(server.port, paths, args.rest_s,
                                                    args.probe_pause_s), Counter())
            for flood in args.floods:
                say(f"{name}: {flood} flood, {args.clients} clients, {args.flood_s:g} s")
                with server.running(paths):
                    results[(name, flood)] = run_flood(
                        server.port, paths, bodies[flood],
                        tokens if flood == "signed-in" else None, args)
        print_table(results, ["at rest", *args.floods], args)
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def prepare(instance: Path, db_url: str, clients: int) -> tuple[list[str], dict, list[str]]:
    """Seed the demo stations and build the networks once (cached in the instance folder for
    every server), make one account and API token per flooding planner, and draw 500 network
    nodes as anonymous candidate points and 200 as worker positions."""
    os.environ["YIZHAN_INSTANCE"] = str(instance)
    sys.path.insert(0, str(ROOT))  # this tree's geo, as the servers run it
    from geo.accounts import AccountStore
    from geo.atlas import Atlas
    from geo.database import Database
    from geo.store import StationStore

    say(f"instance {instance}: building {REGION} networks and demo stations")
    database = Database(db_url)
    atlas = Atlas(StationStore(database))
    atlas.seed_demo_stations(REGION)
    network = atlas.index(REGION).network("truck")
    accounts = AccountStore(database)
    tokens = []
    for number in range(clients):
        accounts.add_user(f"planner{number}", "a long enough password", "viewer")
        tokens.append(accounts.issue_token(f"planner{number}"))
    rng = np.random.default_rng(0)
    points = {"type": "FeatureCollection", "features": [
        {"type": "Feature", "properties": {"name": f"p{i}"},
         "geometry": {"type": "Point", "coordinates": [float(network.lon[i]),
                                                       float(network.lat[i])]}}
        for i in rng.choice(network.n_nodes, 500, replace=False)]}
    paths = ["/api/v1/nearest?" + urlencode({"region": REGION, "lon": f"{network.lon[i]:.6f}",
                                             "lat": f"{network.lat[i]:.6f}", "mode": "truck"})
             for i in rng.choice(network.n_nodes, 200, replace=False)]
    return tokens, points, paths


class Server:
    """``yizhan serve`` from a source tree, started and stopped around each measurement.

    Args:
        instance: the instance folder.
        db_url: the station store.
        source: the source tree to run.
        env: more environment variables.
        threads: request threads of each server process.
    """

    def __init__(self, instance: Path, db_url: str, source: Path, env: dict, threads: int):
        self.source = source
        self.threads = threads
        self.env = dict(os.environ, YIZHAN_INSTANCE=str(instance), DATABASE_URL=db_url,
                        PYTHONPATH=str(source), YIZHAN_SECURE_COOKIES="0", **env)
        self.log = instance / f"serve-{source.name}-{len(env)}.log"
        self.port = 0

    @contextmanager
    def running(self, paths: list[str]) -> Iterator[None]:
        """Run the server on a free loopback port (``self.port``) and warm it with ``paths``;
        stop it on leaving, whatever it is still doing."""
        self.port = free_port()
        command = [sys.executable, "-c", "from web.cli import main; main()", "serve",
                   "--host", "127.0.0.1", "--port", str(self.port), "--threads",
                   str(self.threads)]
        with serving(command, self.env, self.log, cwd=self.source) as proc:
            wait_ready(proc, self.port, 120)
            warm = probe(self.port, paths, 1.0, 0.0)  # the server computes its field here
            if warm["failed"] or not warm["latencies_ms"].size:
                raise RuntimeError("warm-up nearest queries failed")
            yield


def peer_server(peer: str, folder: Path, instance: Path, db_url: str, threads: int) -> Server:
    """The peer: this code without the job pool, or a git revision's code."""
    if peer == "pool-off":
        return Server(instance, db_url, ROOT, {"YIZHAN_JOB_WORKERS": "0"}, threads)
    source = folder / "peer"
    source.mkdir()
    archive = subprocess.run(["git", "-C", str(ROOT), "archive", peer], check=True,
                             capture_output=True).stdout
    subprocess.run(["tar", "-x", "-C", str(source)], input=archive, check=True)
    return Server(instance, db_url, source, {}, threads)


def probe(port: int, paths: list[str], seconds: float, pause_s: float,
          stop: threading.Event | None = None) -> dict:
    """Send the nearest queries ``paths`` in turn for ``seconds`` (or until ``stop``); return
    their latencies in ms and how many failed or got no answer in time."""
    latencies, failed = [], 0
    conn = None
    end = time.perf_counter() + seconds
    number = 0
    while time.perf_counter() < end and not (stop and stop.is_set()):
        if conn is None:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=REQUEST_TIMEOUT_S)
        start = time.perf_counter()
        try:
            conn.request("GET", paths[number % len(paths)])
            response = conn.getresponse()
            response.read()
            if response.status == 200:
                latencies.append((time.perf_counter() - start) * 1e3)
            else:
                failed += 1
        except OSError:
            failed += 1
            conn.close()
            conn = None
        number += 1
        time.sleep(pause_s)
    if conn is not None:
        conn.close()
    return {"latencies_ms": np.array(latencies), "failed": failed}


def run_flood(port: int, paths: list[str], body: dict, tokens: list[str] | None,
              args) -> tuple[dict, Counter]:
    """Flood the server with ``body`` from ``args.clients`` clients (distinct loopback
    addresses, or ``tokens``) for ``args.flood_s`` seconds while probing nearest queries;
    return the probe and a count of the flood's answers by kind."""
    stop = threading.Event()
    answers: Counter = Counter()
    lock = threading.Lock()
    payload = json.dumps(body)
    deadline = time.monotonic() + args.flood_s

    def flood(number: int) -> None:
        headers = {"Content-Type": "application/json"}
        if tokens:
            headers["Authorization"] = f"Bearer {tokens[number]}"
        source = ("127.0.0.1" if tokens else f"127.0.{1 + number // 250}.{1 + number % 250}", 0)
        while not stop.is_set():
            left = deadline - time.monotonic()
            if left <= 0:
                break
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=left,
                                              source_address=source)
            try:
                conn.request("POST", "/api/v1/recommend", payload, headers)
                response = conn.getresponse()
                response.read()
                kind = str(response.status) if response.status < 500 else \
                    ("503" if response.status == 503 else "5xx")
            except OSError:
                kind = "unanswered"
            finally:
                conn.close()
            with lock:
                answers[kind] += 1
            stop.wait(args.flood_pause_s)

    threads = [threading.Thread(target=flood, args=(n,), daemon=True)
               for n in range(args.clients)]
    for thread in threads:
        thread.start()
    time.sleep(min(1.0, args.flood_s / 10))  # let the flood start
    measured = probe(port, paths, deadline - time.monotonic(), args.probe_pause_s, stop)
    stop.set()
    return measured, answers


def print_table(results: dict, scenarios: list[str], args) -> None:
    """The table: nearest p50/p99 for us and the peer with ratios, and the flood's answers."""
    def stats(probe_result: dict) -> tuple[float, float]:
        ms = probe_result["latencies_ms"]
        if not ms.size:
            return float("inf"), float("inf")
        return float(np.percentile(ms, 50)), float(np.percentile(ms, 99))

    def shown(probe_result: dict) -> str:
        p50, p99 = stats(probe_result)
        counts = f"({probe_result['latencies_ms'].size}, {probe_result['failed']})"
        if p50 == float("inf"):
            return f"no answer {counts}"
        return f"{p50:.1f} / {p99:.1f} {counts}"

    def ratio(peer: float, ours: float) -> str:
        return "∞" if peer == float("inf") else f"{peer / ours:.1f}×"

    def answered(counter: Counter) -> str:
        kinds = ("200", "400", "429", "503", "5xx", "unanswered")
        return " ".join(f"{k}:{counter[k]}" for k in kinds if counter[k]) or "-"

    print(f"\nGET /api/v1/nearest during floods of POST /api/v1/recommend ({args.clients} "
          f"clients, {args.flood_s:g} s each; peer: {args.peer})\n")
    print("| scenario | ours p50 / p99 ms (n, failed) | peer p50 / p99 ms (n, failed) | "
          "peer / ours p50, p99 | ours flood answers | peer flood answers |")
    print("|---|---|---|---|---|---|")
    for scenario in scenarios:
        ours_probe, ours_answers = results[("ours", scenario)]
        peer_probe, peer_answers = results[("peer", scenario)]
        (o50, o99), (p50, p99) = stats(ours_probe), stats(peer_probe)
        print(f"| {scenario} | {shown(ours_probe)} | {shown(peer_probe)} | {ratio(p50, o50)}, "
              f"{ratio(p99, o99)} | {answered(ours_answers)} | {answered(peer_answers)} |")
    print("\nfailed: nearest queries answered with an error or not within "
          f"{REQUEST_TIMEOUT_S:g} s (or by the flood's end); unanswered: flood requests still "
          "waiting when the flood ended.")


if __name__ == "__main__":
    main()
