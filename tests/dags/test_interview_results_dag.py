"""The interview_results DAG: shape, and one real run through Airflow against both sandboxes."""

from __future__ import annotations

import json

import pytest
import sqlalchemy as sa

from connectors.interview_rest import HrbridgeInterviewClient
from hrbridge.artefacts import artefact_store
from hrbridge.pipelines.interview_results.config import file_safe
from hrbridge.store import hub_engine
from hrbridge.store.results import interview_results, results_writeback, validation_runs
from tests.factories.results import invite


def test_dag_shape(dagbag) -> None:
    dag = dagbag.dags["interview_results"]
    assert dag.catchup is False and dag.max_active_runs == 1
    assert {"hrbridge", "interview", "validation"} <= set(dag.tags)
    assert dag.get_task("ingest_and_validate").downstream_task_ids == {"write_back", "report"}
    assert dag.get_task("write_back").downstream_task_ids == {"sync_status"}
    for t in dag.tasks:
        assert t.owner == "hrbridge" and t.retries >= 1


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
