"""How much memory a kept result takes, and a cache bounded by it.

Service fields, station trees, demand layers and coverage analyses are kept so that a second
request for them is an array read, but a city's are large (a 1,000,000-node network's service
field alone is 32 MB, an analysis with its gap, service-area and street layers hundreds of MB).
Each cache of them is an :class:`LruCache` with a budget in bytes; beyond it the least recently
used results are dropped. :func:`nbytes` is the one rule for what a result weighs.
"""

from __future__ import annotations

import dataclasses
import sys
import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Generic, TypeVar

import numpy as np
import pandas as pd
import shapely

__all__ = ["COORDINATE_BYTES", "GEOMETRY_BYTES", "LruCache", "nbytes"]

#: Bytes GEOS keeps for one coordinate of a geometry (x, y and z as doubles).
COORDINATE_BYTES = 24

#: Bytes each part of a geometry (a simple geometry is one part) takes besides its coordinates:
#: the GEOS objects and the Python object; measured on shapely 2 with GEOS 3.14.
GEOMETRY_BYTES = 256


def nbytes(value: object) -> int:
    """Estimate the memory a value holds, in bytes.

    Arrays count their buffers, geometries :data:`COORDINATE_BYTES` a coordinate and
    :data:`GEOMETRY_BYTES` a part, data frames their columns (text deeply), and dataclasses,
    tuples, lists and dicts the sum of what they hold. Anything else counts as its
    ``sys.getsizeof``. Values shared between several results are counted in each.

    Args:
        value: an array, geometry array, (Geo)DataFrame, Series, dataclass instance, bytes,
            container of these, or a scalar.

    Returns:
        The estimate in bytes.
    """
    if isinstance(value, (pd.DataFrame, pd.Series)):
        frame = value.to_frame() if isinstance(value, pd.Series) else value
        total = int(frame.index.memory_usage(deep=True))
        for _, column in frame.items():
            if isinstance(column.dtype, pd.api.extensions.ExtensionDtype) \
                    and column.dtype.name == "geometry":
                total += _geometry_bytes(np.asarray(column.values, dtype=object))
            else:
                total += int(column.memory_usage(index=False, deep=True))
        return total
    if isinstance(value, np.ndarray):
        if value.dtype == object and value.size:
            flat = value.ravel()
            if all(isinstance(item, shapely.Geometry) or item is None for item in flat[:1]):
                return value.nbytes + _geometry_bytes(flat)
            return value.nbytes + sum(nbytes(item) for item in flat)
        return value.nbytes
    if isinstance(value, shapely.Geometry):
        return _geometry_bytes(np.array([value], dtype=object))
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return sum(nbytes(getattr(value, field.name)) for field in dataclasses.fields(value))
    if isinstance(value, (tuple, list)):
        return sys.getsizeof(value) + sum(nbytes(item) for item in value)
    if isinstance(value, dict):
        return sys.getsizeof(value) + sum(nbytes(k) + nbytes(v) for k, v in value.items())
    return sys.getsizeof(value)


def _geometry_bytes(geometries: np.ndarray) -> int:
    """Memory of an object array of shapely geometries (None allowed), see :func:`nbytes`."""
    present = geometries[shapely.is_geometry(geometries)]
    parts = np.maximum(shapely.get_num_geometries(present), 1)
    return int(COORDINATE_BYTES * shapely.get_num_coordinates(present).sum()
               + GEOMETRY_BYTES * parts.sum())


#: The type of the values an :class:`LruCache` keeps.
V = TypeVar("V")


class LruCache(Generic[V]):
    """A thread-safe cache whose values together weigh (:func:`nbytes`) at most a budget;
    adding beyond it drops the least recently used. A value heavier than the whole budget is
    not kept.

    Args:
        budget_bytes: most bytes kept.
    """

    def __init__(self, budget_bytes: int) -> None:
        self.budget_bytes = budget_bytes
        self._entries: OrderedDict[Hashable, tuple[V, int]] = OrderedDict()
        self._size = 0
        self._lock = threading.Lock()

    def clear(self) -> None:
        """Drop every value."""
        with self._lock:
            self._entries.clear()
            self._size = 0

    def __len__(self) -> int:
        return len(self._entries)

    @property
    def size_bytes(self) -> int:
        """What the kept values weigh together."""
        return self._size

    def find(self, key: Hashable) -> V | None:
        """The value kept under ``key`` (now the most recently used), or None."""
        with self._lock:
            found = self._entries.get(key)
            if found is None:
                return None
            self._entries.move_to_end(key)
            return found[0]

    def put(self, key: Hashable, value: V, weight: int | None = None) -> V:
        """Keep ``value`` under ``key`` (replacing what was there) unless it is heavier than
        the budget, dropping the least recently used values beyond the budget.

        Args:
            key: the key.
            value: the value.
            weight: what the value weighs in bytes; :func:`nbytes` of it if None.

        Returns:
            ``value``.
        """
        weight = nbytes(value) if weight is None else weight
        with self._lock:
            old = self._entries.pop(key, None)
            if old is not None:
                self._size -= old[1]
            if weight <= self.budget_bytes:
                self._entries[key] = (value, weight)
                self._size += weight
            while self._size > self.budget_bytes:
                _key, (_value, dropped) = self._entries.popitem(last=False)
                self._size -= dropped
        return value

    def get(self, key: Hashable, make: Callable[[], V]) -> V:
        """The value kept under ``key``, or ``make()`` kept under it (made outside the lock,
        so two threads may both make a missing value; the later one is kept)."""
        found = self.find(key)
        return found if found is not None else self.put(key, make())
