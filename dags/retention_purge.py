"""retention_purge: retention policies + deletion requests − legal holds → deletions → signed deletion log.

Daily. ``plan`` counts what is due (dry run, counts only); ``needs_approval`` compares it with
``retention_approval`` in configs/operations.yaml: a small plan goes straight on
(``within_threshold``), a larger one waits in ``approve`` (an Airflow approval task in the
"Required actions" view, announced on the notification channels) until a person approves or
rejects it; no answer before the response timeout counts as Reject. ``run`` deletes exactly the
planned set in batches (resuming an interrupted run) and asks the key vault and the interview
platform to delete too; ``verify`` recomputes the hash chain and fails the DAG run if the
deletion log was tampered with; ``report`` says what happened (also "rejected: nothing deleted").
Logic lives in ``hrbridge.pipelines.retention`` and ``hrbridge.operations.approval``. The
interview platform comes from the Airflow Connection ``hrbridge_interview`` (or
HRBRIDGE_INTERVIEW_* env); without it, media deletions stay pending and are retried by later runs.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from airflow.providers.standard.operators.empty import EmptyOperator
from airflow.sdk import dag, task

from hrbridge.operations.approval import REJECT
from hrbridge.operations.config import INTERVIEW_POOL, load_operations_config
from hrbridge.operations.defaults import task_defaults
from hrbridge.operations.errors import fail_fast
from hrbridge.operations.notify import FailureNotifier, approval_notice
from plugins.hrbridge_provider.operators import DECISION_KEY, RecordedApprovalOperator

GATE = load_operations_config().approval


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
    default_args=task_defaults(retry_delay=timedelta(minutes=5)),
    tags=["hrbridge", "privacy", "retention", "audit"],
    doc_md=__doc__,
)
def retention_purge() -> None:
    """plan → approve (when large) → run → verify → report."""

    @task
    @fail_fast
    def plan() -> dict[str, Any]:
        """Dry run: counts of what is due now per policy and store, and whether a person must approve."""
        from hrbridge.operations.approval import approval_plan, approval_text
        from hrbridge.pipelines.retention import plan_retention

        planned = approval_plan(plan_retention(use_defaults=False))
        return {**planned, "approval_text": approval_text(planned)}

    @task.branch
    def needs_approval(planned: dict[str, Any]) -> str:
        """Large plans go to ``approve``, small ones straight on."""
        return "approve" if planned["needs_approval"] else "within_threshold"

    approve = RecordedApprovalOperator(
        task_id="approve",
        subject="Approve retention deletions: {{ ti.xcom_pull(task_ids='plan')['subjects'] }} people, "
                "{{ ti.xcom_pull(task_ids='plan')['records'] }} records",
        body="{{ ti.xcom_pull(task_ids='plan')['approval_text'] }}",
        defaults=REJECT,
        response_timeout=timedelta(hours=GATE.response_timeout_hours),
        assigned_users=[{"id": user, "name": user} for user in GATE.approvers] or None,
        notifiers=[FailureNotifier(build=approval_notice)],
    )
    within_threshold = EmptyOperator(task_id="within_threshold")

    @task(pool=INTERVIEW_POOL, trigger_rule="none_failed_min_one_success")
    @fail_fast
    def run(planned: dict[str, Any]) -> dict[str, Any]:
        """Delete exactly the planned (and, when asked, approved) set, log it and ask other systems."""
        from hrbridge.operations.approval import run_approved

        result = run_approved(planned, erasers=_erasers())
        return {"run_id": result["run_id"], "resumed": result["resumed"], "planned_subjects": planned["subjects"],
                "log_entries": result["log_entries"], "external": result["external"], **result["totals"]}

    @task
    @fail_fast
    def verify(done: dict[str, Any]) -> dict[str, Any]:
        """Recompute the deletion log's chain and signed heads; fail the run when broken."""
        from hrbridge.pipelines.retention import verify_deletion_log

        report = verify_deletion_log()
        if not report.ok:
            raise RuntimeError(f"deletion log broken at entry seq {report.first_bad_seq}: {report.problem}")
        return {"run_id": done["run_id"], **report.as_dict()}

    @task(trigger_rule="none_failed")
    def report(planned: dict[str, Any]) -> dict[str, Any]:
        """What this run did: deleted (counts), or rejected with nothing deleted."""
        import logging

        from airflow.sdk import get_current_context

        from hrbridge.operations.approval import outcome

        ti = get_current_context()["ti"]
        result = outcome(planned, ti.xcom_pull(task_ids="approve", key=DECISION_KEY), ti.xcom_pull(task_ids="run"))
        logging.getLogger("hrbridge.retention").info("retention_purge: %s", result.get("message") or result)
        return result

    planned = plan()
    decided = needs_approval(planned)
    decided >> [approve, within_threshold]
    done = run(planned)
    [approve, within_threshold] >> done
    verify(done) >> report(planned)


retention_purge()
