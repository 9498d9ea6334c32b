"""Synthetic OSM files of a given size, for the build and clip benchmarks.

A *city* is a square street grid: intersections every ``spacing_m`` metres joined by streets of
mixed classes (trunk, primary, secondary, tertiary, residential, some one-way either way, some
closed to heavy vehicles), each block side drawn with ``shape_nodes`` bent shape nodes, diagonal
footways across some blocks, dead-end parking aisles, and named shops, banks, restaurants and
neighbourhoods on some shape nodes. Streets are split into OSM ways of several blocks, so ways meet
mid-way as real ones do. A *province* is several cities joined by rural roads, each city inside an
administrative boundary relation (``admin_level=6``, ``name``, ``name:zh``, ``name:en``) that cuts
through its outer streets, and all of them inside a province boundary (``admin_level=4``).

    python scripts/synthetic_osm.py city 200000 /tmp/city-200k.osm.pbf
    python scripts/synthetic_osm.py province 10000000 /tmp/province-10m.osm.pbf

The files are deterministic for a size and seed.
"""

from __future__ import annotations

import argparse
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import osmium
from osmium.osm.mutable import Node, Relation, Way

#: Metres per degree of latitude.
_M_PER_DEG = 111_320.0

#: Nodes a block side carries between its two intersections.
SHAPE_NODES = 2

#: Blocks per OSM way along a street.
BLOCKS_PER_WAY = 8

#: Shops and offices put on every n-th shape node, with the tags they carry.
_POI_EVERY = 40
_POIS = (
    {"shop": "mobile_phone", "name": "移动营业厅"},
    {"amenity": "bank", "name": "工商银行"},
    {"amenity": "restaurant", "name": "面馆"},
    {"shop": "convenience", "name": "便利店"},
    {"amenity": "post_office", "name": "邮政所"},
)


@dataclass
class _Ids:
    """The next free id of each OSM object type."""

    node: int = 1
    way: int = 1
    relation: int = 1

    def take(self, kind: str, count: int) -> np.ndarray:
        """Reserve ``count`` consecutive ids of a kind and return them."""
        first = getattr(self, kind)
        setattr(self, kind, first + count)
        return np.arange(first, first + count, dtype=np.int64)


def _street_tags(line: int, rng_bit: bool) -> dict[str, str]:
    """Tags of the street on grid line ``line`` (a row or a column)."""
    if line % 40 == 0:
        return {"highway": "trunk", "maxspeed": "80"}
    if line % 20 == 0:
        return {"highway": "primary"}
    if line % 10 == 0:
        return {"highway": "secondary"}
    if line % 5 == 0:
        tags = {"highway": "tertiary"}
        if line % 15 == 0:
            tags["hgv"] = "no"
        return tags
    if line % 7 == 3:
        return {"highway": "residential", "oneway": "yes" if rng_bit else "-1"}
    return {"highway": "residential"}


def city_side(target_nodes: int, shape_nodes: int = SHAPE_NODES) -> int:
    """Intersections per grid side for a city of about ``target_nodes`` OSM nodes."""
    return max(3, round(math.sqrt(target_nodes / (1 + 2 * shape_nodes))))


