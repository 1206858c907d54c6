"""Write-back and status sync to the SuccessFactors sandbox: per-record failures and faults retried."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from connectors.http import RetryPolicy
from connectors.interview_rest import HrbridgeInterviewClient
from connectors.successfactors import SuccessFactorsConnector
from hrbridge.pipelines.interview_results import (
    ingest_results,
    load_results_config,
    run_interview_results,
    sync_statuses,
    write_back,
)
from hrbridge.settings import load_settings
from hrbridge.store import hub_engine
from hrbridge.store.results import results_writeback
from tests.factories.results import invite


@pytest.fixture
def platform(interview_sandbox):
    client = HrbridgeInterviewClient(interview_sandbox.url, "sandbox-interview-key")
    yield client
    client.close()


@pytest.fixture
def sf(sf_sandbox):
    return SuccessFactorsConnector.basic(sf_sandbox.url, "sfadmin@SFPART000001", "sandbox-secret",
                                         retry=RetryPolicy(max_attempts=1))


def _writeback_rows(engine) -> dict[str, sa.Row]:
    with engine.connect() as conn:
        return {r.application_id: r for r in conn.execute(sa.select(results_writeback))}


def test_scores_written_back_failures_kept_pending_and_retried(hrbridge_home, platform, interview_sandbox,
                                                               sf, sf_sandbox) -> None:
    settings = load_settings()
    config = load_results_config(settings)
    engine = hub_engine(settings)
    app_ids = [str(r["applicationId"]) for r in sf_sandbox.records("JobApplication")[:4]]
    invite(platform, engine, app_ids + ["99999999"])  # the last one does not exist in the HR system
    interview_sandbox.complete()
    ingest_results(platform, engine, config, settings=settings)

    # A transport fault: the whole batch stays pending with the error.
    sf_sandbox.faults.add("503", path_regex="upsert", count=1)
    first = write_back(sf, engine, config)
    assert (first.written, first.failed, first.pending) == (0, 5, 5)
    assert all("503" in (r.last_error or "") or "Retry" in (r.last_error or "") for r in _writeback_rows(engine).values())

    # Next run: accepted records are written; the unknown application stays pending with SAP's message.
    second = write_back(sf, engine, config)
    assert (second.written, second.failed, second.pending) == (4, 1, 1)
    rows = _writeback_rows(engine)
    assert rows["99999999"].state == "pending" and rows["99999999"].attempts == 2
    assert "COE0025" in rows["99999999"].last_error
    for app_id in app_ids:
        assert rows[app_id].state == "written" and rows[app_id].attempts == 2
        record = sf_sandbox.get("JobApplication", int(app_id))
        assert float(record["cust_aiOverallScore"]) == pytest.approx(float(rows[app_id].fields["cust_aiOverallScore"]))
        assert record["cust_aiReportUrl"].startswith(interview_sandbox.url)
        assert record["cust_aiDimensionScores"].startswith("{")
        assert record["cust_aiMatchPercent"] is not None

    # Nothing is sent twice: a third pass only retries the one still pending.
    third = write_back(sf, engine, config)
    assert third.attempted == 1


def test_interview_status_synced_to_the_hr_field(hrbridge_home, platform, interview_sandbox, sf, sf_sandbox) -> None:
    settings = load_settings()
    config = load_results_config(settings)
    engine = hub_engine(settings)
    app_ids = [str(r["applicationId"]) for r in sf_sandbox.records("JobApplication")[:3]]
    inv = invite(platform, engine, app_ids)
    interview_sandbox.start_interviews([inv[1]])
    interview_sandbox.expire([inv[2]])
    counts = sync_statuses(sf, platform, engine, config)
    assert counts.written == 3
    mapping = config.status["mapping"]
    field = config.status["field"]
    statuses = [sf_sandbox.get("JobApplication", int(a))[field] for a in app_ids]
    assert statuses == [mapping["not_started"], mapping["in_progress"], mapping["expired"]]

    interview_sandbox.complete([inv[0]])
    summary = run_interview_results(platform, sf, engine, config, settings=settings)
    assert summary.stored == 1 and summary.written_back == 1
    assert sf_sandbox.get("JobApplication", int(app_ids[0]))[field] == mapping["completed"]
    # Final statuses are not asked again.
    assert sync_statuses(sf, platform, engine, config).checked == 1
