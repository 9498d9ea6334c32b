"""The production server: the app under gunicorn, in several worker processes.

One Python process answers one request at a time however many threads it has (the GIL), so
``yizhan serve`` runs a gunicorn master and ``workers`` processes (by default one per CPU), each
with ``threads`` request threads (gunicorn's ``gthread`` workers: a heavy request may wait
for the job pool in its thread while the others go on).

The app is made, and every region's index loaded (networks, stations, the service field of
each mode's open stations), in the master before it forks its workers, so the workers share
those arrays' memory page by page until one writes to them; the master lets go of its database
connections first, as a connection must never be used by two processes.

What each process keeps to itself: its caches (service fields after a station edit, coverage
analyses, map layers), its job pool and its count of heavy requests (Flask-Limiter's memory
storage). Station edits reach every process at once through the change stamp
(:mod:`geo.stamp`).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable

from flask import Flask
from gunicorn.app.base import BaseApplication
from werkzeug.middleware.proxy_fix import ProxyFix

#: Request threads of each worker process.
THREADS = 8


def default_workers() -> int:
    """Worker processes when none are asked for: one per CPU."""
    return os.cpu_count() or 1


def server_options(host: str, port: int, workers: int, threads: int,
                   trusted_proxy: str | None) -> dict[str, object]:
    """The gunicorn settings of ``yizhan serve``.

    Args:
        host: the address to listen on.
        port: the port to listen on.
        workers: worker processes.
        threads: request threads of each worker.
        trusted_proxy: the reverse proxy's address, whose ``X-Forwarded-Proto`` gunicorn
            believes (the client's address is :func:`behind_proxy`'s); None trusts nobody's.
    """
    return {
        "bind": [f"[{host}]:{port}" if ":" in host else f"{host}:{port}"],
        "workers": workers,
        "worker_class": "gthread",
        "threads": threads,
        "preload_app": True,
        "forwarded_allow_ips": trusted_proxy or "",
        "control_socket_disable": True,  # no socket in the home folder; stop it with SIGTERM
    }


def behind_proxy(wsgi_app: Callable, proxy: str) -> Callable:
    """A WSGI app that takes the client's address from ``X-Forwarded-For`` (the last address,
    the one the proxy added) when the request comes from ``proxy``, and from the connection
    otherwise: a client cannot name itself by sending the header directly."""
    forwarded = ProxyFix(wsgi_app, x_for=1)

    def app(environ: dict, start_response: Callable) -> Iterable[bytes]:
        if environ.get("REMOTE_ADDR") == proxy:
            return forwarded(environ, start_response)
        return wsgi_app(environ, start_response)

    return app


def warm(app: Flask) -> None:
    """Load every region's index and its open stations' service fields (the planner's and the
    worker's), then close the app's database connections: what the worker processes inherit
    from the master."""
    atlas = app.extensions["atlas"]
    for region in atlas.regions():
        index = atlas.index(region.id)
        for mode in index.modes:
            index.field(mode, index.matching())
            index.street_field(mode, index.matching())
    app.extensions["database"].close()


class Server(BaseApplication):
    """gunicorn serving one app made beforehand.

    Args:
        app: the WSGI app.
        options: gunicorn settings (:func:`server_options`).
    """

    def __init__(self, app: Callable, options: dict[str, object]) -> None:
        self.application = app
        self.options = options
        super().__init__()

    def load_config(self) -> None:
        """Take the settings given."""
        for name, value in self.options.items():
            self.cfg.set(name, value)

    def load(self) -> Callable:
        """The app."""
        return self.application
