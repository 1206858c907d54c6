"""bias_audit: monthly bias audit of AI interview scores (NYC LL 144 style), per job family.

``audit`` computes, for the month of the data interval, scoring rates (share above the median),
selection rates (where a pass mark is configured) and impact ratios per category and intersection
(``configs/bias_audit.yaml``), and keeps the JSON record and the Chinese and English summaries in the
artefact store. ``gate`` fails the run when any impact ratio is below the floor, so the failure
notice goes out on every channel of configs/notifications.yaml; a failed gate is not retried.
Logic lives in ``hrbridge.pipelines.bias_audit``.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from airflow.sdk import Param, dag, task

from hrbridge.operations.defaults import task_defaults
from hrbridge.operations.errors import fail_fast


@dag(
    dag_id="bias_audit",
    schedule="@monthly",
    start_date=datetime(2026, 1, 1),
    catchup=False,
    max_active_runs=1,
    default_args=task_defaults(),
    tags=["hrbridge", "fairness", "audit"],
    params={"period": Param(None, type=["null", "string"], pattern=r"^\d{4}-\d{2}$",
                            description="month to audit (YYYY-MM); empty: the month of the data interval")},
    doc_md=__doc__,
)
def bias_audit() -> None:
    """audit → gate."""

    @task
    @fail_fast
    def audit(params: dict[str, Any] | None = None, data_interval_start: Any = None) -> dict[str, Any]:
        """Audit the month asked for (else the data interval's); XCom carries counts, flags and artefact keys."""
        from hrbridge.pipelines.bias_audit import run_bias_audit

        out = run_bias_audit((params or {}).get("period") or f"{data_interval_start:%Y-%m}")
        return {k: v for k, v in out.items() if k != "result"}

    @task
    @fail_fast
    def gate(done: dict[str, Any]) -> dict[str, Any]:
        """Fail (no retry; the failure notice goes out) when any impact ratio is below the floor."""
        from hrbridge.pipelines.bias_audit import BiasBelowFloor

        if done["flags"]:
            listed = "; ".join(f"{f['job_family']} {f['measure']} {' × '.join(f['group'])}: {f['impact_ratio']:.3f}"
                               for f in done["flags"][:10])
            raise BiasBelowFloor(f"bias audit {done['period']}: {len(done['flags'])} impact ratio(s) below the "
                                 f"floor: {listed}")
        return done

    gate(audit())


bias_audit()
