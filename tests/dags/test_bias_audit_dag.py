"""The bias_audit DAG: shape, and one real run whose planted disparity fails the gate (and is announced)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from hrbridge.store import hub_engine
from hrbridge.store.results import interview_results
from tests.factories.dag_runs import state, tasks
from tests.factories.fairness import population
from tests.factories.receivers import alert_connections


def test_dag_shape(dagbag) -> None:
    dag = dagbag.dags["bias_audit"]
    assert dag.catchup is False and {"fairness", "audit"} <= set(dag.tags)
    assert "0 0 1 * *" in repr(dag.timetable)  # @monthly
    assert dag.get_task("audit").downstream_task_ids == {"gate"}
    assert "period" in dag.params


@pytest.mark.slow
def test_a_planted_disparity_fails_the_gate_once_and_sends_the_failure_notice(dagbag, hrbridge_home, alert_receiver,
                                                                              monkeypatch) -> None:
    from hrbridge.pipelines.bias_audit import store_categories

    for name, value in alert_connections(alert_receiver).items():
        monkeypatch.setenv(name, value)
    hub, rows = hub_engine(), population()
    with hub.begin() as conn:
        conn.execute(interview_results.insert(), [{
            "result_id": f"R{r['application_id']}", "invitation_id": f"I{r['application_id']}",
            "candidate_id": r["candidate_id"], "application_id": r["application_id"], "job_family": r["job_family"],
            "completed_at": datetime(2026, 11, 3, tzinfo=UTC), "overall_score": r["overall_score"], "dimensions": [],
            "keywords": [], "clips": [], "source": "poll", "run_id": "r",
            "stored_at": datetime(2026, 11, 3, tzinfo=UTC)} for r in rows])
    store_categories(hub, rows, role="auditor", source="survey")

    run = dagbag.dags["bias_audit"].test(run_conf={"period": "2026-11"})

    assert state(run) == "failed"
    outcome = tasks(run)
    assert outcome["audit"].state == "success"
    assert outcome["gate"] == ("failed", 1)  # not retried: a person must look at it
    notices = [d.json() for d in alert_receiver.deliveries if d.path.startswith("/hooks")]
    assert any(n["event"] == "task_failed" and "below the floor" in n["error"] for n in notices)
