"""Sealing a batch of values at once: the bulk path of :meth:`Vault.seal_columns`.

The per-value API (``encrypt_rows``) builds a location object, an associated-data string and a
random nonce per value. Here a batch costs: one data-key lookup per 2,000 subjects (new subjects'
keys created in one insert and used as generated, never unwrapped again), one random read for all
nonces, one AES-GCM cipher per subject, and associated data from a per-column prefix plus the
row's own fields. The tokens are byte-for-byte the format of :mod:`governance.crypto.envelope`,
so ``decrypt``/``decrypt_rows`` open them.
"""

from __future__ import annotations

import binascii
import os
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from governance.crypto import envelope
from governance.crypto.vault import _is_missing as _missing

if TYPE_CHECKING:
    from governance.crypto.vault import Vault

BULK_LOOKUP = 2000
_URLSAFE = bytes.maketrans(b"+/", b"-_")


def _field(text: str) -> str:
    return f"{len(text)}:{text}"


def _plain(value: Any, table: str, column: str, position: int) -> tuple[str, bytes]:
    if isinstance(value, str):
        return envelope.KIND_TEXT, value.encode("utf-8")
    if isinstance(value, bytes | bytearray | memoryview):
        return envelope.KIND_BYTES, bytes(value)
    raise TypeError(f"table {table!r}, column {column!r}, row {position}: cannot encrypt a "
                    f"{type(value).__name__}; serialise it to text or bytes first")


def seal_columns(
    vault: Vault, columns: Mapping[str, Sequence[Any]], subjects: Sequence[Any], records: Sequence[Any], *,
    table: str,
) -> dict[str, list[str | None]]:
    """Tokens for every value of ``columns`` (same length as ``subjects``/``records``); None stays None.

    Raises ``ValueError`` naming table, column and row when a value has no subject or record id, and
    :class:`~governance.crypto.errors.SubjectKeyShredded` for a shredded subject, like ``encrypt_rows``.
    """
    size = len(subjects)
    if len(records) != size or any(len(v) != size for v in columns.values()):
        raise ValueError(f"table {table!r}: columns, subjects and records differ in length")
    present = {name: [not _missing(v) for v in values] for name, values in columns.items()}
    rows = [any(flags[i] for flags in present.values()) for i in range(size)]
    for i in range(size):
        if rows[i] and (_missing(subjects[i]) or _missing(records[i])):
            column = next(name for name, flags in present.items() if flags[i])
            raise ValueError(f"table {table!r}, column {column!r}, row {i}: a value needs both a subject and a record id")
    subject_text = [str(s) if rows[i] else "" for i, s in enumerate(subjects)]
    keys = vault._encryption_keys({s for i, s in enumerate(subject_text) if rows[i]}, BULK_LOOKUP)
    ciphers = {s: (str(v), AESGCM(k)) for s, (v, k) in keys.items()}
    suffixes = [f"|{_field(str(records[i]))}|{_field(subject_text[i])}|{_field(ciphers[subject_text[i]][0])}|1:"
                if rows[i] else "" for i in range(size)]
    count = sum(sum(flags) for flags in present.values())
    nonces, taken = os.urandom(envelope.NONCE_BYTES * count), 0
    out: dict[str, list[str | None]] = {}
    for name, values in columns.items():
        prefix = "|".join(_field(f) for f in (envelope.FORMAT, "value", table, name))
        flags, tokens = present[name], []
        for i, value in enumerate(values):
            if not flags[i]:
                tokens.append(None)
                continue
            if type(value) is str:
                kind, plain = envelope.KIND_TEXT, value.encode("utf-8")
            else:
                kind, plain = _plain(value, table, name, i)
            version, aead = ciphers[subject_text[i]]
            nonce = nonces[taken:taken + envelope.NONCE_BYTES]
            taken += envelope.NONCE_BYTES
            sealed = nonce + aead.encrypt(nonce, plain, (prefix + suffixes[i] + kind).encode())
            body = binascii.b2a_base64(sealed, newline=False).translate(_URLSAFE).rstrip(b"=").decode("ascii")
            tokens.append(f"{envelope.FORMAT}:{version}:{kind}:{body}")
        out[name] = tokens
    return out
