"""Envelope encryption with per-subject data keys, crypto-shredding and master-key rotation.

Pipelines use :class:`Vault`: ``Vault.local(engine, home)`` (keyring under home) or
``Vault(engine, provider)`` with any :class:`KeyProvider`.
"""

from governance.crypto.errors import (
    CryptoError,
    DataKeyMissing,
    KeyProviderUnavailable,
    KeyringPermissionError,
    SubjectKeyShredded,
    TamperedCiphertext,
)
from governance.crypto.keyring import KeyProvider, KmsKeyProvider, LocalKeyringProvider
from governance.crypto.vault import RotationResult, Vault, data_keys

__all__ = [
    "CryptoError",
    "DataKeyMissing",
    "KeyProvider",
    "KeyProviderUnavailable",
    "KeyringPermissionError",
    "KmsKeyProvider",
    "LocalKeyringProvider",
    "RotationResult",
    "SubjectKeyShredded",
    "TamperedCiphertext",
    "Vault",
    "data_keys",
]
