"""Signed heads anchored outside the database, so cutting entries from the end is caught.

A database superuser can disable the triggers and delete the last entries together with their
signed heads; the chain that is left is whole. Transparency logs answer this by publishing signed
tree heads where the operator of the log cannot take them back. Here each retention run (and each
key rollover, and ``hrbridge audit anchor``) appends the log's latest signed head to an **anchor
target** the operator configures and the auditor keeps: one JSON line per head, append-only,
owner-only. ``audit verify --anchor FILE`` then checks the database against every head the auditor
holds: each must still be in the database, signed, and the log must reach the latest one.

A target is anything with ``append(record)`` and ``records()`` (:class:`AnchorTarget`); a local or
mounted file (:class:`FileAnchor`) is the one built in. :func:`anchor_target` chooses by the form
of the configured name, so an object store (a bucket with object lock) or an HTTPS endpoint can be
added as another scheme without changing the writer or the verifier.
"""

from __future__ import annotations

import json
import os
import stat
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import unquote, urlsplit

import sqlalchemy as sa
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from sqlalchemy.engine import Connection, Engine

from governance.audit.keys import key_id, public_key_from_hex
from governance.audit.log import head_message
from governance.audit.schema import deletion_log, deletion_log_heads

ANCHOR_ENV = "HRBRIDGE_AUDIT_ANCHOR"
MAX_ANCHOR_BYTES = 64 * 1024 * 1024  # about 150,000 anchored heads; an anchor file is read whole
RECORD_FIELDS = ("run_id", "head_seq", "head_hash", "entries", "signed_at", "key_id", "signature",
                 "entry_hashes_sha256", "next_key")


class AnchorError(RuntimeError):
    """The anchor target cannot be read or written, or holds something that is not an anchored head."""


class AnchorTarget(Protocol):
    """Where signed heads are appended and where the auditor reads them back."""

    name: str

    def append(self, record: dict[str, Any]) -> None:
        """Append one anchored head durably (never rewrite what is there)."""

    def records(self) -> list[dict[str, Any]]:
        """Every anchored head, oldest first."""


class FileAnchor:
    """An append-only JSON Lines file, owner-only (0600), fsynced after every line.

    hrbridge opens it with ``O_APPEND`` and never truncates or rewrites it; a file group or others
    can read or write is refused. Make it append-only for its owner too where the system allows
    (``chattr +a``), or keep it on storage the hub's administrators cannot write.
    """

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self.name = str(self.path)

    def _check_mode(self) -> None:
        mode = stat.S_IMODE(self.path.stat().st_mode)
        if mode & 0o077:
            raise AnchorError(f"anchor file {self.path} is open to group or others (mode {mode:o}): "
                              f"run chmod 600 {self.path}")

    def append(self, record: dict[str, Any]) -> None:
        """Append ``record`` as one JSON line (creating the file 0600 the first time)."""
        line = (json.dumps(record, sort_keys=True, separators=(",", ":")) + "\n").encode("utf-8")
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
            fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        except OSError as exc:
            raise AnchorError(f"cannot open anchor file {self.path}: {exc.strerror or exc}") from exc
        try:
            self._check_mode()
            os.write(fd, line)
            os.fsync(fd)
        except OSError as exc:
            raise AnchorError(f"cannot append to anchor file {self.path}: {exc.strerror or exc}") from exc
        finally:
            os.close(fd)

    def records(self) -> list[dict[str, Any]]:
        """The anchored heads, oldest first; a line that is not one is an error naming it."""
        try:
            size = self.path.stat().st_size
        except FileNotFoundError as exc:
            raise AnchorError(f"anchor file {self.path} does not exist") from exc
        if size > MAX_ANCHOR_BYTES:
            raise AnchorError(f"anchor file {self.path} is {size:,} bytes, more than {MAX_ANCHOR_BYTES:,}")
        out = []
        with self.path.open("rb") as handle:
            for number, raw in enumerate(handle, start=1):
                if not raw.strip():
                    continue
                try:
                    record = json.loads(raw)
                except ValueError as exc:
                    raise AnchorError(f"{self.path} line {number} is not JSON: {exc}") from exc
                if not isinstance(record, dict) or not {"run_id", "head_seq", "head_hash", "signature"} <= set(record):
                    raise AnchorError(f"{self.path} line {number} is not an anchored head")
                record["line"] = number
                out.append(record)
        return out


