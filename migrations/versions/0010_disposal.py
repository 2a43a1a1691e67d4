"""disposal: appraisal batches and decisions, holds, tombstones of destroyed records

Revision ID: 0010
Revises: 0008
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import preserve.catalog.types

revision = "0010"
down_revision = "0008"
branch_labels = None
depends_on = None

_CODE = sa.String(length=200).with_variant(sa.String(length=200, collation="C"), "postgresql")


def upgrade() -> None:
    op.create_table(
        "appraisals",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("proposer", sa.String(length=200), nullable=False),
        sa.Column("proposer_token", sa.Integer(), nullable=False),
        sa.Column("proposer_role", sa.String(length=32), nullable=False),
        sa.Column("proposed_at", preserve.catalog.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("approver", sa.String(length=200), nullable=True),
        sa.Column("approver_token", sa.Integer(), nullable=True),
        sa.Column("approver_role", sa.String(length=32), nullable=True),
        sa.Column("decided_at", preserve.catalog.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("rejection_reason", sa.Text(), nullable=True),
        sa.Column("finished_at", preserve.catalog.types.UTCDateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_appraisals")),
    )
    op.create_index(op.f("ix_appraisals_state"), "appraisals", ["state"])
    op.create_table(
        "appraisal_decisions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("appraisal_id", sa.String(length=36), nullable=False),
        sa.Column("aip_id", sa.String(length=36), nullable=False),
        sa.Column("decision", sa.String(length=16), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("retention", sa.String(length=32), nullable=True),
        sa.Column("outcome", sa.String(length=16), nullable=False),
        sa.Column("agency_id", sa.Integer(), nullable=False),
        sa.Column("archival_code", _CODE, nullable=False),
        sa.Column("title", sa.Text(), nullable=False),
        sa.Column("old_retention", sa.String(length=32), nullable=True),
        sa.Column("targets", sa.JSON(), nullable=False),
        sa.Column("deletions", sa.JSON(), nullable=False),
        sa.Column("problem", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["appraisal_id"],
            ["appraisals.id"],
            name=op.f("fk_appraisal_decisions_appraisal_id_appraisals"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_appraisal_decisions")),
    )
    op.create_index("ix_appraisal_decisions_aip", "appraisal_decisions", ["aip_id", "outcome"])
    op.create_table(
        "holds",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("scope", sa.String(length=16), nullable=False),
        sa.Column("value", sa.String(length=200), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("placed_by", sa.String(length=200), nullable=False),
        sa.Column("placed_at", preserve.catalog.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("released_by", sa.String(length=200), nullable=True),
        sa.Column("released_at", preserve.catalog.types.UTCDateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_holds")),
    )
    op.create_index("ix_holds_open", "holds", ["released_at", "scope", "value"])
    op.create_table(
        "tombstones",
        sa.Column("aip_id", sa.String(length=36), nullable=False),
        sa.Column("agency_id", sa.Integer(), nullable=True),
        sa.Column("agency", sa.String(length=200), nullable=False),
        sa.Column("appraisal_id", sa.String(length=36), nullable=False),
        sa.Column("archival_code", _CODE, nullable=False),
        sa.Column("title", sa.Text(), nullable=False),
        sa.Column("retention", sa.String(length=32), nullable=True),
        sa.Column("record_date", sa.String(length=10), nullable=True),
        sa.Column("fonds", sa.String(length=100), nullable=True),
        sa.Column("year", sa.String(length=16), nullable=True),
        sa.Column("decision", sa.String(length=16), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column(
            "destroyed_at", preserve.catalog.types.UTCDateTime(timezone=True), nullable=False
        ),
        sa.Column("document", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(
            ["agency_id"], ["agencies.id"], name=op.f("fk_tombstones_agency_id_agencies")
        ),
        sa.PrimaryKeyConstraint("aip_id", name=op.f("pk_tombstones")),
    )
    op.create_index(op.f("ix_tombstones_agency_id"), "tombstones", ["agency_id"])
    op.create_index("ix_tombstones_batch", "tombstones", ["appraisal_id", "destroyed_at"])


def downgrade() -> None:
    op.drop_table("tombstones")
    op.drop_table("holds")
    op.drop_index("ix_appraisal_decisions_aip", table_name="appraisal_decisions")
    op.drop_table("appraisal_decisions")
    op.drop_index(op.f("ix_appraisals_state"), table_name="appraisals")
    op.drop_table("appraisals")
