"""The HR ops report of a validation run: one HTML page beside the run's GX Data Docs site.

Both live in the artefact store (:mod:`hrbridge.artefacts`), so any worker and any api-server reads
them: the page at ``validation/<run>.html``, built here off the hot path; the Data Docs site at
``validation/<run>/data-docs/`` (index ``index.html``), built during validation by the suite's GX
Checkpoint (:mod:`hrbridge.data_docs`); the page links to it relatively. The run row keeps the
page's key; :func:`write_validation_report` copies a report and its site into a local folder.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from hrbridge.artefacts import ArtefactStore, artefact_store, write_out
from hrbridge.data_docs import index_key, static_prefix
from hrbridge.pipelines.interview_results.config import (
    CONFLICT_RULE,
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
class ValidationReport:
    """A run's report in the artefact store: the page's key and the Data Docs index key (if any)."""

    run_id: str
    page: str
    data_docs: str | None

    @property
    def folder(self) -> str:
        """The name prefix under which the Data Docs pages of this report are stored."""
        return self.page.split("/", 1)[1].removesuffix(".html") + "/data-docs/"


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
    config: ResultsConfig | None = None,
    store: ArtefactStore | None = None,
    examples_per_rule: int = 3,
    trend_runs: int = 20,
    lang: str | None = None,
) -> ValidationReport:
    """Store the HR ops page of ``run_id`` (default: the latest run), linked to its GX Data Docs.

    The page is in ``lang`` (default ``HRBRIDGE_LANG``, else the locale) with times in
    ``HRBRIDGE_TZ``. Raises LookupError when there is no such run. The page's artefact key is
    saved on the run row.
    """
    from hrbridge.i18n import report_translator
    from validation.report import render_validation_page

    settings = settings or load_settings()
    config = config or load_results_config(settings)
    store = store or artefact_store(settings, engine=engine)
    t = report_translator(lang, settings)
    placeholders = suite_placeholders(config)
    _, rules = load_rules(config.suite_path, placeholders)
    rules = rules_in_language([*rules, CONFLICT_RULE], t, placeholders)
    by_name = {rule.name: rule for rule in rules}
    with engine.connect() as conn:
        run = _find_run(conn, run_id)
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
    safe = file_safe(run["run_id"])
    docs_key = index_key(safe) if store.exists(index_key(safe)) else None
    href = f"{safe}/data-docs/index.html" if docs_key else None
    page = store.put("validation", f"{safe}.html",
                     render_validation_page(run, rules, examples, trend, t, href).encode("utf-8"),
                     "text/html; charset=utf-8", {"run_id": run["run_id"], "data_docs": docs_key, "lang": t.lang})
    with engine.begin() as conn:
        conn.execute(validation_runs.update().where(validation_runs.c.run_id == run["run_id"])
                     .values(report_key=page))
    log.info("validation report for run %s: artefact %s", run["run_id"], page)
    return ValidationReport(run_id=run["run_id"], page=page, data_docs=docs_key)


def rules_in_language(rules: list[Any], t: Any, placeholders: Mapping[str, Mapping[str, Any]]) -> list[Any]:
    """The rules with their titles and descriptions from the catalogue in ``t``'s language.

    The catalogue's texts carry the suite's placeholders (``{scale_min}``...), filled from
    ``placeholders``; a rule the catalogue does not know keeps its YAML wording.
    """
    from dataclasses import replace

    flat = {f"{section}_{key}": int(value) if isinstance(value, float) and value.is_integer() else value
            for section, values in placeholders.items() for key, value in values.items()}
    words = []
    for rule in rules:
        title, description = t.get(f"rule.{rule.name}.title"), t.get(f"rule.{rule.name}.description")
        words.append(replace(rule, title=title.format(**flat) if title else rule.title,
                             description=description.format(**flat) if description else rule.description))
    return words


def _find_run(conn: sa.Connection, run_id: str | None) -> dict[str, Any]:
    query = sa.select(validation_runs)
    query = query.where(validation_runs.c.run_id == run_id) if run_id else query.order_by(
        validation_runs.c.started_at.desc()).limit(1)
    run = conn.execute(query).mappings().first()
    if run is None:
        raise LookupError(f"no validation run {run_id}" if run_id else "no validation run recorded yet")
    return dict(run)


def stored_validation_report(engine: Engine, store: ArtefactStore, run_id: str | None = None) -> ValidationReport | None:
    """The report already stored for ``run_id`` (default: the latest run), or None when it was never built.

    Reads only; raises LookupError when there is no such run.
    """
    with engine.connect() as conn:
        run = _find_run(conn, run_id)
    page = run.get("report_key")
    if not page or Path(page).is_absolute() or not store.exists(page):
        return None
    docs = index_key(file_safe(run["run_id"]))
    return ValidationReport(run_id=run["run_id"], page=page, data_docs=docs if store.exists(docs) else None)


def write_validation_report(store: ArtefactStore, report: ValidationReport, out_dir: Path) -> list[Path]:
    """Copy a stored report (page first, then its Data Docs site) into ``out_dir``; returns the files written.

    The site's static assets are stored once for every run; they are copied into the site's folder
    so the pages' relative links work offline.
    """
    written = write_out(store, [report.page], Path(out_dir))
    if report.data_docs:
        written += write_out(store, [info.key for info in store.list("validation", report.folder)], Path(out_dir))
        static = [info.key for info in store.list("validation", static_prefix())]
        written += write_out(store, static, Path(out_dir),
                             rename=lambda name: report.folder + name.removeprefix(static_prefix()))
    return written
