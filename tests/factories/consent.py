"""Invitations that carry the notice, as candidate_sync sends them, for consent tests."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from tests.factories.results import question_plan


def invite_with_notice(platform: Any, engine: Any, application_ids: list[str], locale: str = "en-US",
                       job_family: str = "Sales") -> dict[str, str]:
    """Create invitations carrying the current notice and record them in the hub ledger.

    Returns application id → platform invitation id.
    """
    from connectors.interview import InvitationRequest, idempotency_key
    from hrbridge.consent.config import load_consent_config
    from hrbridge.store.recruiting import POSTED, invitations

    notice = load_consent_config().notice_for(locale)
    plan = question_plan(job_family)
    ids, rows = {}, []
    now = datetime.now(UTC)
    for app_id in application_ids:
        request = InvitationRequest(
            candidate_id=f"cand-{app_id}", application_id=app_id, job_id="REQ-1", job_family=job_family,
            candidate_name="Test Candidate", candidate_email=f"c{app_id}@example.test", locale=locale,
            deadline=now + timedelta(days=7), question_plan=plan, notice=notice)
        key = idempotency_key(app_id, plan.version)
        invitation = platform.create_invitation(request, key)
        ids[app_id] = invitation.id
        rows.append({
            "application_id": app_id, "candidate_id": f"cand-{app_id}", "requisition_id": "REQ-1",
            "job_family": job_family, "idempotency_key": key, "state": POSTED, "plan_id": plan.plan_id,
            "plan_version": plan.version, "plan": plan.to_dict(),
            "request": {"application_id": app_id, "locale": locale, "notice": notice},
            "platform_invitation_id": invitation.id, "platform_status": invitation.status,
            "interview_url": invitation.interview_url, "planned_at": now, "posted_at": now, "attempts": 1,
        })
    with engine.begin() as conn:
        conn.execute(invitations.insert(), rows)
    return ids
