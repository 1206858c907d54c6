"""candidate_sync fed by Greenhouse Harvest v3 (sandbox over HTTP): invitations sent and written back per record."""

from __future__ import annotations

import json

import pytest
import sqlalchemy as sa

from hrbridge.cli import main
from hrbridge.store import hub_engine
from hrbridge.store import recruiting as store
from sandbox.greenhouse import GreenhouseSandbox
from tests.factories.greenhouse import gh_env


@pytest.fixture
def gh_box(sandbox_env, monkeypatch):
    with GreenhouseSandbox(seed=11, candidates=30, applications=40) as box:
        gh_env(monkeypatch, box)
        yield box, sandbox_env[1]


def _stage(box: GreenhouseSandbox, name: str) -> set[int]:
    return {r["id"] for r in box.records("applications") if r["current_stage"]["name"] == name}


def test_sync_from_greenhouse_invites_and_writes_back(gh_box, capsys) -> None:
    box, platform = gh_box
    triggered = _stage(box, "AI Interview")
    assert main(["sync", "candidates", "--source", "greenhouse", "--json"]) == 0, capsys.readouterr().err
    counts = json.loads(capsys.readouterr().out)
    assert counts["applications_read"] == box.count("applications") == 40
    assert counts["invited"] == counts["written_back"] == len(triggered) == platform.creations > 0
    written = {entry["id"]: entry for entry in box.patch_log}
    assert set(written) == triggered
    assert all(e["ai_interview_status"] and e["ai_interview_link"].startswith("http") for e in written.values())
    with hub_engine().connect() as conn:
        apps = {r[0] for r in conn.execute(sa.select(store.applications.c.application_id))}
        cursors = {r.stream for r in conn.execute(sa.select(store.sync_cursors))}
        extras = conn.execute(sa.select(store.applications.c.extras)).first()[0]
        origins = {r[0] for r in conn.execute(sa.select(store.candidates.c.source))}
    assert apps == {f"greenhouse:{r['id']}" for r in box.records("applications")}
    assert "greenhouse:applications" in cursors and origins == {"greenhouse"}
    assert "custom_ai_overall_score" in extras  # custom fields arrive, unmapped ones in extras
    moved = sorted(_stage(box, "Screening"))[:2]
    for app_id in moved:
        box.move(app_id, "AI Interview")
    assert main(["sync", "candidates", "--source", "greenhouse", "--json"]) == 0
    again = json.loads(capsys.readouterr().out)
    assert again["invited"] == again["written_back"] == 2 and platform.creations == len(triggered) + 2
    assert again["applications_read"] < 40  # a delta by last_activity_at, within the look-back


def test_greenhouse_write_back_failure_is_reported_per_record(gh_box, monkeypatch, capsys) -> None:
    box, _ = gh_box
    victim = sorted(_stage(box, "AI Interview"))[0]
    box.locked.add(victim)
    assert main(["sync", "candidates", "--source", "greenhouse", "--json"]) == 1
    counts = json.loads(capsys.readouterr().out)
    assert counts["write_back_failed"] == 1 and counts["written_back"] == len(_stage(box, "AI Interview")) - 1
    box.locked.clear()
    assert main(["sync", "candidates", "--source", "greenhouse", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["written_back"] == 1  # retried on the next run


def test_missing_greenhouse_credentials_exit_2(sandbox_env, monkeypatch, capsys) -> None:
    monkeypatch.delenv("HRBRIDGE_GREENHOUSE_CLIENT_SECRET", raising=False)
    assert main(["sync", "candidates", "--source", "greenhouse"]) == 2
    assert "HRBRIDGE_GREENHOUSE_CLIENT_SECRET" in capsys.readouterr().err


def test_interview_scores_are_routed_to_the_owning_source(gh_box, monkeypatch) -> None:
    """interview_results writes through results_target: each record to its own source, fields renamed and typed."""
    from hrbridge.sources import results_target

    box, _ = gh_box
    monkeypatch.setenv("HRBRIDGE_SYNC_SOURCES", "successfactors,greenhouse")
    ok_id, locked_id = (r["id"] for r in box.records("applications")[:2])
    box.locked.add(locked_id)
    target = results_target()
    records = [{"applicationId": key, "cust_aiOverallScore": "75.7", "cust_aiKeywords": "a, b",
                "cust_aiInterviewStatus": "completed"}
               for key in (f"greenhouse:{ok_id}", f"greenhouse:{locked_id}", 700001)]
    result = target.upsert("JobApplication", records, "applicationId")
    target.close()
    assert sorted(map(str, result.ok)) == sorted([f"greenhouse:{ok_id}", "700001"])
    assert [str(k) for k, _ in result.failed] == [f"greenhouse:{locked_id}"]
    assert box.patch_log == [{"id": ok_id, "ai_overall_score": 75.7, "ai_interview_status": "completed"}]


def test_greenhouse_from_an_airflow_connection(gh_box, monkeypatch) -> None:
    from hrbridge.pipelines.candidate_sync import load_sync_config
    from hrbridge.sources import source_document
    from plugins.hrbridge_provider import hr_source
    from tests.factories.greenhouse import CLIENT_ID, CLIENT_SECRET

    box, _ = gh_box
    for name in ("URL", "CLIENT_ID", "CLIENT_SECRET", "USER_ID"):
        monkeypatch.delenv(f"HRBRIDGE_GREENHOUSE_{name}", raising=False)
    monkeypatch.setenv("AIRFLOW_CONN_HRBRIDGE_GREENHOUSE", json.dumps({
        "conn_type": "generic", "host": box.url, "login": CLIENT_ID, "password": CLIENT_SECRET,
        "extra": {"user_id": "4080", "token_url": f"{box.url}/token"}}))
    gh = hr_source("greenhouse", source_document("greenhouse"), load_sync_config())
    assert len(gh.read_keys("requisitions")) == box.count("jobs")
    assert gh.principal == f"OAuth client {CLIENT_ID} (user 4080)"
    gh.close()
