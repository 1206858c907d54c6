"""Candidates (HR ops, hiring managers): one candidate's applications, invitation status, scores by
dimension, keywords, match report and its factors; video clips (hiring managers) through signed links.

Columns are read through governance's :class:`SecureReader`, so a role never even selects what it
may not see (HR: no clip references; managers: no contact details). Hiring managers see only the
applications of their own requisitions, on the list, the detail, the API and every clip fetch.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response

from governance.access import Principal, SecureReader
from hrbridge.consent.scores import ai_score_usable, alternative_process_applications
from hrbridge.store.consent import consent_events
from hrbridge.store.recruiting import applications, candidates, invitations, requisitions
from hrbridge.store.results import interview_results, results_writeback
from plugins.hrbridge_pages import media, state
from plugins.hrbridge_pages.access import Forbidden, Viewer, permits, require_candidate_scope, requires
from plugins.hrbridge_pages.registry import Page, register
from plugins.hrbridge_pages.render import base_path, page

PAGE = register(Page("candidates", "candidates.title", "candidates.summary", ("candidate.basic",), order=20))
router = APIRouter()
LIST_LIMIT = 200


def reader(viewer: Viewer) -> SecureReader:
    """The policy-enforcing reader for this viewer's role."""
    return SecureReader(state.hub(), state.page_access().policy, state.vault(), Principal(str(viewer.role), name=viewer.name))


def _scope(viewer: Viewer, query: sa.Select) -> sa.Select:
    if viewer.scoped:
        return query.where(applications.c.requisition_id.in_(sorted(viewer.requisitions or ())))
    return query


def candidate_list(viewer: Viewer, search: str = "") -> list[dict[str, Any]]:
    """Candidates with at least one application the viewer may see (name search on first/last name)."""
    query = (sa.select(candidates.c.candidate_id, candidates.c.first_name, candidates.c.last_name, candidates.c.city,
                       sa.func.count(applications.c.application_id).label("applications"),
                       sa.func.max(applications.c.last_modified).label("last_activity"))
             .join(applications, applications.c.candidate_id == candidates.c.candidate_id)
             .where(candidates.c.deleted_at.is_(None))
             .group_by(candidates.c.candidate_id, candidates.c.first_name, candidates.c.last_name, candidates.c.city)
             .order_by(sa.func.max(applications.c.last_modified).desc()).limit(LIST_LIMIT))
    if search:
        like = f"%{search[:100]}%"
        query = query.where(sa.or_(candidates.c.first_name.ilike(like), candidates.c.last_name.ilike(like),
                                   candidates.c.candidate_id == search))
    with state.hub().connect() as conn:
        rows = [dict(r) for r in conn.execute(_scope(viewer, query)).mappings()]
    scores = latest_scores([r["candidate_id"] for r in rows]) if permits(viewer, "interview.scores") else {}
    for row in rows:
        row["score"] = scores.get(row["candidate_id"])
    return rows


def latest_scores(candidate_ids: Iterable[str]) -> dict[str, float]:
    """Candidate -> overall score of their latest stored result (none of an alternative process)."""
    ids = list(candidate_ids)
    if not ids:
        return {}
    with state.hub().connect() as conn:
        rows = conn.execute(sa.select(interview_results.c.candidate_id, interview_results.c.overall_score)
                            .where(interview_results.c.candidate_id.in_(ids))
                            .where(ai_score_usable(interview_results.c.application_id))
                            .order_by(interview_results.c.completed_at)).all()
    return {cid: score for cid, score in rows}


def visible_applications(viewer: Viewer, candidate_id: str) -> list[dict[str, Any]]:
    """The candidate's applications the viewer may see, with requisition and invitation status.

    Raises LookupError for an unknown candidate and :class:`Forbidden` when a hiring manager holds
    none of the candidate's requisitions.
    """
    query = (sa.select(applications.c.application_id, applications.c.requisition_id, applications.c.status,
                       applications.c.applied_at, requisitions.c.title, requisitions.c.job_family,
                       invitations.c.state.label("invitation_state"), invitations.c.platform_status,
                       invitations.c.posted_at, invitations.c.deadline)
             .select_from(applications.outerjoin(requisitions, requisitions.c.requisition_id == applications.c.requisition_id)
                          .outerjoin(invitations, invitations.c.application_id == applications.c.application_id))
             .where(applications.c.candidate_id == candidate_id).order_by(applications.c.applied_at))
    with state.hub().connect() as conn:
        exists = conn.execute(sa.select(candidates.c.candidate_id).where(
            candidates.c.candidate_id == candidate_id, candidates.c.deleted_at.is_(None))).first()
        if exists is None:
            raise LookupError(candidate_id)
        rows = [dict(r) for r in conn.execute(query).mappings()]
    require_candidate_scope(viewer, {str(r["requisition_id"]) for r in rows})
    if viewer.scoped:
        rows = [r for r in rows if str(r["requisition_id"]) in (viewer.requisitions or ())]
    return rows