def anchor_target(spec: str | Path) -> AnchorTarget:
    """The target a configured name points at: a path or ``file://`` URL (other schemes: not yet)."""
    text = str(spec).strip()
    if not text:
        raise AnchorError(f"{ANCHOR_ENV} is empty")
    parts = urlsplit(text)
    if parts.scheme in ("", "file") or len(parts.scheme) == 1:  # a Windows drive letter is not a scheme
        return FileAnchor(Path(unquote(parts.path) if parts.scheme == "file" else text))
    raise AnchorError(f"anchor target scheme {parts.scheme!r} is not supported: give a file path "
                      "(a file on storage the auditor controls)")


def head_record(conn: Connection) -> dict[str, Any] | None:
    """The log's latest signed head as an anchor record (None for a log without heads)."""
    import hashlib

    row = conn.execute(sa.select(deletion_log_heads).order_by(deletion_log_heads.c.id.desc()).limit(1)).first()
    if row is None:
        return None
    hashes = None if row.entry_hashes is None else hashlib.sha256(bytes(row.entry_hashes)).hexdigest()
    return {"run_id": row.run_id, "head_seq": int(row.head_seq), "head_hash": row.head_hash,
            "entries": int(row.entries), "signed_at": row.signed_at, "key_id": row.key_id,
            "signature": row.signature, "entry_hashes_sha256": hashes, "next_key": row.next_key}


def anchor_head(engine: Engine, target: AnchorTarget) -> dict[str, Any] | None:
    """Append the log's latest signed head to ``target`` unless it is already the last one anchored.

    Refuses (:class:`AnchorError`) when the log ends before a head the target already holds: the
    log was cut, and anchoring its shorter head would hide that.
    """
    with engine.connect() as conn:
        record = head_record(conn)
    if record is None:
        return None
    try:
        held = target.records()
    except AnchorError as exc:
        if "does not exist" not in str(exc):
            raise
        held = []
    if held:
        last = max(held, key=lambda r: int(r["head_seq"]))
        if int(last["head_seq"]) > record["head_seq"]:
            raise AnchorError(f"the deletion log ends at seq {record['head_seq']}, but {target.name} already "
                              f"anchors seq {last['head_seq']} (run {last['run_id']}): entries were removed from "
                              "the end; run `hrbridge audit verify --anchor` and restore the log")
        if held[-1].get("signature") == record["signature"]:
            return held[-1]
    record["anchored_at"] = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    target.append(record)
    return record


@dataclass
class AnchorCheck:
    """What comparing the database with the anchored heads found (``problem`` None: all present)."""

    anchored: int = 0
    latest_seq: int = 0
    problem: tuple[int, str] | None = None


def _verify_records(records: Sequence[dict[str, Any]], public_key: Ed25519PublicKey, name: str) -> AnchorCheck:
    """Every anchored head must carry a valid signature under the trusted key or a key it rolled over to."""
    check = AnchorCheck(anchored=len(records))
    keys = {key_id(public_key): public_key}
    for record in records:
        key = keys.get(str(record.get("key_id")))
        where = f"{name} line {record.get('line', '?')}"
        if key is None:
            check.problem = (int(record["head_seq"]), f"{where} is signed with key {record.get('key_id')}, which no "
                             "trusted key endorsed: it is not a head of this log")
            return check
        next_key = record.get("next_key")
        message = head_message(record["run_id"], record["head_seq"], record["head_hash"], record.get("entries"),
                               record.get("signed_at"), None, next_key, hashes_sha256=record.get("entry_hashes_sha256"))
        try:
            key.verify(bytes.fromhex(str(record["signature"])), message)
        except (InvalidSignature, ValueError):
            check.problem = (int(record["head_seq"]), f"{where}: the signature does not verify (not a head this "
                             "log signed, or the line was altered)")
            return check
        if next_key:
            successor = public_key_from_hex(next_key)
            keys[key_id(successor)] = successor
        check.latest_seq = max(check.latest_seq, int(record["head_seq"]))
    return check


