"""A coverage analysis's map layers as GeoDataFrames, their simplification for display, the
cache that keeps them (indexed for tiles, and tiles ready to send), and sending a map tile."""

from __future__ import annotations

import gzip
import hashlib
import math
from collections.abc import Callable
from typing import TypeVar

import geopandas as gpd
import h3
import pandas as pd
import shapely
from flask import Response, current_app, request, url_for

from geo import MAX_ZOOM, MIN_ZOOM, LruCache, TiledLayer, tile_problem
from web.params import BadParameter, whole_number

T = TypeVar("T")

#: Most bytes of map layers, tiles and charts the app keeps ready to send: the layers of a few
#: planner views of a city (a 330,000-node city's four layers take about 40 MB, most of it
#: uncovered streets), so a view's layers outlast the loading of its tiles.
LAYER_CACHE_BYTES = 256 * 1024 * 1024

#: How long a browser may keep a map tile or a chart, seconds (their addresses name the
#: station revision or the network they are drawn from).
LAYER_MAX_AGE_S = 86400


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
    """Map layers indexed for tiles, and tiles and charts ready to send (plain and gzipped);
    beyond a byte budget the least recently used are dropped (see :class:`geo.memory.LruCache`).
    Safe to share between threads.

    Args:
        budget_bytes: most bytes kept (plain and gzipped together, and the layers' own estimate
            of their size).
    """

    def __init__(self, budget_bytes: int) -> None:
        self._kept = LruCache(budget_bytes)

    def find(self, key: tuple) -> object | None:
        """What is kept under ``key``, else None."""
        return self._kept.find(key)

    def get(self, key: tuple, make: Callable[[], bytes]) -> tuple[bytes, bytes]:
        """The plain and gzipped bytes of the figure ``key``, made by ``make`` if not kept."""
        def packed() -> tuple[bytes, bytes]:
            body = make()
            return body, gzip.compress(body, compresslevel=5)
        return self.keep(key, packed, lambda found: len(found[0]) + len(found[1]))

    def layer(self, key: tuple, make: Callable[[], TiledLayer]) -> TiledLayer:
        """The tiled layer ``key``, made by ``make`` if not kept."""
        return self.keep(key, make, lambda layer: layer.nbytes)

    def keep(self, key: tuple, make: Callable[[], T], size: Callable[[T], int]) -> T:
        """What is kept under ``key``; if nothing is, made by ``make`` and kept, counting
        ``size(made)`` bytes against the budget."""
        found = self.find(key)
        if found is not None:
            return found
        made = make()
        return self._kept.put(key, made, size(made))


def map_cache() -> LayerCache:
    """The app's cache of map layers, tiles and charts, ready to send (at most the app's
    ``LAYER_CACHE_BYTES``)."""
    return current_app.extensions.setdefault(
        "map_layers", LayerCache(current_app.config["LAYER_CACHE_BYTES"]))


def tile_numbers(z: str, x: str, y: str) -> tuple[int, int, int]:
    """A tile's zoom, column and row from its address.

    Raises:
        BadParameter: naming ``z``, ``x`` or ``y`` if one is not a tile's.
    """
    numbers = {}
    for name, raw in (("z", z), ("x", x), ("y", y)):
        numbers[name] = whole_number(raw, 2**31 - 1)
        if numbers[name] is None:
            raise BadParameter(name, f"must be a whole number from {MIN_ZOOM} to {MAX_ZOOM}"
                               if name == "z" else "must be a whole number, a tile's at zoom z")
    problem = tile_problem(**numbers)
    if problem:
        raise BadParameter(*problem)
    return numbers["z"], numbers["x"], numbers["y"]


def tile_url(endpoint: str, **values) -> str:
    """The address of an endpoint's tiles with ``{z}``, ``{x}`` and ``{y}`` for a map to fill
    in, as Leaflet's tile layers take it; ``values`` fill the rest."""
    url = url_for(endpoint, z="{z}", x="{x}", y="{y}", **values)
    return url.replace("%7Bz%7D", "{z}").replace("%7Bx%7D", "{x}").replace("%7By%7D", "{y}")


def send_figure(found: tuple[bytes, bytes], mimetype: str) -> Response:
    """A figure from the cache (a tile, a chart), gzipped for a browser that takes it; a
    browser may keep it, since its address names what it is drawn from, and asks again with
    its ETag."""
    body, packed = found
    response = Response(body, mimetype=mimetype)
    if "gzip" in request.accept_encodings:
        response.set_data(packed)
        response.content_encoding = "gzip"
    response.vary.add("Accept-Encoding")
    response.cache_control.max_age = LAYER_MAX_AGE_S
    response.set_etag(hashlib.blake2b(packed, digest_size=12).hexdigest())
    return response.make_conditional(request)


def send_tile(cache: LayerCache, key: tuple, layer: Callable[[], TiledLayer],
              z: int, x: int, y: int) -> Response:
    """A tile of a layer from the cache, cut from the layer if not kept; 204 (no content) where
    the layer has nothing.

    Args:
        cache: the cache the tile is kept in.
        key: the layer's cache key; the tile's adds ``(z, x, y)``.
        layer: the tiled layer, made if need be.
    """
    found = cache.find((*key, z, x, y))
    if found is None:
        text = layer().geojson(z, x, y)
        if text is None:
            response = Response(b"", status=204)  # of no length: not compressed
            response.cache_control.max_age = LAYER_MAX_AGE_S
            return response
        found = cache.get((*key, z, x, y), lambda: text.encode("utf-8"))
    return send_figure(found, "application/geo+json")
