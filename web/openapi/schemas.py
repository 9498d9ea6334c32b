"""The component schemas of the OpenAPI document: errors, regions, places, stations, the
planner's requests and answers, and a sketch of the GeoJSON bodies."""

from __future__ import annotations

from sqlalchemy import String

from geo import (
    AMENITIES,
    CANDIDATE_CATEGORIES,
    CATEGORIES,
    DATUMS,
    GROUPS,
    KINDS,
    LEVELS,
    MAX_CAPACITY,
    METADATA,
    MODES,
    NAME_LIMIT,
    NOTE_LIMIT,
    OFF_STREET_M,
    PROBLEMS,
    REGION_LIMIT,
    REMOVED_LIMIT,
    SITE_CATEGORY_LIMIT,
    SITE_NAME_LIMIT,
    STATUSES,
    WALK_MS,
)
from web.openapi.parts import ID_SCHEMA, json_response, refused_job


def responses() -> dict:
    """The component responses: refusals shared by many operations."""
    return {
        "BadParameter": json_response(
            "A parameter is missing or wrong; the error names it",
            {"$ref": "#/components/schemas/Error"},
        ),
        "Unauthorized": json_response(
            "No API token, or an unknown, revoked or expired one, or one whose account "
            "is locked or deactivated (the message is in the request's language)",
            {"$ref": "#/components/schemas/Error"},
        ),
        "Forbidden": json_response(
            "The token's account is a viewer (writing needs the staff role), or the "
            "signed-in session's account must change its password first",
            {"$ref": "#/components/schemas/Error"},
        ),
        "NotFound": json_response(
            "No such station, or it is deleted", {"$ref": "#/components/schemas/Error"},
        ),
        "Conflict": json_response(
            "The station is no longer at the version in If-Match; nothing was changed, "
            "and `current` is the stored station",
            {"$ref": "#/components/schemas/Conflict"},
        ),
        "Unprocessable": json_response(
            "A field is wrong; the error names the first, `problems` lists all; "
            "nothing was changed",
            {"$ref": "#/components/schemas/FieldError"},
        ),
        "PreconditionRequired": json_response(
            "If-Match is missing", {"$ref": "#/components/schemas/Error"},
        ),
        "TooManyRequests": refused_job(
            "This client's earlier heavy request is still running, or it sent too many "
            "heavy requests this minute; try again after Retry-After seconds"),
        "Busy": refused_job(
            "Every worker of the heavy-work pool is busy and its queue is full; try "
            "again after Retry-After seconds"),
        "UnsupportedMediaType": json_response(
            "The body is not declared JSON (Content-Type: application/json)",
            {"$ref": "#/components/schemas/Error"},
        ),
    }


def station_text_limits() -> dict[str, int]:
    """Station field -> the most characters its column holds (the store refuses longer)."""
    return {("union" if column.name == "union_name" else column.name): column.type.length
            for column in METADATA.tables["stations"].columns
            if isinstance(column.type, String) and column.type.length}


def schemas() -> dict:
    """The component schemas: errors, regions, places and a sketch of the GeoJSON bodies."""
    limits = station_text_limits()
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
                           "bidirectional control characters; text with other control "
                           "characters (but tab, line feed and carriage return) is refused.",
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
                                   "stations, snap_m and navigation.",
                    "properties": {
                        "kind": {"type": "string", "enum": list(KINDS)},
                        "status": {"type": "string", "enum": list(STATUSES)},
                        "amenities": {"type": "array",
                                      "items": {"type": "string", "enum": list(AMENITIES)}},
                        "open_state": {"type": "string", "enum": ["open", "closed", "unknown"]},
                        "hours_text": {"type": "string",
                                       "description": "opening_hours in words of the request's "
                                                      "language (lang), e.g. 周一至周五 "
                                                      "09:00–17:00"},
                        "open_text": {"type": "string",
                                      "description": "what the hours mean now, e.g. open until "
                                                     "17:00, opens 08:30 tomorrow"},
                        "feature_type": {"type": "string", "enum": ["station", "route"]},
                        "snap_m": {"type": "number", "minimum": 0,
                                   "description": "How far the station is from its street, "
                                                  "metres (nearest answers); its route ends "
                                                  "on the street."},
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
                            "description": "Where the point joins the network: the nearest "
                                           "point of its nearest street, where its routes "
                                           "start.",
                            "properties": {
                                "distance_m": {
                                    "type": "number", "minimum": 0,
                                    "description": "How far the point is from that street, "
                                                   "metres.",
                                },
                                "walk_s": {
                                    "type": "number", "minimum": 0,
                                    "description": "Seconds of walking to the street counted "
                                                   f"in every travel time: 0 within "
                                                   f"{OFF_STREET_M:g} m of it, else distance_m "
                                                   f"at {WALK_MS * 3.6:g} km/h.",
                                },
                                "lon": {"type": "number",
                                        "description": "Longitude of the point on the street, "
                                                       "WGS-84."},
                                "lat": {"type": "number",
                                        "description": "Latitude of the point on the street, "
                                                       "WGS-84."},
                            },
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


def planning_schemas() -> dict:
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
              "removed": {"type": "array", "items": ID_SCHEMA, "maxItems": REMOVED_LIMIT,
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
