"""The candidate_sync DAG: shape, and one real run through Airflow against both sandboxes."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa

from hrbridge.store import hub_engine
from hrbridge.store import recruiting as store
from tests.factories.dag_runs import state, tasks
from tests.factories.receivers import alert_connections


def test_dag_shape(dagbag) -> None:
    dag = dagbag.dags["candidate_sync"]
    assert dag.schedule == timedelta(minutes=10) or "10" in str(dag.timetable.summary)
    assert dag.catchup is False and dag.max_active_runs == 1
    assert {t.task_id: t.pool for t in dag.tasks} == {
        "extract_and_load": "hrbridge_successfactors", "invite": "hrbridge_interview",
        "write_back": "hrbridge_successfactors", "summary": "default_pool"}
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


def _connections(monkeypatch, sf_sandbox, interview_sandbox, receiver, api_key: str = "sandbox-interview-key") -> None:
    monkeypatch.setenv("AIRFLOW_CONN_HRBRIDGE_SUCCESSFACTORS", json.dumps({
        "conn_type": "hrbridge_successfactors", "host": sf_sandbox.url, "login": "sfadmin",
        "password": "sandbox-secret", "extra": {"company_id": "SFPART000001"}}))
    monkeypatch.setenv("HRBRIDGE_INTERVIEW_URL", interview_sandbox.url)
    monkeypatch.setenv("HRBRIDGE_INTERVIEW_API_KEY", api_key)
    for name, value in alert_connections(receiver).items():
        monkeypatch.setenv(name, value)


@pytest.mark.dagrun
@pytest.mark.slow
def test_a_run_whose_invitations_all_failed_ends_failed_after_recording_and_notifies(
        dagbag, hrbridge_home, sf_sandbox, interview_sandbox, alert_receiver, monkeypatch) -> None:
    _connections(monkeypatch, sf_sandbox, interview_sandbox, alert_receiver)
    interview_sandbox.clock = lambda: datetime.now(UTC) + timedelta(days=30)  # every deadline is "past": 422
    expected = sum(1 for r in sf_sandbox.records("JobApplication") if r["status"] == "AI Interview")

    run = dagbag.dags["candidate_sync"].test()

    assert state(run) == "failed"
    outcome = tasks(run)
    assert outcome["invite"] == ("success", 1) and outcome["summary"] == ("failed", 1)  # recorded, not retried
    with hub_engine().connect() as conn:
        summary = conn.execute(sa.select(store.sync_runs)).one()
    assert summary.status == "failed" and summary.counts["invite_failed"] == expected == 12
    assert summary.counts["invited"] == 0 and summary.counts["applications_read"] == sf_sandbox.count("JobApplication")
    assert f"{expected} of {expected} invitations not posted (100%) is above the failure threshold 50%" in summary.error
    [event] = [d.json() for d in alert_receiver.deliveries if d.path == "/hooks/hrbridge"]
    assert (event["dag"], event["task"], event["run"]) == ("candidate_sync", "summary", run.run_id)
    assert "ThresholdExceeded" in event["error"] and "12 of 12 invitations not posted" in event["error"]
    assert "@" not in event["error"]


@pytest.mark.dagrun
@pytest.mark.slow
def test_a_rejected_api_key_fails_at_once_without_retry(
        dagbag, hrbridge_home, sf_sandbox, interview_sandbox, alert_receiver, monkeypatch) -> None:
    _connections(monkeypatch, sf_sandbox, interview_sandbox, alert_receiver, api_key="wrong-interview-key")

    run = dagbag.dags["candidate_sync"].test()

    assert state(run) == "failed"
    outcome = tasks(run)
    assert outcome["invite"] == ("failed", 1)  # retries=1, but a 401 is not retried
    assert outcome["write_back"].state == "upstream_failed"
    assert dagbag.dags["candidate_sync"].get_task("invite").retries == 1
    assert interview_sandbox.creations == 0
    [event] = [d.json() for d in alert_receiver.deliveries if d.path == "/hooks/hrbridge"]
    assert event["task"] == "invite" and "AuthenticationError" in event["error"] and "HTTP 401" in event["error"]
    assert "wrong-interview-key" not in json.dumps(event)
    with hub_engine().connect() as conn:
        summary = conn.execute(sa.select(store.sync_runs)).one()
    assert summary.status == "failed" and "invite failed: AirflowFailException: AuthenticationError" in summary.error
