"""Scenarios: saved what-ifs of the planner, which staff turn into planned stations.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-25
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Create ``scenarios``; sites and removed station ids are JSON text."""
    op.create_table(
        "scenarios",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("region", sa.String(100), nullable=False),
        sa.Column("name", sa.String(120), nullable=False),
        sa.Column("name_key", sa.String(360), nullable=True),
        sa.Column("worker_group", sa.String(20), nullable=False),
        sa.Column("threshold_min", sa.Float(), nullable=False),
        sa.Column("added", sa.Text(), nullable=False),
        sa.Column("removed", sa.Text(), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("created_by", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("converted_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("planned_station_ids", sa.Text(), nullable=False),
        sa.Column("deleted_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("deleted_by", sa.Text(), nullable=True),
        sqlite_autoincrement=True,
    )
    op.create_index("ix_scenarios_region", "scenarios", ["region"])
    # A deleted scenario's name_key is NULL, which both databases let repeat.
    op.create_index("ix_scenarios_region_name_key", "scenarios", ["region", "name_key"],
                    unique=True)


def downgrade() -> None:
    """Drop the scenario table."""
    op.drop_table("scenarios")
