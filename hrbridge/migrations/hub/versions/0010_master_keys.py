"""Master keys stored in the hub, sealed by the key-encryption key (``HRBRIDGE_KEY_PROVIDER=hub``).

Revision ID: hub_0010
Revises: hub_0009
Create Date: 2026-12-07

One row per master key (an epoch); the newest live epoch is current. ``wrapped_key`` holds the key
sealed with AES-256-GCM under the KEK named by ``kek_id`` (never the key itself), NULL once the
epoch is destroyed. The local keyring (the embedded default) leaves this table empty.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "hub_0010"
down_revision = "hub_0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Create ``master_keys`` (epochs unique)."""
    op.create_table(
        "master_keys",
        sa.Column("key_id", sa.String(length=100), nullable=False),
        sa.Column("epoch", sa.Integer(), nullable=False),
        sa.Column("kek_id", sa.String(length=32), nullable=True),
        sa.Column("wrapped_key", sa.LargeBinary(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("retired_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("destroyed_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("key_id"),
        sa.UniqueConstraint("epoch"),
    )


def downgrade() -> None:
    """Drop ``master_keys`` (its master keys are lost: export them first if any data uses them)."""
    op.drop_table("master_keys")
