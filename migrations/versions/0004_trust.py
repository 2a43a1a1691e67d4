"""trust schema changes: the hash-chained event log and its signed checkpoints

Revision ID: 0004
Revises: 0003
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import preserve.catalog.types

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("events", schema=None) as batch_op:
        batch_op.add_column(sa.Column("seq", sa.BigInteger(), nullable=True))
        batch_op.add_column(sa.Column("prev_hash", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("entry_hash", sa.String(length=64), nullable=True))
        batch_op.create_unique_constraint(batch_op.f("uq_events_seq"), ["seq"])
    op.create_table(
        "log_head",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("seq", sa.BigInteger(), nullable=False),
        sa.Column("entry_hash", sa.String(length=64), nullable=False),
        sa.Column("updated_at", preserve.catalog.types.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_log_head")),
    )
    op.create_table(
        "log_checkpoints",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("seq_from", sa.BigInteger(), nullable=False),
        sa.Column("seq_to", sa.BigInteger(), nullable=False),
        sa.Column("head_hash", sa.String(length=64), nullable=False),
        sa.Column("key_id", sa.String(length=64), nullable=False),
        sa.Column("created_at", preserve.catalog.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("document", sa.Text(), nullable=False),
        sa.Column("stored_on", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_log_checkpoints")),
        sa.UniqueConstraint("seq_to", name=op.f("uq_log_checkpoints_seq_to")),
    )
    _chain_existing_events()


def _chain_existing_events() -> None:
    """Events recorded before this revision join the chain in the order they were written."""
    from preserve.catalog.chain import GENESIS, content_digest, link
    from preserve.catalog.models import Event
    from preserve.catalog.types import utcnow

    conn = op.get_bind()
    events = Event.__table__
    columns = [events.c[name] for name in ("id", "uuid", "type", "outcome", "detail", "agent")]
    columns += [events.c[name] for name in ("object_type", "object_id", "agency_id", "target")]
    rows = conn.execute(sa.select(*columns, events.c.created_at).order_by(events.c.id)).all()
    prev, seq = GENESIS, 0
    for row in rows:
        seq += 1
        entry = link(prev, content_digest(row))
        conn.execute(
            sa.update(events)
            .where(events.c.id == row.id)
            .values(seq=seq, prev_hash=prev, entry_hash=entry)
        )
        prev = entry
    head = sa.table(
        "log_head",
        sa.column("id", sa.Integer()),
        sa.column("seq", sa.BigInteger()),
        sa.column("entry_hash", sa.String()),
        sa.column("updated_at", preserve.catalog.types.UTCDateTime(timezone=True)),
    )
    conn.execute(sa.insert(head).values(id=1, seq=seq, entry_hash=prev, updated_at=utcnow()))


def downgrade() -> None:
    op.drop_table("log_checkpoints")
    op.drop_table("log_head")
    with op.batch_alter_table("events", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("uq_events_seq"), type_="unique")
        batch_op.drop_column("entry_hash")
        batch_op.drop_column("prev_hash")
        batch_op.drop_column("seq")
