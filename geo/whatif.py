"""What-if coverage: the region's stations with hypothetical ones added and real ones switched
off, measured like the real network and saved nowhere."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Protocol

from geo.analysis import CoverageAnalysis, coverage_analysis
from geo.demand import DemandLayer
from geo.groups import WorkerGroup
from geo.index import RegionIndex
from geo.rules import too_far_outside
from geo.stations import Station

#: The station kind a hypothetical station of each worker group is.
GROUP_KINDS: dict[str, str] = {
    "street": "love_station",
    "couriers": "courier_home",
    "trucks": "truck_driver_home",
}


#: Most unknown station ids a refusal of ``removed`` lists (it counts the rest).
SHOWN_IDS: int = 10


class WhatIfError(ValueError):
    """A what-if request naming a station or point that cannot be used.

    Attributes:
        field: ``added`` or ``removed``.
    """

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


def check_removed(index: RegionIndex, removed: Iterable[int]) -> None:
    """Refuse station ids to switch off that are not among the region's stations.

    Args:
        index: the region's index.
        removed: ids of stations to switch off.

    Raises:
        WhatIfError: naming ``removed``, listing the first :data:`SHOWN_IDS` unknown ids and
            counting the rest.
    """
    unknown = sorted(set(removed) - {s.id for s in index.stations})
    if unknown:
        more = len(unknown) - SHOWN_IDS
        raise WhatIfError("removed", "no station with id "
                          + ", ".join(map(str, unknown[:SHOWN_IDS]))
                          + (f" and {more} more" if more > 0 else "")
                          + f" in region {index.region_id!r}")


class Site(Protocol):
    """A hypothetical station's place: WGS-84 ``lon``, ``lat`` and a ``name`` (may be empty)."""

    lon: float
    lat: float
    name: str


def whatif_stations(index: RegionIndex, group: WorkerGroup, added: Sequence[Site],
                    removed: Iterable[int]) -> list[Station]:
    """The region's stations with ``removed`` switched off and ``added`` opened.

    Hypothetical stations are open, of the group's station kind, and have negative ids (-1, -2,
    …, in the order given) so that nothing can mistake them for stored ones.

    Args:
        index: the region's index.
        group: the worker group (picks the station kind).
        added: places of hypothetical stations.
        removed: ids of existing stations to switch off.

    Returns:
        The station list of the what-if.

    Raises:
        WhatIfError: for an id not among the region's stations, or a place a station may not
            stand at (:func:`geo.rules.too_far_outside`).
    """
    removed = set(removed)
    check_removed(index, removed)
    for number, site in enumerate(added, start=1):
        if too_far_outside(site.lon, site.lat, index.bounds) is not None:
            raise WhatIfError("added", f"new station {number} at ({site.lon:.5f}, "
                              f"{site.lat:.5f}) is outside region {index.region_id!r}")
    kind = GROUP_KINDS.get(group.id, "love_station")
    hypothetical = [
        Station(name=site.name or f"新站点 {number}", region=index.region_id, kind=kind,
                lon=float(site.lon), lat=float(site.lat), status="open", id=-number)
        for number, site in enumerate(added, start=1)
    ]
    kept = [s for s in index.stations if s.id not in removed]
    return kept + hypothetical


def whatif_coverage(index: RegionIndex, group: WorkerGroup, demand: DemandLayer,
                    added: Sequence[Site], removed: Iterable[int],
                    threshold_min: float | None = None) -> CoverageAnalysis:
    """Coverage of a worker group with hypothetical stations added and existing ones switched
    off (see :func:`whatif_stations`); the numbers, gaps and service areas are those of
    :func:`geo.analysis.coverage_analysis`.

    Args:
        index: the region's index.
        group: the worker group.
        demand: its demand layer.
        added: places of hypothetical stations.
        removed: ids of existing stations to switch off.
        threshold_min: the threshold; the group's default if None.

    Returns:
        The what-if analysis.
    """
    stations = whatif_stations(index, group, added, removed)
    return coverage_analysis(index.with_stations(stations), group, demand, threshold_min)