def write_city(
    writer: osmium.SimpleWriter,
    ids: _Ids,
    side: int,
    origin: tuple[float, float],
    spacing_m: float = 120.0,
    seed: int = 1,
    shape_nodes: int = SHAPE_NODES,
) -> tuple[np.ndarray, list[Way]]:
    """Write one city grid's nodes and return its ways, to be written after every node.

    Args:
        writer: where to write the nodes.
        ids: the id counters, advanced past what is made.
        side: intersections per side.
        origin: lon/lat of the south-west intersection.
        spacing_m: metres between neighbouring intersections.
        seed: random seed of the bends and one-way directions.
        shape_nodes: shape nodes per block side.

    Returns:
        The node ids of the four corner intersections (SW, SE, NE, NW), to join cities, and the
        city's ways.
    """
    rng = np.random.default_rng(seed)
    dlat = spacing_m / _M_PER_DEG
    dlon = dlat / math.cos(math.radians(origin[1]))
    grid = ids.take("node", side * side).reshape(side, side)
    rows, cols = np.divmod(np.arange(side * side), side)
    lon = origin[0] + cols * dlon
    lat = origin[1] + rows * dlat
    for node_id, x, y in zip(grid.ravel().tolist(), lon.tolist(), lat.tolist(), strict=True):
        writer.add_node(Node(id=node_id, location=(x, y)))
    m = shape_nodes
    fraction = (np.arange(m) + 1) / (m + 1)
    # horizontal block sides: row r, between columns c and c + 1; vertical: column c, rows r, r + 1
    horizontal = ids.take("node", side * (side - 1) * m).reshape(side, side - 1, m)
    vertical = ids.take("node", side * (side - 1) * m).reshape(side, side - 1, m)
    bend = rng.uniform(-0.08, 0.08, size=(2, side, side - 1, m))
    r, c, j = np.meshgrid(np.arange(side), np.arange(side - 1), np.arange(m), indexing="ij")
    shapes = [
        (horizontal, origin[0] + (c + fraction[j]) * dlon, origin[1] + (r + bend[0]) * dlat),
        (vertical, origin[0] + (r + bend[1]) * dlon, origin[1] + (c + fraction[j]) * dlat),
    ]
    poi = 0
    for node_ids, x, y in shapes:
        for node_id, lon_, lat_ in zip(node_ids.ravel().tolist(), x.ravel().tolist(),
                                       y.ravel().tolist(), strict=True):
            tags = {}
            if node_id % _POI_EVERY == 0:
                tags = _POIS[poi % len(_POIS)]
                poi += 1
            writer.add_node(Node(id=node_id, location=(lon_, lat_), tags=tags))
    places = ids.take("node", max(1, (side // 10) ** 2))
    for k, node_id in enumerate(places.tolist()):
        py, px = divmod(k, max(1, side // 10))
        writer.add_node(Node(id=node_id, tags={"place": "neighbourhood", "name": f"第{k + 1}社区"},
                             location=(origin[0] + (px * 10 + 5) * dlon,
                                       origin[1] + (py * 10 + 5) * dlat)))
    directions = rng.random(2 * side) < 0.5
    ways = []
    for axis, shape_ids in ((0, horizontal), (1, vertical)):
        for line in range(side):
            tags = _street_tags(line, bool(directions[axis * side + line]))
            for start in range(0, side - 1, BLOCKS_PER_WAY):
                stop = min(start + BLOCKS_PER_WAY, side - 1)
                ends = grid[line, start:stop + 1] if axis == 0 else grid[start:stop + 1, line]
                middle = shape_ids[line, start:stop]
                refs = np.column_stack([ends[:-1], middle]).ravel().tolist() + [int(ends[-1])]
                ways.append(Way(id=int(ids.take("way", 1)[0]), nodes=refs, tags=tags))
    for row in range(0, side - 1, 3):
        for col in range(row % 6, side - 1, 6):
            refs = [int(grid[row, col]), int(grid[row + 1, col + 1])]
            tags = {"highway": "footway"} if (row + col) % 4 else {"highway": "service",
                                                                    "service": "parking_aisle"}
            ways.append(Way(id=int(ids.take("way", 1)[0]), nodes=refs, tags=tags))
    return np.array([grid[0, 0], grid[0, -1], grid[-1, -1], grid[-1, 0]]), ways


def _ring(writer: osmium.SimpleWriter, ids: _Ids, west: float, south: float, east: float,
          north: float, per_side: int = 10) -> tuple[int, list[int]]:
    """Write the nodes of a closed way around a rectangle (``per_side`` nodes per side); return
    the way's id and node references."""
    t = np.linspace(0.0, 1.0, per_side, endpoint=False)
    xs = np.concatenate([west + t * (east - west), np.full(per_side, east),
                         east - t * (east - west), np.full(per_side, west)])
    ys = np.concatenate([np.full(per_side, south), south + t * (north - south),
                         np.full(per_side, north), north - t * (north - south)])
    node_ids = ids.take("node", len(xs))
    for node_id, x, y in zip(node_ids.tolist(), xs.tolist(), ys.tolist(), strict=True):
        writer.add_node(Node(id=node_id, location=(x, y)))
    way_id = int(ids.take("way", 1)[0])
    return way_id, node_ids.tolist() + [int(node_ids[0])]


def write_city_file(path: Path, target_nodes: int, seed: int = 1) -> int:
    """Write one city of about ``target_nodes`` OSM nodes; return the number of nodes written."""
    ids = _Ids()
    with osmium.SimpleWriter(str(path), overwrite=True) as writer:
        _, ways = write_city(writer, ids, city_side(target_nodes), (117.0, 36.6), seed=seed)
        for way in ways:
            writer.add_way(way)
    return ids.node - 1


def write_province_file(path: Path, target_nodes: int, cities: int = 9, seed: int = 1) -> int:
    """Write a province of ``cities`` city grids (a 3-wide layout) of about ``target_nodes`` OSM
    nodes in all, each inside a city boundary relation, joined by rural trunk roads.

    Returns:
        The number of nodes written.
    """
    ids = _Ids()
    side = city_side(target_nodes // cities)
    spacing_m = 120.0
    span_deg = side * spacing_m / _M_PER_DEG
    gap_deg = 0.2
    corners, boxes = [], []
    pending_ways: list[Way] = []
    with osmium.SimpleWriter(str(path), overwrite=True) as writer:
        for k in range(cities):
            row, col = divmod(k, 3)
            lat0 = 34.0 + row * (span_deg + gap_deg)
            lon0 = 115.0 + col * (span_deg + gap_deg) * 1.25
            # a file lists every node before any way, so the cities' ways are held back
            city_corners, ways = write_city(writer, ids, side, (lon0, lat0), spacing_m, seed + k)
            corners.append(city_corners)
            pending_ways.extend(ways)
            inset = span_deg * 0.1
            dlon_scale = 1 / math.cos(math.radians(lat0))
            boxes.append((lon0 + inset * dlon_scale, lat0 + inset,
                          lon0 + (span_deg - inset) * dlon_scale, lat0 + span_deg - inset))
        joins = [(k, k + 1, 1, 0) for k in range(cities) if k % 3 != 2 and k + 1 < cities]
        joins += [(k, k + 3, 3, 0) for k in range(cities - 3)]
        for a, b, corner_a, corner_b in joins:
            pending_ways.append(Way(id=int(ids.take("way", 1)[0]),
                                    nodes=[int(corners[a][corner_a]), int(corners[b][corner_b])],
                                    tags={"highway": "trunk", "maxspeed": "80"}))
        rings = []
        for west, south, east, north in boxes:
            rings.append(_ring(writer, ids, west, south, east, north))
        all_w = min(b[0] for b in boxes) - 0.1
        all_s = min(b[1] for b in boxes) - 0.1
        all_e = max(b[2] for b in boxes) + 0.1
        all_n = max(b[3] for b in boxes) + 0.1
        rings.append(_ring(writer, ids, all_w, all_s, all_e, all_n, per_side=40))
        for way in pending_ways:
            writer.add_way(way)
        for way_id, refs in rings:
            writer.add_way(Way(id=way_id, nodes=refs, tags={"boundary": "administrative"}))
        for k, (way_id, _) in enumerate(rings):
            province = k == len(rings) - 1
            names = ({"name": "山海省", "name:zh": "山海省", "name:en": "Shanhai Province"}
                     if province else {"name": f"第{k + 1}市", "name:zh": f"第{k + 1}市",
                                       "name:en": f"City {k + 1}"})
            writer.add_relation(Relation(
                id=int(ids.take("relation", 1)[0]),
                members=[("w", way_id, "outer")],
                tags={"type": "boundary", "boundary": "administrative",
                      "admin_level": "4" if province else "6", **names},
            ))
    return ids.node - 1


def main() -> None:
    """Write a synthetic city or province file of about the given number of OSM nodes."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("kind", choices=("city", "province"))
    parser.add_argument("nodes", type=int, help="about how many OSM nodes")
    parser.add_argument("path", type=Path, help="the .osm.pbf (or .osm) file to write")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    write = write_city_file if args.kind == "city" else write_province_file
    written = write(args.path, args.nodes, seed=args.seed)
    print(f"{args.path}: {written:,} nodes")


if __name__ == "__main__":
    main()
