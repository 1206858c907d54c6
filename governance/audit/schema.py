"""Tables of the deletion log: the hash-chained entries and the signed heads of each run.

They live on their own :data:`metadata` so that :mod:`governance` needs nothing from the
application layer; :func:`create_audit_tables` creates them on whatever hub engine it is given
and installs the append-only guard (triggers that reject UPDATE and DELETE).
"""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.engine import Engine

metadata = sa.MetaData()

deletion_log = sa.Table(
    "deletion_log",
    metadata,
    sa.Column("seq", sa.BigInteger, primary_key=True, autoincrement=False),
    sa.Column("run_id", sa.String(64), nullable=False),
    sa.Column("requested_by", sa.String(200), nullable=False),
    # No index on subject_hash: a random 64-character key would cost a B-tree insert per entry on
    # the hot path; looking one person up is a rare, sequential read (about a second per million).
    sa.Column("subject_hash", sa.String(64), nullable=False),
    sa.Column("categories", sa.Text, nullable=False),
    sa.Column("stores", sa.Text, nullable=False),
    sa.Column("counts_before", sa.Text, nullable=False),
    sa.Column("counts_after", sa.Text, nullable=False),
    sa.Column("legal_basis", sa.Text, nullable=False),
    sa.Column("hold", sa.Text),
    sa.Column("method", sa.String(40), nullable=False),
    sa.Column("requested_at", sa.String(32)),
    sa.Column("due_at", sa.String(32)),
    sa.Column("done_at", sa.String(32), nullable=False),
    sa.Column("prev_hash", sa.String(64), nullable=False),
    sa.Column("hash", sa.String(64), nullable=False),
)

# Export reads entries by done_at. Entries arrive in done_at order, so on Postgres a BRIN index (a
# few pages, one summary per 128 heap pages) serves the range query without a B-tree insert and its
# WAL record for every entry the purge writes; other databases get a B-tree.
sa.Index("ix_deletion_log_done_at", deletion_log.c.done_at,
         postgresql_using="brin", postgresql_with={"autosummarize": "on"})

deletion_log_heads = sa.Table(
    "deletion_log_heads",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("run_id", sa.String(64), nullable=False, index=True),
    sa.Column("head_seq", sa.BigInteger, nullable=False),
    sa.Column("head_hash", sa.String(64), nullable=False),
    sa.Column("entries", sa.Integer, nullable=False),
    sa.Column("signed_at", sa.String(32), nullable=False),
    sa.Column("key_id", sa.String(32), nullable=False),
    sa.Column("signature", sa.String(128), nullable=False),
    # The raw SHA-256 hashes of the batch's entries in seq order (32 bytes each), covered by the
    # signature through their digest: an entry rewritten with every later hash recomputed is then
    # named itself, not only the head after it. NULL in heads written before this column existed.
    sa.Column("entry_hashes", sa.LargeBinary),
    # A key rollover: the Ed25519 public key (hex) that signs from here on, endorsed by this head's
    # signature under the key trusted so far. NULL in an ordinary head.
    sa.Column("next_key", sa.String(64)),
)

GUARDED_TABLES = ("deletion_log", "deletion_log_heads")

_PG_GUARD = [
    """
    CREATE OR REPLACE FUNCTION hrbridge_deletion_log_append_only() RETURNS trigger AS $$
    BEGIN
        RAISE EXCEPTION '%% is append-only: %% is not allowed', TG_TABLE_NAME, TG_OP;
    END;
    $$ LANGUAGE plpgsql
    """,
]
_SQLITE_GUARD: list[str] = []
for _table in GUARDED_TABLES:
    _PG_GUARD += [
        f"DROP TRIGGER IF EXISTS {_table}_append_only ON {_table}",
        f"""
        CREATE TRIGGER {_table}_append_only BEFORE UPDATE OR DELETE ON {_table}
        FOR EACH ROW EXECUTE FUNCTION hrbridge_deletion_log_append_only()
        """,
        f"DROP TRIGGER IF EXISTS {_table}_no_truncate ON {_table}",
        f"""
        CREATE TRIGGER {_table}_no_truncate BEFORE TRUNCATE ON {_table}
        FOR EACH STATEMENT EXECUTE FUNCTION hrbridge_deletion_log_append_only()
        """,
    ]
    _SQLITE_GUARD += [
        f"""
        CREATE TRIGGER IF NOT EXISTS {_table}_no_update BEFORE UPDATE ON {_table}
        BEGIN SELECT RAISE(ABORT, '{_table} is append-only: UPDATE is not allowed'); END
        """,
        f"""
        CREATE TRIGGER IF NOT EXISTS {_table}_no_delete BEFORE DELETE ON {_table}
        BEGIN SELECT RAISE(ABORT, '{_table} is append-only: DELETE is not allowed'); END
        """,
    ]

# The append-only guard's triggers per dialect (``hrbridge db check`` reports any that is missing).
GUARD_TRIGGERS: dict[str, dict[str, set[str]]] = {
    "postgresql": {t: {f"{t}_append_only", f"{t}_no_truncate"} for t in GUARDED_TABLES},
    "sqlite": {t: {f"{t}_no_update", f"{t}_no_delete"} for t in GUARDED_TABLES},
}
GUARD_STATEMENTS = {"postgresql": _PG_GUARD, "sqlite": _SQLITE_GUARD}


def create_audit_tables(engine: Engine) -> None:
    """Create the deletion-log tables if missing and install the append-only triggers on both (idempotent)."""
    metadata.create_all(engine)
    statements = GUARD_STATEMENTS.get(engine.dialect.name, [])
    with engine.begin() as conn:
        if engine.dialect.name == "postgresql":
            # One installer at a time: concurrent CREATE OR REPLACE on the same function conflicts.
            conn.execute(sa.text("SELECT pg_advisory_xact_lock(7412093)"))
        for statement in statements:
            conn.exec_driver_sql(statement)
