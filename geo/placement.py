"""Putting weights on a network's nodes: points snapped to the nearest node, polygons spread over
the nodes inside them, and lengths along the network's own streets split to their end nodes.
"""

from __future__ import annotations

import numpy as np
import shapely
from pyproj import Transformer
from scipy.spatial import cKDTree

from geo.network import Network

#: Points farther than this from every network node are not placed (metres).
MAX_SNAP_M = 300.0

#: A segment of an edge's shape lies along a road when its middle is this close to it (metres).
ROAD_MATCH_M = 1.0


def street_weights(network: Network, edge_length: np.ndarray) -> np.ndarray:
    """Spread a length on every edge onto its end nodes, each street counted once.

    Each edge gives half its length to each end node; where the reverse edge exists too (a
    two-way street) each direction gives half of that, so the total is the undirected length.

    Args:
        network: the network.
        edge_length: a length per edge (E,), e.g. ``network.length_m``.

    Returns:
        float64 (N,) length per node.
    """
    two_way = network.reverse_edge >= 0
    half = np.asarray(edge_length, dtype=np.float64) * np.where(two_way, 0.25, 0.5)
    return (np.bincount(network.edge_u, half, minlength=network.n_nodes)
            + np.bincount(network.edge_v, half, minlength=network.n_nodes))


def length_along(network: Network, lines: np.ndarray) -> np.ndarray:
    """Return the length of each edge that lies along some of the lines.

    Each segment of an edge's shape counts when its middle lies within :data:`ROAD_MATCH_M` of
    a line; an edge's length is split over its segments in proportion to their projected length.

    Args:
        network: the network.
        lines: lon/lat (multi)line geometries, object (L,).

    Returns:
        float64 (E,) metres of each edge along the lines.
    """
    if len(lines) == 0 or network.n_edges == 0:
        return np.zeros(network.n_edges)
    xy = np.column_stack(network.to_utm(network.geom_lonlat[:, 0], network.geom_lonlat[:, 1]))
    edge_of_vertex = np.repeat(np.arange(network.n_edges), np.diff(network.geom_offsets))
    inside = edge_of_vertex[1:] == edge_of_vertex[:-1]
    starts, ends = xy[:-1][inside], xy[1:][inside]
    segment_edge = edge_of_vertex[1:][inside]
    segment_m = np.hypot(*(ends - starts).T)
    middles = shapely.points((starts + ends) / 2)
    tree = shapely.STRtree(_to_utm(network, lines))
    along = np.unique(tree.query(middles, predicate="dwithin", distance=ROAD_MATCH_M)[0])
    matched = np.bincount(segment_edge[along], segment_m[along], minlength=network.n_edges)
    shape_m = np.bincount(segment_edge, segment_m, minlength=network.n_edges)
    share = np.divide(matched, shape_m, out=np.zeros(network.n_edges), where=shape_m > 0)
    return share * network.length_m


def snap(
    network: Network, tree: cKDTree, lonlat: np.ndarray, weights: np.ndarray
) -> tuple[np.ndarray, float]:
    """Add weights at points to their nearest network nodes within :data:`MAX_SNAP_M`.

    Args:
        network: the network.
        tree: a KD-tree of ``network.node_xy``.
        lonlat: (P, 2) WGS-84 points.
        weights: weight of each point (P,).

    Returns:
        The weight per node (N,) and the weight of the points too far to place.
    """
    if len(lonlat) == 0:
        return np.zeros(network.n_nodes), 0.0
    xy = np.column_stack(network.to_utm(lonlat[:, 0], lonlat[:, 1]))
    _, node = tree.query(xy, distance_upper_bound=MAX_SNAP_M)
    placed = node < network.n_nodes
    return (np.bincount(node[placed], weights[placed], minlength=network.n_nodes),
            float(weights[~placed].sum()))


def spread(
    network: Network, tree: cKDTree, polygons: np.ndarray, weights: np.ndarray
) -> tuple[np.ndarray, float]:
    """Spread each polygon's weight evenly over the network nodes inside it (or on its edge).

    A polygon with no node inside puts its weight at a point on its surface, snapped like a
    point of interest.

    Args:
        network: the network.
        tree: a KD-tree of ``network.node_xy``.
        polygons: lon/lat (multi)polygons, object (A,).
        weights: weight of each polygon (A,).

    Returns:
        The weight per node (N,) and the weight of the polygons too far to place.
    """
    if len(polygons) == 0:
        return np.zeros(network.n_nodes), 0.0
    nodes = shapely.points(network.lon, network.lat)
    node, polygon = shapely.STRtree(polygons).query(nodes, predicate="intersects")
    inside = np.bincount(polygon, minlength=len(polygons))
    share = weights[polygon] / inside[polygon]
    spread = np.bincount(node, share, minlength=network.n_nodes)
    empty = inside == 0
    at_points, lost = snap(
        network, tree, shapely.get_coordinates(shapely.point_on_surface(polygons[empty])),
        weights[empty])
    return spread + at_points, lost


def areas_m2(network: Network, outlines: np.ndarray) -> np.ndarray:
    """Return the area of each outline in the network's UTM zone, 0 where there is none.

    Args:
        network: the network, whose UTM zone is used.
        outlines: lon/lat polygons or None, object (F,).

    Returns:
        float64 (F,) square metres.
    """
    return np.nan_to_num(shapely.area(_to_utm(network, outlines)))


def _to_utm(network: Network, geoms: np.ndarray) -> np.ndarray:
    """Project lon/lat geometries to the network's UTM zone.

    Args:
        network: the network.
        geoms: shapely geometries (or None), object array.

    Returns:
        The projected geometries, object array.
    """
    transformer = Transformer.from_crs(4326, network.utm_crs, always_xy=True)
    return shapely.transform(
        geoms, lambda coords: np.column_stack(transformer.transform(coords[:, 0], coords[:, 1])))

