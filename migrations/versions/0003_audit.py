"""audit schema changes: the fixity schedule, checks with their resolution, alerts, pacing

Revision ID: 0003
Revises: 0002
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import preserve.catalog.types

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

UTC = preserve.catalog.types.UTCDateTime(timezone=True)


def upgrade() -> None:
    with op.batch_alter_table("replicas", schema=None) as batch_op:
        batch_op.add_column(sa.Column("audit_due_at", UTC, nullable=True))
        batch_op.add_column(sa.Column("next_audit_at", UTC, nullable=True))
        batch_op.add_column(sa.Column("restore_requested_at", UTC, nullable=True))
        batch_op.create_index("ix_replicas_next_audit", ["target", "next_audit_at"], unique=False)
        batch_op.create_index("ix_replicas_audit_due", ["target", "audit_due_at"], unique=False)

    op.create_table(
        "fixity_checks",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("aip_id", sa.String(length=36), nullable=False),
        sa.Column("target", sa.String(length=63), nullable=False),
        sa.Column("checked_at", UTC, nullable=False),
        sa.Column("outcome", sa.String(length=32), nullable=False),
        sa.Column("files_checked", sa.Integer(), nullable=False),
        sa.Column("bytes_read", sa.BigInteger(), nullable=False),
        sa.Column("detail", sa.Text(), nullable=False),
        sa.Column("resolution", sa.String(length=32), nullable=True),
        sa.Column("resolved_at", UTC, nullable=True),
        sa.Column("repair_source", sa.String(length=63), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_fixity_checks")),
    )
    with op.batch_alter_table("fixity_checks", schema=None) as batch_op:
        batch_op.create_index("ix_fixity_checks_time", ["checked_at"], unique=False)
        batch_op.create_index(
            "ix_fixity_checks_target_time", ["target", "checked_at", "aip_id"], unique=False
        )
        batch_op.create_index("ix_fixity_checks_replica", ["aip_id", "target"], unique=False)
        batch_op.create_index("ix_fixity_checks_resolution", ["resolution"], unique=False)

    op.create_table(
        "fixity_daily",
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("target", sa.String(length=63), nullable=False),
        sa.Column("checks", sa.Integer(), nullable=False),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.Column("bytes_read", sa.BigInteger(), nullable=False),
        sa.Column("repairs", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("day", "target", name=op.f("pk_fixity_daily")),
    )
    op.create_table(
        "alerts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("created_at", UTC, nullable=False),
        sa.Column("severity", sa.String(length=16), nullable=False),
        sa.Column("kind", sa.String(length=64), nullable=False),
        sa.Column("aip_id", sa.String(length=36), nullable=True),
        sa.Column("target", sa.String(length=63), nullable=True),
        sa.Column("detail", sa.Text(), nullable=False),
        sa.Column("delivered_at", UTC, nullable=True),
        sa.Column("delivery_error", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_alerts")),
    )
    with op.batch_alter_table("alerts", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_alerts_created_at"), ["created_at"], unique=False)

    op.create_table(
        "scheduler_tasks",
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("last_run_at", UTC, nullable=True),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_scheduler_tasks")),
    )
    op.create_table(
        "audit_pacing",
        sa.Column("target", sa.String(length=63), nullable=False),
        sa.Column("paced_until", UTC, nullable=False),
        sa.PrimaryKeyConstraint("target", name=op.f("pk_audit_pacing")),
    )


def downgrade() -> None:
    op.drop_table("audit_pacing")
    op.drop_table("scheduler_tasks")
    with op.batch_alter_table("alerts", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_alerts_created_at"))
    op.drop_table("alerts")
    op.drop_table("fixity_daily")
    with op.batch_alter_table("fixity_checks", schema=None) as batch_op:
        batch_op.drop_index("ix_fixity_checks_resolution")
        batch_op.drop_index("ix_fixity_checks_replica")
        batch_op.drop_index("ix_fixity_checks_target_time")
        batch_op.drop_index("ix_fixity_checks_time")
    op.drop_table("fixity_checks")
    with op.batch_alter_table("replicas", schema=None) as batch_op:
        batch_op.drop_index("ix_replicas_audit_due")
        batch_op.drop_index("ix_replicas_next_audit")
        batch_op.drop_column("restore_requested_at")
        batch_op.drop_column("next_audit_at")
        batch_op.drop_column("audit_due_at")
