"""Idempotent across hub moves: a hub that lost its rows re-plans and gets the same invitations, no conflict."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa

from connectors.interview import IdempotencyConflict, InvitationRequest, idempotency_key, parse_rfc3339
from hrbridge.store import create_schema
from hrbridge.store import recruiting as store
from tests.factories.results import question_plan
from tests.integration import test_candidate_sync as base
from tests.integration.test_candidate_sync import Loop

loop = base.loop  # the shared fixture: both sandboxes over HTTP, a fresh hub (SQLite and Postgres)

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def wipe(engine: sa.Engine) -> None:
    """What moving the hub without its rows leaves: an empty database brought to the current schema."""
    everything = sa.MetaData()
    everything.reflect(engine)  # hub, governance and version tables alike
    everything.drop_all(engine)
    create_schema(engine)


def test_a_hub_restored_without_rows_gets_the_same_invitations(loop: Loop) -> None:
    loop.platform_sandbox.clock = lambda: T0
    first = loop.run(now=T0)
    before = loop.invitations()
    assert first.invited == len(before) > 0

    wipe(loop.engine)
    assert loop.invitations() == {}
    second = loop.run(now=T0 + timedelta(days=2))  # a re-plan derives a deadline two days later

    assert (second.invited, second.invite_failed, second.refused) == (len(before), 0, 0)
    assert loop.platform_sandbox.creations == len(before)  # nothing new was created ...
    outcomes = [p["outcome"] for p in loop.platform_sandbox.invitation_posts]
    assert outcomes.count("replayed") == len(before) and "conflict" not in outcomes  # ... and nothing conflicted
    after = loop.invitations()
    assert {a: r.platform_invitation_id for a, r in after.items()} == {
        a: r.platform_invitation_id for a, r in before.items()}
    for app_id, row in after.items():  # the original deadline stands, not the re-planned one
        assert row.deadline.replace(tzinfo=UTC) == T0 + timedelta(days=7)
        assert row.state == store.WRITTEN_BACK and row.interview_url == before[app_id].interview_url


def test_the_contract_leaves_deadline_out_of_the_idempotent_body(interview_sandbox) -> None:
    from connectors.interview import build_platform

    platform = build_platform("hrbridge", base_url=interview_sandbox.url, api_key="sandbox-interview-key")
    plan = question_plan("Sales")
    request = InvitationRequest(candidate_id="C-1", application_id="A-1", job_id="REQ-1", job_family="Sales",
                                candidate_name="Test Candidate", candidate_email="c1@example.test", locale="en-US",
                                deadline=datetime.now(UTC) + timedelta(days=7), question_plan=plan)
    key = idempotency_key("A-1", plan.version)
    original = platform.create_invitation(request, key)

    replanned = dataclasses.replace(request, deadline=datetime.now(UTC) + timedelta(days=9))
    again = platform.create_invitation(replanned, key)
    assert again.id == original.id and again.deadline == original.deadline

    with pytest.raises(IdempotencyConflict):  # anything else that differs is still a conflict
        platform.create_invitation(dataclasses.replace(request, candidate_name="Another Name"), key)
    assert parse_rfc3339(interview_sandbox.invitations[original.id]["request"]["deadline"]) == original.deadline
