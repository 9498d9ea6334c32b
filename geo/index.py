"""A region's networks and stations, indexed for queries.

A :class:`RegionIndex` snaps every station to every mode's network once, keeps a KD-tree of each
network's nodes, and caches service fields by the set of stations they were computed from (up
to a budget of bytes, see :class:`geo.memory.LruCache`). It is
replaced, not mutated, when stations change (:meth:`RegionIndex.with_stations`), so readers in
other threads always see one consistent state.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from functools import cached_property

import numpy as np
from scipy.spatial import cKDTree

from geo.field import ServiceField, StationTrees, service_field, station_trees
from geo.hours import open_state
from geo.memory import LruCache
from geo.network import Network
from geo.stations import AMENITIES, Station

#: Most bytes of service fields and station trees each index keeps, all modes together (a
#: 1,000,000-node network's field is 32 MB).
FIELD_CACHE_BYTES = 256 * 1024 * 1024

#: Largest stations × nodes for which per-station trees are kept (12 bytes an entry).
TREE_BUDGET = 8_000_000

_AMENITY_BIT = {name: 1 << i for i, name in enumerate(AMENITIES)}


@dataclass(frozen=True)
class StationFilter:
    """What a worker needs of a station.

    Attributes:
        kinds: acceptable station kinds; empty means any.
        amenities: amenities the station must all have.
        open_at: if set, only stations whose opening hours say open at this time (Asia/Shanghai
            when naive); stations with unknown hours do not match.
    """

    kinds: frozenset[str] = frozenset()
    amenities: frozenset[str] = frozenset()
    open_at: datetime | None = None


@dataclass(frozen=True)
class Snap:
    """Where a point joins a network: the nearest node and how far away it is."""

    node: int
    distance_m: float


class _ModeIndex:
    """One mode's network, its node KD-tree and the stations snapped to it."""

    def __init__(self, network: Network, tree: cKDTree, stations: list[Station]) -> None:
        self.network = network
        self.tree = tree
        xy = np.column_stack(
            network.to_utm([s.lon for s in stations], [s.lat for s in stations])
        ) if stations else np.zeros((0, 2))
        snap_m, nodes = tree.query(xy) if stations else (np.zeros(0), np.zeros(0, np.int64))
        self.station_nodes = np.asarray(nodes, dtype=np.int64)
        self.station_snap_m = np.asarray(snap_m, dtype=np.float64)


