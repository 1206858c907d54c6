"""Read commands stay read-only and the deletion log's signing key is never replaced silently."""

from __future__ import annotations

from pathlib import Path

import pytest
import sqlalchemy as sa
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from governance.audit.keys import write_private_key
from hrbridge.cli import main
from hrbridge.settings import load_settings
from tests.factories.retention import add_candidate, expired_home


@pytest.fixture
def home(hrbridge_home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    expired_home(tmp_path / "configs", monkeypatch, ["C1", "C2"])
    return hrbridge_home


def _heads(home: Path) -> list[tuple[str, str | None]]:
    engine = sa.create_engine(load_settings().db_url)
    with engine.connect() as conn:
        rows = conn.exec_driver_sql("SELECT key_id, next_key FROM deletion_log_heads ORDER BY id").all()
    engine.dispose()
    return [tuple(r) for r in rows]


def test_verify_without_any_key_refuses_and_creates_nothing(hrbridge_home: Path,
                                                           capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["audit", "verify"]) == 2
    err = capsys.readouterr().err
    assert "no trusted public key" in err and "--public-key" in err
    assert sorted(p.name for p in hrbridge_home.rglob("*")) == []  # no key, no keys folder, no hub


def test_verify_after_the_keys_folder_is_lost_refuses_and_creates_no_key(home: Path,
                                                                         capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["retention", "run"]) == 0
    for key in (home / "keys").glob("audit-signing*"):
        key.unlink()
    capsys.readouterr()
    assert main(["audit", "verify"]) == 2
    assert "no trusted public key" in capsys.readouterr().err
    assert not list((home / "keys").glob("audit-signing*"))


def test_a_lost_signing_key_is_not_replaced_by_the_next_run(home: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["retention", "run"]) == 0
    before = _heads(home)
    (home / "keys" / "audit-signing.key").unlink()
    add_candidate(*_engines(), "C9", decided_days_ago=400, interview_days_ago=400)
    capsys.readouterr()
    assert main(["retention", "run"]) == 1
    err = capsys.readouterr().err
    assert f"signed with key {before[0][0]}" in err and "restore" in err
    assert not (home / "keys" / "audit-signing.key").exists()
    assert _heads(home) == before
    assert main(["audit", "verify"]) == 0


def test_a_replaced_signing_key_is_refused_before_anything_is_deleted(home: Path,
                                                                      capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["retention", "run"]) == 0
    before = _heads(home)
    key = home / "keys" / "audit-signing.key"
    key.unlink()
    write_private_key(key, Ed25519PrivateKey.generate())
    hub, archive = _engines()
    add_candidate(hub, archive, "C9", decided_days_ago=400, interview_days_ago=400)
    capsys.readouterr()
    assert main(["retention", "run"]) == 1
    assert "restore the key the log trusts" in capsys.readouterr().err
    assert _heads(home) == before
    with hub.connect() as conn:
        assert conn.exec_driver_sql("SELECT count(*) FROM t_candidates WHERE candidate_id = 'C9'").scalar() == 1


def test_an_explicit_rollover_is_logged_and_the_first_key_still_verifies(home: Path, tmp_path: Path,
                                                                         capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["retention", "run"]) == 0
    first = _heads(home)[0][0]
    auditor_copy = tmp_path / "auditor.pub"
    auditor_copy.write_bytes((home / "keys" / "audit-signing.pub").read_bytes())
    assert main(["audit", "rollover", "--by", "dpo@example.com", "--reason", "yearly key change"]) == 0
    assert f"{first} -> " in capsys.readouterr().out
    add_candidate(*_engines(), "C9", decided_days_ago=400, interview_days_ago=400)
    assert main(["retention", "run"]) == 0
    heads = _heads(home)
    at = next(i for i, (_, next_key) in enumerate(heads) if next_key)
    assert {key for key, _ in heads[:at + 1]} == {first}  # up to the rollover head: the old key
    assert heads[at + 1:] and first not in {key for key, _ in heads[at + 1:]}  # after it: the new key
    capsys.readouterr()
    assert main(["audit", "verify", "--public-key", str(auditor_copy)]) == 0
    assert main(["audit", "verify"]) == 0
    hub, _ = _engines()
    with hub.connect() as conn:
        entry = conn.exec_driver_sql("SELECT requested_by, legal_basis FROM deletion_log WHERE method = 'key rollover'").one()
    assert tuple(entry) == ("dpo@example.com", "yearly key change")
    assert not (home / "keys" / "audit-signing.key.next").exists()


def _engines() -> tuple[sa.Engine, sa.Engine]:
    settings = load_settings()
    return sa.create_engine(settings.db_url), sa.create_engine(settings.archive_url)
