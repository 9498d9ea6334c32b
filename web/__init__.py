"""The Yizhan web app: worker, planner and staff pages and the JSON API over :mod:`geo`."""

from __future__ import annotations

import os
import secrets
from datetime import timedelta
from pathlib import Path

from flask import Flask, Request, jsonify, render_template, request
from flask.sessions import SecureCookieSession, SecureCookieSessionInterface
from flask_babel import gettext as _
from flask_compress import Compress
from flask_wtf.csrf import CSRFError, CSRFProtect
from werkzeug.exceptions import HTTPException

from geo import instance_dir
from web.i18n import init_babel
from web.params import BadParameter, IdConverter, check_text_parameters
from web.security import install_security_headers

#: File in the instance folder that keeps the session-signing key when the environment gives
#: none.
SECRET_KEY_FILE = "secret_key"

#: Largest request body accepted (an uploaded station file), in bytes.
MAX_UPLOAD_BYTES = 16 * 1024 * 1024

#: How long a signed-in session lasts from its sign-in: a working day.
SESSION_LIFETIME = timedelta(hours=12)

#: Media types compressed for a client that accepts it: pages, data, scripts, styles and
#: vector images. Already compressed formats (PNG, XLSX, GeoPackage) are sent as they are.
#: Pages holding a form's CSRF token are compressed too: a token learnt by guessing from
#: compressed lengths (BREACH) is of no use, as a cross-site POST carries no session cookie
#: (SameSite=Lax).
COMPRESSED_MIMETYPES = [
    "text/html", "text/css", "text/plain", "text/csv", "text/javascript",
    "application/javascript", "application/json", "application/geo+json", "image/svg+xml",
    "application/manifest+json",
]


