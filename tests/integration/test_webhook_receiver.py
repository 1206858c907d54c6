"""The webhook receiver against hostile and broken clients, on loopback, with bounded loops.

Each test reproduces one way the earlier thread-per-connection receiver failed: lengths that skip
the body cap or drop the connection, floods that reset signed deliveries, half-open connections
that each pinned a thread forever, replays accepted twice, and several results stored for one
invitation.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests
import sqlalchemy as sa

from connectors.webhooks import SIGNATURE_HEADER, sign
from hrbridge.pipelines.interview_results import load_results_config
from hrbridge.settings import load_settings
from hrbridge.store import hub_engine
from hrbridge.store.results import results_inbox
from hrbridge.webhook import AssetEventEmitter, WebhookLimits, WebhookReceiver, WebhookServer
from tests.factories.results import make_result
from tests.factories.webhooks import SECRET, delivery, exchange, json_body, raw_request, read_response

PATH = "/webhooks/interview"


def _inbox(engine) -> int:
    with engine.connect() as conn:
        return conn.execute(sa.select(sa.func.count()).select_from(results_inbox)).scalar_one()


@pytest.fixture
def events() -> list[dict]:
    """Asset events the receiver emitted (the publish side of a real AssetEventEmitter)."""
    return []


@pytest.fixture
def start(hrbridge_home, events) -> Iterator:
    """Start receivers on the test's hub: ``start(**limits)`` → a running WebhookServer."""
    servers: list[WebhookServer] = []
    settings = load_settings()

    def _start(**limits: float) -> WebhookServer:
        bounds = WebhookLimits(**limits)
        receiver = WebhookReceiver(hub_engine(settings), load_results_config(settings), settings, SECRET,
                                   followup=AssetEventEmitter(events.append), limits=bounds)
        servers.append(WebhookServer(receiver, limits=bounds).start())
        return servers[-1]

    yield _start
    for server in servers:
        server.stop()


def test_negative_content_length_is_refused_before_reading_the_body(start) -> None:
    server = start()
    host, port = server.socket.getsockname()[:2]
    with socket.create_connection((host, port), timeout=10) as sock:
        sock.sendall(raw_request(PATH, headers=sign(b"x", SECRET), content_length="-1"))
        sock.sendall(b"x" * 1024 * 1024)  # the start of an endless body; the server must not wait for its end
        status, _ = read_response(sock, timeout=10)
    assert status == 400
    assert _inbox(server.receiver.engine) == 0


@pytest.mark.parametrize("length", ["abc", "1e3", "+5", "12 34", "0x10", "-0", "١٢", "99999999999999999999999"])
def test_malformed_or_huge_content_length_gets_an_answer(start, length: str) -> None:
    server = start()
    status, response = exchange(server.url, raw_request(PATH, b"{}", sign(b"{}", SECRET), content_length=length))
    assert status in (400, 413), response[:200]


def test_missing_length_is_411_and_oversize_is_413_before_reading(start) -> None:
    server = start(max_body=1024)
    body, headers = delivery()
    assert exchange(server.url, raw_request(PATH, b"", headers, content_length=None))[0] == 411
    status, response = exchange(server.url, raw_request(PATH, b"", headers, content_length="1025"))
    assert status == 413 and "1024" in json_body(response)["detail"]


def test_chunked_body_is_capped_while_streaming(start) -> None:
    server = start(max_body=4096)
    chunk = b"a" * 1000
    chunked = b"".join(b"%x\r\n%s\r\n" % (len(chunk), chunk) for _ in range(50)) + b"0\r\n\r\n"
    headers = {**sign(chunk * 50, SECRET), "Transfer-Encoding": "chunked"}
    status, _ = exchange(server.url, raw_request(PATH, chunked, headers, content_length=None))
    assert status == 413


def test_chunked_delivery_within_the_cap_is_queued(start) -> None:
    server = start()
    body, headers = delivery()
    chunked = b"%x\r\n%s\r\n0\r\n\r\n" % (len(body), body)
    status, response = exchange(server.url, raw_request(PATH, chunked, {**headers, "Transfer-Encoding": "chunked"},
                                                        content_length=None))
    assert status == 202 and "queued" in json_body(response)
    assert _inbox(server.receiver.engine) == 1


def test_a_body_that_trickles_gets_408(start) -> None:
    server = start(body_timeout=0.5)
    body, headers = delivery()
    host, port = server.socket.getsockname()[:2]
    with socket.create_connection((host, port), timeout=10) as sock:
        sock.sendall(raw_request(PATH, body[:10], headers, content_length=str(len(body))))
        status, _ = read_response(sock, timeout=10)
    assert status == 408
    assert _inbox(server.receiver.engine) == 0


