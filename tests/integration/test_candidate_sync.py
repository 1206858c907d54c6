"""candidate_sync end to end over real HTTP: SuccessFactors and interview sandboxes, real databases."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
import sqlalchemy as sa

from connectors.http import RetryPolicy
from hrbridge.connections import build_interview_platform, build_successfactors
from hrbridge.pipelines.candidate_sync import SyncConfig, load_sync_config, run_candidate_sync
from hrbridge.store import create_schema
from hrbridge.store import recruiting as store
from sandbox.interview import InterviewPlatformSandbox
from sandbox.successfactors import SuccessFactorsSandbox

FAST = RetryPolicy(max_attempts=2, backoff_base=0.01, backoff_max=0.02, max_retry_after=0.05, total_budget=1)


@dataclasses.dataclass
class Loop:
    sf_sandbox: SuccessFactorsSandbox
    platform_sandbox: InterviewPlatformSandbox
    sf: Any
    platform: Any
    engine: sa.Engine
    config: SyncConfig

    def run(self, **kwargs: Any):
        return run_candidate_sync(self.sf, self.platform, self.engine, self.config, **kwargs)

    def invitations(self) -> dict[str, Any]:
        with self.engine.connect() as conn:
            return {r.application_id: r for r in conn.execute(sa.select(store.invitations))}


def _engine(url: str) -> sa.Engine:
    from connectors.sql import make_engine

    engine = make_engine(url)
    create_schema(engine)
    return engine


@pytest.fixture
def loop(hrbridge_home, db_url) -> Iterator[Loop]:
    with SuccessFactorsSandbox(page_size=25) as sf_box, InterviewPlatformSandbox() as ip_box:
        engine = _engine(db_url)
        yield Loop(
            sf_box, ip_box,
            build_successfactors(sf_box.url, "sfadmin", "sandbox-secret", "SFPART000001", retry=FAST),
            build_interview_platform(ip_box.url, "sandbox-interview-key", retry=FAST),
            engine, load_sync_config(),
        )
        engine.dispose()


def _triggered_ids(box: SuccessFactorsSandbox) -> set[str]:
    return {str(r["applicationId"]) for r in box.records("JobApplication") if r["status"] == "AI Interview"}


def test_full_run_invites_triggered_applications_and_writes_back(loop: Loop) -> None:
    newest_before = max(r["lastModifiedDateTime"] for r in loop.sf_sandbox.records("JobApplication"))
    summary = loop.run()
    counts = summary.to_dict()
    expected = _triggered_ids(loop.sf_sandbox)
    assert expected, "the seed has applications at the trigger status"
    assert counts["applications_read"] == loop.sf_sandbox.count("JobApplication")
    assert counts["applications_read"] == (counts["applications_loaded"] + counts["applications_quarantined"]
                                           + counts["applications_deduplicated"])
    assert counts["triggered"] == counts["planned"] == counts["invited"] == counts["written_back"] == len(expected)
    assert loop.platform_sandbox.creations == len(expected)
    invitations = loop.invitations()
    assert set(invitations) == expected
    assert {r.state for r in invitations.values()} == {store.WRITTEN_BACK}
    for app_id, row in invitations.items():
        record = loop.sf_sandbox.get("JobApplication", int(app_id))
        assert record["cust_aiInterviewLink"] == row.interview_url and row.interview_url
        assert record["cust_aiInterviewStatus"] == "not_started"
    with loop.engine.connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(store.resume_signals)).scalar() == 60
        run = conn.execute(sa.select(store.sync_runs)).one()
        cursor = store.read_cursor(conn, "successfactors:applications")
        extras = conn.execute(sa.select(store.applications.c.extras)).scalars().first()
    assert run.status == "succeeded" and run.counts["invited"] == len(expected)
    assert cursor == newest_before  # max lastModifiedDateTime read, never applied_at
    assert "cust_aiInterviewStatus" in extras  # custom fields travel in extras


def test_plans_are_personalised_by_job_family_and_resume(loop: Loop) -> None:
    loop.run()
    plans = {row.job_family: row.request["question_plan"] for row in loop.invitations().values()}
    summaries = [row.plan for row in loop.invitations().values()]
    assert all(s["level"] in {"junior", "mid", "senior"} and s["weights"] for s in summaries)
    posted = loop.platform_sandbox.invitation_posts
    assert posted
    if "Sales" in plans:
        assert plans["Sales"]["questions"][0]["dimension"] == "customer_negotiation"
    for plan in plans.values():
        assert abs(sum(q["weight"] for q in plan["questions"]) - 1) < 0.01
    with loop.engine.connect() as conn:
        years = conn.execute(sa.select(store.resume_signals.c.years_experience)).scalars().all()
    assert all(y is not None for y in years)


def test_rerun_sends_nothing_twice_and_picks_up_new_triggers(loop: Loop) -> None:
    first = loop.run()
    new_ids = loop.sf_sandbox.add_applications(3, status="Applied")
    second = loop.run()
    assert second.invited == 0 and loop.platform_sandbox.creations == first.invited
    for app_id in new_ids:
        loop.sf_sandbox.set_application_status(app_id, "AI Interview")
    third = loop.run()
    assert third.triggered == third.invited == third.written_back == 3
    assert loop.platform_sandbox.creations == first.invited + 3
    assert third.applications_read < first.applications_read  # a delta, not a full read


def test_write_back_outage_is_repaired_on_the_next_run(loop: Loop) -> None:
    loop.sf_sandbox.faults.add("503", path_regex=r"/odata/v2/upsert", count=1000)
    broken = loop.run()
    assert broken.invited > 0 and broken.written_back == 0 and broken.write_back_failed == broken.invited
    rows = loop.invitations().values()
    assert {r.state for r in rows} == {store.POSTED}
    assert all("write-back" in r.last_error for r in rows)
    loop.sf_sandbox.faults.clear()
    repaired = loop.run()
    assert repaired.invited == 0 and repaired.written_back == broken.invited
    assert loop.platform_sandbox.creations == broken.invited
    assert {r.state for r in loop.invitations().values()} == {store.WRITTEN_BACK}


class _CrashAfterPost:
    """A platform whose process 'dies' right after the POST succeeded, before the hub is updated."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner

    def create_invitation(self, request: Any, key: str) -> Any:
        self.inner.create_invitation(request, key)
        raise KeyboardInterrupt("simulated crash between POST and recording it")


