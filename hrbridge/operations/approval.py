"""Retention deletions above a configured size wait for a person; below it they proceed.

The ``retention_purge`` DAG plans (:func:`approval_plan`: counts per policy and store, never a
person), asks :func:`needs_approval`, and when the plan is larger than ``retention_approval`` in
``configs/operations.yaml`` an Airflow approval task shows :func:`approval_text` and waits.
:func:`run_approved` then deletes exactly what was planned: the run uses the plan's ``as_of``, and
if the plan has grown since (e.g. new deletion requests) beyond what was approved and beyond the
threshold, it refuses with :class:`PlanChangedError` and deletes nothing. :func:`outcome` says what
a run did, including "rejected: nothing deleted". Everything here runs without Airflow.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from hrbridge.operations.config import ApprovalGate, load_operations_config
from hrbridge.settings import Settings

APPROVE, REJECT = "Approve", "Reject"


class PlanChangedError(RuntimeError):
    """Retention would now delete more than was approved; nothing was deleted. Not retried."""


def approval_plan(plan: Mapping[str, Any], gate: ApprovalGate | None = None,
                  settings: Settings | None = None) -> dict[str, Any]:
    """The XCom-safe summary of a retention plan: counts only (pseudonyms dropped) and whether it needs approval."""
    gate = gate or load_operations_config(settings).approval
    totals = plan["totals"]
    summary = {
        "as_of": plan["as_of"], "subjects": int(totals["subjects"]), "records": int(totals["records"]),
        "held": int(totals["held"]), "records_by_store": dict(totals["records_by_store"]),
        "items": [{"item": i["item"], "action": i["action"], "subjects": int(i["subjects"]), "held": int(i["held"]),
                   "records": dict(i["records"])} for i in plan["items"]],
        "missing_tables": list(plan.get("missing_tables") or []),
        "gate": {"max_subjects": gate.max_subjects, "max_records": gate.max_records},
    }
    summary["needs_approval"] = needs_approval(summary, gate)
    return summary


def needs_approval(summary: Mapping[str, Any], gate: ApprovalGate) -> bool:
    """True when the plan deletes more people or records than the gate lets through unasked."""
    return summary["subjects"] > gate.max_subjects or summary["records"] > gate.max_records


def approval_text(summary: Mapping[str, Any]) -> str:
    """Markdown for the approver: totals, one row per policy with its counts per store, what each answer does."""
    gate = summary["gate"]
    rows = "\n".join(
        f"| {item['item']} | {item['action']} | {item['subjects']} | "
        f"{', '.join(f'{store}: {n}' for store, n in sorted(item['records'].items())) or '-'} |"
        for item in summary["items"] if item["subjects"] or item["records"]
    )
    held = f"\n\n{summary['held']} held back by a legal hold (not deleted)." if summary["held"] else ""
    return (
        f"Retention would delete data of **{summary['subjects']} people** (counted per policy), "
        f"**{summary['records']} records**, as of {summary['as_of']}. That is above the approval threshold "
        f"({gate['max_subjects']} people or {gate['max_records']} records; `retention_approval` in "
        f"configs/operations.yaml).\n\n"
        f"| policy / store | action | people | records by store |\n|---|---|---|---|\n{rows}{held}\n\n"
        f"**{APPROVE}**: exactly this plan is carried out and logged in the deletion log. "
        f"**{REJECT}**: nothing is deleted; the next scheduled run plans again. "
        f"No personal data is shown here; `hrbridge retention plan` lists the same counts."
    )


def _grew(approved: Mapping[str, Any], current: Mapping[str, Any]) -> list[str]:
    grown = [f"{store}: {n} records (approved {approved['records_by_store'].get(store, 0)})"
             for store, n in sorted(current["records_by_store"].items())
             if n > approved["records_by_store"].get(store, 0)]
    if current["subjects"] > approved["subjects"]:
        grown.append(f"{current['subjects']} people (approved {approved['subjects']})")
    return grown


def run_approved(approved: Mapping[str, Any], settings: Settings | None = None, **options: Any) -> dict[str, Any]:
    """Carry out the approved (or below-threshold) plan as of its ``as_of``; ``options`` go to ``run_retention``.

    Raises :class:`PlanChangedError` when a fresh plan for the same instant deletes more than
    ``approved`` and would itself need an approval.
    """
    from hrbridge.pipelines.retention import plan_retention, run_retention

    as_of = datetime.fromisoformat(approved["as_of"])
    gate = ApprovalGate(max_subjects=approved["gate"]["max_subjects"], max_records=approved["gate"]["max_records"])
    current = approval_plan(plan_retention(settings, now=as_of), gate)
    grown = _grew(approved, current)
    if grown and current["needs_approval"]:
        raise PlanChangedError("retention plan grew after it was planned and approved: " + "; ".join(grown)
                               + ". Nothing was deleted; the next run plans (and asks) again.")
    return run_retention(settings, now=as_of, **options)


def decision(response: Mapping[str, Any] | None) -> tuple[str, str | None]:
    """(chosen option, who chose it) from an approval task's recorded answer; ("not asked", None) without one.

    A timeout without a default answer reads as ("timed out", None).
    """
    if not response:
        return "not asked", None
    if not response.get("chosen_options"):
        return ("timed out" if response.get("error_type") == "timeout" else "no answer"), None
    chosen = response["chosen_options"][0]
    user = response.get("responded_by_user") or {}
    return str(chosen), (user.get("name") or user.get("id")) if isinstance(user, Mapping) else None


def outcome(planned: Mapping[str, Any], response: Mapping[str, Any] | None,
            done: Mapping[str, Any] | None) -> dict[str, Any]:
    """What a retention_purge run did: deleted (with counts), or rejected / timed out with nothing deleted."""
    chosen, by = decision(response)
    if done:
        return {"outcome": "deleted", "approval": chosen, "approved_by": by, "run_id": done.get("run_id"),
                "subjects": done.get("subjects"), "records": done.get("records"), "as_of": planned["as_of"]}
    if chosen == REJECT:
        why = f"rejected by {by}" if by else "rejected (no answer before the response timeout)"
    else:
        why = "not carried out"
    return {"outcome": "rejected" if chosen == REJECT else "not run", "approval": chosen, "approved_by": by,
            "subjects": 0, "records": 0, "planned_subjects": planned["subjects"],
            "planned_records": planned["records"], "as_of": planned["as_of"],
            "message": f"nothing deleted: the plan ({planned['subjects']} people, {planned['records']} records) "
                       f"was {why}"}
