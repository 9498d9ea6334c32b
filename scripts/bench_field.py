"""Benchmark: the service field against networkx's multi_source_dijkstra on the same graphs.

Runs on the Jinan truck network (the whole city's drivable roads, 40 stations) and on a synthetic
grid of at least 200,000 nodes, checks that both give the same travel times, and prints a table
with both timings and their ratio. Also times loading a cached network from disk.

    python scripts/bench_field.py [--grid-side 450] [--stations 40] [--repeat 3]
"""

from __future__ import annotations

import argparse
import time

import networkx as nx
import numpy as np

from geo.field import service_field
from geo.network import Network
from geo.regions import get_region, load_networks, network_cache_path


def grid_network(side: int, seed: int = 1) -> Network:
    """A side x side street grid around Jinan with random two-way travel times."""
    rng = np.random.default_rng(seed)
    ids = np.arange(side * side).reshape(side, side)
    pairs = np.concatenate([
        np.column_stack([ids[:, :-1].ravel(), ids[:, 1:].ravel()]),
        np.column_stack([ids[:-1, :].ravel(), ids[1:, :].ravel()]),
    ])
    u = np.concatenate([pairs[:, 0], pairs[:, 1]])
    v = np.concatenate([pairs[:, 1], pairs[:, 0]])
    length = np.tile(rng.uniform(60, 140, len(pairs)), 2)
    t = length / rng.choice([4.0, 8.0, 12.0], len(u))
    lon = 116.9 + 0.001 * (ids.ravel() % side)
    lat = 36.6 + 0.001 * (ids.ravel() // side)
    return Network.from_edges("truck", ids.ravel(), lon, lat, u, v, length, t)


def networkx_reverse_graph(network: Network) -> nx.DiGraph:
    """The network's reverse as a networkx DiGraph weighted by travel time."""
    graph = nx.DiGraph()
    graph.add_nodes_from(range(network.n_nodes))
    graph.add_weighted_edges_from(
        zip(network.edge_v.tolist(), network.edge_u.tolist(), network.time_s.tolist())
    )
    return graph


def best_of(repeat: int, run) -> tuple[float, object]:
    """Smallest wall time of ``repeat`` runs, and the last result."""
    best, result = float("inf"), None
    for _ in range(repeat):
        start = time.perf_counter()
        result = run()
        best = min(best, time.perf_counter() - start)
    return best, result


def compare(name: str, network: Network, stations: np.ndarray, repeat: int) -> dict:
    """Time both ways on one network and check they agree."""
    ours_s, field = best_of(repeat, lambda: service_field(network, stations))
    graph = networkx_reverse_graph(network)
    nx_s, (nx_time, _paths) = best_of(
        1, lambda: nx.multi_source_dijkstra(graph, set(stations.tolist()), weight="weight")
    )
    expected = np.full(network.n_nodes, np.inf)
    expected[list(nx_time)] = list(nx_time.values())
    assert np.allclose(field.time_s, expected), "travel times differ from networkx"
    return {"network": name, "nodes": network.n_nodes, "edges": network.n_edges,
            "stations": len(stations), "yizhan_s": ours_s, "networkx_s": nx_s}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--grid-side", type=int, default=450, help="grid is side x side nodes")
    parser.add_argument("--stations", type=int, default=40)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    rng = np.random.default_rng(0)

    jinan = get_region("jinan")
    load_networks(jinan)  # builds the cache on first use
    load_s, networks = best_of(args.repeat, lambda: load_networks(jinan))
    truck = networks["truck"]
    rows = [compare("jinan truck", truck,
                    rng.choice(truck.n_nodes, args.stations, replace=False), args.repeat)]
    grid = grid_network(args.grid_side)
    rows.append(compare(f"grid {args.grid_side}x{args.grid_side}", grid,
                        rng.choice(grid.n_nodes, args.stations, replace=False), args.repeat))

    print(f"{'network':<14} {'nodes':>8} {'edges':>8} {'stations':>8} "
          f"{'yizhan ms':>10} {'networkx ms':>12} {'ratio':>7}")
    for r in rows:
        print(f"{r['network']:<14} {r['nodes']:>8} {r['edges']:>8} {r['stations']:>8} "
              f"{r['yizhan_s'] * 1e3:>10.1f} {r['networkx_s'] * 1e3:>12.1f} "
              f"{r['networkx_s'] / r['yizhan_s']:>6.1f}x")
    size = sum(network_cache_path(jinan, m).stat().st_size for m in jinan.modes) / 1e6
    print(f"loading Jinan's {len(networks)} cached networks ({size:.1f} MB): "
          f"{load_s * 1e3:.1f} ms")


if __name__ == "__main__":
    main()
