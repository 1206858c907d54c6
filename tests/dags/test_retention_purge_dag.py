"""The retention_purge DAG: shape, and one real run through Airflow (plan → run → verify)."""

from __future__ import annotations

from pathlib import Path

import pytest

from governance.audit import verify_chain
from hrbridge.pipelines.retention import audit_keys
from hrbridge.settings import load_settings
from tests.factories.retention import count, expired_home, t_candidates


def test_dag_shape(dagbag) -> None:
    dag = dagbag.dags["retention_purge"]
    assert dag.catchup is False and dag.max_active_runs == 1
    assert "0 0 * * *" in repr(dag.timetable)  # @daily
    assert {"privacy", "retention", "audit"} <= set(dag.tags)
    assert dag.get_task("plan").downstream_task_ids == {"run"}
    assert dag.get_task("run").downstream_task_ids == {"verify"}
    for t in dag.tasks:
        assert t.owner == "hrbridge" and t.retries >= 1


@pytest.mark.dagrun
@pytest.mark.slow
def test_dag_run_purges_and_verifies(dagbag, hrbridge_home: Path, tmp_path: Path, monkeypatch) -> None:
    hub, _ = expired_home(tmp_path / "configs", monkeypatch, ["C1", "C2", "C3", "C4"])
    settings = load_settings()

    run = dagbag.dags["retention_purge"].test()

    assert str(getattr(run.state, "value", run.state)) == "success"
    assert count(hub, t_candidates) == 0
    report = verify_chain(hub, audit_keys(settings).public_key)
    assert report.ok and report.entries == 8  # 4 media anonymised + 4 not-hired deleted
    verify_ti = next(ti for ti in run.get_task_instances() if ti.task_id == "verify")
    pulled = verify_ti.xcom_pull(task_ids="verify")
    assert pulled["ok"] is True and pulled["entries"] == 8
