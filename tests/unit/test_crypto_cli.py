"""``hrbridge keys``: JSON output, re-wrapping through the CLI, permission errors, keys never replaced
silently, status read-only, and the hub key provider."""

from __future__ import annotations

import base64
import json
import os
from pathlib import Path

import pytest
import sqlalchemy as sa

from connectors.sql import make_engine
from governance.crypto import LocalKeyringProvider, MasterKeyMissing, Vault, data_keys
from hrbridge.cli import main
from hrbridge.pipelines.pii import default_vault
from hrbridge.settings import load_settings


def _vault_with_keys(count: int) -> tuple[Vault, dict[str, str]]:
    settings = load_settings().ensure_dirs()
    vault = default_vault(make_engine(settings.db_url), settings.home)  # HRBRIDGE_KEY_PROVIDER decides
    tokens = {f"cand-{i}": vault.encrypt(f"cand-{i}", f"secret {i}", table="t", column="c", record_id=str(i))
              for i in range(count)}
    return vault, tokens


def test_rotate_json_rewraps_every_key_and_status_reports_it(hrbridge_home: Path, capsys) -> None:
    vault, tokens = _vault_with_keys(4)
    assert main(["keys", "rotate", "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["rewrapped"] == result["total"] == 4 and len(result["old_master_ids"]) == 1
    with vault.engine.connect() as conn:
        masters = set(conn.execute(sa.select(data_keys.c.master_key_id)).scalars())
    assert masters == {result["new_master_id"]}
    for i, (subject, token) in enumerate(tokens.items()):
        assert vault.decrypt(subject, token, table="t", column="c", record_id=str(i)) == f"secret {i}"
    assert main(["keys", "status", "--json"]) == 0
    status = json.loads(capsys.readouterr().out)
    assert status["live_keys_by_master"] == {result["new_master_id"]: 4}
    assert status["provider"]["mode"] == "0600"
    assert "key" not in json.dumps(status["provider"]["master_keys"]).replace("_key", "")


def test_rotate_destroy_old_erases_unused_master_keys(hrbridge_home: Path, capsys) -> None:
    _vault_with_keys(1)
    assert main(["keys", "rotate", "--destroy-old"]) == 0
    out = capsys.readouterr().out
    assert "re-wrapped 1 of 1 data keys" in out and "destroyed master keys: mk-" in out


def test_open_keyring_is_refused_with_exit_2(hrbridge_home: Path, capsys) -> None:
    _vault_with_keys(1)
    os.chmod(hrbridge_home / "keyring.json", 0o644)
    assert main(["keys", "status"]) == 2
    assert "chmod 600" in capsys.readouterr().err


def test_encrypt_existing_through_the_cli(hrbridge_home: Path, capsys) -> None:
    settings = load_settings().ensure_dirs()
    engine = make_engine(settings.db_url)
    with engine.begin() as conn:
        conn.exec_driver_sql("CREATE TABLE notes (id TEXT PRIMARY KEY, cand TEXT, body TEXT)")
        conn.exec_driver_sql("INSERT INTO notes VALUES ('n1', 'c1', '面试笔记'), ('n2', 'c2', NULL)")
    argv = ["keys", "encrypt-existing", "--table", "notes", "--column", "body", "--subject-col", "cand",
            "--record-col", "id", "--json"]
    assert main(argv) == 0
    assert json.loads(capsys.readouterr().out)["encrypted"] == 1
    with engine.connect() as conn:
        token = conn.exec_driver_sql("SELECT body FROM notes WHERE id = 'n1'").scalar_one()
    vault = Vault.local(engine, settings.home)
    assert vault.decrypt("c1", token, table="notes", column="body", record_id="n1") == "面试笔记"
    assert main([*argv[:3], "nope", *argv[4:]]) == 2
    assert "'nope' does not exist" in capsys.readouterr().err


def _files(home: Path) -> dict[str, int]:
    return {str(p.relative_to(home)): p.stat().st_mtime_ns for p in home.rglob("*") if p.is_file()}


def test_status_on_a_fresh_home_creates_nothing(hrbridge_home: Path, capsys) -> None:
    assert main(["keys", "status"]) == 0
    assert "no master key yet" in capsys.readouterr().out
    assert _files(hrbridge_home) == {}


def test_a_lost_keyring_is_never_replaced_silently(hrbridge_home: Path, capsys) -> None:
    vault, tokens = _vault_with_keys(3)
    (hrbridge_home / "keyring.json").unlink()
    before = _files(hrbridge_home)
    assert main(["keys", "status"]) == 1
    out, err = capsys.readouterr()
    assert "data_keys holds 3 wrapped data keys" in err and "restore it from its backup" in err
    assert _files(hrbridge_home) == before  # status read only: no keyring, no table, no row
    fresh = Vault.local(vault.engine, hrbridge_home)
    with pytest.raises(MasterKeyMissing, match="3 wrapped data keys"):
        fresh.require_available()  # what every pipeline calls before writing
    with pytest.raises(MasterKeyMissing):
        fresh.decrypt("cand-0", tokens["cand-0"], table="t", column="c", record_id="0")
    with pytest.raises(MasterKeyMissing):
        fresh.encrypt("cand-new", "x", table="t", column="c", record_id="9")
    assert not (hrbridge_home / "keyring.json").exists()
    assert main(["keys", "init"]) == 1
    assert "keys init --replace-lost" in capsys.readouterr().err
    assert main(["keys", "init", "--replace-lost", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["created"] is True
    assert main(["keys", "status"]) == 1  # the new key still cannot open the 3 old data keys, and says so
    assert "3 wrapped data keys" in capsys.readouterr().err


def test_a_replaced_keyring_is_reported_by_status(hrbridge_home: Path, capsys) -> None:
    _vault_with_keys(2)
    (hrbridge_home / "keyring.json").unlink()
    LocalKeyringProvider(hrbridge_home / "keyring.json").new_master_key()  # someone else's keyring
    assert main(["keys", "status", "--json"]) == 1
    status = json.loads(capsys.readouterr().out)
    assert status["state"] == "master-key-missing" and "2 wrapped data keys" in status["problem"]


def test_hub_provider_through_the_cli(hrbridge_home: Path, capsys, monkeypatch) -> None:
    kek, previous = os.urandom(32), os.urandom(32)
    monkeypatch.setenv("HRBRIDGE_KEY_PROVIDER", "hub")
    monkeypatch.setenv("HRBRIDGE_KEK", base64.b64encode(previous).decode())
    assert main(["keys", "status"]) == 0 and "no master key yet" in capsys.readouterr().out
    assert main(["keys", "init", "--json"]) == 0
    init = json.loads(capsys.readouterr().out)
    first = init["current"]
    assert init["secrets"]["created"] == ["archive-pepper.key", "audit-pepper.key", "audit-signing.key",
                                          "audit-signing.pub"]
    assert main(["keys", "init", "--json"]) == 0
    assert json.loads(capsys.readouterr().out) == {
        "current": first, "created": False, "secrets": {"store": "hub", "adopted": [], "created": []}}
    _vault_with_keys(2)
    assert not (hrbridge_home / "keyring.json").exists()  # nothing on this host's disk
    monkeypatch.setenv("HRBRIDGE_KEK", base64.b64encode(kek).decode())
    monkeypatch.setenv("HRBRIDGE_KEK_PREVIOUS", base64.b64encode(previous).decode())
    assert main(["keys", "rotate-kek", "--json"]) == 0
    resealed = json.loads(capsys.readouterr().out)
    assert (resealed["resealed"], resealed["resealed_secrets"]) == (1, 4)
    monkeypatch.delenv("HRBRIDGE_KEK_PREVIOUS")
    assert main(["keys", "rotate", "--destroy-old", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["destroyed_master_ids"] == [first]
    assert main(["keys", "status", "--json"]) == 0
    status = json.loads(capsys.readouterr().out)
    assert status["state"] == "ok" and status["provider"]["provider"] == "hub"
    assert sum(status["live_keys_by_master"].values()) == 2
    monkeypatch.setenv("HRBRIDGE_KEK", base64.b64encode(os.urandom(32)).decode())
    assert main(["keys", "rotate"]) == 1
    assert "HRBRIDGE_KEK is" in capsys.readouterr().err
