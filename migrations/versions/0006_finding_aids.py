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
_SIZES = ["file_count", "total_bytes"]  # covering statistics by each index's first column
SIP_INDEXES = [
    ("ix_sips_received", ["received_at", "id"]),
    ("ix_sips_code", ["archival_code", "id"]),
    ("ix_sips_fonds_year", ["fonds", "year", "received_at", "id"]),
    ("ix_sips_state", ["state", "received_at", "id", *_SIZES]),
]
AIP_INDEXES = [
    ("ix_aips_created", ["created_at", "id"]),
    ("ix_aips_code", ["archival_code", "id", "created_at"]),
    ("ix_aips_agency_created", ["agency_id", "created_at", "id", *_SIZES]),
    ("ix_aips_fonds_year", ["fonds", "year", "created_at", "id", *_SIZES]),
    ("ix_aips_year", ["year", "created_at", "id", *_SIZES]),
    ("ix_aips_retention", ["retention", "created_at", "id", *_SIZES]),
    ("ix_aips_record_date", ["record_date", "created_at", "id"]),
]


def _columns() -> list[sa.Column]:
    return [
        sa.Column("fonds", sa.String(length=100), nullable=True),
        sa.Column("year", sa.String(length=16), nullable=True),
        sa.Column("retention", sa.String(length=32), nullable=True),
        sa.Column("record_date", sa.String(length=10), nullable=True),
        sa.Column("search_text", sa.Text(), server_default="", nullable=False),
    ]


def upgrade() -> None:
    postgres = op.get_bind().dialect.name == "postgresql"
    with op.batch_alter_table("sips", schema=None) as batch_op:
        batch_op.add_column(sa.Column("title", sa.Text(), nullable=True))
        batch_op.add_column(sa.Column("archival_code", _code(), nullable=True))
        for column in _columns():
            batch_op.add_column(column)
        for name, columns in SIP_INDEXES:
            batch_op.create_index(name, columns, unique=False)
    if postgres:  # code-point order, so that a code prefix is an index range
        op.alter_column("aips", "archival_code", type_=_code(), existing_nullable=False)
    with op.batch_alter_table("aips", schema=None) as batch_op:
        for column in _columns():
            batch_op.add_column(column)
        for name, columns in AIP_INDEXES:
            batch_op.create_index(name, columns, unique=False)
    with op.batch_alter_table("files", schema=None) as batch_op:
        batch_op.create_index("ix_files_puid", ["puid", "aip_id", "size"], unique=False)
    _backfill()
    for statement in search_index.create_statements(op.get_bind().dialect.name):
        op.execute(statement)


def _code() -> sa.types.TypeEngine:
    return sa.String(length=200).with_variant(sa.String(length=200, collation="C"), "postgresql")


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
        for name, _ in reversed(AIP_INDEXES):
            batch_op.drop_index(name)
        for column in _COMMON:
            batch_op.drop_column(column)
    if op.get_bind().dialect.name == "postgresql":
        op.alter_column(
            "aips", "archival_code", type_=sa.String(length=200), existing_nullable=False
        )
    with op.batch_alter_table("sips", schema=None) as batch_op:
        for name, _ in reversed(SIP_INDEXES):
            batch_op.drop_index(name)
        for column in (*_COMMON, "archival_code", "title"):
            batch_op.drop_column(column)
