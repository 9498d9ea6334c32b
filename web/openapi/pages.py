"""The paths outside the JSON API: the worker, planner and staff pages, their charts and map
tiles, and signing in and out.

They are described so that the document names every address the app answers (only the
scripts, styles and images of :mod:`web.static` are left out). Each path carries its own
server, ``/``, as the API's paths are under ``/api/v1``. The staff pages and the sign-in form
work with a signed-in session and the form's CSRF token, not with an API token: without a
session a page redirects to the sign-in form, and a form sent without its token is refused.
"""

from __future__ import annotations

from geo import MAX_ZOOM, MIN_ZOOM
from web.openapi.parts import html_response, id_parameter, json_response, parameter
from web.openapi.planning import coverage_parameters

#: The server of the paths outside the API.
SITE = [{"url": "/"}]

#: A refused request to a page: an HTML page, or JSON naming a query parameter at fault.
PAGE_BAD_REQUEST: dict = {
    "description": "The form was sent without its CSRF token or is wrong (a page), or a query "
                   "parameter is wrong (JSON naming it)",
    "content": {"text/html": {"schema": {"type": "string"}},
                "application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
}

#: A redirect, to the sign-in form or to the page that follows a form.
REDIRECT: dict = {"description": "Not signed in: to the sign-in form; after a form: to the next "
                                 "page", "headers": {"Location": {"schema": {"type": "string"}}}}

#: The refusals of a heavy request to a page, chart or tile: a page saying why, with
#: ``Retry-After``.
PAGE_HEAVY_REFUSALS: dict = {
    status: {**html_response(description),
             "headers": {"Retry-After": {"description": "Seconds to wait before trying again.",
                                         "schema": {"type": "integer"}}}}
    for status, description in (
        ("429", "This client's earlier heavy request is still running, or it sent too many "
                "heavy requests this minute"),
        ("503", "Every worker of the heavy-work pool is busy and its queue is full"))}

#: A tile with nothing of its layer.
NO_CONTENT: dict = {"description": "Nothing of the layer lies in the tile"}


def page_paths(max_threshold: float) -> dict:
    """The paths outside the API, each with the server ``/``.

    Args:
        max_threshold: the largest travel-time threshold of the planner, minutes.
    """
    paths = {**_worker_paths(), **_planner_paths(max_threshold), **_staff_paths()}
    return {path: {"servers": SITE, **item} for path, item in paths.items()}


def _tile_parameters() -> list[dict]:
    """The zoom, column and row of a map tile."""
    def number(name: str, schema: dict, description: str) -> dict:
        return {"name": name, "in": "path", "required": True, "schema": schema,
                "description": description}

    return [number("z", {"type": "integer", "minimum": MIN_ZOOM, "maximum": MAX_ZOOM}, "Zoom."),
            number("x", {"type": "integer", "minimum": 0}, "Column, from the west."),
            number("y", {"type": "integer", "minimum": 0}, "Row, from the north.")]


def _tile_responses() -> dict:
    """The answers to a tile request."""
    return {"200": {"description": "The features of the layer in the tile, clipped to it",
                    "content": {"application/geo+json": {"schema": {
                        "type": "object", "required": ["type", "features"]}}}},
            "204": NO_CONTENT,
            "400": {"$ref": "#/components/responses/BadParameter"},
            "404": json_response("No such region or layer", {"$ref": "#/components/schemas/Error"})}


def _worker_paths() -> dict:
    """The worker page, a station's page, the street tiles drawn where there is no basemap,
    and the manifest and service worker that make the worker page an app (:mod:`web.offline`)."""
    return {
        "/": {"get": {
            "summary": "The worker page: the nearest open stations on a map",
            "operationId": "workerPage",
            "parameters": [parameter("region", False, {"type": "string"},
                                     "Region id; the default region when absent or unknown.")],
            "responses": {"200": html_response("The page"), "400": PAGE_BAD_REQUEST},
        }},
        "/s/{station_id}": {"get": {
            "summary": "A station's own page to share, readable without the map or scripts",
            "operationId": "stationPage",
            "parameters": [{"name": "station_id", "in": "path", "required": True,
                            "schema": {"type": "string"}, "description": "The station's id."}],
            "responses": {"200": html_response("The page, in the worker's language"),
                          "404": html_response("No such station, or it was deleted")},
        }},
        "/streets/{region}/{z}/{x}/{y}.json": {"get": {
            "summary": "A tile of a region's streets, each street once",
            "operationId": "streetTile",
            "parameters": [{"name": "region", "in": "path", "required": True,
                            "schema": {"type": "string"}, "description": "Region id."},
                           *_tile_parameters()],
            "responses": _tile_responses(),
        }},
        "/manifest.webmanifest": {"get": {
            "summary": "The web app manifest of the worker page, to install it",
            "operationId": "webAppManifest",
            "parameters": [parameter("lang", False, {"type": "string", "enum": ["zh", "en"]},
                                     "Language of the app's name; Chinese when absent.")],
            "responses": {"200": {"description": "The manifest", "content": {
                "application/manifest+json": {"schema": {"type": "object"}}}},
                          "304": {"description": "Unchanged since the ETag asked with"}},
        }},
        "/sw.js": {"get": {
            "summary": "The service worker that keeps the worker page for offline use",
            "operationId": "serviceWorker",
            "responses": {"200": {"description": "The script, named for the current assets",
                                  "content": {"text/javascript": {"schema": {"type": "string"}}}},
                          "304": {"description": "Unchanged since the ETag asked with"}},
        }},
    }


def _planner_paths(max_threshold: float) -> dict:
    """The planner page, its coverage chart and its map's tiles."""
    from web.planner import MAP_LAYERS  # web.planner needs web.api, which needs this package

    heavy = {"400": PAGE_BAD_REQUEST, **PAGE_HEAVY_REFUSALS}
    view = coverage_parameters(max_threshold)
    chart = "The cumulative coverage curve, the threshold marked"
    return {
        "/planner": {"get": {
            "summary": "The planner page: coverage, gaps and recommended sites",
            "operationId": "plannerPage",
            "parameters": [*view, parameter("scenario", False, id_parameter()["schema"],
                                            "A saved scenario to show.")],
            "responses": {"200": html_response("The page"), **heavy},
        }},
        "/planner/chart.svg": {"get": {
            "summary": "The coverage chart for the planner page",
            "operationId": "plannerChartSvg",
            "parameters": view,
            "responses": {"200": {"description": chart, "content": {
                "image/svg+xml": {"schema": {"type": "string"}}}}, **heavy},
        }},
        "/planner/chart.png": {"get": {
            "summary": "The coverage chart as a PNG download",
            "operationId": "plannerChartPng",
            "parameters": view,
            "responses": {"200": {"description": chart, "content": {
                "image/png": {"schema": {"type": "string", "format": "binary"}}}}, **heavy},
        }},
        "/planner/tiles/{name}/{z}/{x}/{y}.json": {"get": {
            "summary": "A tile of a layer of the planner's map",
            "operationId": "plannerTile",
            "parameters": [{"name": "name", "in": "path", "required": True,
                            "schema": {"type": "string", "enum": list(MAP_LAYERS)},
                            "description": "The layer."},
                           *_tile_parameters(), *view,
                           parameter("rev", False, {"type": "string"},
                                     "The atlas revision the page was made at, so a browser "
                                     "keeps the tile until it changes.")],
            "responses": {**_tile_responses(), **PAGE_HEAVY_REFUSALS},
        }},
    }


def _staff_paths() -> dict:
    """Signing in and out, and the staff pages and their forms."""
    def page(summary: str, operation_id: str, *statuses: str, heavy: bool = False) -> dict:
        responses = {"200": html_response("The page"), "302": REDIRECT,
                     "400": PAGE_BAD_REQUEST,
                     "403": html_response("The account's role may not do this")}
        described = {"401": html_response("Wrong name or password, or the account is locked"),
                     "404": html_response("No such station, scenario or account"),
                     "409": html_response("The station changed since the form was shown: the "
                                          "form again, with the stored station beside it; or "
                                          "the change would leave no active administrator"),
                     "422": html_response("A field or the file is wrong: the form again, "
                                          "naming it")}
        responses |= {status: described[status] for status in statuses}
        if heavy:
            responses |= PAGE_HEAVY_REFUSALS
        return {"summary": summary, "operationId": operation_id, "responses": responses}

    station = [id_parameter()]
    user = [id_parameter("account")]
    return {
        "/sign-in": {"get": page("The sign-in form", "signInForm"),
                     "post": page("Sign in (the form's fields and CSRF token)", "signIn", "401")},
        "/sign-out": {"post": page("Sign out everywhere and go back to the worker page",
                                   "signOut")},
        "/staff": {"get": page("A region's stations: search, sort, show deleted ones",
                               "staffStations")},
        "/staff/export": {"get": page("A region's stations as a file download, CSV and Excel "
                                      "in the page's language", "staffExport", heavy=True)},
        "/staff/import/template": {"get": page("The Excel template for new stations, in the "
                                               "page's language", "staffImportTemplate")},
        "/staff/import": {"get": page("The import form", "staffImportForm"),
                          "post": page("Check a station file, then import it", "staffImport",
                                       "422")},
        "/account/password": {
            "get": page("The form to choose a new password (after an administrator's reset)",
                        "passwordForm"),
            "post": page("Choose a new password (current and new password, CSRF token)",
                         "changePassword")},
        "/staff/users": {"get": page("The accounts, their state and recent changes "
                                     "(administrators)", "staffUsers")},
        "/staff/users/{id}/role": {"parameters": user, "post": page(
            "Give an account another role (not the last active administrator's)",
            "staffUserRole", "404", "409")},
        "/staff/users/{id}/unlock": {"parameters": user, "post": page(
            "Lift an account's lock after wrong passwords", "staffUserUnlock", "404")},
        "/staff/users/{id}/reset-password": {"parameters": user, "post": page(
            "Give an account a temporary password, shown once; it must choose a new one at "
            "its next sign-in", "staffUserResetPassword", "404")},
        "/staff/users/{id}/deactivate": {"parameters": user, "post": page(
            "Deactivate an account: no sign-in, sessions ended, API tokens refused (not the "
            "last active administrator)", "staffUserDeactivate", "404", "409")},
        "/staff/users/{id}/activate": {"parameters": user, "post": page(
            "Activate an account again", "staffUserActivate", "404")},
        "/staff/scenarios": {"get": page("The planners' saved scenarios", "staffScenarios")},
        "/staff/scenarios/{id}/plan": {
            "parameters": [id_parameter("scenario")],
            "post": page("Turn a scenario's sites into planned stations", "staffPlanScenario",
                         "404")},
        "/staff/scenarios/{id}/delete": {
            "parameters": [id_parameter("scenario")],
            "post": page("Delete a saved scenario", "staffDeleteScenario", "404")},
        "/staff/stations/new": {"get": page("The form for a new station", "staffNewStationForm"),
                                "post": page("Add a station", "staffNewStation", "422")},
        "/staff/stations/{id}": {"parameters": station,
                                 "get": page("One station", "staffStation", "404")},
        "/staff/stations/{id}/history": {
            "parameters": station,
            "get": page("Every recorded change of a station", "staffHistory", "404")},
        "/staff/stations/{id}/edit": {
            "parameters": station,
            "get": page("The form to edit a station", "staffEditForm", "404"),
            "post": page("Change a station from the version the form showed", "staffEdit",
                         "404", "409", "422")},
        "/staff/stations/{id}/status": {
            "parameters": station,
            "post": page("Close, suspend or reopen a station", "staffStatus", "404", "409")},
        "/staff/stations/{id}/delete": {
            "parameters": station,
            "post": page("Delete a station; it can be restored", "staffDelete", "404", "409")},
        "/staff/stations/{id}/restore": {
            "parameters": station,
            "post": page("Restore a deleted station", "staffRestore", "404", "409")},
    }
