"""Front-end assets, the app's own (``/static``) and those of registry packages (``/vendor``),
served with fingerprinted URLs so a browser keeps them for a year without asking again.

An asset's URL carries the fingerprint of its bundle (the app's static folder or one package):
``/static/<fingerprint>/yizhan.css``, ``/vendor/leaflet/<fingerprint>/leaflet.js``. The
fingerprint is a hash of every file of the bundle, computed once per process, so a changed file
gets a new URL, and a file a stylesheet names relatively (Leaflet's ``images/layers.png``) shares
its stylesheet's fingerprint. Such a URL is answered as immutable; a URL with a stale fingerprint
or none still answers, cached for :data:`SHORT_MAX_AGE_S` only. Pages link assets through
:func:`asset_url` (``asset`` in templates) only.
"""

from __future__ import annotations

import hashlib
from functools import cache
from pathlib import Path

import xstatic.pkg.leaflet
import xstatic.pkg.leaflet_markercluster
from flask import Blueprint, Response, abort, redirect, send_from_directory, url_for

bp = Blueprint("assets", __name__)

#: Bundle name -> folder of its files: the app's own, then packaged front-end libraries.
BUNDLES = {
    "static": str(Path(__file__).resolve().parent / "static"),
    "leaflet": xstatic.pkg.leaflet.BASE_DIR,
    "markercluster": xstatic.pkg.leaflet_markercluster.BASE_DIR,
}

#: Hexadecimal digits of a fingerprint.
FINGERPRINT_LENGTH = 12

#: Cache lifetime of an asset asked for by its current fingerprint, in seconds (a year; the
#: answer is also marked immutable, so a browser never revalidates it).
YEAR_S = 31536000

#: Cache lifetime of an asset asked for without its current fingerprint, in seconds.
SHORT_MAX_AGE_S = 300

#: The app's icon, in the app's bundle.
FAVICON = "favicon.svg"


def content_hash(folder: str | Path) -> str:
    """The fingerprint of a folder's files: a hash of each file's relative path and content.

    Args:
        folder: the folder.

    Returns:
        :data:`FINGERPRINT_LENGTH` hexadecimal digits.
    """
    digest = hashlib.sha256()
    root = Path(folder)
    for path in sorted(p for p in root.rglob("*") if p.is_file()):
        digest.update(path.relative_to(root).as_posix().encode() + b"\0")
        digest.update(path.read_bytes())
    return digest.hexdigest()[:FINGERPRINT_LENGTH]


@cache
def bundle_fingerprint(bundle: str) -> str:
    """The fingerprint of one of :data:`BUNDLES`, hashed on first use in the process."""
    return content_hash(BUNDLES[bundle])


def asset_url(bundle: str, filename: str) -> str:
    """The fingerprinted URL of an asset: ``asset_url("leaflet", "leaflet.js")``.

    Args:
        bundle: ``"static"`` for the app's own files, else a package of :data:`BUNDLES`.
        filename: the file's path inside the bundle.
    """
    if bundle == "static":
        return url_for("assets.own", fingerprint=bundle_fingerprint(bundle), filename=filename)
    return url_for("assets.vendor", package=bundle, fingerprint=bundle_fingerprint(bundle),
                   filename=filename)


_FINGERPRINTED = f"<string(length={FINGERPRINT_LENGTH}):fingerprint>"


@bp.get(f"/static/{_FINGERPRINTED}/<path:filename>")
@bp.get("/static/<path:filename>")
def own(filename: str, fingerprint: str = ""):
    """Serve one of the app's own files."""
    return _send("static", filename, fingerprint)


@bp.get(f"/vendor/<package>/{_FINGERPRINTED}/<path:filename>")
@bp.get("/vendor/<package>/<path:filename>")
def vendor(package: str, filename: str, fingerprint: str = ""):
    """Serve one file of a packaged library."""
    if package == "static" or package not in BUNDLES:
        abort(404)
    return _send(package, filename, fingerprint)


@bp.get("/favicon.ico")
def favicon():
    """Send a browser that asks for the conventional icon to the app's icon."""
    return redirect(asset_url("static", FAVICON))


def _send(bundle: str, filename: str, asked: str) -> Response:
    """A bundle's file, immutable when asked for by the bundle's current fingerprint."""
    current = asked == bundle_fingerprint(bundle)
    response = send_from_directory(BUNDLES[bundle], filename,
                                   max_age=YEAR_S if current else SHORT_MAX_AGE_S)
    # None leaves the directive out; werkzeug's stubs only allow a bool.
    response.cache_control.immutable = current or None  # type: ignore[assignment]
    return response
