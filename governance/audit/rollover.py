"""An explicit, logged rollover of the deletion log's signing key.

The log trusts one key at a time: the key of its latest head. A new key signs only after
:func:`rollover` wrote a log entry (method ``key rollover``, who and why) whose head, signed by the
old key, names the new public key. ``audit verify`` starts from the auditor's key and follows
these endorsements, so one public key still verifies the whole log. The new key is written to
``audit-signing.key.next`` first and becomes the signing key only once the rollover is committed;
:func:`finish_pending` completes a rollover that was interrupted between the two.
"""

from __future__ import annotations

import os
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy.engine import Engine

from governance.audit.chain import LogEntry
from governance.audit.keys import (
    NEXT_KEY_FILE,
    SIGNING_KEY_FILE,
    AuditKeyError,
    AuditKeys,
    _private_pem,
    key_id,
    public_hex,
    read_private_key_from,
)
from governance.audit.log import DeletionLog, trusted_signer
from governance.crypto.shared import DirSecretStore, SecretStore

ROLLOVER_METHOD = "key rollover"


def _store(key_dir: Path | SecretStore) -> SecretStore:
    return DirSecretStore(Path(key_dir)) if isinstance(key_dir, (str, Path)) else key_dir


def finish_pending(engine: Engine, key_dir: Path | SecretStore) -> bool:
    """Promote ``audit-signing.key.next`` to the signing key when the log already trusts it.

    ``key_dir``: the keys folder or any :class:`SecretStore` (the hub's). A pending key the log
    does not name (the rollover never committed) is left for the next :func:`rollover` to reuse.
    Returns True when a key was promoted.
    """
    store = _store(key_dir)
    pending = read_private_key_from(store, NEXT_KEY_FILE)
    if pending is None:
        return False
    with engine.connect() as conn:
        trusted = trusted_signer(conn)
    if trusted != key_id(pending.public_key()):
        return False
    if isinstance(store, DirSecretStore):
        os.replace(store.folder / NEXT_KEY_FILE, store.folder / SIGNING_KEY_FILE)
    else:
        store.replace(SIGNING_KEY_FILE, store.get(NEXT_KEY_FILE) or b"")
        store.remove(NEXT_KEY_FILE)
    return True


def rollover(engine: Engine, key_dir: Path | SecretStore, by: str, reason: str, env: dict[str, str] | None = None) -> dict[str, Any]:
    """Replace the signing key: log the rollover signed by the current key, then switch keys.

    Refused (:class:`AuditKeyError`) when the current key is missing or is not the one the log
    trusts: a key nobody can prove belongs to the log is never endorsed.
    """
    if not by.strip() or not reason.strip():
        raise AuditKeyError("a key rollover needs --by and --reason (both go into the deletion log)")
    store = _store(key_dir)
    finish_pending(engine, store)
    current = AuditKeys.load_or_create(store, env, create=False)
    log = DeletionLog(engine, current)
    pending = read_private_key_from(store, NEXT_KEY_FILE)
    if pending is None:
        store.create(NEXT_KEY_FILE, _private_pem(Ed25519PrivateKey.generate()))
        pending = read_private_key_from(store, NEXT_KEY_FILE)
    assert pending is not None
    new_public = pending.public_key()
    new_id = key_id(new_public)
    entry = LogEntry(requested_by=by.strip(), subject_hash=new_id, categories=["audit signing key"],
                     stores=["deletion_log_heads"], legal_basis=reason.strip(), method=ROLLOVER_METHOD,
                     done_at=datetime.now(UTC))
    run_id = f"key-rollover-{datetime.now(UTC).strftime('%Y%m%dT%H%M%S%fZ')}"
    with engine.begin() as conn:
        result = log.append(conn, run_id, [entry], next_key=public_hex(new_public))
    finish_pending(engine, store)
    assert result is not None
    return {"run_id": run_id, "seq": result.last_seq, "old_key": current.key_id, "new_key": new_id}
