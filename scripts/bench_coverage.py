"""Benchmark: the whole coverage report, part by part, against the osmnx-documented isochrones.

Times :func:`geo.analysis.coverage_analysis` with geometry, end to end and part by part (service
field, per-station reach counts, report numbers, gap areas, service areas, uncovered streets,
H3 cells), in CPU seconds (``time.process_time``, best of ``--repeat``), with the peak memory of
each part, on:

- the Jinan truck network with its demo truck-driver homes (the open ones), trucks group, 15 min,
  through an :class:`~geo.atlas.Atlas` over a temporary instance folder (``--instance`` to keep
  one);
- a synthetic street grid of ``--grid-side``² nodes (202,500 by default) with street-length
  demand and ``--grid-stations`` random open stations, 10 min (``--no-grid`` to skip);
- a city-sized grid of ``--big-grid-side``² nodes (1,000,000 by default), likewise
  (``--no-big-grid`` to skip); its target is the whole report in 10 CPU seconds.

The gap stage has its own peer everywhere: the gap areas built the old way, each gap's uncovered
pieces buffered and unioned by GEOS (``--no-gap-peer`` skips it), with how far the traced areas
are from it.

In the same run it times the peer, the way the osmnx isochrone example does it
(``osmnx-examples/notebooks/13-isolines-isochrones``, ``make_iso_polys``): per station,
``networkx.ego_graph(G, station, radius=threshold, distance="time")`` on a DiGraph of the reversed
network (so times run *to* the station), then the reached nodes buffered and the edges' shapes
buffered, all ``union_all``-ed. Buffers are ``--buffer`` metres for both (the example uses 25 m
and nodes at 0 or 50 m) and holes are kept (``infill=False``), as in our areas. The example looks
both end nodes up in a GeoDataFrame for every edge, to draw a straight line where an edge has no
geometry; every edge here has one, so the peer skips that lookup, which only favours it. On the
grid the peer runs on ``--peer-grid-stations`` stations and its time is extrapolated to all of
them, and labelled so. ``--no-peer`` skips the peer.

With ``--exact`` it also builds Jinan's service areas the exact way, each station's reached
street pieces buffered and unioned by GEOS (what ``service_areas`` did before it traced them),
times that, and prints how far the traced areas are from it.

Peak memory per part is what numpy and Python allocate (tracemalloc, one extra run per part);
GEOS's own allocations are not in it. The process's peak resident memory is printed at the end.

On the big grid the osmnx peer is skipped (building its networkx graph alone takes minutes and
gigabytes); ``--big-peer`` runs it there too.

    python scripts/bench_coverage.py [--repeat 3] [--grid-side 450] [--grid-stations 40]
        [--big-grid-side 1000] [--peer-grid-stations 5] [--buffer 35] [--no-grid]
        [--no-big-grid] [--no-peer] [--big-peer] [--no-gap-peer] [--exact] [--instance DIR]
"""

from __future__ import annotations

import argparse
import gc
import os
import resource
import shutil
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

import networkx as nx
import numpy as np

REGION = "jinan"
GROUP = "trucks"
GRID_MINUTES = 10.0
#: The buffer our service areas use by default (``geo.areas.service_areas``).
BUFFER_M = 35.0
#: The buffer our gap areas use by default (``geo.areas.gap_areas``).
GAP_BUFFER_M = 50.0


def say(message: str) -> None:
    """A progress line on standard error, with the time."""
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def best_of(repeat: int, run) -> tuple[float, object]:
    """Smallest CPU time of ``repeat`` runs (seconds, this process's threads), and the last
    result; CPU rather than wall time, as the machine may be shared."""
    best, result = float("inf"), None
    for _ in range(repeat):
        gc.collect()
        start = time.process_time()
        result = run()
        best = min(best, time.process_time() - start)
    return best, result


def peak_mb(run) -> float:
    """Peak memory allocated through Python's allocators (numpy included) during one run, MB."""
    gc.collect()
    tracemalloc.start()
    try:
        run()
        return tracemalloc.get_traced_memory()[1] / 1e6
    finally:
        tracemalloc.stop()


# --------------------------------------------------------------------------------------------
# the report, part by part


