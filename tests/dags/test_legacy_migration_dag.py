"""The legacy_migration DAG: shape, and one real run through Airflow with a small CSV."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from benchmarks.generate_legacy import generate, write
from hrbridge.artefacts import artefact_store
from tests.integration.test_migration import target_count


def test_dag_shape(dagbag) -> None:
    dag = dagbag.dags["legacy_migration"]
    assert dag.schedule is None or str(dag.timetable.summary) in {"None", "Never"}
    assert {"hrbridge", "migration"} <= set(dag.tags)
    assert set(dag.task_ids) == {"plan", "migrate_batch", "verify", "report"}
    assert {"source", "table", "sheet", "mapping", "target", "batch_size", "run_id"} <= set(dag.params.keys())
    assert dag.get_task("migrate_batch").max_active_tis_per_dagrun == 1
    assert all(t.owner == "hrbridge" and t.retries >= 1 for t in dag.tasks)


@pytest.mark.slow
def test_dag_run_migrates_and_verifies(dagbag, hrbridge_home: Path, tmp_path: Path) -> None:
    frame, injected = generate(600, seed=21)
    source = write(frame, tmp_path / "legacy.csv", encoding="gbk")
    target = f"sqlite:///{tmp_path / 'archive.db'}"
    run = dagbag.dags["legacy_migration"].test(run_conf={
        "source": str(source), "target": target, "batch_size": 200})
    assert str(getattr(run.state, "value", run.state)) == "success"
    stored = {info.name.rsplit("/", 1)[1]: info.key for info in artefact_store().list("migration")}
    assert set(stored) == {"report.json", "report.html"}  # kept in the store, not on a worker's disk
    report = json.loads(artefact_store().get(stored["report.json"]).data)
    assert report["batches"] == 3
    assert (report["source_rows"], report["loaded_rows"], report["quarantined_rows"], report["duplicates_merged"]) == (
        injected.rows, injected.expected_clean_rows, injected.quarantined_rows, injected.duplicates_merged)
    assert report["verified_rows"] == injected.expected_clean_rows and report["passed"]
    assert "<svg" in artefact_store().get(stored["report.html"]).text()
    assert target_count(target) == injected.expected_clean_rows
