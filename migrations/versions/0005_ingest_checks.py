"""ingest checks schema changes: the SIP's check report, receipt, idempotency key and source;
resumable uploads

Revision ID: 0005
Revises: 0004
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import preserve.catalog.types

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("sips", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("source", sa.String(length=16), server_default="multipart", nullable=False)
        )
        batch_op.add_column(sa.Column("check_report", sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column("receipt", sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column("idempotency_key", sa.String(length=255), nullable=True))
        batch_op.add_column(sa.Column("request_fingerprint", sa.String(length=64), nullable=True))
    op.execute("UPDATE sips SET check_report = '[]' WHERE check_report IS NULL")
    with op.batch_alter_table("sips", schema=None) as batch_op:
        batch_op.alter_column("check_report", existing_type=sa.JSON(), nullable=False)
        batch_op.create_unique_constraint(
            batch_op.f("uq_sips_agency_id"), ["agency_id", "idempotency_key"]
        )
    op.create_table(
        "uploads",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("agency_id", sa.Integer(), nullable=False),
        sa.Column("length", sa.BigInteger(), nullable=False),
        sa.Column("offset", sa.BigInteger(), nullable=False),
        sa.Column("upload_metadata", sa.JSON(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=True),
        sa.Column("sha512", sa.String(length=128), nullable=True),
        sa.Column("sip_id", sa.String(length=36), nullable=True),
        sa.Column("created_at", preserve.catalog.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", preserve.catalog.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("expires_at", preserve.catalog.types.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["agency_id"], ["agencies.id"], name=op.f("fk_uploads_agency_id_agencies")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_uploads")),
    )
    with op.batch_alter_table("uploads", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_uploads_agency_id"), ["agency_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("uploads", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_uploads_agency_id"))
    op.drop_table("uploads")
    with op.batch_alter_table("sips", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("uq_sips_agency_id"), type_="unique")
        batch_op.drop_column("request_fingerprint")
        batch_op.drop_column("idempotency_key")
        batch_op.drop_column("receipt")
        batch_op.drop_column("check_report")
        batch_op.drop_column("source")
