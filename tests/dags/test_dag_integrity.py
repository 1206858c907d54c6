"""Every DAG file imports cleanly and declares its owner, retries and tags."""

from __future__ import annotations

from pathlib import Path

DAGS_DIR = Path(__file__).resolve().parents[2] / "dags"


def test_no_import_errors(dagbag) -> None:
    assert dagbag.import_errors == {}


def test_every_dag_file_defines_a_dag(dagbag) -> None:
    files = {p.resolve() for p in DAGS_DIR.glob("*.py") if not p.name.startswith("_")}
    loaded = {Path(dag.fileloc).resolve() for dag in dagbag.dags.values()}
    assert files <= loaded, f"DAG files without a DAG: {sorted(map(str, files - loaded))}"


def test_owner_retries_and_tags(dagbag) -> None:
    assert dagbag.dags, "no DAGs found"
    for dag_id, dag in dagbag.dags.items():
        assert dag.tags, f"{dag_id} has no tags"
        for task in dag.tasks:
            assert task.owner and task.owner != "airflow", f"{dag_id}.{task.task_id} has no owner"
            assert task.retries >= 1, f"{dag_id}.{task.task_id} has no retries"


def test_every_task_announces_its_failure_and_backs_off(dagbag) -> None:
    from hrbridge.operations.notify import FailureNotifier

    for dag_id, dag in dagbag.dags.items():
        for task in dag.tasks:
            callbacks = task.on_failure_callback or []
            assert any(isinstance(c, FailureNotifier) for c in callbacks), f"{dag_id}.{task.task_id} is silent"
            assert task.retry_exponential_backoff == 2.0, f"{dag_id}.{task.task_id} retries without back-off"
