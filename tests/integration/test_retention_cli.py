"""The retention, deletion, hold and audit commands end to end on an isolated SQLite home."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from connectors.sql import make_engine
from hrbridge.artefacts import artefact_store
from hrbridge.cli import main
from hrbridge.settings import load_settings
from tests.factories.retention import count, expired_home, t_candidates


@pytest.fixture
def home(hrbridge_home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A home whose retention config points at the factory tables, with two expired candidates."""
    expired_home(tmp_path / "configs", monkeypatch, ["C1", "C2"])
    return hrbridge_home


def _json(capsys: pytest.CaptureFixture[str], argv: list[str]) -> Any:
    capsys.readouterr()
    assert main(argv) == 0
    return json.loads(capsys.readouterr().out)


def test_plan_hold_request_run_verify_export(home: Path, capsys: pytest.CaptureFixture[str],
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    plan = _json(capsys, ["retention", "plan", "--json"])
    assert plan["dry_run"] is True and plan["totals"]["subjects"] == 4  # 2 media + 2 not-hired
    assert all("C1" not in s for item in plan["items"] for s in item["sample_subjects"])

    assert main(["hold", "add", "--candidate", "C1", "--reason", "case 42", "--by", "legal"]) == 0
    held = _json(capsys, ["hold", "list", "--json"])
    assert [h["subject_id"] for h in held] == ["C1"]
    request = _json(capsys, ["deletion", "request", "--candidate", "C3", "--by", "dpo",
                             "--basis", "GDPR Art. 17(1)(b) consent withdrawn", "--json"])
    assert request["legal_basis"] == "GDPR Art. 17(1)(b) consent withdrawn" and request["due_at"] > request["requested_at"]

    run = _json(capsys, ["retention", "run", "--json"])
    assert run["totals"]["held"] == 2 and run["log_entries"] >= 4
    hub = make_engine(load_settings().db_url)
    assert count(hub, t_candidates, candidate_id="C1") == 1 and count(hub, t_candidates, candidate_id="C2") == 0

    report = _json(capsys, ["audit", "verify", "--json"])
    assert report["ok"] is True and report["entries"] == run["log_entries"]

    for fmt in ("csv", "json", "html"):
        out = home / f"export.{fmt}"
        assert main(["audit", "export", "--from", "2000-01-01", "--to", "2100-01-01", "--format", fmt,
                     "--out", str(out)]) == 0
        assert out.stat().st_size > 0
    capsys.readouterr()
    assert main(["audit", "export", "--from", "2000-01-01", "--to", "2100-01-01", "--format", "csv"]) == 0
    key = capsys.readouterr().out.split("artefact ", 1)[1].split(" ", 1)[0]
    stored = artefact_store().get(key)
    assert key.startswith("audit-export/deletion-log_2000-01-01_2100-01-01_") and key.endswith(".csv")
    assert stored.data == (home / "export.csv").read_bytes() and stored.meta["entries"] == run["log_entries"]
    monkeypatch.setenv("HRBRIDGE_ARTEFACT_MAX_BYTES", "100")
    assert main(["audit", "export", "--from", "2000-01-01", "--to", "2100-01-01", "--format", "html"]) == 2
    assert "HRBRIDGE_ARTEFACT_MAX_BYTES" in capsys.readouterr().err
    assert len(artefact_store().list("audit-export")) == 1

    assert main(["hold", "remove", "--candidate", "C1", "--reason", "closed"]) == 0
    assert main(["hold", "remove", "--candidate", "C1", "--reason", "closed"]) == 2
    assert "no active legal hold" in capsys.readouterr().err


def test_verify_exits_1_naming_the_tampered_entry(home: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["retention", "run"]) == 0
    hub = make_engine(load_settings().db_url)
    with hub.begin() as conn:
        conn.exec_driver_sql("DROP TRIGGER deletion_log_no_update")
        conn.exec_driver_sql("UPDATE deletion_log SET counts_before = '{}' WHERE seq = 2")
    capsys.readouterr()
    assert main(["audit", "verify"]) == 1
    assert "BROKEN at entry seq 2" in capsys.readouterr().out
    out = home / "broken.html"
    assert main(["audit", "export", "--from", "2000-01-01", "--to", "2100-01-01", "--format", "html",
                 "--out", str(out)]) == 0
    assert "CHAIN BROKEN at entry 2" in out.read_text(encoding="utf-8")


def test_bad_input_exits_2(home: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["hold", "add", "--candidate", " ", "--reason", "x"]) == 2
    with pytest.raises(SystemExit) as exc:
        main(["audit", "export", "--from", "yesterday", "--to", "2026-01-01", "--format", "csv", "--out", "x"])
    assert exc.value.code == 2
    assert main(["audit", "export", "--from", "2026-02-01", "--to", "2026-01-01", "--format", "csv",
                 "--out", str(home / "x.csv")]) == 2
    (Path(load_settings().configs_dir) / "retention.yaml").write_text("policies: [{name: x}]", encoding="utf-8")
    assert main(["retention", "plan"]) == 2
    assert "retention.yaml" in capsys.readouterr().err
