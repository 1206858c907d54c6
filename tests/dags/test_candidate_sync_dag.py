"""The candidate_sync DAG: shape, and one real run through Airflow against both sandboxes."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
import sqlalchemy as sa

from hrbridge.store import hub_engine
from hrbridge.store import recruiting as store


def test_dag_shape(dagbag) -> None:
    dag = dagbag.dags["candidate_sync"]
    assert dag.schedule == timedelta(minutes=10) or "10" in str(dag.timetable.summary)
    assert dag.catchup is False and dag.max_active_runs == 1
    assert {"hrbridge", "recruiting"} <= set(dag.tags)
    order = ["extract_and_load", "invite", "write_back", "summary"]
    assert sorted(dag.task_ids) == sorted(order)
    for upstream, downstream in zip(order, order[1:], strict=False):
        assert downstream in dag.get_task(upstream).downstream_task_ids
    for t in dag.tasks:
        assert t.owner == "hrbridge" and t.retries >= 1


@pytest.mark.dagrun
@pytest.mark.slow
def test_dag_run_against_sandboxes(dagbag, hrbridge_home, sf_sandbox, interview_sandbox, monkeypatch) -> None:
    monkeypatch.setenv("AIRFLOW_CONN_HRBRIDGE_SUCCESSFACTORS", json.dumps({
        "conn_type": "http", "host": sf_sandbox.url, "login": "sfadmin", "password": "sandbox-secret",
        "extra": {"company_id": "SFPART000001"},
    }))
    # no Airflow Connection for the platform: the hook falls back to the environment
    monkeypatch.setenv("HRBRIDGE_INTERVIEW_URL", interview_sandbox.url)
    monkeypatch.setenv("HRBRIDGE_INTERVIEW_API_KEY", "sandbox-interview-key")
    expected = {str(r["applicationId"]) for r in sf_sandbox.records("JobApplication") if r["status"] == "AI Interview"}

    run = dagbag.dags["candidate_sync"].test()

    assert str(getattr(run.state, "value", run.state)) == "success"
    engine = hub_engine()
    with engine.connect() as conn:
        rows = conn.execute(sa.select(store.invitations.c.application_id, store.invitations.c.state)).all()
        summary = conn.execute(sa.select(store.sync_runs)).one()
    assert {r.application_id for r in rows} == expected
    assert {r.state for r in rows} == {store.WRITTEN_BACK}
    assert summary.status == "succeeded" and summary.run_id.startswith("cs-")
    assert summary.counts["invited"] == summary.counts["written_back"] == len(expected) == interview_sandbox.creations
    assert summary.counts["applications_read"] == sf_sandbox.count("JobApplication")


def test_hooks_build_connectors_from_connections_or_env(monkeypatch) -> None:
    from plugins.hrbridge_provider import interview_platform, successfactors

    monkeypatch.setenv("AIRFLOW_CONN_HRBRIDGE_SUCCESSFACTORS", json.dumps({
        "conn_type": "http", "host": "sf.example.com", "schema": "https", "port": 8443, "login": "api",
        "password": "a-long-secret", "extra": {"company_id": "ACME01", "rate_limit": 5},
    }))
    monkeypatch.delenv("AIRFLOW_CONN_HRBRIDGE_INTERVIEW", raising=False)
    monkeypatch.setenv("HRBRIDGE_INTERVIEW_URL", "http://127.0.0.1:9")
    monkeypatch.setenv("HRBRIDGE_INTERVIEW_API_KEY", "env-key-123")
    sf = successfactors()
    assert sf.root == "https://sf.example.com:8443/odata/v2"
    assert sf.client.principal == "user api@ACME01" and sf.client.limiter.rate == 5
    assert "a-long-secret" not in repr(sf.client.auth)
    assert "127.0.0.1:9" in repr(interview_platform())  # no Connection: environment fallback

    monkeypatch.setenv("AIRFLOW_CONN_HRBRIDGE_INTERVIEW", json.dumps({
        "conn_type": "http", "host": "https://interviews.example.com", "password": "conn-key-456",
        "extra": {"kind": "hrbridge"},
    }))
    assert "interviews.example.com" in repr(interview_platform())


def test_failure_callback_marks_the_run_failed(dagbag, hrbridge_home) -> None:
    import importlib.util
    from types import SimpleNamespace

    dag = dagbag.dags["candidate_sync"]
    spec = importlib.util.spec_from_file_location("candidate_sync_dag_file", dag.fileloc)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    assert dag.get_task("invite").on_failure_callback
    module.record_failure({"run_id": "scheduled__2026-03-01", "ti": SimpleNamespace(task_id="invite"),
                           "exception": RuntimeError("platform down for ops@example.com")})
    with hub_engine().connect() as conn:
        run = conn.execute(sa.select(store.sync_runs)).one()
    assert run.run_id == "cs-scheduled__2026-03-01" and run.status == "failed"
    assert "invite failed: RuntimeError" in run.error and "ops@example.com" not in run.error
