"""replicas carry their AIP's file count and bytes, so holdings per target are summed from one
index (statistics by target, the dashboard) instead of a join over every AIP

Revision ID: 0013
Revises: 0012
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None

_SIZES = (("file_count", sa.Integer()), ("total_bytes", sa.BigInteger()))


def upgrade() -> None:
    with op.batch_alter_table("replicas") as batch:
        for name, type_ in _SIZES:
            batch.add_column(sa.Column(name, type_, nullable=True))
    for name, _ in _SIZES:
        op.execute(
            f"UPDATE replicas SET {name} = (SELECT aips.{name} FROM aips "
            "WHERE aips.id = replicas.aip_id)"
        )
    with op.batch_alter_table("replicas") as batch:
        for name, type_ in _SIZES:
            batch.alter_column(name, existing_type=type_, nullable=False)
        batch.create_index("ix_replicas_holdings", ["state", "target", "file_count", "total_bytes"])


def downgrade() -> None:
    with op.batch_alter_table("replicas") as batch:
        batch.drop_index("ix_replicas_holdings")
        for name, _ in _SIZES:
            batch.drop_column(name)