def coverage_parts(network, station_nodes: np.ndarray, demand: np.ndarray, threshold_min: float,
                   h3_res: int) -> dict:
    """The parts of :func:`geo.analysis.coverage_analysis`, each a thunk, in its order."""
    from geo.areas import gap_areas, service_areas, uncovered_streets
    from geo.coverage import (
        cell_statistics,
        coverage_curve,
        coverage_report,
        station_catchments,
        station_reach_counts,
    )
    from geo.field import service_field

    threshold_s = threshold_min * 60.0
    field = service_field(network, station_nodes)
    counts = station_reach_counts(network, station_nodes, threshold_min)

    def report():
        coverage_report(network, field, demand, threshold_min, counts)
        station_catchments(field, demand, threshold_min)
        coverage_curve(field, demand)

    return {
        "field": lambda: service_field(network, station_nodes),
        "reach counts": lambda: station_reach_counts(network, station_nodes, threshold_min),
        "report numbers": report,
        "gaps": lambda: gap_areas(network, field.time_s, threshold_s, demand),
        "service areas": lambda: service_areas(network, station_nodes, threshold_s),
        "uncovered streets": lambda: uncovered_streets(network, field.time_s, threshold_s),
        "cells": lambda: cell_statistics(network, field, demand, threshold_min, h3_res),
    }


def time_parts(parts: dict, repeat: int) -> list[dict]:
    """Best time and peak memory of every part."""
    rows = []
    for name, run in parts.items():
        seconds, _ = best_of(repeat, run)
        rows.append({"part": name, "s": seconds, "mb": peak_mb(run)})
        say(f"  {name}: {seconds:.2f} s CPU")
    return rows


def old_gaps(network, node_time_s: np.ndarray, threshold_s: float, demand: np.ndarray
             ) -> np.ndarray:
    """The gap areas the old way, in rank order (UTM): each gap's uncovered pieces buffered by
    :data:`GAP_BUFFER_M` and unioned by GEOS, one union per gap."""
    import shapely

    from geo.areas import ranked_gaps
    from geo.streets import cut_pieces, utm_lines

    gaps = ranked_gaps(network, node_time_s, threshold_s, demand)
    if gaps is None:
        return np.zeros(0, dtype=object)
    _, parts, part_edge, part_gap, _, demand_of, _, rank = gaps
    order = np.argsort(part_gap, kind="stable")
    pieces = cut_pieces(utm_lines(network, part_edge), part_edge, parts.start, parts.end)[order]
    bounds = np.searchsorted(part_gap[order], np.arange(len(demand_of) + 1))
    unions = np.array([shapely.union_all(shapely.buffer(pieces[first:last], GAP_BUFFER_M))
                       for first, last in zip(bounds[:-1], bounds[1:])], dtype=object)
    return unions[rank]


def gap_peer(case: dict) -> dict:
    """The old gap areas' CPU time, and how the traced ones compare with them."""
    import shapely

    from geo.areas import gap_areas
    from geo.field import service_field

    network, nodes = case["network"], case["nodes"]
    threshold_s = case["threshold_min"] * 60.0
    times = service_field(network, nodes).time_s
    seconds, exact = best_of(1, lambda: old_gaps(network, times, threshold_s, case["demand"]))
    traced = gap_areas(network, times, threshold_s, case["demand"]).to_crs(network.utm_crs)
    traced = np.asarray(traced.geometry.values)
    exact_m2 = shapely.area(exact)
    relative = shapely.area(traced) / exact_m2 - 1
    big = exact_m2 >= np.sort(exact_m2)[-min(20, len(exact_m2))]
    apart = shapely.area(shapely.symmetric_difference(traced[big], exact[big])) / exact_m2[big]
    return {"s": seconds, "relative": relative, "gaps": len(exact),
            "total": shapely.area(traced).sum() / exact_m2.sum() - 1, "apart": apart}


# --------------------------------------------------------------------------------------------
# the peer


def reversed_graph(network) -> nx.DiGraph:
    """The network reversed as a networkx DiGraph: node attributes ``x``, ``y`` (UTM metres),
    edge attributes ``time`` (s) and ``geometry`` (the edge's UTM LineString)."""
    import shapely

    x, y = network.to_utm(network.geom_lonlat[:, 0], network.geom_lonlat[:, 1])
    edge_of_vertex = np.repeat(np.arange(network.n_edges), np.diff(network.geom_offsets))
    lines = shapely.linestrings(np.column_stack([x, y]), indices=edge_of_vertex)
    graph = nx.DiGraph()
    graph.add_nodes_from((i, {"x": float(px), "y": float(py)})
                         for i, (px, py) in enumerate(network.node_xy))
    graph.add_edges_from(
        (int(v), int(u), {"time": float(t), "geometry": line})
        for u, v, t, line in zip(network.edge_u, network.edge_v, network.time_s, lines)
    )
    return graph


