"""The atlas: every region's query index, kept in step with the station store.

An :class:`Atlas` builds a region's :class:`~geo.index.RegionIndex` the first time it is asked for
(networks from the disk cache, stations from the store). Whenever the store's revision moves it
asks the store which stations were written since (their history), and re-reads and re-snaps
only those, so a saved change shows in the next query at a cost that grows with the change.

The regions' networks stay loaded: they are what every query reads. What is computed from them
(service fields, demand layers, coverage analyses) is kept in caches bounded by bytes (see
:class:`geo.memory.LruCache`), so the atlas's memory is its networks and these budgets however
many views are asked for.

The atlas is the one way the web pages and the command line reach the engine: regions, the
nearest stations, place search, coverage, recommendations, what-ifs, the station rules and the
bulk import all go through its methods, each a thin call of the engine function it names.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable
from datetime import datetime
from pathlib import Path
from typing import BinaryIO

import geopandas as gpd
import numpy as np

from geo.analysis import CoverageAnalysis, coverage_analysis
from geo.candidates import CandidateRules, candidate_sites
from geo.demand import DemandLayer, demand_layer
from geo.demo import demo_stations, demo_stations_on_network
from geo.extract import OSM_SUFFIXES
from geo.groups import worker_group
from geo.index import FIELD_CACHE_BYTES, RegionIndex, StationFilter
from geo.memory import LruCache
from geo.nearest import NearestAnswer, nearest_open_first, nearest_stations
from geo.places import Places, places_for
from geo.reach import REACH_MINUTES, Reach, reach
from geo.recommend import Recommendation, recommend_sites
from geo.records import IMPORT_PROBLEM_LIMIT, ImportPlan, apply_import, read_station_file
from geo.regions import (
    Region,
    default_region,
    get_region,
    list_regions,
    load_networks,
    regions_stamp,
    user_regions_dir,
)
from geo.rules import DUPLICATE_RADIUS_M, Refusal, name_key, nearest_duplicate, too_far_outside
from geo.sites import cached_sites
from geo.stamp import Stamped
from geo.stations import Station
from geo.store import StationStore
from geo.whatif import Site, check_removed, whatif_coverage

#: Most bytes of coverage analyses the atlas keeps (a city's analysis with geometry: about
#: 20–100 MB).
ANALYSIS_CACHE_BYTES = 512 * 1024 * 1024

#: Most bytes of demand layers the atlas keeps (8 bytes a network node each).
DEMAND_CACHE_BYTES = 64 * 1024 * 1024

#: How many demo stations a region without host-like sites gets.
DEMO_NETWORK_STATIONS = 40


class Atlas:
    """Regions, their networks and their stations, ready for queries.

    Args:
        store: the station store.
        analysis_bytes: most bytes of coverage analyses kept.
        demand_bytes: most bytes of demand layers kept.
        field_bytes: most bytes of service fields and station trees each region's index keeps.
    """

    def __init__(self, store: StationStore, analysis_bytes: int = ANALYSIS_CACHE_BYTES,
                 demand_bytes: int = DEMAND_CACHE_BYTES,
                 field_bytes: int = FIELD_CACHE_BYTES) -> None:
        self.store = store
        self.field_bytes = field_bytes
        self._regions_folder = user_regions_dir()
        self._station_revision = Stamped(store.changes, store.revision)
        self._registry: tuple[int, list[Region]] | None = None
        self._indexes: dict[str, tuple[tuple[object, int], RegionIndex, int]] = {}
        self._demand: LruCache[DemandLayer] = LruCache(demand_bytes)
        self._analyses: LruCache[CoverageAnalysis] = LruCache(analysis_bytes)
        self._lock = threading.Lock()

    def regions(self) -> list[Region]:
        """All configured regions (:func:`geo.regions.list_regions`), read again only once the
        regions' stamp moves (a region added or removed)."""
        stamp = regions_stamp(self._regions_folder)
        known = self._registry
        if known is None or known[0] != stamp:
            known = self._registry = (stamp, list_regions())
        return known[1]

    def region(self, region_id: str) -> Region:
        """One region by id (``geo.regions.RegionError`` if unknown)."""
        return get_region(region_id, self.regions())

    def region_or_default(self, region_id: str | None) -> Region:
        """The region of this id, or the region shown first when the id is absent or unknown
        (:func:`geo.regions.default_region`)."""
        regions = self.regions()
        return next((r for r in regions if r.id == region_id), None) or default_region(regions)

    def revision(self) -> tuple[object, int]:
        """What the atlas's answers depend on besides the networks: the store's station
        revision and the regions' stamp (:func:`geo.regions.regions_stamp`, moved by a region
        added or removed). A cache of views keyed by it never serves a stale one.

        The station revision is asked of the store only when its change stamp moved (a write
        by any process on this machine) or a second has passed (see :mod:`geo.stamp`), so a
        query costs two ``os.stat`` calls, not a database round trip."""
        return self._station_revision.get(), regions_stamp(self._regions_folder)

    def index(self, region_id: str, progress=None) -> RegionIndex:
        """Return the region's query index, current with the store and the regions: once a
        region is added or removed, every index and what was computed from it is made anew
        (a region may have been removed and added again from another file).

        Args:
            region_id: the region.
            progress: told how far a network build is, a :class:`geo.progress.Progress`.
        """
        revision = self.revision()
        with self._lock:
            known = self._indexes.get(region_id)
            if known is not None and known[0] == revision:
                return known[1]
            if known is not None and known[0][1] != revision[1]:
                self._indexes.clear()
                self._demand.clear()
                self._analyses.clear()
                known = None
            if known is not None:
                mark, index = self._updated(region_id, known[1], known[2])
            else:
                mark, _ = self.store.changed_since(None)
                region = self.region(region_id)
                index = RegionIndex(region_id, load_networks(region, progress=progress),
                                    self.store.list(region=region_id),
                                    cache_bytes=self.field_bytes)
            self._indexes[region_id] = (revision, index, mark)
            return index

    def _updated(self, region_id: str, index: RegionIndex, mark: int) -> tuple[int, RegionIndex]:
        """Bring a region's index up to date with the stations written since ``mark``; return
        the new mark and the index."""
        mark, written = self.store.changed_since(mark)
        if len(written) == 0:
            return mark, index
        changed = self.store.list(region=region_id, ids=written)
        kept = np.array([s.id for s in changed], dtype=np.int64)
        return mark, index.with_changes(changed, np.setdiff1d(written, kept))

    def nearest(self, region_id: str, point: tuple[float, float], mode: str, k: int = 1,
                filters: StationFilter | None = None, open_first_at: datetime | None = None,
                progress=None) -> NearestAnswer:
        """The ``k`` stations nearest by travel time from a WGS-84 point that meet ``filters``
        (see :func:`geo.nearest.nearest_stations`, whose errors it raises); with
        ``open_first_at``, those open then rank before the others
        (:func:`geo.nearest.nearest_open_first`). ``progress`` is told how far a network build
        is."""
        index = self.index(region_id, progress=progress)
        if open_first_at is not None:
            return nearest_open_first(index, point, mode, open_first_at, k=k, filters=filters)
        return nearest_stations(index, point, mode, k=k, filters=filters)

    def reach(self, region_id: str, point: tuple[float, float], mode: str,
              minutes: tuple[float, ...] = REACH_MINUTES) -> Reach:
        """The streets and open stations within each of ``minutes`` of a WGS-84 point (see
        :func:`geo.reach.reach`, whose errors it raises)."""
        return reach(self.index(region_id), point, mode, minutes)

    def places(self, region_id: str) -> Places:
        """The region's searchable places (see :func:`geo.places.places_for`)."""
        return places_for(self.region(region_id))

    def check_station(self, station: Station, exclude_id: int | None = None) -> Refusal | None:
        """Check where a station is put by the station rules (:mod:`geo.rules`): inside its
        region (with the margin) and no stored station of the same name close by.

        Args:
            station: the station, with its region, name and WGS-84 point.
            exclude_id: a stored station not to compare with (the one being changed).

        Returns:
            The first rule it breaks, or None.

        Raises:
            geo.regions.RegionError: its region is unknown.
        """
        outside = too_far_outside(station.lon, station.lat, self.index(station.region).bounds)
        if outside is not None:
            return Refusal("lon", "outside", outside)
        wanted = name_key(station.name)
        near = nearest_duplicate(station.lon, station.lat, (
            (other.lon, other.lat, other)
            for other, _ in self.store.within(station.lon, station.lat, DUPLICATE_RADIUS_M,
                                               region=station.region, exclude_id=exclude_id)
            if name_key(other.name) == wanted))
        return None if near is None else Refusal("name", "duplicate", near[0], near[1])

    def plan_import(self, region_id: str, file: bytes | BinaryIO, filename: str,
                    datum: str = "wgs84", problem_limit: int = IMPORT_PROBLEM_LIMIT,
                    progress=None, sheet: str | None = None) -> ImportPlan:
        """Read and check a station file for a region against its stored stations and the
        station rules, storing nothing (see :func:`geo.records.read_station_file`, whose errors
        it raises).

        Args:
            region_id: the region the stations are for.
            file: the file's bytes, or the file open for binary reading.
            filename: its name (its ending picks the format).
            datum: the datum of rows that name none.
            problem_limit: how many problems the plan lists; the rest are counted.
            progress: told how far a network build is, a :class:`geo.progress.Progress`.
            sheet: the Excel sheet to read; None for the first.
        """
        region = self.region(region_id)
        bounds = self.index(region.id, progress=progress).bounds
        return read_station_file(file, filename, region.id, self.store.list(region=region.id),
                                 datum, bounds, problem_limit, sheet)

    def apply_import(self, plan: ImportPlan, actor: str) -> list[Station]:
        """Store an importable plan's stations in one transaction (see
        :func:`geo.records.apply_import`, whose errors it raises)."""
        return apply_import(self.store, plan, actor)

    def demand(self, region_id: str, group_id: str, user_file: Path | None = None
               ) -> DemandLayer:
        """A worker group's demand layer from the region's own data (built once, then kept
        within the demand budget), or from a user's demand file (read each time; see
        :func:`geo.demand.demand_layer`, whose errors it raises)."""
        if user_file is not None:
            return self._demand_layer(region_id, group_id, user_file)
        return self._demand.get((region_id, group_id),
                                lambda: self._demand_layer(region_id, group_id))

    def _demand_layer(self, region_id: str, group_id: str, user_file: Path | None = None
                      ) -> DemandLayer:
        """Build a worker group's demand layer on its mode's network of the region."""
        network = self.index(region_id).network(worker_group(group_id).mode)
        return demand_layer(self.region(region_id), group_id, network, user_file)

    def coverage(self, region_id: str, group_id: str, threshold_min: float | None = None,
                 geometry: bool = True, demand: DemandLayer | None = None) -> CoverageAnalysis:
        """The coverage analysis of a region's open stations for a worker group (see
        :func:`geo.analysis.coverage_analysis`), kept until the stations change; with
        ``demand`` (a layer other than the region's own, say from :meth:`demand` with a user
        file) it is computed and not kept."""
        index = self.index(region_id)
        if demand is not None:
            return coverage_analysis(index, worker_group(group_id), demand, threshold_min,
                                     geometry)
        key = self._analysis_key(region_id, group_id, threshold_min, geometry)
        found = self._kept(key)
        if found is None:
            found = self._analyses.put(key, coverage_analysis(
                index, worker_group(group_id), self.demand(region_id, group_id), key[3],
                geometry))
        return found

    def cached_coverage(self, region_id: str, group_id: str, threshold_min: float | None = None,
                        geometry: bool = True) -> CoverageAnalysis | None:
        """The coverage analysis :meth:`coverage` would answer from its cache, or None when it
        would have to compute it (the region's index or the analysis is missing or stale)."""
        revision = self.revision()
        with self._lock:
            known = self._indexes.get(region_id)
            if known is None or known[0] != revision:
                return None
            key = self._analysis_key(region_id, group_id, threshold_min, geometry)
        return self._kept(key)

    def _kept(self, key: tuple) -> CoverageAnalysis | None:
        """The kept analysis of a cache key; one with geometry also answers for one without."""
        found = self._analyses.find(key)
        if found is None and not key[-1]:
            found = self._analyses.find((*key[:-1], True))
        return found

    def _analysis_key(self, region_id: str, group_id: str, threshold_min: float | None,
                      geometry: bool) -> tuple:
        """The cache key of a coverage analysis: the index's revision, the region, the group,
        the threshold in minutes (the group's default when None) and whether it has
        geometry."""
        threshold = worker_group(group_id).threshold_min if threshold_min is None \
            else float(threshold_min)
        return (self._indexes[region_id][0], region_id, group_id, threshold, geometry)

    def candidates(self, region_id: str, mode: str, source: str | Path = "sites",
                   rules: CandidateRules = CandidateRules()) -> gpd.GeoDataFrame:
        """Candidate sites for new stations on a region's mode network (see
        :func:`geo.candidates.candidate_sites`); the minimum-distance rule measures from the
        region's open stations."""
        region = self.region(region_id)
        index = self.index(region_id)
        lonlat = np.array([[s.lon, s.lat] for s in index.stations]).reshape(-1, 2)
        return candidate_sites(
            index.network(mode), source,
            region_source=region.source if _is_osm(region) else None,
            stations_lonlat=lonlat[index.matching()], rules=rules)

    def recommend(self, region_id: str, group_id: str, problem: str = "mclp", *,
                  k: int | None = None, target_share: float | None = None,
                  threshold_min: float | None = None, source: str | Path = "sites",
                  rules: CandidateRules = CandidateRules(), time_limit_s: float = 10.0,
                  curve: bool = True, demand: DemandLayer | None = None) -> Recommendation:
        """Recommend new station sites for a worker group in a region (see
        :func:`geo.recommend.recommend_sites`), with candidates from ``source``.

        Raises:
            geo.candidates.CandidateError: for a bad candidate source or rules.
            geo.recommend.RecommendError: for a request that cannot be answered.
        """
        group = worker_group(group_id)
        index = self.index(region_id)
        offered = self.candidates(region_id, group.mode, source, rules)
        layer = self.demand(region_id, group_id) if demand is None else demand
        return recommend_sites(index, group, layer, offered, problem, k=k,
                               target_share=target_share, threshold_min=threshold_min,
                               time_limit_s=time_limit_s, curve=curve)

    def whatif(self, region_id: str, group_id: str, added: list[Site], removed: list[int],
               threshold_min: float | None = None) -> CoverageAnalysis:
        """Coverage with hypothetical stations added and existing ones switched off, saved
        nowhere (see :func:`geo.whatif.whatif_coverage`)."""
        group = worker_group(group_id)
        return whatif_coverage(self.index(region_id), group, self.demand(region_id, group_id),
                               added, removed, threshold_min)

    def check_removed(self, region_id: str, removed: Iterable[int]) -> None:
        """Check that the stations a what-if switches off are the region's (see
        :func:`geo.whatif.check_removed`, whose ``WhatIfError`` it raises)."""
        check_removed(self.index(region_id), removed)

    def seed_demo_stations(self, region_id: str, progress=None) -> list[Station]:
        """Give a demo region demo stations, unless it has stations already.

        Stations come from the source's own host-like sites (telecom shops, banks, fuel
        stations, post offices, union and community offices); a source with none (a road-edge
        file) gets truck-driver homes spread over its truck network.

        Returns:
            The stations added (empty if the region had stations or is not a demo region).
        """
        region = self.region(region_id)
        if not region.demo or self.store.count(region=region_id) > 0:
            return []
        sites = cached_sites(region.source, hosts_only=True) if _is_osm(region) else None
        if sites is not None and len(sites):
            stations = demo_stations(region_id, sites)
        else:
            mode = "truck" if "truck" in region.modes else region.modes[0]
            network = load_networks(region, (mode,), progress=progress)[mode]
            stations = demo_stations_on_network(
                region_id, network.lon, network.lat, DEMO_NETWORK_STATIONS, "truck_driver_home"
            )
        self.store.replace_demo(region_id, stations)
        return self.store.list(region=region_id)


def _is_osm(region: Region) -> bool:
    """Whether the region's source is an OSM file (and so has sites to read)."""
    return region.source.name.lower().endswith(OSM_SUFFIXES)
