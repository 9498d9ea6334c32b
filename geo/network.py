"""A street network for one travel mode, held as compact arrays.

A :class:`Network` is a directed graph in CSR form: the out-edges of node ``i`` are the positions
``indptr[i]:indptr[i + 1]`` of the edge arrays. There is at most one edge per ordered node pair
(the fastest of any parallel edges) and no self-loops, so a CSR position *is* an edge id and the
matrices handed to :mod:`scipy.sparse.csgraph` line up with the edge arrays.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

import numpy as np
from numpy.typing import ArrayLike
from pyproj import CRS, Transformer
from scipy.sparse import csr_matrix
from scipy.sparse.csgraph import connected_components

from geo.settings import open_private, private_folder

#: Smallest edge weight handed to csgraph; an explicit zero in a sparse matrix is not an edge.
MIN_WEIGHT = 1e-6

_ARRAYS = (
    "node_ids", "lon", "lat", "indptr", "edge_v", "length_m", "time_s",
    "geom_offsets", "geom_lonlat",
)


@dataclass(eq=False)
class Network:
    """One mode's street network as arrays.

    Attributes:
        mode: travel mode id (``walk``, ``ebike`` or ``truck``).
        node_ids: source ids of the nodes (OSM node ids, or the source file's ids), int64 (N,).
        lon, lat: WGS-84 node coordinates, float64 (N,).
        indptr: CSR row pointer, int64 (N + 1,); out-edges of node i are ``indptr[i]:indptr[i+1]``.
        edge_v: head node of every edge, int32 (E,).
        length_m: edge length in metres, float64 (E,).
        time_s: edge travel time in seconds, float64 (E,).
        geom_offsets: int64 (E + 1,); the shape of edge e is ``geom_lonlat[geom_offsets[e]:
            geom_offsets[e + 1]]``, from tail to head.
        geom_lonlat: float64 (G, 2) lon/lat vertices of all edge shapes.
        dropped_nodes: how many nodes the build dropped outside the largest strongly connected part.
        dropped_km: km of the mode's streets the build dropped with them, by ``highway`` class
            (empty where the source has no classes to report).
    """

    mode: str
    node_ids: np.ndarray
    lon: np.ndarray
    lat: np.ndarray
    indptr: np.ndarray
    edge_v: np.ndarray
    length_m: np.ndarray
    time_s: np.ndarray
    geom_offsets: np.ndarray
    geom_lonlat: np.ndarray
    dropped_nodes: int = 0
    dropped_km: dict[str, float] = field(default_factory=dict)
    _cache: dict = field(default_factory=dict, repr=False)

    @classmethod
    def from_edges(
        cls,
        mode: str,
        node_ids: np.ndarray,
        lon: np.ndarray,
        lat: np.ndarray,
        edge_u: np.ndarray,
        edge_v: np.ndarray,
        length_m: np.ndarray,
        time_s: np.ndarray,
        geoms: list[np.ndarray] | None = None,
        dropped_nodes: int = 0,
        *,
        shapes: tuple[np.ndarray, np.ndarray] | None = None,
        dropped_km: Mapping[str, float] | None = None,
    ) -> Network:
        """Build a network from an unordered edge list, losing no street.

        A CSR graph holds one edge per ordered node pair, so every parallel edge but the fastest,
        and every loop, is split in two at the middle of its shape by a new node (id < 0). The
        two directions of one street share that node. Loops without a shape are dropped.

        Args:
            mode: travel mode id.
            node_ids, lon, lat: per-node arrays (N,).
            edge_u, edge_v: tail and head node indices (E,).
            length_m, time_s: per-edge length (m) and travel time (s).
            geoms: per-edge (k, 2) lon/lat shapes from tail to head; straight segments if
                neither this nor ``shapes`` is given.
            dropped_nodes: nodes dropped before this call, carried into the result.
            shapes: the same shapes as flat arrays, ``(offsets (E + 1,), lonlat (K, 2))``.
            dropped_km: km of streets dropped before this call by ``highway`` class.

        Returns:
            The network in CSR order.
        """
        node_ids = np.asarray(node_ids, dtype=np.int64)
        lon = np.asarray(lon, dtype=np.float64)
        lat = np.asarray(lat, dtype=np.float64)
        u = np.asarray(edge_u, dtype=np.int64)
        v = np.asarray(edge_v, dtype=np.int64)
        length = np.asarray(length_m, dtype=np.float64)
        time = np.asarray(time_s, dtype=np.float64)
        if shapes is not None:
            offsets, coords = shapes
        elif geoms is not None:
            offsets = np.zeros(len(geoms) + 1, dtype=np.int64)
            np.cumsum([len(g) for g in geoms], out=offsets[1:])
            coords = np.concatenate([np.asarray(g, dtype=np.float64).reshape(-1, 2)
                                     for g in geoms]) if geoms else np.zeros((0, 2))
        else:
            offsets = np.arange(0, 2 * len(u) + 1, 2, dtype=np.int64)
            coords = np.column_stack([lon[np.column_stack([u, v]).ravel()],
                                      lat[np.column_stack([u, v]).ravel()]])
        offsets = np.asarray(offsets, dtype=np.int64)
        coords = np.asarray(coords, dtype=np.float64).reshape(-1, 2)
        order = _csr_order(u, v, time, len(node_ids))
        split = np.zeros(len(u), dtype=bool)
        split[order] = ~_first_of_pairs(u[order], v[order])
        candidates = np.flatnonzero((split | (u == v)) & (length > 0))
        split[:] = False
        split[candidates] = _has_shape(offsets, coords, candidates)
        if split.any():
            node_ids, lon, lat, u, v, length, time, offsets, coords = _split_at_middle(
                split, node_ids, lon, lat, u, v, length, time, offsets, coords)
            order = _csr_order(u, v, time, len(node_ids))
        order = order[_first_of_pairs(u[order], v[order]) & (u[order] != v[order])]
        n = len(node_ids)
        indptr = np.zeros(n + 1, dtype=np.int64)
        np.cumsum(np.bincount(u[order], minlength=n), out=indptr[1:])
        geom_offsets, geom_lonlat = take_shapes(offsets, coords, order)
        return cls(
            mode=mode,
            node_ids=node_ids,
            lon=lon,
            lat=lat,
            indptr=indptr,
            edge_v=v[order].astype(np.int32),
            length_m=length[order],
            time_s=time[order],
            geom_offsets=geom_offsets,
            geom_lonlat=geom_lonlat,
            dropped_nodes=int(dropped_nodes),
            dropped_km=dict(dropped_km or {}),
        )

    @property
    def n_nodes(self) -> int:
        """Number of nodes."""
        return len(self.node_ids)

    @property
    def n_edges(self) -> int:
        """Number of edges."""
        return len(self.edge_v)

    @cached_property
    def edge_u(self) -> np.ndarray:
        """Tail node of every edge, int32 (E,)."""
        return np.repeat(np.arange(self.n_nodes, dtype=np.int32), np.diff(self.indptr))

    def matrix(self, weight: str = "time") -> csr_matrix:
        """Return the N×N CSR matrix of edge weights (``time`` in s or ``length`` in m).

        Weights are clamped to :data:`MIN_WEIGHT` so that zero-length edges stay edges.
        """
        key = ("matrix", weight)
        if key not in self._cache:
            data = self.time_s if weight == "time" else self.length_m
            self._cache[key] = csr_matrix(
                (np.maximum(data, MIN_WEIGHT), self.edge_v, self.indptr),
                shape=(self.n_nodes, self.n_nodes),
            )
        return self._cache[key]

    def reverse_matrix(self, weight: str = "time") -> csr_matrix:
        """Return the transposed weight matrix in CSR form: searches on it run against travel."""
        key = ("reverse", weight)
        if key not in self._cache:
            self._cache[key] = self.matrix(weight).T.tocsr()
        return self._cache[key]

    @cached_property
    def _edge_keys(self) -> np.ndarray:
        """``tail * N + head`` of every edge; ascending, because edges are in CSR order by head."""
        return self.edge_u.astype(np.int64) * self.n_nodes + self.edge_v

    def edge_ids(self, tails: np.ndarray, heads: np.ndarray) -> np.ndarray:
        """Return the edge id of each (tail, head) pair, or -1 where there is no such edge."""
        wanted = np.asarray(tails, dtype=np.int64) * self.n_nodes + np.asarray(heads, np.int64)
        pos = np.searchsorted(self._edge_keys, wanted)
        pos_ok = np.minimum(pos, max(self.n_edges - 1, 0))
        found = (pos < self.n_edges) & (self._edge_keys[pos_ok] == wanted)
        return np.where(found, pos, -1)

    @cached_property
    def reverse_edge(self) -> np.ndarray:
        """The opposite edge of every edge (v→u of u→v), -1 where there is none (a one-way
        street), int64 (E,); found once, as every layer of a coverage report pairs the two
        directions of each street."""
        return self.edge_ids(self.edge_v, self.edge_u)

    def edge_shape(self, edge: int) -> np.ndarray:
        """Return the (k, 2) lon/lat shape of one edge, from tail to head."""
        return self.geom_lonlat[self.geom_offsets[edge]:self.geom_offsets[edge + 1]]

    def path_shape(self, nodes: np.ndarray) -> np.ndarray:
        """Return the lon/lat line along a node path, following the edges' real shapes."""
        nodes = np.asarray(nodes, dtype=np.int64)
        if len(nodes) < 2:
            return np.column_stack([self.lon[nodes], self.lat[nodes]])
        edges = self.edge_ids(nodes[:-1], nodes[1:])
        starts = self.geom_offsets[edges]
        counts = self.geom_offsets[edges + 1] - starts - 1  # each shape without its last vertex
        within = np.arange(counts.sum()) - np.repeat(np.cumsum(counts) - counts, counts)
        last = self.geom_offsets[edges[-1] + 1] - 1
        vertices = np.append(np.repeat(starts, counts) + within, last)
        return self.geom_lonlat[vertices]

    @cached_property
    def utm_crs(self) -> CRS:
        """The UTM zone of the network's centre, for metric work."""
        lon0, lat0 = float(np.median(self.lon)), float(np.median(self.lat))
        zone = int((lon0 + 180) // 6) + 1
        return CRS.from_epsg((32600 if lat0 >= 0 else 32700) + zone)

    @cached_property
    def _to_utm(self) -> Transformer:
        """WGS-84 to the UTM zone; made once (pyproj transformers are thread-safe)."""
        return Transformer.from_crs(4326, self.utm_crs, always_xy=True)

    def to_utm(self, lon: ArrayLike, lat: ArrayLike) -> tuple[np.ndarray, np.ndarray]:
        """Project WGS-84 coordinates to the network's UTM zone (metres)."""
        return self._to_utm.transform(np.asarray(lon, float), np.asarray(lat, float))

    @cached_property
    def node_xy(self) -> np.ndarray:
        """Node coordinates in the UTM zone, float64 (N, 2)."""
        x, y = self.to_utm(self.lon, self.lat)
        return np.column_stack([x, y])

    @cached_property
    def geom_xy(self) -> np.ndarray:
        """Edge shape vertices in the UTM zone, float64 (G, 2), as ``geom_lonlat``; projected
        once, as areas are cut and traced from them on every coverage request."""
        x, y = self.to_utm(self.geom_lonlat[:, 0], self.geom_lonlat[:, 1])
        return np.column_stack([x, y])

    def save(self, path: Path) -> None:
        """Write the network to an uncompressed ``.npz`` file (fast to load) that only its owner
        may read, in a folder likewise."""
        path = Path(path)
        private_folder(path.parent)
        tmp = path.with_name(path.name + ".tmp.npz")
        with open_private(tmp) as file:
            np.savez(
                file,
                mode=np.array(self.mode),
                dropped_nodes=np.array(self.dropped_nodes),
                dropped_classes=np.array(list(self.dropped_km), dtype=str),
                dropped_class_km=np.array(list(self.dropped_km.values()), dtype=float),
                **{name: getattr(self, name) for name in _ARRAYS},
            )
        tmp.replace(path)

    @classmethod
    def load(cls, path: Path) -> Network:
        """Read a network written by :meth:`save`."""
        with np.load(Path(path), allow_pickle=False) as npz:
            return cls(
                mode=str(npz["mode"]),
                dropped_nodes=int(npz["dropped_nodes"]),
                dropped_km=dict(zip(npz["dropped_classes"].tolist(),
                                    npz["dropped_class_km"].tolist(), strict=True)),
                **{name: npz[name] for name in _ARRAYS},
            )


def _csr_order(u: np.ndarray, v: np.ndarray, time: np.ndarray, n: int) -> np.ndarray:
    """Return the order of edges by tail, head and time (stable), as ``np.lexsort((time, v,
    u))`` but sorting by time only where a node pair has several edges."""
    key = u * n + v
    order = np.argsort(key, kind="stable")
    repeated = np.flatnonzero(key[order][1:] == key[order][:-1])
    if len(repeated):
        runs = np.unique(np.concatenate([repeated, repeated + 1]))
        edges = order[runs]
        order[runs] = edges[np.lexsort((time[edges], key[edges]))]
    return order


def _first_of_pairs(u: np.ndarray, v: np.ndarray) -> np.ndarray:
    """For edges sorted by (u, v), mark the first of each run with the same (u, v)."""
    first = np.ones(len(u), dtype=bool)
    first[1:] = (u[1:] != u[:-1]) | (v[1:] != v[:-1])
    return first


def largest_strong_component(
    n_nodes: int, tails: np.ndarray, heads: np.ndarray, among: np.ndarray | None = None,
    joined: np.ndarray | None = None,
) -> np.ndarray:
    """Return a mask of the nodes in the largest strongly connected component.

    Args:
        n_nodes: number of nodes.
        tails, heads: edge end-node indices.
        among: bool (n_nodes,), the nodes that count (all if None); the others are never kept.
        joined: bool (n_nodes,), nodes joined both ways through one virtual node, for
            connectivity only (see :mod:`geo.osm` for the clip-edge rule); none if None.

    Returns:
        bool (n_nodes,); the lowest-labelled of equally large components.
    """
    size = n_nodes
    if joined is not None and joined.any():
        outside = np.flatnonzero(joined)
        virtual = np.full(len(outside), n_nodes)
        tails = np.concatenate([tails, outside, virtual])
        heads = np.concatenate([heads, virtual, outside])
        size += 1
    graph = csr_matrix((np.ones(len(tails), dtype=np.int8), (tails, heads)), shape=(size, size))
    _, labels = connected_components(graph, directed=True, connection="strong")
    labels = labels[:n_nodes]
    counted = labels if among is None else labels[among]
    kept = labels == np.bincount(counted).argmax()
    return kept if among is None else kept & among


def take_shapes(
    offsets: np.ndarray, coords: np.ndarray, index: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Pick shapes out of flat shape arrays, in the order given.

    Args:
        offsets: int64 (S + 1,); shape s is ``coords[offsets[s]:offsets[s + 1]]``.
        coords: (K, 2) vertices of all shapes.
        index: the shapes to take (T,).

    Returns:
        ``(offsets (T + 1,), coords)`` of the taken shapes.
    """
    starts = offsets[:-1][index]
    sizes = offsets[1:][index] - starts
    new_offsets = np.zeros(len(index) + 1, dtype=np.int64)
    np.cumsum(sizes, out=new_offsets[1:])
    vertex = np.arange(new_offsets[-1]) + np.repeat(starts - new_offsets[:-1], sizes)
    return new_offsets, coords[vertex]


def _has_shape(offsets: np.ndarray, coords: np.ndarray, index: np.ndarray) -> np.ndarray:
    """Mark which of some shapes have two or more vertices not all at one point."""
    offsets, coords = take_shapes(offsets, coords, index)
    part = np.repeat(np.arange(len(index)), np.diff(offsets))
    moved = (coords != coords[offsets[:-1]][part]).any(axis=1)
    return np.bincount(part, weights=moved, minlength=len(index)) > 0


def _halve_shape(shape: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Split a lon/lat line at half its length; return both halves and the middle point."""
    scale = np.array([np.cos(np.radians(shape[:, 1].mean())), 1.0])
    steps = np.linalg.norm(np.diff(shape * scale, axis=0), axis=1)
    along = np.concatenate([[0.0], np.cumsum(steps)])
    half = along[-1] / 2
    i = min(int(np.searchsorted(along, half, side="right")) - 1, len(steps) - 1)
    share = (half - along[i]) / steps[i] if steps[i] > 0 else 0.0
    middle = shape[i] + share * (shape[i + 1] - shape[i])
    return np.vstack([shape[:i + 1], middle]), np.vstack([middle, shape[i + 1:]]), middle


def _split_at_middle(split, node_ids, lon, lat, u, v, length, time, offsets, coords):
    """Replace each marked edge by two halves through a new middle node.

    Both directions of one street find the same middle point, so they share the new node.
    """
    marked = np.nonzero(split)[0]
    halves = [_halve_shape(coords[offsets[i]:offsets[i + 1]]) for i in marked]
    middles = np.array([h[2] for h in halves]).reshape(-1, 2)
    pair = np.column_stack([np.minimum(u[marked], v[marked]), np.maximum(u[marked], v[marked])])
    keys = np.column_stack([pair, np.round(middles * 1e7)]).astype(np.int64)
    _, first, inverse = np.unique(keys, axis=0, return_index=True, return_inverse=True)
    inverse = inverse.ravel()
    new = len(node_ids) + inverse
    rest = np.nonzero(~split)[0]
    rest_offsets, rest_coords = take_shapes(offsets, coords, rest)
    half_shapes = [h[0] for h in halves] + [h[1] for h in halves]
    half_offsets = rest_offsets[-1] + np.cumsum([0] + [len(h) for h in half_shapes])
    return (
        np.concatenate([node_ids, -1 - np.arange(len(first), dtype=np.int64)]),
        np.concatenate([lon, middles[first, 0]]),
        np.concatenate([lat, middles[first, 1]]),
        np.concatenate([u[rest], u[marked], new]),
        np.concatenate([v[rest], new, v[marked]]),
        np.concatenate([length[rest], length[marked] / 2, length[marked] / 2]),
        np.concatenate([time[rest], time[marked] / 2, time[marked] / 2]),
        np.concatenate([rest_offsets[:-1], half_offsets]),
        np.concatenate([rest_coords, *half_shapes]),
    )
