"""opening review and the public catalogue: access status, openings and their decisions, the
public records (with their own search index), their full text, published catalogues

Revision ID: 0011
Revises: 0010
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import preserve.catalog.types
from preserve.catalog import search_index

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None

_TIME = preserve.catalog.types.UTCDateTime(timezone=True)


def _status(name: str) -> sa.Enum:
    values = ("controlled", "open", "restricted")
    return sa.Enum(*values, name=name, native_enum=False, length=32)


def upgrade() -> None:
    op.create_table(
        "record_access",
        sa.Column("aip_id", sa.String(36), sa.ForeignKey("aips.id"), nullable=False),
        sa.Column("status", _status("accessstatus"), nullable=False),
        sa.Column("until", sa.Date(), nullable=True),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("opening_id", sa.String(36), nullable=True),
        sa.Column("declassified_at", _TIME, nullable=True),
        sa.Column("declassification_reason", sa.Text(), nullable=True),
        sa.Column("updated_at", _TIME, nullable=False),
        sa.PrimaryKeyConstraint("aip_id", name="pk_record_access"),
    )
    op.create_table(
        "openings",
        sa.Column("id", sa.String(36), nullable=False),
        sa.Column(
            "state",
            sa.Enum(
                "proposed",
                "review_failed",
                "reviewed",
                "approved",
                name="openingstate",
                native_enum=False,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("proposer_token_id", sa.Integer(), nullable=False),
        sa.Column("proposer", sa.String(200), nullable=False),
        sa.Column("created_at", _TIME, nullable=False),
        sa.Column("reviewer_token_id", sa.Integer(), nullable=True),
        sa.Column("reviewer", sa.String(200), nullable=True),
        sa.Column("review_reason", sa.Text(), nullable=True),
        sa.Column("reviewed_at", _TIME, nullable=True),
        sa.Column("approver_token_id", sa.Integer(), nullable=True),
        sa.Column("approver", sa.String(200), nullable=True),
        sa.Column("approved_at", _TIME, nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_openings"),
    )
    op.create_index("ix_openings_state", "openings", ["state"])
    op.create_table(
        "opening_decisions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("opening_id", sa.String(36), sa.ForeignKey("openings.id"), nullable=False),
        sa.Column("aip_id", sa.String(36), sa.ForeignKey("aips.id"), nullable=False),
        sa.Column("decision", _status("accessstatus"), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("until", sa.Date(), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_opening_decisions"),
    )
    op.create_index("ix_opening_decisions_opening_id", "opening_decisions", ["opening_id"])
    op.create_index("ix_opening_decisions_aip_id", "opening_decisions", ["aip_id"])
    op.create_table(
        "public_records",
        sa.Column("id", sa.String(36), sa.ForeignKey("aips.id"), nullable=False),
        sa.Column("title", sa.Text(), nullable=False),
        sa.Column("fields", sa.JSON(), nullable=False),
        sa.Column("opened_at", _TIME, nullable=False),
        sa.Column("search_text", sa.Text(), server_default="", nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_public_records"),
    )
    op.create_index("ix_public_records_opened", "public_records", ["opened_at", "id"])
    op.create_table(
        "public_texts",
        sa.Column("aip_id", sa.String(36), sa.ForeignKey("public_records.id"), nullable=False),
        sa.Column("path", sa.String(1000), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("aip_id", "path", name="pk_public_texts"),
    )
    op.create_table(
        "published_catalogues",
        sa.Column("id", sa.String(36), nullable=False),
        sa.Column("period_from", sa.Date(), nullable=False),
        sa.Column("period_to", sa.Date(), nullable=False),
        sa.Column("record_count", sa.Integer(), nullable=False),
        sa.Column("key_id", sa.String(64), nullable=False),
        sa.Column("document", sa.Text(), nullable=False),
        sa.Column("created_at", _TIME, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_published_catalogues"),
    )
    op.create_index("ix_published_catalogues_created_at", "published_catalogues", ["created_at"])
    dialect = op.get_bind().dialect.name
    for statement in search_index.create_statements(dialect, search_index.PUBLIC_SEARCH_TABLES):
        op.execute(statement)


def downgrade() -> None:
    dialect = op.get_bind().dialect.name
    for statement in search_index.drop_statements(dialect, search_index.PUBLIC_SEARCH_TABLES):
        op.execute(statement)
    op.drop_index("ix_published_catalogues_created_at", table_name="published_catalogues")
    op.drop_table("published_catalogues")
    op.drop_table("public_texts")
    op.drop_index("ix_public_records_opened", table_name="public_records")
    op.drop_table("public_records")
    op.drop_index("ix_opening_decisions_aip_id", table_name="opening_decisions")
    op.drop_index("ix_opening_decisions_opening_id", table_name="opening_decisions")
    op.drop_table("opening_decisions")
    op.drop_index("ix_openings_state", table_name="openings")
    op.drop_table("openings")
    op.drop_table("record_access")
