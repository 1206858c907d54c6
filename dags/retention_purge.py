"""retention_purge: retention policies + deletion requests − legal holds → deletions → signed deletion log.

Daily. ``plan`` counts what is due (dry run), ``run`` deletes in batches (resuming an interrupted
run) and asks the key vault and the interview platform to delete too, ``verify`` recomputes the
hash chain and fails the DAG run if the deletion log was tampered with. Tasks pass counts through
XCom; logic lives in ``hrbridge.pipelines.retention``. The interview platform comes from the
Airflow Connection ``hrbridge_interview`` (or HRBRIDGE_INTERVIEW_* env); without it, media
deletions stay pending and are retried by later runs.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from airflow.sdk import dag, task

DEFAULT_ARGS = {"owner": "hrbridge", "retries": 1, "retry_delay": timedelta(minutes=5)}


def _erasers() -> dict[str, Any]:
    from governance.retention import platform_eraser
    from hrbridge.settings import ConfigError
    from plugins.hrbridge_provider import interview_platform

    try:
        return {"interview_platform": platform_eraser(interview_platform())}
    except ConfigError:
        return {}


@dag(
    dag_id="retention_purge",
    schedule="@daily",
    start_date=datetime(2026, 1, 1),
    catchup=False,
    max_active_runs=1,
    default_args=DEFAULT_ARGS,
    tags=["hrbridge", "privacy", "retention", "audit"],
    doc_md=__doc__,
)
def retention_purge() -> None:
    """plan → run → verify."""

    @task
    def plan() -> dict[str, Any]:
        """Dry run: counts of what is due now."""
        from hrbridge.pipelines.retention import plan_retention

        result = plan_retention(use_defaults=False)
        return {"as_of": result["as_of"], **result["totals"]}

    @task
    def run(planned: dict[str, Any]) -> dict[str, Any]:
        """Delete, log and ask other systems; resumes an interrupted run."""
        from hrbridge.pipelines.retention import run_retention

        result = run_retention(erasers=_erasers())
        return {"run_id": result["run_id"], "resumed": result["resumed"], "planned_subjects": planned["subjects"],
                "log_entries": result["log_entries"], "external": result["external"], **result["totals"]}

    @task
    def verify(done: dict[str, Any]) -> dict[str, Any]:
        """Recompute the deletion log's chain and signed heads; fail the run when broken."""
        from hrbridge.pipelines.retention import verify_deletion_log

        report = verify_deletion_log()
        if not report.ok:
            raise RuntimeError(f"deletion log broken at entry seq {report.first_bad_seq}: {report.problem}")
        return {"run_id": done["run_id"], **report.as_dict()}

    verify(run(plan()))


retention_purge()
