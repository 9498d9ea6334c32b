"""Yizhan's domain and spatial engine: regions, street networks, stations and service fields.

Nothing here imports Flask; every planner and worker computation is a plain function or class
that can be used from a notebook.

The engine's public names are those in :data:`__all__`, imported from ``geo`` itself
(``from geo import Atlas``); the modules they live in are the engine's own business.
:class:`Atlas` is the way into the engine (regions, the nearest stations, place search,
coverage, recommendations, what-ifs, the station rules and the import); :class:`Database` and
the stores keep stations, accounts and scenarios. A name is imported from its module the first
time it is asked for, so ``import geo`` loads no heavy library.
"""

# ruff: noqa: F401 (the imports for type checkers name the public names, unused here)

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

#: Each public name's module (under ``geo``), grouped by module.
_HOMES: dict[str, tuple[str, ...]] = {
    "atlas": ("ANALYSIS_CACHE_BYTES", "Atlas", "DEMAND_CACHE_BYTES"),
    "database": ("Database", "default_store_url"),
    "store": ("HistoryEntry", "METADATA", "StationInvalid", "StationStore", "VersionConflict"),
    "accounts": ("LOCKOUT", "MAX_FAILED_ATTEMPTS", "MAX_TOKEN_DAYS", "TOKEN_DAYS",
                 "AccountStore", "SignInRefused"),
    "account_tables": ("MIN_PASSWORD_LENGTH", "ROLES", "AccountError", "User"),
    "scenarios": ("NAME_LIMIT", "NOTE_LIMIT", "REGION_LIMIT", "REMOVED_LIMIT",
                  "SITE_CATEGORY_LIMIT", "SITE_NAME_LIMIT", "Scenario", "ScenarioInvalid",
                  "ScenarioSite", "ScenarioStore"),
    "stations": ("AMENITIES", "KINDS", "LEVELS", "MAX_CAPACITY", "STATUSES", "TEXT_FIELDS",
                 "Station", "text_problem", "validate_station"),
    "rules": ("clean_text",),
    "regions": ("Region", "RegionError", "add_region", "get_region", "list_regions",
                "load_networks", "remove_region"),
    "clip": ("ClipError", "find_boundary", "osmium_tool", "parse_bbox", "read_boundaries",
             "read_polygon_file"),
    "osm": ("OsmSourceError",),
    "network": ("Network",),
    "modes": ("MODES", "PROFILES"),
    "groups": ("GROUPS", "WorkerGroup"),
    "coords": ("DATUMS", "to_wgs84"),
    "index": ("FIELD_CACHE_BYTES", "StationFilter"),
    "nearest": ("OutsideRegion",),
    "snapping": ("OFF_STREET_M", "WALK_MS"),
    "navigation": ("navigation_links",),
    "hours": ("CHINA_TZ", "hours_error_at", "hours_status", "hours_text", "open_state",
              "read_hours"),
    "vocabulary": ("VOCABULARIES",),
    "places": ("CATEGORIES",),
    "analysis": ("CoverageAnalysis",),
    "candidates": ("CANDIDATE_CATEGORIES", "NODE_CATEGORY", "CandidateError", "CandidateRules",
                   "parse_excluded_area"),
    "recommend": ("PROBLEMS", "Recommendation", "RecommendError"),
    "whatif": ("GROUP_KINDS", "WhatIfError"),
    "records": ("IMPORT_PROBLEM_LIMIT", "ImportPlan", "RowProblem"),
    "sheets": ("IMPORT_SUFFIXES", "RecordsError"),
    "station_export": ("EXPORT_FORMATS", "export_stations", "station_template"),
    "geojson": ("answer_geojson", "reach_geojson", "station_feature", "stations_geojson"),
    "reach": ("REACH_MINUTES",),
    "street_names": ("LabelledStreets", "street_names_for"),
    "export": ("geojson_text", "geopackage_bytes", "recommendation_csv",
               "recommendation_geojson", "write_coverage_files"),
    "charts": ("curve_chart",),
    "tiles": ("MAX_ZOOM", "MIN_ZOOM", "TiledLayer", "properties_text", "tile_problem"),
    "memory": ("LruCache",),
    "settings": ("OSM_ATTRIBUTION", "instance_dir", "open_private", "private_folder"),
}

