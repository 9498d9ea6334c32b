"""Benchmark: building the three mode networks of a city, against pyrosm and osmnx.

Generates synthetic city grids of about 200 k, 1 M and 3 M OSM nodes with
``scripts/synthetic_osm.py`` (cached in ``--cache``, a temporary folder by default) and builds
the walk, e-bike and truck networks of each with:

- **yizhan**: :func:`geo.build.build_networks` (one read, the array build);
- **pyrosm**: ``pyrosm.OSM(file).get_network("walking" | "cycling" | "driving")``, the three
  networks as edge tables (pyrosm builds no graph unless asked);
- **osmnx**: the build Yizhan had before, osmnx's ``graph_from_xml`` + ``simplify_graph`` +
  ``largest_component`` per mode (``tests/osmnx_build.py``), only on files of at most
  ``--osmnx-max-nodes`` nodes (200 k by default).

Each build runs in its own child process; the table gives the child's CPU seconds (user + system)
and peak resident memory (``ru_maxrss``), and their ratios to Yizhan's. A child still running
``--cap`` seconds after it started is stopped and shown as over the cap. The target: the 3 M-node
file builds in at most 60 s of CPU and 2 GB, ahead of pyrosm.

    python scripts/bench_build.py [--sizes 200000,1000000,3000000] [--cache DIR]
        [--osmnx-max-nodes 200000] [--cap 1800] [--builders yizhan,pyrosm,osmnx]
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SYNTHETIC = ROOT / "scripts" / "synthetic_osm.py"
BUILDERS = ("yizhan", "pyrosm", "osmnx")
PYROSM_NETWORKS = {"walk": "walking", "ebike": "cycling", "truck": "driving"}


def say(message: str) -> None:
    """A progress line on standard error, with the time."""
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def city_file(cache: Path, nodes: int) -> Path:
    """The synthetic city of about ``nodes`` OSM nodes, generated once into the cache."""
    path = cache / f"city-{nodes}.osm.pbf"
    if not path.exists():
        say(f"generating {path.name}")
        partial = path.with_name(path.name + ".partial.osm.pbf")
        subprocess.run([sys.executable, str(SYNTHETIC), "city", str(nodes), str(partial)],
                       check=True, stdout=subprocess.DEVNULL)
        partial.replace(path)
    return path


def build(builder: str, path: Path) -> dict:
    """Build the three networks of a file with one builder (in the child process); return
    their sizes."""
    sys.path.insert(0, str(ROOT))
    if builder == "yizhan":
        from geo.build import build_networks

        return {mode: [net.n_nodes, net.n_edges] for mode, net in build_networks(path).items()}
    if builder == "pyrosm":
        import pyrosm

        osm = pyrosm.OSM(str(path))
        return {mode: [None, len(osm.get_network(network_type=kind))]
                for mode, kind in PYROSM_NETWORKS.items()}
    from geo.highways import read_highway_ways
    from geo.modes import MODES
    from tests.osmnx_build import osmnx_mode_network

    ways = read_highway_ways(path)
    return {mode: [net.n_nodes, net.n_edges]
            for mode in MODES for net in [osmnx_mode_network(ways, mode)]}


def measure(builder: str, path: Path, cap_s: float) -> dict:
    """Run one build in a child process; its CPU seconds, peak memory and network sizes."""
    child = subprocess.Popen(
        [sys.executable, __file__, "--child", builder, str(path)],
        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, start_new_session=True,
    )
    deadline = time.monotonic() + cap_s
    while True:
        pid, status, usage = os.wait4(child.pid, os.WNOHANG)
        if pid:
            break
        if time.monotonic() > deadline:
            os.killpg(child.pid, signal.SIGKILL)
            _, _, usage = os.wait4(child.pid, 0)
            return {"cpu_s": None, "peak_mb": usage.ru_maxrss / 1024, "capped": True}
        time.sleep(0.2)
    sizes = json.loads(child.stdout.read() or "null") if status == 0 else None
    return {
        "cpu_s": usage.ru_utime + usage.ru_stime,
        "peak_mb": usage.ru_maxrss / 1024,
        "sizes": sizes,
        "failed": status != 0,
    }


def table(rows: list[dict]) -> str:
    """The results with ratios to Yizhan's build of the same file."""
    lines = [f"{'OSM nodes':>10} {'builder':<8} {'CPU s':>8} {'peak MB':>8} {'CPU ×':>7} "
             f"{'mem ×':>6}  networks (nodes/edges: walk, ebike, truck)"]
    ours = {r["nodes"]: r for r in rows if r["builder"] == "yizhan"}
    for r in rows:
        base = ours.get(r["nodes"])
        if r.get("capped"):
            cpu, ratio = f"> {r['cap']:.0f}", f"> {r['cap'] / base['cpu_s']:.0f}" if base else ""
        elif r.get("failed"):
            cpu, ratio = "failed", ""
        else:
            cpu = f"{r['cpu_s']:.1f}"
            ratio = f"{r['cpu_s'] / base['cpu_s']:.1f}" if base and base["cpu_s"] else ""
        mem = f"{r['peak_mb'] / base['peak_mb']:.1f}" if base else ""
        sizes = ", ".join("/".join("-" if x is None else str(x) for x in size)
                          for size in (r.get("sizes") or {}).values())
        lines.append(f"{r['nodes']:>10,} {r['builder']:<8} {cpu:>8} {r['peak_mb']:>8.0f} "
                     f"{ratio:>7} {mem:>6}  {sizes}")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="200000,1000000,3000000",
                        help="OSM nodes of the synthetic cities, comma-separated")
    parser.add_argument("--cache", type=Path,
                        default=Path(tempfile.gettempdir()) / "yizhan-bench-build")
    parser.add_argument("--osmnx-max-nodes", type=int, default=200_000)
    parser.add_argument("--cap", type=float, default=1800.0,
                        help="seconds (wall) after which a build is stopped")
    parser.add_argument("--builders", default=",".join(BUILDERS))
    parser.add_argument("--child", nargs=2, metavar=("BUILDER", "FILE"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(build(args.child[0], Path(args.child[1]))))
        return
    args.cache.mkdir(parents=True, exist_ok=True)
    builders = [b for b in args.builders.split(",") if b]
    rows = []
    for nodes in (int(n) for n in args.sizes.split(",")):
        path = city_file(args.cache, nodes)
        for builder in builders:
            if builder == "osmnx" and nodes > args.osmnx_max_nodes:
                continue
            say(f"{builder} on {path.name}")
            result = measure(builder, path, args.cap)
            rows.append({"nodes": nodes, "builder": builder, "cap": args.cap, **result})
            say(f"  {result}")
    print(table(rows))


if __name__ == "__main__":
    main()
