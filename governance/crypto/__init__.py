"""Envelope encryption with per-subject data keys, crypto-shredding and master-key rotation.

Pipelines use :class:`Vault`: ``Vault.local(engine, home)`` (keyring under home),
``Vault(engine, HubKeyProvider(engine, kek))`` (master keys in the hub, sealed by ``HRBRIDGE_KEK``) or
``Vault(engine, provider)`` with any :class:`KeyProvider`.
"""

from governance.crypto.errors import (
    CryptoError,
    DataKeyMissing,
    KeyProviderUnavailable,
    KeyringPermissionError,
    MasterKeyMissing,
    NoMasterKey,
    SubjectKeyShredded,
    TamperedCiphertext,
)
from governance.crypto.kek import HubKeyProvider, KekError
from governance.crypto.keyring import KeyProvider, KmsKeyProvider, LocalKeyringProvider
from governance.crypto.vault import RotationResult, Vault, data_keys

__all__ = [
    "CryptoError",
    "DataKeyMissing",
    "HubKeyProvider",
    "KekError",
    "KeyProvider",
    "KeyProviderUnavailable",
    "KeyringPermissionError",
    "KmsKeyProvider",
    "LocalKeyringProvider",
    "MasterKeyMissing",
    "NoMasterKey",
    "RotationResult",
    "SubjectKeyShredded",
    "TamperedCiphertext",
    "Vault",
    "data_keys",
]
