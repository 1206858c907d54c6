"""Interview feedback (HR leads, HR): what the archive learned, the proposed question-rule versions,
and — for a role holding ``feedback.proposals: write`` — approve or reject.

The decision goes through :func:`hrbridge.feedback.rules.decide` with the signed-in Airflow user as
the decider (their roles.yaml role, never a value the form sends): a flagged proposal needs a
written justification, a decided one cannot be decided again, and nothing publishes on its own.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, JSONResponse

from plugins.hrbridge_pages import state
from plugins.hrbridge_pages.access import Viewer, permits, requires
from plugins.hrbridge_pages.registry import Page, register
from plugins.hrbridge_pages.render import page

PAGE = register(Page("feedback", "feedback.title", "feedback.summary", ("feedback.proposals",), order=28))
router = APIRouter()


def overview(lang: str) -> dict[str, Any]:
    """Active version, every version (newest first) and the latest report's sentences in ``lang``."""
    from hrbridge.feedback.rules import active_version, list_versions
    from hrbridge.feedback.service import report_data

    hub = state.hub()
    if not state.has_tables(hub, "question_rules_versions", "feedback_analyses"):
        return {"active": 0, "versions": [], "report": None}
    try:
        report = report_data(hub)
    except LookupError:
        report = None
    families = {name: {**body[lang], "changes": body["changes"]} for name, body in (report or {}).get("families", {}).items()}
    return {"active": active_version(hub), "versions": list_versions(hub),
            "report": {"run_id": report["run_id"], "as_of": report["as_of"], "families": families} if report else None}


def version_view(version: int) -> dict[str, Any]:
    """One version without its rules document; LookupError when absent."""
    from hrbridge.feedback.rules import ProposalStateError, active_version, get_version

    try:
        row = get_version(state.hub(), version)
    except ProposalStateError as exc:
        raise LookupError(str(exc)) from exc
    row.pop("rules", None)
    return {**row, "active": active_version(state.hub()) == version}


def decide_as(viewer: Viewer, version: int, approve: bool, justification: str, note: str) -> dict[str, Any]:
    """Record the viewer's decision; raises the rules module's errors (state, justification, access)."""
    from hrbridge.feedback.rules import Decider, decide

    return decide(state.hub(), version, approve=approve, decider=Decider(viewer.name, viewer.role or ""),
                  policy=state.page_access().policy, justification=justification[:4000] or None,
                  note=note[:4000] or None)


@router.get("/feedback", response_class=HTMLResponse)
async def feedback_home(request: Request, viewer: Viewer = Depends(requires("feedback.proposals"))) -> HTMLResponse:
    """Findings of the latest analysis and the rule versions."""
    return page(request, "feedback.html", view=overview(request.state.t.lang))


@router.get("/feedback/{version}", response_class=HTMLResponse)
async def feedback_version(request: Request, version: int,
                           viewer: Viewer = Depends(requires("feedback.proposals"))) -> HTMLResponse:
    """A version's diff lines with evidence, its fairness check and (for deciders) the decision form."""
    return page(request, "feedback_version.html", view=version_view(version),
                can_decide=permits(viewer, "feedback.proposals", "write"), message=None)


@router.post("/feedback/{version}/decision", response_class=HTMLResponse)
async def decision_form(request: Request, version: int, decision: str = Form(...), justification: str = Form(""),
                        note: str = Form(""),
                        viewer: Viewer = Depends(requires("feedback.proposals", "write"))) -> HTMLResponse:
    """Approve or reject from the page; the page again with the outcome."""
    from hrbridge.feedback.rules import JustificationRequired, ProposalStateError

    t = request.state.t
    try:
        decide_as(viewer, version, decision == "approve", justification, note)
        message = t("feedback.decided")
    except JustificationRequired:
        message = t("feedback.needs_justification")
    except ProposalStateError as exc:
        message = str(exc)
    return page(request, "feedback_version.html", view=version_view(version), can_decide=True, message=message)


@router.post("/api/feedback/{version}/decision")
async def api_decision(request: Request, version: int,
                       viewer: Viewer = Depends(requires("feedback.proposals", "write"))) -> JSONResponse:
    """``{"decision": "approve"|"reject", "justification": "...", "note": "..."}`` → what was recorded."""
    from hrbridge.feedback.rules import JustificationRequired, ProposalStateError

    body = await request.json()
    if not isinstance(body, dict) or body.get("decision") not in ("approve", "reject"):
        return JSONResponse({"detail": "expected {\"decision\": \"approve\" or \"reject\"}"}, status_code=400)
    try:
        return JSONResponse(decide_as(viewer, version, body["decision"] == "approve",
                                      str(body.get("justification") or ""), str(body.get("note") or "")))
    except JustificationRequired as exc:
        return JSONResponse({"detail": str(exc)}, status_code=409)
    except ProposalStateError as exc:
        return JSONResponse({"detail": str(exc)}, status_code=409)