def alternative_process_among(application_ids: Iterable[str]) -> set[str]:
    """Those of ``application_ids`` whose AI scores may not be used (the candidate asked for another process)."""
    wanted = sorted(application_ids)
    if not wanted:
        return set()
    with state.hub().connect() as conn:
        return set(conn.execute(alternative_process_applications()
                                .where(consent_events.c.application_id.in_(wanted))).scalars())


def candidate_view(viewer: Viewer, candidate_id: str) -> dict[str, Any]:
    """Everything the viewer may see of one candidate, part by part as roles.yaml grants it."""
    apps = visible_applications(viewer, candidate_id)
    app_ids = {str(a["application_id"]) for a in apps}
    secure = reader(viewer)
    person = secure.read_candidates([candidate_id]).to_dict("records")
    view: dict[str, Any] = {"candidate_id": candidate_id, "person": person[0] if person else {},
                            "applications": apps if permits(viewer, "application.status") else [],
                            "results": [], "clips": {}}
    if permits(viewer, "interview.scores"):  # never an AI score of an alternative process (nor a correction of one)
        scored = app_ids - alternative_process_among(app_ids)
        results = [r for r in secure.read_scores([candidate_id]).to_dict("records") if str(r["application_id"]) in scored]
        view["results"] = sorted(results, key=lambda r: str(r.get("completed_at") or ""))
    if permits(viewer, "interview.video"):
        media_rows = secure.read("interview_results", resources=["interview.video"], subjects=[candidate_id])
        for row in media_rows.to_dict("records"):
            clips = row.get("clips") or []
            if isinstance(clips, str):  # a decrypted vault token is the list's JSON text
                clips = json.loads(clips)
            if str(row["application_id"]) in app_ids:
                view["clips"][row["result_id"]] = [c for c in clips if isinstance(c, dict)]
    return view


