"""Deletion-log heads: append-only guard, the batch's entry hashes, key rollovers.

Revision ID: hub_0004
Revises: hub_0003
Create Date: 2026-12-06

``deletion_log_heads`` gets the same append-only guard as ``deletion_log`` (UPDATE, DELETE and,
on Postgres, TRUNCATE rejected), so a removed head row no longer goes unnoticed until verify. Two
nullable columns: ``entry_hashes`` (the raw SHA-256 hashes of the batch's entries, covered by the
head's signature, so verify names the first rewritten entry rather than the head after it) and
``next_key`` (an explicit key rollover: the public key that signs from then on, endorsed by the
key trusted so far). The guard function now names the table it protects.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "hub_0004"
down_revision = "hub_0003"
branch_labels = None
depends_on = None

_FUNCTION = """
CREATE OR REPLACE FUNCTION hrbridge_deletion_log_append_only() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION '%% is append-only: %% is not allowed', TG_TABLE_NAME, TG_OP;
END;
$$ LANGUAGE plpgsql
"""

_GUARD = {
    "postgresql": [
        _FUNCTION,
        "DROP TRIGGER IF EXISTS deletion_log_heads_append_only ON deletion_log_heads",
        """
        CREATE TRIGGER deletion_log_heads_append_only BEFORE UPDATE OR DELETE ON deletion_log_heads
        FOR EACH ROW EXECUTE FUNCTION hrbridge_deletion_log_append_only()
        """,
        "DROP TRIGGER IF EXISTS deletion_log_heads_no_truncate ON deletion_log_heads",
        """
        CREATE TRIGGER deletion_log_heads_no_truncate BEFORE TRUNCATE ON deletion_log_heads
        FOR EACH STATEMENT EXECUTE FUNCTION hrbridge_deletion_log_append_only()
        """,
    ],
    "sqlite": [
        """
        CREATE TRIGGER IF NOT EXISTS deletion_log_heads_no_update BEFORE UPDATE ON deletion_log_heads
        BEGIN SELECT RAISE(ABORT, 'deletion_log_heads is append-only: UPDATE is not allowed'); END
        """,
        """
        CREATE TRIGGER IF NOT EXISTS deletion_log_heads_no_delete BEFORE DELETE ON deletion_log_heads
        BEGIN SELECT RAISE(ABORT, 'deletion_log_heads is append-only: DELETE is not allowed'); END
        """,
    ],
}

_UNGUARD = {
    "postgresql": ["DROP TRIGGER IF EXISTS deletion_log_heads_append_only ON deletion_log_heads",
                   "DROP TRIGGER IF EXISTS deletion_log_heads_no_truncate ON deletion_log_heads"],
    "sqlite": ["DROP TRIGGER IF EXISTS deletion_log_heads_no_update",
               "DROP TRIGGER IF EXISTS deletion_log_heads_no_delete"],
}


def upgrade() -> None:
    """Add ``entry_hashes`` and ``next_key`` to the heads, then guard the heads table."""
    bind = op.get_bind()
    with op.batch_alter_table("deletion_log_heads") as batch:
        batch.add_column(sa.Column("entry_hashes", sa.LargeBinary(), nullable=True))
        batch.add_column(sa.Column("next_key", sa.String(length=64), nullable=True))
    for statement in _GUARD.get(bind.dialect.name, []):
        bind.exec_driver_sql(statement)


def downgrade() -> None:
    """Remove the heads' guard and the two columns."""
    bind = op.get_bind()
    for statement in _UNGUARD.get(bind.dialect.name, []):
        bind.exec_driver_sql(statement)
    with op.batch_alter_table("deletion_log_heads") as batch:
        batch.drop_column("next_key")
        batch.drop_column("entry_hashes")
