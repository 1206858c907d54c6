"""legacy_migration: a legacy HR export or database → the employee archive, batch by batch, verified.

Manual trigger with params (source, table/sheet, mapping, target, batch_size, run_id). ``plan``
returns small batch descriptors; ``migrate_batch`` is mapped over them (one task per batch, each a
no-op once its checkpoint is committed, run one at a time so cross-batch dedupe sees every
batch committed before it); ``verify`` reconciles every row against the target and stores the report (artefact store);
``report`` returns the HTML page's artefact key and fails the run when the integrity ratio is below the threshold. Logic lives in
``hrbridge.pipelines.migration``; the target defaults to ``HRBRIDGE_ARCHIVE_URL``.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from airflow.sdk import Param, dag, get_current_context, task

DEFAULT_ARGS = {"owner": "hrbridge", "retries": 2, "retry_delay": timedelta(seconds=30)}


def _options() -> Any:
    from hrbridge.pipelines.migration import MigrationOptions
    from hrbridge.settings import load_settings

    params = get_current_context()["params"]
    return MigrationOptions(
        source=params["source"], target=params.get("target") or load_settings().ensure_dirs().archive_url,
        mapping=params.get("mapping") or "auto", table=params.get("table") or None,
        sheet=params.get("sheet") or None, encoding=params.get("encoding") or None,
        batch_size=int(params.get("batch_size") or 50_000), run_id=params.get("run_id") or None,
        target_table=params.get("target_table") or "employees",
        threshold=float(params.get("threshold") or 0.999), report_dir=params.get("report_dir") or None,
        spill_dir=params.get("spill_dir") or None)


@dag(
    dag_id="legacy_migration",
    schedule=None,
    start_date=datetime(2026, 1, 1),
    catchup=False,
    max_active_runs=1,
    default_args=DEFAULT_ARGS,
    tags=["hrbridge", "migration", "archive"],
    doc_md=__doc__,
    params={
        "source": Param("", type="string", description="file (.csv/.xlsx/.parquet) or database URL"),
        "table": Param("", type="string", description="source table (database sources)"),
        "sheet": Param("", type="string", description="sheet (Excel sources)"),
        "encoding": Param("", type="string", description="CSV encoding override"),
        "mapping": Param("auto", type="string", description="mapping YAML path or 'auto'"),
        "target": Param("", type="string", description="archive DB URL (default HRBRIDGE_ARCHIVE_URL)"),
        "target_table": Param("employees", type="string"),
        "batch_size": Param(50_000, type="integer", minimum=1, maximum=100_000),
        "run_id": Param("", type="string", description="resume this run (default: derived from source)"),
        "threshold": Param(0.999, type="number", minimum=0, maximum=1),
        "report_dir": Param("", type="string"),
        "spill_dir": Param("", type="string", description="scratch directory for the key index and "
                           "verification files (default: the worker's temporary directory)"),
    },
)
def legacy_migration() -> None:
    @task
    def plan() -> list[dict[str, Any]]:
        from hrbridge.pipelines.migration import plan as plan_batches

        return plan_batches(_options())

    @task(max_active_tis_per_dagrun=1)
    def migrate_batch(batch: dict[str, Any]) -> dict[str, Any]:
        from hrbridge.pipelines.migration import migrate_batch as load_one

        return {**load_one(_options(), batch), "run_id": batch["run_id"]}

    @task(trigger_rule="none_failed")
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
