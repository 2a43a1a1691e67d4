"""finding aids: filter columns and searchable text on SIPs and AIPs, FTS5 (SQLite) or pg_trgm
(PostgreSQL) search indexes

Revision ID: 0006
Revises: 0005
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from preserve.catalog import search_index

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

_COMMON = ("fonds", "year", "retention", "record_date", "search_text")


def _columns() -> list[sa.Column]:
    return [
        sa.Column("fonds", sa.String(length=100), nullable=True),
        sa.Column("year", sa.String(length=16), nullable=True),
        sa.Column("retention", sa.String(length=32), nullable=True),
        sa.Column("record_date", sa.String(length=10), nullable=True),
        sa.Column("search_text", sa.Text(), server_default="", nullable=False),
    ]


def upgrade() -> None:
    with op.batch_alter_table("sips", schema=None) as batch_op:
        batch_op.add_column(sa.Column("title", sa.Text(), nullable=True))
        batch_op.add_column(sa.Column("archival_code", sa.String(length=200), nullable=True))
        for column in _columns():
            batch_op.add_column(column)
        batch_op.create_index("ix_sips_received", ["received_at", "id"], unique=False)
        batch_op.create_index("ix_sips_code", ["archival_code", "id"], unique=False)
        batch_op.create_index("ix_sips_fonds_year", ["fonds", "year"], unique=False)
        batch_op.create_index("ix_sips_state", ["state"], unique=False)
    with op.batch_alter_table("aips", schema=None) as batch_op:
        for column in _columns():
            batch_op.add_column(column)
        batch_op.create_index("ix_aips_created", ["created_at", "id"], unique=False)
        batch_op.create_index("ix_aips_code", ["archival_code", "id"], unique=False)
        batch_op.create_index(
            "ix_aips_agency_created", ["agency_id", "created_at", "id"], unique=False
        )
        batch_op.create_index("ix_aips_fonds_year", ["fonds", "year"], unique=False)
        batch_op.create_index("ix_aips_year", ["year"], unique=False)
        batch_op.create_index("ix_aips_retention", ["retention"], unique=False)
        batch_op.create_index("ix_aips_record_date", ["record_date"], unique=False)
    with op.batch_alter_table("files", schema=None) as batch_op:
        batch_op.create_index("ix_files_puid", ["puid", "aip_id"], unique=False)
    _backfill()
    for statement in search_index.create_statements(op.get_bind().dialect.name):
        op.execute(statement)


def _backfill() -> None:
    """Derive the new columns of the rows already catalogued."""
    bind = op.get_bind()
    for name, extra in (("sips", ("title", "archival_code")), ("aips", ())):
        table = sa.table(
            name,
            sa.column("id"),
            sa.column("record_metadata", sa.JSON()),
            *(sa.column(c) for c in (*_COMMON, *extra)),
        )
        rows = bind.execute(sa.select(table.c.id, table.c.record_metadata)).all()
        for row_id, metadata in rows:
            derive = search_index.sip_derived if extra else search_index.derived
            values = derive(metadata)
            bind.execute(table.update().where(table.c.id == row_id).values(**values))


def downgrade() -> None:
    for statement in search_index.drop_statements(op.get_bind().dialect.name):
        op.execute(statement)
    with op.batch_alter_table("files", schema=None) as batch_op:
        batch_op.drop_index("ix_files_puid")
    with op.batch_alter_table("aips", schema=None) as batch_op:
        for index in (
            "ix_aips_record_date",
            "ix_aips_retention",
            "ix_aips_year",
            "ix_aips_fonds_year",
            "ix_aips_agency_created",
            "ix_aips_code",
            "ix_aips_created",
        ):
            batch_op.drop_index(index)
        for column in _COMMON:
            batch_op.drop_column(column)
    with op.batch_alter_table("sips", schema=None) as batch_op:
        for index in ("ix_sips_state", "ix_sips_fonds_year", "ix_sips_code", "ix_sips_received"):
            batch_op.drop_index(index)
        for column in (*_COMMON, "archival_code", "title"):
            batch_op.drop_column(column)
