"""The retention_purge DAG: shape, a run below the approval threshold, and runs that wait for a person.

Runs above the threshold park the ``approve`` task in Airflow's awaiting-input state; a second
thread answers through Airflow's own Core API (the Required Actions page's REST call), exactly as
a person would, while ``dag.test()`` keeps the run alive.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest

from governance.audit import verify_chain
from hrbridge.pipelines.retention import audit_keys
from hrbridge.settings import load_settings
from tests.factories.dag_runs import state, tasks
from tests.factories.hitl import answer_retention_approval, pending_approvals
from tests.factories.receivers import alert_connections
from tests.factories.retention import count, expired_home, t_candidates, t_results

CANDIDATES = ["C1", "C2", "C3", "C4"]  # 8 people counted per policy, 16 records


def test_dag_shape(dagbag) -> None:
    dag = dagbag.dags["retention_purge"]
    assert dag.catchup is False and dag.max_active_runs == 1
    assert "0 0 * * *" in repr(dag.timetable)  # @daily
    assert {"privacy", "retention", "audit"} <= set(dag.tags)
    assert dag.get_task("plan").downstream_task_ids == {"needs_approval", "run", "report"}
    assert dag.get_task("needs_approval").downstream_task_ids == {"approve", "within_threshold"}
    assert dag.get_task("run").upstream_task_ids == {"plan", "approve", "within_threshold"}
    assert dag.get_task("run").downstream_task_ids == {"verify"}
    assert dag.get_task("verify").downstream_task_ids == {"report"}
    approve = dag.get_task("approve")
    assert approve.options == ["Approve", "Reject"] and approve.defaults == ["Reject"]
    assert approve.response_timeout.total_seconds() == 72 * 3600
    assert dag.get_task("run").pool == "hrbridge_interview"
    for t in dag.tasks:
        assert t.owner == "hrbridge" and t.retries >= 1


def gate(config_dir: Path, max_subjects: int, max_records: int) -> None:
    """Write the approval threshold into the test's configs folder."""
    (config_dir / "operations.yaml").write_text(
        f"retention_approval: {{max_subjects: {max_subjects}, max_records: {max_records}}}\n", encoding="utf-8")


@pytest.mark.dagrun
@pytest.mark.slow
def test_a_run_below_the_threshold_purges_without_asking(dagbag, hrbridge_home: Path, tmp_path: Path,
                                                         monkeypatch) -> None:
    hub, _ = expired_home(tmp_path / "configs", monkeypatch, CANDIDATES)
    gate(tmp_path / "configs", max_subjects=8, max_records=16)
    settings = load_settings()

    run = dagbag.dags["retention_purge"].test()

    assert state(run) == "success"
    outcome = tasks(run)
    assert outcome["approve"].state == "skipped" and outcome["within_threshold"].state == "success"
    assert count(hub, t_candidates) == 0
    report = verify_chain(hub, audit_keys(settings).public_key)
    assert report.ok and report.entries == 8  # 4 media anonymised + 4 not-hired deleted
    tis = {ti.task_id: ti for ti in run.get_task_instances()}
    assert tis["verify"].xcom_pull(task_ids="verify")["entries"] == 8
    said = tis["report"].xcom_pull(task_ids="report")
    assert said["outcome"] == "deleted" and said["approval"] == "not asked" and said["subjects"] == 8


@pytest.fixture
def core_api(monkeypatch) -> Iterator[Any]:
    """Airflow's Core API app on this test's metadata database (every caller an admin, as in standalone mode)."""
    from airflow.api_fastapi.app import create_app
    from fastapi.testclient import TestClient

    monkeypatch.setenv("AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_ALL_ADMINS", "True")
    with TestClient(create_app()) as client:
        yield client


def run_and_answer(dag: Any, api: Any, option: str, rows: Any) -> tuple[Any, dict[str, Any]]:
    """``dag.test()`` here; a person (another thread) answers the approval through the REST API."""
    seen: dict[str, Any] = {}
    errors: list[BaseException] = []

    def person() -> None:
        try:
            seen.update(answer_retention_approval(api, option, rows, timeout=240))
        except BaseException as exc:  # noqa: BLE001 - re-raised in the test thread below
            errors.append(exc)
            for detail in pending_approvals(api, "retention_purge"):  # unblock the run; the test fails anyway
                from tests.factories.hitl import answer

                answer(api, detail, "Reject")

    responder = threading.Thread(target=person, daemon=True)
    responder.start()
    run = dag.test()
    responder.join(timeout=60)
    if errors:
        raise errors[0]
    return run, seen


@pytest.mark.dagrun
@pytest.mark.slow
def test_above_the_threshold_nothing_is_deleted_until_approved(dagbag, hrbridge_home: Path, tmp_path: Path,
                                                               monkeypatch, core_api, alert_receiver) -> None:
    hub, _ = expired_home(tmp_path / "configs", monkeypatch, CANDIDATES)
    gate(tmp_path / "configs", max_subjects=5, max_records=50)
    (tmp_path / "configs" / "notifications.yaml").write_text(
        "on_failure: [{kind: webhook, conn_id: hrbridge_alert_webhook}]\n", encoding="utf-8")
    for name, value in alert_connections(alert_receiver).items():
        monkeypatch.setenv(name, value)

    run, asked = run_and_answer(dagbag.dags["retention_purge"], core_api, "Approve", lambda: count(hub, t_candidates))

    assert state(run) == "success"
    assert asked["subject"] == "Approve retention deletions: 8 people, 16 records"
    assert "| policy:not-hired-180d | delete | 4 | hub.t_applications: 4, hub.t_candidates: 4, hub.t_results: 4 |" \
        in asked["body"]
    assert not any(f"Name {c}" in asked["body"] or f"{c} " in asked["body"] for c in CANDIDATES)
    assert count(hub, t_candidates) == 0 and count(hub, t_results) == 0
    said = {ti.task_id: ti for ti in run.get_task_instances()}["report"].xcom_pull(task_ids="report")
    assert said["outcome"] == "deleted" and said["approval"] == "Approve" and said["approved_by"]
    [notice] = [d.json() for d in alert_receiver.deliveries]  # the approver was told a decision waits
    assert notice["event"] == "approval_requested" and "8 people, 16 records" in notice["title"]
    assert notice["respond"].endswith(f"/dags/retention_purge/runs/{quote(run.run_id)}/tasks/approve/required_actions")


@pytest.mark.dagrun
@pytest.mark.slow
def test_a_rejected_plan_deletes_nothing_and_the_run_says_so(dagbag, hrbridge_home: Path, tmp_path: Path,
                                                             monkeypatch, core_api) -> None:
    hub, _ = expired_home(tmp_path / "configs", monkeypatch, CANDIDATES)
    gate(tmp_path / "configs", max_subjects=5, max_records=50)

    run, _ = run_and_answer(dagbag.dags["retention_purge"], core_api, "Reject", lambda: count(hub, t_candidates))

    assert state(run) == "success"  # the run did what it was told: nothing
    outcome = tasks(run)
    assert outcome["run"].state == outcome["verify"].state == "skipped" and outcome["report"].state == "success"
    assert count(hub, t_candidates) == 4 and count(hub, t_results) == 4
    said = {ti.task_id: ti for ti in run.get_task_instances()}["report"].xcom_pull(task_ids="report")
    assert said["outcome"] == "rejected" and said["subjects"] == 0 and said["planned_subjects"] == 8
    assert said["message"].startswith("nothing deleted: the plan (8 people, 16 records) was rejected by ")
