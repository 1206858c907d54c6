"""Keys of the deletion log: the Ed25519 key that signs run heads and the pepper of subject hashes.

Both live in a :class:`~governance.crypto.shared.SecretStore`: the directory given
(``$HRBRIDGE_HOME/keys`` by default), created on first use with owner-only permissions (0600), or
the hub sealed by the KEK (``HRBRIDGE_KEY_PROVIDER=hub``; created by ``hrbridge keys init`` only). The public key is written next to the private one so that an
auditor can verify the log without the signing key. The pepper may instead come from the
``HRBRIDGE_AUDIT_PEPPER`` environment variable (a secret store or Airflow Variable injects it).
"""

from __future__ import annotations

import hashlib
import os
import secrets
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from governance.crypto.shared import DirSecretStore, SecretPermissionError, SecretStore

SIGNING_KEY_FILE = "audit-signing.key"
NEXT_KEY_FILE = "audit-signing.key.next"  # a rollover's new key until the log names it
PUBLIC_KEY_FILE = "audit-signing.pub"
PEPPER_FILE = "audit-pepper.key"
PEPPER_ENV = "HRBRIDGE_AUDIT_PEPPER"


class AuditKeyError(RuntimeError):
    """A deletion-log key is missing, unreadable or not protected; the message names the file."""


def _write_secret(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(data)


def _read_secret(path: Path) -> bytes:
    mode = path.stat().st_mode & 0o777
    if mode & 0o077:
        raise AuditKeyError(f"{path} is readable by others (mode {mode:o}); run chmod 600 {path}")
    return path.read_bytes()


def _private_pem(key: Ed25519PrivateKey) -> bytes:
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption())


def _get(store: SecretStore, name: str) -> bytes | None:
    """``store.get`` with a permission problem reported as :class:`AuditKeyError`."""
    try:
        return store.get(name)
    except SecretPermissionError as exc:
        raise AuditKeyError(str(exc)) from exc


def _parse_private(pem: bytes, where: str) -> Ed25519PrivateKey:
    try:
        key = serialization.load_pem_private_key(pem, password=None)
    except ValueError as exc:
        raise AuditKeyError(f"{where} is not a PEM private key: {exc}") from exc
    if not isinstance(key, Ed25519PrivateKey):
        raise AuditKeyError(f"{where} is not an Ed25519 private key")
    return key


def read_private_key_from(store: SecretStore, name: str) -> Ed25519PrivateKey | None:
    """The private key stored as ``name`` in ``store``, or None when there is none."""
    pem = _get(store, name)
    return None if pem is None else _parse_private(pem, store.where(name))


def load_public_key_from(store: SecretStore) -> Ed25519PublicKey | None:
    """The log's exported root public key kept in ``store``, or None (never created here)."""
    pem = _get(store, PUBLIC_KEY_FILE)
    if pem is None:
        return None
    try:
        key = serialization.load_pem_public_key(pem)
    except ValueError as exc:
        raise AuditKeyError(f"{store.where(PUBLIC_KEY_FILE)} is not a PEM public key: {exc}") from exc
    if not isinstance(key, Ed25519PublicKey):
        raise AuditKeyError(f"{store.where(PUBLIC_KEY_FILE)} is not an Ed25519 public key")
    return key


def write_private_key(path: Path, key: Ed25519PrivateKey) -> None:
    """Write a new signing key, owner-only; never over an existing file."""
    _write_secret(path, key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                          serialization.NoEncryption()))


def read_private_key(path: Path) -> Ed25519PrivateKey:
    """Read a signing key (refused when others can read the file)."""
    try:
        key = serialization.load_pem_private_key(_read_secret(path), password=None)
    except ValueError as exc:
        raise AuditKeyError(f"{path} is not a PEM private key: {exc}") from exc
    if not isinstance(key, Ed25519PrivateKey):
        raise AuditKeyError(f"{path} is not an Ed25519 private key")
    return key


def key_id(public_key: Ed25519PublicKey) -> str:
    """A short fingerprint of a public key, stored with each signed head."""
    raw = public_key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return hashlib.sha256(raw).hexdigest()[:16]


def public_hex(public_key: Ed25519PublicKey) -> str:
    """The raw public key as 64 hex characters (how a rollover head names the next key)."""
    return public_key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw).hex()


def public_key_from_hex(text: str) -> Ed25519PublicKey:
    """The public key a rollover head names."""
    return Ed25519PublicKey.from_public_bytes(bytes.fromhex(text))


def key_id_of_hex(text: str) -> str:
    """Fingerprint of a public key given as hex (see :func:`public_hex`)."""
    return key_id(public_key_from_hex(text))


def load_public_key(path: Path) -> Ed25519PublicKey:
    """Read an exported public key (PEM) for verification."""
    try:
        key = serialization.load_pem_public_key(path.read_bytes())
    except FileNotFoundError as exc:
        raise AuditKeyError(f"public key file not found: {path}") from exc
    except ValueError as exc:
        raise AuditKeyError(f"{path} is not a PEM public key: {exc}") from exc
    if not isinstance(key, Ed25519PublicKey):
        raise AuditKeyError(f"{path} is not an Ed25519 public key")
    return key


