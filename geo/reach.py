"""What a worker can reach: the streets and the open stations within a few minutes of a point.

The areas are the planner's service areas (:func:`geo.areas.service_areas`) of the worker's
network node, one per time: the streets within that time of the point, buffered and traced the
same way. Like every service area they are measured along travel *towards* the node, which is
the same on a network where every street runs both ways (walking); on one-way streets it is the
way back. The stations are timed from the worker's node, as the nearest-station answer times
them, so a station's minutes here are its minutes there.
"""

from __future__ import annotations

from dataclasses import dataclass

import geopandas as gpd
import numpy as np
import pandas as pd
from scipy.sparse.csgraph import dijkstra

from geo.areas import service_areas
from geo.index import RegionIndex, Snap
from geo.nearest import OutsideRegion
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
    frames = [service_areas(network, np.array([snap.node]), m * 60.0).assign(minutes=m)
              for m in times]
    areas = gpd.GeoDataFrame(
        pd.concat(frames, ignore_index=True)[["minutes", "reached_m", "area_m2", "geometry"]],
        crs=frames[0].crs)
    limit_s = times[-1] * 60.0
    from_here = dijkstra(network.matrix("time"), directed=True, indices=snap.node, limit=limit_s)
    chosen = np.nonzero(index.matching())[0]
    station_s = from_here[index.station_nodes(mode)[chosen]]
    inside = np.nonzero(station_s <= limit_s)[0]
    order = inside[np.argsort(station_s[inside], kind="stable")]
    stations = [(index.stations[int(chosen[i])], float(station_s[i])) for i in order]
    return Reach(mode=mode, snap=snap, areas=areas, stations=stations)
