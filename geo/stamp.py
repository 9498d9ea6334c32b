"""Change stamps: how every process of one installation learns that the stations changed, for
one ``os.stat`` instead of a database query.

A :class:`ChangeStamp` is a file in the instance folder that a station store appends one byte to
after each committed write, so its size counts the writes. The size only grows, so two writes
within the same clock tick (where a modification time could stay the same) still move it. A
:class:`Stamped` value is read from the database again only when the stamp's size has moved
since its last reading, or when that reading is older than :data:`MAX_AGE_S`.

The file rather than a notice from the database: SQLite's ``PRAGMA data_version`` is
per-connection and moves with any table's writes, and PostgreSQL has no counterpart short of
``LISTEN``/``NOTIFY``, which needs a connection held open and polled. Every process that writes
stations through :class:`geo.store.StationStore` on this machine (the server's workers, the
``yizhan`` commands) shares the instance folder, so its stamp; a writer that does not (a server
on another machine over the same PostgreSQL database) is seen within :data:`MAX_AGE_S`.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import Generic, TypeVar

from geo.settings import instance_dir

#: The stamp file of the station store, in the instance folder.
STATION_STAMP_FILE = "station-changes"

#: Longest time a stamped reading is kept, in seconds, whatever its stamp says: the delay after
#: which a write that moved no stamp here (another machine's) is seen.
MAX_AGE_S = 1.0

T = TypeVar("T")


class ChangeStamp:
    """A file whose size counts the writes made since it was created.

    Args:
        path: the file (made on the first :meth:`bump`, readable by its owner only).
    """

    def __init__(self, path: Path) -> None:
        self.path = path

    def bump(self) -> None:
        """Count one committed write: append a byte (appends of concurrent writers never mix)."""
        descriptor = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        try:
            os.write(descriptor, b".")
        finally:
            os.close(descriptor)

    def read(self) -> int:
        """How many writes the file has counted (0 before the first)."""
        try:
            return os.stat(self.path).st_size
        except FileNotFoundError:
            return 0


def station_stamp() -> ChangeStamp:
    """The stamp of the station store, in the instance folder (:func:`instance_dir`)."""
    return ChangeStamp(instance_dir() / STATION_STAMP_FILE)


class Stamped(Generic[T]):
    """A value read anew only when a stamp moved or the last reading is too old.

    Args:
        stamp: the stamp moved by every write that may change the value.
        read: reads the value (a database query).
        max_age_s: longest time a reading is kept whatever the stamp says (None:
            :data:`MAX_AGE_S`).
    """

    def __init__(self, stamp: ChangeStamp, read: Callable[[], T],
                 max_age_s: float | None = None) -> None:
        self._stamp = stamp
        self._read = read
        self._max_age_s = MAX_AGE_S if max_age_s is None else max_age_s
        self._known: tuple[int, float, T] | None = None

    def get(self) -> T:
        """The value, current with every write that moved the stamp before this call."""
        count, now = self._stamp.read(), time.monotonic()
        known = self._known
        if known is None or known[0] != count or now - known[1] > self._max_age_s:
            # The stamp is read before the value, so a reading is never older than its count:
            # a write counted later moves the stamp past it and the next call reads anew.
            known = self._known = (count, now, self._read())
        return known[2]
