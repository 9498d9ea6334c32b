"""The ``yizhan`` command, its commands grouped by what they work on:

- :mod:`web.cli.regions`: regions and their street networks (``region``, ``build``);
- :mod:`web.cli.stations`: stations (``demo``, ``nearest``, ``import``, ``export``);
- :mod:`web.cli.planning`: the planner's ``coverage`` and ``recommend``;
- :mod:`web.cli.users`: staff accounts and API tokens (``user``);
- :mod:`web.cli.serve`: the production server (``serve``).

A command imports the engine's heavy modules in its body, so ``yizhan --help`` and the light
commands start without them (:mod:`web.cli.common`).
"""

from __future__ import annotations

import click


@click.group()
def main() -> None:
    """Yizhan (驿站): find, plan and keep worker rest stations on real street networks."""


# The commands join ``main`` as their modules are imported.
from web.cli import planning, regions, serve, stations, users  # noqa: E402
from web.cli.common import SHANGHAI  # noqa: E402

__all__ = ["SHANGHAI", "main", "planning", "regions", "serve", "stations", "users"]
