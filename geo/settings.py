"""Explicit settings: where the instance folder and the shipped data live.

These are the only process-wide settings. Everything else (mode speeds, thresholds) is passed
as arguments or read from a region's configuration.
"""

from __future__ import annotations

import os
from pathlib import Path

#: Attribution every map and export of OSM-derived data carries.
OSM_ATTRIBUTION = "© OpenStreetMap contributors, ODbL"
OSM_ATTRIBUTION_HTML = (
    '© <a href="https://www.openstreetmap.org/copyright">OpenStreetMap</a> contributors, ODbL'
)


def data_dir() -> Path:
    """Return the folder with the shipped demo regions (``data/`` at the project root).

    The environment variable ``YIZHAN_DATA`` names another folder.
    """
    override = os.environ.get("YIZHAN_DATA")
    if override:
        return Path(override)
    return Path(__file__).resolve().parent.parent / "data"


def instance_dir() -> Path:
    """Return the instance folder (SQLite file, caches, user regions), creating it if needed.

    It is ``instance/`` in the current working directory unless the environment variable
    ``YIZHAN_INSTANCE`` names another folder.
    """
    path = Path(os.environ.get("YIZHAN_INSTANCE", "instance")).resolve()
    path.mkdir(parents=True, exist_ok=True)
    return path
