"""Benchmark: cutting one city out of a province file of over 10 million OSM nodes.

Generates the province with ``scripts/synthetic_osm.py province`` (nine cities in boundary
relations; about a minute, kept in ``--cache``), then runs each step in a child process of its
own and reports its CPU seconds (user + system), wall seconds and peak resident memory:

- ``yizhan region boundaries FILE``: every boundary relation with its geometry and area;
- Yizhan's clip by ``--boundary``: finding the boundary relation by name and assembling it, then
  ``osmium extract --strategy smart`` (:func:`geo.clip.find_boundary`, :func:`geo.clip.clip_file`;
  what ``yizhan region add --boundary`` does before building the networks);

and in the same run the peers, given the city's polygon as a GeoJSON file:

- ``osmium extract --strategy smart`` alone (what Yizhan's clip adds to it is finding the
  boundary);
- the same clip written with pyosmium (every node's location tested against the polygon in
  numpy batches, then ways and relations that reach inside found, completed with their nodes
  and written, with C++ filters of an :class:`osmium.IdTracker`), which is what
  :mod:`geo.clip` would be without osmium-tool. Its output is checked against Yizhan's.

The targets are the clip in at most 2 minutes and 1 GB.

    python scripts/bench_clip.py [--nodes 10200000] [--city "City 5"] [--cache DIR]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

#: Nodes tested against the polygon at a time by the pyosmium peer.
BATCH = 500_000


def say(message: str) -> None:
    """A progress line on standard error, with the time."""
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def measure(command: list[str]) -> dict[str, float]:
    """Run a command in a child process; return its CPU and wall seconds and peak memory (MB,
    the largest of the child and the processes it waited for)."""
    start = time.perf_counter()
    child = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.DEVNULL)
    _, status, usage = os.wait4(child.pid, 0)
    wall = time.perf_counter() - start
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"failed: {' '.join(command)}")
    return {"cpu": usage.ru_utime + usage.ru_stime, "wall": wall,
            "rss_mb": usage.ru_maxrss / 1024}


def python(code: str, *args: str) -> list[str]:
    """A command running Python code with arguments in ``sys.argv[1:]``."""
    return [sys.executable, "-c", code, *args]


def pyosmium_clip(source: str, polygon_file: str, target: str) -> None:
    """The peer: the clip of :func:`geo.clip.clip_file` (smart strategy) with pyosmium only."""
    import numpy as np
    import osmium
    import shapely

    area = shapely.geometry.shape(json.loads(Path(polygon_file).read_text())["geometry"])
    shapely.prepare(area)
    kept = osmium.IdTracker()
    ids, lons, lats = [], [], []

    def flush() -> None:
        inside = shapely.intersects_xy(area, np.array(lons), np.array(lats))
        for node_id in np.array(ids, dtype=np.int64)[inside].tolist():
            kept.add_node(node_id)
        ids.clear(), lons.clear(), lats.clear()

    for node in osmium.FileProcessor(source, osmium.osm.NODE):
        ids.append(node.id)
        lons.append(node.location.lon)
        lats.append(node.location.lat)
        if len(ids) == BATCH:
            flush()
    flush()
    relations = []
    for obj in osmium.FileProcessor(source, osmium.osm.WAY | osmium.osm.RELATION
                                    ).with_filter(kept.contains_filter()):
        if obj.is_way():
            kept.add_way(obj.id)
        else:
            relations.append(obj.id)
            if obj.tags.get("type") == "multipolygon":
                for member in obj.members:
                    if member.type == "w":
                        kept.add_way(member.ref)
    kept.complete_backward_references(source)
    for relation in relations:
        kept.add_relation(relation)
    with osmium.SimpleWriter(target, overwrite=True) as writer:
        for obj in osmium.FileProcessor(source).with_filter(kept.id_filter()):
            writer.add(obj)


def counts(path: Path) -> tuple[int, int, int]:
    """Nodes, ways and relations of an OSM file."""
    info = json.loads(subprocess.run(["osmium", "fileinfo", "-e", "-j", str(path)],
                                     capture_output=True, text=True, check=True).stdout)
    found = info["data"]["count"]
    return found["nodes"], found["ways"], found["relations"]


def main() -> None:
    """Generate the province if needed, time every step and print the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--nodes", type=int, default=10_200_000,
                        help="about how many OSM nodes the province has")
    parser.add_argument("--city", default="City 5", help="the boundary to cut out")
    parser.add_argument("--cache", type=Path,
                        default=Path(tempfile.gettempdir()) / "yizhan-bench-clip")
    parser.add_argument("--pyosmium-clip", nargs=3, metavar=("SOURCE", "POLYGON", "TARGET"),
                        help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.pyosmium_clip:
        pyosmium_clip(*args.pyosmium_clip)
        return
    args.cache.mkdir(parents=True, exist_ok=True)
    province = args.cache / f"province-{args.nodes}.osm.pbf"
    if not province.exists():
        say(f"generating {province} (about a minute)")
        subprocess.run([sys.executable, "scripts/synthetic_osm.py", "province",
                        str(args.nodes), str(province)], cwd=ROOT, check=True)
    nodes, ways, relations = counts(province)
    print(f"{province.name}: {nodes:,} nodes, {ways:,} ways, {relations:,} relations, "
          f"{province.stat().st_size / 1e6:.0f} MB")
    out = Path(tempfile.mkdtemp(prefix="bench-clip-"))
    polygon = out / "city.geojson"
    subprocess.run(python(
        "import json, sys; from pathlib import Path; from shapely.geometry import mapping; "
        "from geo.clip import find_boundary; "
        "g = find_boundary(Path(sys.argv[1]), sys.argv[2]).geometry; "
        "Path(sys.argv[3]).write_text(json.dumps({'type': 'Feature', 'properties': {}, "
        "'geometry': mapping(g)}))", str(province), args.city, str(polygon)),
        cwd=ROOT, check=True)
    steps = {
        "yizhan region boundaries": python("from web.cli import main; main()", "region",
                                           "boundaries", str(province)),
        f"yizhan clip --boundary {args.city}": python(
            "import sys; from pathlib import Path; "
            "from geo.clip import clip_file, find_boundary; "
            "p = Path(sys.argv[1]); "
            "clip_file(p, find_boundary(p, sys.argv[2]).geometry, Path(sys.argv[3]))",
            str(province), args.city, str(out / "yizhan.osm.pbf")),
        "peer: osmium extract -s smart -p": [
            "osmium", "extract", "--strategy", "smart", "--polygon", str(polygon),
            "--overwrite", "--no-progress", "-o", str(out / "osmium.osm.pbf"), str(province)],
        "peer: pyosmium clip -p": [sys.executable, "scripts/bench_clip.py", "--pyosmium-clip",
                                   str(province), str(polygon), str(out / "pyosmium.osm.pbf")],
    }
    results = {}
    for name, command in steps.items():
        say(name)
        results[name] = measure(command)
    kept = {name: counts(out / f"{name}.osm.pbf") for name in ("yizhan", "osmium", "pyosmium")}
    print(f"kept of {args.city}: " + "; ".join(f"{name} {n:,} nodes, {w:,} ways, {r} relations"
                                              for name, (n, w, r) in kept.items()))
    if len(set(kept.values())) != 1:
        print("the clips differ")
    ours = results[f"yizhan clip --boundary {args.city}"]
    print(f"{'step':<36} {'CPU s':>7} {'wall s':>7} {'peak MB':>8} {'CPU ×':>6} {'wall ×':>6}")
    for name, r in results.items():
        ratio = (f"{r['cpu'] / ours['cpu']:6.2f} {r['wall'] / ours['wall']:6.2f}"
                 if name.startswith("peer") else "")
        print(f"{name:<36} {r['cpu']:7.1f} {r['wall']:7.1f} {r['rss_mb']:8.0f} {ratio}")
    print("ratios: the peer's time over Yizhan's clip; targets: clip ≤ 120 s, ≤ 1,024 MB")


if __name__ == "__main__":
    main()
