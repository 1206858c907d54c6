"""The legacy_migration DAG: shape, and one real run through Airflow with a small CSV."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from benchmarks.generate_legacy import generate, write
from hrbridge.artefacts import artefact_store
from hrbridge.settings import load_settings
from tests.factories.dag_runs import state, tasks
from tests.integration.test_migration import target_count


def test_dag_shape(dagbag) -> None:
    dag = dagbag.dags["legacy_migration"]
    assert dag.schedule is None or str(dag.timetable.summary) in {"None", "Never"}
    assert {"hrbridge", "migration"} <= set(dag.tags)
    assert set(dag.task_ids) == {"plan", "migrate_batch", "verify", "report"}
    assert {"source", "table", "sheet", "mapping", "target", "batch_size", "run_id"} <= set(dag.params.keys())
    assert dag.get_task("migrate_batch").max_active_tis_per_dagrun == 1
    assert all(t.owner == "hrbridge" and t.retries >= 1 for t in dag.tasks)


def test_the_trigger_form_declares_source_required_and_the_rest_optional(dagbag) -> None:
    dag = dagbag.dags["legacy_migration"]
    schema = {name: dag.params.get_param(name).schema for name in dag.params}
    assert schema["source"] == {"type": "string", "minLength": 1}
    assert not dag.params.get_param("source").has_value  # nothing to pre-fill: the form asks for it
    optional = ("table", "sheet", "encoding", "target", "run_id", "report_dir", "spill_dir")
    assert all(schema[name]["type"] == ["null", "string"] for name in optional)
    assert all(dag.params.get_param(name).value is None for name in optional)
    assert schema["batch_size"] == {"type": "integer", "minimum": 1, "maximum": 100_000}


@pytest.mark.dagrun
@pytest.mark.slow
def test_a_run_with_only_source_filled_in_migrates(dagbag, hrbridge_home: Path, tmp_path: Path) -> None:
    dag = dagbag.dags["legacy_migration"]
    frame, injected = generate(150, seed=5)
    form = {name: dag.params.get_param(name).value for name in dag.params if name != "source"}
    form["source"] = str(write(frame, tmp_path / "legacy.csv"))  # what the form sends with one field filled

    run = dag.test(run_conf=form)

    assert state(run) == "success"
    assert target_count(load_settings().archive_url) == injected.expected_clean_rows


@pytest.mark.parametrize("conf, message", [
    ({}, "param source: No value passed"),
    ({"source": ""}, "should be non-empty"),
    ({"source": "/data/x.csv", "batch_size": 0}, "0 is less than the minimum of 1"),
    ({"source": "/data/x.csv", "batch_size": "many"}, "'many' is not of type 'integer'"),
    ({"source": "/data/x.csv", "table": 5}, "5 is not of type 'null', 'string'"),
])
def test_bad_params_are_refused_when_the_run_is_triggered(dagbag, conf, message) -> None:
    from airflow.sdk.exceptions import ParamValidationError

    with pytest.raises(ParamValidationError, match=message):
        dagbag.dags["legacy_migration"].test(run_conf=conf)


@pytest.mark.dagrun
def test_a_missing_source_file_fails_at_once_without_retry(dagbag, hrbridge_home: Path, tmp_path: Path) -> None:
    run = dagbag.dags["legacy_migration"].test(run_conf={"source": str(tmp_path / "gone.csv")})

    assert state(run) == "failed"
    assert tasks(run)["plan"] == ("failed", 1)  # retries=2, but a missing file stays missing
    assert dagbag.dags["legacy_migration"].get_task("plan").retries == 2


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
