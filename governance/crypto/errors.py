"""Errors of the encryption layer: each names what failed and what to do about it."""

from __future__ import annotations


class CryptoError(RuntimeError):
    """Base class of every encryption failure."""


class KeyProviderUnavailable(CryptoError):
    """The master-key provider (keyring file or KMS) cannot be used right now.

    Raised before anything is written, so a pipeline can stop instead of storing plaintext.
    """


class NoMasterKey(KeyProviderUnavailable):
    """The provider holds no master key at all (no keyring file, no row in ``master_keys``).

    Providers raise it instead of creating one: only the vault decides, and only when no data key
    exists that a lost master key wrapped (``hrbridge keys init`` creates the first key explicitly).
    """


class MasterKeyMissing(KeyProviderUnavailable):
    """Wrapped data keys exist but the master key that wrapped them is gone (keyring lost or replaced).

    A new master key is never created silently in this state: it could open none of those keys.
    """

    def __init__(self, detail: str, wrapped: int, master_ids: list[str]) -> None:
        self.wrapped = wrapped
        self.master_ids = master_ids
        named = ", ".join(master_ids[:5]) + (", ..." if len(master_ids) > 5 else "")
        super().__init__(
            f"{detail}; data_keys holds {wrapped} wrapped data keys under master key(s) {named} that only "
            "that master key opens — restore it from its backup (nothing was created or written). "
            "`hrbridge keys init --replace-lost` starts a new master key and leaves that data unreadable"
        )


class KeyringPermissionError(KeyProviderUnavailable):
    """The local keyring file is readable or writable by group/other users."""


class TamperedCiphertext(CryptoError):
    """A ciphertext failed authentication: it was modified, or moved to another row/column/table/subject."""

    def __init__(self, record_id: str, column: str, detail: str = "") -> None:
        self.record_id = record_id
        self.column = column
        message = (
            f"ciphertext of column {column!r} in record {record_id!r} failed authentication "
            "(modified, truncated, or moved from another record, column, table or subject)"
        )
        super().__init__(f"{message}: {detail}" if detail else message)


class SubjectKeyShredded(CryptoError):
    """The subject's data key was destroyed (crypto-shredded): its data can never be read again."""

    def __init__(self, subject_id: str) -> None:
        self.subject_id = subject_id
        super().__init__(f"the data key of subject {subject_id!r} was shredded; its data is unrecoverable")


class DataKeyMissing(CryptoError):
    """No data key exists for the subject/version a ciphertext names (wrong database or key table lost)."""

    def __init__(self, subject_id: str, key_version: int) -> None:
        self.subject_id = subject_id
        self.key_version = key_version
        super().__init__(
            f"no data key version {key_version} for subject {subject_id!r} in data_keys; "
            "is the vault pointed at the right database?"
        )
