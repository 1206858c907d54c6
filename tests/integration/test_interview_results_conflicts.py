"""One result per invitation: later, different results are quarantined as conflicting, counts reconcile."""

from __future__ import annotations

import pytest
import requests
import sqlalchemy as sa

from connectors.sql import make_engine
from hrbridge.pipelines.interview_results import CONFLICT_RULE, load_results_config, validate_and_store
from hrbridge.settings import load_settings
from hrbridge.store import create_schema, hub_engine
from hrbridge.store.results import interview_results, results_quarantine, validation_runs
from hrbridge.webhook import WebhookReceiver, WebhookServer
from tests.factories.results import ledger, make_result
from tests.factories.webhooks import SECRET, delivery


def _five_for_one_invitation() -> list[dict]:
    return [make_result(n, invitation_id="inv-00001", application_id="1001", candidate_id="cand-00001",
                        overall_score=60.0 + n) for n in range(1, 6)]


def test_five_webhook_results_for_one_invitation_store_one(hrbridge_home) -> None:
    settings = load_settings()
    engine = hub_engine(settings)
    results = _five_for_one_invitation()
    ledger(engine, results)
    server = WebhookServer(WebhookReceiver(engine, load_results_config(settings), settings, SECRET)).start()
    try:
        for result in results:
            body, headers = delivery(result)
            assert requests.post(server.url, data=body, headers=headers, timeout=10).status_code == 202
            assert server.receiver.wait_idle(60)
    finally:
        server.stop()
    with engine.connect() as conn:
        stored = [r.result_id for r in conn.execute(sa.select(interview_results.c.result_id))]
        held = conn.execute(sa.select(results_quarantine).order_by(results_quarantine.c.id)).all()
        runs = conn.execute(sa.select(validation_runs)).all()
    assert stored == ["res-00001"]
    assert [r.result_id for r in held] == ["res-00002", "res-00003", "res-00004", "res-00005"]
    assert all(r.rules == [CONFLICT_RULE.name] for r in held)
    assert all("invitation inv-00001 already has result res-00001" in r.expectations[0] for r in held)
    assert sum(run.rows_checked + run.duplicates for run in runs) == 5  # read = stored + quarantined + duplicates
    assert sum(run.stored for run in runs) == 1 and sum(run.quarantined for run in runs) == 4
    assert sum(run.failures.get(CONFLICT_RULE.name, 0) for run in runs) == 4


@pytest.fixture
def hub(db_url: str, hrbridge_home):
    engine = make_engine(db_url)
    create_schema(engine)
    yield engine
    engine.dispose()


def test_conflicts_within_a_batch_and_against_stored_results_reconcile(hub) -> None:
    config = load_results_config(load_settings())
    results = _five_for_one_invitation()
    ledger(hub, results)
    first = validate_and_store(hub, results[:3], config, run_id="r1", source="poll")
    assert (first.read, first.stored, first.quarantined, first.duplicates) == (3, 1, 2, 0)
    # A resend of the stored result is a duplicate; the other two conflict with what is stored.
    second = validate_and_store(hub, [results[0], results[3], results[4]], config, run_id="r2", source="poll")
    assert (second.read, second.stored, second.quarantined, second.duplicates) == (3, 0, 2, 1)
    assert first.reconciles() and second.reconciles()
    assert second.failures[CONFLICT_RULE.name] == 2 and second.rule_titles[CONFLICT_RULE.name] == CONFLICT_RULE.title


def test_an_invalid_first_result_does_not_block_a_valid_later_one(hub) -> None:
    config = load_results_config(load_settings())
    bad, good = _five_for_one_invitation()[:2]
    bad["overall_score"] = 250  # outside the scale: quarantined by the suite, not stored
    ledger(hub, [good])
    counts = validate_and_store(hub, [bad, good], config, run_id="r1", source="poll")
    assert (counts.stored, counts.quarantined) == (1, 1)
    assert counts.failures[CONFLICT_RULE.name] == 0