#: Each public name -> the module it lives in.
_MODULE_OF: dict[str, str] = {name: f"geo.{module}"
                              for module, names in _HOMES.items() for name in names}

__all__ = sorted(_MODULE_OF)

if TYPE_CHECKING:  # the same names, imported for type checkers
    from geo.account_tables import MIN_PASSWORD_LENGTH, ROLES, AccountError, User
    from geo.accounts import (
        LOCKOUT,
        MAX_FAILED_ATTEMPTS,
        MAX_TOKEN_DAYS,
        TOKEN_DAYS,
        AccountStore,
        SignInRefused,
    )
    from geo.analysis import CoverageAnalysis
    from geo.atlas import ANALYSIS_CACHE_BYTES, DEMAND_CACHE_BYTES, Atlas
    from geo.candidates import (
        CANDIDATE_CATEGORIES,
        NODE_CATEGORY,
        CandidateError,
        CandidateRules,
        parse_excluded_area,
    )
    from geo.charts import curve_chart
    from geo.clip import (
        ClipError,
        find_boundary,
        osmium_tool,
        parse_bbox,
        read_boundaries,
        read_polygon_file,
    )
    from geo.coords import DATUMS, to_wgs84
    from geo.database import Database, default_store_url
    from geo.export import (
        geojson_text,
        geopackage_bytes,
        recommendation_csv,
        recommendation_geojson,
        write_coverage_files,
    )
    from geo.geojson import answer_geojson, reach_geojson, station_feature, stations_geojson
    from geo.groups import GROUPS, WorkerGroup
    from geo.hours import CHINA_TZ, hours_error_at, hours_status, hours_text, open_state, read_hours
    from geo.index import FIELD_CACHE_BYTES, StationFilter
    from geo.memory import LruCache
    from geo.modes import MODES, PROFILES
    from geo.navigation import navigation_links
    from geo.nearest import OutsideRegion
    from geo.network import Network
    from geo.osm import OsmSourceError
    from geo.places import CATEGORIES
    from geo.reach import REACH_MINUTES
    from geo.recommend import PROBLEMS, Recommendation, RecommendError
    from geo.records import IMPORT_PROBLEM_LIMIT, ImportPlan, RowProblem
    from geo.regions import (
        Region,
        RegionError,
        add_region,
        get_region,
        list_regions,
        load_networks,
        remove_region,
    )
    from geo.rules import clean_text
    from geo.scenarios import (
        NAME_LIMIT,
        NOTE_LIMIT,
        REGION_LIMIT,
        REMOVED_LIMIT,
        SITE_CATEGORY_LIMIT,
        SITE_NAME_LIMIT,
        Scenario,
        ScenarioInvalid,
        ScenarioSite,
        ScenarioStore,
    )
    from geo.settings import OSM_ATTRIBUTION, instance_dir, open_private, private_folder
    from geo.sheets import IMPORT_SUFFIXES, RecordsError
    from geo.snapping import OFF_STREET_M, WALK_MS
    from geo.station_export import EXPORT_FORMATS, export_stations, station_template
    from geo.stations import (
        AMENITIES,
        KINDS,
        LEVELS,
        MAX_CAPACITY,
        STATUSES,
        TEXT_FIELDS,
        Station,
        text_problem,
        validate_station,
    )
    from geo.store import METADATA, HistoryEntry, StationInvalid, StationStore, VersionConflict
    from geo.street_names import LabelledStreets, street_names_for
    from geo.tiles import MAX_ZOOM, MIN_ZOOM, TiledLayer, properties_text, tile_problem
    from geo.vocabulary import VOCABULARIES
    from geo.whatif import GROUP_KINDS, WhatIfError


def __getattr__(name: str) -> object:
    """The public ``name``, imported from its module when first asked for (PEP 562)."""
    module = _MODULE_OF.get(name)
    if module is None:
        raise AttributeError(f"module 'geo' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    """The package's own names and the public ones."""
    return sorted(set(globals()) | set(__all__))
