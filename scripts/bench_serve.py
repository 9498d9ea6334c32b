"""Benchmark: ``yizhan serve`` under wrk on loopback, against the single-process server it
replaced, in the same run.

Seeds the demo regions into an instance folder (a temporary one unless ``--instance`` names
one), then for each server in turn: starts it on a free 127.0.0.1 port, waits until it
answers, warms it for ``--warmup`` seconds and loads it for ``--seconds`` with wrk
(``--connections`` keep-alive connections, two threads) asking ``GET /api/v1/nearest`` with
``limit=3`` at ``--points`` random points on Nanjing's walking network (a few metres off a
random node, so every one is inside the region), each connection going through them in turn
from a random start. It prints requests/s, p50 and p99 latency, errors (failed connections,
reads, writes, timeouts and answers other than 2xx/3xx), the server's CPU time per request
(user and system, all its processes: what a busy machine does not change much) and its memory
(resident and proportional set sizes summed over its processes), then the ratios of the two
servers.

The servers:

- ``gunicorn``: ``yizhan serve`` of this source tree (worker processes, one per CPU unless
  ``--workers``);
- ``waitress``: ``yizhan serve --threads 8`` of ``--peer-commit`` (the single-process waitress
  server, from ``git archive``); it needs ``pip install waitress``, and is left out with a
  message without it.

Needs wrk (``apt install wrk``). Every request goes to 127.0.0.1; the servers are stopped at
the end.

    python scripts/bench_serve.py [--connections 32] [--seconds 20] [--warmup 5]
        [--points 2000] [--workers N] [--peer-commit f1293ed] [--instance DIR]
"""

from __future__ import annotations

import argparse
import contextlib
import importlib.util
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
from bench_nearest import free_port, serving, wait_ready

ROOT = Path(__file__).resolve().parent.parent

#: The wrk script: requests cycle through ``PATHS`` from a random start per connection
#: thread, and the summary is one line of JSON.
WRK_SCRIPT = """
local paths = {%s}
local at = 0
function init(args)
  math.randomseed(os.time() + tonumber(tostring({}):sub(8), 16) %% 100000)
  at = math.random(#paths)
end
function request()
  at = at %% #paths + 1
  return wrk.format("GET", paths[at])
end
function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format('{"requests": %%d, "duration_us": %%d, "p50_us": %%d, ' ..
    '"p99_us": %%d, "errors": %%d}\\n', summary.requests, summary.duration,
    latency:percentile(50), latency:percentile(99),
    e.connect + e.read + e.write + e.timeout + e.status))
end
"""


def query_paths(count: int, seed: int) -> list[str]:
    """``count`` nearest queries at random points of Nanjing's walking network."""
    from geo.regions import get_region, load_networks

    network = load_networks(get_region("nanjing"), ("walk",))["walk"]
    rng = np.random.default_rng(seed)
    nodes = rng.integers(network.n_nodes, size=count)
    lon = network.lon[nodes] + rng.normal(0, 5e-5, count)
    lat = network.lat[nodes] + rng.normal(0, 5e-5, count)
    return [f"/api/v1/nearest?region=nanjing&lat={y:.6f}&lon={x:.6f}&limit=3"
            for x, y in zip(lon.tolist(), lat.tolist())]


def wrk(port: int, script: Path, connections: int, seconds: float) -> dict:
    """Load the server with wrk; its summary with requests/s."""
    out = subprocess.run(
        ["wrk", "-t", "2", "-c", str(connections), "-d", f"{seconds:.0f}s", "--timeout", "10s",
         "-s", str(script), f"http://127.0.0.1:{port}"],
        capture_output=True, text=True, check=True, timeout=seconds + 60).stdout
    summary = json.loads(out.strip().splitlines()[-1])
    summary["rps"] = summary["requests"] / (summary["duration_us"] / 1e6)
    return summary


def family(pid: int) -> list[int]:
    """A process and its children."""
    return [pid] + [int(p) for p in subprocess.run(
        ["pgrep", "-P", str(pid)], capture_output=True, text=True).stdout.split()]


def cpu_s(pid: int) -> float:
    """CPU seconds (user and system) a process and its children have used so far."""
    total = 0
    for each in family(pid):
        with contextlib.suppress(OSError):
            fields = Path(f"/proc/{each}/stat").read_text().rpartition(")")[2].split()
            total += int(fields[11]) + int(fields[12])  # utime, stime
    return total / os.sysconf("SC_CLK_TCK")


def memory_mb(pid: int) -> tuple[float, float]:
    """Resident and proportional set sizes (MB) of a process and its children, summed: the
    resident sizes count pages the processes share once per process, the proportional ones
    split them between the sharers."""
    rss = pss = 0
    for each in family(pid):
        with contextlib.suppress(OSError):
            for line in Path(f"/proc/{each}/smaps_rollup").read_text().splitlines():
                name, _, value = line.partition(":")
                if name in ("Rss", "Pss"):
                    kb = int(value.split()[0])
                    rss, pss = (rss + kb, pss) if name == "Rss" else (rss, pss + kb)
    return rss / 1024, pss / 1024