@dataclass(frozen=True)
class AuditKeys:
    """The signing key, its public half and the pepper used to pseudonymise subjects."""

    signing_key: Ed25519PrivateKey
    public_key: Ed25519PublicKey
    pepper: bytes
    key_dir: Path | None
    where: str = ""

    @property
    def key_id(self) -> str:
        """Fingerprint of the public key."""
        return key_id(self.public_key)

    @property
    def public_key_path(self) -> Path:
        """Where the exported public key is written (a folder store only)."""
        if self.key_dir is None:
            raise AuditKeyError(f"the public key is kept in {self.where}, not in a file")
        return self.key_dir / PUBLIC_KEY_FILE

    @classmethod
    def load_or_create(cls, key_dir: Path | SecretStore, env: dict[str, str] | None = None, *,
                       create: bool | None = None) -> AuditKeys:
        """Load the keys from ``key_dir`` (a folder, or any :class:`SecretStore` such as the hub's).

        ``create``: may missing keys be created (0600)? Default: the store's ``creates_on_first_use``
        (a folder yes, the hub no: ``hrbridge keys init`` creates them there). ``create=False`` never
        writes: a missing signing key is an :class:`AuditKeyError`. Whether a new key may be created
        at all is the caller's decision (a log with signed heads must not get one silently; see
        ``hrbridge audit rollover``).
        """
        env = dict(os.environ if env is None else env)
        store = DirSecretStore(Path(key_dir)) if isinstance(key_dir, (str, Path)) else key_dir
        create = store.creates_on_first_use if create is None else create
        folder = store.folder if isinstance(store, DirSecretStore) else None
        signing_pem = _get(store, SIGNING_KEY_FILE)
        if signing_pem is None:
            if not create:
                raise AuditKeyError(f"no deletion-log signing key in {store.where(SIGNING_KEY_FILE)}"
                                    + ("" if store.creates_on_first_use else ": run `hrbridge keys init`"))
            store.create(SIGNING_KEY_FILE, _private_pem(Ed25519PrivateKey.generate()))
            signing_pem = _get(store, SIGNING_KEY_FILE) or b""
        signing_key = _parse_private(signing_pem, store.where(SIGNING_KEY_FILE))
        public_key = signing_key.public_key()
        if _get(store, PUBLIC_KEY_FILE) is None and (create or folder is not None):
            # Written once, for the log's first key: the root of trust auditors keep. A rollover
            # leaves it alone; verify follows the rollovers the log records from this key.
            store.create(PUBLIC_KEY_FILE, public_key.public_bytes(
                serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo))
        pepper_text = env.get(PEPPER_ENV)
        if pepper_text:
            pepper = pepper_text.encode("utf-8")
        else:
            stored = _get(store, PEPPER_FILE)
            if stored is None:
                if not create:
                    raise AuditKeyError(f"no deletion-log pepper in {store.where(PEPPER_FILE)}"
                                        + ("" if store.creates_on_first_use else ": run `hrbridge keys init`"))
                store.create(PEPPER_FILE, secrets.token_hex(32).encode("ascii"))
                stored = _get(store, PEPPER_FILE) or b""
            pepper = stored.strip()
        return cls(signing_key=signing_key, public_key=public_key, pepper=pepper, key_dir=folder,
                   where=str(folder) if folder is not None else store.where(SIGNING_KEY_FILE))

    def pseudonymise(self, subject_id: object) -> str:
        """HMAC-SHA256 of the subject id under the pepper: stable, not reversible without the key."""
        return pseudonymise(self.pepper, subject_id)


_PADS: dict[bytes, tuple[Any, Any]] = {}


def _pads(pepper: bytes) -> tuple[Any, Any]:
    """SHA-256 states after the HMAC inner and outer key pads (RFC 2104), computed once per key."""
    pads = _PADS.get(pepper)
    if pads is None:
        key = hashlib.sha256(pepper).digest() if len(pepper) > 64 else pepper
        key = key.ljust(64, b"\0")
        pads = _PADS[pepper] = (hashlib.sha256(bytes(b ^ 0x36 for b in key)),
                                hashlib.sha256(bytes(b ^ 0x5C for b in key)))
    return pads


def pseudonymise(pepper: bytes, subject_id: object) -> str:
    """HMAC-SHA256 (hex) of ``str(subject_id)`` keyed with ``pepper``.

    Computed from precomputed pad states (C-level ``copy``), about 3x faster than ``hmac.new`` per
    call and identical to it; a purge pseudonymises every person it deletes.
    """
    inner_pad, outer_pad = _pads(pepper)
    inner = inner_pad.copy()
    inner.update(str(subject_id).encode("utf-8"))
    outer = outer_pad.copy()
    outer.update(inner.digest())
    return outer.hexdigest()
