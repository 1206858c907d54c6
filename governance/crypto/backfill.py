"""Encrypt values already stored in plaintext, in place, batch by batch (a one-off migration step).

Used when encryption is switched on for a column that already holds data: every value that is not
yet an ``hrb1`` token is encrypted for its row (JSON values are serialised first) and written back.
Values that are already tokens are left alone, so the backfill can be interrupted and rerun.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import sqlalchemy as sa

from governance.crypto import envelope
from governance.crypto.vault import Vault


def _as_plain(value: Any) -> str | bytes:
    if isinstance(value, str | bytes):
        return value
    return json.dumps(value, ensure_ascii=False, sort_keys=True, default=str)


def encrypt_existing(
    vault: Vault, engine: sa.Engine, table: str, column: str, *, subject_col: str, record_col: str,
    batch_size: int = 1000, progress: Callable[[int], None] | None = None,
) -> int:
    """Encrypt every plaintext value of ``table.column`` in place; returns how many were encrypted.

    ``vault`` keeps its keys in its own database, ``engine`` is where the table lives (hub or archive).
    Raises ``ValueError`` naming the column when the database rejects a token (column too narrow:
    widen it to TEXT first).
    """
    vault.require_available()
    target = sa.Table(table, sa.MetaData(), autoload_with=engine)
    if column in (subject_col, record_col):
        raise ValueError(f"table {table!r}: {column!r} is the subject or record column; it cannot be encrypted")
    for name in (column, subject_col, record_col):
        if name not in target.c:
            raise KeyError(f"table {table!r} has no column {name!r}")
    record, value_col = target.c[record_col], target.c[column]
    done, after = 0, None
    while True:
        stmt = sa.select(record, target.c[subject_col], value_col).where(value_col.is_not(None))
        if after is not None:
            stmt = stmt.where(record > after)
        with engine.connect() as conn:
            rows = conn.execute(stmt.order_by(record).limit(batch_size)).all()
        if not rows:
            return done
        after = rows[-1][0]
        plain = [
            {record_col: r[0], subject_col: r[1], column: _as_plain(r[2])}
            for r in rows if r[2] is not None and not envelope.is_token(r[2])  # JSON null reads as None
        ]
        if plain:
            sealed = vault.encrypt_rows(plain, [column], table=table, subject_key=subject_col, record_key=record_col)
            update = sa.update(target).where(record == sa.bindparam("b_record")).values({column: sa.bindparam("b_value")})
            try:
                with engine.begin() as conn:
                    conn.execute(update, [{"b_record": r[record_col], "b_value": r[column]} for r in sealed])
            except sa.exc.DataError as exc:
                raise ValueError(
                    f"table {table!r}, column {column!r}: the database rejected the ciphertext "
                    f"(column too narrow?) — widen it to TEXT before encrypting: {exc.orig}"
                ) from exc
            done += len(sealed)
        if progress:
            progress(done)
