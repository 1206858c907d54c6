"""The append-only writer of the deletion log.

:meth:`DeletionLog.append` takes the chain head, hashes a whole batch of entries in Python,
inserts them (COPY on Postgres, ``executemany`` elsewhere) and signs the new head with Ed25519 in
the same transaction as the caller's deletions, so a batch is logged and signed or not at all.
The writer only ever INSERTs.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from governance.audit.chain import (
    GENESIS_HASH,
    HASHED_FIELDS,
    NULL_MARK,
    SEPARATOR,
    EntryTextError,
    LogEntry,
    canonical_text,
    utc_text,
)
from governance.audit.keys import AuditKeyError, AuditKeys
from governance.audit.schema import create_audit_tables, deletion_log, deletion_log_heads

_COLUMNS = (*HASHED_FIELDS, "prev_hash", "hash")
_CHAIN_LOCK = 7412094
COPY_CHUNK = 1_000


def _copy_text(value: Any) -> str:
    """One field in COPY text format (NULL as \\N; backslash, tab, newline, CR escaped)."""
    if value is None:
        return "\\N"
    text = str(value)
    return text.replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n").replace("\r", "\\r")


class _Template:
    """The parts of an entry shared by a run of similar entries (all but seq and subject).

    Built once per distinct shape, validated through :func:`canonical_text`, so hashing and
    COPY-encoding an entry is two f-strings and one ``hashlib`` call.
    """

    __slots__ = ("copy_mid", "copy_suffix", "mid", "suffix", "values")

    def __init__(self, values: list[Any]) -> None:
        canonical_text(GENESIS_HASH, values)  # rejects reserved characters in any field
        self.values = values
        tail = [NULL_MARK if v is None else str(v) for v in values[4:]]
        self.mid = f"{SEPARATOR}{values[1]}{SEPARATOR}{values[2]}{SEPARATOR}"
        self.suffix = SEPARATOR + SEPARATOR.join(tail)
        self.copy_mid = f"{_copy_text(values[1])}\t{_copy_text(values[2])}\t"
        self.copy_suffix = "\t".join(_copy_text(v) for v in values[4:])

    def row(self, seq: int, subject: str, prev: str, digest: str) -> dict[str, Any]:
        """The entry as a row for ``executemany``."""
        row = dict(zip(HASHED_FIELDS, self.values, strict=True))
        row.update(seq=seq, subject_hash=subject, prev_hash=prev, hash=digest)
        return row


def head_message(run_id: str, head_seq: int, head_hash: str, entries: int, signed_at: str,
                 entry_hashes: bytes | None = None, next_key: str | None = None, *,
                 hashes_sha256: str | None = None) -> bytes:
    """The bytes an Ed25519 head signature covers.

    A head that stores its batch's entry hashes (or a key rollover) signs the SHA-256 of those hashes
    (``hashes_sha256`` when only the digest is at hand, as in an anchor) and the next key too; heads
    written before either existed keep the five-field form.
    """
    fields: list[Any] = [run_id, head_seq, head_hash, entries, signed_at]
    digest = hashes_sha256 if entry_hashes is None else hashlib.sha256(entry_hashes).hexdigest()
    if digest is not None or next_key is not None:
        fields += [digest, next_key]
    return json.dumps(fields, separators=(",", ":")).encode()


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
        self._signer_checked = False
        create_audit_tables(engine)

    def pseudonymise(self, subject_id: object) -> str:
        """The pseudonymous subject id recorded in the log (HMAC-SHA256 with the pepper)."""
        return self.keys.pseudonymise(subject_id)

    def append(self, conn: Connection, run_id: str, entries: Sequence[LogEntry | tuple[LogEntry, str]],
               *, next_key: str | None = None) -> AppendResult | None:
        """Chain, insert and sign ``entries`` inside the caller's transaction ``conn``.

        An entry is a :class:`LogEntry`, or a ``(LogEntry, subject_hash)`` pair whose entry object is
        shared by many people (its own ``subject_hash`` is ignored): the bulk form of a purge.
        ``next_key`` (hex public key) makes the head a key rollover: only :mod:`.rollover` passes it.
        """
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
        self.check_signer(conn)
        digests: list[str] = []

        def chain() -> Any:
            """Yield (seq, subject, template, prev, hash) per entry, hashing as it goes."""
            nonlocal seq, prev
            templates: dict[tuple[Any, ...], _Template] = {}
            shared: dict[int, _Template] = {}
            sha256 = hashlib.sha256
            for item in entries:
                seq += 1
                if item.__class__ is tuple:
                    # (shared entry, subject hash): many people with identical entries but for the person.
                    entry, subject = item  # type: ignore[misc]
                    template = shared.get(id(entry))
                    if template is None:
                        template = shared[id(entry)] = _Template(entry.values(seq, run_id, now))
                else:
                    entry = item  # type: ignore[assignment]
                    subject = entry.subject_hash
                    key = entry.template_key()
                    template = templates.get(key) if key is not None else None
                    if template is None:
                        template = _Template(entry.values(seq, run_id, now))
                        if key is not None:
                            templates[key] = template
                if not subject.isalnum():
                    raise EntryTextError(f"subject hash must be letters and digits (hex): {subject!r}")
                digest = sha256(f"{prev}{SEPARATOR}{seq}{template.mid}{subject}{template.suffix}".encode()).hexdigest()
                digests.append(digest)
                yield seq, subject, template, prev, digest
                prev = digest

        if conn.dialect.name == "postgresql":
            # Stream in chunks so the server parses one chunk while the next is being hashed.
            cursor = conn.connection.dbapi_connection.cursor()
            with cursor.copy(f"COPY deletion_log ({', '.join(_COLUMNS)}) FROM STDIN") as copy:
                lines: list[str] = []
                for n, subject, template, before, digest in chain():
                    lines.append(f"{n}\t{template.copy_mid}{subject}\t{template.copy_suffix}\t{before}\t{digest}\n")
                    if len(lines) == COPY_CHUNK:
                        copy.write("".join(lines))
                        lines.clear()
                if lines:
                    copy.write("".join(lines))
        else:
            conn.execute(deletion_log.insert(), [template.row(n, subject, before, digest)
                                                 for n, subject, template, before, digest in chain()])
        self._sign(conn, run_id, seq, prev, len(entries), now, bytes.fromhex("".join(digests)), next_key)
        return AppendResult(first_seq=first, last_seq=seq, head_hash=prev)

    def check_signer(self, conn: Connection) -> None:
        """Refuse to sign with a key the log does not already trust.

        The trusted signer is the key of the log's latest head, or the key a rollover head named; an
        empty log trusts whatever key signs first. A replaced or recreated signing key therefore
        fails here, before anything is written, instead of leaving heads no single key verifies.
        """
        if self._signer_checked:
            return
        trusted = trusted_signer(conn)
        if trusted is not None and trusted != self.keys.key_id:
            raise AuditKeyError(
                f"the deletion log is signed with key {trusted}, but the signing key in {self.keys.where} is "
                f"{self.keys.key_id}: restore the key the log trusts from your backup; a new key is used only "
                "after `hrbridge audit rollover`, signed by the old one")
        self._signer_checked = True

    def _sign(self, conn: Connection, run_id: str, head_seq: int, head_hash: str, entries: int,
              signed_at: str, entry_hashes: bytes | None, next_key: str | None = None) -> None:
        message = head_message(run_id, head_seq, head_hash, entries, signed_at, entry_hashes, next_key)
        signature = self.keys.signing_key.sign(message)
        conn.execute(deletion_log_heads.insert().values(
            run_id=run_id, head_seq=head_seq, head_hash=head_hash, entries=entries, signed_at=signed_at,
            key_id=self.keys.key_id, signature=signature.hex(), entry_hashes=entry_hashes, next_key=next_key,
        ))


def trusted_signer(conn: Connection) -> str | None:
    """Key id that must sign the log's next head: the latest head's key, or the key its rollover named."""
    from governance.audit.keys import key_id_of_hex

    last = conn.execute(sa.select(deletion_log_heads.c.key_id, deletion_log_heads.c.next_key)
                        .order_by(deletion_log_heads.c.id.desc()).limit(1)).first()
    if last is None:
        return None
    return key_id_of_hex(last.next_key) if last.next_key else last.key_id
