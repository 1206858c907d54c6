"""The webhook inbox holds no clip links or comments in plaintext; processing opens and stores the result."""

from __future__ import annotations

import json

import sqlalchemy as sa

from connectors.interview_rest import HrbridgeInterviewClient
from governance.crypto import Vault
from governance.crypto.envelope import is_token
from hrbridge.pipelines.interview_results import load_results_config, open_media
from hrbridge.pipelines.interview_results.ingest import (
    enqueue_webhook_result,
    open_inbox,
    open_quarantined,
    process_inbox,
)
from hrbridge.settings import load_settings
from hrbridge.store import hub_engine
from hrbridge.store.results import interview_results, results_inbox, results_quarantine
from hrbridge.webhook import WebhookReceiver, WebhookServer
from tests.factories.results import invite, make_result


def _rows(engine, table) -> list[dict]:
    with engine.connect() as conn:
        return [dict(r) for r in conn.execute(sa.select(table).order_by(*table.primary_key.columns)).mappings()]


def test_webhook_inbox_rows_are_sealed_and_results_still_stored(hrbridge_home, interview_sandbox) -> None:
    settings = load_settings()
    config = load_results_config(settings)
    engine = hub_engine(settings)
    server = WebhookServer(WebhookReceiver(engine, config, settings, interview_sandbox.webhook_secret)).start()
    platform = HrbridgeInterviewClient(interview_sandbox.url, "sandbox-interview-key")
    try:
        invite(platform, engine, ["3101", "3102"], callback_url=server.url)
        interview_sandbox.complete()
        assert server.receiver.wait_idle(timeout=60)
    finally:
        server.stop()
        platform.close()
    vault = Vault.local(engine, settings.home)
    stored = open_media(vault, _rows(engine, interview_results))
    assert sorted(r["application_id"] for r in stored) == ["3101", "3102"]
    urls = [clip["url"] for row in stored for clip in row["clips"]]
    assert urls and all(urls)
    inbox = _rows(engine, results_inbox)
    assert len(inbox) == 2 and all(row["processed_at"] is not None for row in inbox)
    for row in inbox:
        text = json.dumps(row["payload"], ensure_ascii=False)
        assert is_token(row["payload"]["_sealed"])
        assert not any(url in text for url in urls)
        assert row["payload"]["candidate_id"] == f"cand-{row['payload']['application_id']}"  # ids stay readable
        assert open_inbox(vault, row["payload"])["clips"][0]["url"] in urls


def test_enqueued_result_sealed_until_processed(hrbridge_home) -> None:
    settings = load_settings().ensure_dirs()
    config = load_results_config(settings)
    engine = hub_engine(settings)
    vault = Vault.local(engine, settings.home)
    result = make_result(7, interviewer_comments="Mentioned her daughter's school")
    enqueue_webhook_result(engine, result, vault=vault)
    (row,) = _rows(engine, results_inbox)
    text = json.dumps(row["payload"], ensure_ascii=False)
    assert result["clips"][0]["url"] not in text and "daughter" not in text and result["report_url"] not in text
    assert open_inbox(vault, row["payload"]) == result
    counts = process_inbox(engine, config, run_id="inbox-test")  # no vault passed: opened with the local one
    # No invitation in the ledger: the real result is quarantined (not its masked copy), nothing lost.
    assert (counts.read, counts.stored + counts.quarantined + counts.duplicates) == (1, 1)
    assert counts.failures.get("known_invitation") == 1
    (quarantined,) = _rows(engine, results_quarantine)
    assert open_quarantined(vault, quarantined)["clips"] == result["clips"]
