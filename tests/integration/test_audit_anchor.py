"""Entries cut from the end of the deletion log are caught by heads anchored outside the database."""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from connectors.sql import make_engine
from governance.audit import AuditKeys, verify_chain
from governance.audit.anchor import AnchorError, FileAnchor, anchor_head, anchor_target
from hrbridge.cli import main
from hrbridge.settings import load_settings
from tests.factories.retention import add_candidate, expired_home
from tests.factories.retention import tamper_log as _tamper


@pytest.fixture
def engine(db_url: str) -> Iterator[Engine]:
    engine = make_engine(db_url)
    yield engine
    engine.dispose()


@pytest.fixture
def keys(tmp_path: Path) -> AuditKeys:
    return AuditKeys.load_or_create(tmp_path / "keys", env={"HRBRIDGE_AUDIT_PEPPER": "test"})


def _anchored_log(engine: Engine, keys: AuditKeys, anchor: FileAnchor, runs: int = 3) -> None:
    """``runs`` runs of 3 entries, each followed by anchoring the head, as a retention run does."""
    for _ in range(runs):
        with engine.connect() as conn:
            done = conn.execute(sa.text("SELECT count(*) FROM deletion_log")).scalar() if sa.inspect(
                conn).has_table("deletion_log") else 0
        _write_run(engine, keys, f"run-{done // 3}")
        anchor_head(engine, anchor)


def _write_run(engine: Engine, keys: AuditKeys, run_id: str) -> None:
    from governance.audit import DeletionLog, LogEntry

    entries = [LogEntry(requested_by="retention policy p", subject_hash=keys.pseudonymise(f"{run_id}-{i}"),
                        categories=["candidate_profile"], stores=["hub.candidates"], legal_basis="PIPL Art. 47",
                        method="delete") for i in range(3)]
    with engine.begin() as conn:
        DeletionLog(engine, keys).append(conn, run_id, entries)


def test_entries_cut_from_the_end_with_their_heads_are_named(engine: Engine, keys: AuditKeys, tmp_path: Path) -> None:
    anchor = FileAnchor(tmp_path / "auditor" / "anchor.jsonl")
    _anchored_log(engine, keys, anchor)
    assert verify_chain(engine, keys.public_key, anchor=anchor).ok
    _tamper(engine, "DELETE FROM deletion_log WHERE seq > 6", "DELETE FROM deletion_log_heads WHERE head_seq > 6")
    assert verify_chain(engine, keys.public_key).ok  # the attack: without the anchor the shorter log looks whole
    report = verify_chain(engine, keys.public_key, anchor=anchor)
    assert (report.ok, report.first_bad_seq, report.entries) == (False, 7, 6)
    assert "the log ends at seq 6" in report.problem and "entries 7..9 were removed from the end" in report.problem
    assert "run-2" in report.problem


def test_a_wiped_log_is_named(engine: Engine, keys: AuditKeys, tmp_path: Path) -> None:
    anchor = FileAnchor(tmp_path / "anchor.jsonl")
    _anchored_log(engine, keys, anchor, runs=2)
    _tamper(engine, "DELETE FROM deletion_log", "DELETE FROM deletion_log_heads")
    assert verify_chain(engine, keys.public_key).ok
    report = verify_chain(engine, keys.public_key, anchor=anchor)
    assert not report.ok and report.first_bad_seq == 1
    assert "the log is empty" in report.problem and "entries 1..6 were removed" in report.problem


def test_a_log_rebuilt_with_the_signing_key_is_caught_by_the_anchor(engine: Engine, keys: AuditKeys,
                                                                     tmp_path: Path) -> None:
    """Someone holding the signing key replaces the whole log with a different, validly signed one."""
    anchor = FileAnchor(tmp_path / "anchor.jsonl")
    _anchored_log(engine, keys, anchor, runs=2)
    _tamper(engine, "DELETE FROM deletion_log", "DELETE FROM deletion_log_heads")
    _write_run(engine, keys, "forged-0")
    _write_run(engine, keys, "forged-1")
    assert verify_chain(engine, keys.public_key).ok
    report = verify_chain(engine, keys.public_key, anchor=anchor)
    assert (report.ok, report.first_bad_seq) == (False, 3)
    assert "signed head of run run-0 at seq 3" in report.problem and "the chain was rewritten" in report.problem


