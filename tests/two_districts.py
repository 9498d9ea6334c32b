"""A small OSM file with administrative boundaries, for the clipping and region tests.

Coordinates are given in units of 0.001° east and north of (118.0° E, 32.0° N). Two districts
(``admin_level=6``) side by side: 东区 (relation 101, 0–10 × 0–10) and 西区 (relation 102,
20–30 × 0–10, ``name:zh`` 西区街道), each holding a village 新村 (``admin_level=8``, relations 103
and 104: the name is shared). Relation 105 has an open ring, relation 106 a member way that is
not in the file and relation 108 a way with a node (1053) that is not in the file. Streets: way 1
inside 东区, way 2 (one-way primary) from 东区 across the gap into 西区, way 3 inside 西区,
way 4 outside both, footway 5 inside 东区; shops 9 (inside 东区) and 10 (outside); an industrial
multipolygon (relation 201, ways 11-13) with one node inside 东区; and a bus route (relation 107)
over way 2.
"""

from pathlib import Path

import osmium
from osmium.osm.mutable import Node, Relation, Way

ORIGIN = (118.0, 32.0)
UNIT = 0.001

#: Node id -> (x, y) in units east and north of ORIGIN.
NODES = {
    1: (2, 5), 2: (8, 5), 3: (15, 5), 4: (22, 5), 5: (28, 5), 6: (15, 15), 7: (18, 15),
    8: (2, 2), 9: (5, 3), 10: (15, 3), 11: (9, 8), 12: (12, 8), 13: (12, 11), 14: (9.5, 11),
    1001: (0, 0), 1002: (10, 0), 1003: (10, 10), 1004: (0, 10),
    1011: (20, 0), 1012: (30, 0), 1013: (30, 10), 1014: (20, 10),
    1021: (2, 6), 1022: (4, 6), 1023: (4, 8), 1024: (2, 8),
    1031: (22, 6), 1032: (24, 6), 1033: (24, 8), 1034: (22, 8),
    1041: (12, 12), 1042: (14, 12), 1043: (14, 14),
    1051: (40, 0), 1052: (42, 0),
}
NODE_TAGS = {9: {"shop": "convenience", "name": "便利店"},
             10: {"shop": "convenience", "name": "小卖部"}}

#: Way id -> (node ids, tags).
WAYS = {
    1: ([1, 2], {"highway": "residential"}),
    2: ([2, 3, 4], {"highway": "primary", "oneway": "yes"}),
    3: ([4, 5], {"highway": "residential"}),
    4: ([6, 7], {"highway": "residential"}),
    5: ([1, 8], {"highway": "footway"}),
    11: ([11, 12], {}),
    12: ([12, 13, 14], {}),
    13: ([14, 11], {}),
    901: ([1001, 1002, 1003, 1004, 1001], {"boundary": "administrative"}),
    902: ([1011, 1012, 1013, 1014, 1011], {"boundary": "administrative"}),
    903: ([1021, 1022, 1023, 1024, 1021], {"boundary": "administrative"}),
    904: ([1031, 1032, 1033, 1034, 1031], {"boundary": "administrative"}),
    905: ([1041, 1042, 1043], {"boundary": "administrative"}),
    906: ([1051, 1052, 1053, 1051], {"boundary": "administrative"}),
}

_BOUNDARY = {"type": "boundary", "boundary": "administrative"}

#: Relation id -> (member ways, tags).
RELATIONS = {
    101: ([901], {**_BOUNDARY, "admin_level": "6", "name": "东区", "name:zh": "东区",
                  "name:en": "East District"}),
    102: ([902], {**_BOUNDARY, "admin_level": "6", "name": "西区", "name:zh": "西区街道",
                  "name:en": "West District"}),
    103: ([903], {**_BOUNDARY, "admin_level": "8", "name": "新村"}),
    104: ([904], {**_BOUNDARY, "admin_level": "8", "name": "新村"}),
    105: ([905], {**_BOUNDARY, "admin_level": "8", "name": "断环"}),
    106: ([999], {**_BOUNDARY, "admin_level": "8", "name": "缺边"}),
    108: ([906], {**_BOUNDARY, "admin_level": "8", "name": "缺点"}),
    107: ([2], {"type": "route", "route": "bus", "name": "1路"}),
    201: ([11, 12, 13], {"type": "multipolygon", "landuse": "industrial"}),
}


def lonlat(x: float, y: float) -> tuple[float, float]:
    """Longitude and latitude of a point given in units east and north of the origin."""
    return round(ORIGIN[0] + x * UNIT, 7), round(ORIGIN[1] + y * UNIT, 7)


def write_two_districts(path: Path) -> Path:
    """Write the file (its suffix sets the format) and return its path."""
    with osmium.SimpleWriter(str(path), overwrite=True) as writer:
        for node_id, (x, y) in NODES.items():
            writer.add_node(Node(id=node_id, location=lonlat(x, y),
                                 tags=NODE_TAGS.get(node_id, {})))
        for way_id, (refs, tags) in WAYS.items():
            writer.add_way(Way(id=way_id, nodes=refs, tags=tags))
        for relation_id, (members, tags) in sorted(RELATIONS.items()):
            writer.add_relation(Relation(id=relation_id, tags=tags,
                                         members=[("w", m, "outer") for m in members]))
    return path


def write_campus(path: Path) -> Path:
    """Write a campus of footways only (a small closed loop and a spur) and return its path."""
    corners = [(0, 0), (3, 0), (3, 3), (0, 3), (5, 5)]
    with osmium.SimpleWriter(str(path), overwrite=True) as writer:
        for node_id, (x, y) in enumerate(corners, start=1):
            writer.add_node(Node(id=node_id, location=lonlat(x, y)))
        writer.add_way(Way(id=1, nodes=[1, 2, 3, 4, 1], tags={"highway": "footway"}))
        writer.add_way(Way(id=2, nodes=[3, 5], tags={"highway": "path"}))
    return path
