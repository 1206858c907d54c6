"""Archive (HR ops, managers): a person's interview portrait at hire beside later assessments.

The portrait is what ``archive_sync`` kept from the interview ("initial portrait"); later
assessments (performance reviews imported by the interview-feedback loop into ``archive_outcomes``)
fill the "now" column through :func:`later_assessments` ("communication 7.2 at hire, 9.0 now");
without any the page shows the slot empty and says so. Hiring managers see only people hired into their own requisitions.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, JSONResponse

from hrbridge.archive import employments, outcomes, persons, portraits
from plugins.hrbridge_pages import state
from plugins.hrbridge_pages.access import Viewer, require_candidate_scope, requires
from plugins.hrbridge_pages.registry import Page, register
from plugins.hrbridge_pages.render import page

PAGE = register(Page("archive", "archive.title", "archive.summary", ("archive.portrait",), order=25))
router = APIRouter()
LIST_LIMIT = 200


def people(viewer: Viewer, search: str = "") -> list[dict[str, Any]]:
    """Archived people with their latest hire, newest hire first (scoped for hiring managers)."""
    query = (sa.select(persons.c.person_key, persons.c.first_name, persons.c.last_name, employments.c.position_title,
                       employments.c.job_family, employments.c.department, employments.c.hire_date,
                       employments.c.requisition_id)
             .join(employments, employments.c.person_key == persons.c.person_key)
             .order_by(employments.c.hire_date.desc()).limit(LIST_LIMIT))
    if viewer.scoped:
        query = query.where(employments.c.requisition_id.in_(sorted(viewer.requisitions or ())))
    if search:
        like = f"%{search[:100]}%"
        query = query.where(sa.or_(persons.c.first_name.ilike(like), persons.c.last_name.ilike(like)))
    with state.archive().connect() as conn:
        rows = [dict(r) for r in conn.execute(query).mappings()]
    seen: dict[str, dict[str, Any]] = {}
    for row in rows:
        seen.setdefault(row["person_key"], row)
    return list(seen.values())


def later_assessments(person_key: str) -> list[dict[str, Any]]:
    """Assessments after hire, oldest first: ``{"assessed_at", "source", "scores": {dimension: score}, "rating"}``.

    Performance reviews imported by the interview-feedback loop (``archive_outcomes``, kind rating);
    ``scores`` holds the review's per-dimension assessments on the interview's 0-10 scale.
    """
    query = (sa.select(outcomes.c.effective_date, outcomes.c.source, outcomes.c.assessments, outcomes.c.rating,
                       outcomes.c.rating_scale_max)
             .where(outcomes.c.person_key == person_key, outcomes.c.kind == "rating")
             .order_by(outcomes.c.effective_date))
    with state.archive().connect() as conn:
        return [{"assessed_at": r.effective_date, "source": r.source, "scores": dict(r.assessments or {}),
                 "rating": r.rating, "scale": r.rating_scale_max} for r in conn.execute(query)]


def portrait_view(viewer: Viewer, person_key: str) -> dict[str, Any]:
    """The person, their hires, the interview portrait at hire and later assessments side by side."""
    with state.archive().connect() as conn:
        person = conn.execute(sa.select(persons.c.person_key, persons.c.first_name, persons.c.last_name,
                                        persons.c.city, persons.c.country)
                              .where(persons.c.person_key == person_key)).mappings().first()
        if person is None:
            raise LookupError(person_key)
        hires = [dict(r) for r in conn.execute(sa.select(employments).where(employments.c.person_key == person_key)
                                               .order_by(employments.c.hire_date)).mappings()]
        require_candidate_scope(viewer, {str(h["requisition_id"]) for h in hires})
        history = [dict(r) for r in conn.execute(
            sa.select(portraits.c.result_id, portraits.c.application_id, portraits.c.completed_at, portraits.c.job_family,
                      portraits.c.overall_score, portraits.c.dimension_scores, portraits.c.dimension_comments,
                      portraits.c.keywords, portraits.c.interviewer_comments, portraits.c.match_percent)
            .where(portraits.c.person_key == person_key).order_by(portraits.c.completed_at)).mappings()]
    at_hire = history[-1] if history else None
    later = later_assessments(person_key)
    latest: dict[str, Any] = {}
    for assessment in later:  # the newest assessment of each dimension
        latest.update(assessment["scores"])
    dimensions = list((at_hire or {}).get("dimension_scores", {}) or {})
    comparison = [{"dimension": d, "at_hire": (at_hire or {}).get("dimension_scores", {}).get(d),
                   "now": latest.get(d)} for d in dimensions]
    return {"person": dict(person), "hires": hires, "portrait": at_hire, "history": history, "later": later,
            "comparison": comparison}


@router.get("/archive", response_class=HTMLResponse)
async def archive_home(request: Request, q: str = "", viewer: Viewer = Depends(requires("archive.portrait"))) -> HTMLResponse:
    """Archived people (hires) the viewer may see."""
    return page(request, "archive.html", rows=people(viewer, q.strip()), q=q)


@router.get("/archive/{person_key}", response_class=HTMLResponse)
async def archive_person(request: Request, person_key: str,
                         viewer: Viewer = Depends(requires("archive.portrait"))) -> HTMLResponse:
    """One person's portrait at hire beside later assessments."""
    return page(request, "archive_person.html", view=portrait_view(viewer, person_key))


@router.get("/api/archive/{person_key}")
async def api_person(person_key: str, viewer: Viewer = Depends(requires("archive.portrait"))) -> JSONResponse:
    """The portrait comparison as JSON."""
    import json

    return JSONResponse(json.loads(json.dumps(portrait_view(viewer, person_key), default=str)))