def test_anchoring_a_cut_log_is_refused(engine: Engine, keys: AuditKeys, tmp_path: Path) -> None:
    anchor = FileAnchor(tmp_path / "anchor.jsonl")
    _anchored_log(engine, keys, anchor, runs=2)
    _tamper(engine, "DELETE FROM deletion_log WHERE seq > 3", "DELETE FROM deletion_log_heads WHERE head_seq > 3")
    lines = anchor.path.read_text().splitlines()
    with pytest.raises(AnchorError, match="ends at seq 3.*already anchors seq 6"):
        anchor_head(engine, anchor)
    assert anchor.path.read_text().splitlines() == lines


def test_a_forged_anchor_line_is_not_trusted(engine: Engine, keys: AuditKeys, tmp_path: Path) -> None:
    anchor = FileAnchor(tmp_path / "anchor.jsonl")
    _anchored_log(engine, keys, anchor, runs=1)
    record = json.loads(anchor.path.read_text().splitlines()[-1])
    anchor.append(record | {"head_seq": 99})
    report = verify_chain(engine, keys.public_key, anchor=anchor)
    assert not report.ok and "line 2: the signature does not verify" in report.problem


def test_the_anchor_file_is_owner_only_append_only_json_lines(engine: Engine, keys: AuditKeys, tmp_path: Path) -> None:
    path = tmp_path / "anchors" / "hub.jsonl"
    anchor = anchor_target(f"file://{path}")
    _anchored_log(engine, keys, anchor, runs=2)
    assert path.stat().st_mode & 0o777 == 0o600
    assert [json.loads(line)["head_seq"] for line in path.read_text().splitlines()] == [3, 6]
    anchor_head(engine, anchor)  # nothing new: not anchored twice
    assert len(path.read_text().splitlines()) == 2
    path.chmod(0o644)
    with pytest.raises(AnchorError, match="chmod 600"):
        anchor.append({"run_id": "x"})
    with pytest.raises(AnchorError, match="not supported"):
        anchor_target("s3://bucket/anchor.jsonl")


@pytest.fixture
def home(hrbridge_home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    expired_home(tmp_path / "configs", monkeypatch, ["C1", "C2"])
    return hrbridge_home


def test_cli_anchors_each_run_and_verify_names_the_cut(home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                       capsys: pytest.CaptureFixture[str]) -> None:
    anchor = tmp_path / "operator" / "anchor.jsonl"
    monkeypatch.setenv("HRBRIDGE_AUDIT_ANCHOR", str(anchor))
    assert main(["retention", "run"]) == 0
    settings = load_settings()
    hub, archive = make_engine(settings.db_url), make_engine(settings.archive_url)
    add_candidate(hub, archive, "C9", decided_days_ago=400, interview_days_ago=400)
    assert main(["retention", "run"]) == 0
    assert "anchored the log's head" in capsys.readouterr().out
    auditor = tmp_path / "auditor.jsonl"
    shutil.copy(anchor, auditor)  # the auditor's copy
    with hub.connect() as conn:
        last = conn.exec_driver_sql("SELECT max(seq) FROM deletion_log").scalar()
        second = conn.exec_driver_sql("SELECT min(head_seq) FROM retention_runs WHERE head_seq IS NOT NULL").scalar()
    assert main(["audit", "verify", "--anchor", str(auditor)]) == 0
    # A superuser cuts the second run's entries and heads, and even the run's own record of its head.
    _tamper(hub, f"DELETE FROM deletion_log WHERE seq > {second}",  # noqa: S608 - test integers
            f"DELETE FROM deletion_log_heads WHERE head_seq > {second}",  # noqa: S608
            f"UPDATE retention_runs SET head_seq = {second}, head_hash = NULL WHERE head_seq > {second}")  # noqa: S608
    monkeypatch.delenv("HRBRIDGE_AUDIT_ANCHOR")
    capsys.readouterr()
    assert main(["audit", "verify", "--anchor", str(auditor)]) == 1
    out = capsys.readouterr().out
    assert f"BROKEN at entry seq {second + 1}" in out and f"entries {second + 1}..{last} were removed" in out
    # Without the anchor, the retention runs' own records still catch a careless cut.
    _tamper(hub, "UPDATE retention_runs SET head_hash = NULL")
    _tamper(hub, f"DELETE FROM deletion_log WHERE seq > {second - 1}",  # noqa: S608
            f"DELETE FROM deletion_log_heads WHERE head_seq > {second - 1}")  # noqa: S608
    assert main(["audit", "verify"]) == 1
    assert main(["audit", "verify", "--anchor", str(tmp_path / "missing.jsonl")]) == 2
    assert "does not exist" in capsys.readouterr().err
