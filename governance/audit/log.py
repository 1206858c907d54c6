"""The append-only writer of the deletion log.

:meth:`DeletionLog.append` takes the chain head, hashes a whole batch of entries in Python,
inserts them (COPY on Postgres, ``executemany`` elsewhere) and signs the new head with Ed25519 in
the same transaction as the caller's deletions, so a batch is logged and signed or not at all.
The writer only ever INSERTs.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from governance.audit.chain import GENESIS_HASH, HASHED_FIELDS, LogEntry, entry_hash, utc_text
from governance.audit.keys import AuditKeys
from governance.audit.schema import create_audit_tables, deletion_log, deletion_log_heads

_COLUMNS = (*HASHED_FIELDS, "prev_hash", "hash")
_CHAIN_LOCK = 7412094


def head_message(run_id: str, head_seq: int, head_hash: str, entries: int, signed_at: str) -> bytes:
    """The bytes an Ed25519 head signature covers."""
    return json.dumps([run_id, head_seq, head_hash, entries, signed_at], separators=(",", ":")).encode()


@dataclass(frozen=True)
class AppendResult:
    """Where a batch landed in the chain."""

    first_seq: int
    last_seq: int
    head_hash: str


class DeletionLog:
    """Writes entries to ``deletion_log`` and signed heads to ``deletion_log_heads``."""

    def __init__(self, engine: Engine, keys: AuditKeys) -> None:
        self.engine = engine
        self.keys = keys
        create_audit_tables(engine)

    def pseudonymise(self, subject_id: object) -> str:
        """The pseudonymous subject id recorded in the log (HMAC-SHA256 with the pepper)."""
        return self.keys.pseudonymise(subject_id)

    def append(self, conn: Connection, run_id: str, entries: Sequence[LogEntry]) -> AppendResult | None:
        """Chain, insert and sign ``entries`` inside the caller's transaction ``conn``."""
        if not entries:
            return None
        if conn.dialect.name == "postgresql":
            conn.execute(sa.text("SELECT pg_advisory_xact_lock(:k)"), {"k": _CHAIN_LOCK})
        head = conn.execute(
            sa.select(deletion_log.c.seq, deletion_log.c.hash).order_by(deletion_log.c.seq.desc()).limit(1)
        ).first()
        seq, prev = (head[0], head[1]) if head else (0, GENESIS_HASH)
        first = seq + 1
        now = utc_text(datetime.now(UTC))
        rows: list[list[object]] = []
        for entry in entries:
            seq += 1
            values = entry.values(seq, run_id, now)
            digest = entry_hash(prev, values)
            values.append(prev)
            values.append(digest)
            rows.append(values)
            prev = digest
        self._insert(conn, rows)
        self._sign(conn, run_id, seq, prev, len(rows), now)
        return AppendResult(first_seq=first, last_seq=seq, head_hash=prev)

    def _insert(self, conn: Connection, rows: list[list[object]]) -> None:
        if conn.dialect.name == "postgresql":
            cursor = conn.connection.dbapi_connection.cursor()
            with cursor.copy(f"COPY deletion_log ({', '.join(_COLUMNS)}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row)
            return
        conn.execute(deletion_log.insert(), [dict(zip(_COLUMNS, row, strict=True)) for row in rows])

    def _sign(self, conn: Connection, run_id: str, head_seq: int, head_hash: str, entries: int,
              signed_at: str) -> None:
        signature = self.keys.signing_key.sign(head_message(run_id, head_seq, head_hash, entries, signed_at))
        conn.execute(deletion_log_heads.insert().values(
            run_id=run_id, head_seq=head_seq, head_hash=head_hash, entries=entries, signed_at=signed_at,
            key_id=self.keys.key_id, signature=signature.hex(),
        ))
