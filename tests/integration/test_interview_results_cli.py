"""`hrbridge sync results --json`, `sync archive`, `report validation` against the sandboxes."""

from __future__ import annotations

import json

from connectors.interview_rest import HrbridgeInterviewClient
from hrbridge.cli import main
from hrbridge.store import hub_engine
from tests.factories.results import invite


def test_sync_results_json_then_report(sandbox_env, capsys, tmp_path) -> None:
    sf_sandbox, interview_sandbox = sandbox_env
    app_ids = [str(r["applicationId"]) for r in sf_sandbox.records("JobApplication")[:5]]
    client = HrbridgeInterviewClient(interview_sandbox.url, "sandbox-interview-key")
    invite(client, hub_engine(), app_ids)
    client.close()
    interview_sandbox.complete(bad_fraction=0.2)

    assert main(["sync", "results", "--json"]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["read"] == 5 and summary["stored"] == 4 and summary["quarantined"] == 1
    assert summary["read"] == summary["stored"] + summary["quarantined"] + summary["duplicates"]
    assert summary["written_back"] == 4 and summary["report"].endswith(".html")

    assert summary["report_key"] == f"validation/{summary['run_id']}.html"
    assert main(["report", "validation", "--run", summary["run_id"], "--out", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert str(tmp_path) in out and (tmp_path / f"{summary['run_id']}.html").exists()
    assert (tmp_path / summary["run_id"] / "data-docs" / "index.html").exists()
    assert main(["report", "validation", "--run", summary["run_id"], "--out", str(tmp_path / "zh"), "--lang", "zh"]) == 0
    page = (tmp_path / "zh" / f"{summary['run_id']}.html").read_text(encoding="utf-8")
    assert '<html lang="zh-CN">' in page and "面试结果校验" in page and "<b>1</b>暂扣待查" in page
    assert main(["report", "validation", "--run", "no-such-run"]) == 2
    capsys.readouterr()

    assert main(["quarantine", "list", "--json"]) == 0
    assert sum(json.loads(capsys.readouterr().out).values()) >= 1
    assert main(["quarantine", "requeue", "--run", summary["run_id"]]) == 0
    assert "requeued 1 results" in capsys.readouterr().out


def test_sync_archive_and_missing_credentials(hrbridge_home, monkeypatch, capsys) -> None:
    assert main(["sync", "archive", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["hires"] == 0
    for name in ("HRBRIDGE_SF_URL", "HRBRIDGE_SF_USER", "HRBRIDGE_SF_PASSWORD"):
        monkeypatch.delenv(name, raising=False)
    assert main(["sync", "results"]) == 2
    assert "HRBRIDGE_SF_URL" in capsys.readouterr().err
    monkeypatch.delenv("HRBRIDGE_WEBHOOK_SECRET", raising=False)
    assert main(["webhook", "serve"]) == 2
