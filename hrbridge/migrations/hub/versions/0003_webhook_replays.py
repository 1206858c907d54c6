"""Webhook replay store: the keys of deliveries accepted within the signature window.

Revision ID: hub_0003
Revises: hub_0002
Create Date: 2026-12-06

Every receiver process (standalone or in an Airflow API server replica) records the digests of
each delivery it queues here, in the same transaction as the inbox row, and refuses a delivery
whose digest is already present and unexpired. Rows hold digests only, never payloads.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "hub_0003"
down_revision = "hub_0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Create ``webhook_replays`` with its expiry index."""
    op.create_table(
        "webhook_replays",
        sa.Column("replay_key", sa.String(length=80), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("replay_key"),
    )
    op.create_index("ix_webhook_replays_expires_at", "webhook_replays", ["expires_at"], unique=False)


def downgrade() -> None:
    """Drop ``webhook_replays``."""
    op.drop_index("ix_webhook_replays_expires_at", table_name="webhook_replays")
    op.drop_table("webhook_replays")
