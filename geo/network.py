"""A street network for one travel mode, held as compact arrays.

A :class:`Network` is a directed graph in CSR form: the out-edges of node ``i`` are the positions
``indptr[i]:indptr[i + 1]`` of the edge arrays. There is at most one edge per ordered node pair
(the fastest of any parallel edges) and no self-loops, so a CSR position *is* an edge id and the
matrices handed to :mod:`scipy.sparse.csgraph` line up with the edge arrays.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

import numpy as np
from pyproj import CRS, Transformer
from scipy.sparse import csr_matrix

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
    ) -> "Network":
        """Build a network from an unordered edge list.

        Self-loops are dropped and of parallel edges only the fastest is kept.

        Args:
            mode: travel mode id.
            node_ids, lon, lat: per-node arrays (N,).
            edge_u, edge_v: tail and head node indices (E,).
            length_m, time_s: per-edge length (m) and travel time (s).
            geoms: per-edge (k, 2) lon/lat shapes from tail to head; straight segments if None.
            dropped_nodes: nodes dropped before this call, carried into the result.

        Returns:
            The network in CSR order.
        """
        edge_u = np.asarray(edge_u, dtype=np.int64)
        edge_v = np.asarray(edge_v, dtype=np.int64)
        time_s = np.asarray(time_s, dtype=np.float64)
        keep = edge_u != edge_v
        order = np.lexsort((time_s, edge_v, edge_u))
        order = order[keep[order]]
        u, v = edge_u[order], edge_v[order]
        first = np.ones(len(order), dtype=bool)
        first[1:] = (u[1:] != u[:-1]) | (v[1:] != v[:-1])
        order = order[first]
        u, v = edge_u[order], edge_v[order]
        n = len(node_ids)
        indptr = np.zeros(n + 1, dtype=np.int64)
        np.cumsum(np.bincount(u, minlength=n), out=indptr[1:])
        lon = np.asarray(lon, dtype=np.float64)
        lat = np.asarray(lat, dtype=np.float64)
        if geoms is None:
            shapes = [np.array([[lon[a], lat[a]], [lon[b], lat[b]]]) for a, b in zip(u, v)]
        else:
            shapes = [np.asarray(geoms[i], dtype=np.float64).reshape(-1, 2) for i in order]
        sizes = np.array([len(s) for s in shapes], dtype=np.int64)
        geom_offsets = np.zeros(len(shapes) + 1, dtype=np.int64)
        np.cumsum(sizes, out=geom_offsets[1:])
        geom_lonlat = np.concatenate(shapes) if shapes else np.zeros((0, 2))
        return cls(
            mode=mode,
            node_ids=np.asarray(node_ids, dtype=np.int64),
            lon=lon,
            lat=lat,
            indptr=indptr,
            edge_v=v.astype(np.int32),
            length_m=np.asarray(length_m, dtype=np.float64)[order],
            time_s=time_s[order],
            geom_offsets=geom_offsets,
            geom_lonlat=geom_lonlat,
            dropped_nodes=int(dropped_nodes),
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

    def edge_shape(self, edge: int) -> np.ndarray:
        """Return the (k, 2) lon/lat shape of one edge, from tail to head."""
        return self.geom_lonlat[self.geom_offsets[edge]:self.geom_offsets[edge + 1]]

    def path_shape(self, nodes: np.ndarray) -> np.ndarray:
        """Return the lon/lat line along a node path, following the edges' real shapes."""
        nodes = np.asarray(nodes, dtype=np.int64)
        if len(nodes) < 2:
            return np.column_stack([self.lon[nodes], self.lat[nodes]])
        edges = self.edge_ids(nodes[:-1], nodes[1:])
        parts = [self.edge_shape(e)[:-1] for e in edges]
        parts.append(np.array([[self.lon[nodes[-1]], self.lat[nodes[-1]]]]))
        return np.concatenate(parts)

    @cached_property
    def utm_crs(self) -> CRS:
        """The UTM zone of the network's centre, for metric work."""
        lon0, lat0 = float(np.median(self.lon)), float(np.median(self.lat))
        zone = int((lon0 + 180) // 6) + 1
        return CRS.from_epsg((32600 if lat0 >= 0 else 32700) + zone)

    def to_utm(self, lon: np.ndarray, lat: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Project WGS-84 coordinates to the network's UTM zone (metres)."""
        transformer = Transformer.from_crs(4326, self.utm_crs, always_xy=True)
        return transformer.transform(np.asarray(lon, float), np.asarray(lat, float))

    @cached_property
    def node_xy(self) -> np.ndarray:
        """Node coordinates in the UTM zone, float64 (N, 2)."""
        x, y = self.to_utm(self.lon, self.lat)
        return np.column_stack([x, y])

    def save(self, path: Path) -> None:
        """Write the network to an uncompressed ``.npz`` file (fast to load)."""
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(path.name + ".tmp.npz")
        np.savez(
            tmp,
            mode=np.array(self.mode),
            dropped_nodes=np.array(self.dropped_nodes),
            **{name: getattr(self, name) for name in _ARRAYS},
        )
        tmp.replace(path)

    @classmethod
    def load(cls, path: Path) -> "Network":
        """Read a network written by :meth:`save`."""
        with np.load(Path(path), allow_pickle=False) as npz:
            return cls(
                mode=str(npz["mode"]),
                dropped_nodes=int(npz["dropped_nodes"]),
                **{name: npz[name] for name in _ARRAYS},
            )
