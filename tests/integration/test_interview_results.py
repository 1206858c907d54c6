"""interview_results against the interview sandbox over HTTP and a real hub (SQLite and Postgres)."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from connectors.interview_rest import HrbridgeInterviewClient
from connectors.sql import make_engine
from hrbridge.pipelines.interview_results import ingest_results, load_results_config
from hrbridge.settings import load_settings
from hrbridge.store import create_schema
from hrbridge.store.results import interview_results, results_quarantine, results_writeback, validation_runs
from tests.factories.results import invite


@pytest.fixture
def hub(db_url: str, hrbridge_home):
    engine = make_engine(db_url)
    create_schema(engine)
    yield engine
    engine.dispose()


@pytest.fixture
def platform(interview_sandbox):
    client = HrbridgeInterviewClient(interview_sandbox.url, "sandbox-interview-key")
    yield client
    client.close()


def _count(engine, table) -> int:
    with engine.connect() as conn:
        return conn.execute(sa.select(sa.func.count()).select_from(table)).scalar_one()


def test_bad_results_quarantined_counts_reconcile_and_rerun_is_idempotent(hub, platform, interview_sandbox) -> None:
    settings = load_settings()
    config = load_results_config(settings)
    invite(platform, hub, [str(2000 + i) for i in range(30)])
    produced = interview_sandbox.complete(bad_fraction=0.3)
    bad = interview_sandbox.bad_results
    assert len(produced) == 30 and len(bad) == 9

    counts = ingest_results(platform, hub, config, settings=settings)
    assert counts.read == 30
    assert counts.quarantined == len(bad) and counts.stored == 30 - len(bad) and counts.duplicates == 0
    with hub.connect() as conn:
        quarantine_rows = conn.execute(sa.select(results_quarantine)).all()
        quarantined = {r.result_id: r.rules for r in quarantine_rows}
        stored = {r[0] for r in conn.execute(sa.select(interview_results.c.result_id))}
        run = conn.execute(sa.select(validation_runs)).one()
    # Every deliberately bad result is quarantined, with at least one named rule; none is stored.
    missing_id = [k for k, kind in bad.items() if kind == "missing_required_field"]
    assert set(bad) <= set(quarantined) | set(missing_id)
    assert not (set(bad) & stored)
    assert all(rules for rules in quarantined.values())
    assert all(r.expectations and all(e.startswith("expect_") for e in r.expectations) for r in quarantine_rows)
    assert run.stored == counts.stored and run.quarantined == counts.quarantined
    assert sum(run.failures.values()) >= len(bad)
    assert _count(hub, results_writeback) == counts.stored

    # Rerun: the cursor is past everything, nothing new is read or stored.
    again = ingest_results(platform, hub, config, settings=settings)
    assert (again.read, again.stored, again.quarantined) == (0, 0, 0)
    assert _count(hub, interview_results) == counts.stored


def test_media_references_encrypted_at_rest_and_readable_for_the_archive(hrbridge_home, interview_sandbox) -> None:
    from governance.crypto import Vault
    from hrbridge.pipelines.interview_results import open_media
    from hrbridge.store import hub_engine

    settings = load_settings()
    engine = hub_engine(settings)
    client = HrbridgeInterviewClient(interview_sandbox.url, "sandbox-interview-key")
    invite(client, engine, ["9101"])
    client.close()
    (produced,) = interview_sandbox.complete()
    ingest_results(HrbridgeInterviewClient(interview_sandbox.url, "sandbox-interview-key"), engine,
                   load_results_config(settings), settings=settings)
    with engine.connect() as conn:
        row = dict(conn.execute(sa.select(interview_results)).mappings().one())
    assert isinstance(row["clips"], str) and "media/clips" not in row["clips"]
    assert produced["transcript_ref"] not in (row["transcript_ref"] or "")
    vault = Vault.local(engine, settings.home)
    (opened,) = open_media(vault, [row])
    assert [c["clip_id"] for c in opened["clips"]] == [c["clip_id"] for c in produced["clips"]]
    assert opened["transcript_ref"] == produced["transcript_ref"]
    vault.shred(row["candidate_id"])  # erasure: every copy becomes unreadable
    (erased,) = open_media(vault, [row])
    assert erased["clips"] == [] and erased["transcript_ref"] is None


def test_quarantined_result_requeued_after_the_cause_is_fixed(hrbridge_home, interview_sandbox) -> None:
    from hrbridge.pipelines.interview_results import quarantine_summary, requeue_quarantined
    from hrbridge.store import hub_engine
    from hrbridge.store.recruiting import invitations

    settings = load_settings()
    config = load_results_config(settings)
    engine = hub_engine(settings)
    client = HrbridgeInterviewClient(interview_sandbox.url, "sandbox-interview-key")
    (inv_id,) = invite(client, engine, ["9201"])
    # The ledger lags behind: the platform id is not recorded yet when the result arrives.
    with engine.begin() as conn:
        conn.execute(invitations.update().values(platform_invitation_id=None))
    interview_sandbox.complete()
    first = ingest_results(client, engine, config, settings=settings)
    assert (first.stored, first.quarantined) == (0, 1)
    assert quarantine_summary(engine) == {"known_invitation": 1}

    with engine.begin() as conn:
        conn.execute(invitations.update().values(platform_invitation_id=inv_id))
    assert requeue_quarantined(engine, rule="clips_valid") == 0
    assert requeue_quarantined(engine, rule="known_invitation") == 1
    assert requeue_quarantined(engine, rule="known_invitation") == 0  # once only
    second = ingest_results(client, engine, config, settings=settings)
    client.close()
    assert (second.read, second.stored, second.quarantined) == (1, 1, 0)
    assert quarantine_summary(engine) == {}
