"""The paths of the planner's API: coverage and its layers, recommended sites, what-if
coverage and saved scenarios."""

from __future__ import annotations

from geo import GROUPS
from web.openapi.parts import (
    BAD_REQUEST,
    HEAVY_REFUSALS,
    id_parameter,
    json_response,
    parameter,
    region_parameter,
)


def planning_paths(max_threshold: float) -> dict:
    """The planner's paths: coverage and its layers, recommended sites, what-if coverage and
    saved scenarios.

    Args:
        max_threshold: the largest travel-time threshold of a coverage request, minutes.
    """
    def body(schema: str, description: str) -> dict:
        return {"required": True, "description": description, "content": {
            "application/json": {"schema": {"$ref": f"#/components/schemas/{schema}"}}}}

    scenario = {"$ref": "#/components/schemas/Scenario"}
    unsupported = {"$ref": "#/components/responses/UnsupportedMediaType"}
    return {
        **coverage_paths(max_threshold),
        "/recommend": {"post": {
            "summary": "Recommend where to build new stations, with the proven optimality gap",
            "operationId": "recommendSites",
            "parameters": [parameter("format", False,
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
                "400": BAD_REQUEST, **HEAVY_REFUSALS,
                "415": unsupported,
            },
        }},
        "/whatif": {"post": {
            "summary": "Coverage with hypothetical stations added and existing ones switched "
                       "off; nothing is saved",
            "operationId": "whatIf",
            "requestBody": body("WhatIf", "The change to try"),
            "responses": {
                "200": json_response("The what-if coverage next to the real one, with its "
                                      "gap areas and the new stations' service areas",
                                      {"type": "object",
                                       "required": ["report", "baseline", "gaps"]}),
                "400": BAD_REQUEST, **HEAVY_REFUSALS,
                "415": unsupported,
            },
        }},
        "/scenarios": {
            "get": {
                "summary": "Saved what-if scenarios, newest first",
                "operationId": "listScenarios",
                "parameters": [parameter("region", False, {"type": "string"},
                                          "Only this region's scenarios.")],
                "responses": {"200": json_response("The scenarios", {
                    "type": "object", "required": ["scenarios"],
                    "properties": {"scenarios": {"type": "array", "items": scenario}}})},
            },
            "post": {
                "summary": "Save a what-if as a named scenario (any signed-in account)",
                "operationId": "saveScenario",
                "security": [{"apiToken": []}],
                "requestBody": body("ScenarioRequest", "The scenario"),
                "responses": {
                    "201": {**json_response("The saved scenario", scenario), "links": {
                    "GetScenario": {"operationId": "getScenario",
                                    "parameters": {"id": "$response.body#/id"}}}},
                    "400": BAD_REQUEST,
                    "415": unsupported,
                    "401": {"$ref": "#/components/responses/Unauthorized"},
                    "422": {"$ref": "#/components/responses/Unprocessable"},
                },
            },
        },
        "/scenarios/{id}": {"get": {
            "summary": "One saved scenario",
            "operationId": "getScenario",
            "parameters": [id_parameter("scenario")],
            "responses": {"200": json_response("The scenario", scenario),
                          "404": {"$ref": "#/components/responses/NotFound"}},
        }},
    }


def coverage_parameters(max_threshold: float) -> list[dict]:
    """The parameters of a coverage request: region, worker group (or its mode) and
    threshold (at most ``max_threshold`` minutes)."""
    return [
        region_parameter(),
        parameter("group", False, {"type": "string", "enum": list(GROUPS)},
                  "Worker group; the street vendors' when neither group nor mode is given. "
                  "The region must have the group's network."),
        parameter("mode", False, {"type": "string",
                                  "enum": list(dict.fromkeys(g.mode for g in GROUPS.values()))},
                  "The group travelling by this mode, when no group is given."),
        parameter("threshold", False, {"type": "number", "minimum": 0.5,
                                       "maximum": max_threshold},
                  "Travel-time threshold in minutes; the group's default when absent."),
    ]


def coverage_paths(max_threshold: float) -> dict:
    """Coverage numbers and the layers of a coverage analysis (thresholds up to
    ``max_threshold`` minutes)."""
    def layer(summary: str, operation_id: str, description: str) -> dict:
        return {"get": {
            "summary": summary,
            "operationId": operation_id,
            "parameters": [*coverage_parameters(max_threshold), parameter(
                "format", False, {"type": "string", "enum": ["geojson", "gpkg"],
                                  "default": "geojson"},
                "geojson: the layer; gpkg: the layer as a GeoPackage download.")],
            "responses": {
                "200": {"description": description, "content": {
                    "application/geo+json": {"schema": {
                        "type": "object", "required": ["type", "features"],
                        "properties": {"type": {"type": "string", "enum": ["FeatureCollection"]},
                                       "features": {"type": "array",
                                                    "items": {"type": "object"}}}}},
                    "application/geopackage+sqlite3": {"schema": {"type": "string",
                                                                  "format": "binary"}},
                }},
                "400": BAD_REQUEST, **HEAVY_REFUSALS,
            },
        }}

    records = {"type": "array", "items": {"type": "object"}}
    return {
        "/coverage": {"get": {
            "summary": "How much of a worker group's demand reaches an open station within a "
                       "threshold",
            "operationId": "coverage",
            "parameters": coverage_parameters(max_threshold),
            "responses": {
                "200": json_response(
                    "The coverage numbers, the covered share against travel time (curve), "
                    "each station's catchment and each H3 hexagon's numbers (cells)", {
                        "type": "object",
                        "required": ["region", "group", "mode", "demand", "covered_share",
                                     "curve", "catchments", "cells", "attribution"],
                        "properties": {
                            "region": {"type": "string"},
                            "group": {"type": "string", "enum": list(GROUPS)},
                            "mode": {"type": "string"},
                            "demand": {"type": "object", "required": ["unit", "total"]},
                            "covered_share": {"type": "number", "minimum": 0, "maximum": 1},
                            "curve": records, "catchments": records, "cells": records,
                            "h3_resolution": {"type": "integer"},
                            "attribution": {"type": "string"},
                        }}),
                "400": BAD_REQUEST, **HEAVY_REFUSALS,
            },
        }},
        "/gaps": layer("Gap areas ranked by uncovered demand", "coverageGaps",
                       "Polygons of uncovered streets joined together, most uncovered demand "
                       "first"),
        "/service-areas": layer("Each open station's service area", "serviceAreas",
                                "One polygon per open station: the streets it serves within "
                                "the threshold"),
        "/uncovered-streets": layer("The streets beyond the threshold", "uncoveredStreets",
                                    "The street pieces beyond the threshold from every open "
                                    "station"),
        "/cells": layer("Coverage per H3 hexagon", "coverageCells",
                        "One polygon per H3 hexagon with its demand and covered share"),
        "/cells.csv": {"get": {
            "summary": "Coverage per H3 hexagon as CSV",
            "operationId": "coverageCellsCsv",
            "parameters": coverage_parameters(max_threshold),
            "responses": {
                "200": {"description": "One row per hexagon (UTF-8 with a byte-order mark, so "
                                       "Excel reads it), the attribution on the last line",
                        "content": {"text/csv": {"schema": {"type": "string"}}}},
                "400": BAD_REQUEST, **HEAVY_REFUSALS,
            },
        }},
    }
