"""Through a real scheduler: retention_purge's first scheduled run after unpausing waits for a person.

A dag-processor, a scheduler (LocalExecutor) and an api-server on loopback, from the repo's DAGs.
Unpausing ``retention_purge`` makes the scheduler start its run for the last day; that run parks
``approve`` in ``awaiting_input`` and deletes nothing until someone approves through the REST API
(what the Required Actions page sends). The same services show that a ``legacy_migration`` trigger
without ``source`` is refused by the API before any run exists.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.factories.airflow_services import AirflowServices
from tests.factories.hitl import answer_retention_approval
from tests.factories.retention import count, expired_home, t_candidates

pytestmark = [pytest.mark.slow, pytest.mark.dagrun]


@pytest.fixture
def services(hrbridge_home: Path, tmp_path: Path, monkeypatch) -> Iterator[tuple[AirflowServices, object]]:
    hub, _ = expired_home(tmp_path / "configs", monkeypatch, ["C1", "C2", "C3", "C4"])  # 8 people, 16 records
    env = {"HRBRIDGE_HOME": str(hrbridge_home), "HRBRIDGE_CONFIG_DIR": str(tmp_path / "configs"),
           "HRBRIDGE_REPORTS_DIR": str(hrbridge_home / "reports")}
    airflow = AirflowServices(tmp_path / "airflow", extra_env=env)
    try:
        yield airflow.start(), hub
    finally:
        airflow.stop()


def test_the_first_scheduled_run_waits_for_approval_then_deletes(services) -> None:
    airflow, hub = services
    airflow.wait_for_dag("retention_purge")
    assert airflow.api.get("/api/v2/pools/hrbridge_interview").json()["slots"] == 4  # created by the set-up

    refused = airflow.api.post("/api/v2/dags/legacy_migration/dagRuns", json={"logical_date": None, "conf": {}})
    assert refused.status_code == 400 and "source" in refused.text  # params are checked at trigger time
    assert airflow.runs("legacy_migration") == []

    assert airflow.api.patch("/api/v2/dags/retention_purge", json={"is_paused": False}).status_code == 200
    asked = answer_retention_approval(airflow.api, "Approve", lambda: count(hub, t_candidates), timeout=300)

    assert asked["subject"] == "Approve retention deletions: 8 people, 16 records"
    [run] = airflow.runs("retention_purge")
    assert run["run_type"] == "scheduled"
    assert airflow.wait_for_run_state("retention_purge", run["dag_run_id"], {"success", "failed"}) == "success"
    assert count(hub, t_candidates) == 0
