"""Benchmark: the server's resident memory after every planner view of the demo regions.

Starts ``yizhan serve --workers 1`` (a subprocess on a free loopback port) over a private instance
folder with the demo regions (Nanjing and Jinan, their networks built beforehand so that the
build is not measured) and opens every planner view as a browser would: for each region, each
worker group its networks allow and each of ``--thresholds`` (minutes), the planner page, then
every address the page asks for: each map layer of its map configuration (all of them, as a
planner turning every layer on; a tiled layer's tiles over the region at ``--tile-zoom``), the
street basemap and the chart image. ``--rounds`` opens them all again, so views the caches
dropped are made again.

The worker process's resident memory (``VmRSS`` of ``/proc/PID/status``) is read after every
view and at the end, with its peak (``VmHWM``). The target: at most 1.5 GB at the end. The
peer, in the same run: the same server with every cache budget effectively unbounded
(``YIZHAN_*_CACHE_MB``). ``--env NAME=VALUE`` (repeatable) adds a run with the default budgets
and that environment besides, e.g. ``MALLOC_ARENA_MAX=2``.

    python scripts/bench_memory.py [--rounds 2] [--thresholds 5,10,15] [--env NAME=VALUE]
        [--instance DIR]
"""

from __future__ import annotations

import argparse
import gzip
import html
import http.client
import json
import math
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import urlencode

import brotli
from bench_nearest import free_port, say, serving, wait_ready

from geo.groups import GROUPS

ROOT = Path(__file__).resolve().parent.parent
REGIONS = ("nanjing", "jinan")
TARGET_MB = 1536

#: Budgets of the peer: more than the machine has, so nothing is ever dropped.
UNBOUNDED = {f"YIZHAN_{cache}_CACHE_MB": "1000000000"
             for cache in ("ANALYSIS", "DEMAND", "FIELD", "LAYER")}

#: How long one answer may take, seconds (a view not made before waits for its analysis).
REQUEST_TIMEOUT_S = 600.0


def command() -> list[str]:
    """This checkout's ``yizhan`` command."""
    return [sys.executable, "-c", "from web.cli import main; main()"]


def memory_mb(pid: int) -> dict[str, float]:
    """A process's resident memory now (``rss``) and at its peak (``hwm``), MB."""
    found = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        name, _, value = line.partition(":")
        if name in ("VmRSS", "VmHWM"):
            found["rss" if name == "VmRSS" else "hwm"] = int(value.split()[0]) / 1024
    return found


class Browser:
    """One keep-alive connection that asks as a browser does (compressed answers accepted),
    waiting and asking again when the server says to (429, 503 with ``Retry-After``)."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=REQUEST_TIMEOUT_S)
        self.requests = 0
        self.bytes = 0
        self.waits = 0

    def get(self, path: str) -> bytes:
        """The body of a GET, after any waits the server asks for; an error on other statuses."""
        while True:
            self.conn.request("GET", path, headers={"Accept-Encoding": "gzip, br"})
            response = self.conn.getresponse()
            body = response.read()
            self.requests += 1
            self.bytes += len(body)
            if response.status in (429, 503):
                self.waits += 1
                time.sleep(float(response.getheader("Retry-After", "5")))
                continue
            if response.status == 204:  # an empty tile
                return b""
            if response.status != 200:
                raise RuntimeError(f"GET {path}: HTTP {response.status}")
            if response.getheader("Content-Encoding") == "gzip":
                body = gzip.decompress(body)
            elif response.getheader("Content-Encoding") == "br":
                body = brotli.decompress(body)
            return body


def view_addresses(page: str, tile_zoom: int) -> list[str]:
    """Every address a planner page asks for: its map layers (tiles where a layer is tiled),
    the street basemap and images."""
    config = json.loads(re.search(
        r'<script id="map-config" type="application/json">(.*?)</script>', page, re.S)[1])
    addresses = []
    for layer in config["layers"]:
        addresses += _layer_addresses(layer, config["bounds"], tile_zoom)
    streets = config.get("basemap", {}).get("streetsUrl")
    if streets:
        addresses += _layer_addresses({"url": streets}, config["bounds"], tile_zoom)
    addresses += [html.unescape(src) for src in re.findall(r'<img src="([^"]+)"', page)]
    return addresses


def _layer_addresses(layer: dict, bounds: list[float], zoom: int) -> list[str]:
    """A layer's address, or its tiles over ``bounds`` at ``zoom`` if it names a tile template
    (``{z}``, ``{x}``, ``{y}``)."""
    templates = [v for v in layer.values() if isinstance(v, str) and "{z}" in v]
    if not templates:
        return [layer["url"]] if layer.get("url") else []
    west, south, east, north = bounds
    x0, y1 = _tile(west, south, zoom)
    x1, y0 = _tile(east, north, zoom)
    return [templates[0].replace("{z}", str(zoom)).replace("{x}", str(x)).replace("{y}", str(y))
            for x in range(x0, x1 + 1) for y in range(y0, y1 + 1)]


def _tile(lon: float, lat: float, zoom: int) -> tuple[int, int]:
    """The web-mercator tile holding a point."""
    n = 2 ** zoom
    rad = math.radians(lat)
    return int((lon + 180) / 360 * n), int((1 - math.asinh(math.tan(rad)) / math.pi) / 2 * n)


def worker_pid(master: int) -> int:
    """The one worker process of a ``yizhan serve --workers 1`` master."""
    return int(subprocess.run(["pgrep", "-P", str(master)], capture_output=True, text=True,
                              check=True).stdout.split()[0])


def views(browser: Browser) -> list[dict]:
    """Every planner view's query: each demo region, each group its modes allow."""
    regions = {r["id"]: r for r in json.loads(browser.get("/api/v1/regions"))["regions"]}
    return [{"region": region, "group": group.id}
            for region in REGIONS
            for group in GROUPS.values() if group.mode in regions[region]["modes"]]