def create_app(config: dict | None = None) -> Flask:
    """Create the app.

    Configuration comes from the environment (``YIZHAN_INSTANCE``, ``DATABASE_URL``,
    ``YIZHAN_TILES`` for a basemap tile URL template, ``YIZHAN_SECRET_KEY`` for the key that
    signs session cookies, ``YIZHAN_SECURE_COOKIES=0`` to send session cookies over plain
    HTTP, ``YIZHAN_JOB_WORKERS`` and ``YIZHAN_JOB_QUEUE`` for the heavy-work pool, see
    :mod:`web.jobs`, ``YIZHAN_ANALYSIS_CACHE_MB``, ``YIZHAN_DEMAND_CACHE_MB``,
    ``YIZHAN_FIELD_CACHE_MB`` and ``YIZHAN_LAYER_CACHE_MB`` for the budgets of the caches of
    coverage analyses, demand layers, service fields (each region's) and map layers, see
    :class:`geo.atlas.Atlas`) and then from ``config``. Session cookies are HttpOnly, SameSite=Lax
    and, unless turned off, Secure; they last until the browser closes and at most
    :data:`SESSION_LIFETIME`. Every form needs its CSRF token. Answers of
    :data:`COMPRESSED_MIMETYPES` are compressed (brotli or gzip, as the client accepts) unless
    small or already encoded; assets are served by :mod:`web.static`. The app opens one
    :class:`~geo.database.Database` (``app.extensions["database"]``) and its stores work in it:
    stations (``app.extensions["atlas"].store``), ``accounts`` and ``scenarios``.

    Args:
        config: overrides, e.g. ``{"DATABASE_URL": "sqlite:///..."}``.
    """
    from geo import (
        ANALYSIS_CACHE_BYTES,
        DEMAND_CACHE_BYTES,
        FIELD_CACHE_BYTES,
        AccountStore,
        Atlas,
        Database,
        ScenarioStore,
        StationStore,
        default_store_url,
    )
    from web.layers import LAYER_CACHE_BYTES

    app = Flask(__name__, instance_path=str(instance_dir()), static_folder=None)
    app.config.update(
        DATABASE_URL=default_store_url(),
        TILES_URL=os.environ.get("YIZHAN_TILES", ""),
        SEED_DEMO=True,
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=os.environ.get("YIZHAN_SECURE_COOKIES", "1") != "0",
        PERMANENT_SESSION_LIFETIME=SESSION_LIFETIME,
        MAX_CONTENT_LENGTH=MAX_UPLOAD_BYTES,
        WTF_CSRF_TIME_LIMIT=None,  # a form's token lasts as long as the session: no lost edits
        JOB_WORKERS=int(os.environ.get("YIZHAN_JOB_WORKERS", "1")),
        JOB_QUEUE=int(os.environ.get("YIZHAN_JOB_QUEUE", "3")),
        JOB_RETRY_AFTER_S=10,
        JOB_NICE=10,
        JOB_ANONYMOUS=2,  # places in the pool anonymous callers may hold; the rest are planners'
        HEAVY_RATE_ANONYMOUS="20 per minute",
        HEAVY_RATE_SIGNED_IN="120 per minute",
        COMPRESS_MIMETYPES=COMPRESSED_MIMETYPES,
        COMPRESS_ALGORITHM=["br", "gzip"],
        COMPRESS_BR_LEVEL=5,  # leaflet.js: 41 kB in 6 ms (gzip's default: 42 kB in 10 ms)
        COMPRESS_ALGORITHM_STREAMING=["br", "gzip"],  # files are sent streamed
        # A file's ETag names its encoding once compressed: answer revalidations with 304.
        COMPRESS_STREAMING_ENDPOINT_CONDITIONAL=["assets.own", "assets.vendor"],
        COMPRESS_MIN_SIZE=500,  # smaller answers fit in a packet as they are
        ANALYSIS_CACHE_BYTES=_megabytes("YIZHAN_ANALYSIS_CACHE_MB", ANALYSIS_CACHE_BYTES),
        DEMAND_CACHE_BYTES=_megabytes("YIZHAN_DEMAND_CACHE_MB", DEMAND_CACHE_BYTES),
        FIELD_CACHE_BYTES=_megabytes("YIZHAN_FIELD_CACHE_MB", FIELD_CACHE_BYTES),
        LAYER_CACHE_BYTES=_megabytes("YIZHAN_LAYER_CACHE_MB", LAYER_CACHE_BYTES),
    )
    app.config.update(config or {})
    app.json.ensure_ascii = False
    app.session_interface = _CookieSessions()
    Path(app.instance_path).mkdir(parents=True, exist_ok=True)
    if not app.config.get("SECRET_KEY"):
        app.config["SECRET_KEY"] = os.environ.get("YIZHAN_SECRET_KEY") or _instance_secret(
            Path(app.instance_path))
    database = Database(app.config["DATABASE_URL"])
    app.extensions["database"] = database
    atlas = Atlas(StationStore(database),
                  analysis_bytes=app.config["ANALYSIS_CACHE_BYTES"],
                  demand_bytes=app.config["DEMAND_CACHE_BYTES"],
                  field_bytes=app.config["FIELD_CACHE_BYTES"])
    if app.config["SEED_DEMO"]:
        for region in atlas.regions():
            atlas.seed_demo_stations(region.id)
    app.extensions["atlas"] = atlas
    app.extensions["accounts"] = AccountStore(database)
    app.extensions["scenarios"] = ScenarioStore(database)
    app.url_map.converters["id"] = IdConverter
    app.before_request(lambda: check_text_parameters(request))

    from web import admin, api, auth, jobs, offline, planner, staff, static, station_files, worker  # noqa: F401

    init_babel(app)
    auth.init_auth(app)
    CSRFProtect(app).exempt(api.bp)
    install_security_headers(app)
    Compress(app)
    app.jinja_env.globals["asset"] = static.asset_url
    app.register_blueprint(api.bp)
    app.register_blueprint(static.bp)
    app.register_blueprint(worker.bp)
    app.register_blueprint(planner.bp)
    app.register_blueprint(auth.bp)
    app.register_blueprint(staff.bp)
    app.register_blueprint(admin.bp)
    offline.init_offline(app)
    jobs.init_jobs(app, client=api.client_key, signed_in=api.signed_in)

    @app.errorhandler(BadParameter)
    def bad_parameter(error: BadParameter):
        return jsonify(error={"parameter": error.parameter, "message": error.message}), \
            error.status

    def refusal(title: str, message: str, parameter: str, status: int):
        """A refused request: JSON naming the parameter under ``/api/``, a page otherwise."""
        if _is_api(request.path):
            return jsonify(error={"parameter": parameter, "message": message}), status
        return render_template("auth/refused.html", title=title, message=message), status

    @app.errorhandler(CSRFError)
    def csrf_refused(error: CSRFError):
        return refusal(_("The form has expired"),
                       _("The form was missing its security token or it has expired. Go "
                         "back, reload the page and try again."), "X-CSRFToken", 400)

    @app.errorhandler(403)
    def forbidden(error):
        return refusal(_("Not allowed"),
                       _("Your account may not do this. Ask an administrator for the staff "
                         "role."), "Authorization", 403)

    @app.errorhandler(400)
    def bad_request(error):
        return refusal(_("Bad request"), error.description, "body", 400)

    @app.errorhandler(HTTPException)
    def http_error(error: HTTPException):
        """Any other refusal (404, 405, 413, 415, ...) is JSON under ``/api/``."""
        if not _is_api(request.path):
            return error
        return jsonify(error={"parameter": _HTTP_PARAMETERS.get(error.code, "request"),
                              "message": error.description}), error.code

    @app.errorhandler(500)
    def server_error(error):
        """An unexpected failure: JSON under ``/api/``, the plain page otherwise."""
        if not _is_api(request.path):
            return error
        return jsonify(error={"parameter": "request",
                              "message": "the server failed to answer; try again later"}), 500

    return app


