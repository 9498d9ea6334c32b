"""Offline place-name search: the streets, buildings and points of interest of a region's OSM file.

A worker types a place name (新街口, 德基广场, 中山路) and picks one of the matches as their
location. :class:`PlaceCollector` takes every named element a person would search for from the
one pass over an OSM file (:func:`geo.extract.read_osm`); :meth:`Places.search` answers a query
with array operations. A street mapped as many ways is one place, so 中山路 is listed once.
:func:`places_for` keeps the index of a region's source file cached on disk and in memory, so a
request never re-reads the file.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, ClassVar

import numpy as np
import osmium
import pandas as pd
from numpy.typing import ArrayLike

from geo.extract import OSM_SUFFIXES, Tags, cached_product, read_osm, tag_value
from geo.sites import area_point, way_point

if TYPE_CHECKING:
    from geo.regions import Region

#: Categories of places, in the order they are assigned (the first rule that matches wins).
CATEGORIES: tuple[str, ...] = (
    "amenity", "shop", "office", "tourism", "leisure", "healthcare", "transport", "place",
    "street", "building",
)

#: Keys whose every value makes a named element a point of interest; the key is its category.
POI_KEYS: tuple[str, ...] = ("amenity", "shop", "office", "tourism", "leisure", "healthcare")

#: ``(key, value)`` tags of stops and stations people name as their location (category
#: ``transport``). Stop positions (where a vehicle halts on the track) are left out: they repeat
#: the station, and clipped extracts carry the ones of whole lines far outside the area.
TRANSPORT_TAGS: frozenset[tuple[str, str]] = frozenset({
    ("public_transport", "station"), ("public_transport", "platform"),
    ("railway", "station"), ("railway", "halt"), ("railway", "tram_stop"),
    ("railway", "subway_entrance"), ("highway", "bus_stop"),
})

#: ``place=*`` values of local, walkable places (category ``place``); cities and districts are
#: too large to stand for a worker's position.
PLACE_VALUES: frozenset[str] = frozenset({
    "neighbourhood", "quarter", "square", "locality", "hamlet", "village", "isolated_dwelling",
    "city_block", "plot",
})

#: Tags read as alternative names, searched like the name.
ALT_NAME_KEYS: tuple[str, ...] = ("name:zh", "name:en")


@dataclass(frozen=True)
class Place:
    """One search result.

    Attributes:
        name: the place's name (OSM ``name``).
        category: one of :data:`CATEGORIES`.
        lon: WGS-84 longitude.
        lat: WGS-84 latitude.
    """

    name: str
    category: str
    lon: float
    lat: float


class Places:
    """The searchable places of a region, as read-only arrays.

    Args:
        name: the places' names, one per place (a sequence or an array, as the others).
        alt_names: each place's alternative names (``name:zh``, ``name:en``), a tuple per place.
        category: each place's category, one of :data:`CATEGORIES`.
        lon: WGS-84 longitudes.
        lat: WGS-84 latitudes.

    Attributes:
        name, category: str arrays (P,).
        alt_names: object array (P,) of tuples of str.
        lon, lat: float64 arrays (P,).
    """

    def __init__(
        self,
        name: ArrayLike,
        alt_names: Sequence[Sequence[str]],
        category: ArrayLike,
        lon: ArrayLike,
        lat: ArrayLike,
    ) -> None:
        self.name = np.asarray(name, dtype=str)
        self.alt_names = np.empty(len(self.name), dtype=object)
        self.alt_names[:] = [tuple(a) for a in alt_names]
        self.category = np.asarray(category, dtype=str)
        self.lon = np.asarray(lon, dtype=np.float64)
        self.lat = np.asarray(lat, dtype=np.float64)
        sizes = {len(a) for a in (self.name, self.alt_names, self.category, self.lon, self.lat)}
        if len(sizes) != 1:
            raise ValueError("name, alt_names, category, lon and lat must have one entry per place")
        texts = [(i, t) for i, (n, alts) in enumerate(zip(self.name, self.alt_names))
                 for t in (n, *alts)]
        # every name and alt name, casefolded, with the index of the place it belongs to
        self._owner = np.array([i for i, _ in texts], dtype=np.int64)
        self._text = np.array([t.casefold() for _, t in texts], dtype=str)
        for array in (self.name, self.alt_names, self.category, self.lon, self.lat,
                      self._owner, self._text):
            array.setflags(write=False)

    @classmethod
    def empty(cls) -> Places:
        """An index with no places (a region whose source has no names)."""
        return cls([], [], [], [], [])

    def __len__(self) -> int:
        """The number of places."""
        return len(self.name)

    def search(self, query: str, limit: int = 10) -> list[Place]:
        """Find the places whose name or an alternative name contains the query.

        Matching ignores case and the whitespace around the query. Exact matches come first,
        then names that start with the query, then the rest; within each group shorter names
        come first, then names in code-point order, then file order.

        Args:
            query: what the worker typed.
            limit: the most places to return, at least 1.

        Returns:
            Up to ``limit`` places, best first; empty for a blank query or no match.

        Raises:
            ValueError: if ``limit`` is below 1.
        """
        if limit < 1:
            raise ValueError(f"limit must be at least 1, got {limit}")
        needle = query.strip().casefold()
        if not needle or len(self) == 0:
            return []
        found = np.char.find(self._text, needle) >= 0
        # 0 exact, 1 prefix, 2 elsewhere in the name, 3 no match; a place keeps its best
        rank = np.where(self._text == needle, 0,
                        np.where(np.char.startswith(self._text, needle), 1,
                                 np.where(found, 2, 3)))
        best = np.full(len(self), 3)
        np.minimum.at(best, self._owner, rank)
        hits = np.nonzero(best < 3)[0]
        order = np.lexsort((self.name[hits], np.char.str_len(self.name[hits]), best[hits]))
        return [
            Place(str(self.name[i]), str(self.category[i]), float(self.lon[i]),
                  float(self.lat[i]))
            for i in hits[order[:limit]]
        ]


def place_category(tags: Tags, is_way: bool) -> str | None:
    """Classify a named OSM element as a place, or not.

    The first matching rule wins: a point of interest (a key of :data:`POI_KEYS`, which is then
    the category), ``transport`` (:data:`TRANSPORT_TAGS`), ``place`` (:data:`PLACE_VALUES`),
    ``street`` (a ``highway`` way), ``building``.

    Args:
        tags: the element's tags.
        is_way: whether the element is a way (only ways are streets).

    Returns:
        One of :data:`CATEGORIES`, or None.
    """
    for key in POI_KEYS:
        if key in tags:
            return key
    if any((key, tags.get(key)) in TRANSPORT_TAGS for key in ("public_transport", "railway",
                                                                "highway")):
        return "transport"
    if tags.get("place") in PLACE_VALUES:
        return "place"
    if is_way and "highway" in tags:
        return "street"
    if "building" in tags:
        return "building"
    return None


class PlaceCollector:
    """Collects the searchable places of an OSM file (see :class:`geo.extract.CachedCollector`
    and :func:`place_index`)."""

    product: ClassVar[str] = "places"
    keys: ClassVar[tuple[str, ...]] = ("name",)
    kinds: ClassVar[osmium.osm.osm_entity_bits] = osmium.osm.NODE | osmium.osm.WAY | osmium.osm.AREA

    def __init__(self) -> None:
        self._wkb = osmium.geom.WKBFactory()
        self._rows: list[tuple[str, tuple[str, ...], str, float, float]] = []
        self._street_alts: dict[str, dict[str, None]] = {}
        self._vertices: list[tuple[str, int, float, float]] = []

    def node(self, node: osmium.osm.Node) -> None:
        """Take a named node that is a place, at its location."""
        name, category = _named_place(node.tags, False)
        if category is not None and node.location.valid():
            self._add(name, node.tags, category, (node.location.lon, node.location.lat))

    def way(self, way: osmium.osm.Way) -> None:
        """Take a named way: a street's vertices, or another place at :func:`way_point`."""
        name, category = _named_place(way.tags, True)
        if category == "street":
            self._street_alts.setdefault(name, {}).update(
                dict.fromkeys(_alt_names(way.tags, name)))
            self._vertices.extend((name, n.ref, n.location.lon, n.location.lat)
                                  for n in way.nodes if n.location.valid())
        elif category is not None:
            self._add(name, way.tags, category, way_point(way))

    def area(self, area: osmium.osm.Area) -> None:
        """Take a named multipolygon relation that is a place, at :func:`area_point` (closed
        ways come as ways)."""
        if area.from_way():
            return
        name, category = _named_place(area.tags, False)
        if category is not None:
            self._add(name, area.tags, category, area_point(area, self._wkb))

    def _add(self, name: str, tags: Tags, category: str,
             point: tuple[float, float] | None) -> None:
        """Add a single place's row, unless it has no point."""
        if point is not None:
            self._rows.append((name, _alt_names(tags, name), category, point[0], point[1]))

    def result(self) -> Places:
        """Return the places taken: the single elements in file order, then the streets by
        name."""
        rows = self._rows + [(name, tuple(self._street_alts[name]), "street", lon, lat)
                             for name, lon, lat in _street_points(self._vertices)]
        if not rows:
            return Places.empty()
        names, alt_names, categories, lons, lats = zip(*rows)
        return Places(names, alt_names, categories, lons, lats)

    @staticmethod
    def to_arrays(product: Places) -> dict[str, np.ndarray]:
        """Return the places as arrays; the alternative names flat, with per-place counts."""
        flat = [a for alts in product.alt_names for a in alts]
        return {
            "name": product.name, "category": product.category, "lon": product.lon,
            "lat": product.lat, "alt_names": np.array(flat, dtype=str),
            "alt_counts": np.array([len(a) for a in product.alt_names], dtype=np.int64),
        }

    @staticmethod
    def from_arrays(arrays: Mapping[str, np.ndarray]) -> Places:
        """Return the places from :meth:`to_arrays`."""
        ends = np.cumsum(arrays["alt_counts"])
        flat = arrays["alt_names"].tolist()
        alt_names = [flat[end - count:end]
                     for end, count in zip(ends.tolist(), arrays["alt_counts"].tolist())]
        return Places(arrays["name"], alt_names, arrays["category"], arrays["lon"],
                      arrays["lat"])


