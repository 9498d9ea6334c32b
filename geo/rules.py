"""Station rules: where a station may stand, when two stations are one, and how station text is
cleaned before either is decided.

The staff form, the REST API, the bulk import (page and command) and the what-if planner all
ask these functions, so a station is accepted or refused the same way wherever it is entered:

- a station must lie inside its region's bounds or at most :data:`REGION_MARGIN_M` outside
  them (:func:`too_far_outside`);
- a station may not have the same name (:func:`name_key`) as another within
  :data:`DUPLICATE_RADIUS_M` (:func:`nearest_duplicate`);
- distances are great-circle metres on the store's sphere (:func:`distance_m`), as
  :meth:`geo.store.StationStore.within` measures them.
"""

from __future__ import annotations

import math
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TypeVar

from geo.stations import Station
from geo.store import EARTH_RADIUS_M

#: How far outside its region's bounds (the box of its street network) a station may lie, in
#: metres. A region clipped to a city's boundary ends at its last streets, and stations along
#: the edge (a depot across the ring road, a rest stop in the next town's outskirts) sit up to
#: a couple of kilometres beyond them; a coordinate with a slipped digit lands 10 km or more
#: away, and is refused. 2 km keeps the first and still catches the second.
REGION_MARGIN_M: float = 2000.0

#: Two stations of the same name closer than this, in metres, are one station.
DUPLICATE_RADIUS_M: float = 50.0

#: Invisible characters that are not Unicode format characters (category ``Cf``, all of which
#: are removed too) and so are removed from station text by name: the Hangul fillers, the
#: combining grapheme joiner and the variation selectors. With the format characters (the
#: zero-width space and joiners, the soft hyphen, the byte-order mark, the bidirectional
#: marks, embeddings, overrides and isolates, the tag characters) they change nothing a reader
#: sees, or make a name read differently from how it is stored.
INVISIBLE_CHARACTERS: frozenset[str] = frozenset(
    "\u115f\u1160\u3164\uffa0\u034f"
    + "".join(map(chr, range(0xFE00, 0xFE10)))
    + "".join(map(chr, range(0xE0100, 0xE01F0)))
)

T = TypeVar("T")


@dataclass(frozen=True)
class Refusal:
    """Why a station may not stand where it was put: the rule it breaks (the answer of
    :meth:`geo.atlas.Atlas.check_station`).

    Attributes:
        field: the field at fault: ``lon`` for a place outside the region, ``name`` for a
            duplicate.
        reason: ``outside`` or ``duplicate``.
        metres: how far outside the region's bounds it lies, or how far from the duplicate.
        other: the stored station it duplicates.
    """

    field: str
    reason: str
    metres: float
    other: Station | None = None


def clean_text(text: str) -> str:
    """Normalise station text before it is checked and stored: composed (NFC), without format
    characters (Unicode category ``Cf``) and the other invisible characters of
    :data:`INVISIBLE_CHARACTERS`, surrounding whitespace stripped.
    Full-width punctuation stays as written: ``（演示）`` is how a Chinese clerk writes it.

    Args:
        text: the text as submitted.

    Returns:
        The text as stored.
    """
    visible = "".join(character for character in text
                      if character not in INVISIBLE_CHARACTERS
                      and unicodedata.category(character) != "Cf")
    return unicodedata.normalize("NFC", visible).strip()


def name_key(name: str) -> str:
    """The form of a station name that duplicates are compared in: cleaned by
    :func:`clean_text`, then compatibility-folded (NFKC: ``ＡＢＣ`` is ``ABC``, ``（`` is
    ``(``) and case-folded, without any whitespace.

    Args:
        name: the name.

    Returns:
        The key; two names with the same key are the same name.
    """
    return "".join(unicodedata.normalize("NFKC", clean_text(name)).casefold().split())


def distance_m(lon1: float, lat1: float, lon2: float, lat2: float) -> float:
    """Great-circle distance between two points, as the store measures it.

    Args:
        lon1: first longitude in degrees.
        lat1: first latitude in degrees.
        lon2: second longitude in degrees.
        lat2: second latitude in degrees.

    Returns:
        Metres on the sphere of radius :data:`geo.store.EARTH_RADIUS_M`.
    """
    phi1, phi2 = math.radians(lat1), math.radians(lat2)
    h = (math.sin((phi2 - phi1) / 2) ** 2
         + math.cos(phi1) * math.cos(phi2) * math.sin(math.radians(lon2 - lon1) / 2) ** 2)
    return 2 * EARTH_RADIUS_M * math.asin(math.sqrt(min(h, 1.0)))


def metres_outside(lon: float, lat: float, bounds: tuple[float, float, float, float]) -> float:
    """How far a point lies outside a box: the distance to the box's nearest point.

    Args:
        lon: WGS-84 longitude.
        lat: WGS-84 latitude.
        bounds: ``(min_lon, min_lat, max_lon, max_lat)`` in WGS-84.

    Returns:
        Metres (:func:`distance_m`); 0 inside the box.
    """
    min_lon, min_lat, max_lon, max_lat = bounds
    return distance_m(lon, lat, min(max(lon, min_lon), max_lon), min(max(lat, min_lat), max_lat))


def too_far_outside(lon: float, lat: float, bounds: tuple[float, float, float, float]
                    ) -> float | None:
    """Say whether a station may not stand at a point because it lies more than
    :data:`REGION_MARGIN_M` outside its region's bounds.

    Args:
        lon: WGS-84 longitude.
        lat: WGS-84 latitude.
        bounds: the region's ``(min_lon, min_lat, max_lon, max_lat)`` in WGS-84.

    Returns:
        How many metres outside the bounds the point lies if that is too far, else None.
    """
    metres = metres_outside(lon, lat, bounds)
    return metres if metres > REGION_MARGIN_M else None


def nearest_duplicate(lon: float, lat: float, named: Iterable[tuple[float, float, T]]
                      ) -> tuple[float, T] | None:
    """Find the nearest station within :data:`DUPLICATE_RADIUS_M` of a point among stations
    of the same name (:func:`name_key`) as the one placed there.

    Args:
        lon: WGS-84 longitude of the station placed.
        lat: its latitude.
        named: ``(lon, lat, what)`` of the other stations of its name; ``what`` is anything the
            caller wants back (a station, a description).

    Returns:
        ``(metres, what)`` of the nearest one within the radius (the first given of equally
        near ones), or None.
    """
    near = None
    for other_lon, other_lat, what in named:
        metres = distance_m(lon, lat, other_lon, other_lat)
        if metres <= DUPLICATE_RADIUS_M and (near is None or metres < near[0]):
            near = (metres, what)
    return near
