"""A region's networks and stations, indexed for queries.

A :class:`RegionIndex` snaps every station to every mode's network, keeps a KD-tree of each
network's nodes and an index of its streets, and caches service fields and shortest-path trees.
Each station is snapped twice: to its nearest node, for the planner's coverage analyses, and onto
the nearest point of its nearest street (:mod:`geo.snapping`), for the worker's nearest-station
answers, as the worker's own position is. It is replaced, not mutated,
when stations change, so readers in other threads always see one consistent state; the
replacement (:meth:`RegionIndex.with_changes`) snaps only the stations that changed and builds
its station arrays from the old ones with numpy.

What is computed on a network alone is kept per mode and shared by every index over the same
networks: fields are cached by the nodes of the stations they were computed from (so a change
to a station outside a field's set keeps the field, and one inside it computes it anew, once),
up to a budget of bytes for all modes together (see :class:`geo.memory.LruCache`), and trees by
their root node, up to :data:`TREE_BUDGET` entries per mode.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from datetime import datetime
from functools import cached_property

import numpy as np
from scipy.spatial import cKDTree

from geo.field import NodeTrees, ServiceField, entry_field, node_trees, service_field
from geo.hours import open_state
from geo.memory import LruCache
from geo.network import Network
from geo.rules import metres_outside
from geo.snapping import OnStreet, StreetIndex, street_ends
from geo.stations import AMENITIES, KINDS, Station

#: Most bytes of service fields each region keeps, all modes together (a 1,000,000-node
#: network's field is 32 MB).
FIELD_CACHE_BYTES = 256 * 1024 * 1024

#: Largest tree roots × nodes for which shortest-path trees are kept (12 bytes an entry).
TREE_BUDGET = 8_000_000

_AMENITY_BIT = {name: 1 << i for i, name in enumerate(AMENITIES)}

_KIND_CODE = {name: i for i, name in enumerate(KINDS)}


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
    """Where a point joins a network: the nearest point on its nearest street.

    Attributes:
        on: the snapped point, one entry (see :class:`geo.snapping.OnStreet`).
        distance_m: how far the point is from the street, metres.
        walk_s: the time to walk to the street (see :data:`geo.snapping.OFF_STREET_M`).
        lon, lat: the point on the street, WGS-84.
    """

    on: OnStreet

    @property
    def distance_m(self) -> float:
        """How far the point is from the street, metres."""
        return float(self.on.distance_m[0])

    @property
    def walk_s(self) -> float:
        """The time to walk to the street, seconds."""
        return float(self.on.walk_s[0])

    @property
    def lon(self) -> float:
        """Longitude of the point on the street."""
        return float(self.on.lon[0])

    @property
    def lat(self) -> float:
        """Latitude of the point on the street."""
        return float(self.on.lat[0])


class _ModeIndex:
    """One mode's network, its node KD-tree, street index and bounds, and the fields and trees
    computed on it."""

    def __init__(self, network: Network, fields: LruCache[ServiceField]) -> None:
        self.network = network
        self.tree = cKDTree(network.node_xy)
        self.streets = StreetIndex(network)
        self.fields = fields
        self.trees: NodeTrees | None = None
        self.lock = threading.Lock()
        self.bounds = (network.lon.min(), network.lat.min(), network.lon.max(),
                       network.lat.max())

    def snapped(self, stations: list[Station]) -> tuple[np.ndarray, np.ndarray, OnStreet]:
        """Each station's nearest node (int64), its distance from it in metres, and its place
        on its nearest street."""
        if not stations:
            empty = np.zeros(0)
            return np.zeros(0, dtype=np.int64), empty, OnStreet(
                np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64), *[empty] * 5)
        xy = np.column_stack(
            self.network.to_utm([s.lon for s in stations], [s.lat for s in stations]))
        snap_m, nodes = self.tree.query(xy)
        return (np.asarray(nodes, dtype=np.int64), np.asarray(snap_m, dtype=np.float64),
                self.streets.snap(xy[:, 0], xy[:, 1]))


@dataclass(frozen=True)
class _StationArrays:
    """What queries read of the stations, one entry per station in the index's order.

    Attributes:
        records: the stations themselves (object).
        ids: station ids, -1 where a station has none (int64).
        open: whether the status is ``open``.
        kinds: position of the kind in :data:`~geo.stations.KINDS`, -1 if unknown (int64).
        amenities: amenity bits (int64).
        nodes: per mode, the node each station is snapped to (int64).
        snap_m: per mode, how far each station is from that node, metres.
        on_street: per mode, each station's place on its nearest street.
    """

    records: np.ndarray
    ids: np.ndarray
    open: np.ndarray
    kinds: np.ndarray
    amenities: np.ndarray
    nodes: dict[str, np.ndarray]
    snap_m: dict[str, np.ndarray]
    on_street: dict[str, OnStreet]

    @classmethod
    def of(cls, stations: list[Station], modes: dict[str, _ModeIndex]) -> _StationArrays:
        """The arrays of ``stations``, snapped to every mode's network."""
        snapped = {m: mode_index.snapped(stations) for m, mode_index in modes.items()}
        records = np.empty(len(stations), dtype=object)
        records[:] = stations
        return cls(
            records=records,
            ids=np.array([-1 if s.id is None else s.id for s in stations], dtype=np.int64),
            open=np.array([s.status == "open" for s in stations], dtype=bool),
            kinds=np.array([_KIND_CODE.get(s.kind, -1) for s in stations], dtype=np.int64),
            amenities=np.array([_amenity_bits(s.amenities) for s in stations], dtype=np.int64),
            nodes={m: nodes for m, (nodes, _, _) in snapped.items()},
            snap_m={m: snap_m for m, (_, snap_m, _) in snapped.items()},
            on_street={m: on for m, (_, _, on) in snapped.items()},
        )

    def take(self, order: np.ndarray) -> _StationArrays:
        """The arrays of the stations at positions ``order``."""
        return _StationArrays(
            records=self.records[order], ids=self.ids[order], open=self.open[order],
            kinds=self.kinds[order], amenities=self.amenities[order],
            nodes={m: a[order] for m, a in self.nodes.items()},
            snap_m={m: a[order] for m, a in self.snap_m.items()},
            on_street={m: a.take(order) for m, a in self.on_street.items()},
        )

    def join(self, other: _StationArrays) -> _StationArrays:
        """These stations followed by ``other``'s."""
        return _StationArrays(
            records=np.concatenate([self.records, other.records]),
            ids=np.concatenate([self.ids, other.ids]),
            open=np.concatenate([self.open, other.open]),
            kinds=np.concatenate([self.kinds, other.kinds]),
            amenities=np.concatenate([self.amenities, other.amenities]),
            nodes={m: np.concatenate([a, other.nodes[m]]) for m, a in self.nodes.items()},
            snap_m={m: np.concatenate([a, other.snap_m[m]]) for m, a in self.snap_m.items()},
            on_street={m: a.join(other.on_street[m]) for m, a in self.on_street.items()},
        )


