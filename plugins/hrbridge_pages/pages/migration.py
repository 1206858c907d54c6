"""Migration (IT, HR ops): legacy migration runs, each run's verification report, and the quarantined
rows with reason, source row and column, downloadable as CSV or Excel for fixing and re-import.

Runs and quarantined rows are read from the migration target (the archive database, where
``hrbridge migrate`` writes its checkpoints and logs); a run's ``report.json`` comes from the
artefact store (kind ``migration``, name ``<run id>/report.json``). The original values of
quarantined rows are shown only to roles granted ``migration.values``.
"""

from __future__ import annotations

import csv
import io
import json
from typing import Any

import sqlalchemy as sa
from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response

from plugins.hrbridge_pages import state
from plugins.hrbridge_pages.access import Viewer, permits, requires
from plugins.hrbridge_pages.i18n import Translator
from plugins.hrbridge_pages.registry import Page, register
from plugins.hrbridge_pages.render import page, render_html

PAGE = register(Page("migration", "migration.title", "migration.summary", ("migration.report",), order=30))
router = APIRouter()
ROWS_SHOWN = 500
DOWNLOAD_LIMIT = 1_000_000


def _tables() -> dict[str, sa.Table]:
    engine = state.archive()
    names = ("migration_checkpoints", "migration_quarantine")
    inspector = sa.inspect(engine)
    meta = sa.MetaData()
    return {n: sa.Table(n, meta, autoload_with=engine) for n in names if inspector.has_table(n)}


def runs() -> list[dict[str, Any]]:
    """Migration runs, newest first, with totals over their committed batches."""
    tables = _tables()
    if "migration_checkpoints" not in tables:
        return []
    cp = tables["migration_checkpoints"]
    query = (sa.select(cp.c.run_id, sa.func.count().label("batches"), sa.func.sum(cp.c.rows_read).label("rows_read"),
                       sa.func.sum(cp.c.loaded).label("loaded"), sa.func.sum(cp.c.quarantined_rows).label("quarantined"),
                       sa.func.sum(cp.c.duplicates_merged).label("merged"), sa.func.min(cp.c.committed_at).label("started"),
                       sa.func.max(cp.c.committed_at).label("finished"))
             .group_by(cp.c.run_id).order_by(sa.func.max(cp.c.committed_at).desc()))
    with state.archive().connect() as conn:
        rows = [dict(r) for r in conn.execute(query).mappings()]
    for row in rows:
        report = stored_report(row["run_id"])
        row["passed"] = None if report is None else bool(report.get("passed"))
    return rows


def stored_report(run_id: str) -> dict[str, Any] | None:
    """The run's report.json from the artefact store, or None when it is not stored."""
    store = state.artefacts()
    key = f"migration/{run_id}/report.json"
    if not store.exists(key):
        return None
    return json.loads(store.get(key).data)


def quarantine_rows(run_id: str, with_values: bool, limit: int = ROWS_SHOWN) -> list[dict[str, Any]]:
    """Quarantined rows of a run in source order; ``value`` only when the viewer may see values."""
    tables = _tables()
    if "migration_quarantine" not in tables:
        return []
    q = tables["migration_quarantine"]
    columns = [q.c.batch_no, q.c.source_row, q.c.column_name, q.c.rule, q.c.reason] + ([q.c.value] if with_values else [])
    query = sa.select(*columns).where(q.c.run_id == run_id).order_by(q.c.source_row, q.c.column_name).limit(limit)
    with state.archive().connect() as conn:
        rows = [dict(r) for r in conn.execute(query).mappings()]
    if with_values:
        from governance.crypto.envelope import is_token

        for row in rows:  # personal values are sealed on load: never show a token, say it is sealed
            row["sealed"] = is_token(row.get("value"))
            if row["sealed"]:
                row["value"] = None
    return rows


def run_summary(run_id: str) -> dict[str, Any]:
    """The run row; LookupError when the target has no such run."""
    found = next((r for r in runs() if r["run_id"] == run_id), None)
    if found is None:
        raise LookupError(run_id)
    return found


@router.get("/migration", response_class=HTMLResponse)
async def migration_home(request: Request, viewer: Viewer = Depends(requires("migration.report"))) -> HTMLResponse:
    """The list of migration runs."""
    return page(request, "migration.html", runs=runs())