def run(label: str, env: dict, args, instance: Path) -> dict:
    """Open every view on a fresh server with ``env``; the memory after each and at the end."""
    port = free_port()
    log = instance / f"serve-{label.split()[0]}.log"
    with serving([*command(), "serve", "--port", str(port), "--workers", "1"], env, log,
                 cwd=ROOT) as server:
        wait_ready(server, port, 600)
        pid = worker_pid(server.pid)
        browser = Browser(port)
        start_mb = memory_mb(pid)["rss"]
        trace = []
        started = time.perf_counter()
        queries = views(browser)
        for round_ in range(args.rounds):
            for query in queries:
                for threshold in args.thresholds:
                    path = f"/planner?{urlencode({**query, 'threshold': threshold})}"
                    page = browser.get(path).decode("utf-8")
                    for address in view_addresses(page, args.tile_zoom):
                        browser.get(address)
                    trace.append(memory_mb(pid)["rss"])
            say(f"{label}: round {round_ + 1}, {len(trace)} views, "
                f"{trace[-1]:.0f} MB resident")
        time.sleep(2)
        end = memory_mb(pid)
    return {"label": label, "start": start_mb, "end": end["rss"], "peak": end["hwm"],
            "trace": trace, "s": time.perf_counter() - started, "requests": browser.requests,
            "mb_sent": browser.bytes / 1e6, "waits": browser.waits}


def prepare(instance: Path, env: dict) -> None:
    """Build the demo regions' networks and stations in the instance folder."""
    for region in REGIONS:
        say(f"building {region}'s networks and demo stations")
        for step in (["build", "--region", region], ["demo", "--region", region]):
            subprocess.run([*command(), *step], env=env, cwd=ROOT, check=True,
                           stdout=subprocess.DEVNULL)


def print_table(results: list[dict], views_per_round: int) -> None:
    """The memory of every run, with ratios to the peer (the unbounded run)."""
    peer = next(r for r in results if r["label"].startswith("unbounded"))
    print()
    print(f"== resident memory of yizhan serve over {len(peer['trace'])} planner views "
          f"({views_per_round} a round), MB ==")
    print(f"{'run':<40} {'start':>7} {'peak':>7} {'end':>7} {'end/peer':>9} {'peak/peer':>10}"
          f" {'s':>6} {'requests':>9} {'MB sent':>8}")
    for r in results:
        print(f"{r['label']:<40} {r['start']:>7.0f} {r['peak']:>7.0f} {r['end']:>7.0f} "
              f"{r['end'] / peer['end']:>9.2f} {r['peak'] / peer['peak']:>10.2f} {r['s']:>6.0f} "
              f"{r['requests']:>9} {r['mb_sent']:>8.1f}")
    print(f"target: at most {TARGET_MB} MB resident at the end")
    print()
    print("resident MB after each view:")
    for r in results:
        print(f"{r['label']:<40} " + " ".join(f"{mb:.0f}" for mb in r["trace"]))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=2, help="times every view is opened")
    parser.add_argument("--thresholds", default="5,10,15",
                        type=lambda text: [float(t) for t in text.split(",")],
                        help="thresholds of every group, minutes")
    parser.add_argument("--tile-zoom", type=int, default=13, help="zoom of tiled layers")
    parser.add_argument("--env", action="append", default=[], metavar="NAME=VALUE",
                        help="a run with the default budgets and this environment besides")
    parser.add_argument("--no-peer", action="store_true", help="skip the unbounded run")
    parser.add_argument("--instance", type=Path, default=None,
                        help="instance folder (default: a temporary folder, removed at the end)")
    args = parser.parse_args()

    made = args.instance is None
    instance = Path(tempfile.mkdtemp(prefix="yizhan-memory-")) if made \
        else args.instance.resolve()
    instance.mkdir(parents=True, exist_ok=True)
    env = {**{k: v for k, v in os.environ.items()
              if not (k.startswith("YIZHAN_") or k.startswith("MALLOC_"))},
           "YIZHAN_INSTANCE": str(instance), "YIZHAN_SECURE_COOKIES": "0",
           "PYTHONPATH": str(ROOT)}
    env.pop("DATABASE_URL", None)
    runs = [("bounded (default budgets)", env)]
    if not args.no_peer:
        runs.append(("unbounded (peer)", {**env, **UNBOUNDED}))
    for extra in args.env:
        name, _, value = extra.partition("=")
        runs.append((f"bounded, {name}={value}", {**env, name: value}))
    try:
        prepare(instance, env)
        results = [run(label, run_env, args, instance) for label, run_env in runs]
    finally:
        if made:
            shutil.rmtree(instance, ignore_errors=True)
    print_table(results, len(results[0]["trace"]) // args.rounds)


if __name__ == "__main__":
    main()