class RegionIndex:
    """The query index of one region.

    Args:
        region_id: the region's id.
        networks: the region's networks by mode id.
        stations: all the region's stations; only those with status ``open`` serve queries.
        tree_budget: largest stations × nodes for which :meth:`trees` keeps per-station trees.
        cache_bytes: most bytes of service fields and station trees kept.
    """

    def __init__(
        self,
        region_id: str,
        networks: dict[str, Network],
        stations: list[Station],
        tree_budget: int = TREE_BUDGET,
        cache_bytes: int = FIELD_CACHE_BYTES,
        _trees: dict[str, cKDTree] | None = None,
    ) -> None:
        self.region_id = region_id
        self.tree_budget = tree_budget
        self.cache_bytes = cache_bytes
        self._cache = LruCache(cache_bytes)
        self.networks = networks
        self.stations = list(stations)
        trees = _trees or {m: cKDTree(n.node_xy) for m, n in networks.items()}
        self._modes = {m: _ModeIndex(n, trees[m], self.stations) for m, n in networks.items()}
        self._open_cache: tuple[datetime, np.ndarray] | None = None

    def with_stations(self, stations: list[Station]) -> "RegionIndex":
        """Return an index over the same networks with another station list."""
        trees = {m: mi.tree for m, mi in self._modes.items()}
        return RegionIndex(self.region_id, self.networks, stations, self.tree_budget,
                           self.cache_bytes, _trees=trees)

    @property
    def modes(self) -> tuple[str, ...]:
        """The mode ids this region has networks for."""
        return tuple(self.networks)

    @cached_property
    def bounds(self) -> tuple[float, float, float, float]:
        """``(min_lon, min_lat, max_lon, max_lat)`` of all the region's network nodes."""
        lon = np.concatenate([n.lon for n in self.networks.values()])
        lat = np.concatenate([n.lat for n in self.networks.values()])
        return float(lon.min()), float(lat.min()), float(lon.max()), float(lat.max())

    def covers(self, lon: float, lat: float, margin_m: float = 1000.0) -> bool:
        """Whether a point lies within the region's bounds widened by ``margin_m`` metres."""
        min_lon, min_lat, max_lon, max_lat = self.bounds
        dlat = margin_m / 111_320.0
        dlon = dlat / max(np.cos(np.radians(lat)), 0.01)
        return (min_lon - dlon <= lon <= max_lon + dlon) and (min_lat - dlat <= lat <= max_lat + dlat)

    def network(self, mode: str) -> Network:
        """Return one mode's network; ``ValueError`` naming the mode if the region lacks it."""
        if mode not in self.networks:
            raise ValueError(f"mode {mode!r} is not available in region {self.region_id!r}; "
                             f"choose one of {', '.join(self.networks)}")
        return self.networks[mode]

    def snap(self, mode: str, lon: float, lat: float) -> Snap:
        """Snap a WGS-84 point to the nearest node of a mode's network."""
        network = self.network(mode)
        x, y = network.to_utm([lon], [lat])
        distance, node = self._modes[mode].tree.query([x[0], y[0]])
        return Snap(node=int(node), distance_m=float(distance))

    def station_nodes(self, mode: str) -> np.ndarray:
        """Node of every station (in ``stations`` order) on a mode's network."""
        self.network(mode)
        return self._modes[mode].station_nodes

    def station_snap_m(self, mode: str) -> np.ndarray:
        """How far each station is from its node on a mode's network, metres."""
        self.network(mode)
        return self._modes[mode].station_snap_m

    @cached_property
    def _open_status(self) -> np.ndarray:
        return np.array([s.status == "open" for s in self.stations], dtype=bool)

    @cached_property
    def _kinds(self) -> np.ndarray:
        return np.array([s.kind for s in self.stations], dtype=object)

    @cached_property
    def _amenity_bits(self) -> np.ndarray:
        return np.array(
            [sum(_AMENITY_BIT[a] for a in s.amenities if a in _AMENITY_BIT) for s in self.stations],
            dtype=np.int64,
        )

    def _open_at(self, when: datetime) -> np.ndarray:
        """Which stations' opening hours say open at ``when`` (cached for the same minute)."""
        minute = when.replace(second=0, microsecond=0)
        cached = self._open_cache
        if cached is not None and cached[0] == minute:
            return cached[1]
        mask = np.array([open_state(s.opening_hours, minute) == "open" for s in self.stations],
                        dtype=bool)
        self._open_cache = (minute, mask)
        return mask

    def matching(self, filters: StationFilter | None = None) -> np.ndarray:
        """Return a boolean mask over ``stations``: open stations that meet ``filters``."""
        mask = self._open_status.copy()
        if filters is None:
            return mask
        if filters.kinds:
            mask &= np.isin(self._kinds, list(filters.kinds))
        if filters.amenities:
            need = sum(_AMENITY_BIT[a] for a in filters.amenities)
            mask &= (self._amenity_bits & need) == need
        if filters.open_at is not None:
            mask &= self._open_at(filters.open_at)
        return mask

    def field(self, mode: str, mask: np.ndarray) -> ServiceField:
        """Return the service field of the stations in ``mask`` on a mode's network.

        Fields are cached by station set, so every distinct filter costs one search, once.
        The field's ``nearest`` indexes the masked stations in order; map it back with
        ``np.nonzero(mask)[0]``.
        """
        self.network(mode)
        mode_index = self._modes[mode]
        return self._cached("field", mode, mask, lambda: service_field(
            mode_index.network, mode_index.station_nodes[mask]))

    def trees(self, mode: str, mask: np.ndarray) -> StationTrees | None:
        """Return the per-station shortest-path trees of the stations in ``mask``, or None when
        stations × nodes exceeds the index's tree budget. Cached by station set like fields."""
        self.network(mode)
        mode_index = self._modes[mode]
        if int(mask.sum()) * mode_index.network.n_nodes > self.tree_budget:
            return None
        return self._cached("trees", mode, mask, lambda: station_trees(
            mode_index.network, mode_index.station_nodes[mask]))

    def _cached(self, kind: str, mode: str, mask: np.ndarray, compute):
        """The index's cached ``kind`` of ``mode`` for the stations in ``mask``, computed and
        kept if missing."""
        key = (kind, mode, np.packbits(mask).tobytes() + len(mask).to_bytes(4, "little"))
        return self._cache.get(key, compute)
