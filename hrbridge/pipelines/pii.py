"""Personal data at rest in the hub: encrypt before writing, decrypt where a pipeline needs it.

Thin helpers over :class:`governance.crypto.Vault` shared by candidate_sync and interview_results:

* :func:`seal_rows` / :func:`open_rows` — columns of row dicts with each candidate's data key
  (one key lookup per candidate per call). A candidate whose key was shredded is not an error
  here: their values are written and read as ``None``, and the caller counts them.
* :func:`seal_payload` / :func:`open_payload` — quarantine payloads: the full raw payload goes
  into one token; what stays readable are identifiers, numbers and masked text, so HR ops still
  see which rule broke on which value without the database holding names, e-mails or links.

Values that are not vault tokens are read as they are (rows written before encryption was
switched on; ``hrbridge keys encrypt-existing`` converts them).
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from governance.crypto import SubjectKeyShredded, Vault, data_keys
from governance.crypto.envelope import is_token
from transforms.masking import mask_digits, mask_email, mask_name, mask_pii

log = logging.getLogger(__name__)

ERASED = "_erased"  # all that is kept of a payload that arrived for an erased person
SEALED = "_sealed"  # key of the token holding the whole raw payload in a minimised payload
_LOOKUP = 500
_SECRET_FIELDS = ("url", "link", "clip", "transcript", "comment", "content", "resume", "address", "token")
_PERSON_NAME = re.compile(r".*(first|last|middle|full|display|candidate|given|family|preferred|sur|nick)_?name")
_CONTACT_FIELDS = ("email", "mail", "phone", "mobile", "fax", "id_number", "idnumber", "national")
_TIMESTAMP = re.compile(r"\d{4}-\d{2}-\d{2}([T ][\d:.]+)?(Z|[+-]\d{2}:?\d{2})?|/Date\(-?\d+([+-]\d{4})?\)/")


def default_vault(engine: sa.Engine, home: Path | None = None, *, read_only: bool = False,
                  settings: Any = None) -> Vault:
    """The vault of this installation over ``engine`` (the hub, which holds the data keys).

    ``HRBRIDGE_KEY_PROVIDER=local`` (default): master keys in ``<HRBRIDGE_HOME>/keyring.json``.
    ``hub``: master keys in the hub's ``master_keys``, sealed by ``HRBRIDGE_KEK`` (read from the
    environment only), so every worker shares them without a shared disk. ``read_only`` creates
    nothing (no folder, table or key).
    """
    from hrbridge.settings import load_settings

    settings = settings or load_settings()
    if settings.key_provider == "hub":
        from governance.crypto import HubKeyProvider
        from governance.crypto.kek import keks_from_env

        vault = Vault(engine, HubKeyProvider(engine, keks_from_env(), read_only=read_only), read_only=read_only)
    else:
        if home is None:
            home = settings.home if read_only else settings.ensure_dirs().home
        vault = Vault.local(engine, home, read_only=read_only)
    vault.tombstone = erased_tombstone(settings, engine)
    return vault


def erased_tombstone(settings: Any, hub: sa.Engine) -> Any:
    """The name a destroyed data key keeps (``erased:<deletion-log pseudonym>``), or None without a pepper.

    Read-only: the deletion log's pepper (``HRBRIDGE_AUDIT_PEPPER``, else the keys folder, or the
    ``shared_secrets`` of ``hub`` with the hub provider) is read, never created. Without one no
    erasure has been logged here, so there is no tombstone to recognise.
    """
    import os

    from governance.audit.keys import PEPPER_ENV, PEPPER_FILE, pseudonymise
    from governance.crypto.shared import DirSecretStore, HubSecretStore
    from governance.retention.protocols import erased_name

    text = os.environ.get(PEPPER_ENV)
    if text:
        pepper: bytes | None = text.encode("utf-8")
    elif settings.key_provider == "hub":
        from governance.crypto.kek import keks_from_env

        pepper = HubSecretStore(hub, keks_from_env(), read_only=True).get(PEPPER_FILE)
    else:
        pepper = DirSecretStore(settings.home / "keys").get(PEPPER_FILE)
    if not pepper:
        return None
    key = pepper.strip()
    return erased_name(lambda subject: pseudonymise(key, subject))


def shredded_subjects(vault: Vault, subject_ids: Iterable[Any]) -> set[str]:
    """Which of ``subject_ids`` had their data key shredded (one query per 500 ids)."""
    wanted = sorted({str(s) for s in subject_ids if s is not None})
    found: set[str] = set()
    tombstone = getattr(vault, "tombstone", None)
    with vault.engine.connect() as conn:
        for start in range(0, len(wanted), _LOOKUP):
            chunk = wanted[start:start + _LOOKUP]
            aliases = {tombstone(s): s for s in chunk} if tombstone else {}  # a destroyed key's record
            found.update(aliases.get(s, s) for s in conn.execute(
                sa.select(data_keys.c.subject_id).distinct()
                .where(data_keys.c.subject_id.in_([*chunk, *aliases]), data_keys.c.destroyed_at.is_not(None))
            ).scalars())
    return found


def _without(rows: Sequence[Mapping[str, Any]], columns: Sequence[str], subject_key: str,
             shredded: set[str]) -> list[dict[str, Any]]:
    return [{**row, **{c: None for c in columns}} if str(row.get(subject_key)) in shredded else dict(row)
            for row in rows]


def seal_rows(
    vault: Vault, rows: Sequence[Mapping[str, Any]], columns: Sequence[str], *, table: str, subject_key: str,
    record_key: str, shredded: set[str] | None = None,
) -> tuple[list[dict[str, Any]], set[str]]:
    """Encrypt ``columns`` of ``rows``; returns the rows and the shredded subjects met.

    A shredded subject's values become ``None`` (new data for an erased candidate is never stored).
    """
    shredded = set(shredded) if shredded is not None else shredded_subjects(vault, (r.get(subject_key) for r in rows))
    while True:
        plain = _without(rows, columns, subject_key, shredded)
        try:
            return vault.encrypt_rows(plain, columns, table=table, subject_key=subject_key,
                                      record_key=record_key), shredded
        except SubjectKeyShredded as exc:  # shredded since the lookup: drop that subject, retry
            shredded.add(exc.subject_id)


def open_rows(
    vault: Vault, rows: Sequence[Mapping[str, Any]], columns: Sequence[str], *, table: str, subject_key: str,
    record_key: str,
) -> tuple[list[dict[str, Any]], set[str]]:
    """Decrypt ``columns`` of ``rows``; shredded subjects read as ``None``; plaintext passes through.

    Returns the rows and the shredded subjects among them (only those that held a token).
    """
    tokens = {c: [isinstance(r.get(c), str) and is_token(r[c]) for r in rows] for c in columns}
    holders = [r.get(subject_key) for i, r in enumerate(rows) if any(tokens[c][i] for c in columns)]
    shredded = shredded_subjects(vault, holders) if holders else set()
    while True:
        sealed = [
            {**{k: v for k, v in row.items()},
             **{c: (row.get(c) if tokens[c][i] and str(row.get(subject_key)) not in shredded else None)
                for c in columns}}
            for i, row in enumerate(rows)
        ]
        try:
            opened = vault.decrypt_rows(sealed, columns, table=table, subject_key=subject_key,
                                        record_key=record_key) if holders else sealed
            break
        except SubjectKeyShredded as exc:
            shredded.add(exc.subject_id)
    out = []
    for i, (row, plain) in enumerate(zip(rows, opened, strict=True)):
        values = {c: plain[c] if tokens[c][i] else row.get(c) for c in columns}
        out.append({**row, **values})
    return out, shredded


# ------------------------------------------------------------------------------ quarantine payloads


def mask_value(value: Any, name: str = "") -> Any:
    """A value with personal data masked, by field name (names, contacts, links) and by content."""
    lowered = name.lower()
    if isinstance(value, Mapping):
        return {str(k): mask_value(v, str(k)) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [mask_value(v, name) for v in value]
    if not isinstance(value, str):
        return value
    if any(part in lowered for part in _SECRET_FIELDS):
        return "***" if value else value
    if any(part in lowered for part in _CONTACT_FIELDS):
        return mask_digits(mask_email(value))
    if _PERSON_NAME.fullmatch(lowered):
        return mask_name(value) if len(value.strip()) > 2 else "*" * len(value.strip())
    if _TIMESTAMP.fullmatch(value.strip()):
        return value  # dates are not personal data on their own, and often what a rule is about
    return mask_pii(value)


def seal_payload(
    vault: Vault, payload: Mapping[str, Any], *, subject_id: Any, table: str, column: str, record_id: str,
    keep: Iterable[str] = (),
) -> dict[str, Any]:
    """A quarantine payload with the raw record sealed under the subject's key.

    Identifiers named in ``keep`` stay as they are; every other field is masked (:func:`mask_value`);
    the whole raw payload is in ``payload["_sealed"]``. Without a subject the masked payload is all
    that is kept. When the subject was erased (key shredded), nothing of the person is kept, not
    even the identifiers or scores: a result arriving after erasure leaves only ``{"_erased": true}``.
    """
    kept = set(keep)
    minimised = {str(k): (v if k in kept else mask_value(v, str(k))) for k, v in payload.items()}
    if subject_id in (None, ""):
        return minimised
    text = json.dumps(payload, ensure_ascii=False, default=str, sort_keys=True)
    try:
        token = vault.encrypt(str(subject_id), text, table=table, column=column, record_id=str(record_id))
    except SubjectKeyShredded:
        return {ERASED: True}
    return {**minimised, SEALED: token}


def open_payload(
    vault: Vault, stored: Any, *, subject_id: Any, table: str, column: str, record_id: str,
) -> Any:
    """The raw payload back from :func:`seal_payload` (or ``stored`` itself when nothing is sealed).

    A shredded subject's payload stays minimised (masked values only).
    """
    if not isinstance(stored, Mapping) or not isinstance(stored.get(SEALED), str):
        return stored
    try:
        text = vault.decrypt(str(subject_id), stored[SEALED], table=table, column=column, record_id=str(record_id))
    except SubjectKeyShredded:
        return {k: v for k, v in stored.items() if k != SEALED}
    return json.loads(text)


# Hub columns encrypted by candidate_sync: table -> (columns, subject column, record id column)
HUB_ENCRYPTED: dict[str, tuple[tuple[str, ...], str, str]] = {
    "candidates": (("email", "phone"), "candidate_id", "candidate_id"),
    "applications": (("email",), "candidate_id", "application_id"),
}


def open_hub_rows(vault: Vault, table: str, rows: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Hub rows of ``table`` (``candidates``/``applications``) with e-mail/phone decrypted.

    For readers outside candidate_sync (e.g. archive_sync): a shredded candidate's values are
    ``None``; rows of other tables are returned unchanged.
    """
    if table not in HUB_ENCRYPTED or not rows:
        return [dict(r) for r in rows]
    columns, subject, record = HUB_ENCRYPTED[table]
    present = [c for c in columns if any(c in r for r in rows)]
    opened, _ = open_rows(vault, rows, present, table=table, subject_key=subject, record_key=record)
    return opened
