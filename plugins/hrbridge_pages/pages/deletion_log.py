"""Deletion log (auditors): summary by policy, month and legal basis; filters by pseudonym, request,
run and date; entries in words; "verify the chain" naming the first bad entry; CSV/JSON export and
a printable A4 layout; legal holds and pending requests.

People appear only as pseudonyms (shortened in lists); hashes stay on the entry's detail page.
Verification is governance's own (:func:`hrbridge.pipelines.retention.verify_deletion_log`).
"""

from __future__ import annotations

import csv
import io
import json
import os
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

import sqlalchemy as sa
from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response

from governance.audit.export import BASIS_EXPLAINED
from governance.audit.schema import deletion_log
from governance.retention.schema import deletion_requests, legal_holds, pending_actions
from plugins.hrbridge_pages import state
from plugins.hrbridge_pages.access import Viewer, permits, requires
from plugins.hrbridge_pages.i18n import Translator
from plugins.hrbridge_pages.registry import Page, register
from plugins.hrbridge_pages.render import page

PAGE = register(Page("deletion-log", "audit.title", "audit.summary", ("deletion_log",), order=40))
router = APIRouter()
PAGE_SIZE = 100
EXPORT_LIMIT = 1_000_000
POLICY_PREFIX = "retention policy "


@dataclass(frozen=True)
class Filters:
    """What the auditor narrowed the log to (every field optional, all validated and bounded)."""

    subject: str = ""
    request: str = ""
    run: str = ""
    date_from: date | None = None
    date_to: date | None = None
    offset: int = 0

    @classmethod
    def parse(cls, params: Any) -> Filters:
        """From query parameters; bad dates and numbers are ignored rather than failing the page."""
        def day(name: str) -> date | None:
            try:
                return date.fromisoformat(str(params.get(name) or ""))
            except ValueError:
                return None

        subject = "".join(c for c in str(params.get("subject") or "").lower() if c in "0123456789abcdef")[:64]
        request = str(params.get("request") or "").strip()
        offset = str(params.get("offset") or "0")
        return cls(subject=subject, request=request if request.isdigit() else "",
                   run=str(params.get("run") or "").strip()[:64], date_from=day("from"), date_to=day("to"),
                   offset=min(int(offset), 10**9) if offset.isdigit() else 0)

    def query(self) -> dict[str, str]:
        """The filters as query parameters (for links and exports)."""
        return {k: v for k, v in {"subject": self.subject, "request": self.request, "run": self.run,
                                  "from": self.date_from.isoformat() if self.date_from else "",
                                  "to": self.date_to.isoformat() if self.date_to else ""}.items() if v}


def _where(filters: Filters, conn: sa.Connection) -> list[Any]:
    clauses: list[Any] = []
    if filters.subject:
        clauses.append(deletion_log.c.subject_hash.like(f"{filters.subject}%") if len(filters.subject) < 64
                       else deletion_log.c.subject_hash == filters.subject)
    if filters.request:
        subject = conn.execute(sa.select(deletion_requests.c.subject_hash)
                               .where(deletion_requests.c.id == int(filters.request))).scalar()
        clauses.append(deletion_log.c.subject_hash == (subject or "-"))
    if filters.run:
        clauses.append(deletion_log.c.run_id == filters.run)
    if filters.date_from:
        clauses.append(deletion_log.c.done_at >= f"{filters.date_from.isoformat()}T00:00:00")
    if filters.date_to:
        clauses.append(deletion_log.c.done_at < f"{(filters.date_to + timedelta(days=1)).isoformat()}T00:00:00")
    return clauses


def policy_of(requested_by: str, t: Translator) -> str:
    """The retention policy an entry came from, or "deletion request"."""
    if requested_by.startswith(POLICY_PREFIX):
        return requested_by[len(POLICY_PREFIX):]
    return t("audit.by_request")


def explain_basis(basis: str, t: Translator) -> str:
    """A legal basis in plain words in the viewer's language (longest known reference it mentions)."""
    for reference, english in BASIS_EXPLAINED:
        if reference.lower() in basis.lower():
            return t.get(f"basis.{reference}", english)
    return t("basis.unknown")


