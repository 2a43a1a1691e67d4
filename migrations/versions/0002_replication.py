"""replication schema changes: jobs wait on a store (resource, waits), store outages

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import preserve.catalog.types

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("jobs", schema=None) as batch_op:
        batch_op.add_column(sa.Column("resource", sa.String(length=100), nullable=True))
        batch_op.add_column(sa.Column("waits", sa.Integer(), server_default="0", nullable=False))
        batch_op.create_index(batch_op.f("ix_jobs_resource"), ["resource"], unique=False)

    op.create_table(
        "outages",
        sa.Column("resource", sa.String(length=100), nullable=False),
        sa.Column("since", preserve.catalog.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("retry_after", preserve.catalog.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("resource", name=op.f("pk_outages")),
    )


def downgrade() -> None:
    op.drop_table("outages")
    with op.batch_alter_table("jobs", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_jobs_resource"))
        batch_op.drop_column("waits")
        batch_op.drop_column("resource")
