"""Account administration: deactivated accounts, passwords that must be changed, the last
sign-in, and the record of changes made to accounts.

Existing accounts stay active, need no new password and have no recorded sign-in.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-01
"""

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Add ``users.active``, ``users.must_change_password`` and ``users.last_sign_in_at``, and
    create ``account_events``."""
    with op.batch_alter_table("users") as batch:
        batch.add_column(sa.Column("active", sa.Boolean(), nullable=False,
                                   server_default=sa.true()))
        batch.add_column(sa.Column("must_change_password", sa.Boolean(), nullable=False,
                                   server_default=sa.false()))
        batch.add_column(sa.Column("last_sign_in_at", sa.DateTime(timezone=True),
                                   nullable=True))
    op.create_table(
        "account_events",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("actor", sa.String(120), nullable=False),
        sa.Column("username", sa.String(80), nullable=False),
        sa.Column("action", sa.String(20), nullable=False),
        sa.Column("detail", sa.String(200), nullable=False),
    )
    op.create_index("ix_account_events_username", "account_events", ["username"])


def downgrade() -> None:
    """Drop ``account_events`` and the three columns."""
    op.drop_table("account_events")
    with op.batch_alter_table("users") as batch:
        batch.drop_column("last_sign_in_at")
        batch.drop_column("must_change_password")
        batch.drop_column("active")
