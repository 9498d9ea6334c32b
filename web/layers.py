"""A coverage analysis's map layers as GeoDataFrames, their simplification for display, and
the cache that keeps them ready to send."""

from __future__ import annotations

import gzip
import math
import threading
from collections import OrderedDict
from collections.abc import Callable

import geopandas as gpd
import h3
import pandas as pd
import shapely


def hexagon_layer(cells: pd.DataFrame) -> gpd.GeoDataFrame:
    """The demand hexagons as polygons in WGS-84.

    Args:
        cells: coverage per H3 cell (see :func:`geo.coverage.cell_statistics`), with ``cell``.

    Returns:
        The same rows with each cell's hexagon as geometry.
    """
    hexagons = [shapely.Polygon([(lon, lat) for lat, lon in h3.cell_to_boundary(cell)])
                for cell in cells["cell"]]
    return gpd.GeoDataFrame(cells, geometry=hexagons, crs="EPSG:4326")


def display_tolerance(bounds: tuple[float, float, float, float]) -> float:
    """How much (degrees) shapes may be simplified for drawing a region: about 2 m in a district,
    more in a city, so layers stay small."""
    span = max(bounds[2] - bounds[0], bounds[3] - bounds[1])
    return max(2e-5, span / 5000)


def for_display(layer: gpd.GeoDataFrame, tolerance: float) -> gpd.GeoDataFrame:
    """A layer with its shapes simplified by ``tolerance`` degrees and its coordinates rounded
    to the decimals that keep a quarter of it (which also keeps its GeoJSON short)."""
    simple = shapely.simplify(layer.geometry.values, tolerance, preserve_topology=True)
    digits = math.ceil(-math.log10(tolerance / 4))
    return layer.set_geometry(shapely.transform(simple, lambda xy: xy.round(digits)),
                              crs=layer.crs)


class LayerCache:
    """Map layers ready to send, plain and gzipped; beyond a byte budget the least recently used
    are dropped. Safe to share between threads."""

    def __init__(self, budget_bytes: int) -> None:
        """Args:
            budget_bytes: most bytes kept (plain and gzipped together).
        """
        self.budget_bytes = budget_bytes
        self._entries: OrderedDict[tuple, tuple[bytes, bytes]] = OrderedDict()
        self._size = 0
        self._lock = threading.Lock()

    def find(self, key: tuple) -> tuple[bytes, bytes] | None:
        """The plain and gzipped bytes of the layer ``key`` if kept, else None."""
        with self._lock:
            found = self._entries.get(key)
            if found is not None:
                self._entries.move_to_end(key)
            return found

    def get(self, key: tuple, make: Callable[[], bytes]) -> tuple[bytes, bytes]:
        """The plain and gzipped bytes of the layer ``key``, made by ``make`` if not kept."""
        found = self.find(key)
        if found is not None:
            return found
        body = make()
        found = (body, gzip.compress(body, compresslevel=5))
        with self._lock:
            if key not in self._entries:
                self._entries[key] = found
                self._size += len(body) + len(found[1])
            while self._size > self.budget_bytes:
                _key, (plain, packed) = self._entries.popitem(last=False)
                self._size -= len(plain) + len(packed)
        return found
