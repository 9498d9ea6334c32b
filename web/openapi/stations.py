"""The paths of the stations API: regions, stations and their writes (staff), the nearest
open stations and place search, and this document."""

from __future__ import annotations

from geo import AMENITIES, DATUMS, KINDS, MODES, OFF_STREET_M, STATUSES
from web.openapi.parts import (
    BAD_REQUEST,
    ETAG_HEADER,
    HEAVY_REFUSALS,
    id_parameter,
    json_response,
    list_parameter,
    parameter,
    region_parameter,
    station_links,
    station_response,
    write_operation,
)


def station_paths(max_nearest: int, max_places: int) -> dict:
    """The stations API's paths.

    Args:
        max_nearest: the largest ``limit`` of ``/nearest``.
        max_places: the largest ``limit`` of ``/places``.
    """
    return {
        "/regions": {
            "get": {
                "summary": "All regions with their modes, bounds and attribution",
                "operationId": "listRegions",
                "responses": {
                    "200": json_response("The regions", {
                        "type": "object",
                        "required": ["regions"],
                        "properties": {"regions": {
                            "type": "array",
                            "items": {"$ref": "#/components/schemas/Region"},
                        }},
                    }),
                },
            },
        },
        "/stations": {
            "get": {
                "summary": "Stations of a region as GeoJSON",
                "operationId": "listStations",
                "parameters": [
                    region_parameter(),
                    list_parameter("kind", KINDS, "Only stations of these kinds."),
                    list_parameter("status", STATUSES, "Only stations in these states."),
                    list_parameter("amenity", AMENITIES,
                                    "Only stations that have all these amenities."),
                ],
                "responses": {
                    "200": json_response(
                        "A FeatureCollection of station Points",
                        {"$ref": "#/components/schemas/FeatureCollection"},
                    ),
                    "400": BAD_REQUEST,
                },
            },
            "post": write_operation(
                "Add a station (staff)", "addStation",
                "The station's fields; `name`, `region`, `kind`, `lon` and `lat` are "
                "required, `lon`/`lat` are in `datum`.", {"201": {
                    **station_response(
                        "The stored station (version 1); its URL is in Location"),
                    "links": station_links(),
                }},
                body="StationInput", if_match=False,
            ),
        },
        "/stations/{id}": {
            "parameters": [id_parameter()],
            "get": {
                "summary": "One station that is not deleted",
                "operationId": "getStation",
                "responses": {
                    "200": station_response("The station; its version is the ETag"),
                    "404": {"$ref": "#/components/responses/NotFound"},
                },
            },
            "patch": write_operation(
                "Change fields of a station (staff)", "changeStation",
                "Any subset of the station's fields; `lon`/`lat` are in `datum`.",
                {"200": {**station_response("The station as stored now"),
                         "links": station_links()}},
                body="StationInput",
            ),
            "delete": write_operation(
                "Delete a station (staff); restore undoes it", "deleteStation", "",
                {"200": {**json_response("The station is deleted", {
                    "type": "object",
                    "properties": {"id": {"type": "integer"}, "deleted": {"type": "boolean"},
                                   "version": {"type": "integer",
                                               "description": "The deleted station's "
                                                              "version, for restore."}},
                }), "headers": ETAG_HEADER, "links": {"RestoreStation": {
                    "operationId": "restoreStation",
                    "parameters": {"id": "$response.body#/id",
                                   "header.If-Match": "$response.header.ETag"}}}}},
            ),
        },
        "/stations/{id}/restore": {
            "parameters": [id_parameter()],
            "post": write_operation(
                "Undo the deletion of a station (staff)", "restoreStation", "",
                {"200": station_response("The restored station")},
            ),
        },
        "/nearest": {
            "get": {
                "summary": "The nearest matching open stations by travel time, with routes",
                "operationId": "nearestStations",
                "parameters": [
                    *_worker_point(),
                    list_parameter("kind", KINDS, "Only stations of these kinds."),
                    list_parameter("amenity", AMENITIES,
                                    "Only stations that have all these amenities."),
                    parameter("open_now", False, {"type": "boolean", "default": False},
                               "Only stations open now (Asia/Shanghai time); true/false, "
                               "1/0 or yes/no. Without it, stations open now still rank "
                               "before closed ones and ones whose hours are unknown."),
                    parameter("limit", False, {"type": "integer", "minimum": 1,
                                                "maximum": max_nearest, "default": 3},
                               "How many stations to return."),
                ],
                "responses": {
                    "200": json_response(
                        "Each station as a Point feature (feature_type `station`, with "
                        "rank, time_s, time_min, distance_m, snap_m and navigation links) "
                        "followed by its route as a LineString feature (feature_type "
                        "`route`), in order of travel time. The point and every station "
                        "join the network at the nearest point of their nearest street; "
                        "travel times count the partial streets, and a walk to or from a "
                        f"street more than {OFF_STREET_M:g} m away",
                        {"$ref": "#/components/schemas/NearestAnswer"},
                    ),
                    "400": BAD_REQUEST,
                },
            },
        },
        "/reach": {
            "get": {
                "summary": "What a worker can reach: the streets within a few minutes of a point, "
                           "and the open stations inside",
                "description": "The areas are the planner's service areas from the end of "
                               "the worker's street reached first (streets within each time, "
                               "buffered and traced); the stations are timed from the worker "
                               "as in /nearest. A heavy "
                               "request: it counts against the client's rate.",
                "operationId": "reach",
                "parameters": [
                    *_worker_point(),
                    parameter("minutes", False, {"type": "string", "default": "5,10,15"},
                               "Comma-separated travel times in minutes, each 1 to 60, at "
                               "most 4."),
                ],
                "responses": {
                    "200": json_response(
                        "A FeatureCollection: one Polygon or MultiPolygon per time, ascending "
                        "(feature_type `area`, with minutes, reached_m and area_m2), then the "
                        "open stations within the longest time, soonest first (feature_type "
                        "`station`, with time_s and minutes, the shortest time they lie "
                        "within)",
                        {"type": "object", "required": ["type", "features"], "properties": {
                            "type": {"type": "string", "enum": ["FeatureCollection"]},
                            "features": {"type": "array", "items": {"type": "object"}},
                            "region": {"type": "string"},
                            "mode": {"type": "string"},
                            "attribution": {"type": "string"},
                            "query": {"type": "object"},
                        }},
                    ),
                    "400": BAD_REQUEST, **HEAVY_REFUSALS,
                },
            },
        },
        "/places": {
            "get": {
                "summary": "Search the region's streets, buildings and places by name",
                "operationId": "searchPlaces",
                "parameters": [
                    region_parameter(),
                    parameter("q", False, {"type": "string"},
                               "Part of a name (case-insensitive); a blank query finds "
                               "nothing. Exact matches come first, then names that start "
                               "with it, then shorter names."),
                    parameter("limit", False, {"type": "integer", "minimum": 1,
                                                "maximum": max_places, "default": 10},
                               "How many places to return."),
                ],
                "responses": {
                    "200": json_response("The matching places, best first", {
                        "type": "object",
                        "required": ["places"],
                        "properties": {
                            "region": {"type": "string"},
                            "attribution": {"type": "string"},
                            "places": {
                                "type": "array",
                                "items": {"$ref": "#/components/schemas/Place"},
                            },
                        },
                    }),
                    "400": BAD_REQUEST,
                },
            },
        },
        "/openapi.json": {"get": {
            "summary": "This document",
            "operationId": "openapiDocument",
            "responses": {"200": json_response("The OpenAPI 3.0 document", {"type": "object"})},
        }},
    }


def _worker_point() -> list[dict]:
    """The region, the worker's point and datum, and the travel mode of a worker's question."""
    return [
        region_parameter(),
        parameter("lat", True, {"type": "number", "minimum": -90, "maximum": 90},
                  "Latitude of the worker, in `datum`; the point must lie in the region."),
        parameter("lon", True, {"type": "number", "minimum": -180, "maximum": 180},
                  "Longitude of the worker, in `datum`."),
        parameter("mode", False, {"type": "string", "enum": list(MODES), "default": "walk"},
                  "Travel mode; the region must offer it."),
        parameter("datum", False, {"type": "string", "enum": list(DATUMS), "default": "wgs84"},
                  "Datum of lat/lon: wgs84 (GPS, OSM), gcj02 (Amap, Tencent) or bd09 (Baidu)."),
    ]
