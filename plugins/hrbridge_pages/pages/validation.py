"""Validation (HR ops): interview-result checks over time, each run's checks in plain words,
drill-down by job family and rule, quarantined results (masked) and the requeue action.

The technical detail is Great Expectations' own Data Docs site of the run, read from the artefact
store (kind ``validation``, name ``<run id>/data-docs/...``) and served here role-checked.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from typing import Any

import sqlalchemy as sa
from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response

from hrbridge.store.results import interview_results, results_quarantine, validation_runs
from plugins.hrbridge_pages import state
from plugins.hrbridge_pages.access import Viewer, permits, requires
from plugins.hrbridge_pages.charts import share_bars
from plugins.hrbridge_pages.i18n import Translator
from plugins.hrbridge_pages.registry import Page, register
from plugins.hrbridge_pages.render import page

PAGE = register(Page("validation", "validation.title", "validation.summary",
                     ("validation.run", "validation.quarantine"), order=10))
router = APIRouter()
RUNS_SHOWN = 30
QUARANTINE_SHOWN = 200


def rules_in_words(t: Translator) -> dict[str, dict[str, str]]:
    """Rule name -> plain-words title and description in the viewer's language."""
    from hrbridge.pipelines.interview_results.config import load_results_config, suite_placeholders
    from hrbridge.pipelines.interview_results.report import rules_in_language
    from validation.results_suite import load_rules

    config = load_results_config(state.settings())
    placeholders = suite_placeholders(config)
    _, rules = load_rules(config.suite_path, placeholders)
    return {r.name: {"title": r.title, "description": r.description,
                     "technical": f"{r.expectation_class} ({', '.join(r.columns)})"}
            for r in rules_in_language(rules, t, placeholders)}


def recent_runs(limit: int = RUNS_SHOWN) -> list[dict[str, Any]]:
    """The latest runs that checked something, newest first."""
    with state.hub().connect() as conn:
        rows = conn.execute(sa.select(validation_runs).where(validation_runs.c.rows_checked > 0)
                            .order_by(validation_runs.c.started_at.desc()).limit(limit)).mappings().all()
    return [dict(r) for r in rows]


def run_row(run_id: str) -> dict[str, Any]:
    """One run; LookupError when unknown."""
    with state.hub().connect() as conn:
        row = conn.execute(sa.select(validation_runs).where(validation_runs.c.run_id == run_id)).mappings().first()
    if row is None:
        raise LookupError(run_id)
    return dict(row)


def quarantined(run_id: str | None, rule: str | None = None, family: str | None = None,
                limit: int = QUARANTINE_SHOWN) -> list[dict[str, Any]]:
    """Quarantined results (not requeued) of a run or of all runs, optionally of one rule / job family.

    Only the readable identifiers and masked details leave this function: no sealed payload.
    """
    from hrbridge.pipelines.interview_results.config import load_results_config, suite_placeholders
    from hrbridge.pipelines.interview_results.report import example_detail
    from validation.results_suite import load_rules

    config = load_results_config(state.settings())
    by_name = {r.name: r for r in load_rules(config.suite_path, suite_placeholders(config))[1]}
    query = sa.select(results_quarantine).where(results_quarantine.c.requeued_at.is_(None))
    if run_id:
        query = query.where(results_quarantine.c.run_id == run_id)
    out: list[dict[str, Any]] = []
    with state.hub().connect() as conn:
        for row in conn.execute(query.order_by(results_quarantine.c.id)).mappings():
            payload: Mapping[str, Any] = row["payload"] if isinstance(row["payload"], Mapping) else {}
            if rule and rule not in row["rules"]:
                continue
            if family and (payload.get("job_family") or "") != family:
                continue
            out.append({
                "id": row["id"], "run_id": row["run_id"], "result_id": row["result_id"],
                "application_id": payload.get("application_id"), "job_family": payload.get("job_family") or "",
                "rules": list(row["rules"]), "quarantined_at": row["quarantined_at"],
                "details": {name: example_detail(by_name[name], payload) for name in row["rules"] if name in by_name},
            })
            if len(out) >= limit:
                break
    return out


def family_breakdown(run_id: str) -> dict[str, dict[str, Any]]:
    """Job family -> stored count and quarantined count per rule, for the drill-down table."""
    table: dict[str, dict[str, Any]] = {}
    with state.hub().connect() as conn:
        stored = conn.execute(sa.select(interview_results.c.job_family, sa.func.count())
                              .where(interview_results.c.run_id == run_id).group_by(interview_results.c.job_family))
        for family, count in stored:
            table.setdefault(family or "", {"stored": 0, "quarantined": 0, "rules": Counter()})["stored"] = int(count)
        rows = conn.execute(sa.select(results_quarantine.c.rules, results_quarantine.c.payload)
                            .where(results_quarantine.c.run_id == run_id))
        for rules, payload in rows:
            family = (payload.get("job_family") if isinstance(payload, Mapping) else None) or ""
            entry = table.setdefault(family, {"stored": 0, "quarantined": 0, "rules": Counter()})
            entry["quarantined"] += 1
            entry["rules"].update(rules)
    return dict(sorted(table.items()))


def trend_svg(runs: list[dict[str, Any]], t: Translator) -> str:
    """Share of results held back per run (oldest left) as inline SVG."""
    points = []
    for run in reversed(runs):
        checked = int(run["rows_checked"] or 0)
        share = 100.0 * int(run["quarantined"] or 0) / checked if checked else 0.0
        points.append((t.dt(run["started_at"], "short")[-5:], share,
                       t("validation.trend.tip", run=run["run_id"], share=f"{share:.1f}", rows=checked)))
    return share_bars(points, label=t("validation.trend.title"))


