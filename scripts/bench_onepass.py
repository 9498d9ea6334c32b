"""Benchmark: one pass over an OSM file against one read per product, and a warm server start.

For each file (the Nanjing Xinjiekou extract and a synthetic city, generated with
``scripts/synthetic_osm.py`` if missing) it times, in wall and CPU seconds:

- *separate reads*: the file read four times, once per product (highway ways, demand sources,
  places, sites), as each reader did on its own;
- *one pass*: all four products from one read (:func:`geo.extract.read_osm`);
- a server start's products: *parsed* (demand sources, places and sites each read from the file,
  as a server did on every start) against *from disk* (read back from the cache written when the
  region was built).

It checks that both ways give the same products and prints a table with the ratios.

    python scripts/bench_onepass.py [--city-nodes 1000000] [--city FILE] [--repeat 1]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from geo.demand_sources import FeatureCollector
from geo.extract import cached_product, read_osm, save_product
from geo.highways import HighwayCollector
from geo.places import PlaceCollector
from geo.settings import data_dir
from geo.sites import SiteCollector

NANJING = data_dir() / "osm" / "nanjing_xinjiekou" / "osm_bbox.osm.pbf"
CACHED = (FeatureCollector, PlaceCollector, SiteCollector)


def timed(repeat: int, run: Callable[[], object]) -> tuple[float, float, object]:
    """Smallest wall and CPU seconds of ``repeat`` runs, and the last result."""
    wall, cpu, result = float("inf"), float("inf"), None
    for _ in range(repeat):
        start_wall, start_cpu = time.perf_counter(), time.process_time()
        result = run()
        wall = min(wall, time.perf_counter() - start_wall)
        cpu = min(cpu, time.process_time() - start_cpu)
    return wall, cpu, result


def fresh(path: Path) -> list:
    """New collectors of the four products."""
    return [HighwayCollector(path)] + [c() for c in CACHED]


def separate_reads(path: Path, collectors: list) -> list:
    """The collectors' products, each from its own read of the file."""
    for collector in collectors:
        read_osm(path, [collector])
    return [c.result() for c in collectors]


def one_pass(path: Path, collectors: list) -> list:
    """The collectors' products from one read of the file."""
    read_osm(path, collectors)
    return [c.result() for c in collectors]


def cached_start(path: Path) -> list:
    """A server start's products read back from the disk cache."""
    return [cached_product(path, kind) for kind in CACHED]


def same_products(one: list, other: list) -> bool:
    """Whether two lists of the four products agree in size (the tests check them in full)."""
    sizes = [len(one[0].way_ids), len(one[1].part), len(one[2]), len(one[3])]
    return sizes == [len(other[0].way_ids), len(other[1].part), len(other[2]), len(other[3])]


def bench(name: str, path: Path, repeat: int) -> list[tuple]:
    """Time the reads of one file; return table rows."""
    sep_wall, sep_cpu, separate = timed(repeat, lambda: separate_reads(path, fresh(path)))
    one_wall, one_cpu, together = timed(repeat, lambda: one_pass(path, fresh(path)))
    assert same_products(separate, together), f"{name}: the one pass differs"
    for kind, product in zip(CACHED, together[1:]):
        save_product(path, kind(), product)
    parse_wall, parse_cpu, _ = timed(
        repeat, lambda: separate_reads(path, [kind() for kind in CACHED]))
    disk_wall, disk_cpu, _ = timed(repeat, lambda: cached_start(path))
    sizes = (f"{len(together[0].way_ids):,} highway pieces, {len(together[1].part):,} demand "
             f"rows, {len(together[2]):,} places, {len(together[3]):,} sites")
    print(f"{name}: {path.stat().st_size / 1e6:.1f} MB, {sizes}", flush=True)
    return [
        (name, "read (4 products)", "4 separate reads", sep_wall, sep_cpu, "one pass",
         one_wall, one_cpu),
        (name, "server start (3 products)", "parsed", parse_wall, parse_cpu, "from disk",
         disk_wall, disk_cpu),
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--city-nodes", type=int, default=1_000_000)
    parser.add_argument("--city", type=Path, help="a synthetic city file to use (made if missing)")
    parser.add_argument("--repeat", type=int, default=1)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="yizhan-onepass-") as tmp:
        os.environ["YIZHAN_INSTANCE"] = str(Path(tmp) / "instance")
        city = args.city or Path(tmp) / f"city-{args.city_nodes}.osm.pbf"
        if not city.exists():
            script = Path(__file__).with_name("synthetic_osm.py")
            subprocess.run([sys.executable, str(script), "city", str(args.city_nodes),
                            str(city)], check=True)
        rows = bench("Nanjing Xinjiekou", NANJING, max(args.repeat, 3))
        rows += bench(f"synthetic city {args.city_nodes:,}", city, args.repeat)
    print()
    print("| file | work | peer | wall s | CPU s | Yizhan | wall s | CPU s | wall ratio "
          "| CPU ratio |")
    print("|---|---|---|---:|---:|---|---:|---:|---:|---:|")
    for name, work, peer, p_wall, p_cpu, ours, o_wall, o_cpu in rows:
        print(f"| {name} | {work} | {peer} | {p_wall:.2f} | {p_cpu:.2f} | {ours} | {o_wall:.2f} "
              f"| {o_cpu:.2f} | {p_wall / o_wall:.1f}x | {p_cpu / o_cpu:.1f}x |")


if __name__ == "__main__":
    main()
