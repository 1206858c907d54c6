"""Retention runs note the deletion log's head they left.

Revision ID: hub_0007
Revises: hub_0006
Create Date: 2026-12-06

``retention_runs.head_seq`` and ``head_hash``: the log's last entry when the run completed.
``audit verify`` cross-checks that each is still in the log, next to the signed heads anchored
outside the database. Runs completed before this revision have NULL and are not checked.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "hub_0007"
down_revision = "hub_0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Add the two nullable columns."""
    with op.batch_alter_table("retention_runs") as batch:
        batch.add_column(sa.Column("head_seq", sa.BigInteger(), nullable=True))
        batch.add_column(sa.Column("head_hash", sa.String(length=64), nullable=True))


def downgrade() -> None:
    """Drop them."""
    with op.batch_alter_table("retention_runs") as batch:
        batch.drop_column("head_hash")
        batch.drop_column("head_seq")
