"""legacy_migration: a legacy HR export or database → the employee archive, batch by batch, verified.

Manual trigger with params: only ``source`` is required (the trigger form can be submitted with it
alone; optional params are empty = default), numbers are checked against their bounds when the run
is triggered, and a run whose input is wrong (missing file, bad mapping) fails at once without
retries. ``plan`` returns small batch descriptors; ``migrate_batch`` is mapped over them (one
task per batch, each a no-op once its checkpoint is committed, run one at a time so cross-batch
dedupe sees every batch committed before it); ``verify`` reconciles every row against the target and
stores the report (artefact store); ``report`` returns the HTML page's artefact key and fails the run
when the integrity ratio is below the threshold. Logic lives in
``hrbridge.pipelines.migration``; the target defaults to ``HRBRIDGE_ARCHIVE_URL``.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from airflow.sdk import Param, dag, get_current_context, task

from hrbridge.operations.defaults import task_defaults
from hrbridge.operations.errors import fail_fast


def _options() -> Any:
    from hrbridge.operations.params import migration_options

    return migration_options(get_current_context()["params"])


def _optional(description: str) -> Param:
    """An optional text param: empty in the trigger form, None when not given."""
    return Param(None, type=["null", "string"], description=description)


@dag(
    dag_id="legacy_migration",
    schedule=None,
    start_date=datetime(2026, 1, 1),
    catchup=False,
    max_active_runs=1,
    default_args=task_defaults(retries=2, retry_delay=timedelta(seconds=30)),
    tags=["hrbridge", "migration", "archive"],
    doc_md=__doc__,
    params={
        "source": Param(type="string", minLength=1, description="file (.csv/.xlsx/.parquet) or database URL"),
        "table": _optional("source table (database sources)"),
        "sheet": _optional("sheet (Excel sources)"),
        "encoding": _optional("CSV encoding override (default: detected)"),
        "mapping": Param("auto", type="string", minLength=1, description="mapping YAML path or 'auto'"),
        "target": _optional("archive DB URL (default HRBRIDGE_ARCHIVE_URL)"),
        "target_table": Param("employees", type="string", minLength=1, description="table in the target database"),
        "batch_size": Param(50_000, type="integer", minimum=1, maximum=100_000, description="rows per batch"),
        "run_id": _optional("resume this run (default: derived from source, target and table)"),
        "threshold": Param(0.999, type="number", minimum=0, maximum=1,
                           description="integrity ratio the verification must reach"),
        "report_dir": _optional("where the verification report is written (default: the reports folder)"),
        "spill_dir": _optional("scratch directory for the key index and verification files "
                               "(default: the worker's temporary directory)"),
    },
)
def legacy_migration() -> None:
    @task
    @fail_fast
    def plan() -> list[dict[str, Any]]:
        from hrbridge.pipelines.migration import plan as plan_batches

        return plan_batches(_options())

    @task(max_active_tis_per_dagrun=1)
    @fail_fast
    def migrate_batch(batch: dict[str, Any]) -> dict[str, Any]:
        from hrbridge.pipelines.migration import migrate_batch as load_one

        return {**load_one(_options(), batch), "run_id": batch["run_id"]}

    @task(trigger_rule="none_failed")
    @fail_fast
    def verify(results: list[dict[str, Any]]) -> dict[str, Any]:
        from hrbridge.pipelines.migration import verify_run

        results = list(results or [])
        outcome = verify_run(_options(), run_id=results[0]["run_id"] if results else None)
        keys = ("run_id", "source_rows", "loaded_rows", "quarantined_rows", "duplicates_merged",
                "verified_rows", "mismatched_rows", "integrity_ratio", "threshold", "passed")
        return {**{k: outcome.report[k] for k in keys}, "report_json": outcome.json_key,
                "report_html": outcome.html_key}  # artefact keys, readable from any worker

    @task
    def report(summary: dict[str, Any]) -> str:
        from airflow.sdk.exceptions import AirflowFailException

        if not summary["passed"]:
            raise AirflowFailException(f"integrity {summary['integrity_ratio']:.4%} is below {summary['threshold']:.2%}: "
                             f"see artefact {summary['report_html']}")
        return summary["report_html"]

    report(verify(migrate_batch.expand(batch=plan())))


legacy_migration()
