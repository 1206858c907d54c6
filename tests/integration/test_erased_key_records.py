"""A destroyed data key's record names the person only by the deletion log's pseudonym, and stays effective.

After a shred the ``data_keys`` row keeps ``erased:<HMAC>`` (the deletion log's pseudonym), the key
version and its creation and destruction times: what an auditor needs to show the key was destroyed.
Every vault of the installation (``default_vault``, as a worker opens it) still recognises the
person as erased, so new data for them gets no new key and old ciphertext stays unreadable.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from connectors.sql import make_engine
from governance.audit import AuditKeys
from governance.crypto import SubjectKeyShredded, Vault
from governance.retention.protocols import erased_name
from hrbridge.pipelines.pii import default_vault, shredded_subjects
from hrbridge.settings import load_settings

WHERE = {"table": "candidates", "column": "email", "record_id": "r-1"}


@pytest.fixture
def engine(tmp_path: Path) -> Iterator[Engine]:
    engine = make_engine(f"sqlite:///{tmp_path / 'hub.db'}")
    yield engine
    engine.dispose()


def _subjects(engine: Engine) -> list[tuple[str, int, bool]]:
    with engine.connect() as conn:
        rows = conn.execute(sa.text("SELECT subject_id, key_version, destroyed_at FROM data_keys ORDER BY subject_id"))
        return [(r[0], r[1], r[2] is not None) for r in rows]


def test_a_worker_vault_recognises_the_pseudonymised_record(engine: Engine, tmp_path: Path,
                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("HRBRIDGE_AUDIT_PEPPER", raising=False)
    monkeypatch.setenv("HRBRIDGE_KEY_PROVIDER", "local")
    settings = load_settings({"HRBRIDGE_HOME": str(tmp_path / "home"), "HRBRIDGE_KEY_PROVIDER": "local"})
    keys = AuditKeys.load_or_create(settings.ensure_dirs().home / "keys")  # the installation's pepper
    marker = f"erased:{keys.pseudonymise('cand-1')}"
    first = default_vault(engine, settings=settings)
    token = first.encrypt("cand-1", "mei@example.com", **WHERE)
    first.encrypt("cand-2", "bo@example.com", **WHERE)
    assert first.shred("cand-1") and not first.shred("cand-1")
    assert _subjects(engine) == [("cand-2", 1, False), (marker, 1, True)]

    worker = default_vault(engine, settings=settings)  # another process: knows the person only through the pepper
    assert worker.is_shredded("cand-1") and not worker.is_shredded("cand-2")
    assert shredded_subjects(worker, ["cand-1", "cand-2", "cand-3"]) == {"cand-1"}
    with pytest.raises(SubjectKeyShredded) as raised:
        worker.encrypt("cand-1", "late@example.com", **WHERE)
    assert raised.value.subject_id == "cand-1"
    with pytest.raises(SubjectKeyShredded):
        worker.decrypt("cand-1", token, **WHERE)
    assert _subjects(engine) == [("cand-2", 1, False), (marker, 1, True)], "no new key for an erased person"


def test_a_key_destroyed_before_pseudonyms_is_renamed_on_the_next_shred(engine: Engine, tmp_path: Path) -> None:
    plain = Vault.local(engine, tmp_path / "home")  # no tombstone: the record keeps the id, as before
    plain.encrypt("cand-9", "x@example.com", **WHERE)
    plain.shred("cand-9")
    assert _subjects(engine) == [("cand-9", 1, True)]
    named = Vault.local(engine, tmp_path / "home")
    named.tombstone = erased_name(lambda s: f"h({s})")
    assert named.shred("cand-9") is False  # no live key left, but the record loses the id
    assert _subjects(engine) == [("erased:h(cand-9)", 1, True)] and named.is_shredded("cand-9")


def test_with_the_hub_provider_the_pepper_is_read_from_the_hub(engine: Engine, tmp_path: Path,
                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    import base64
    import os

    from governance.audit.keys import PEPPER_FILE, pseudonymise
    from governance.crypto.shared import HubSecretStore
    from hrbridge.migrations import HUB, upgrade

    kek = os.urandom(32)
    monkeypatch.delenv("HRBRIDGE_AUDIT_PEPPER", raising=False)
    monkeypatch.setenv("HRBRIDGE_KEK", base64.b64encode(kek).decode())
    settings = load_settings({"HRBRIDGE_HOME": str(tmp_path / "home"), "HRBRIDGE_KEY_PROVIDER": "hub"})
    upgrade(engine, HUB)
    assert default_vault(engine, settings=settings).tombstone is None, "no pepper yet: nothing was erased here"
    HubSecretStore(engine, [kek]).create(PEPPER_FILE, b"hub-pepper")
    vault = default_vault(engine, settings=settings)
    assert vault.tombstone("cand-1") == f"erased:{pseudonymise(b'hub-pepper', 'cand-1')}"
    assert not (tmp_path / "home" / "keys").exists(), "the pepper is read from the hub, no file is created"


def test_a_retention_run_renames_records_shredded_before_pseudonyms(engine: Engine, tmp_path: Path) -> None:
    from tests.factories.retention import NOW, create_tables, make_executor

    create_tables(engine, engine)
    old = Vault.local(engine, tmp_path / "home")  # an earlier version: the record kept the id
    old.encrypt("cand-old", "x@example.com", **WHERE)
    old.encrypt("cand-live", "y@example.com", **WHERE)
    old.shred("cand-old")
    vault = Vault.local(engine, tmp_path / "home")
    executor = make_executor(engine, engine, tmp_path / "keys", shredder=vault)
    assert executor.run(NOW)["key_records_pseudonymised"] == 1
    marker = f"erased:{executor.log.pseudonymise('cand-old')}"
    assert _subjects(engine) == [("cand-live", 1, False), (marker, 1, True)]
    assert vault.is_shredded("cand-old") and executor.run(NOW)["key_records_pseudonymised"] == 0