def summary(filters: Filters, t: Translator) -> list[dict[str, Any]]:
    """Entries per policy, month (UTC) and legal basis, with the methods used."""
    month = sa.func.substr(deletion_log.c.done_at, 1, 7)
    if not state.has_tables(state.hub(), "deletion_log", "deletion_requests"):
        return []
    with state.hub().connect() as conn:
        rows = conn.execute(sa.select(deletion_log.c.requested_by, month.label("month"), deletion_log.c.legal_basis,
                                      deletion_log.c.method, sa.func.count().label("entries"))
                            .where(*_where(filters, conn))
                            .group_by(deletion_log.c.requested_by, month, deletion_log.c.legal_basis, deletion_log.c.method))
        grouped: dict[tuple[str, str, str], dict[str, Any]] = {}
        for requested_by, mon, basis, method, count in rows:
            key = (policy_of(requested_by, t), mon, basis)
            entry = grouped.setdefault(key, {"policy": key[0], "month": mon, "basis": basis, "entries": 0, "methods": {}})
            entry["entries"] += int(count)
            entry["methods"][method] = entry["methods"].get(method, 0) + int(count)
    return sorted(grouped.values(), key=lambda e: (e["month"], e["policy"], e["basis"]), reverse=True)


def entries(filters: Filters, limit: int = PAGE_SIZE) -> tuple[list[dict[str, Any]], int]:
    """Entries (newest first) matching the filters, and how many match in all."""
    if not state.has_tables(state.hub(), "deletion_log", "deletion_requests"):
        return [], 0
    with state.hub().connect() as conn:
        where = _where(filters, conn)
        total = conn.execute(sa.select(sa.func.count()).select_from(deletion_log).where(*where)).scalar_one()
        rows = conn.execute(sa.select(deletion_log).where(*where).order_by(deletion_log.c.seq.desc())
                            .offset(filters.offset).limit(limit)).mappings().all()
    return [decoded(dict(r)) for r in rows], int(total)


def decoded(row: dict[str, Any]) -> dict[str, Any]:
    """An entry with its JSON and list fields parsed."""
    for name in ("counts_before", "counts_after"):
        try:
            row[name] = json.loads(row[name] or "{}")
        except ValueError:
            row[name] = {}
    row["categories"] = [c for c in (row["categories"] or "").split(",") if c]
    row["stores"] = [s for s in (row["stores"] or "").split(",") if s]
    return row


def short(pseudonym: str | None) -> str:
    """The first 12 characters of a pseudonym (enough to search by, short enough to read)."""
    return (pseudonym or "")[:12]


def verify() -> dict[str, Any]:
    """Run governance's chain verification; errors (no trusted key) come back as a problem, not a 500."""
    from governance.audit import AuditKeyError
    from governance.audit.keys import PUBLIC_KEY_FILE
    from hrbridge.pipelines.retention import PUBLIC_KEY_ENV, verify_deletion_log
    from hrbridge.shared_secrets import default_secret_store

    settings = state.settings()
    if not os.environ.get(PUBLIC_KEY_ENV) and default_secret_store(settings, read_only=True).get(PUBLIC_KEY_FILE) is None:
        return {"ok": False, "first_bad_seq": None, "problem": "no trusted public key configured", "entries": 0, "heads": 0}
    try:
        report = verify_deletion_log(settings)
    except AuditKeyError as exc:
        return {"ok": False, "first_bad_seq": None, "problem": str(exc), "entries": 0, "heads": 0}
    return report.as_dict()


def _page(request: Request, filters: Filters, verification: dict[str, Any] | None = None) -> HTMLResponse:
    t: Translator = request.state.t
    rows, total = entries(filters)
    return page(request, "deletion_log.html", filters=filters, query=filters.query(), summary=summary(filters, t),
                rows=rows, total=total, page_size=PAGE_SIZE, verification=verification, short=short,
                policy_of=lambda by: policy_of(by, t), explain_basis=lambda b: explain_basis(b, t))


