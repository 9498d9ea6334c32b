"""Street names for the region's own basemap: where to write each name at street zoom.

The named ``highway`` ways of a region's OSM file are read once (:class:`StreetNameCollector`,
cached on disk like the place index) and indexed for tiles (:class:`NamedStreets`). From
:data:`LABEL_ZOOM` on, a tile of streets also carries one label per street name that has a piece
in it long enough to hold the name: a Point on the middle of its longest piece there, with the
``name`` and the ``angle`` (degrees clockwise from east, within ±90° so that it reads left to
right) of the street at that point. A map writes the name there, along the street.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, ClassVar

import numpy as np
import osmium
import shapely

from geo.extract import OSM_SUFFIXES, cached_product
from geo.tiles import TILE_SIZE, TiledLayer, properties_text, tile_bounds

if TYPE_CHECKING:
    from geo.regions import Region

#: The first tile zoom whose street tiles carry names (tiles of zoom z are drawn at map zoom
#: z + 1, so names show from map zoom 16, where a pixel is about 2 m).
LABEL_ZOOM = 15

#: Pixels of a tile each letter of a name needs along its street (an 11-pixel letter and room
#: around it); a piece shorter than that gets no label.
LETTER_PX = 20.0


class StreetNameCollector:
    """Collects the named streets (``highway`` ways with a ``name``) of an OSM file as lines
    (see :class:`geo.extract.CachedCollector` and :func:`street_names_for`)."""

    product: ClassVar[str] = "street_names"
    keys: ClassVar[tuple[str, ...]] = ("name",)
    kinds: ClassVar[osmium.osm.osm_entity_bits] = osmium.osm.WAY

    def __init__(self) -> None:
        self._names: list[str] = []
        self._lines: list[list[tuple[float, float]]] = []

    def way(self, way: osmium.osm.Way) -> None:
        """Take a named street way's line (its vertices with a location)."""
        name = (way.tags.get("name") or "").strip()
        if not name or "highway" not in way.tags:
            return
        points = [(n.location.lon, n.location.lat) for n in way.nodes if n.location.valid()]
        if len(points) >= 2:
            self._names.append(name)
            self._lines.append(points)

    def result(self) -> NamedStreets:
        """The streets taken, indexed for tiles, each with its ``name``."""
        sizes = np.array([len(line) for line in self._lines], dtype=np.int64)
        coords = np.array([p for line in self._lines for p in line], dtype=np.float64)
        return NamedStreets.of(self._names, coords.reshape(-1, 2), sizes)

    @staticmethod
    def to_arrays(product: NamedStreets) -> dict[str, np.ndarray]:
        """The streets as arrays: names, vertex counts and vertices."""
        return {"name": np.asarray(product.names, dtype=str), "sizes": product.sizes,
                "coords": product.coords}

    @staticmethod
    def from_arrays(arrays: Mapping[str, np.ndarray]) -> NamedStreets:
        """The streets from :meth:`to_arrays`' arrays."""
        return NamedStreets.of(arrays["name"].tolist(), arrays["coords"], arrays["sizes"])


