"""Map layers cut into Web Mercator tiles (``z/x/y``, as Leaflet and OpenStreetMap number
them) as GeoJSON, so a map loads only what its view shows, simplified for its zoom.

A layer's features are indexed once (:class:`TiledLayer`); each tile is then a query of the
index, a clip to the tile and a simplification to the tile's pixels. The rule a tile keeps:

- A tile holds exactly the layer's features that intersect it (its closed box in WGS-84),
  each clipped to the tile, so neighbouring tiles meet without overlapping.
- Each shape is simplified by half a pixel of the tile's zoom and its coordinates rounded to a
  quarter of a pixel. A shape that collapses (no area left of a polygon, no length of a line) is
  sent as a point on it, so no feature is lost when the map is zoomed out.
- A polygon layer may be *outlined*: each polygon then comes with its boundary inside the tile
  (a GeometryCollection of the fill and the outline), so a map draws the fill without a stroke
  and the outline without the tile's edges. An outline with no length left at the zoom (a
  polygon smaller than a pixel) is left out; the polygon's fill or point still stands for it.
- A layer without properties (a basemap's streets) is sent as one feature: its lines as a
  MultiLineString, its collapsed ones as a MultiPoint with one point per pixel.
"""

from __future__ import annotations

import json
import math

import numpy as np
import shapely

__all__ = [
    "MAX_ZOOM",
    "MIN_ZOOM",
    "TILE_SIZE",
    "TiledLayer",
    "fit_zoom",
    "properties_text",
    "region_tiles",
    "tile_bounds",
    "tile_problem",
    "tile_zoom",
]

#: Pixels along a tile's side: a tile of zoom ``z`` is drawn at map zoom ``z + 1`` (as
#: Mapbox's are), a quarter of the requests of 256-pixel tiles for the same view.
TILE_SIZE = 512

#: Fewest and most zoom levels tiles are cut for: a province fits a tile at 5; at 18 a pixel
#: is about 30 cm (maps zoom further by enlarging zoom 18's tiles).
MIN_ZOOM = 5
MAX_ZOOM = 18

#: Pixels around the world at map zoom 0 (Leaflet's and OpenStreetMap's).
_WORLD_PIXELS = 256

#: Web Mercator's northmost (and, negated, southmost) latitude.
_MAX_LAT = 85.0511287798066


def tile_problem(z: int, x: int, y: int) -> tuple[str, str] | None:
    """What is wrong with a tile's numbers, if anything.

    Returns:
        ``(parameter, message)`` naming ``z``, ``x`` or ``y``, or None for a tile that exists.
    """
    if not MIN_ZOOM <= z <= MAX_ZOOM:
        return "z", f"tiles are cut for zoom levels {MIN_ZOOM} to {MAX_ZOOM}"
    for name, value in (("x", x), ("y", y)):
        if not 0 <= value < 2**z:
            return name, f"at zoom {z} tiles run from 0 to {2**z - 1}"
    return None


def tile_bounds(z: int, x: int, y: int) -> tuple[float, float, float, float]:
    """A tile's box in WGS-84 degrees.

    Returns:
        ``(west, south, east, north)``.
    """
    n = 2**z
    west, east = x / n * 360 - 180, (x + 1) / n * 360 - 180
    north, south = (math.degrees(math.atan(math.sinh(math.pi * (1 - 2 * row / n))))
                    for row in (y, y + 1))
    return west, south, east, north


def _tile_xy(lon: float, lat: float, z: int) -> tuple[float, float]:
    """Where a point falls in the tiles of zoom ``z``, in tiles (fractions within one)."""
    lat = min(max(lat, -_MAX_LAT), _MAX_LAT)
    n = 2**z
    row = (1 - math.asinh(math.tan(math.radians(lat))) / math.pi) / 2 * n
    return (lon + 180) / 360 * n, row


def region_tiles(bounds: tuple[float, float, float, float], z: int) -> list[tuple[int, int, int]]:
    """The tiles of zoom ``z`` that a box touches, west to east then north to south.

    Args:
        bounds: ``(west, south, east, north)`` in degrees.
    """
    left, top = _tile_xy(bounds[0], bounds[3], z)
    right, bottom = _tile_xy(bounds[2], bounds[1], z)
    last = 2**z - 1
    return [(z, x, y) for y in range(int(top), min(int(bottom), last) + 1)
            for x in range(int(left), min(int(right), last) + 1)]


def fit_zoom(bounds: tuple[float, float, float, float], width: int, height: int,
             snap: float = 1.0) -> float:
    """The zoom at which a map of ``width`` × ``height`` pixels first shows a box whole, as
    Leaflet's ``fitBounds`` picks it: the largest multiple of ``snap`` at which it fits (or
    within 1 % of a multiple of it). Its tiles are those of the nearest whole zoom.

    Args:
        bounds: ``(west, south, east, north)`` in degrees.
        width, height: the map's size in pixels.
        snap: the map's ``zoomSnap``.
    """
    left, top = _tile_xy(bounds[0], bounds[3], 0)
    right, bottom = _tile_xy(bounds[2], bounds[1], 0)
    scale = min(width / ((right - left) * _WORLD_PIXELS),
                height / ((bottom - top) * _WORLD_PIXELS))
    zoom = round(math.log2(scale) / (snap / 100)) * (snap / 100)
    return math.floor(zoom / snap) * snap


