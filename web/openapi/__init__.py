"""The OpenAPI 3.0 description of the app, written by hand: the JSON API under ``/api/v1``
(:mod:`.stations` for workers and staff, :mod:`.planning` for planners) and the pages, charts
and map tiles around it (:mod:`.pages`), with the schemas and shared responses of
:mod:`.schemas` built from the pieces in :mod:`.parts`.

The enums come from the vocabularies themselves (:mod:`geo.stations`, :mod:`geo.modes`,
:mod:`geo.coords`, :mod:`geo.places`, :mod:`geo.groups`) and the bounds from the code that
enforces them (ids, the store's text columns, capacity, scenario names, thresholds), so the
document cannot drift from what the app accepts. Links lead from a stored station to the
operations on it.
"""

from __future__ import annotations

from geo import OSM_ATTRIBUTION
from web.openapi.pages import page_paths
from web.openapi.parts import BAD_REQUEST
from web.openapi.planning import planning_paths
from web.openapi.schemas import planning_schemas, responses, schemas
from web.openapi.stations import station_paths

#: The OpenAPI version the document follows.
OPENAPI_VERSION = "3.0.3"


def openapi_document(max_nearest: int, max_places: int, max_threshold: float) -> dict:
    """Return the OpenAPI document of the app: reads open to all, station writes for staff.

    Args:
        max_nearest: the largest ``limit`` of ``/nearest``.
        max_places: the largest ``limit`` of ``/places``.
        max_threshold: the largest travel-time threshold of a coverage request, minutes.

    Returns:
        A JSON-ready dict (OpenAPI 3.0).
    """
    document = {
        "openapi": OPENAPI_VERSION,
        "info": {
            "title": "Yizhan (驿站) API",
            "version": "1",
            "description": (
                "Worker rest stations of Chinese trade unions: regions, stations, the nearest "
                "open stations by travel time on the street network, place-name search, and "
                "the planner's coverage, gaps and recommended sites. Coordinates are WGS-84 "
                "unless a datum is named. Street data "
                f"{OSM_ATTRIBUTION}. Demo stations are not real and carry `demo: true`. The "
                "pages, charts and map tiles around the API are described too, each with the "
                "server `/`."
            ),
        },
        "servers": [{"url": "/api/v1"}],
        "paths": {
            **planning_paths(max_threshold),
            **station_paths(max_nearest, max_places),
            **page_paths(max_threshold),
        },
        "components": {
            "schemas": {**schemas(), **planning_schemas()},
            "responses": responses(),
            "securitySchemes": {
                "apiToken": {
                    "type": "http", "scheme": "bearer",
                    "description": "A per-user API token (`yizhan user token NAME`); the "
                                   "account needs the staff or admin role.",
                },
            },
        },
    }
    for path in document["paths"].values():
        for method, operation in path.items():
            if method not in ("parameters", "servers"):
                # any parameter with a control character is refused
                operation["responses"].setdefault("400", BAD_REQUEST)
    return document
