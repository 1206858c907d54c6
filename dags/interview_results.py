"""interview_results: completed AI-interview results → validated → stored → written back → report.

Every 10 minutes, and whenever the webhook receiver queued a verified delivery (asset
``hrbridge://hub/results_inbox``). Tasks pass run ids and counts through XCom; data lives in the
hub. Logic lives in ``hrbridge.pipelines.interview_results``; connectors come from the Airflow
Connections ``hrbridge_successfactors`` / ``hrbridge_interview`` (or HRBRIDGE_* env for local
runs). ``announce`` emits ``hrbridge://hub/interview_results`` when results were stored (that
schedules archive_sync); ``check_thresholds`` runs last and fails the run when too many results
were quarantined or too many write-backs failed (failure_thresholds in configs/operations.yaml).
The GX Data Docs of a run are built while it validates, by the suite's Checkpoint (about 0.2 s a
batch); the HR ops page is built outside the hot path, in the report task.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from airflow.sdk import AssetOrTimeSchedule, DeltaTriggerTimetable, dag, get_current_context, task

from hrbridge.assets import INTERVIEW_RESULTS, RESULTS_INBOX
from hrbridge.operations.config import INTERVIEW_POOL, SUCCESSFACTORS_POOL
from hrbridge.operations.defaults import task_defaults
from hrbridge.operations.errors import fail_fast


def _run_id() -> str:
    return f"ir-{get_current_context()['run_id']}"[:64]


@dag(
    dag_id="interview_results",
    schedule=AssetOrTimeSchedule(timetable=DeltaTriggerTimetable(timedelta(minutes=10)), assets=RESULTS_INBOX),
    start_date=datetime(2026, 1, 1),
    catchup=False,
    max_active_runs=1,
    default_args=task_defaults(retry_delay=timedelta(minutes=1)),
    tags=["hrbridge", "interview", "validation", "successfactors"],
    doc_md=__doc__,
)
def interview_results() -> None:
    @task(pool=INTERVIEW_POOL)
    @fail_fast
    def ingest_and_validate() -> dict[str, Any]:
        from hrbridge.pipelines.interview_results import ingest_results
        from hrbridge.store import hub_engine
        from plugins.hrbridge_provider import interview_platform

        counts = ingest_results(interview_platform(), hub_engine(), run_id=_run_id())
        return {"run_id": counts.run_id, "read": counts.read, "stored": counts.stored,
                "quarantined": counts.quarantined, "duplicates": counts.duplicates, "failures": counts.failures}

    @task(outlets=[INTERVIEW_RESULTS])
    def announce(ingested: dict[str, Any]) -> dict[str, Any]:
        """Emit the interview_results asset event when results were stored; skipped (no event) otherwise."""
        from airflow.sdk.exceptions import AirflowSkipException

        if not ingested["stored"]:
            raise AirflowSkipException("no results stored: no asset event")
        get_current_context()["outlet_events"][INTERVIEW_RESULTS].extra = {
            "validation_run": ingested["run_id"], "stored": ingested["stored"]}
        return {"stored": ingested["stored"]}

    @task(pool=SUCCESSFACTORS_POOL)
    @fail_fast
    def write_back(ingested: dict[str, Any]) -> dict[str, int]:
        from hrbridge.pipelines.interview_results import write_back as send
        from hrbridge.sources import results_target
        from hrbridge.store import hub_engine
        from plugins.hrbridge_provider import hr_source, successfactors

        counts = send(results_target(build=hr_source, default=successfactors), hub_engine())
        return {"written": counts.written, "failed": counts.failed, "pending": counts.pending}

    @task(pool=SUCCESSFACTORS_POOL)
    @fail_fast
    def sync_status(written: dict[str, int]) -> dict[str, int]:
        from hrbridge.pipelines.interview_results import sync_statuses
        from hrbridge.sources import results_target
        from hrbridge.store import hub_engine
        from plugins.hrbridge_provider import hr_source, interview_platform, successfactors

        target = results_target(build=hr_source, default=successfactors)
        counts = sync_statuses(target, interview_platform(), hub_engine())
        return {"checked": counts.checked, "written": counts.written, "failed": counts.failed}

    @task
    @fail_fast
    def report(ingested: dict[str, Any]) -> str:
        import logging

        from hrbridge.pipelines.interview_results import build_validation_report
        from hrbridge.store import hub_engine

        report = build_validation_report(hub_engine(), run_id=ingested["run_id"])
        logging.getLogger("hrbridge.report").info("validation report: artefact %s", report.page)
        return report.page  # an artefact key: any worker or api-server reads it from the store

    @task
    @fail_fast
    def check_thresholds(ingested: dict[str, Any], written: dict[str, int], statuses: dict[str, int],
                         report_key: str) -> dict[str, int]:
        """Fail the run when too many results were quarantined or writes failed (after everything was recorded)."""
        from hrbridge.operations.thresholds import enforce

        counts = {"stored": ingested["stored"], "quarantined": ingested["quarantined"],
                  "written_back": written["written"], "write_back_failed": written["failed"],
                  "status_written": statuses["written"], "status_failed": statuses["failed"]}
        enforce("interview_results", ingested["run_id"], counts)
        return counts

    ingested = ingest_and_validate()
    announce(ingested)
    written = write_back(ingested)
    statuses = sync_status(written)
    check_thresholds(ingested, written, statuses, report(ingested))


interview_results()
