"""``hrbridge keys status|rotate``: JSON output, re-wrapping through the CLI, permission errors."""

from __future__ import annotations

import json
import os
from pathlib import Path

import sqlalchemy as sa

from connectors.sql import make_engine
from governance.crypto import Vault, data_keys
from hrbridge.cli import main
from hrbridge.settings import load_settings


def _vault_with_keys(count: int) -> tuple[Vault, dict[str, str]]:
    settings = load_settings().ensure_dirs()
    vault = Vault.local(make_engine(settings.db_url), settings.home)
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
