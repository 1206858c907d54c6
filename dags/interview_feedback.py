"""interview_feedback: archive outcomes × interview scores → a proposed question-rule change and the HR report.

Weekly. ``import_outcomes`` reads later ratings (Performance & Goals review forms), promotions and
separations (Employee Central) from SuccessFactors into the archive (``import_from_successfactors``
param; files are imported with ``hrbridge feedback import``). ``analyse`` relates the scores at hire
to top ratings and early leaving per job family, writes a versioned proposal with its four-fifths
check and the bilingual report. Nothing is published here: a person approves or rejects the
proposal (``hrbridge feedback approve|reject``). Logic lives in ``hrbridge.feedback``.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from airflow.sdk import Param, dag, get_current_context, task

from hrbridge.operations.config import SUCCESSFACTORS_POOL
from hrbridge.operations.defaults import task_defaults
from hrbridge.operations.errors import fail_fast


@dag(
    dag_id="interview_feedback",
    schedule="@weekly",
    start_date=datetime(2026, 1, 1),
    catchup=False,
    max_active_runs=1,
    default_args=task_defaults(retry_delay=timedelta(minutes=10)),
    params={"import_from_successfactors": Param(True, type="boolean",
                                                description="read outcomes from SuccessFactors before analysing")},
    tags=["hrbridge", "archive", "feedback"],
    doc_md=__doc__,
)
def interview_feedback() -> None:
    @task(pool=SUCCESSFACTORS_POOL)
    @fail_fast
    def import_outcomes() -> dict[str, Any]:
        from hrbridge.feedback.outcomes import import_successfactors
        from hrbridge.feedback.service import open_context
        from plugins.hrbridge_provider import successfactors

        if not get_current_context()["params"]["import_from_successfactors"]:
            return {"skipped": "import_from_successfactors is off"}
        context = open_context()
        with successfactors() as sf:
            summary = import_successfactors(context.archive, context.vault(), sf, context.config.successfactors,
                                            home=context.settings.home)
        return {k: v for k, v in summary.to_dict().items() if k != "rejected_rows"}

    @task
    @fail_fast
    def analyse(imported: dict[str, Any]) -> dict[str, Any]:
        from hrbridge.feedback.service import analyse_and_report, open_context

        result, key = analyse_and_report(open_context(), run_id=f"feedback-{get_current_context()['run_id']}"[:64])
        return {"run_id": result.run_id, "hires": result.hires, "outcomes": result.outcomes,
                "findings": result.counts(), "proposal_version": result.proposal_version,
                "flagged": result.flagged, "report": key, "imported": imported.get("inserted", 0)}

    analyse(import_outcomes())


interview_feedback()
