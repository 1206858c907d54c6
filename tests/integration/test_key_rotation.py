"""Crypto-shredding reaches copies of the hub within the configured window of master-key epochs.

A copy of the hub is taken before a candidate is shredded; the scheduled rotation (run_key_rotation,
what the key_rotation DAG runs) must leave that copy unable to decrypt them once keep_epochs + 1
rotations have run — and not before (backups stay restorable inside the window).
"""

from __future__ import annotations

import os
import sqlite3
from datetime import timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa

from connectors.sql import make_engine
from governance.crypto import HubKeyProvider, KeyProviderUnavailable, Vault
from hrbridge.pipelines.key_rotation import RotationConfig, load_rotation_config, run_key_rotation
from hrbridge.settings import ConfigError, load_settings

WHERE = {"table": "candidates", "column": "email", "record_id": "r"}


def _hub_with_two_candidates(path: Path, provider: str) -> tuple[Vault, dict[str, str]]:
    engine = make_engine(f"sqlite:///{path}")
    if provider == "hub":
        vault = Vault(engine, HubKeyProvider(engine, os.urandom(32)))
        vault.initialise()
    else:
        vault = Vault.local(engine, path.parent / "home")
    tokens = {s: vault.encrypt(s, f"{s}@example.org", **WHERE) for s in ("erased", "kept")}
    return vault, tokens  # type: ignore[return-value]


def _backup(src: Path, dst: Path) -> None:
    """A consistent copy of a SQLite hub (the online backup API: the WAL's pages included)."""
    with sqlite3.connect(src) as source, sqlite3.connect(dst) as target:
        source.backup(target)


def _copy_opens(vault: Vault, copy: Path, token: str, subject: str) -> bool:
    """Does the copy's data_keys, with the live master keys, still open ``subject``'s token?"""
    at_copy = Vault(make_engine(f"sqlite:///{copy}"), vault.provider)
    try:
        return at_copy.decrypt(subject, token, **WHERE) == f"{subject}@example.org"
    except KeyProviderUnavailable:
        return False


@pytest.mark.parametrize("provider", ["local", "hub"])
def test_a_copy_taken_before_a_shred_stops_decrypting_after_the_window(tmp_path: Path, provider: str) -> None:
    vault, tokens = _hub_with_two_candidates(tmp_path / "hub.db", provider)
    backup = tmp_path / "backup.db"
    _backup(tmp_path / "hub.db", backup)
    if provider == "hub":  # a data backup without the key table (pg_dump --exclude-table-data=master_keys)
        with make_engine(f"sqlite:///{backup}").begin() as conn:
            conn.exec_driver_sql("DELETE FROM master_keys")
    assert vault.shred("erased")
    config = RotationConfig(timedelta(days=1), keep_epochs=1)  # window: 2 rotations

    first = run_key_rotation(vault, config)
    assert first["destroyed_master_ids"] == [] and first["window_hours"] == 48
    assert _copy_opens(vault, backup, tokens["erased"], "erased")  # inside the window: still restorable

    second = run_key_rotation(vault, config)
    assert second["destroyed_master_ids"] == first["old_master_ids"]
    assert not _copy_opens(vault, backup, tokens["erased"], "erased")  # the shred reached the copy
    assert not _copy_opens(vault, backup, tokens["kept"], "kept")  # and the copy is past restoring
    assert vault.decrypt("kept", tokens["kept"], **WHERE) == "kept@example.org"  # the live hub is whole


def test_a_full_hub_copy_under_the_hub_provider_carries_its_master_keys(tmp_path: Path) -> None:
    """The documented limit: a backup that includes master_keys opens with the KEK, whatever was destroyed."""
    vault, tokens = _hub_with_two_candidates(tmp_path / "hub.db", "hub")
    _backup(tmp_path / "hub.db", tmp_path / "full.db")
    vault.shred("erased")
    for _ in range(2):
        run_key_rotation(vault, RotationConfig(timedelta(days=1), keep_epochs=0))
    full = make_engine(f"sqlite:///{tmp_path / 'full.db'}")
    same_kek = Vault(full, HubKeyProvider(full, list(vault.provider.keks.values())))
    assert same_kek.decrypt("erased", tokens["erased"], **WHERE) == "erased@example.org"


def test_rotation_config_is_checked(tmp_path: Path) -> None:
    def config(text: str, name: str) -> RotationConfig:
        configs = tmp_path / name
        configs.mkdir()
        (configs / "keys.yaml").write_text(text)
        return load_rotation_config(load_settings({"HRBRIDGE_HOME": str(tmp_path), "HRBRIDGE_CONFIG_DIR": str(configs)}))

    assert config("rotation: {interval_hours: 12, keep_epochs: 3}\n", "a").window == timedelta(hours=48)
    with pytest.raises(ConfigError, match="interval_hours"):
        config("rotation: {interval_hours: 0}\n", "b")
    with pytest.raises(ConfigError, match="keep_epochs"):
        config("rotation: {keep_epochs: -1}\n", "c")
    assert load_rotation_config(load_settings({"HRBRIDGE_HOME": str(tmp_path)})).window == timedelta(days=7)


def test_postgres_rotation_vacuums_the_key_tables(pg_url: str) -> None:
    engine = make_engine(pg_url)
    vault = Vault(engine, HubKeyProvider(engine, os.urandom(32)))
    vault.initialise()
    vault.encrypt("c1", "x", **WHERE)
    vault.shred("c1")
    summary = run_key_rotation(vault, RotationConfig(timedelta(hours=1), keep_epochs=0))
    assert len(summary["destroyed_master_ids"]) == 1
    with engine.connect() as conn:
        vacuumed = conn.execute(sa.text("SELECT last_vacuum FROM pg_stat_user_tables WHERE relname = 'data_keys'"))
        assert vacuumed.scalar() is not None
