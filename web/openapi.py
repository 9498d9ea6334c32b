"""The OpenAPI 3.0 description of the API (``/api/v1``), written by hand.

The enums come from the vocabularies themselves (:mod:`geo.stations`, :mod:`geo.modes`,
:mod:`geo.coords`, :mod:`geo.places`) and the bounds from the code that enforces them (ids, the
store's text columns, capacity, scenario names), so the document cannot drift from what the API
accepts. Links lead from a stored station to the operations on it.
"""

from __future__ import annotations

from sqlalchemy import String

from geo.candidates import CANDIDATE_CATEGORIES
from geo.coords import DATUMS
from geo.groups import GROUPS
from geo.modes import MODES
from geo.places import CATEGORIES
from geo.recommend import PROBLEMS
from geo.scenarios import (NAME_LIMIT, NOTE_LIMIT, REGION_LIMIT, REMOVED_LIMIT,
                           SITE_CATEGORY_LIMIT, SITE_NAME_LIMIT)
from geo.settings import OSM_ATTRIBUTION
from geo.stations import AMENITIES, KINDS, LEVELS, MAX_CAPACITY, STATUSES
from geo.store import METADATA
from web.params import MAX_ID

#: The OpenAPI version the document follows.
OPENAPI_VERSION = "3.0.3"

#: The ETag header of an answer about one station.
_ETAG_HEADER: dict = {"ETag": {"description": "The station's version, quoted.",
                               "schema": {"type": "string"}}}

#: The schema of a record id: PostgreSQL's ``integer`` bounds every store.
_ID_SCHEMA: dict = {"type": "integer", "minimum": 1, "maximum": MAX_ID}


