"""The archive_sync DAG: shape, and one real run through Airflow into the archive database."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from hrbridge.archive import archive_engine, employments, persons, portraits
from hrbridge.store import hub_engine
from tests.factories.results import hub_application, hub_result


def test_dag_shape(dagbag) -> None:
    dag = dagbag.dags["archive_sync"]
    assert dag.catchup is False and {"hrbridge", "archive"} <= set(dag.tags)
    assert dag.task_ids == ["archive_hires"]
    assert all(t.owner == "hrbridge" and t.retries >= 1 for t in dag.tasks)
    # daily, and whenever interview_results stored results
    assert dag.timetable.asset_condition.uri == "hrbridge://hub/interview_results"
    assert dag.timetable.timetable.expression == "0 0 * * *"


@pytest.mark.slow
def test_dag_run_archives_hires(dagbag, hrbridge_home) -> None:
    hub = hub_engine()
    hub_application(hub, "8001", "C-81", email="a@example.com")
    hub_application(hub, "8002", "C-82", email="b@example.com", status="Offer")
    hub_result(hub, "R-81", "8001", "C-81")

    run = dagbag.dags["archive_sync"].test()

    assert str(getattr(run.state, "value", run.state)) == "success"
    with archive_engine().connect() as conn:
        counts = [conn.execute(sa.select(sa.func.count()).select_from(t)).scalar_one()
                  for t in (persons, employments, portraits)]
    assert counts == [1, 1, 1]
