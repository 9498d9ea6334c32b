"""One pass over an OSM file feeding every product read from it, and the products cached on disk.

Each product of an OSM file (the highway ways of the street networks, the demand sources, the
place names, the host sites) has a collector in its own module: an object that is offered the
file's nodes, ways and areas and builds the product from them. :func:`read_osm` reads the file
once and hands every object to the collectors that want it; pyosmium's filters drop, in C++, the
objects that carry none of the keys any collector asks for. Building areas (closed ways and
multipolygon relations) makes pyosmium read the relations first, which it does internally, and
needs the file's objects in id order, as extracts have them (``osmium sort`` orders a file that
is not).

A product is cached as arrays in an ``.npz`` file under ``<instance>/cache/osm/``, named after
the source file's name, size and modification time and :data:`PRODUCTS_VERSION`, so a server
reads it back instead of parsing the file again. Like everything in the instance folder, these
files are readable by their owner only.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any, ClassVar, Protocol

import numpy as np
import osmium

from geo.progress import Progress, silent
from geo.settings import instance_dir, open_private, private_folder

__all__ = [
    "OSM_SUFFIXES",
    "PRODUCTS_VERSION",
    "READ_ERRORS",
    "CachedCollector",
    "Collector",
    "OsmSourceError",
    "Tags",
    "cached_product",
    "degrees",
    "product_cache_path",
    "read_osm",
    "save_product",
    "tag_value",
]

#: File-name endings read as OSM data by pyosmium.
OSM_SUFFIXES = (".osm", ".osm.xml", ".osm.bz2", ".osm.gz", ".osm.pbf", ".pbf")

#: Bump when what a collector makes of a file changes, so old cached products are not read.
PRODUCTS_VERSION = 1

#: Objects read between two progress reports.
_PROGRESS_EVERY = 50_000

#: Units of a degree in libosmium's fixed-point coordinates.
_PRECISION = 10_000_000

#: What pyosmium raises for a file it cannot read: bad XML, a truncated PBF, a broken
#: compressed stream (``RuntimeError``) or a malformed coordinate.
READ_ERRORS: tuple[type[Exception], ...] = (RuntimeError, osmium.InvalidLocationError)


class OsmSourceError(ValueError):
    """A street source file is missing, cannot be parsed or holds no usable street."""


class Tags(Protocol):
    """An OSM object's tags, read by key: pyosmium's ``TagList`` (which is not a Mapping: it
    iterates over tags, not keys) or a dict of them."""

    def __contains__(self, key: str, /) -> bool:
        """Whether the object has the tag."""

    def __getitem__(self, key: str, /) -> str:
        """The tag's value; KeyError if the object has no such tag."""

    def get(self, key: str, default: str | None = None, /) -> str | None:
        """The tag's value, ``default`` if the object has no such tag."""


def tag_value(tags: Tags, key: str, default: str = "") -> str:
    """Return an object's value of a tag, ``default`` if it has no such tag."""
    value = tags.get(key)
    return default if value is None else value


class Collector(Protocol):
    """Builds one product of an OSM file from the objects :func:`read_osm` offers it.

    A collector has a method for each kind of object in ``kinds``: ``node(node)`` for
    ``osmium.osm.Node``, ``way(way)`` for ``osmium.osm.Way`` and ``area(area)`` for
    ``osmium.osm.Area``; only those it asks for are called, so it defines only those.

    Attributes:
        keys: only objects with at least one of these tag keys are offered (an object may
            come because another collector asked for one of its keys).
        kinds: which objects are offered, e.g. ``osmium.osm.WAY | osmium.osm.AREA``; nodes and
            ways come with their node locations, areas are closed ways and multipolygons.
    """

    keys: ClassVar[tuple[str, ...]]
    kinds: ClassVar[osmium.osm.osm_entity_bits]

    def result(self) -> Any:
        """Return the product of the objects taken."""


class CachedCollector(Collector, Protocol):
    """A collector whose product is cached on disk as arrays.

    Attributes:
        product: the product's name in the cache.
    """

    product: ClassVar[str]

    def __init__(self) -> None:
        """Start with nothing taken."""

    @staticmethod
    def to_arrays(product: Any) -> dict[str, np.ndarray]:
        """Return the product as named arrays of numbers or strings."""

    @staticmethod
    def from_arrays(arrays: Mapping[str, np.ndarray]) -> Any:
        """Return the product from the arrays :meth:`to_arrays` gave."""