@router.get("/migration/runs/{run_id}", response_class=HTMLResponse)
async def migration_run(request: Request, run_id: str, viewer: Viewer = Depends(requires("migration.report"))) -> HTMLResponse:
    """One run: the verification report and its quarantined rows."""
    summary = run_summary(run_id)
    with_values = permits(viewer, "migration.values")
    rows = quarantine_rows(run_id, with_values) if permits(viewer, "migration.quarantine") else []
    return page(request, "migration_run.html", run=summary, report=stored_report(run_id), rows=rows,
                with_values=with_values, shown=ROWS_SHOWN)


@router.get("/migration/runs/{run_id}/report.html", response_class=HTMLResponse)
async def migration_report_file(request: Request, run_id: str,
                                viewer: Viewer = Depends(requires("migration.report"))) -> HTMLResponse:
    """The report as one standalone HTML file (inline CSS, no scripts) in the viewer's language."""
    report = stored_report(run_id)
    if report is None:
        raise LookupError(run_id)
    css = (state_static() / "hrbridge.css").read_text(encoding="utf-8")
    html = render_html(request, "migration_report_standalone.html", report=report, css=css)
    name = f"migration-{run_id}-{request.state.t.lang}.html"
    return HTMLResponse(html, headers={"Content-Disposition": f'attachment; filename="{name}"'})


def state_static() -> Any:
    """Folder of the pages' static assets (for inlining CSS into standalone files)."""
    from plugins.hrbridge_pages.app import STATIC

    return STATIC


def _headers(t: Translator, with_values: bool) -> list[tuple[str, str]]:
    columns = [("batch_no", "migration.col.batch"), ("source_row", "migration.col.row"),
               ("column_name", "migration.col.column")]
    if with_values:
        columns.append(("value", "migration.col.value"))
    columns += [("rule", "migration.col.rule"), ("reason", "migration.col.reason")]
    return [(key, t(label)) for key, label in columns]


@router.get("/api/migration/runs/{run_id}/quarantine.{fmt}")
async def quarantine_download(request: Request, run_id: str, fmt: str,
                              viewer: Viewer = Depends(requires("migration.quarantine"))) -> Response:
    """Quarantined rows as CSV (UTF-8 with BOM, opens in Excel) or XLSX; headers in the viewer's language."""
    if fmt not in ("csv", "xlsx", "json"):
        raise LookupError(fmt)
    run_summary(run_id)
    t: Translator = request.state.t
    with_values = permits(viewer, "migration.values")
    rows = quarantine_rows(run_id, with_values, DOWNLOAD_LIMIT)
    headers = _headers(t, with_values)
    name = f"migration-quarantine-{run_id}"
    if fmt == "json":
        return JSONResponse({"run_id": run_id, "rows": rows})
    if fmt == "csv":
        buffer = io.StringIO()
        writer = csv.writer(buffer)
        writer.writerow([title for _, title in headers])
        sealed = t("migration.sealed_value")
        writer.writerows([[sealed if key == "value" and row.get("sealed") else row.get(key, "") for key, _ in headers]
                          for row in rows])
        return Response(("\ufeff" + buffer.getvalue()).encode("utf-8"), media_type="text/csv; charset=utf-8",
                        headers={"Content-Disposition": f'attachment; filename="{name}.csv"'})
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell

    book = Workbook(write_only=True)
    sheet = book.create_sheet(t("migration.quarantine")[:31])
    sheet.append([title for _, title in headers])
    for row in rows:
        cells = []
        for key, _ in headers:
            value = t("migration.sealed_value") if key == "value" and row.get("sealed") else row.get(key)
            cell = WriteOnlyCell(sheet, value=value)
            if isinstance(cell.value, str):
                cell.data_type = "s"  # text stays text: a value starting with "=" is never a formula
            cells.append(cell)
        sheet.append(cells)
    out = io.BytesIO()
    book.save(out)
    return Response(out.getvalue(), media_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                    headers={"Content-Disposition": f'attachment; filename="{name}.xlsx"'})


@router.get("/api/migration/runs")
async def api_runs(viewer: Viewer = Depends(requires("migration.report"))) -> JSONResponse:
    """Migration runs with their totals."""
    return JSONResponse([{k: (str(v) if k in ("started", "finished") and v else v) for k, v in r.items()} for r in runs()])