def place_index(path: str | Path) -> Places:
    """Read the searchable places of an OSM file.

    Every element with a ``name`` that :func:`place_category` classifies is a place. Points of
    interest, stops, places and buildings keep one entry per element: nodes at their location,
    ways at their centroid (see :mod:`geo.sites`), multipolygons at the centroid of their area.
    Streets are merged by name: all the ways of one name are one place, located at the way
    vertex nearest the median of their vertices, so the point lies on the street. Alternative
    names come from :data:`ALT_NAME_KEYS` (a street gets those of all its ways).

    Args:
        path: an ``.osm``, ``.osm.bz2`` or ``.osm.pbf`` file.

    Returns:
        The places: first the single elements in file order, then the streets by name.

    Raises:
        OsmSourceError: if the file does not exist or cannot be parsed.
    """
    collector = PlaceCollector()
    read_osm(Path(path), [collector])
    return collector.result()


def places_for(region: Region) -> Places:
    """Return the places of a region, read once per version of its source file.

    Args:
        region: the region.

    Returns:
        The index of the region's OSM source, from the disk cache (the file is read and the
        index cached if it is not there yet); an empty one for a source that is not an OSM file
        (a road-edge layer has no names to search).
    """
    if not region.source.name.lower().endswith(OSM_SUFFIXES):
        return Places.empty()
    return _cached_place_index(str(region.source), region.source.stat().st_mtime_ns)