def read_osm(
    path: Path, collectors: Sequence[Collector], progress: Progress | None = None
) -> None:
    """Read an OSM file once, offering every object to the collectors that want it.

    Objects go to the collectors in file order (areas after the objects they are built from),
    and to several collectors in the order given.

    Args:
        path: an OSM file; pyosmium picks the format from the file name.
        collectors: the collectors to feed; read their products with their ``result()``.
        progress: told ``("reading NAME", objects read, None)`` as the file is read (the
            objects some collector wants).

    Raises:
        OsmSourceError: if the file does not exist or cannot be parsed.
    """
    path = Path(path)
    if not path.is_file():
        raise OsmSourceError(f"OSM file {path} does not exist")
    if not collectors:
        return
    kinds = osmium.osm.NOTHING
    for collector in collectors:
        kinds |= collector.kinds
    node_takers, way_takers, area_takers = (
        [getattr(c, method) for c in collectors if c.kinds & kind]
        for kind, method in ((osmium.osm.NODE, "node"), (osmium.osm.WAY, "way"),
                             (osmium.osm.AREA, "area"))
    )
    report = progress or silent
    stage = f"reading {path.name}"
    report(stage, 0, None)
    read = 0
    try:
        for obj in _processor(path, kinds, _union(c.keys for c in collectors)):
            read += 1
            if read % _PROGRESS_EVERY == 0:
                report(stage, read, None)
            if isinstance(obj, osmium.osm.Node):
                takers = node_takers
            elif isinstance(obj, osmium.osm.Way):
                takers = way_takers
            else:
                takers = area_takers
            for take in takers:
                take(obj)
    except READ_ERRORS as err:
        hint = (f"; `osmium sort {path} -o sorted.osm.pbf` puts it in order"
                if "out of order" in str(err) else "")
        raise OsmSourceError(f"cannot read OSM file {path}: {err}{hint}") from err
    report(stage, read, read)


def _processor(
    path: Path, kinds: osmium.osm.osm_entity_bits, keys: tuple[str, ...]
) -> osmium.FileProcessor:
    """Return a pyosmium processor yielding the objects of some kinds with some keys.

    Node locations are always kept (ways need them); areas are built only when asked for, and
    from multipolygon relations only if they have one of the keys.

    Args:
        path: the OSM file.
        kinds: NODE, WAY and AREA bits of the objects wanted.
        keys: tag keys; an object with none of them is dropped.

    Returns:
        The processor (not yet iterated).
    """
    wanted = kinds & (osmium.osm.NODE | osmium.osm.WAY)
    if kinds & osmium.osm.AREA:
        # only multipolygon relations with a wanted key are assembled
        processor = osmium.FileProcessor(str(path)).with_areas(osmium.filter.KeyFilter(*keys))
        wanted |= osmium.osm.AREA
    else:
        processor = osmium.FileProcessor(str(path), osmium.osm.NODE | osmium.osm.WAY)
        processor = processor.with_locations()
    return (
        processor
        .with_filter(osmium.filter.EntityFilter(wanted))
        .with_filter(osmium.filter.KeyFilter(*keys))
    )


def _union(keys: Iterable[tuple[str, ...]]) -> tuple[str, ...]:
    """Return the distinct keys of several key lists, in first-seen order."""
    return tuple(dict.fromkeys(k for group in keys for k in group))


def degrees(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Convert libosmium fixed-point coordinates (``Location.x``, ``Location.y``) to degrees.

    Reading ``x`` and ``y`` of every node reference and converting them here gives what
    ``Location.valid()``, ``lon`` and ``lat`` give one by one, bit for bit, for a fraction of
    the Python work.

    Args:
        x, y: int64 fixed-point coordinates (N,).

    Returns:
        Longitude and latitude (float64, NaN where the location is not valid) and whether each
        location is valid (a node missing from the file has none).
    """
    valid = (np.abs(x) <= 180 * _PRECISION) & (np.abs(y) <= 90 * _PRECISION)
    lon = np.where(valid, x / _PRECISION, np.nan)
    return lon, np.where(valid, y / _PRECISION, np.nan), valid


def product_cache_path(source: Path, product: str) -> Path:
    """Where a product of an OSM file is cached; the name changes with the file's path, size
    and modification time and with :data:`PRODUCTS_VERSION`.

    Args:
        source: the OSM file.
        product: the product's name (a collector's ``product``).

    Returns:
        The ``.npz`` path (which may not exist yet).
    """
    stat = Path(source).stat()
    key = json.dumps([PRODUCTS_VERSION, product, str(Path(source).resolve()), stat.st_size,
                      stat.st_mtime_ns])
    digest = hashlib.sha256(key.encode()).hexdigest()[:16]
    return instance_dir() / "cache" / "osm" / f"{product}-{digest}.npz"


def save_product(source: Path, collector: CachedCollector, product: Any) -> None:
    """Cache a product of an OSM file in an uncompressed ``.npz`` file that only its owner may
    read, written under another name first so that a reader never sees half of it.

    Args:
        source: the OSM file it was read from.
        collector: the collector that made it (its class gives the name and the arrays).
        product: the product.
    """
    path = product_cache_path(source, collector.product)
    private_folder(path.parent)
    tmp = path.with_name(path.name + ".tmp.npz")
    with open_private(tmp) as file:
        np.savez(file, allow_pickle=False, **collector.to_arrays(product))
    tmp.replace(path)


def cached_product(source: Path, collector: type[CachedCollector]) -> Any:
    """Return a product of an OSM file from the cache, reading the file (and caching the
    product) only if it is not cached.

    Args:
        source: the OSM file.
        collector: the collector class of the product.

    Returns:
        The product.

    Raises:
        OsmSourceError: if the product is not cached and the file cannot be read.
    """
    source = Path(source)
    if not source.is_file():
        raise OsmSourceError(f"OSM file {source} does not exist")
    path = product_cache_path(source, collector.product)
    if path.is_file():
        with np.load(path, allow_pickle=False) as arrays:
            return collector.from_arrays(arrays)
    reader = collector()
    read_osm(source, [reader])
    product = reader.result()
    save_product(source, reader, product)
    return product