class RegionIndex:
    """The query index of one region.

    Args:
        region_id: the region's id.
        networks: the region's networks by mode id.
        stations: all the region's stations; only those with status ``open`` serve queries.
        tree_budget: largest tree roots × nodes for which :meth:`trees` keeps trees.
        cache_bytes: most bytes of service fields kept, all modes together.
    """

    def __init__(
        self,
        region_id: str,
        networks: dict[str, Network],
        stations: list[Station],
        tree_budget: int = TREE_BUDGET,
        cache_bytes: int = FIELD_CACHE_BYTES,
        _modes: dict[str, _ModeIndex] | None = None,
        _arrays: _StationArrays | None = None,
    ) -> None:
        self.region_id = region_id
        self.tree_budget = tree_budget
        self.networks = networks
        self.stations = list(stations)
        if _modes is None:
            fields: LruCache[ServiceField] = LruCache(cache_bytes)
            _modes = {m: _ModeIndex(n, fields) for m, n in networks.items()}
        self._modes = _modes
        self._arrays = _arrays or _StationArrays.of(self.stations, self._modes)
        self._open_cache: tuple[datetime, np.ndarray] | None = None
        self._entries: dict[str, tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]] = {}

    def with_stations(self, stations: list[Station]) -> RegionIndex:
        """Return an index over the same networks with another station list."""
        return RegionIndex(self.region_id, self.networks, stations, self.tree_budget,
                           _modes=self._modes)

    def with_changes(self, changed: list[Station], removed: np.ndarray) -> RegionIndex:
        """Return an index with some stations added or replaced and some removed.

        Only the changed stations are snapped; the others keep their arrays. The stations stay
        in order of id, as :meth:`geo.store.StationStore.list` gives them, so the result equals
        an index built afresh from the store.

        Args:
            changed: new stations and new versions of held ones (matched by id).
            removed: ids of stations to drop; ids that are not held are ignored.
        """
        arrays = self._arrays
        fresh = _StationArrays.of(changed, self._modes)
        kept = np.nonzero(~np.isin(
            arrays.ids, np.concatenate([np.asarray(removed, np.int64), fresh.ids])))[0]
        joined = arrays.take(kept).join(fresh)
        order = np.argsort(joined.ids, kind="stable")
        joined = joined.take(order)
        index = RegionIndex(self.region_id, self.networks, joined.records.tolist(),
                            self.tree_budget, _modes=self._modes, _arrays=joined)
        if self._open_cache is not None:
            minute, mask = self._open_cache
            index._open_cache = (
                minute, np.concatenate([mask[kept], _open_mask(changed, minute)])[order])
        return index

    @property
    def modes(self) -> tuple[str, ...]:
        """The mode ids this region has networks for."""
        return tuple(self.networks)

    @cached_property
    def bounds(self) -> tuple[float, float, float, float]:
        """``(min_lon, min_lat, max_lon, max_lat)`` of all the region's network nodes."""
        bounds = np.array([m.bounds for m in self._modes.values()])
        return (float(bounds[:, 0].min()), float(bounds[:, 1].min()), float(bounds[:, 2].max()),
                float(bounds[:, 3].max()))

    def covers(self, lon: float, lat: float, margin_m: float = 1000.0) -> bool:
        """Whether a point lies within ``margin_m`` metres of the region's bounds (measured by
        :func:`geo.rules.metres_outside`). Where a station may stand is the station rule
        :func:`geo.rules.too_far_outside`; this is where a worker may ask from."""
        return metres_outside(lon, lat, self.bounds) <= margin_m

    def network(self, mode: str) -> Network:
        """Return one mode's network; ``ValueError`` naming the mode if the region lacks it."""
        if mode not in self.networks:
            raise ValueError(f"mode {mode!r} is not available in region {self.region_id!r}; "
                             f"choose one of {', '.join(self.networks)}")
        return self.networks[mode]

    def snap(self, mode: str, lon: float, lat: float) -> Snap:
        """Snap a WGS-84 point onto the nearest point of the nearest street of a mode's
        network."""
        network = self.network(mode)
        x, y = network.to_utm([lon], [lat])
        return Snap(self._modes[mode].streets.snap(x, y))

    def station_nodes(self, mode: str) -> np.ndarray:
        """Node of every station (in ``stations`` order) on a mode's network."""
        self.network(mode)
        return self._arrays.nodes[mode]

    def station_snap_m(self, mode: str) -> np.ndarray:
        """How far each station is from its node on a mode's network, metres."""
        self.network(mode)
        return self._arrays.snap_m[mode]

    def stations_on_street(self, mode: str) -> OnStreet:
        """Every station's place on its nearest street of a mode's network."""
        self.network(mode)
        return self._arrays.on_street[mode]

    def station_entries(self, mode: str, mask: np.ndarray
                        ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """How the stations in ``mask`` are entered from their streets' ends: nodes, seconds and
        metres, each (S, 2) (see :func:`geo.snapping.street_ends`)."""
        chosen = np.flatnonzero(mask)
        nodes, seconds, metres, _digests = self._all_entries(mode)
        return (nodes.take(chosen, axis=0), seconds.take(chosen, axis=0),
                metres.take(chosen, axis=0))

    def _all_entries(self, mode: str
                     ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """Every station's entries (:meth:`station_entries`) and a 64-bit digest of each
        station's nodes and seconds, made once per index."""
        entries = self._entries.get(mode)
        if entries is None:
            nodes, seconds, metres = street_ends(self.network(mode),
                                                 self.stations_on_street(mode), leaving=False)
            entries = (nodes, seconds, metres, _digest(np.column_stack([nodes, seconds])))
            self._entries[mode] = entries
        return entries

    def _open_at(self, when: datetime) -> np.ndarray:
        """Which stations' opening hours say open at ``when`` (cached for the same minute)."""
        minute = when.replace(second=0, microsecond=0)
        cached = self._open_cache
        if cached is not None and cached[0] == minute:
            return cached[1]
        mask = _open_mask(self.stations, minute)
        self._open_cache = (minute, mask)
        return mask

    def matching(self, filters: StationFilter | None = None) -> np.ndarray:
        """Return a boolean mask over ``stations``: open stations that meet ``filters``."""
        arrays = self._arrays
        mask = arrays.open.copy()
        if filters is None:
            return mask
        if filters.kinds:
            mask &= np.isin(arrays.kinds, [_KIND_CODE.get(k, -2) for k in filters.kinds])
        if filters.amenities:
            need = sum(_AMENITY_BIT[a] for a in filters.amenities)
            mask &= (arrays.amenities & need) == need
        if filters.open_at is not None:
            mask &= self._open_at(filters.open_at)
        return mask

    def field(self, mode: str, mask: np.ndarray) -> ServiceField:
        """Return the service field of the stations in ``mask`` on a mode's network.

        Fields are cached by the nodes of the stations (in order), so every distinct station
        set costs one search, once, and survives changes to other stations. The field's
        ``nearest`` indexes the masked stations in order; map it back with
        ``np.nonzero(mask)[0]``.
        """
        self.network(mode)
        mode_index = self._modes[mode]
        nodes = self._arrays.nodes[mode][mask]
        return mode_index.fields.get((mode, nodes.tobytes()),
                                     lambda: service_field(mode_index.network, nodes))

    def street_field(self, mode: str, mask: np.ndarray) -> ServiceField:
        """Return the service field of the stations in ``mask`` on a mode's network, each
        entered from its street's ends (see :func:`geo.field.entry_field`); cached as
        :meth:`field` is, by a digest of each station's entries."""
        self.network(mode)
        mode_index = self._modes[mode]
        key = ("street", mode, self._all_entries(mode)[3][mask].tobytes())
        return mode_index.fields.get(
            key, lambda: entry_field(mode_index.network, *self.station_entries(mode, mask)))

    def trees(self, mode: str, mask: np.ndarray) -> NodeTrees | None:
        """Return shortest-path trees rooted at the nodes the stations in ``mask`` are entered
        from, or None when those nodes × the network's nodes exceed the index's tree budget.

        Trees are kept per mode and only the missing roots are searched, so a changed station
        costs at most two searches.
        """
        self.network(mode)
        mode_index = self._modes[mode]
        nodes = self.station_entries(mode, mask)[0]
        nodes = nodes[nodes >= 0]
        kept = mode_index.trees
        if kept is not None and np.all(kept.row[nodes] >= 0):
            return kept
        roots = np.sort(nodes)
        roots = roots[np.diff(roots, prepend=-1) != 0]  # np.unique, but faster here
        n_nodes = mode_index.network.n_nodes
        if len(roots) * n_nodes > self.tree_budget:
            return None
        with mode_index.lock:
            kept = mode_index.trees
            if kept is not None and (len(kept.time_s) + len(roots)) * n_nodes > self.tree_budget:
                kept = None
            mode_index.trees = node_trees(mode_index.network, roots, kept)
            return mode_index.trees


def _open_mask(stations: list[Station], when: datetime) -> np.ndarray:
    """Which stations' opening hours say open at ``when``."""
    return np.array([open_state(s.opening_hours, when) == "open" for s in stations], dtype=bool)


def _digest(rows: np.ndarray) -> np.ndarray:
    """A 64-bit digest of each row of a float64 or int64 array (splitmix64 over its words), so
    that a set of rows is told apart by a few bytes a row."""
    words = np.ascontiguousarray(rows).view(np.uint64)
    digest = np.full(len(words), 0x9E3779B97F4A7C15, dtype=np.uint64)
    for column in words.T:
        z = digest ^ column
        z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
        digest = (z ^ (z >> np.uint64(31))) + np.uint64(0x9E3779B97F4A7C15)
    return digest


def _amenity_bits(amenities) -> int:
    """The bits of the known amenities among ``amenities``."""
    return sum(_AMENITY_BIT[a] for a in set(amenities) if a in _AMENITY_BIT)
