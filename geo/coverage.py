"""Coverage: how much of a worker group's demand can reach a station within a travel time.

Everything is read off arrays: the service field gives each node's time to its nearest open
station, one bounded search per station gives how many stations each node reaches within the
threshold, and demand is a weight on every node (see :mod:`geo.demand`).
"""

from __future__ import annotations

from dataclasses import dataclass

import h3
import h3.api.basic_int
import numpy as np
import pandas as pd

from geo.areas import station_reach
from geo.field import ServiceField
from geo.network import Network
from geo.streets import reached_fraction

#: Minutes at which the cumulative coverage curve is sampled (0 to 30 in half minutes).
CURVE_MINUTES = np.arange(0, 30.5, 0.5)


@dataclass(frozen=True)
class CoverageReport:
    """Coverage of one demand layer by a set of stations within a threshold.

    Shares are of all the demand on the network. Times are demand-weighted over the demand that
    reaches some station, in minutes.
    """

    threshold_min: float
    stations: int
    demand_total: float
    demand_reachable: float
    covered_demand: float
    covered_share: float
    double_covered_share: float
    covered_street_m: float
    total_street_m: float
    mean_time_min: float
    median_time_min: float
    p90_time_min: float

    def as_dict(self) -> dict:
        """The report as JSON-ready numbers (infinite times become None)."""
        return {k: (None if isinstance(v, float) and not np.isfinite(v) else v)
                for k, v in vars(self).items()}


def coverage_report(
    network: Network,
    field: ServiceField,
    demand: np.ndarray,
    threshold_min: float,
    reach_counts: np.ndarray | None = None,
) -> CoverageReport:
    """Measure coverage of ``demand`` by the stations of ``field`` within ``threshold_min``.

    Args:
        network: the group's mode network.
        field: the service field of the stations on it.
        demand: demand weight per node (N,).
        threshold_min: the travel-time threshold in minutes.
        reach_counts: how many stations each node reaches within the threshold (N,), from
            :func:`reach_counts`; computed here if not given.

    Returns:
        The report.
    """
    threshold_s = threshold_min * 60.0
    demand = np.asarray(demand, dtype=np.float64)
    total = float(demand.sum())
    times = field.time_s
    reachable = np.isfinite(times)
    covered = times <= threshold_s
    if reach_counts is None:
        reach_counts = station_reach_counts(network, field.station_nodes, threshold_min)
    covered_demand = float(demand[covered].sum())
    mean, median, p90 = _weighted_time_stats(times[reachable], demand[reachable])
    covered_m, total_m = street_lengths(network, times, threshold_s)
    return CoverageReport(
        threshold_min=float(threshold_min),
        stations=len(field.station_nodes),
        demand_total=total,
        demand_reachable=float(demand[reachable].sum()),
        covered_demand=covered_demand,
        covered_share=_share(covered_demand, total),
        double_covered_share=_share(float(demand[reach_counts >= 2].sum()), total),
        covered_street_m=covered_m,
        total_street_m=total_m,
        mean_time_min=mean / 60.0,
        median_time_min=median / 60.0,
        p90_time_min=p90 / 60.0,
    )


def station_reach_counts(network: Network, station_nodes: np.ndarray,
                         threshold_min: float) -> np.ndarray:
    """How many stations each node reaches within the threshold (N,), one bounded search per
    station over the reversed network."""
    if len(station_nodes) == 0:
        return np.zeros(network.n_nodes, dtype=np.int64)
    reach = station_reach(network, station_nodes, threshold_min * 60.0)
    return np.asarray((reach > 0).sum(axis=0)).ravel().astype(np.int64)


def street_lengths(network: Network, node_time_s: np.ndarray,
                   threshold_s: float) -> tuple[float, float]:
    """Street length within the threshold and in all, each street counted once (metres).

    A two-way street is covered from both ends: its covered length is the sum of the parts each
    direction covers, at most the whole street.
    """
    fraction = reached_fraction(network, node_time_s, threshold_s)
    u, v = network.edge_u, network.edge_v
    reverse = network.reverse_edge
    two_way = reverse >= 0
    first = ~two_way | (u < v)
    both = np.where(two_way, fraction + fraction[np.maximum(reverse, 0)], fraction)
    covered = np.minimum(both, 1.0)[first] * network.length_m[first]
    return float(covered.sum()), float(network.length_m[first].sum())


