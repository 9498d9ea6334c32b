"""Scenario names compared as station names are: by :func:`geo.rules.name_key`.

Live scenarios get the new key. Where two live scenarios of a region have the same new key
(``ｓ4`` and ``S4``, saved under the old rule), the older keeps it and each later one gets its
key followed by a line break and its id: a key no name can have, so both stay, and the name is
taken.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-01
"""

from collections.abc import Callable

import sqlalchemy as sa
from alembic import op

from geo.rules import name_key

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

_SCENARIOS = sa.table("scenarios", sa.column("id", sa.Integer()),
                      sa.column("region", sa.String()), sa.column("name", sa.String()),
                      sa.column("name_key", sa.String()))


def upgrade() -> None:
    """Key every live scenario's name by :func:`geo.rules.name_key`."""
    _rekey(name_key)


def downgrade() -> None:
    """Key every live scenario's name by its case-folded, stripped form again."""
    _rekey(lambda name: name.strip().casefold())


def _rekey(key: Callable[[str], str]) -> None:
    """Give every live scenario the key ``key`` makes of its name, the older of two with the
    same key in a region keeping it; the unique index is rebuilt around the change.

    Args:
        key: makes a name's key.
    """
    op.drop_index("ix_scenarios_region_name_key", table_name="scenarios")
    connection = op.get_bind()
    rows = connection.execute(
        sa.select(_SCENARIOS.c.id, _SCENARIOS.c.region, _SCENARIOS.c.name)
        .where(_SCENARIOS.c.name_key.is_not(None)).order_by(_SCENARIOS.c.id)).all()
    taken: set[tuple[str, str]] = set()
    for scenario_id, region, name in rows:
        new_key = key(name)
        if (region, new_key) in taken:
            new_key = f"{new_key}\n{scenario_id}"
        taken.add((region, new_key))
        connection.execute(_SCENARIOS.update().where(_SCENARIOS.c.id == scenario_id)
                           .values(name_key=new_key))
    op.create_index("ix_scenarios_region_name_key", "scenarios", ["region", "name_key"],
                    unique=True)