@router.get("/validation", response_class=HTMLResponse)
async def validation_home(request: Request, viewer: Viewer = Depends(requires("validation.run"))) -> HTMLResponse:
    """Runs over time with their trend; the latest run's checks."""
    t: Translator = request.state.t
    runs = recent_runs()
    return page(request, "validation.html", runs=runs, trend=trend_svg(runs, t),
                latest=runs[0] if runs else None, rules=rules_in_words(t))


def _run_context(request: Request, viewer: Viewer, run_id: str, rule: str | None, family: str | None) -> dict[str, Any]:
    t: Translator = request.state.t
    run = run_row(run_id)
    show_results = permits(viewer, "validation.quarantine", "read")
    return {
        "run": run, "rules": rules_in_words(t), "families": family_breakdown(run_id) if show_results else {},
        "held": quarantined(run_id, rule, family) if show_results else [], "rule": rule or "", "family": family or "",
        "data_docs": data_docs_index(run_id), "message": None,
    }


@router.get("/validation/runs/{run_id}", response_class=HTMLResponse)
async def validation_run(request: Request, run_id: str, rule: str | None = None, family: str | None = None,
                         viewer: Viewer = Depends(requires("validation.run"))) -> HTMLResponse:
    """One run: checks in plain words, drill-down by job family and rule, held-back results."""
    return page(request, "validation_run.html", **_run_context(request, viewer, run_id, rule, family))


def requeue(run_id: str | None, rule: str | None) -> int:
    """Send the run's (or every run's) held-back results, optionally of one rule, back for validation."""
    from hrbridge.pipelines.interview_results import requeue_quarantined

    engine = state.hub()
    return requeue_quarantined(engine, rule=rule or None, run_id=run_id or None, vault=state.vault())


@router.post("/validation/runs/{run_id}/requeue", response_class=HTMLResponse)
async def validation_requeue_form(request: Request, run_id: str, rule: str = Form(""),
                                  viewer: Viewer = Depends(requires("validation.quarantine", "run"))) -> HTMLResponse:
    """The page's requeue button: requeue, then show the run again with how many went back."""
    run_row(run_id)
    count = requeue(run_id, rule or None)
    context = _run_context(request, viewer, run_id, None, None)
    context["message"] = request.state.t("validation.requeued", count=count)
    return page(request, "validation_run.html", **context)


@router.get("/api/validation/runs")
async def api_runs(viewer: Viewer = Depends(requires("validation.run"))) -> JSONResponse:
    """Recent runs with their counts (no candidate data)."""
    keys = ("run_id", "source", "started_at", "finished_at", "rows_checked", "stored", "quarantined", "duplicates",
            "failures")
    return JSONResponse([{k: (str(r[k]) if k.endswith("_at") and r[k] else r[k]) for k in keys} for r in recent_runs()])


@router.get("/api/validation/quarantine")
async def api_quarantine(run: str | None = None, rule: str | None = None, family: str | None = None,
                         viewer: Viewer = Depends(requires("validation.quarantine"))) -> JSONResponse:
    """Held-back results with the rules they broke; details masked."""
    rows = quarantined(run, rule, family)
    return JSONResponse([{**r, "quarantined_at": str(r["quarantined_at"])} for r in rows])


@router.post("/api/validation/requeue")
async def api_requeue(request: Request, viewer: Viewer = Depends(requires("validation.quarantine", "run"))) -> JSONResponse:
    """Requeue held-back results: JSON body ``{"run_id": ..., "rule": ...}`` (both optional)."""
    body = await request.json() if request.headers.get("content-type", "").startswith("application/json") else {}
    if not isinstance(body, dict):
        return JSONResponse({"detail": "expected a JSON object"}, status_code=400)
    run_id, rule = body.get("run_id"), body.get("rule")
    if run_id:
        run_row(str(run_id))
    return JSONResponse({"requeued": requeue(str(run_id) if run_id else None, str(rule) if rule else None)})


def data_docs_index(run_id: str) -> str | None:
    """Artefact key of the run's Data Docs index page (built by the run's GX Checkpoint), when stored."""
    from hrbridge.data_docs import index_key
    from hrbridge.pipelines.interview_results.config import file_safe

    key = index_key(file_safe(run_id))
    return key if state.artefacts().exists(key) else None


# GX's pages carry their own inline scripts and styles; everything else they load must come from
# here (their CDN links are blocked: a viewer's browser reaches no third party through our pages).
DATA_DOCS_CSP = ("default-src 'self'; script-src 'self' 'unsafe-inline'; style-src 'self' 'unsafe-inline'; "
                 "img-src 'self' data:; font-src 'self' data:; connect-src 'none'; frame-ancestors 'self'")


@router.get("/validation/runs/{run_id}/data-docs/{path:path}")
async def data_docs(run_id: str, path: str, viewer: Viewer = Depends(requires("validation.run"))) -> Response:
    """A file of the run's GX Data Docs site (or a static asset every site shares), from the artefact store."""
    from hrbridge.artefacts import ArtefactError
    from hrbridge.data_docs import artefact_for
    from hrbridge.pipelines.interview_results.config import file_safe

    run_row(run_id)
    try:
        key = artefact_for(file_safe(run_id), path or "index.html")
    except ArtefactError as exc:
        raise LookupError(path) from exc
    store = state.artefacts()
    if not store.exists(key):
        raise LookupError(key)
    artefact = store.get(key)
    return Response(artefact.data, media_type=artefact.content_type,
                    headers={"Content-Security-Policy": DATA_DOCS_CSP})
