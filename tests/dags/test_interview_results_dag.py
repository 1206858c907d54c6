"""The interview_results DAG: shape, and one real run through Airflow against both sandboxes."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
import sqlalchemy as sa

from connectors.interview_rest import HrbridgeInterviewClient
from hrbridge.artefacts import artefact_store
from hrbridge.pipelines.interview_results.config import file_safe
from hrbridge.store import hub_engine
from hrbridge.store.results import interview_results, results_writeback, validation_runs
from tests.factories.dag_runs import asset_events, state, tasks
from tests.factories.receivers import alert_connections
from tests.factories.results import invite


def test_dag_shape(dagbag) -> None:
    dag = dagbag.dags["interview_results"]
    assert dag.catchup is False and dag.max_active_runs == 1
    assert {"hrbridge", "interview", "validation"} <= set(dag.tags)
    assert dag.get_task("ingest_and_validate").downstream_task_ids == {
        "write_back", "report", "announce", "check_thresholds"}
    assert dag.get_task("write_back").downstream_task_ids == {"sync_status", "check_thresholds"}
    assert dag.get_task("check_thresholds").upstream_task_ids == {
        "ingest_and_validate", "write_back", "sync_status", "report"}
    for t in dag.tasks:
        assert t.owner == "hrbridge" and t.retries >= 1
    assert {t.task_id: t.pool for t in dag.tasks if t.pool != "default_pool"} == {
        "ingest_and_validate": "hrbridge_interview", "write_back": "hrbridge_successfactors",
        "sync_status": "hrbridge_successfactors"}
    # runs every 10 minutes OR when the webhook receiver queued a delivery; stored results are announced
    assert dag.timetable.asset_condition.uri == "hrbridge://hub/results_inbox"
    assert dag.timetable.timetable.delta == timedelta(minutes=10)
    assert [o.uri for o in dag.get_task("announce").outlets] == ["hrbridge://hub/interview_results"]


@pytest.mark.slow
def test_dag_run_against_sandboxes(dagbag, hrbridge_home, sf_sandbox, interview_sandbox, monkeypatch) -> None:
    monkeypatch.setenv("AIRFLOW_CONN_HRBRIDGE_SUCCESSFACTORS", json.dumps({
        "conn_type": "http", "host": sf_sandbox.url, "login": "sfadmin", "password": "sandbox-secret",
        "extra": {"company_id": "SFPART000001"},
    }))
    monkeypatch.setenv("HRBRIDGE_INTERVIEW_URL", interview_sandbox.url)
    monkeypatch.setenv("HRBRIDGE_INTERVIEW_API_KEY", "sandbox-interview-key")
    engine = hub_engine()
    app_ids = [str(r["applicationId"]) for r in sf_sandbox.records("JobApplication")[:6]]
    client = HrbridgeInterviewClient(interview_sandbox.url, "sandbox-interview-key")
    invite(client, engine, app_ids)
    client.close()
    interview_sandbox.complete(bad_fraction=1 / 3)

    run = dagbag.dags["interview_results"].test()

    assert str(getattr(run.state, "value", run.state)) == "success"
    assert tasks(run)["announce"].state == "success" and tasks(run)["check_thresholds"].state == "success"
    assert [e["stored"] for e in asset_events("hrbridge://hub/interview_results", run.run_id)] == [4]
    with engine.connect() as conn:
        stored = conn.execute(sa.select(sa.func.count()).select_from(interview_results)).scalar_one()
        states = set(conn.execute(sa.select(results_writeback.c.state)).scalars())
        run_row = conn.execute(sa.select(validation_runs)).one()
    assert stored == 4 and run_row.quarantined == 2 and run_row.run_id.startswith("ir-")
    assert states == {"written"}
    assert run_row.report_key == f"validation/{file_safe(run_row.run_id)}.html"  # an artefact key, not a worker's path
    assert "held back" in artefact_store().get(run_row.report_key).text()
    written = [sf_sandbox.get("JobApplication", int(a)) for a in app_ids]
    assert sum(r["cust_aiOverallScore"] is not None for r in written) == 4
    assert {r["cust_aiInterviewStatus"] for r in written} == {"Completed"}


@pytest.mark.dagrun
@pytest.mark.slow
def test_a_run_that_quarantined_every_result_ends_failed_after_its_report(
        dagbag, hrbridge_home, sf_sandbox, interview_sandbox, alert_receiver, monkeypatch) -> None:
    monkeypatch.setenv("HRBRIDGE_SF_URL", sf_sandbox.url)
    monkeypatch.setenv("HRBRIDGE_SF_USER", "sfadmin")
    monkeypatch.setenv("HRBRIDGE_SF_PASSWORD", "sandbox-secret")
    monkeypatch.setenv("HRBRIDGE_SF_COMPANY_ID", "SFPART000001")
    monkeypatch.setenv("HRBRIDGE_INTERVIEW_URL", interview_sandbox.url)
    monkeypatch.setenv("HRBRIDGE_INTERVIEW_API_KEY", "sandbox-interview-key")
    for name, value in alert_connections(alert_receiver).items():
        monkeypatch.setenv(name, value)
    engine = hub_engine()
    app_ids = [str(r["applicationId"]) for r in sf_sandbox.records("JobApplication")[:12]]
    client = HrbridgeInterviewClient(interview_sandbox.url, "sandbox-interview-key")
    invite(client, engine, app_ids)
    client.close()
    interview_sandbox.complete(bad_fraction=1.0)

    run = dagbag.dags["interview_results"].test()

    assert state(run) == "failed"
    outcome = tasks(run)
    assert outcome["check_thresholds"] == ("failed", 1)  # a verdict, not retried
    assert outcome["report"].state == "success" and outcome["write_back"].state == "success"
    assert outcome["announce"].state == "skipped"  # nothing stored: no asset event for archive_sync
    with engine.connect() as conn:
        run_row = conn.execute(sa.select(validation_runs)).one()
    assert (run_row.stored, run_row.quarantined) == (0, 12) and artefact_store().exists(run_row.report_key)
    [event] = [d.json() for d in alert_receiver.deliveries if d.path == "/hooks/hrbridge"]
    assert (event["dag"], event["task"]) == ("interview_results", "check_thresholds")
    assert "12 of 12 results quarantined (100%) is above the failure threshold 50%" in event["error"]
