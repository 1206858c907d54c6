"""archive_sync: hired applications → employee archive (person, employment, interview portrait).

Daily. Idempotent: a rerun changes nothing; one person keeps one archive record across rehires.
Logic lives in ``hrbridge.pipelines.archive_sync``; the archive is ``HRBRIDGE_ARCHIVE_URL``.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from airflow.sdk import dag, task

DEFAULT_ARGS = {"owner": "hrbridge", "retries": 1, "retry_delay": timedelta(minutes=5)}


@dag(
    dag_id="archive_sync",
    schedule="@daily",
    start_date=datetime(2026, 1, 1),
    catchup=False,
    max_active_runs=1,
    default_args=DEFAULT_ARGS,
    tags=["hrbridge", "archive", "employees"],
    doc_md=__doc__,
)
def archive_sync() -> None:
    @task
    def archive_hires() -> dict[str, Any]:
        from hrbridge.archive import archive_engine
        from hrbridge.pipelines.archive_sync import run_archive_sync
        from hrbridge.store import hub_engine

        summary = run_archive_sync(hub_engine(), archive_engine())
        if summary.skipped:
            raise ValueError(f"{len(summary.skipped)} hires could not be archived: {summary.skipped}")
        return summary.to_dict()

    archive_hires()


archive_sync()
