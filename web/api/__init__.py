"""The JSON API (``/api/v1``), one blueprint with its routes grouped by who calls them.

- :mod:`web.api.worker`: workers' questions: regions, stations, the nearest stations with
  navigation links and place-name search, as JSON and GeoJSON.
- :mod:`web.api.coverage` and :mod:`web.api.planning`: planners' questions: coverage and its
  layers, recommended sites, what-ifs and saved scenarios.
- :mod:`web.api.staff`: staff's station writes, each based on the version it changes
  (``If-Match``).
- :mod:`web.api.access`: who is calling (an API token or a signed-in session), what they may
  write, and refusals as JSON.

The API describes itself as an OpenAPI document (:mod:`web.openapi`) at ``/openapi.json``.
"""

from __future__ import annotations

from flask import Blueprint, current_app, jsonify

from geo import Atlas, Region, RegionError
from web.params import BadParameter

bp = Blueprint("api", __name__, url_prefix="/api/v1")


def current_atlas() -> Atlas:
    """The app's atlas."""
    return current_app.extensions["atlas"]


def region_param(args) -> Region:
    """The ``region`` parameter (the default region when absent)."""
    region_id = args.get("region", "").strip()
    if not region_id:
        return current_atlas().region_or_default(None)
    try:
        return current_atlas().region(region_id)
    except RegionError as error:
        raise BadParameter("region", str(error)) from None


# The routes join ``bp`` as their modules are imported.
from web.api import access, coverage, planning, staff, worker  # noqa: E402
from web.api.access import client_key, signed_in  # noqa: E402
from web.openapi import openapi_document  # noqa: E402

__all__ = ["access", "bp", "client_key", "coverage", "planning", "signed_in", "staff", "worker"]


@bp.get("/openapi.json")
def openapi():
    """The OpenAPI 3.0 description of this API."""
    return jsonify(openapi_document(worker.MAX_LIMIT, worker.MAX_PLACES,
                                    coverage.MAX_THRESHOLD_MIN))