def tile_zoom(map_zoom: float) -> int:
    """The zoom of the tiles a map draws at ``map_zoom`` (Leaflet rounds it to a whole zoom),
    within :data:`MIN_ZOOM` and :data:`MAX_ZOOM`."""
    whole = math.floor(map_zoom + 0.5) - int(math.log2(TILE_SIZE // _WORLD_PIXELS))
    return min(max(whole, MIN_ZOOM), MAX_ZOOM)


class TiledLayer:
    """A layer's features indexed once (a shapely STRtree) and cut into tiles on request.

    Args:
        geometries: the features' shapes in WGS-84.
        properties: each feature's properties as JSON text (an object), in the same order; None
            for a layer of shapes only, sent as one feature (see the module's rules).
        outlined: whether each polygon comes with its outline (see the module's rules).
    """

    def __init__(self, geometries: np.ndarray, properties: list[str] | None = None,
                 outlined: bool = False) -> None:
        self.geometries = np.asarray(geometries, dtype=object)
        self.properties = properties
        self.outlined = outlined
        #: ``(west, south, east, north)`` of the features, None for a layer without any.
        self.bounds = (tuple(shapely.total_bounds(self.geometries).tolist())
                       if len(self.geometries) else None)
        self._tree = shapely.STRtree(self.geometries)

    @property
    def nbytes(self) -> int:
        """About how many bytes the layer holds: its coordinates and properties, and the index."""
        coordinates = int(shapely.get_num_coordinates(self.geometries).sum())
        text = sum(len(p) for p in self.properties) if self.properties else 0
        return 40 * coordinates + 200 * len(self.geometries) + text

    def features(self, z: int, x: int, y: int) -> np.ndarray:
        """The positions of the features that intersect a tile, in order."""
        west, south, east, north = tile_bounds(z, x, y)
        if self.bounds is None or (west > self.bounds[2] or east < self.bounds[0]
                                   or south > self.bounds[3] or north < self.bounds[1]):
            return np.empty(0, dtype=np.int64)  # outside the layer: no need to ask the index
        return np.sort(self._tree.query(shapely.box(west, south, east, north),
                                        predicate="intersects"))

    def geojson(self, z: int, x: int, y: int) -> str | None:
        """A tile as GeoJSON text (a FeatureCollection), or None if no feature intersects it.

        Each feature carries its position in the layer as ``id``.
        """
        found = self.features(z, x, y)
        if not len(found):
            return None
        west, south, east, north = tile_bounds(z, x, y)
        pixel = min(east - west, north - south) / TILE_SIZE
        box = shapely.box(west, south, east, north)
        clipped = shapely.intersection(self.geometries[found], box)
        shapes = _drawn(clipped, pixel)
        if self.properties is None:
            return _collection([_anonymous(shapes, pixel)])
        if self.outlined:
            shapes = _outlined(shapes, self.geometries[found], box, pixel)
        texts = shapely.to_geojson(shapes)
        return _collection([f'{{"type":"Feature","id":{i},"properties":{self.properties[i]},'
                            f'"geometry":{text}}}' for i, text in zip(found.tolist(), texts)])


def _simplified(shapes: np.ndarray, pixel: float) -> np.ndarray:
    """Shapes simplified by half a ``pixel`` and rounded to a quarter of one."""
    return _rounded(shapely.simplify(shapes, pixel / 2, preserve_topology=True), pixel)


def _rounded(shapes: np.ndarray, pixel: float) -> np.ndarray:
    """Shapes with their coordinates rounded to the decimals that keep a quarter of a pixel."""
    digits = max(0, math.ceil(-math.log10(pixel / 4)))
    return shapely.transform(shapes, lambda xy: xy.round(digits))


def _drawn(shapes: np.ndarray, pixel: float) -> np.ndarray:
    """Shapes simplified for a zoom (:func:`_simplified`); a shape with no area or length left
    becomes a point on it."""
    simple = _simplified(shapes, pixel)
    dimension = shapely.get_dimensions(shapes)
    collapsed = (((dimension == 2) & (shapely.area(simple) == 0))
                 | ((dimension == 1) & (shapely.length(simple) == 0))
                 | shapely.is_empty(simple))
    if collapsed.any():
        simple[collapsed] = _rounded(shapely.point_on_surface(shapes[collapsed]), pixel)
    return simple


def _outlined(shapes: np.ndarray, whole: np.ndarray, box: shapely.Polygon,
              pixel: float) -> np.ndarray:
    """Drawn polygons (``shapes``, cut from ``whole`` by ``box``) with their outline inside the
    box added: a GeometryCollection of the fill and the outline, where the simplified outline
    has any length left."""
    polygonal = np.nonzero(np.isin(shapely.get_type_id(shapes), (3, 6)))[0]
    edges = _simplified(shapely.intersection(shapely.boundary(whole[polygonal]), box), pixel)
    kept = shapely.length(edges) > 0
    shapes = shapes.copy()
    shapes[polygonal[kept]] = shapely.geometrycollections(
        np.column_stack([shapes[polygonal[kept]], edges[kept]]).tolist())
    return shapes


def _anonymous(shapes: np.ndarray, pixel: float) -> str:
    """Shapes of a layer without properties as one feature: lines, and a point per pixel for
    those that collapsed."""
    parts = shapely.get_parts(shapes)
    points = shapely.get_type_id(parts) == 0
    dots = np.unique(np.round(shapely.get_coordinates(parts[points]) / pixel), axis=0) * pixel
    geometry = shapely.geometrycollections(
        [shapely.multilinestrings(parts[~points]), _rounded(shapely.multipoints(dots), pixel)])
    return f'{{"type":"Feature","properties":{{}},"geometry":{shapely.to_geojson(geometry)}}}'


def _collection(features: list[str]) -> str:
    """A FeatureCollection of features given as JSON text."""
    return '{"type":"FeatureCollection","features":[' + ",".join(features) + "]}"


def properties_text(records: list[dict]) -> list[str]:
    """Each record as compact JSON text, the ``properties`` a :class:`TiledLayer` takes."""
    return [json.dumps(record, ensure_ascii=False, separators=(",", ":")) for record in records]