def _json_ready(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _json_ready(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_json_ready(v) for v in value]
    if isinstance(value, datetime):
        return value.isoformat()
    if value is not None and not isinstance(value, (str, int, float, bool)):
        return str(value)
    return value


@router.get("/candidates", response_class=HTMLResponse)
async def candidates_page(request: Request, q: str = "", viewer: Viewer = Depends(requires("candidate.basic"))) -> HTMLResponse:
    """Candidates the viewer may see, newest activity first."""
    return page(request, "candidates.html", rows=candidate_list(viewer, q.strip()), q=q)


@router.get("/candidates/{candidate_id}", response_class=HTMLResponse)
async def candidate_page(request: Request, candidate_id: str,
                         viewer: Viewer = Depends(requires("candidate.basic"))) -> HTMLResponse:
    """One candidate: applications, invitation status, scores, keywords, match report, clips."""
    view = candidate_view(viewer, candidate_id)
    links = {rid: [{**clip, "href": base_path(request) + media.signed_path(viewer.name, rid, str(clip.get("clip_id")))}
                   for clip in clips] for rid, clips in view["clips"].items()}
    return page(request, "candidate.html", view=view, clip_links=links, message=None)


@router.get("/api/candidates")
async def api_candidates(q: str = "", viewer: Viewer = Depends(requires("candidate.basic"))) -> JSONResponse:
    """The candidate list as JSON (scoped like the page)."""
    return JSONResponse(_json_ready(candidate_list(viewer, q.strip())))


@router.get("/api/candidates/{candidate_id}")
async def api_candidate(candidate_id: str, viewer: Viewer = Depends(requires("candidate.basic"))) -> JSONResponse:
    """One candidate as JSON, only the parts the role may read (clip references never included)."""
    view = candidate_view(viewer, candidate_id)
    view.pop("clips")
    return JSONResponse(_json_ready(view))


@router.get("/api/candidates/{candidate_id}/clips")
async def api_clips(request: Request, candidate_id: str,
                    viewer: Viewer = Depends(requires("interview.video"))) -> JSONResponse:
    """Signed, short-lived links to the candidate's clips (hiring managers)."""
    view = candidate_view(viewer, candidate_id)
    return JSONResponse({rid: [{"clip_id": c.get("clip_id"), "dimension": c.get("dimension"),
                                "href": base_path(request) + media.signed_path(viewer.name, rid, str(c.get("clip_id")))}
                               for c in clips] for rid, clips in view["clips"].items()})


@router.get("/media/clips/{result_id}/{clip_id}")
async def clip(result_id: str, clip_id: str, exp: str = "", sig: str = "",
               viewer: Viewer = Depends(requires("interview.video"))) -> Response:
    """Stream one clip after checking the link, its expiry, the role and the requisition again."""
    try:
        media.check_link(viewer.name, result_id, clip_id, exp, sig)
    except media.MediaLinkError as exc:
        raise Forbidden(str(exc)) from exc
    with state.hub().connect() as conn:
        owner = conn.execute(sa.select(interview_results.c.candidate_id).where(
            interview_results.c.result_id == result_id)).scalar()
    if owner is None:
        raise LookupError(result_id)
    clips = candidate_view(viewer, str(owner))["clips"].get(result_id, [])
    found = next((c for c in clips if str(c.get("clip_id")) == clip_id), None)
    if found is None or not found.get("url"):
        raise LookupError(clip_id)
    try:
        data, kind = media.fetch_clip(str(found["url"]))
    except media.MediaLinkError as exc:
        raise LookupError(str(exc)) from exc
    return Response(data, media_type=kind, headers={"Cache-Control": "private, no-store"})


def correct_score(viewer: Viewer, candidate_id: str, result_id: str, score: float, reason: str) -> dict[str, Any]:
    """Set a result's overall score (HR correction) and queue the new value for the HR system.

    The old and new score, who and why are appended to the interviewer comments.
    """
    from hrbridge.pipelines.interview_results.config import load_results_config
    from hrbridge.pipelines.interview_results.ingest import writeback_fields

    view = candidate_view(viewer, candidate_id)
    result = next((r for r in view["results"] if r["result_id"] == result_id), None)
    if result is None:
        raise LookupError(result_id)
    config = load_results_config(state.settings())
    if not config.params.scale_min <= score <= config.params.scale_max or not reason.strip():
        raise ValueError("score outside the scale or no reason given")
    note = f"[{datetime.now(UTC):%Y-%m-%d} {viewer.name}: {result['overall_score']:g} -> {score:g}: {reason.strip()[:500]}]"
    comments = "\n".join(filter(None, [result.get("interviewer_comments"), note]))
    now = datetime.now(UTC)
    with state.hub().begin() as conn:
        conn.execute(interview_results.update().where(interview_results.c.result_id == result_id)
                     .values(overall_score=score, interviewer_comments=comments))
        fields = writeback_fields({**result, "overall_score": score}, result.get("match_report") or {}, config)
        conn.execute(results_writeback.update().where(results_writeback.c.application_id == result["application_id"])
                     .values(fields=fields, state="pending", updated_at=now))
    return {"result_id": result_id, "overall_score": score}


@router.post("/candidates/{candidate_id}/results/{result_id}/score", response_class=HTMLResponse)
async def score_form(request: Request, candidate_id: str, result_id: str, score: float = Form(...),
                     reason: str = Form(""), viewer: Viewer = Depends(requires("interview.scores", "write"))) -> HTMLResponse:
    """The HR score correction form; shows the candidate again with the outcome."""
    t = request.state.t
    try:
        correct_score(viewer, candidate_id, result_id, score, reason)
        message = t("candidate.score_saved")
    except ValueError:
        message = t("candidate.score_invalid")
    view = candidate_view(viewer, candidate_id)
    return page(request, "candidate.html", view=view, clip_links={}, message=message)


@router.post("/api/candidates/{candidate_id}/results/{result_id}/score")
async def api_score(request: Request, candidate_id: str, result_id: str,
                    viewer: Viewer = Depends(requires("interview.scores", "write"))) -> JSONResponse:
    """Correct an overall score: JSON ``{"score": 81.5, "reason": "..."}``."""
    body = await request.json()
    if not isinstance(body, dict) or not isinstance(body.get("score"), (int, float)):
        return JSONResponse({"detail": "expected {\"score\": number, \"reason\": text}"}, status_code=400)
    try:
        return JSONResponse(correct_score(viewer, candidate_id, result_id, float(body["score"]), str(body.get("reason") or "")))
    except ValueError as exc:
        return JSONResponse({"detail": str(exc)}, status_code=400)
