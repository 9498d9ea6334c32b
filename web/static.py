"""Front-end assets from registry packages, served by the app so pages work offline."""

from __future__ import annotations

import xstatic.pkg.leaflet
import xstatic.pkg.leaflet_markercluster
from flask import Blueprint, abort, send_from_directory

bp = Blueprint("vendor", __name__, url_prefix="/vendor")

#: URL name -> folder of a packaged front-end library.
PACKAGES = {
    "leaflet": xstatic.pkg.leaflet.BASE_DIR,
    "markercluster": xstatic.pkg.leaflet_markercluster.BASE_DIR,
}


@bp.route("/<package>/<path:filename>")
def asset(package: str, filename: str):
    """Serve one file of a packaged library (cached for a day)."""
    if package not in PACKAGES:
        abort(404)
    return send_from_directory(PACKAGES[package], filename, max_age=86400)
