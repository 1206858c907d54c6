"""The deletion-log keys and the archive pepper shared through the hub (``HRBRIDGE_KEY_PROVIDER=hub``).

Two workers are two ``HRBRIDGE_HOME`` folders (one of them a separate process) that share nothing
but the hub database and ``HRBRIDGE_KEK``: the log signed on one verifies on the other, both
compute the same person keys, and nothing lands on either worker's disk.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest
import sqlalchemy as sa

from connectors.sql import make_engine
from governance.audit.chain import LogEntry
from governance.audit.keys import AuditKeyError, AuditKeys
from governance.audit.log import DeletionLog
from governance.crypto.kek import KekError
from governance.crypto.schema import shared_secrets
from governance.crypto.shared import HubSecretStore
from hrbridge.archive import ArchivePepperError, archive_pepper
from hrbridge.cli import main
from hrbridge.settings import load_settings
from hrbridge.shared_secrets import init_shared_secrets
from tests.factories.retention import add_candidate, expired_home

KEK = os.urandom(32)
NAMES = ["archive-pepper.key", "audit-pepper.key", "audit-signing.key", "audit-signing.pub"]
REPO = Path(__file__).resolve().parents[2]


def test_the_hub_store_seals_shares_and_creates_nothing_on_first_use(db_url: str, tmp_path: Path) -> None:
    engine = make_engine(db_url)
    worker_a, worker_b = HubSecretStore(engine, KEK), HubSecretStore(engine, KEK)
    with pytest.raises(AuditKeyError, match="keys init"):
        AuditKeys.load_or_create(worker_a)  # a run never creates the hub's keys
    with pytest.raises(ArchivePepperError, match="keys init"):
        archive_pepper(tmp_path, store=worker_a)
    assert worker_a.names() == []
    keys_a = AuditKeys.load_or_create(worker_a, create=True)  # what `hrbridge keys init` does
    pepper = archive_pepper(tmp_path, store=worker_a, create=True)
    keys_b = AuditKeys.load_or_create(worker_b)
    assert (keys_b.key_id, keys_b.pepper) == (keys_a.key_id, keys_a.pepper)
    assert archive_pepper(tmp_path / "elsewhere", store=worker_b) == pepper and len(pepper) == 64
    assert keys_b.pseudonymise("C1") == keys_a.pseudonymise("C1")
    with engine.connect() as conn:
        rows = {r.name: r for r in conn.execute(sa.select(shared_secrets))}
    assert sorted(rows) == NAMES and not list(tmp_path.rglob("*.key"))
    assert pepper not in bytes(rows["archive-pepper.key"].sealed)  # sealed, never the value itself
    assert len(rows["archive-pepper.key"].sealed) == 12 + 64 + 16
    with pytest.raises(KekError, match="sealed by KEK"):
        HubSecretStore(engine, os.urandom(32)).get("audit-pepper.key")
    with engine.begin() as conn:  # a row moved under another name does not open
        conn.execute(sa.update(shared_secrets).where(shared_secrets.c.name == "audit-pepper.key")
                     .values(sealed=rows["archive-pepper.key"].sealed))
    with pytest.raises(KekError, match="failed authentication"):
        worker_b.get("audit-pepper.key")
    with engine.begin() as conn:
        conn.execute(sa.update(shared_secrets).where(shared_secrets.c.name == "audit-pepper.key")
                     .values(sealed=rows["audit-pepper.key"].sealed))
    new = os.urandom(32)
    assert HubSecretStore(engine, [new, KEK]).rotate_kek() == 4
    assert archive_pepper(tmp_path, store=HubSecretStore(engine, new)) == pepper


def _hub_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, home: Path) -> None:
    home.mkdir(exist_ok=True)
    monkeypatch.setenv("HRBRIDGE_HOME", str(home))
    monkeypatch.setenv("HRBRIDGE_DB_URL", f"sqlite:///{tmp_path / 'hub.db'}")
    monkeypatch.setenv("HRBRIDGE_ARCHIVE_URL", f"sqlite:///{tmp_path / 'archive.db'}")
    monkeypatch.setenv("HRBRIDGE_REPORTS_DIR", str(home / "reports"))
    monkeypatch.setenv("HRBRIDGE_KEY_PROVIDER", "hub")
    monkeypatch.setenv("HRBRIDGE_KEK", base64.b64encode(KEK).decode())


_OTHER_WORKER = """
import hashlib, sys
from hrbridge.archive import archive_pepper
from hrbridge.cli import main
from hrbridge.settings import load_settings
print(hashlib.sha256(archive_pepper(load_settings().home)).hexdigest())
sys.exit(main(["audit", "verify", "--json"]))
"""


def test_a_log_signed_on_one_worker_verifies_in_another_process_with_its_own_home(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    home_a, home_b = tmp_path / "worker-a", tmp_path / "worker-b"
    _hub_env(monkeypatch, tmp_path, home_a)
    hub, archive = expired_home(tmp_path / "configs", monkeypatch, ["C1", "C2"])
    assert main(["retention", "run"]) == 1  # no keys yet: nothing deleted, nothing created
    assert "keys init" in capsys.readouterr().err
    assert not (home_a / "keys").exists() and HubSecretStore(hub, KEK).names() == []
    assert main(["keys", "init", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["secrets"]["created"] == NAMES
    assert main(["retention", "run"]) == 0  # worker A signs the deletion log
    pepper_a = hashlib.sha256(archive_pepper(home_a)).hexdigest()

    env = {**os.environ, "HRBRIDGE_HOME": str(home_b), "HRBRIDGE_REPORTS_DIR": str(home_b / "reports")}
    other = subprocess.run([sys.executable, "-c", _OTHER_WORKER], env=env, cwd=REPO, capture_output=True,  # noqa: S603
                           text=True, timeout=120, check=False)
    assert other.returncode == 0, other.stderr
    digest, report = other.stdout.split("\n", 1)
    assert digest == pepper_a  # the same person keys on both workers
    assert json.loads(report)["ok"] is True and json.loads(report)["entries"] >= 4
    assert not (home_b / "keys").exists() and not (home_a / "keys").exists()

    _hub_env(monkeypatch, tmp_path, home_b)  # worker B rolls the key over; A signs with the new one at once
    capsys.readouterr()
    assert main(["audit", "rollover", "--by", "ops", "--reason", "yearly rollover", "--json"]) == 0
    new_key = json.loads(capsys.readouterr().out)["new_key"]
    _hub_env(monkeypatch, tmp_path, home_a)
    add_candidate(hub, archive, "C9", decided_days_ago=400, interview_days_ago=400)
    assert main(["retention", "run"]) == 0
    with hub.connect() as conn:
        assert conn.exec_driver_sql("SELECT key_id FROM deletion_log_heads ORDER BY id DESC").scalar() == new_key
    _hub_env(monkeypatch, tmp_path, home_b)
    capsys.readouterr()
    assert main(["audit", "verify", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["rollovers"]
    assert not (home_b / "keys").exists()


def test_keys_init_adopts_a_local_installations_files_and_never_replaces_a_trusted_key(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    home = tmp_path / "local"
    _hub_env(monkeypatch, tmp_path, home)
    monkeypatch.setenv("HRBRIDGE_KEY_PROVIDER", "local")
    local = AuditKeys.load_or_create(home / "keys")  # the embedded default: files, created on first use
    pepper = archive_pepper(home)
    assert (home / "keys" / "archive-pepper.key").stat().st_mode & 0o777 == 0o600
    assert init_shared_secrets(load_settings()) == {"store": "local", "adopted": [], "created": []}

    monkeypatch.setenv("HRBRIDGE_KEY_PROVIDER", "hub")
    adopted = init_shared_secrets(load_settings())
    assert (sorted(adopted["adopted"]), adopted["created"]) == (NAMES, [])
    _hub_env(monkeypatch, tmp_path, tmp_path / "new-worker")
    shared = AuditKeys.load_or_create(HubSecretStore(make_engine(load_settings().db_url), KEK))
    assert (shared.key_id, shared.pepper) == (local.key_id, local.pepper)
    assert archive_pepper(tmp_path / "new-worker") == pepper

    engine = make_engine(load_settings().db_url)
    entry = LogEntry(requested_by="t", subject_hash="x", categories=["c"], stores=["s"], legal_basis="b",
                     method="m", done_at=datetime.now(UTC))
    with engine.begin() as conn:
        DeletionLog(engine, shared).append(conn, "run-1", [entry])
    store = HubSecretStore(engine, KEK)
    for name in NAMES:
        store.remove(name)
    with pytest.raises(AuditKeyError, match=f"signed with key {shared.key_id}"):
        init_shared_secrets(load_settings())
    assert store.get("audit-signing.key") is None
