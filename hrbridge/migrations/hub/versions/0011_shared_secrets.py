"""The installation's shared secrets in the hub, sealed by the key-encryption key (``HRBRIDGE_KEY_PROVIDER=hub``).

Revision ID: hub_0011
Revises: hub_0010
Create Date: 2026-12-07

One row per secret (the deletion log's signing key, public key and pepper, the archive pepper):
``sealed`` is the value sealed with AES-256-GCM (bound to ``name``) under the KEK named by
``kek_id``, never the value itself. The local provider (the embedded default) keeps these as
files under ``HRBRIDGE_HOME/keys`` and leaves this table empty.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "hub_0011"
down_revision = "hub_0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Create ``shared_secrets``."""
    op.create_table(
        "shared_secrets",
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("kek_id", sa.String(length=32), nullable=False),
        sa.Column("sealed", sa.LargeBinary(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("name"),
    )


def downgrade() -> None:
    """Drop ``shared_secrets`` (export the deletion-log keys and peppers first: they are lost with it)."""
    op.drop_table("shared_secrets")
