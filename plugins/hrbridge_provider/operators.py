"""Operators hrbridge's DAGs use beyond TaskFlow: an approval task that records its answer.

Airflow's ``ApprovalOperator`` skips the downstream tasks on "Reject" by raising inside the task,
so its return value (who chose what) never reaches XCom on exactly the path a report must explain.
:class:`RecordedApprovalOperator` pushes the answer (XCom key ``decision``) first.
"""

from __future__ import annotations

from typing import Any

from airflow.providers.standard.operators.hitl import ApprovalOperator

DECISION_KEY = "decision"


class RecordedApprovalOperator(ApprovalOperator):
    """``ApprovalOperator`` whose answer (options chosen, by whom, when; or the timeout) is always in XCom."""

    def execute_complete(self, context: Any, event: dict[str, Any]) -> Any:
        """Record the answer under XCom key ``decision``, then approve or skip downstream as usual."""
        user = event.get("responded_by_user")
        context["ti"].xcom_push(key=DECISION_KEY, value={
            "chosen_options": list(event.get("chosen_options") or []),
            "responded_by_user": dict(user) if isinstance(user, dict) else None,
            "responded_at": str(event.get("responded_at") or ""),
            "error_type": event.get("error_type"),
        })
        return super().execute_complete(context, event)
