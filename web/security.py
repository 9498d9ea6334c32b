"""Security headers on every response: a strict Content-Security-Policy and its companions.

Pages carry no inline script or style: scripts and styles are files the app serves, and data
reaches a page's script only as a JSON block (``<script type="application/json">``), which the
browser never runs. So the policy can forbid everything else:

- scripts, styles, fonts and fetches from the app's own origin only, no ``'unsafe-inline'``
  (Leaflet sets element styles through the CSSOM, which style-src does not govern; only
  ``style`` attributes in markup and ``<style>`` elements need ``'unsafe-inline'``, and the
  pages have none);
- images from the app, ``data:`` URLs (Leaflet's stylesheet uses none, but browsers may) and
  the configured basemap's tile server (``YIZHAN_TILES``);
- no plugins, no ``<base>`` elsewhere, forms posting only to the app, and no framing
  (``frame-ancestors 'none'``, and ``X-Frame-Options: DENY`` for older browsers).

``Referrer-Policy: strict-origin-when-cross-origin`` sends other sites (tile servers, the map
apps a worker navigates with) only the app's origin, never a page's path or query (a staff
search, a scenario id), while tile servers whose usage policy asks for a referrer still get one.

When session cookies are Secure (``SESSION_COOKIE_SECURE``, on unless
``YIZHAN_SECURE_COOKIES=0``), the app is served over HTTPS, and
``Strict-Transport-Security`` tells browsers to use nothing else for a year: a sign-in is never
sent in the clear, not even by a first typed ``http://`` address. On a plain-HTTP trial the
header is left out, since it would lock browsers out of the trial server.
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit

from flask import Flask, Response

#: Browser features the pages may use: the worker page asks for the device position.
PERMISSIONS_POLICY = "geolocation=(self), camera=(), microphone=(), payment=(), usb=()"

REFERRER_POLICY = "strict-origin-when-cross-origin"

#: Strict-Transport-Security when the app is served over HTTPS: a year.
STRICT_TRANSPORT_SECURITY = "max-age=31536000"


def install_security_headers(app: Flask) -> None:
    """Add the security headers to every response of ``app`` (the policy allows the tile server
    of ``app.config["TILES_URL"]``; HSTS only with ``app.config["SESSION_COOKIE_SECURE"]``)."""
    headers = {
        "Content-Security-Policy": content_security_policy(app.config.get("TILES_URL", "")),
        "X-Frame-Options": "DENY",
        "X-Content-Type-Options": "nosniff",
        "Referrer-Policy": REFERRER_POLICY,
        "Permissions-Policy": PERMISSIONS_POLICY,
    }
    if app.config.get("SESSION_COOKIE_SECURE"):
        headers["Strict-Transport-Security"] = STRICT_TRANSPORT_SECURITY

    @app.after_request
    def add_headers(response: Response) -> Response:
        for name, value in headers.items():
            response.headers.setdefault(name, value)
        return response


def content_security_policy(tiles_url: str = "") -> str:
    """The Content-Security-Policy of every response.

    Args:
        tiles_url: the basemap's tile URL template, if any (its origin may serve images).

    Returns:
        The header value.
    """
    images = " ".join(["'self'", "data:", tile_origin(tiles_url)]).strip()
    return "; ".join([
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        f"img-src {images}",
        "connect-src 'self'",
        "object-src 'none'",
        "base-uri 'self'",
        "frame-ancestors 'none'",
        "form-action 'self'",
    ])


def tile_origin(tiles_url: str) -> str:
    """The CSP source of a tile URL template's server: ``https://{s}.tile.example.org/{z}/…``
    or ``https://webrd0{s}.example.com/…`` gives ``https://*.tile.example.org`` or
    ``https://*.example.com``; an empty template gives ``""``.

    A placeholder in the host beyond its first label (which CSP cannot express) widens the
    source to the scheme alone.
    """
    if not tiles_url:
        return ""
    parts = urlsplit(tiles_url)
    host = re.sub(r"^[^.]*\{[^}]*\}[^.]*(?=\.)", "*", parts.netloc)
    if "{" in host or not parts.scheme:
        return f"{parts.scheme}:" if parts.scheme else ""
    return f"{parts.scheme}://{host}"
