"""One real candidate_sync run through Airflow fed by Greenhouse Harvest v3 and the YAML REST source together."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from hrbridge.store import hub_engine
from hrbridge.store import recruiting as store
from sandbox.greenhouse import GreenhouseSandbox
from sandbox.personio import DEFAULT_CLIENTS, PersonioSandbox
from tests.factories.greenhouse import gh_env


@pytest.mark.dagrun
@pytest.mark.slow
def test_dag_run_fed_by_greenhouse_and_the_yaml_source(dagbag, hrbridge_home, interview_sandbox, monkeypatch) -> None:
    monkeypatch.setenv("HRBRIDGE_INTERVIEW_URL", interview_sandbox.url)
    monkeypatch.setenv("HRBRIDGE_INTERVIEW_API_KEY", "sandbox-interview-key")
    monkeypatch.setenv("HRBRIDGE_SYNC_SOURCES", "greenhouse,personio")
    with GreenhouseSandbox(seed=3, candidates=20, applications=30) as gh, \
            PersonioSandbox(seed=4, candidates=20, applications=30) as personio:
        gh_env(monkeypatch, gh)
        client, secret = next(iter(DEFAULT_CLIENTS.items()))
        monkeypatch.setenv("HRBRIDGE_PERSONIO_URL", personio.url)
        monkeypatch.setenv("HRBRIDGE_PERSONIO_CLIENT_ID", client)
        monkeypatch.setenv("HRBRIDGE_PERSONIO_CLIENT_SECRET", secret)
        expected = ({f"greenhouse:{r['id']}" for r in gh.records("applications")
                     if r["current_stage"]["name"] == "AI Interview"}
                    | {f"personio:{r['id']}" for r in personio.records("applications")
                       if r["stage"]["name"] == "AI Interview"})

        run = dagbag.dags["candidate_sync"].test()

        assert str(getattr(run.state, "value", run.state)) == "success"
        with hub_engine().connect() as conn:
            rows = conn.execute(sa.select(store.invitations.c.application_id, store.invitations.c.state)).all()
            summary = conn.execute(sa.select(store.sync_runs)).one()
        assert {r.application_id for r in rows} == expected
        assert any(k.startswith("greenhouse:") for k in expected) and any(k.startswith("personio:") for k in expected)
        assert {r.state for r in rows} == {store.WRITTEN_BACK}
        assert summary.counts["applications_read"] == 60
        assert summary.counts["invited"] == summary.counts["written_back"] == len(expected) == interview_sandbox.creations
        assert {e["id"] for e in gh.patch_log} | {e["id"] for e in personio.patch_log} == {
            k.split(":", 1)[1] if k.startswith("personio:") else int(k.split(":", 1)[1]) for k in expected}
