"""archive_sync: hired applications → employee archive (person, employment, interview portrait).

Daily, and whenever ``interview_results`` stored results (asset ``hrbridge://hub/interview_results``).
Idempotent: a rerun changes nothing; one person keeps one archive record across rehires. A hire
that cannot be archived fails the run after the others are archived (failure_thresholds in
configs/operations.yaml). Logic lives in ``hrbridge.pipelines.archive_sync``; the archive is
``HRBRIDGE_ARCHIVE_URL``.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from airflow.sdk import AssetOrTimeSchedule, CronTriggerTimetable, dag, get_current_context, task

from hrbridge.assets import INTERVIEW_RESULTS
from hrbridge.operations.defaults import task_defaults
from hrbridge.operations.errors import fail_fast


@dag(
    dag_id="archive_sync",
    schedule=AssetOrTimeSchedule(timetable=CronTriggerTimetable("@daily", timezone="UTC"),
                                 assets=INTERVIEW_RESULTS),
    start_date=datetime(2026, 1, 1),
    catchup=False,
    max_active_runs=1,
    default_args=task_defaults(retry_delay=timedelta(minutes=5)),
    tags=["hrbridge", "archive", "employees"],
    doc_md=__doc__,
)
def archive_sync() -> None:
    @task
    @fail_fast
    def archive_hires() -> dict[str, Any]:
        from hrbridge.archive import archive_engine
        from hrbridge.operations.thresholds import enforce
        from hrbridge.pipelines.archive_sync import run_archive_sync
        from hrbridge.store import hub_engine

        summary = run_archive_sync(hub_engine(), archive_engine())
        enforce("archive_sync", get_current_context()["run_id"],
                {"archived": summary.archived, "skipped": len(summary.skipped)})
        return summary.to_dict()

    archive_hires()


archive_sync()