class _CookieSessions(SecureCookieSessionInterface):
    """Flask's signed-cookie sessions, that make no signer for a request without a session
    cookie (a worker's query through the API): an empty session, as Flask would give."""

    def open_session(self, app: Flask, request: Request) -> SecureCookieSession | None:
        if not request.cookies.get(self.get_cookie_name(app)):
            return self.session_class()
        return super().open_session(app, request)


#: The part of a request each HTTP refusal is about, as API errors name it.
_HTTP_PARAMETERS: dict[int, str] = {
    404: "path", 405: "method", 406: "Accept", 411: "Content-Length", 413: "body",
    415: "Content-Type",
}


def _is_api(path: str) -> bool:
    """Whether a request path belongs to the JSON API, whose every answer is JSON."""
    return path == "/api" or path.startswith("/api/")


def _megabytes(variable: str, default: int) -> int:
    """A byte budget from an environment variable in megabytes (MiB), or ``default`` bytes."""
    value = os.environ.get(variable)
    if value is None:
        return default
    try:
        return int(float(value) * 1024 * 1024)
    except ValueError:
        raise ValueError(f"{variable} must be a number of megabytes, got {value!r}") from None


def _instance_secret(folder: Path) -> str:
    """Return the session-signing key kept in the instance folder, making one the first time.

    Args:
        folder: the instance folder.

    Returns:
        The key (64 hexadecimal characters); the file is readable by its owner only.
    """
    path = folder / SECRET_KEY_FILE
    if not path.exists():
        # Written aside and linked into place, so a concurrent reader never sees half a key.
        draft = folder / f".{SECRET_KEY_FILE}.{secrets.token_hex(4)}"
        descriptor = os.open(draft, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(descriptor, "w") as file:
            file.write(secrets.token_hex(32))
        try:
            os.link(draft, path)
        except FileExistsError:
            pass
        finally:
            draft.unlink()
    return path.read_text().strip()
