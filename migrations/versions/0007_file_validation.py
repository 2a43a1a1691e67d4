"""check 3-4 per file: each payload file's validation outcome and detail

Revision ID: 0007
Revises: 0006
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Plain ADD COLUMN on both databases: the files table is not rebuilt.
    op.add_column("files", sa.Column("validation", sa.String(length=8), nullable=True))
    op.add_column("files", sa.Column("validation_detail", sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("files", schema=None) as batch_op:
        batch_op.drop_column("validation_detail")
        batch_op.drop_column("validation")
