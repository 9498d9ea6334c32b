"""The Yizhan web app: worker, planner and staff pages and the JSON API over :mod:`geo`."""

from __future__ import annotations

import os
from pathlib import Path

from flask import Flask, jsonify

from geo.atlas import Atlas
from geo.settings import instance_dir
from geo.store import StationStore, default_store_url
from web.i18n import init_babel
from web.params import BadParameter


def create_app(config: dict | None = None) -> Flask:
    """Create the app.

    Configuration comes from the environment (``YIZHAN_INSTANCE``, ``DATABASE_URL``,
    ``YIZHAN_TILES`` for a basemap tile URL template) and then from ``config``.

    Args:
        config: overrides, e.g. ``{"DATABASE_URL": "sqlite:///..."}``.
    """
    app = Flask(__name__, instance_path=str(instance_dir()))
    app.config.update(
        DATABASE_URL=default_store_url(),
        TILES_URL=os.environ.get("YIZHAN_TILES", ""),
        SEED_DEMO=True,
    )
    app.config.update(config or {})
    app.json.ensure_ascii = False
    Path(app.instance_path).mkdir(parents=True, exist_ok=True)
    atlas = Atlas(StationStore(app.config["DATABASE_URL"]))
    if app.config["SEED_DEMO"]:
        for region in atlas.regions():
            atlas.seed_demo_stations(region.id)
    app.extensions["atlas"] = atlas

    from web import api, planner, static, worker

    init_babel(app)
    planner.use_local_assets()
    app.register_blueprint(api.bp)
    app.register_blueprint(static.bp)
    app.register_blueprint(worker.bp)
    app.register_blueprint(planner.bp)

    @app.errorhandler(BadParameter)
    def bad_parameter(error: BadParameter):
        return jsonify(error={"parameter": error.parameter, "message": error.message}), 400

    return app
