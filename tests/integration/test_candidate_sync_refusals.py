"""Invitations the platform refuses (HTTP 422) stop after ``invitation.max_attempts`` and can be re-armed."""

from __future__ import annotations

import dataclasses

import sqlalchemy as sa

from hrbridge.pipelines.candidate_sync import SyncConfig
from hrbridge.store import recruiting as store
from tests.integration import test_candidate_sync as base
from tests.integration.test_candidate_sync import Loop

loop = base.loop  # the shared fixture: both sandboxes over HTTP, a fresh hub (SQLite and Postgres)


def _break_email(loop: Loop) -> tuple[int, int]:
    """An application at the trigger status whose candidate has no usable e-mail anywhere."""
    apps = loop.sf_sandbox.records("JobApplication")
    per_candidate = {}
    for record in apps:
        per_candidate[record["candidateId"]] = per_candidate.get(record["candidateId"], 0) + 1
    app = next(r for r in apps if r["status"] == "Applied" and per_candidate[r["candidateId"]] == 1)
    loop.sf_sandbox.update("Candidate", app["candidateId"], primaryEmail="no-address")
    loop.sf_sandbox.update("JobApplication", app["applicationId"], contactEmail="no-address",
                           status="AI Interview")
    return app["applicationId"], app["candidateId"]


def _refused_rows(loop: Loop) -> list[sa.Row]:
    with loop.engine.connect() as conn:
        return conn.execute(sa.select(store.sync_quarantine)
                            .where(store.sync_quarantine.c.rule == "invitation_refused")).all()


def test_refused_invitation_stops_after_max_attempts(loop: Loop) -> None:
    app_id, cand_id = _break_email(loop)
    runs = [loop.run() for _ in range(3)]
    assert [r.invite_failed for r in runs] == [1, 1, 0]
    assert [r.refused for r in runs] == [0, 0, 1]
    row = loop.invitations()[str(app_id)]
    assert row.state == store.REFUSED and row.refusals == 3 and row.refused_at is not None
    assert "InvalidInvitation" in row.last_error and "candidate_email" in row.last_error
    (quarantined,) = _refused_rows(loop)
    assert (quarantined.stream, quarantined.record_key, quarantined.field) == (
        "invitations", str(app_id), "candidate_email")
    assert quarantined.raw == {"application_id": str(app_id), "candidate_id": str(cand_id), "refusals": 3,
                               "fields": ["candidate_email"]}
    posts_before = len(loop.platform_sandbox.invitation_posts)
    fourth = loop.run()
    assert fourth.invite_failed == fourth.refused == 0  # terminal: not sent again
    assert len(loop.platform_sandbox.invitation_posts) == posts_before
    assert fourth.to_dict()["refused"] == 0 and runs[2].to_dict()["refused"] == 1
    with loop.engine.connect() as conn:
        assert store.invitation_counts(conn)[store.REFUSED] == 1


def test_fixed_record_rearms_the_invitation(loop: Loop) -> None:
    loop.config = dataclasses.replace(loop.config, max_attempts=1)
    app_id, cand_id = _break_email(loop)
    first = loop.run()
    assert first.refused == 1
    loop.sf_sandbox.update("Candidate", cand_id, primaryEmail="fixed.address@example.com")
    second = loop.run()
    assert second.rearmed == 1 and second.invited == 1 and second.written_back >= 1
    row = loop.invitations()[str(app_id)]
    assert row.state == store.WRITTEN_BACK and row.refusals == 0
    assert loop.sf_sandbox.get("JobApplication", app_id)["cust_aiInterviewLink"] == row.interview_url


def test_a_change_without_a_new_email_does_not_rearm(loop: Loop) -> None:
    loop.config = dataclasses.replace(loop.config, max_attempts=1)
    app_id, cand_id = _break_email(loop)
    loop.run()
    loop.sf_sandbox.update("Candidate", cand_id, city="Hangzhou")  # modified, e-mail still broken
    again = loop.run()
    assert again.rearmed == 0 and loop.invitations()[str(app_id)].state == store.REFUSED


def test_raising_max_attempts_rearms(loop: Loop) -> None:
    loop.config = dataclasses.replace(loop.config, max_attempts=1)
    app_id, _ = _break_email(loop)
    assert loop.run().refused == 1
    loop.config = dataclasses.replace(loop.config, max_attempts=2)
    again = loop.run()
    assert again.rearmed == 1 and again.refused == 1  # one more try, refused again
    row = loop.invitations()[str(app_id)]
    assert row.state == store.REFUSED and row.refusals == 2
    assert len(_refused_rows(loop)) == 2


def test_outages_do_not_count_as_refusals(loop: Loop) -> None:
    loop.config = dataclasses.replace(loop.config, max_attempts=1)
    loop.platform_sandbox.faults.add("503", path_regex=r"/v1/invitations", count=1000)
    broken = loop.run()
    assert broken.invite_failed > 0 and broken.refused == 0
    assert {r.state for r in loop.invitations().values()} == {store.PLANNED}
    assert {r.refusals for r in loop.invitations().values()} == {0}


def test_max_attempts_is_read_from_config() -> None:
    doc = {"trigger_status": "AI Interview", "write_back": {"fields": {"cust_x": "status"}},
           "invitation": {"max_attempts": 5}}
    assert SyncConfig.from_document(doc).max_attempts == 5
    assert SyncConfig.from_document({**doc, "invitation": {}}).max_attempts == 3
