"""The signed completion webhook: wrong signature rejected, good one stored by the same pipeline."""

from __future__ import annotations

import json

import requests
import sqlalchemy as sa

from connectors.interview_rest import HrbridgeInterviewClient
from connectors.webhooks import sign
from hrbridge.pipelines.interview_results import ingest_results, load_results_config
from hrbridge.settings import load_settings
from hrbridge.store import hub_engine
from hrbridge.store.results import interview_results, results_inbox
from hrbridge.webhook import WebhookReceiver, WebhookServer
from tests.factories.results import invite, make_result

SECRET = "sandbox-webhook-secret"


def _count(engine, table) -> int:
    with engine.connect() as conn:
        return conn.execute(sa.select(sa.func.count()).select_from(table)).scalar_one()


def test_wrong_signature_rejected_nothing_stored(hrbridge_home) -> None:
    settings = load_settings()
    engine = hub_engine(settings)
    server = WebhookServer(WebhookReceiver(engine, load_results_config(settings), settings, SECRET)).start()
    try:
        body = json.dumps({"event": "interview.completed", "result": make_result(1)}).encode()
        forged = requests.post(server.url, data=body, headers=sign(body, "not-the-secret"), timeout=5)
        unsigned = requests.post(server.url, data=body, timeout=5)
        tampered_headers = sign(body, SECRET)
        tampered = requests.post(server.url, data=body.replace(b"72.5", b"99.5"), headers=tampered_headers, timeout=5)
    finally:
        server.stop()
    assert forged.status_code == unsigned.status_code == tampered.status_code == 401
    assert "mismatch" in forged.json()["detail"]
    assert _count(engine, results_inbox) == 0 and _count(engine, interview_results) == 0


def test_platform_webhook_stores_result_and_poll_counts_it_as_duplicate(hrbridge_home, interview_sandbox) -> None:
    settings = load_settings()
    config = load_results_config(settings)
    engine = hub_engine(settings)
    server = WebhookServer(WebhookReceiver(engine, config, settings, interview_sandbox.webhook_secret)).start()
    platform = HrbridgeInterviewClient(interview_sandbox.url, "sandbox-interview-key")
    try:
        invite(platform, engine, ["3001", "3002"], callback_url=server.url)
        interview_sandbox.complete()
        assert [d["status"] for d in interview_sandbox.webhook_deliveries] == [202, 202]
        assert server.receiver.wait_idle(timeout=60)
        assert _count(engine, interview_results) == 2  # stored on delivery, before any poll
        polled = ingest_results(platform, engine, config, settings=settings)
    finally:
        server.stop()
        platform.close()
    assert (polled.read, polled.stored, polled.duplicates) == (2, 0, 2)
    with engine.connect() as conn:
        sources = {r[0] for r in conn.execute(sa.select(interview_results.c.source))}
    assert sources == {"webhook"}
