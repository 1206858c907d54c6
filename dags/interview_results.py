"""interview_results: completed AI-interview results → validated → stored → written back → report.

Every 10 minutes (the signed webhook, ``hrbridge webhook serve``, is the faster path into the same
inbox). Tasks pass run ids and counts through XCom; data lives in the hub. Logic lives in
``hrbridge.pipelines.interview_results``; connectors come from the Airflow Connections
``hrbridge_successfactors`` / ``hrbridge_interview`` (or HRBRIDGE_* env for local runs). The HTML
report and GX Data Docs are built by the last task, outside the hot path.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from airflow.sdk import dag, get_current_context, task

DEFAULT_ARGS = {"owner": "hrbridge", "retries": 1, "retry_delay": timedelta(minutes=1)}


def _run_id() -> str:
    return f"ir-{get_current_context()['run_id']}"[:64]


@dag(
    dag_id="interview_results",
    schedule=timedelta(minutes=10),
    start_date=datetime(2026, 1, 1),
    catchup=False,
    max_active_runs=1,
    default_args=DEFAULT_ARGS,
    tags=["hrbridge", "interview", "validation", "successfactors"],
    doc_md=__doc__,
)
def interview_results() -> None:
    @task
    def ingest_and_validate() -> dict[str, Any]:
        from hrbridge.pipelines.interview_results import ingest_results
        from hrbridge.store import hub_engine
        from plugins.hrbridge_provider import interview_platform

        counts = ingest_results(interview_platform(), hub_engine(), run_id=_run_id())
        return {"run_id": counts.run_id, "read": counts.read, "stored": counts.stored,
                "quarantined": counts.quarantined, "duplicates": counts.duplicates, "failures": counts.failures}

    @task
    def write_back(ingested: dict[str, Any]) -> dict[str, int]:
        from hrbridge.pipelines.interview_results import write_back as send
        from hrbridge.store import hub_engine
        from plugins.hrbridge_provider import successfactors

        counts = send(successfactors(), hub_engine())
        return {"written": counts.written, "failed": counts.failed, "pending": counts.pending}

    @task
    def sync_status(written: dict[str, int]) -> dict[str, int]:
        from hrbridge.pipelines.interview_results import sync_statuses
        from hrbridge.store import hub_engine
        from plugins.hrbridge_provider import interview_platform, successfactors

        counts = sync_statuses(successfactors(), interview_platform(), hub_engine())
        return {"checked": counts.checked, "written": counts.written, "failed": counts.failed}

    @task
    def report(ingested: dict[str, Any]) -> str:
        import logging

        from hrbridge.pipelines.interview_results import build_validation_report
        from hrbridge.store import hub_engine

        report = build_validation_report(hub_engine(), run_id=ingested["run_id"])
        logging.getLogger("hrbridge.report").info("validation report: artefact %s", report.page)
        return report.page  # an artefact key: any worker or api-server reads it from the store

    ingested = ingest_and_validate()
    sync_status(write_back(ingested))
    report(ingested)


interview_results()