class NamedStreets(TiledLayer):
    """Named street lines indexed for tiles (properties ``{"name": ...}``).

    Attributes:
        names: each line's name.
        coords, sizes: the lines' vertices (V, 2) and how many each line has (L,).
    """

    names: list[str]
    coords: np.ndarray
    sizes: np.ndarray

    @classmethod
    def of(cls, names: list[str], coords: np.ndarray, sizes: np.ndarray) -> NamedStreets:
        """The layer of lines given as names, vertices and vertex counts."""
        sizes = np.asarray(sizes, dtype=np.int64)
        coords = np.asarray(coords, dtype=np.float64).reshape(-1, 2)
        lines = (shapely.linestrings(coords, indices=np.repeat(np.arange(len(sizes)), sizes))
                 if len(sizes) else np.empty(0, dtype=object))
        layer = cls(lines, properties_text([{"name": name} for name in names]))
        layer.names, layer.coords, layer.sizes = list(names), coords, sizes
        return layer

    def labels(self, z: int, x: int, y: int) -> list[str]:
        """The name labels of a tile as GeoJSON Point features (text), one per name whose
        longest piece in the tile holds it; none below :data:`LABEL_ZOOM`."""
        if z < LABEL_ZOOM:
            return []
        found = self.features(z, x, y)
        if not len(found):
            return []
        west, south, east, north = tile_bounds(z, x, y)
        pixel = min(east - west, north - south) / TILE_SIZE
        pieces = shapely.get_parts(shapely.intersection(
            self.geometries[found], shapely.box(west, south, east, north)), return_index=True)
        parts, owner = pieces
        lines = shapely.get_type_id(parts) == 1
        parts, owner = parts[lines], found[owner[lines]]
        longest: dict[str, tuple[float, shapely.LineString]] = {}
        for part, line in zip(parts, owner.tolist()):
            name = self.names[line]
            length = shapely.length(part) / pixel
            if length >= LETTER_PX * len(name) and length > longest.get(name, (0.0, None))[0]:
                longest[name] = (length, part)
        digits = max(0, math.ceil(-math.log10(pixel / 4)))
        features = []
        for name, (_, part) in sorted(longest.items()):
            lon, lat = shapely.get_coordinates(shapely.line_interpolate_point(
                part, 0.5, normalized=True))[0]
            text = properties_text([{"name": name, "angle": label_angle(part, lat)}])[0]
            features.append(f'{{"type":"Feature","properties":{text},"geometry":{{"type":'
                            f'"Point","coordinates":[{lon:.{digits}f},{lat:.{digits}f}]}}}}')
        return features



class LabelledStreets:
    """A basemap's streets (a layer without properties, see :mod:`geo.tiles`) whose tiles from
    :data:`LABEL_ZOOM` on also carry the names of :class:`NamedStreets` as labels.

    Args:
        streets: the streets drawn.
        names: the named streets the labels come from.
    """

    def __init__(self, streets: TiledLayer, names: NamedStreets) -> None:
        self.streets = streets
        self.names = names
        self.bounds = streets.bounds

    @property
    def nbytes(self) -> int:
        """About how many bytes the two layers hold."""
        return self.streets.nbytes + self.names.nbytes

    def geojson(self, z: int, x: int, y: int) -> str | None:
        """A tile of the streets as GeoJSON text, with its name labels added to its features;
        None where there is no street."""
        text = self.streets.geojson(z, x, y)
        labels = self.names.labels(z, x, y) if text is not None else []
        if not labels:
            return text
        return text[:-2] + "," + ",".join(labels) + "]}"  # type: ignore[index]


def label_angle(line: shapely.LineString, lat: float) -> int:
    """The direction of a line around its middle on a map, whole degrees clockwise from east
    within [-90, 90] (screen y runs south)."""
    coords = shapely.get_coordinates(line)
    middle = shapely.length(line) / 2
    lengths = np.cumsum(np.hypot(*np.diff(coords, axis=0).T))
    i = min(int(np.searchsorted(lengths, middle)), len(coords) - 2)
    dx = (coords[i + 1, 0] - coords[i, 0]) * math.cos(math.radians(lat))
    dy = coords[i + 1, 1] - coords[i, 1]
    angle = math.degrees(math.atan2(-dy, dx))
    if angle > 90:
        angle -= 180
    elif angle < -90:
        angle += 180
    return round(angle)


def street_names_for(region: Region) -> NamedStreets:
    """The named streets of a region's OSM source, read once per version of the file; none for
    a source that is not an OSM file (a road-edge layer has no names)."""
    if not region.source.name.lower().endswith(OSM_SUFFIXES):
        return NamedStreets.of([], np.zeros((0, 2)), np.zeros(0, dtype=np.int64))
    return _cached_street_names(str(region.source), region.source.stat().st_mtime_ns)


@functools.lru_cache(maxsize=8)
def _cached_street_names(path: str, mtime_ns: int) -> NamedStreets:
    """The named streets of an OSM file from the disk cache, kept in memory by the file's path
    and modification time."""
    return cached_product(Path(path), StreetNameCollector)