def peer_isochrones(graph: nx.DiGraph, station_nodes: np.ndarray, threshold_s: float,
                    buffer_m: float) -> dict:
    """Per station, the osmnx example's ``ego_graph`` and buffered-union polygon; times both."""
    import geopandas as gpd
    from shapely.geometry import Point

    search_s = polygon_s = 0.0
    areas = []
    for station in station_nodes.tolist():
        start = time.process_time()
        subgraph = nx.ego_graph(graph, station, radius=threshold_s, distance="time")
        search_s += time.process_time() - start

        start = time.process_time()
        node_points = [Point((data["x"], data["y"])) for node, data in subgraph.nodes(data=True)]
        nodes_gdf = gpd.GeoDataFrame({"id": list(subgraph.nodes)}, geometry=node_points)
        nodes_gdf = nodes_gdf.set_index("id")
        edge_lines = [data["geometry"] for _, _, data in subgraph.edges(data=True)]
        n = nodes_gdf.buffer(buffer_m).geometry
        e = gpd.GeoSeries(edge_lines).buffer(buffer_m).geometry
        all_gs = list(n) + list(e)
        new_iso = gpd.GeoSeries(all_gs).union_all()
        polygon_s += time.process_time() - start
        areas.append(new_iso.area)
    return {"search_s": search_s, "polygon_s": polygon_s, "area_m2": np.array(areas),
            "stations": len(station_nodes)}


# --------------------------------------------------------------------------------------------
# the two networks


def jinan_case(args) -> dict:
    """Jinan's truck network, its open demo stations and the trucks' demand, via an Atlas."""
    from geo.analysis import coverage_analysis, h3_resolution
    from geo.atlas import Atlas
    from geo.database import Database
    from geo.groups import worker_group
    from geo.store import StationStore

    instance = Path(os.environ["YIZHAN_INSTANCE"])
    atlas = Atlas(StationStore(Database(f"sqlite:///{instance}/yizhan.db")))
    atlas.seed_demo_stations(REGION)
    index = atlas.index(REGION)
    group = worker_group(GROUP)
    network = index.network(group.mode)
    demand_s, demand = best_of(1, lambda: atlas.demand(REGION, GROUP))
    mask = index.matching()
    nodes = index.station_nodes(group.mode)[mask]
    cold_s, analysis = best_of(1, lambda: coverage_analysis(index, group, demand))
    warm_s, _ = best_of(args.repeat, lambda: coverage_analysis(index, group, demand))
    return {
        "name": f"Jinan truck, {group.threshold_min:g} min",
        "network": network, "nodes": nodes, "threshold_min": group.threshold_min,
        "demand": demand.weights, "h3": h3_resolution(index.bounds),
        "extra": [("demand layer (once per region, then cached; one run)", demand_s, None),
                  ("coverage_analysis, first call (one run)", cold_s, None),
                  ("coverage_analysis, again (field cached in the index)", warm_s, None)],
        "areas": analysis.service_areas,
        "peer_stations": nodes,
        "exact": True,
    }


def grid_case(args, side: int) -> dict:
    """A synthetic ``side`` x ``side`` grid with street-length demand and random open stations,
    via a RegionIndex."""
    from bench_field import grid_network

    from geo.analysis import coverage_analysis, h3_resolution
    from geo.demand import DemandLayer
    from geo.groups import worker_group
    from geo.index import RegionIndex
    from geo.stations import Station

    network = grid_network(side)
    # The street rule of geo.demand: each street's length, half to each end node.
    two_way = network.edge_ids(network.edge_v, network.edge_u) >= 0
    half = network.length_m * np.where(two_way, 0.25, 0.5)
    weights = (np.bincount(network.edge_u, half, minlength=network.n_nodes)
               + np.bincount(network.edge_v, half, minlength=network.n_nodes))
    demand = DemandLayer(group=GROUP, weights=weights, unit="m of street",
                         parts={"streets": float(weights.sum())}, unplaced=0.0,
                         description="street length, half to each end node")
    rng = np.random.default_rng(args.seed)
    chosen = rng.choice(network.n_nodes, args.grid_stations, replace=False)
    stations = [Station(name=f"grid #{i}", region="grid", kind="truck_driver_home",
                        lon=float(network.lon[n]), lat=float(network.lat[n]))
                for i, n in enumerate(chosen, start=1)]
    index = RegionIndex("grid", {"truck": network}, stations)
    group = worker_group(GROUP)
    cold_s, analysis = best_of(1, lambda: coverage_analysis(index, group, demand, GRID_MINUTES))
    warm_s, _ = best_of(args.repeat,
                        lambda: coverage_analysis(index, group, demand, GRID_MINUTES))
    nodes = index.station_nodes("truck")[index.matching()]
    return {
        "name": f"grid {side}x{side}, {GRID_MINUTES:g} min",
        "network": network, "nodes": nodes, "threshold_min": GRID_MINUTES,
        "demand": weights, "h3": h3_resolution(index.bounds),
        "extra": [("coverage_analysis, first call (one run)", cold_s, None),
                  ("coverage_analysis, again (field cached in the index)", warm_s, None)],
        "areas": analysis.service_areas,
        "peer_stations": rng.choice(nodes, min(args.peer_grid_stations, len(nodes)),
                                    replace=False),
    }


