"""Key providers: the local keyring's permissions and lifecycle, and the KMS transport protocol."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

import pytest
import sqlalchemy as sa

from governance.crypto import (
    CryptoError,
    KeyProviderUnavailable,
    KeyringPermissionError,
    KmsKeyProvider,
    LocalKeyringProvider,
    NoMasterKey,
    Vault,
)
from tests.factories.governance import LoopbackKms


def test_reading_never_creates_a_keyring_and_the_first_key_is_owner_only(tmp_path: Path) -> None:
    provider = LocalKeyringProvider(tmp_path / "home" / "keyring.json")
    for read in (provider.current_key_id, provider.describe, provider.key_ids):
        with pytest.raises(NoMasterKey, match="no keyring"):
            read()
    assert not provider.path.exists()
    key_id = provider.new_master_key()
    assert provider.current_key_id() == key_id
    assert stat.S_IMODE(provider.path.stat().st_mode) == 0o600
    data = json.loads(provider.path.read_text())
    assert data["current"] == key_id and len(data["keys"]) == 1 and data["keys"][key_id]["epoch"] == 1


@pytest.mark.parametrize("mode", [0o640, 0o604, 0o660, 0o666])
def test_keyring_readable_by_others_is_refused_with_fix(tmp_path: Path, mode: int) -> None:
    provider = LocalKeyringProvider(tmp_path / "keyring.json")
    provider.new_master_key()
    os.chmod(provider.path, mode)
    fresh = LocalKeyringProvider(provider.path)
    with pytest.raises(KeyringPermissionError, match=rf"mode {mode:04o}.*chmod 600"):
        fresh.current_key_id()
    with pytest.raises(KeyProviderUnavailable):  # pipelines catching the general error stop too
        Vault(sa.create_engine("sqlite://"), fresh).require_available()


def test_wrap_unwrap_binds_aad_and_key(tmp_path: Path) -> None:
    provider = LocalKeyringProvider(tmp_path / "keyring.json")
    key_id = provider.new_master_key()
    wrapped = provider.wrap(key_id, b"k" * 32, b"subject-1")
    assert provider.unwrap(key_id, wrapped, b"subject-1") == b"k" * 32
    with pytest.raises(CryptoError, match="failed authentication"):
        provider.unwrap(key_id, wrapped, b"subject-2")


def test_new_master_key_becomes_current_and_old_ones_still_unwrap(tmp_path: Path) -> None:
    provider = LocalKeyringProvider(tmp_path / "keyring.json")
    old = provider.new_master_key()
    wrapped = provider.wrap(old, b"d" * 32, b"a")
    new = provider.new_master_key()
    assert new != old and provider.current_key_id() == new
    assert provider.unwrap(old, wrapped, b"a") == b"d" * 32
    assert stat.S_IMODE(provider.path.stat().st_mode) == 0o600


def test_destroyed_master_key_cannot_unwrap_and_current_cannot_be_destroyed(tmp_path: Path) -> None:
    provider = LocalKeyringProvider(tmp_path / "keyring.json")
    old = provider.new_master_key()
    wrapped = provider.wrap(old, b"d" * 32, b"a")
    with pytest.raises(CryptoError, match="is current"):
        provider.destroy_master_key(old)
    provider.new_master_key()
    provider.destroy_master_key(old)
    assert old not in provider.key_ids()
    with pytest.raises(KeyProviderUnavailable, match="was destroyed"):
        provider.unwrap(old, wrapped, b"a")
    assert "key" not in json.dumps(provider.describe()["master_keys"][old]).replace('"destroyed_at"', "")


def test_corrupt_keyring_is_reported_by_path(tmp_path: Path) -> None:
    path = tmp_path / "keyring.json"
    path.write_text("{not json")
    path.chmod(0o600)
    with pytest.raises(KeyProviderUnavailable, match=str(path)):
        LocalKeyringProvider(path).current_key_id()


def test_kms_provider_round_trip_and_rotation() -> None:
    kms = LoopbackKms()
    provider = KmsKeyProvider(kms)
    key_id = provider.current_key_id()
    wrapped = provider.wrap(key_id, b"x" * 32, b"aad")
    assert provider.unwrap(key_id, wrapped, b"aad") == b"x" * 32
    assert provider.new_master_key() != key_id
    assert kms.calls == ["current", "wrap", "unwrap", "create"]


def test_kms_outage_becomes_key_provider_unavailable() -> None:
    provider = KmsKeyProvider(LoopbackKms(available=False), name="corp-kms")
    with pytest.raises(KeyProviderUnavailable, match="corp-kms: current failed: KMS endpoint refused"):
        provider.current_key_id()
    with pytest.raises(KeyProviderUnavailable):
        Vault(sa.create_engine("sqlite://"), provider).require_available()


def test_status_with_a_kms_counts_keys_under_older_versions_as_readable() -> None:
    vault = Vault(sa.create_engine("sqlite://"), KmsKeyProvider(LoopbackKms()))
    vault.encrypt("c1", "x", table="t", column="c", record_id="1")
    vault.provider.new_master_key()  # the KMS moved on; the old version still unwraps
    status = vault.key_status()
    assert status["state"] == "ok" and sum(status["live_keys_by_master"].values()) == 1
