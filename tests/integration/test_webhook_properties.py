"""Property tests of the receiver: any request gets a documented answer in bounded time, a body over
the cap is never read to the end, and nothing that did not verify is ever queued (the process's memory
under endless bodies is measured in test_webhook_serve)."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from connectors.webhooks import SIGNATURE_HEADER, TIMESTAMP_HEADER, sign
from hrbridge.pipelines.interview_results import load_results_config
from hrbridge.settings import load_settings
from hrbridge.store import hub_engine
from hrbridge.store.results import results_inbox
from hrbridge.webhook import AssetEventEmitter, WebhookLimits, WebhookReceiver, WebhookServer
from tests.factories.results import make_result
from tests.factories.webhooks import SECRET, exchange, raw_request

DOCUMENTED = {200, 202, 400, 401, 408, 409, 411, 413, 422, 503}
LIMITS = WebhookLimits(max_body=16 * 1024, body_timeout=0.5, header_timeout=2, queue_timeout=2)
PATH = "/webhooks/interview"


@pytest.fixture(scope="module")
def receiver_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[WebhookServer]:
    home = Path(tmp_path_factory.mktemp("webhook-properties"))
    settings = load_settings({"HRBRIDGE_HOME": str(home)})
    receiver = WebhookReceiver(hub_engine(settings), load_results_config(settings), settings, SECRET,
                               followup=AssetEventEmitter(lambda extra: None), limits=LIMITS)
    server = WebhookServer(receiver, limits=LIMITS).start()
    try:
        yield server
    finally:
        server.stop()


header_text = st.text(st.characters(min_codepoint=0x20, max_codepoint=0x7E), max_size=40)
events = st.fixed_dictionaries({
    "event": st.sampled_from(["interview.completed", "interview.started", ""]),
    "event_id": st.one_of(st.none(), st.text(max_size=20)),
    "result": st.one_of(st.none(), st.integers(), st.builds(lambda n: make_result(n), st.integers(1, 10**6)),
                        st.dictionaries(st.text(max_size=8), st.text(max_size=8), max_size=4)),
})
bodies = st.one_of(
    st.binary(max_size=4096),
    events.map(lambda e: json.dumps(e).encode()),
    st.integers(1, 5000).map(lambda depth: b"[" * depth + b"]" * depth),
    st.integers(1, 200).map(lambda depth: (b'{"event":' + b"[" * depth + b"]" * depth + b"}")),
    st.integers(16 * 1024 - 16, 40 * 1024).map(lambda size: b"{" + b" " * size + b"}"),
)
signatures = st.sampled_from(["valid", "none", "wrong_secret", "stale", "future", "garbage", "other_body", "no_stamp"])
lengths = st.one_of(st.just("auto"), st.none(), st.integers(-10**6, 10**12).map(str), header_text)


def _headers(mode: str, body: bytes, noise: str) -> dict[str, str]:
    now = int(time.time())
    signed = {
        "valid": lambda: sign(body, SECRET),
        "none": dict,
        "wrong_secret": lambda: sign(body, "another-secret"),
        "stale": lambda: sign(body, SECRET, now - 3600),
        "future": lambda: sign(body, SECRET, now + 3600),
        "garbage": lambda: {TIMESTAMP_HEADER: noise, SIGNATURE_HEADER: noise},
        "other_body": lambda: sign(body + b" ", SECRET),
        "no_stamp": lambda: {SIGNATURE_HEADER: sign(body, SECRET)[SIGNATURE_HEADER]},
    }[mode]()
    return signed


def _queued(engine) -> int:
    with engine.connect() as conn:
        return conn.execute(sa.select(sa.func.count()).select_from(results_inbox)).scalar_one()


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                   HealthCheck.too_slow])
@given(body=bodies, mode=signatures, length=lengths, chunked=st.booleans(), noise=header_text)
def test_any_request_gets_a_documented_answer_and_only_verified_deliveries_are_queued(
    receiver_server: WebhookServer, body: bytes, mode: str, length: str | None, chunked: bool, noise: str,
) -> None:
    engine = receiver_server.receiver.engine
    queued_before = _queued(engine)
    headers = _headers(mode, body, noise)
    if chunked:
        headers["Transfer-Encoding"] = "chunked"
        payload, length = (b"%x\r\n%s\r\n0\r\n\r\n" % (len(body), body) if body else b"0\r\n\r\n"), None
    else:
        payload = body
    status, response = exchange(receiver_server.url, raw_request(PATH, payload, headers, content_length=length),
                                timeout=10)  # no answer within 10 s → status None, not documented

    assert status in DOCUMENTED, response[:300]
    if len(body) > LIMITS.max_body:  # never read past the cap, so never verified or queued
        assert status not in (200, 202, 409, 422), response[:300]
    queued_now = _queued(engine)
    if queued_now > queued_before:
        event = json.loads(body)
        assert mode == "valid" and status == 202 and queued_now == queued_before + 1
        assert event["event"] == "interview.completed" and isinstance(event["result"], dict)
    if mode != "valid":
        assert queued_now == queued_before and b'"queued"' not in response