@router.get("/deletion-log", response_class=HTMLResponse)
async def deletion_log_page(request: Request, viewer: Viewer = Depends(requires("deletion_log"))) -> HTMLResponse:
    """The log with its summary and filters (printable on A4)."""
    return _page(request, Filters.parse(request.query_params))


@router.post("/deletion-log/verify", response_class=HTMLResponse)
async def verify_form(request: Request, viewer: Viewer = Depends(requires("audit.verify", "run"))) -> HTMLResponse:
    """The page's "verify the chain" button: the page again with the result on top."""
    return _page(request, Filters.parse(request.query_params), verify())


@router.post("/api/deletion-log/verify")
async def api_verify(viewer: Viewer = Depends(requires("audit.verify", "run"))) -> JSONResponse:
    """Verify the chain: ``{"ok", "entries", "heads", "first_bad_seq", "problem", ...}``."""
    return JSONResponse(verify())


@router.get("/deletion-log/entries/{seq}", response_class=HTMLResponse)
async def entry_page(request: Request, seq: int, viewer: Viewer = Depends(requires("deletion_log"))) -> HTMLResponse:
    """One entry in words, with its hashes under "technical details"."""
    t: Translator = request.state.t
    with state.hub().connect() as conn:
        row = conn.execute(sa.select(deletion_log).where(deletion_log.c.seq == seq)).mappings().first()
    if row is None:
        raise LookupError(seq)
    entry = decoded(dict(row))
    return page(request, "deletion_entry.html", e=entry, policy=policy_of(entry["requested_by"], t),
                basis_text=explain_basis(entry["legal_basis"], t), short=short)


@router.get("/api/deletion-log/entries")
async def api_entries(request: Request, viewer: Viewer = Depends(requires("deletion_log"))) -> JSONResponse:
    """Entries matching the filters (same parameters as the page), newest first, one page."""
    rows, total = entries(Filters.parse(request.query_params))
    return JSONResponse({"total": total, "entries": rows})


EXPORT_COLUMNS = ("seq", "done_at", "subject_hash", "method", "categories", "stores", "counts_before", "counts_after",
                  "legal_basis", "basis_explained", "hold", "requested_by", "run_id", "requested_at", "due_at", "hash",
                  "prev_hash")


@router.get("/api/deletion-log/export.{fmt}")
async def export(request: Request, fmt: str, viewer: Viewer = Depends(requires("audit.export"))) -> Response:
    """The filtered log as CSV or JSON: chain status first, headers and explanations in the viewer's
    language, times in the viewer's zone (ISO-8601 with offset)."""
    if fmt not in ("csv", "json"):
        raise LookupError(fmt)
    t: Translator = request.state.t
    filters = Filters.parse(request.query_params)
    rows, _ = entries(Filters(**{**filters.__dict__, "offset": 0}), EXPORT_LIMIT)
    rows.reverse()
    status = verify()
    status_line = (t("audit.chain_ok", entries=status["entries"], heads=status["heads"]) if status["ok"]
                   else t("audit.chain_bad", seq=status["first_bad_seq"] or "?", problem=status["problem"]))
    for row in rows:
        row["basis_explained"] = explain_basis(row["legal_basis"], t)
        row["method"] = t.get(f"method.{row['method']}", row["method"])
        for name in ("done_at", "requested_at", "due_at"):
            row[name] = t.iso(row[name])
    name = f"deletion-log-{date.today().isoformat()}"
    if fmt == "json":
        document = {"chain": {**status, "status": status_line}, "filters": filters.query(), "time_zone": t.zone_name(),
                    "columns": {c: t(f"audit.col.{c}") for c in EXPORT_COLUMNS}, "entries": rows}
        return Response(json.dumps(document, ensure_ascii=False, indent=1, default=str).encode("utf-8"),
                        media_type="application/json",
                        headers={"Content-Disposition": f'attachment; filename="{name}.json"'})
    buffer = io.StringIO()
    buffer.write(f"# {status_line}\n")
    writer = csv.writer(buffer)
    writer.writerow([t(f"audit.col.{c}") for c in EXPORT_COLUMNS])
    from governance.audit.export import csv_cell

    for row in rows:  # every cell through csv_cell: a formula prefix is shown as text, never run
        writer.writerow([csv_cell("; ".join(f"{k}={v}" for k, v in row[c].items()) if isinstance(row[c], dict)
                                  else ",".join(row[c]) if isinstance(row[c], list) else row[c])
                         for c in EXPORT_COLUMNS])
    return Response(("\ufeff" + buffer.getvalue()).encode("utf-8"), media_type="text/csv; charset=utf-8",
                    headers={"Content-Disposition": f'attachment; filename="{name}.csv"'})