def test_crash_between_post_and_record_reposts_the_same_invitation(loop: Loop) -> None:
    with pytest.raises(KeyboardInterrupt):
        run_candidate_sync(loop.sf, _CrashAfterPost(loop.platform), loop.engine, loop.config)
    assert {r.state for r in loop.invitations().values()} == {store.PLANNED}
    created = loop.platform_sandbox.creations
    assert created >= 1
    summary = loop.run()
    assert summary.invited == len(loop.invitations()) and summary.written_back == summary.invited
    assert loop.platform_sandbox.creations == len(loop.invitations())  # reposts returned existing invitations
    urls = {r.interview_url for r in loop.invitations().values()}
    assert len(urls) == len(loop.invitations())


def test_per_record_write_back_failures_stay_posted(loop: Loop) -> None:
    loop.config = dataclasses.replace(loop.config, write_back_fields={"cust_noSuchField": "status"})
    summary = loop.run()
    assert summary.written_back == 0 and summary.write_back_failed == summary.invited > 0
    row = next(iter(loop.invitations().values()))
    assert row.state == store.POSTED and "cust_noSuchField" in row.last_error


def test_bad_records_are_quarantined_and_counts_reconcile(loop: Loop) -> None:
    victim = next(r["applicationId"] for r in loop.sf_sandbox.records("JobApplication"))
    loop.sf_sandbox.update("JobApplication", victim, status=None)
    summary = loop.run()
    apps = summary.streams["applications"]
    assert apps.quarantined == 1 and apps.read == apps.loaded + apps.quarantined + apps.deduplicated
    with loop.engine.connect() as conn:
        q = conn.execute(sa.select(store.sync_quarantine)).one()
        stored = conn.execute(sa.select(store.applications.c.application_id)
                              .where(store.applications.c.application_id == str(victim))).first()
    assert (q.stream, q.record_key, q.rule, q.field) == ("applications", str(victim), "required", "status")
    assert q.raw["applicationId"] == victim and q.run_id == summary.run_id
    assert stored is None


def test_cursor_only_advances_after_a_complete_load(loop: Loop) -> None:
    loop.sf_sandbox.faults.add("malformed", path_regex=r"/odata/v2/JobApplication$", count=50)
    with pytest.raises(Exception, match="JSON|malformed|page"):
        loop.run()
    with loop.engine.connect() as conn:
        assert store.read_cursor(conn, "successfactors:applications") is None
        assert store.read_cursor(conn, "successfactors:candidates") is not None
        run = conn.execute(sa.select(store.sync_runs)).one()
    assert run.status == "failed" and run.error
    loop.sf_sandbox.faults.clear()
    summary = loop.run()
    assert summary.applications_read == loop.sf_sandbox.count("JobApplication")


def test_logs_carry_no_personal_data(loop: Loop, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level("INFO")
    victim = next(r for r in loop.sf_sandbox.records("JobApplication") if r["status"] == "Applied")
    loop.sf_sandbox.update("JobApplication", victim["applicationId"], status=None)
    loop.config = dataclasses.replace(loop.config, write_back_fields={"cust_noSuchField": "interview_url"})
    loop.run()
    assert "quarantined applications record" in caplog.text and "write-back of application" in caplog.text
    people = loop.sf_sandbox.records("Candidate")
    for person in people:
        assert person["primaryEmail"] not in caplog.text
        assert f"{person['firstName']} {person['lastName']}" not in caplog.text
    assert "/interview/" not in caplog.text  # candidate links (they carry access tokens) stay out too


def test_not_before_keeps_historic_applications_uninvited(loop: Loop) -> None:
    loop.config = dataclasses.replace(loop.config, not_before=datetime.now(UTC))
    first = loop.run()
    assert first.triggered == 0 and loop.platform_sandbox.creations == 0
    (fresh,) = loop.sf_sandbox.add_applications(1, status="AI Interview")
    second = loop.run()
    assert second.invited == 1 and set(loop.invitations()) == {str(fresh)}
