"""Envelope format for single values: text-safe, versioned tokens bound to where the value lives.

A token looks like ``hrb1:<key_version>:<kind>:<base64url(nonce || ciphertext+tag)>``: ``hrb1`` is
the format, ``key_version`` names the subject's data key, ``kind`` is ``s`` (text, UTF-8) or ``b``
(bytes). The AES-256-GCM associated data binds the table, column, record id, subject id, key version
and kind, so a token copied to another row, column, table or subject does not decrypt.
"""

from __future__ import annotations

import base64
import binascii
import os
import re
from dataclasses import dataclass

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

FORMAT = "hrb1"
NONCE_BYTES = 12
TAG_BYTES = 16
KIND_TEXT = "s"
KIND_BYTES = "b"
_TOKEN = re.compile(r"hrb1:(\d{1,9}):([sb]):([A-Za-z0-9_-]+)")


@dataclass(frozen=True)
class Location:
    """Where an encrypted value lives; bound into the ciphertext as associated data."""

    table: str
    column: str
    record_id: str
    subject_id: str

    def aad(self, purpose: str, key_version: int, kind: str = "") -> bytes:
        """Canonical, unambiguous associated data for this location (length-prefixed fields, UTF-8)."""
        fields = (FORMAT, purpose, self.table, self.column, self.record_id, self.subject_id, str(key_version), kind)
        return "|".join(f"{len(f)}:{f}" for f in fields).encode("utf-8")


@dataclass(frozen=True)
class Token:
    """A parsed ciphertext token."""

    key_version: int
    kind: str
    sealed: bytes  # nonce || ciphertext || tag


def data_key_aad(subject_id: str, key_version: int) -> bytes:
    """Associated data for wrapping a subject's data key: a wrapped key cannot move to another subject."""
    fields = (FORMAT, "data-key", str(subject_id), str(key_version))
    return "|".join(f"{len(f)}:{f}" for f in fields).encode("utf-8")


def cipher(data_key: bytes | AESGCM) -> AESGCM:
    """An AES-256-GCM instance for a data key (pass it around to avoid re-keying per value)."""
    return data_key if isinstance(data_key, AESGCM) else AESGCM(data_key)


def seal(data_key: bytes | AESGCM, plaintext: bytes, aad: bytes) -> bytes:
    """AES-256-GCM with a fresh random 96-bit nonce; returns nonce || ciphertext || tag."""
    nonce = os.urandom(NONCE_BYTES)
    return nonce + cipher(data_key).encrypt(nonce, plaintext, aad)


def open_sealed(data_key: bytes | AESGCM, sealed: bytes, aad: bytes) -> bytes:
    """Inverse of :func:`seal`; raises ``InvalidTag`` when anything was altered."""
    if len(sealed) < NONCE_BYTES + TAG_BYTES:
        raise InvalidTag()
    return cipher(data_key).decrypt(sealed[:NONCE_BYTES], sealed[NONCE_BYTES:], aad)


def format_token(key_version: int, kind: str, sealed: bytes) -> str:
    """Render a token; URL-safe base64 without padding keeps it safe in CSV, JSON and SQL text."""
    body = base64.urlsafe_b64encode(sealed).rstrip(b"=").decode("ascii")
    return f"{FORMAT}:{key_version}:{kind}:{body}"


def parse_token(token: str) -> Token:
    """Split a token into its parts; raises ``ValueError`` saying what is wrong with it."""
    if not isinstance(token, str):
        raise ValueError(f"expected a text token, got {type(token).__name__}")
    match = _TOKEN.fullmatch(token)
    if match is None:
        raise ValueError(f"malformed {FORMAT} token" if token.startswith(FORMAT + ":") else f"not an {FORMAT} token")
    version, kind, body = match.groups()
    try:
        sealed = base64.urlsafe_b64decode(body + "=" * (-len(body) % 4))
    except (binascii.Error, ValueError) as exc:
        raise ValueError("token body is not base64url") from exc
    return Token(int(version), kind, sealed)


def is_token(value: object) -> bool:
    """True when ``value`` looks like a ciphertext token (cheap check, no decryption)."""
    return isinstance(value, str) and value.startswith(FORMAT + ":")