def pseudonymiser() -> Any:
    """The deletion log's pseudonymise function when this install's pepper exists (never created here)."""
    from governance.audit import AuditKeys
    from governance.audit.keys import PEPPER_ENV, PEPPER_FILE, SIGNING_KEY_FILE
    from hrbridge.shared_secrets import default_secret_store

    store = default_secret_store(state.settings(), read_only=True)
    if store.get(SIGNING_KEY_FILE) is not None and (os.environ.get(PEPPER_ENV) or store.get(PEPPER_FILE) is not None):
        return AuditKeys.load_or_create(store, create=False).pseudonymise
    return None


def mask_subject(subject_id: str | None, pseudonymise: Any = None) -> str:
    """A legal hold's subject as the log shows people: its pseudonym's first characters, else only
    the last two characters of the id."""
    if pseudonymise is not None and subject_id is not None:
        return short(pseudonymise(subject_id))
    return "…" + str(subject_id or "")[-2:]


def holds() -> list[dict[str, Any]]:
    """Legal holds, newest first, subjects masked."""
    if not state.has_tables(state.hub(), "legal_holds"):
        return []
    with state.hub().connect() as conn:
        rows = [dict(r) for r in conn.execute(sa.select(legal_holds).order_by(legal_holds.c.placed_at.desc())).mappings()]
    pseudonymise = pseudonymiser()
    for hold in rows:
        hold["subject"] = mask_subject(hold.pop("subject_id"), pseudonymise)
    return rows


def requests_and_pending() -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Deletion requests (pseudonymous) and deletions still pending at other systems."""
    if not state.has_tables(state.hub(), "deletion_requests", "pending_actions"):
        return [], []
    with state.hub().connect() as conn:
        requests = [dict(r) for r in conn.execute(
            sa.select(deletion_requests.c.id, deletion_requests.c.subject_hash, deletion_requests.c.requested_by,
                      deletion_requests.c.legal_basis, deletion_requests.c.requested_at, deletion_requests.c.due_at,
                      deletion_requests.c.status, deletion_requests.c.done_at, deletion_requests.c.run_id)
            .order_by(deletion_requests.c.requested_at.desc())).mappings()]
        pending = [dict(r) for r in conn.execute(
            sa.select(pending_actions.c.id, pending_actions.c.system, pending_actions.c.subject_hash,
                      pending_actions.c.categories, pending_actions.c.due_at, pending_actions.c.status,
                      pending_actions.c.attempts, pending_actions.c.last_error)
            .where(pending_actions.c.status != "done").order_by(pending_actions.c.id)).mappings()]
    return requests, pending


@router.get("/deletion-log/holds", response_class=HTMLResponse)
async def holds_page(request: Request, viewer: Viewer = Depends(requires("retention.holds"))) -> HTMLResponse:
    """Legal holds and, for roles that may read them, deletion requests and pending external deletions."""
    requests, pending = requests_and_pending() if permits(viewer, "retention.requests") else ([], [])
    return page(request, "holds.html", holds=holds(), requests=requests, pending=pending, short=short)


@router.get("/api/retention/holds")
async def api_holds(viewer: Viewer = Depends(requires("retention.holds"))) -> JSONResponse:
    """Legal holds as JSON (subjects masked)."""
    return JSONResponse(json.loads(json.dumps(holds(), default=str)))


@router.get("/api/retention/requests")
async def api_requests(viewer: Viewer = Depends(requires("retention.requests"))) -> JSONResponse:
    """Deletion requests and pending external deletions as JSON (pseudonymous)."""
    requests, pending = requests_and_pending()
    return JSONResponse(json.loads(json.dumps({"requests": requests, "pending": pending}, default=str)))
