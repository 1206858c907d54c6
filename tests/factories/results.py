"""Small builders of raw interview results (the platform's JSON) for results tests."""

from __future__ import annotations

import copy
from datetime import UTC, datetime, timedelta
from typing import Any

NOW = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)


def _iso(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


def make_result(n: int = 1, **overrides: Any) -> dict[str, Any]:
    """One valid result (for the Sales job family, completed an hour ago); override any field."""
    result: dict[str, Any] = {
        "result_id": f"res-{n:05d}",
        "invitation_id": f"inv-{n:05d}",
        "candidate_id": f"cand-{n:05d}",
        "application_id": f"{1000 + n}",
        "job_id": "REQ-1",
        "job_family": "Sales",
        "completed_at": _iso(NOW - timedelta(hours=1)),
        "invited_at": _iso(NOW - timedelta(days=2)),
        "overall_score": 72.5,
        "scale": {"min": 0, "max": 100},
        "dimensions": [
            {"name": "communication", "score": 80, "weight": 0.5, "comment": "clear"},
            {"name": "customer_negotiation", "score": 65, "weight": 0.5, "comment": "solid"},
        ],
        "keywords": ["pipeline", "客户关系"],
        "clips": [{
            "clip_id": f"clip-{n:05d}-1", "url": f"https://media.example.test/clips/{n}/1.mp4",
            "dimension": "communication", "expires_at": _iso(NOW + timedelta(days=30)),
            "duration_seconds": 42,
        }],
        "report_url": f"https://interview.example.test/reports/{n}",
        "model_version": "scorer-2026.11",
        "interviewer_comments": "Good structure.",
        "transcript_ref": f"tr-{n}",
    }
    result.update(copy.deepcopy(overrides))
    return result


def make_results(count: int, start: int = 1) -> list[dict[str, Any]]:
    """``count`` valid results with distinct ids."""
    return [make_result(i) for i in range(start, start + count)]


def known_invitations(results: list[dict[str, Any]]) -> set[str]:
    """The invitation ids of ``results`` (what the hub would know)."""
    return {r["invitation_id"] for r in results if r.get("invitation_id")}


def question_plan(job_family: str = "Sales") -> Any:
    """A small question plan whose dimensions are valid for ``job_family``."""
    from connectors.interview import Question, QuestionPlan

    dims = {"Sales": ("customer_negotiation", "communication"),
            "Engineering": ("technical_depth", "problem_solving")}.get(job_family, ("communication", "motivation"))
    questions = tuple(
        Question(id=f"q{i}", dimension=dim, scenario=f"{dim}_case", prompt=f"Tell us about {dim}.",
                 weight=0.5, time_limit_seconds=120)
        for i, dim in enumerate(dims, start=1)
    )
    return QuestionPlan(plan_id=f"plan-{job_family.lower()}", version="v1", questions=questions)


def invite(platform: Any, engine: Any, application_ids: list[str], job_family: str = "Sales",
           callback_url: str | None = None, candidate_ids: list[str] | None = None) -> list[str]:
    """Create real invitations on the platform and record them in the hub ledger, as candidate_sync does.

    Returns the platform invitation ids, in the order of ``application_ids``.
    """
    from connectors.interview import InvitationRequest, idempotency_key
    from hrbridge.store.recruiting import POSTED, invitations

    plan = question_plan(job_family)
    ids, rows = [], []
    for position, app_id in enumerate(application_ids):
        candidate_id = candidate_ids[position] if candidate_ids else f"cand-{app_id}"
        request = InvitationRequest(
            candidate_id=candidate_id, application_id=app_id, job_id="REQ-1", job_family=job_family,
            candidate_name="Test Candidate", candidate_email=f"c{app_id}@example.test", locale="en-US",
            deadline=datetime.now(UTC) + timedelta(days=7), question_plan=plan, callback_url=callback_url,
        )
        key = idempotency_key(app_id, plan.version)
        invitation = platform.create_invitation(request, key)
        ids.append(invitation.id)
        rows.append({
            "application_id": app_id, "candidate_id": candidate_id, "requisition_id": "REQ-1",
            "job_family": job_family, "idempotency_key": key, "state": POSTED, "plan_id": plan.plan_id,
            "plan_version": plan.version, "plan": plan.to_dict(), "request": {"application_id": app_id},
            "platform_invitation_id": invitation.id, "platform_status": invitation.status,
            "interview_url": invitation.interview_url, "planned_at": datetime.now(UTC),
            "posted_at": datetime.now(UTC), "attempts": 1,
        })
    with engine.begin() as conn:
        conn.execute(invitations.insert(), rows)
    return ids


def hub_application(engine: Any, application_id: str, candidate_id: str, *, email: str | None = None,
                    status: str = "Hired", requisition_id: str = "REQ-1", job_family: str = "Sales",
                    first_name: str = "Mei", last_name: str = "Chen", hired_on: datetime | None = None) -> None:
    """Put one application with its candidate and requisition into the hub (as candidate_sync would)."""
    from connectors.sql import upsert
    from hrbridge.store.recruiting import applications, candidates, requisitions

    now = hired_on or NOW
    with engine.begin() as conn:
        upsert(conn, requisitions, [{
            "requisition_id": requisition_id, "title": f"{job_family} Specialist", "job_family": job_family,
            "job_code": "JC-1", "department": "Commercial", "country": "CN", "last_modified": now,
            "extras": {"cust_requiredSkills": "negotiation, crm"}, "loaded_at": now}], key=["requisition_id"])
        upsert(conn, candidates, [{
            "candidate_id": candidate_id, "first_name": first_name, "last_name": last_name, "email": email,
            "phone": "13812345678", "country": "CN", "city": "Shanghai", "last_modified": now,
            "loaded_at": now}], key=["candidate_id"])
        upsert(conn, applications, [{
            "application_id": application_id, "candidate_id": candidate_id, "requisition_id": requisition_id,
            "status": status, "first_name": first_name, "last_name": last_name, "email": email,
            "last_modified": now, "extras": {}, "loaded_at": now}], key=["application_id"])


def hub_result(engine: Any, result_id: str, application_id: str, candidate_id: str, score: float = 75.0) -> None:
    """Put one stored interview result into the hub."""
    from hrbridge.store.results import interview_results

    with engine.begin() as conn:
        conn.execute(interview_results.insert().values(
            result_id=result_id, invitation_id=f"inv-{result_id}", candidate_id=candidate_id,
            application_id=application_id, job_id="REQ-1", job_family="Sales",
            completed_at=NOW - timedelta(days=10), invited_at=NOW - timedelta(days=12), overall_score=score,
            dimensions=[{"name": "communication", "score": score, "weight": 1.0, "comment": "clear"}],
            keywords=["crm"], clips=[{"clip_id": f"clip-{result_id}", "url": "https://m.example.test/c.mp4",
                                      "dimension": "communication", "expires_at": "2026-12-04T00:00:00Z"}],
            report_url=f"https://interview.example.test/r/{result_id}", model_version="m1",
            interviewer_comments="Solid.", transcript_ref=None, match_percent=70.0,
            match_report={"match_percent": 70.0, "factors": []}, source="poll", run_id="run-f", stored_at=NOW,
        ))


def ledger(engine: Any, results: list[dict[str, Any]]) -> None:
    """Record the invitations of ``results`` in the hub ledger as posted (so ``known_invitation`` passes)."""
    from hrbridge.store.recruiting import POSTED, invitations

    plan = question_plan()
    seen: dict[str, dict[str, Any]] = {}
    for result in results:
        seen.setdefault(result["invitation_id"], {
            "application_id": result["application_id"], "candidate_id": result["candidate_id"],
            "requisition_id": "REQ-1", "job_family": result.get("job_family") or "Sales",
            "idempotency_key": f"key-{result['invitation_id']}", "state": POSTED, "plan_id": plan.plan_id,
            "plan_version": plan.version, "plan": plan.to_dict(), "request": {"application_id": result["application_id"]},
            "platform_invitation_id": result["invitation_id"], "planned_at": NOW, "posted_at": NOW, "attempts": 1,
        })
    with engine.begin() as conn:
        conn.execute(invitations.insert(), list(seen.values()))