def check_anchor(engine: Engine, records: Sequence[dict[str, Any]], public_key: Ed25519PublicKey,
                 name: str, last_seq: int) -> AnchorCheck:
    """Compare the database with the heads the auditor holds; the first missing thing is the problem.

    ``last_seq`` is the last entry of the verified chain. The latest anchored head must be covered
    (entries cut from the end or a wiped log are named with the seqs that are gone), and every
    anchored head must still be in ``deletion_log_heads`` with the same hash and signature.
    """
    check = _verify_records(records, public_key, name)
    if check.problem or not records:
        return check
    latest = max(records, key=lambda r: int(r["head_seq"]))
    if last_seq < check.latest_seq:
        what = "the log is empty" if last_seq == 0 else f"the log ends at seq {last_seq}"
        check.problem = (last_seq + 1, f"{what}, but the anchor {name} holds the signed head of run {latest['run_id']} "
                         f"at seq {check.latest_seq} (signed {latest.get('signed_at')}): entries "
                         f"{last_seq + 1}..{check.latest_seq} were removed from the end")
        return check
    signatures = {str(r["signature"]) for r in records}
    with engine.connect() as conn:
        present = set(conn.execute(sa.select(deletion_log_heads.c.signature)
                                   .where(deletion_log_heads.c.signature.in_(sorted(signatures)))).scalars())
        for record in records:
            if str(record["signature"]) not in present:
                seq = int(record["head_seq"])
                stored = conn.execute(sa.select(deletion_log.c.hash).where(deletion_log.c.seq == seq)).scalar()
                why = ("the entry there has another hash: the chain was rewritten" if stored and
                       stored != record["head_hash"] else "its head row was removed")
                check.problem = (seq, f"the signed head of run {record['run_id']} at seq {seq} that the anchor "
                                 f"{name} holds (line {record.get('line', '?')}) is not in the database: {why}")
                return check
    return check


_runs = sa.table("retention_runs", sa.column("run_id"), sa.column("status"), sa.column("head_seq"),
                 sa.column("head_hash"))


def check_runs(engine: Engine, last_seq: int) -> tuple[int, str] | None:
    """Cross-check the retention runs' own records: each completed run noted the log's head it left.

    That head must still be in the log with the same hash. A run table edited along with the log
    defeats this, which is why the anchor exists; a careless cut of the log does not.
    """
    inspector = sa.inspect(engine)
    if not inspector.has_table("retention_runs"):
        return None
    if "head_seq" not in {c["name"] for c in inspector.get_columns("retention_runs")}:
        return None
    with engine.connect() as conn:
        rows = conn.execute(sa.select(_runs.c.run_id, _runs.c.head_seq, _runs.c.head_hash)
                            .where(_runs.c.status == "completed", _runs.c.head_seq.is_not(None), _runs.c.head_seq > 0)
                            .order_by(_runs.c.head_seq.desc())).all()
        for run_id, head_seq, head_hash in rows:
            if head_seq > last_seq:
                what = "the log is empty" if last_seq == 0 else f"the log ends at seq {last_seq}"
                return (last_seq + 1, f"{what}, but retention run {run_id} finished with the log at seq {head_seq}: "
                        f"entries {last_seq + 1}..{head_seq} were removed from the end")
            stored = conn.execute(sa.select(deletion_log.c.hash).where(deletion_log.c.seq == head_seq)).scalar()
            if stored != head_hash:
                return (head_seq, f"entry seq {head_seq} is not the one retention run {run_id} left as the log's head "
                        "(the chain was rewritten)")
    return None