def measure(name: str, command: list[str], env: dict, cwd: Path, folder: Path,
            script: Path, args) -> dict:
    """Start one server, warm it, load it, and return wrk's summary with its memory."""
    port = free_port()
    with serving(command + ["--host", "127.0.0.1", "--port", str(port)], env,
                 folder / f"{name}.log", cwd) as proc:
        ready_s = wait_ready(proc, port, 600)
        print(f"{name}: ready after {ready_s:.1f} s; warming for {args.warmup:.0f} s",
              file=sys.stderr)
        wrk(port, script, args.connections, args.warmup)
        cpu_before = cpu_s(proc.pid)
        result = wrk(port, script, args.connections, args.seconds)
        result["cpu_us"] = (cpu_s(proc.pid) - cpu_before) / result["requests"] * 1e6
        result["rss_mb"], result["pss_mb"] = memory_mb(proc.pid)
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--warmup", type=float, default=5.0)
    parser.add_argument("--points", type=int, default=2000)
    parser.add_argument("--workers", type=int, default=None,
                        help="worker processes of yizhan serve (default: one per CPU)")
    parser.add_argument("--peer-commit", default="f1293ed",
                        help="the commit whose waitress server is the peer")
    parser.add_argument("--instance", type=Path, default=None)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        sys.exit("wrk is needed: apt install wrk")

    with tempfile.TemporaryDirectory(prefix="bench-serve-") as tmp:
        folder = Path(tmp)
        instance = (args.instance or folder / "instance").resolve()
        os.environ["YIZHAN_INSTANCE"] = str(instance)
        from web import create_app

        print("seeding the demo regions (the first time, building their networks)",
              file=sys.stderr)
        create_app()
        script = folder / "nearest.lua"
        paths = query_paths(args.points, args.seed)
        script.write_text(WRK_SCRIPT % ", ".join(f'"{p}"' for p in paths))
        env = dict(os.environ, PYTHONPATH=str(ROOT))
        ours = [sys.executable, "-c", "from web.cli import main; main()", "serve"]
        if args.workers:
            ours += ["--workers", str(args.workers)]
        results = {"gunicorn": measure("gunicorn", ours, env, ROOT, folder, script, args)}

        if importlib.util.find_spec("waitress") is None:
            print("waitress: not installed (pip install waitress); no peer", file=sys.stderr)
        else:
            peer = folder / "peer"
            peer.mkdir()
            archive = subprocess.run(["git", "-C", str(ROOT), "archive", args.peer_commit],
                                     capture_output=True, check=True).stdout
            subprocess.run(["tar", "-x", "-C", str(peer)], input=archive, check=True)
            command = [sys.executable, "-c", "from web.cli import main; main()", "serve",
                       "--threads", "8"]
            # An instance of its own: the peer's code cannot open a database migrated since.
            peer_env = dict(env, PYTHONPATH=str(peer),
                            YIZHAN_INSTANCE=str(folder / "peer-instance"))
            results["waitress"] = measure("waitress", command, peer_env, peer, folder, script,
                                          args)

    print(f"GET /api/v1/nearest, Nanjing, limit 3, {args.points} random points, "
          f"{args.connections} connections, {args.seconds:.0f} s, {os.cpu_count()} CPUs")
    print(f"{'server':10} {'req/s':>8} {'p50 ms':>8} {'p99 ms':>8} {'errors':>7} "
          f"{'CPU µs':>8} {'RSS MB':>8} {'PSS MB':>8}")
    for name, r in results.items():
        print(f"{name:10} {r['rps']:8.0f} {r['p50_us'] / 1e3:8.1f} {r['p99_us'] / 1e3:8.1f} "
              f"{r['errors']:7d} {r['cpu_us']:8.0f} {r['rss_mb']:8.0f} {r['pss_mb']:8.0f}")
    if "waitress" in results:
        ours_, peer_ = results["gunicorn"], results["waitress"]
        print(f"{'ratio':10} {ours_['rps'] / peer_['rps']:8.2f} "
              f"{ours_['p50_us'] / peer_['p50_us']:8.2f} "
              f"{ours_['p99_us'] / peer_['p99_us']:8.2f} {'':7} "
              f"{ours_['cpu_us'] / peer_['cpu_us']:8.2f} {ours_['rss_mb'] / peer_['rss_mb']:8.2f} "
              f"{ours_['pss_mb'] / peer_['pss_mb']:8.2f}")
        print("ratio = gunicorn / waitress")


if __name__ == "__main__":
    main()
