"""The HR ops report of a validation run: one HTML page plus GX Data Docs, built off the hot path."""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from hrbridge.pipelines.interview_results.config import (
    ResultsConfig,
    file_safe,
    load_results_config,
    suite_placeholders,
)
from hrbridge.settings import Settings, load_settings
from hrbridge.store.results import results_quarantine, validation_runs
from transforms.masking import mask_pii
from validation.results_suite import load_rules

log = logging.getLogger("hrbridge.pipelines.interview_results")

# -------------------------------------------------------------------------------- HR ops report


@dataclass(frozen=True)
class ReportPaths:
    """Where a run's report went: the one-page summary and the GX Data Docs index (if any)."""

    run_id: str
    html: Path
    data_docs: Path | None


def _describe(value: Any, name: str) -> str:
    if value is None:
        return "(missing)"
    if name == "dimensions" and isinstance(value, list):
        return ", ".join(f"{d.get('name')}={d.get('score')}" if isinstance(d, Mapping) else repr(d) for d in value)
    if name == "clips" and isinstance(value, list):
        return "; ".join(
            f"{c.get('clip_id')} expires {c.get('expires_at')}" if isinstance(c, Mapping) else repr(c) for c in value
        )
    return json.dumps(value, ensure_ascii=False, default=str) if isinstance(value, (list, dict)) else str(value)


def example_detail(rule: Any, payload: Mapping[str, Any]) -> str:
    """A short, PII-masked sentence showing what in ``payload`` broke ``rule``."""
    if rule.expectation == "expect_column_values_to_not_be_null":
        missing = [f for f in rule.example_fields if payload.get(f) in (None, "")]
        text = "missing: " + ", ".join(missing) if missing else "a required value could not be read"
    else:
        text = "; ".join(f"{name} = {_describe(payload.get(name), name)}" for name in rule.example_fields)
    text = mask_pii(text)
    return text if len(text) <= 160 else text[:157] + "..."


def build_validation_report(
    engine: Engine,
    settings: Settings | None = None,
    *,
    run_id: str | None = None,
    out_dir: Path | None = None,
    config: ResultsConfig | None = None,
    examples_per_rule: int = 3,
    trend_runs: int = 20,
) -> ReportPaths:
    """Write the HR ops page (and GX Data Docs) for ``run_id`` (default: the latest run).

    Raises LookupError when there is no such run. The page path is saved on the run row.
    """
    from validation.data_docs import build_data_docs
    from validation.report import render_validation_page

    settings = settings or load_settings()
    config = config or load_results_config(settings)
    out_dir = Path(out_dir or settings.ensure_dirs().reports_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    _, rules = load_rules(config.suite_path, suite_placeholders(config))
    by_name = {rule.name: rule for rule in rules}
    with engine.connect() as conn:
        query = sa.select(validation_runs)
        query = query.where(validation_runs.c.run_id == run_id) if run_id else query.order_by(
            validation_runs.c.started_at.desc()).limit(1)
        run = conn.execute(query).mappings().first()
        if run is None:
            raise LookupError(f"no validation run {run_id}" if run_id else "no validation run recorded yet")
        run = dict(run)
        examples: dict[str, list[dict[str, Any]]] = {}
        quarantined = conn.execute(
            sa.select(results_quarantine.c.rules, results_quarantine.c.payload)
            .where(results_quarantine.c.run_id == run["run_id"]).order_by(results_quarantine.c.id)
        )
        for rule_names, payload in quarantined:
            payload = payload if isinstance(payload, Mapping) else {}
            for name in rule_names:
                shown = examples.setdefault(name, [])
                if name in by_name and len(shown) < examples_per_rule:
                    shown.append({"result_id": payload.get("result_id"), "application_id": payload.get("application_id"),
                                  "detail": example_detail(by_name[name], payload)})
        trend = [dict(r) for r in conn.execute(
            sa.select(validation_runs.c.run_id, validation_runs.c.started_at, validation_runs.c.rows_checked,
                      validation_runs.c.quarantined)
            .where(validation_runs.c.started_at <= run["started_at"])
            # Polls that found nothing are left out so the chart shows runs that checked something.
            .where(sa.or_(validation_runs.c.rows_checked > 0, validation_runs.c.run_id == run["run_id"]))
            .order_by(validation_runs.c.started_at.desc()).limit(trend_runs)
        ).mappings()][::-1]
    docs_index = None
    gx_path = Path(run["gx_result_path"]) if run.get("gx_result_path") else None
    if gx_path and gx_path.exists():
        docs_index = build_data_docs(gx_path, out_dir / "data-docs" / file_safe(run["run_id"]),
                                     f"Interview results validation {run['run_id']}")
    page = out_dir / f"validation-{file_safe(run['run_id'])}.html"
    href = str(docs_index.relative_to(out_dir)) if docs_index else None
    page.write_text(render_validation_page(run, rules, examples, trend, href), encoding="utf-8")
    with engine.begin() as conn:
        conn.execute(validation_runs.update().where(validation_runs.c.run_id == run["run_id"])
                     .values(report_path=str(page)))
    log.info("validation report for run %s: %s", run["run_id"], page)
    return ReportPaths(run_id=run["run_id"], html=page, data_docs=docs_index)
