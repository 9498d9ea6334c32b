"""The worker page as an installable app that still answers offline: its web app manifest and
its service worker (``templates/sw.js``, served from the site's root so it may control the
worker page).

The service worker keeps the worker page last loaded, its assets, and the last-loaded region's
stations and street tiles. Assets (fingerprinted, :mod:`web.static`) come from its cache first;
the page, the stations and the tiles come from the network first, and from its cache only when
the network fails, so a worker online never sees stale stations. Its cache is named for the
fingerprints of the assets, so a new deploy installs a new worker that drops the old cache.

Nothing answered to a request that carries the session cookie (a staff member's pages, with
their forms' tokens) is kept: such answers are ``Cache-Control: private, no-store`` (unless
they say otherwise), and the service worker keeps no answer that is.
"""

from __future__ import annotations

from flask import Blueprint, Flask, Response, current_app, render_template, request
from flask_babel import gettext as _

from web.i18n import current_lang
from web.static import BUNDLES, asset_url, bundle_fingerprint

bp = Blueprint("offline", __name__)

#: The colour of the header, for the phone's status bar and the app's splash screen.
THEME_COLOUR = "#b71c1c"

#: The app's icons in the manifest: (file in the app's bundle, sizes, media type).
ICONS = [("icon-192.png", "192x192", "image/png"), ("icon-512.png", "512x512", "image/png"),
         ("favicon.svg", "any", "image/svg+xml")]

#: Media type of the manifest.
MANIFEST_MIMETYPE = "application/manifest+json"


@bp.app_context_processor
def theme() -> dict:
    """The theme colour, for the worker page's ``<meta name="theme-color">``."""
    return {"theme_colour": THEME_COLOUR}


def cache_version() -> str:
    """The name of the service worker's cache: the fingerprints of every asset bundle."""
    return "yizhan-" + "-".join(bundle_fingerprint(bundle) for bundle in BUNDLES)


@bp.get("/manifest.webmanifest")
def manifest():
    """The web app manifest, in the language of ``?lang=`` (a browser asks for it without
    cookies): the worker page, standalone, with the app's icons."""
    body = {
        "name": _("Yizhan · find a rest station"),
        "short_name": _("Yizhan"),
        "description": _("Find the nearest open rest station for outdoor workers."),
        "lang": "zh-CN" if current_lang() == "zh" else "en",
        "start_url": "/",
        "scope": "/",
        "display": "standalone",
        "theme_color": THEME_COLOUR,
        "background_color": "#ffffff",
        "icons": [{"src": asset_url("static", name), "sizes": sizes, "type": kind}
                  for name, sizes, kind in ICONS],
    }
    response = current_app.response_class(current_app.json.dumps(body),
                                          mimetype=MANIFEST_MIMETYPE)
    return _revalidated(response)


@bp.get("/sw.js")
def service_worker():
    """The service worker script, named for the current assets (a new deploy, a new script)."""
    response = Response(render_template("sw.js", version=cache_version()),
                        mimetype="text/javascript")
    return _revalidated(response)


def _revalidated(response: Response) -> Response:
    """An answer a browser asks for again each time, and that is not sent again unchanged (a
    compressed answer's ETag names its encoding, and flask-compress answers for it)."""
    response.cache_control.no_cache = True
    response.add_etag()
    response.make_conditional(request)  # changes the response in place
    return response


def init_offline(app: Flask) -> None:
    """Serve the manifest and the service worker, and mark answers to a session private."""
    app.register_blueprint(bp)

    @app.after_request
    def private_to_a_session(response: Response) -> Response:
        if (request.cookies.get(app.config["SESSION_COOKIE_NAME"])
                and "Cache-Control" not in response.headers):
            response.cache_control.private = True
            response.cache_control.no_store = True
        return response