def exact_agreement(case: dict) -> dict:
    """The exact service areas (reached pieces buffered, GEOS union, per station), their time,
    and how the traced areas of the case compare with them."""
    import shapely

    from geo.field import service_field
    from geo.streets import edge_pieces

    network, nodes = case["network"], case["nodes"]
    threshold_s = case["threshold_min"] * 60.0
    start = time.process_time()
    exact = np.array([
        shapely.union_all(shapely.buffer(edge_pieces(
            network, service_field(network, np.array([node])).time_s, threshold_s,
            covered=True), BUFFER_M))
        for node in nodes.tolist()], dtype=object)
    seconds = time.process_time() - start
    traced = np.asarray(case["areas"].to_crs(network.utm_crs).geometry.values)
    exact_m2 = shapely.area(exact)
    relative = shapely.area(traced) / exact_m2 - 1
    apart = shapely.area(shapely.symmetric_difference(traced, exact)) / exact_m2
    return {"s": seconds, "relative": relative, "apart": apart}


def run_case(case: dict, args) -> dict:
    """Time the parts and the peer on one case; print its table."""
    network, nodes = case["network"], case["nodes"]
    say(f"{case['name']}: {network.n_nodes} nodes, {network.n_edges} edges, "
        f"{len(nodes)} stations; timing the parts")
    rows = time_parts(coverage_parts(network, nodes, case["demand"], case["threshold_min"],
                                     case["h3"]), args.repeat)
    out = {"rows": rows, "case": case, "peer": None, "exact": None, "gap_peer": None,
           "repeat": args.repeat}
    if args.exact and case.get("exact"):
        say("exact service areas (buffer union per station)")
        out["exact"] = exact_agreement(case)
    if not args.no_gap_peer:
        say("gap areas the old way (buffer union per gap)")
        out["gap_peer"] = gap_peer(case)
    if not args.no_peer and (args.big_peer or not case.get("big")):
        say("building the networkx graph for the peer")
        build_s, graph = best_of(1, lambda: reversed_graph(network))
        peer_nodes = case["peer_stations"]
        say(f"peer on {len(peer_nodes)} stations")
        peer = peer_isochrones(graph, peer_nodes, case["threshold_min"] * 60.0, args.buffer)
        peer["build_s"] = build_s
        ours = case["areas"].set_index(np.arange(len(nodes)))
        position = {n: i for i, n in enumerate(nodes.tolist())}
        ours_m2 = ours.area_m2.to_numpy()[[position[n] for n in peer_nodes.tolist()]]
        peer["area_ratio"] = float(peer["area_m2"].sum() / ours_m2.sum())
        out["peer"] = peer
    print_case(out, len(nodes))
    return out


