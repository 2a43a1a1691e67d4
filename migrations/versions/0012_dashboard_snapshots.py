"""dashboard snapshots: the officer's dashboard aggregates, kept by the scheduler

Revision ID: 0012
Revises: 0011
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import preserve.catalog.types

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "dashboard_snapshots",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("taken_at", preserve.catalog.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("figures", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_dashboard_snapshots"),
    )
    op.create_index("ix_dashboard_snapshots_taken_at", "dashboard_snapshots", ["taken_at"])


def downgrade() -> None:
    op.drop_index("ix_dashboard_snapshots_taken_at", table_name="dashboard_snapshots")
    op.drop_table("dashboard_snapshots")