def coverage_curve(field: ServiceField, demand: np.ndarray,
                   minutes: np.ndarray = CURVE_MINUTES) -> pd.DataFrame:
    """Share of demand within each travel time (the cumulative curve).

    Returns:
        A frame with columns ``minutes`` and ``covered_share``.
    """
    demand = np.asarray(demand, dtype=np.float64)
    total = demand.sum()
    order = np.argsort(field.time_s)
    times = field.time_s[order]
    cumulative = np.concatenate([[0.0], np.cumsum(demand[order])])
    within = np.searchsorted(times, np.asarray(minutes) * 60.0, side="right")
    share = cumulative[within] / total if total > 0 else np.zeros(len(within))
    return pd.DataFrame({"minutes": minutes, "covered_share": share})


def station_catchments(field: ServiceField, demand: np.ndarray,
                       threshold_min: float) -> pd.DataFrame:
    """The demand each station serves first (its catchment), in all and within the threshold.

    Returns:
        One row per station of the field, in order: ``station`` (position), ``catchment_demand``
        and ``covered_demand``; the latter add up to the covered demand of the report.
    """
    demand = np.asarray(demand, dtype=np.float64)
    count = len(field.station_nodes)
    served = field.nearest >= 0
    within = served & (field.time_s <= threshold_min * 60.0)
    return pd.DataFrame({
        "station": np.arange(count),
        "catchment_demand": np.bincount(field.nearest[served], demand[served], minlength=count),
        "covered_demand": np.bincount(field.nearest[within], demand[within], minlength=count),
    })


def cell_statistics(network: Network, field: ServiceField, demand: np.ndarray,
                    threshold_min: float, resolution: int = 9) -> pd.DataFrame:
    """Coverage per H3 hexagon of the nodes with demand.

    Returns:
        One row per cell with demand: ``cell`` (H3 id), ``demand``, ``covered_demand``,
        ``covered_share``, ``mean_time_min`` (demand-weighted over nodes that reach a station,
        NaN where none does), sorted by uncovered demand, largest first.
    """
    demand = np.asarray(demand, dtype=np.float64)
    nodes = np.nonzero(demand > 0)[0]
    columns = ["cell", "demand", "covered_demand", "covered_share", "mean_time_min"]
    if len(nodes) == 0:
        return pd.DataFrame(columns=columns)
    to_cell = h3.api.basic_int.latlng_to_cell
    cells = np.fromiter((to_cell(lat, lon, resolution) for lat, lon in
                         zip(network.lat[nodes].tolist(), network.lon[nodes].tolist())),
                        dtype=np.uint64, count=len(nodes))
    times = field.time_s[nodes]
    weights = demand[nodes]
    reachable = np.isfinite(times)
    frame = pd.DataFrame({
        "cell": cells,
        "demand": weights,
        "covered_demand": np.where(times <= threshold_min * 60.0, weights, 0.0),
        "timed_demand": np.where(reachable, weights, 0.0),
        "weighted_minutes": np.where(reachable, weights * times / 60.0, 0.0),
    }).groupby("cell", as_index=False).sum()
    frame["cell"] = [h3.int_to_str(cell) for cell in frame["cell"].tolist()]
    frame["covered_share"] = frame["covered_demand"] / frame["demand"]
    frame["mean_time_min"] = frame["weighted_minutes"] / frame["timed_demand"].where(
        frame["timed_demand"] > 0)
    frame["uncovered"] = frame["demand"] - frame["covered_demand"]
    frame = frame.sort_values(["uncovered", "cell"], ascending=[False, True])
    return frame[columns].reset_index(drop=True)


def _share(part: float, total: float) -> float:
    """part / total, 0 when there is nothing to share."""
    return part / total if total > 0 else 0.0


def _weighted_time_stats(times: np.ndarray, weights: np.ndarray) -> tuple[float, float, float]:
    """Demand-weighted mean, median and 90th percentile of travel times (inf when no demand)."""
    total = weights.sum()
    if total <= 0:
        return float("inf"), float("inf"), float("inf")
    order = np.argsort(times)
    cumulative = np.cumsum(weights[order]) / total
    median = times[order][np.searchsorted(cumulative, 0.5)]
    p90 = times[order][min(int(np.searchsorted(cumulative, 0.9)), len(times) - 1)]
    return float(np.dot(times, weights) / total), float(median), float(p90)