def print_case(out: dict, stations: int) -> None:
    """The table of one case."""
    case, rows, peer = out["case"], out["rows"], out["peer"]
    network = case["network"]
    print()
    print(f"== {case['name']}: {network.n_nodes:,} nodes, {network.n_edges:,} edges, "
          f"{stations} stations ==")
    print(f"{'part':<52} {'CPU s':>10} {'peak MB':>9}  (best of {out['repeat']})")
    for r in rows:
        print(f"{r['part']:<52} {r['s']:>10.3f} {r['mb']:>9.1f}")
    total = sum(r["s"] for r in rows)
    print(f"{'sum of the parts':<52} {total:>10.3f}")
    for label, seconds, _ in case["extra"]:
        print(f"{label:<52} {seconds:>10.3f}")
    gaps = out["gap_peer"]
    if gaps is not None:
        ours = {r["part"]: r["s"] for r in rows}["gaps"]
        print(f"{'gaps the old way (buffer union per gap; one run)':<52} {gaps['s']:>10.3f}")
        print(f"ratio, old gaps / traced gaps: {gaps['s'] / ours:.1f}x; {gaps['gaps']} gaps, "
              f"traced area against the union's: {gaps['total']:+.2%} in all, per gap "
              f"{np.median(gaps['relative']):+.2%} median (from {gaps['relative'].min():+.2%} "
              f"to {gaps['relative'].max():+.2%}); symmetric difference of the "
              f"{len(gaps['apart'])} largest {np.mean(gaps['apart']):.2%} on average, "
              f"{gaps['apart'].max():.2%} at most")
    exact = out["exact"]
    if exact is not None:
        print(f"{'exact service areas (buffer union, the old way)':<52} {exact['s']:>10.3f}")
        print(f"traced against exact, per station: area {np.mean(exact['relative']):+.2%} "
              f"on average (from {exact['relative'].min():+.2%} to "
              f"{exact['relative'].max():+.2%}); symmetric difference "
              f"{np.mean(exact['apart']):.2%} of the area on average, "
              f"{exact['apart'].max():.2%} at most")
    if peer is None:
        return
    scale = stations / peer["stations"]
    note = "" if scale == 1 else f" ({peer['stations']} stations, x{scale:g} extrapolated)"
    search, polygons = peer["search_s"] * scale, peer["polygon_s"] * scale
    ours = {r["part"]: r["s"] for r in rows}
    print(f"peer (osmnx example), {stations} stations{note}:")
    print(f"{'  networkx graph build (once, not counted)':<52} {peer['build_s']:>10.3f}")
    print(f"{'  ego_graph per station':<52} {search:>10.3f}")
    print(f"{'  polygons: nodes + edges buffered, union_all':<52} {polygons:>10.3f}")
    print(f"{'  peer total':<52} {(search + polygons):>10.3f}")
    print(f"ratios, peer / ours: reach {search / ours['reach counts']:.0f}x, "
          f"service areas {(search + polygons) / ours['service areas']:.0f}x "
          f"(peer search + polygons against our service_areas, which does its own reach); "
          f"peer area / ours {peer['area_ratio']:.3f} on the stations it ran")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3, help="runs per timing (best is kept)")
    parser.add_argument("--grid-side", type=int, default=450, help="grid is side x side nodes")
    parser.add_argument("--big-grid-side", type=int, default=1000,
                        help="the city-sized grid is side x side nodes")
    parser.add_argument("--grid-stations", type=int, default=40)
    parser.add_argument("--peer-grid-stations", type=int, default=5,
                        help="stations the peer runs on the grid (extrapolated to all)")
    parser.add_argument("--buffer", type=float, default=BUFFER_M,
                        help="peer buffer for edges and nodes, metres")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--no-grid", action="store_true", help="skip the synthetic grid")
    parser.add_argument("--no-big-grid", action="store_true", help="skip the city-sized grid")
    parser.add_argument("--no-peer", action="store_true", help="skip the networkx/osmnx peer")
    parser.add_argument("--big-peer", action="store_true",
                        help="run the networkx/osmnx peer on the city-sized grid too")
    parser.add_argument("--no-gap-peer", action="store_true",
                        help="skip the gap areas built the old way")
    parser.add_argument("--exact", action="store_true",
                        help="also build Jinan's exact buffer-union areas and compare")
    parser.add_argument("--instance", type=Path, default=None,
                        help="instance folder (default: a temporary folder, removed at the end)")
    args = parser.parse_args()

    made = args.instance is None
    instance = Path(tempfile.mkdtemp(prefix="yizhan-bench-")) if made else args.instance.resolve()
    instance.mkdir(parents=True, exist_ok=True)
    os.environ["YIZHAN_INSTANCE"] = str(instance)  # geo.regions caches networks here
    started = time.perf_counter()
    try:
        say(f"instance {instance}; building/loading {REGION} networks and demo stations")
        run_case(jinan_case(args), args)
        if not args.no_grid:
            say(f"building the {args.grid_side}x{args.grid_side} grid")
            run_case(grid_case(args, args.grid_side), args)
        if not args.no_big_grid:
            say(f"building the {args.big_grid_side}x{args.big_grid_side} grid")
            run_case(grid_case(args, args.big_grid_side) | {"big": True}, args)
    finally:
        if made:
            shutil.rmtree(instance, ignore_errors=True)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e3
    print(f"\nprocess peak resident memory {peak:.0f} MB; "
          f"whole run {time.perf_counter() - started:.0f} s")


if __name__ == "__main__":
    main()
