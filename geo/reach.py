"""What a worker can reach: the streets and the open stations within a few minutes of a point.

The areas are the planner's service areas (:func:`geo.areas.service_areas`), one per time,
traced from the end of the worker's street reached first, with the time it takes to get there
(the partial street, and any walk to it) taken off: the streets within that time of the point,
buffered and traced the same way. Like every service area they are measured along travel
*towards* that node, which is the same on a network where every street runs both ways
(walking); on one-way streets it is the way back. The stations are the nearest-station answer's
(:func:`geo.nearest.nearest_stations`, exact snapping and partial streets included), so a
station's minutes here are its minutes there.
"""

from __future__ import annotations

from dataclasses import dataclass

import geopandas as gpd
import numpy as np
import pandas as pd

from geo.areas import service_areas
from geo.index import RegionIndex, Snap
from geo.nearest import OutsideRegion, nearest_stations
from geo.snapping import street_ends
from geo.stations import Station

#: The reach times a worker is shown by default, minutes.
REACH_MINUTES = (5.0, 10.0, 15.0)


@dataclass(frozen=True)
class Reach:
    """The areas and the stations within each time of a worker's point.

    Attributes:
        mode: the travel mode.
        snap: where the point joins the mode's network.
        areas: one row per time, ascending (EPSG:4326): ``minutes``, ``reached_m``, ``area_m2``
            and ``geometry``.
        stations: the open stations within the longest time and their travel times in seconds,
            soonest first.
    """

    mode: str
    snap: Snap
    areas: gpd.GeoDataFrame
    stations: list[tuple[Station, float]]


def reach(index: RegionIndex, point: tuple[float, float], mode: str,
          minutes: tuple[float, ...] = REACH_MINUTES) -> Reach:
    """The streets and the open stations within each of ``minutes`` of a WGS-84 point.

    Args:
        index: the region's query index.
        point: the worker's position as WGS-84 ``(lon, lat)``.
        mode: travel mode id.
        minutes: the times, minutes, each positive.

    Returns:
        The reach; its areas ascend by time.

    Raises:
        OutsideRegion: the point is outside the region.
        ValueError: for a mode the region lacks, or no or a non-positive time.
    """
    times = sorted({float(m) for m in minutes})
    if not times or times[0] <= 0:
        raise ValueError(f"minutes must be positive numbers, got {list(minutes)}")
    if not index.covers(*point):
        raise OutsideRegion(f"the point ({point[0]:.5f}, {point[1]:.5f}) is outside region "
                            f"{index.region_id!r}")
    network = index.network(mode)
    snap = index.snap(mode, point[0], point[1])
    sources, source_s, _source_m = (a[0] for a in street_ends(network, snap.on, leaving=True))
    usable = sources >= 0
    first = int(np.argmin(np.where(usable, source_s, np.inf)))
    lead_s = float(source_s[first]) + float(snap.walk_s)
    frames = [service_areas(network, sources[first:first + 1],
                            max(m * 60.0 - lead_s, 1.0)).assign(minutes=m)
              for m in times]
    areas = gpd.GeoDataFrame(
        pd.concat(frames, ignore_index=True)[["minutes", "reached_m", "area_m2", "geometry"]],
        crs=frames[0].crs)
    limit_s = times[-1] * 60.0
    answer = nearest_stations(index, point, mode, k=max(int(index.matching().sum()), 1))
    stations = [(hit.station, hit.time_s) for hit in answer.hits if hit.time_s <= limit_s]
    return Reach(mode=mode, snap=snap, areas=areas, stations=stations)