def test_half_open_connections_hold_no_thread_and_are_closed(start) -> None:
    server = start(header_timeout=0.5)
    host, port = server.socket.getsockname()[:2]
    threads_before = threading.active_count()
    stalled = []
    for _ in range(60):
        sock = socket.create_connection((host, port), timeout=10)
        sock.sendall(b"POST /webhooks/interview HTTP/1.1\r\nHost: x\r\n")  # the head never ends
        stalled.append(sock)
    try:
        body, headers = delivery()
        answer = requests.post(server.url, data=body, headers=headers, timeout=10)
        assert answer.status_code == 202  # served while 60 connections stall
        assert threading.active_count() <= threads_before + 2  # no thread per connection
        closed = 0
        for sock in stalled:
            sock.settimeout(10)
            try:
                closed += sock.recv(1024) == b""
            except ConnectionResetError:
                closed += 1
        assert closed == len(stalled)  # every stalled connection was closed by its head deadline
    finally:
        for sock in stalled:
            sock.close()


def test_a_flood_does_not_reset_signed_deliveries(start) -> None:
    server = start()
    junk = raw_request(PATH, b"x" * 512, {"X-HRB-Timestamp": str(int(time.time())), SIGNATURE_HEADER: "v1=00"})
    signed = [delivery(make_result(n)) for n in range(1, 201)]

    def send_junk(_: int) -> int | None:
        try:
            return exchange(server.url, junk)[0]
        except OSError:
            return None

    def send_signed(item: tuple[bytes, dict[str, str]]) -> int | str:
        try:
            return requests.post(server.url, data=item[0], headers=item[1], timeout=30).status_code
        except requests.RequestException as exc:
            return type(exc).__name__

    with ThreadPoolExecutor(max_workers=256) as pool:
        flood = pool.map(send_junk, range(2000))
        answers = list(pool.map(send_signed, signed))
        junk_answers = list(flood)
    assert answers == [202] * len(signed)
    assert set(junk_answers) <= {401, 503}
    assert _inbox(server.receiver.engine) == len(signed)


def test_a_replay_is_refused_in_every_receiver_sharing_the_hub(start, events) -> None:
    first, second = start(), start()
    body, headers = delivery()
    assert requests.post(first.url, data=body, headers=headers, timeout=10).status_code == 202
    again = requests.post(first.url, data=body, headers=headers, timeout=10)
    elsewhere = requests.post(second.url, data=body, headers=headers, timeout=10)
    reformatted = {**headers, SIGNATURE_HEADER: headers[SIGNATURE_HEADER].upper().replace("V1=", "v1=") + ", v1=00"}
    disguised = requests.post(second.url, data=body, headers=reformatted, timeout=10)
    assert again.status_code == elsewhere.status_code == disguised.status_code == 409
    assert again.json()["error"] == "replayed delivery"
    assert _inbox(first.receiver.engine) == 1
    assert first.receiver.wait_idle(10) and len(events) == 1


def test_a_senders_retry_of_the_same_event_is_acknowledged_not_queued_again(start) -> None:
    server = start()
    body, headers = delivery(event_id="evt_retry")
    retry_body, retry_headers = body, sign(body, SECRET, int(time.time()) - 5)  # re-signed by the sender
    assert requests.post(server.url, data=body, headers=headers, timeout=10).status_code == 202
    retry = requests.post(server.url, data=retry_body, headers=retry_headers, timeout=10)
    assert retry.status_code == 200 and retry.json()["duplicate"]
    assert _inbox(server.receiver.engine) == 1


def test_a_replay_after_the_window_is_stale(start) -> None:
    server = start(tolerance=60)
    body, headers = delivery(timestamp=int(time.time()) - 61)
    answer = requests.post(server.url, data=body, headers=headers, timeout=10)
    assert answer.status_code == 401 and "stale" in answer.json()["detail"]


def test_busy_receiver_answers_503_with_retry_after(start) -> None:
    server = start(max_inflight=1, queue_timeout=0.2, body_timeout=5)
    body, headers = delivery()
    host, port = server.socket.getsockname()[:2]
    with socket.create_connection((host, port), timeout=10) as slow:
        slow.sendall(raw_request(PATH, body[:5], headers, content_length=str(len(body))))  # holds the one slot
        time.sleep(0.2)
        other_body, other_headers = delivery(make_result(2))
        busy = requests.post(server.url, data=other_body, headers=other_headers, timeout=10)
    assert busy.status_code == 503 and busy.headers["Retry-After"]