@functools.lru_cache(maxsize=8)
def _cached_place_index(path: str, mtime_ns: int) -> Places:
    """The places of an OSM file from the disk cache, kept in memory by the file's path and
    modification time.

    Args:
        path: the OSM file.
        mtime_ns: its modification time; a changed file gets a new entry.

    Returns:
        The file's places.
    """
    return cached_product(Path(path), PlaceCollector)


def _named_place(tags: Tags, is_way: bool) -> tuple[str, str | None]:
    """Return an element's stripped name and its place category, None if it is unnamed or not
    a place (see :func:`place_category`)."""
    name = tag_value(tags, "name").strip()
    return name, place_category(tags, is_way) if name else None


def _alt_names(tags: Tags, name: str) -> tuple[str, ...]:
    """Return the element's alternative names that differ from its name.

    Args:
        tags: the element's tags.
        name: its (stripped) name.

    Returns:
        The distinct non-empty values of :data:`ALT_NAME_KEYS`, in that key order.
    """
    values = (tag_value(tags, key).strip() for key in ALT_NAME_KEYS)
    return tuple(dict.fromkeys(v for v in values if v and v != name))


def _street_points(vertices: list[tuple[str, int, float, float]]) -> list[tuple[str, float, float]]:
    """Locate each street name at its vertex nearest the median of its vertices.

    Args:
        vertices: ``(name, node id, lon, lat)`` of every vertex of every named street way.

    Returns:
        ``(name, lon, lat)`` per street name, sorted by name.
    """
    if not vertices:
        return []
    frame = pd.DataFrame(vertices, columns=["name", "ref", "lon", "lat"])
    frame = frame.drop_duplicates(["name", "ref"]).reset_index(drop=True)
    median = frame.groupby("name")[["lon", "lat"]].transform("median")
    dx = (frame["lon"] - median["lon"]) * np.cos(np.radians(frame["lat"]))
    dy = frame["lat"] - median["lat"]
    nearest = (dx * dx + dy * dy).groupby(frame["name"]).idxmin()
    chosen = frame.loc[nearest.to_numpy()]
    return list(zip(chosen["name"], chosen["lon"].astype(float), chosen["lat"].astype(float)))