def openapi_document(max_nearest: int, max_places: int) -> dict:
    """Return the OpenAPI document of the API: reads open to all, station writes for staff.

    Args:
        max_nearest: the largest ``limit`` of ``/nearest``.
        max_places: the largest ``limit`` of ``/places``.

    Returns:
        A JSON-ready dict (OpenAPI 3.0).
    """
    bad_request = {"$ref": "#/components/responses/BadParameter"}
    document = {
        "openapi": OPENAPI_VERSION,
        "info": {
            "title": "Yizhan (驿站) API",
            "version": "1",
            "description": (
                "Worker rest stations of Chinese trade unions: regions, stations, the nearest "
                "open stations by travel time on the street network, and place-name search. "
                "Coordinates are WGS-84 unless a datum is named. Street data "
                f"{OSM_ATTRIBUTION}. Demo stations are not real and carry `demo: true`."
            ),
        },
        "servers": [{"url": "/api/v1"}],
        "paths": {
            **_planning_paths(bad_request),
            "/regions": {
                "get": {
                    "summary": "All regions with their modes, bounds and attribution",
                    "operationId": "listRegions",
                    "responses": {
                        "200": _json_response("The regions", {
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
                        _region_parameter(),
                        _list_parameter("kind", KINDS, "Only stations of these kinds."),
                        _list_parameter("status", STATUSES, "Only stations in these states."),
                        _list_parameter("amenity", AMENITIES,
                                        "Only stations that have all these amenities."),
                    ],
                    "responses": {
                        "200": _json_response(
                            "A FeatureCollection of station Points",
                            {"$ref": "#/components/schemas/FeatureCollection"},
                        ),
                        "400": bad_request,
                    },
                },
                "post": _write_operation(
                    "Add a station (staff)", "addStation",
                    "The station's fields; `name`, `region`, `kind`, `lon` and `lat` are "
                    "required, `lon`/`lat` are in `datum`.", {"201": {
                        **_station_response(
                            "The stored station (version 1); its URL is in Location"),
                        "links": _station_links(),
                    }},
                    body="StationInput", if_match=False,
                ),
            },
            "/stations/{id}": {
                "parameters": [_id_parameter()],
                "get": {
                    "summary": "One station that is not deleted",
                    "operationId": "getStation",
                    "responses": {
                        "200": _station_response("The station; its version is the ETag"),
                        "404": {"$ref": "#/components/responses/NotFound"},
                    },
                },
                "patch": _write_operation(
                    "Change fields of a station (staff)", "changeStation",
                    "Any subset of the station's fields; `lon`/`lat` are in `datum`.",
                    {"200": {**_station_response("The station as stored now"),
                             "links": _station_links()}},
                    body="StationInput",
                ),
                "delete": _write_operation(
                    "Delete a station (staff); restore undoes it", "deleteStation", "",
                    {"200": {**_json_response("The station is deleted", {
                        "type": "object",
                        "properties": {"id": {"type": "integer"}, "deleted": {"type": "boolean"},
                                       "version": {"type": "integer",
                                                   "description": "The deleted station's "
                                                                  "version, for restore."}},
                    }), "headers": _ETAG_HEADER, "links": {"RestoreStation": {
                        "operationId": "restoreStation",
                        "parameters": {"id": "$response.body#/id",
                                       "header.If-Match": "$response.header.ETag"}}}}},
                ),
            },
            "/stations/{id}/restore": {
                "parameters": [_id_parameter()],
                "post": _write_operation(
                    "Undo the deletion of a station (staff)", "restoreStation", "",
                    {"200": _station_response("The restored station")},
                ),
            },
            "/nearest": {
                "get": {
                    "summary": "The nearest matching open stations by travel time, with routes",
                    "operationId": "nearestStations",
                    "parameters": [
                        _region_parameter(),
                        _parameter("lat", True, {"type": "number", "minimum": -90,
                                                 "maximum": 90},
                                   "Latitude of the worker, in `datum`; the point must lie in "
                                   "the region."),
                        _parameter("lon", True, {"type": "number", "minimum": -180,
                                                 "maximum": 180},
                                   "Longitude of the worker, in `datum`."),
                        _parameter("mode", False, {"type": "string", "enum": list(MODES),
                                                   "default": "walk"},
                                   "Travel mode; the region must offer it."),
                        _parameter("datum", False, {"type": "string", "enum": list(DATUMS),
                                                    "default": "wgs84"},
                                   "Datum of lat/lon: wgs84 (GPS, OSM), gcj02 (Amap, "
                                   "Tencent) or bd09 (Baidu)."),
                        _list_parameter("kind", KINDS, "Only stations of these kinds."),
                        _list_parameter("amenity", AMENITIES,
                                        "Only stations that have all these amenities."),
                        _parameter("open_now", False, {"type": "boolean", "default": False},
                                   "Only stations open now (Asia/Shanghai time); true/false, "
                                   "1/0 or yes/no."),
                        _parameter("limit", False, {"type": "integer", "minimum": 1,
                                                    "maximum": max_nearest, "default": 3},
                                   "How many stations to return."),
                    ],
                    "responses": {
                        "200": _json_response(
                            "Each station as a Point feature (feature_type `station`, with "
                            "rank, time_s, time_min, distance_m and navigation links) followed "
                            "by its route as a LineString feature (feature_type `route`), in "
                            "order of travel time",
                            {"$ref": "#/components/schemas/NearestAnswer"},
                        ),
                        "400": bad_request,
                    },
                },
            },
            "/places": {
                "get": {
                    "summary": "Search the region's streets, buildings and places by name",
                    "operationId": "searchPlaces",
                    "parameters": [
                        _region_parameter(),
                        _parameter("q", False, {"type": "string"},
                                   "Part of a name (case-insensitive); a blank query finds "
                                   "nothing. Exact matches come first, then names that start "
                                   "with it, then shorter names."),
                        _parameter("limit", False, {"type": "integer", "minimum": 1,
                                                    "maximum": max_places, "default": 10},
                                   "How many places to return."),
                    ],
                    "responses": {
                        "200": _json_response("The matching places, best first", {
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
                        "400": bad_request,
                    },
                },
            },
        },
        "components": {
            "schemas": {**_schemas(), **_planning_schemas()},
            "responses": {
                "BadParameter": _json_response(
                    "A parameter is missing or wrong; the error names it",
                    {"$ref": "#/components/schemas/Error"},
                ),
                "Unauthorized": _json_response(
                    "No API token, or an unknown, revoked or expired one, or one whose account "
                    "is locked or deactivated (the message is in the request's language)",
                    {"$ref": "#/components/schemas/Error"},
                ),
                "Forbidden": _json_response(
                    "The token's account is a viewer (writing needs the staff role), or the "
                    "signed-in session's account must change its password first",
                    {"$ref": "#/components/schemas/Error"},
                ),
                "NotFound": _json_response(
                    "No such station, or it is deleted", {"$ref": "#/components/schemas/Error"},
                ),
                "Conflict": _json_response(
                    "The station is no longer at the version in If-Match; nothing was changed, "
                    "and `current` is the stored station",
                    {"$ref": "#/components/schemas/Conflict"},
                ),
                "Unprocessable": _json_response(
                    "A field is wrong; the error names the first, `problems` lists all; "
                    "nothing was changed",
                    {"$ref": "#/components/schemas/FieldError"},
                ),
                "PreconditionRequired": _json_response(
                    "If-Match is missing", {"$ref": "#/components/schemas/Error"},
                ),
                "TooManyRequests": _refused_job(
                    "This client's earlier heavy request is still running, or it sent too many "
                    "heavy requests this minute; try again after Retry-After seconds"),
                "Busy": _refused_job(
                    "Every worker of the heavy-work pool is busy and its queue is full; try "
                    "again after Retry-After seconds"),
                "UnsupportedMediaType": _json_response(
                    "The body is not declared JSON (Content-Type: application/json)",
                    {"$ref": "#/components/schemas/Error"},
                ),
            },
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
            if method != "parameters":  # any parameter with a control character is refused
                operation["responses"].setdefault("400", bad_request)
    return document


def _id_parameter(record: str = "station") -> dict:
    """A record id in a path: a larger number than any id is simply not found."""
    return {"name": "id", "in": "path", "required": True, "schema": _ID_SCHEMA,
            "description": f"The {record}'s id."}


def _station_links() -> dict:
    """Links from an answer carrying one station (its id in the body, its version as the
    ETag) to reading, changing and deleting it."""
    station_id = "$response.body#/properties/id"
    version = "$response.header.ETag"
    return {
        "GetStation": {"operationId": "getStation", "parameters": {"id": station_id}},
        "ChangeStation": {"operationId": "changeStation",
                          "parameters": {"id": station_id, "header.If-Match": version}},
        "DeleteStation": {"operationId": "deleteStation",
                          "parameters": {"id": station_id, "header.If-Match": version}},
    }


def _station_text_limits() -> dict[str, int]:
    """Station field -> the most characters its column holds (the store refuses longer)."""
    return {("union" if column.name == "union_name" else column.name): column.type.length
            for column in METADATA.tables["stations"].columns
            if isinstance(column.type, String) and column.type.length}


def _station_response(description: str) -> dict:
    """A response with one station as a GeoJSON feature and its version as the ETag.

    Args:
        description: what the response means.

    Returns:
        An OpenAPI Response object.
    """
    response = _json_response(description, {"$ref": "#/components/schemas/Feature"})
    response["headers"] = _ETAG_HEADER
    return response


def _write_operation(summary: str, operation_id: str, body_description: str,
                     responses: dict, body: str | None = None, if_match: bool = True) -> dict:
    """An operation that changes stations: needs an API token of a staff account.

    Args:
        summary: what it does.
        operation_id: its operationId.
        body_description: what the JSON body holds (unused without ``body``).
        responses: its success responses.
        body: the component schema of its JSON body, if it takes one.
        if_match: whether it needs ``If-Match`` with the version it is based on.

    Returns:
        An OpenAPI Operation object with the refusals every write can get.
    """
    refusals = {
        "400": {"$ref": "#/components/responses/BadParameter"},
        "401": {"$ref": "#/components/responses/Unauthorized"},
        "403": {"$ref": "#/components/responses/Forbidden"},
    }
    if body:
        refusals["415"] = {"$ref": "#/components/responses/UnsupportedMediaType"}
        refusals["422"] = {"$ref": "#/components/responses/Unprocessable"}
    if if_match:
        refusals |= {"404": {"$ref": "#/components/responses/NotFound"},
                     "409": {"$ref": "#/components/responses/Conflict"},
                     "428": {"$ref": "#/components/responses/PreconditionRequired"}}
    operation = {"summary": summary, "operationId": operation_id,
                 "security": [{"apiToken": []}], "responses": {**responses, **refusals}}
    if if_match:
        operation["parameters"] = [{
            "name": "If-Match", "in": "header", "required": True,
            "schema": {"type": "string"},
            "description": "The version the change is based on (the ETag, e.g. \"3\").",
        }]
    if body:
        operation["requestBody"] = {
            "required": True, "description": body_description,
            "content": {"application/json": {"schema": {"$ref": f"#/components/schemas/{body}"}}},
        }
    return operation


def _parameter(name: str, required: bool, schema: dict, description: str) -> dict:
    """A query parameter.

    Args:
        name: the parameter's name.
        required: whether it must be given.
        schema: its JSON schema.
        description: what it means.

    Returns:
        An OpenAPI Parameter object.
    """
    return {"name": name, "in": "query", "required": required, "schema": schema,
            "description": description}


def _region_parameter() -> dict:
    """The ``region`` parameter every path takes."""
    return _parameter("region", False, {"type": "string"},
                      "Region id (see /regions); the default region when absent.")


def _list_parameter(name: str, vocabulary: dict, description: str) -> dict:
    """A parameter of zero or more values from a vocabulary, repeated or comma-separated.

    Args:
        name: the parameter's name.
        vocabulary: the allowed values (its keys).
        description: what it filters.

    Returns:
        An OpenAPI Parameter object with an array schema whose items enumerate the vocabulary.
    """
    parameter = _parameter(
        name, False, {"type": "array", "items": {"type": "string", "enum": list(vocabulary)}},
        f"{description} Repeat the parameter or separate values with commas.",
    )
    return {**parameter, "style": "form", "explode": True}


def _refused_job(description: str) -> dict:
    """A refused heavy request (429 or 503): JSON naming the job, with ``Retry-After``."""
    return {**_json_response(description, {
        "type": "object", "required": ["error"],
        "properties": {"error": {"type": "object", "required": ["job", "message"], "properties": {
            "job": {"type": "string", "description": "What was refused (recommend, whatif, …)."},
            "message": {"type": "string"}}}}}),
        "headers": {"Retry-After": {"description": "Seconds to wait before trying again.",
                                    "schema": {"type": "integer"}}}}


def _json_response(description: str, schema: dict,
                   media_type: str = "application/json") -> dict:
    """A response with a JSON body.

    Args:
        description: what the response holds.
        schema: the body's schema.

    Returns:
        An OpenAPI Response object.
    """
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def _schemas() -> dict:
    """The component schemas: errors, regions, places and a sketch of the GeoJSON bodies."""
    limits = _station_text_limits()
    position = {"type": "array", "items": {"type": "number"}, "minItems": 2, "maxItems": 2,
                "description": "[lon, lat], WGS-84"}
    return {
        "Error": {
            "type": "object",
            "required": ["error"],
            "properties": {"error": {
                "type": "object",
                "required": ["parameter", "message"],
                "properties": {
                    "parameter": {"type": "string", "description": "The parameter at fault."},
                    "message": {"type": "string", "description": "What is wrong with it."},
                },
            }},
        },
        "FieldError": {
            "type": "object",
            "required": ["error"],
            "properties": {
                "error": {
                    "type": "object",
                    "required": ["field", "message"],
                    "properties": {
                        "field": {"type": "string", "description": "The field at fault."},
                        "message": {"type": "string", "description": "What is wrong with it."},
                    },
                },
                "problems": {"type": "array", "items": {
                    "type": "object",
                    "properties": {"field": {"type": "string"}, "message": {"type": "string"}},
                }},
            },
        },
        "Conflict": {
            "allOf": [
                {"$ref": "#/components/schemas/Error"},
                {"type": "object", "properties": {
                    "current": {"$ref": "#/components/schemas/Feature"},
                }},
            ],
        },
        "StationInput": {
            "type": "object",
            "additionalProperties": False,
            "properties": {
                "name": {"type": "string", "maxLength": limits["name"]},
                "region": {"type": "string", "maxLength": limits["region"],
                           "description": "Region id (see /regions)."},
                "kind": {"type": "string", "enum": list(KINDS)},
                "lon": {"type": "number", "minimum": -180, "maximum": 180},
                "lat": {"type": "number", "minimum": -90, "maximum": 90},
                "datum": {"type": "string", "enum": list(DATUMS), "default": "wgs84",
                          "description": "Datum of lon/lat; stored as WGS-84."},
                "status": {"type": "string", "enum": list(STATUSES), "default": "open"},
                "address": {"type": "string", "maxLength": limits["address"]},
                "host": {"type": "string", "maxLength": limits["host"]},
                "union": {"type": "string", "maxLength": limits["union"]},
                "level": {"type": "string", "enum": list(LEVELS), "default": "district"},
                "amenities": {"type": "array",
                              "items": {"type": "string", "enum": list(AMENITIES)}},
                "opening_hours": {"type": "string", "maxLength": limits["opening_hours"],
                                  "description": "OpenStreetMap opening_hours syntax."},
                "phone": {"type": "string", "maxLength": limits["phone"]},
                "capacity": {"type": "integer", "minimum": 0, "maximum": MAX_CAPACITY,
                             "nullable": True, "description": "How many people it holds."},
                "smart_24h": {"type": "boolean"},
                "verified_on": {"type": "string", "format": "date", "nullable": True},
                "notes": {"type": "string"},
            },
            "example": {"name": "新街口爱心驿站", "region": "nanjing", "kind": "love_station",
                        "lon": 118.7790, "lat": 32.0418, "amenities": ["drinking_water", "toilet"],
                        "opening_hours": "Mo-Su 08:00-20:00", "capacity": 8},
            "description": "A station must lie in its region and may not have the name of "
                           "another station within 50 m (names compared without case, spaces "
                           "and full-width forms). Text is stored without zero-width and "
                           "bidirectional control characters; text with other control characters (but tab, "
                           "line feed and carriage return) is refused.",
        },
        "Region": {
            "type": "object",
            "properties": {
                "id": {"type": "string"},
                "name": {"type": "string"},
                "name_en": {"type": "string"},
                "default": {"type": "boolean"},
                "demo": {"type": "boolean"},
                "modes": {"type": "array", "items": {"type": "string", "enum": list(MODES)}},
                "bounds": {"type": "array", "items": {"type": "number"}, "minItems": 4,
                           "maxItems": 4, "description": "[min_lon, min_lat, max_lon, max_lat]"},
                "stations": {"type": "integer"},
                "attribution": {"type": "string"},
            },
        },
        "Place": {
            "type": "object",
            "required": ["name", "category", "lon", "lat"],
            "properties": {
                "name": {"type": "string"},
                "category": {"type": "string", "enum": list(CATEGORIES)},
                "lon": {"type": "number"},
                "lat": {"type": "number"},
            },
        },
        "Navigation": {
            "type": "object",
            "description": "Links that open a route to the station in a map app.",
            "properties": {
                "amap": {"type": "string", "format": "uri", "description": "Amap, GCJ-02"},
                "baidu": {"type": "string", "format": "uri", "description": "Baidu, BD-09"},
                "osm": {"type": "string", "format": "uri",
                        "description": "openstreetmap.org, WGS-84"},
            },
        },
        "Feature": {
            "type": "object",
            "required": ["type", "geometry", "properties"],
            "properties": {
                "type": {"type": "string", "enum": ["Feature"]},
                "geometry": {
                    "type": "object",
                    "required": ["type", "coordinates"],
                    "properties": {
                        "type": {"type": "string", "enum": ["Point", "LineString"]},
                        "coordinates": {"oneOf": [
                            position, {"type": "array", "items": position},
                        ]},
                    },
                },
                "properties": {
                    "type": "object",
                    "description": "Station attributes (id, name, kind, status, amenities, "
                                   "opening_hours, open_state now in Asia/Shanghai, demo, "
                                   "...); in nearest answers also "
                                   "feature_type, rank, time_s, time_min, distance_m and, on "
                                   "stations, navigation.",
                    "properties": {
                        "kind": {"type": "string", "enum": list(KINDS)},
                        "status": {"type": "string", "enum": list(STATUSES)},
                        "amenities": {"type": "array",
                                      "items": {"type": "string", "enum": list(AMENITIES)}},
                        "open_state": {"type": "string", "enum": ["open", "closed", "unknown"]},
                        "feature_type": {"type": "string", "enum": ["station", "route"]},
                        "navigation": {"$ref": "#/components/schemas/Navigation"},
                    },
                    "additionalProperties": True,
                },
            },
        },
        "FeatureCollection": {
            "type": "object",
            "required": ["type", "features"],
            "properties": {
                "type": {"type": "string", "enum": ["FeatureCollection"]},
                "attribution": {"type": "string"},
                "features": {"type": "array",
                             "items": {"$ref": "#/components/schemas/Feature"}},
            },
        },
        "NearestAnswer": {
            "allOf": [
                {"$ref": "#/components/schemas/FeatureCollection"},
                {
                    "type": "object",
                    "properties": {
                        "region": {"type": "string"},
                        "mode": {"type": "string", "enum": list(MODES)},
                        "snap": {
                            "type": "object",
                            "properties": {"distance_m": {
                                "type": "number",
                                "description": "How far the point is from the network node "
                                               "it joined.",
                            }},
                        },
                        "query": {
                            "type": "object",
                            "description": "The query point converted to WGS-84.",
                            "properties": {"lon": {"type": "number"},
                                           "lat": {"type": "number"},
                                           "datum": {"type": "string", "enum": ["wgs84"]}},
                        },
                    },
                },
            ],
        },
    }


def _planning_paths(bad_request: dict) -> dict:
    """The planner's paths: recommended sites, what-if coverage and saved scenarios."""
    def body(schema: str, description: str) -> dict:
        return {"required": True, "description": description, "content": {
            "application/json": {"schema": {"$ref": f"#/components/schemas/{schema}"}}}}

    scenario = {"$ref": "#/components/schemas/Scenario"}
    heavy = {"429": {"$ref": "#/components/responses/TooManyRequests"},
             "503": {"$ref": "#/components/responses/Busy"}}
    unsupported = {"$ref": "#/components/responses/UnsupportedMediaType"}
    return {
        "/recommend": {"post": {
            "summary": "Recommend where to build new stations, with the proven optimality gap",
            "operationId": "recommendSites",
            "parameters": [_parameter("format", False,
                                      {"type": "string", "enum": ["json", "geojson", "csv"],
                                       "default": "json"},
                                      "json: the whole answer; geojson or csv: the sites alone "
                                      "as a download.")],
            "requestBody": body("RecommendRequest", "What to solve and with which candidates"),
            "responses": {
                "200": {"description": "json: the sites in selection order with their "
                                       "gains, the coverage before and after, the curve "
                                       "against the number of sites and the solver's gap; "
                                       "geojson: the sites as points; csv: the sites as rows",
                        "content": {
                            "application/json": {
                                "schema": {"$ref": "#/components/schemas/Recommendation"}},
                            "application/geo+json": {
                                "schema": {"$ref": "#/components/schemas/FeatureCollection"}},
                            "text/csv": {"schema": {"type": "string"}},
                        }},
                "400": bad_request, **heavy,
                "415": unsupported,
            },
        }},
        "/whatif": {"post": {
            "summary": "Coverage with hypothetical stations added and existing ones switched "
                       "off; nothing is saved",
            "operationId": "whatIf",
            "requestBody": body("WhatIf", "The change to try"),
            "responses": {
                "200": _json_response("The what-if coverage next to the real one, with its "
                                      "gap areas and the new stations' service areas",
                                      {"type": "object",
                                       "required": ["report", "baseline", "gaps"]}),
                "400": bad_request, **heavy,
                "415": unsupported,
            },
        }},
        "/scenarios": {
            "get": {
                "summary": "Saved what-if scenarios, newest first",
                "operationId": "listScenarios",
                "parameters": [_parameter("region", False, {"type": "string"},
                                          "Only this region's scenarios.")],
                "responses": {"200": _json_response("The scenarios", {
                    "type": "object", "required": ["scenarios"],
                    "properties": {"scenarios": {"type": "array", "items": scenario}}})},
            },
            "post": {
                "summary": "Save a what-if as a named scenario (any signed-in account)",
                "operationId": "saveScenario",
                "security": [{"apiToken": []}],
                "requestBody": body("ScenarioRequest", "The scenario"),
                "responses": {
                    "201": {**_json_response("The saved scenario", scenario), "links": {
                    "GetScenario": {"operationId": "getScenario",
                                    "parameters": {"id": "$response.body#/id"}}}},
                    "400": bad_request,
                    "415": unsupported,
                    "401": {"$ref": "#/components/responses/Unauthorized"},
                    "422": {"$ref": "#/components/responses/Unprocessable"},
                },
            },
        },
        "/scenarios/{id}": {"get": {
            "summary": "One saved scenario",
            "operationId": "getScenario",
            "parameters": [_id_parameter("scenario")],
            "responses": {"200": _json_response("The scenario", scenario),
                          "404": {"$ref": "#/components/responses/NotFound"}},
        }},
    }


def _planning_schemas() -> dict:
    """Schemas of the planner's requests and answers."""
    area = {
        "region": {"type": "string", "maxLength": REGION_LIMIT, "description": "Region id."},
        "group": {"type": "string", "enum": list(GROUPS), "description": "Worker group."},
        "threshold": {"type": "number", "minimum": 0.5, "maximum": 120,
                      "description": "Travel-time threshold, minutes (the group's default)."},
    }
    site = {"type": "object", "required": ["lon", "lat"], "properties": {
        "lon": {"type": "number", "minimum": -180, "maximum": 180},
        "lat": {"type": "number", "minimum": -90, "maximum": 90},
        "name": {"type": "string", "maxLength": SITE_NAME_LIMIT},
        "category": {"type": "string", "maxLength": SITE_CATEGORY_LIMIT}}}
    whatif = {**area,
              "added": {"type": "array", "items": site, "maxItems": 50,
                        "description": "Hypothetical new stations, WGS-84."},
              "removed": {"type": "array", "items": _ID_SCHEMA, "maxItems": REMOVED_LIMIT,
                          "description": "Ids of existing stations to switch off."}}
    return {
        "RecommendRequest": {"type": "object", "properties": {
            **area,
            "problem": {"type": "string", "enum": list(PROBLEMS), "default": "mclp",
                        "description": "mclp: k sites covering the most demand; lscp: the "
                                       "fewest sites reaching `target`; pmedian: k sites "
                                       "minimising mean travel time; backup: k sites covering "
                                       "the most demand twice (single coverage breaks ties)."},
            "k": {"type": "integer", "minimum": 1, "maximum": 100},
            "target": {"type": "number", "exclusiveMinimum": True, "minimum": 0,
                       "maximum": 1, "description": "lscp: share of all demand to cover."},
            "candidates": {"description": "\"sites\" (host-like places and convenience "
                                          "stores), \"nodes\" (every street node) or a GeoJSON "
                                          "FeatureCollection of points with optional name and "
                                          "category.",
                           "oneOf": [{"type": "string", "enum": ["sites", "nodes"]},
                                     {"type": "object"}]},
            "min_distance_m": {"type": "number", "minimum": 0, "maximum": 100_000,
                               "default": 50,
                               "description": "Candidates at least this far from an open "
                                              "station."},
            "categories": {"type": "array",
                           "items": {"type": "string", "enum": list(CANDIDATE_CATEGORIES)}},
            "excluded": {"type": "object", "description": "GeoJSON (multi)polygon, feature or "
                                                          "feature collection no new site may "
                                                          "lie in."},
            "time_limit_s": {"type": "number", "minimum": 0.1, "maximum": 60, "default": 10},
            "curve": {"type": "boolean", "default": True},
        }},
        "Recommendation": {"type": "object", "required": ["sites", "gap", "optimal"],
                           "properties": {
            "sites": {"type": "array", "items": {"type": "object", "required": ["gain"]}},
            "gap": {"type": "number", "nullable": True,
                    "description": "Proven relative optimality gap (0: optimal)."},
            "optimal": {"type": "boolean"},
            "time_limit_hit": {"type": "boolean"},
            "before": {"type": "object"}, "after": {"type": "object"},
            "curve": {"type": "array", "items": {"type": "object"}},
            "notes": {"type": "array", "items": {"type": "string"}},
        }},
        "WhatIf": {"type": "object", "properties": whatif},
        "ScenarioRequest": {"type": "object", "required": ["name"], "properties": {
            **whatif, "name": {"type": "string", "maxLength": NAME_LIMIT},
            "note": {"type": "string", "maxLength": NOTE_LIMIT,
                     "description": "Free text; copied into the notes of the planned stations "
                                    "made from the scenario."}}},
        "Scenario": {"type": "object", "required": ["id", "name", "region"], "properties": {
            "id": {"type": "integer"}, "region": {"type": "string"},
            "name": {"type": "string"}, "group": {"type": "string"},
            "threshold_min": {"type": "number"},
            "added": {"type": "array", "items": site},
            "removed": {"type": "array", "items": {"type": "integer"}},
            "note": {"type": "string"}, "created_by": {"type": "string"},
            "created_at": {"type": "string", "nullable": True},
            "planned_station_ids": {"type": "array", "items": {"type": "integer"}},
        }},
    }
