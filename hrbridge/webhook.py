"""A small receiver for the platform's signed ``interview.completed`` webhooks (the faster path).

Each POST is verified (HMAC-SHA256 over ``timestamp.body``, freshness window) before anything is
read; a bad signature gets 401 and nothing is stored. A good one is queued in ``results_inbox``
(sealed under the candidate's data key: clip links and names are not stored in plaintext) and then validated and stored by the same pipeline function the poller uses, so both paths apply
the same rules and a result seen twice is counted once (later copies are duplicates).
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Callable
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from sqlalchemy.engine import Engine

from connectors.webhooks import InvalidSignature, verify
from hrbridge.pipelines.interview_results import (
    ResultsConfig,
    enqueue_webhook_result,
    media_vault,
    new_run_id,
    process_inbox,
    record_run,
)
from hrbridge.settings import Settings

log = logging.getLogger(__name__)

MAX_BODY = 5 * 1024 * 1024
EVENT = "interview.completed"


class WebhookReceiver:
    """Verify and enqueue completion events; a worker thread validates and stores them.

    ``handle`` is the HTTP-independent core: it answers as soon as the event is verified and
    queued (so the platform never times out while the suite runs) and wakes the worker, which
    drains the inbox through :func:`process_inbox`. ``wait_idle`` blocks until everything queued
    so far is processed (tests and graceful shutdown use it).
    """

    def __init__(self, engine: Engine, config: ResultsConfig, settings: Settings, secret: str,
                 tolerance: int = 300) -> None:
        if not secret:
            raise ValueError("a webhook secret is required (HRBRIDGE_WEBHOOK_SECRET)")
        self.engine, self.config, self.settings = engine, config, settings
        self.secret, self.tolerance = secret, tolerance
        self.vault = media_vault(engine, config, settings)
        self._state = threading.Condition()
        self._queued = 0
        self._done = 0
        self._stopping = False
        self.last_error: str | None = None
        self._worker = threading.Thread(target=self._work, name="hrbridge-webhook-worker", daemon=True)
        self._worker.start()

    def handle(self, body: bytes, headers: Any) -> tuple[int, dict[str, Any]]:
        """Return (HTTP status, JSON answer) for one delivery."""
        try:
            event = verify(body, headers, self.secret, tolerance=self.tolerance)
        except InvalidSignature as exc:
            log.warning("webhook rejected: %s", exc)
            return 401, {"error": "invalid signature", "detail": str(exc)}
        if event.get("event") != EVENT:
            return 202, {"ignored": f"event {event.get('event')!r} is not {EVENT}"}
        result = event.get("result")
        if not isinstance(result, dict):
            return 422, {"error": "event has no 'result' object"}
        inbox_id = enqueue_webhook_result(self.engine, result, vault=self.vault)
        with self._state:
            self._queued += 1
            self._state.notify_all()
        return 202, {"queued": inbox_id}

    def _work(self) -> None:
        while True:
            with self._state:
                self._state.wait_for(lambda: self._stopping or self._queued > self._done)
                if self._stopping:
                    return
                target = self._queued
            try:
                counts = process_inbox(self.engine, self.config, run_id=new_run_id("webhook"), vault=self.vault)
                if counts.read:
                    record_run(self.engine, counts, datetime.now(UTC), self.settings)
                self.last_error = None
            except Exception as exc:  # noqa: BLE001 - keep serving; rows stay queued for the poller
                self.last_error = f"{type(exc).__name__}: {exc}"
                log.exception("webhook results not processed yet; they stay in the inbox for the next run")
            with self._state:
                self._done = target
                self._state.notify_all()

    def wait_idle(self, timeout: float = 60.0) -> bool:
        """Block until every queued delivery has been processed; False on timeout."""
        with self._state:
            return self._state.wait_for(lambda: self._done >= self._queued, timeout=timeout)

    def close(self) -> None:
        """Stop the worker (queued rows not processed yet stay in the inbox)."""
        with self._state:
            self._stopping = True
            self._state.notify_all()
        self._worker.join(timeout=10)


def _handler_class(receiver: WebhookReceiver, path: str) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        """POST <path> → :meth:`WebhookReceiver.handle`; anything else 404."""

        def do_POST(self) -> None:  # noqa: N802 - http.server naming
            """Answer one delivery (413 when the body is too large)."""
            if self.path.split("?", 1)[0] != path:
                self._answer(404, {"error": f"POST {path} only"})
                return
            length = int(self.headers.get("Content-Length") or 0)
            if length > MAX_BODY:
                self._answer(413, {"error": "body too large"})
                return
            status, answer = receiver.handle(self.rfile.read(length), dict(self.headers.items()))
            self._answer(status, answer)

        def _answer(self, status: int, answer: dict[str, Any]) -> None:
            data = json.dumps(answer).encode("utf-8")
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - base signature
            """Access lines go to the debug log, not stderr."""
            log.debug("webhook %s", format % args)

    return Handler


class WebhookServer:
    """The receiver on a loopback port (0 = ephemeral); ``url`` is the callback URL to register."""

    def __init__(self, receiver: WebhookReceiver, host: str = "127.0.0.1", port: int = 0,
                 path: str = "/webhooks/interview") -> None:
        self.path = path
        self.receiver = receiver
        self.httpd = ThreadingHTTPServer((host, port), _handler_class(receiver, path))
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        """Full callback URL, e.g. ``http://127.0.0.1:8765/webhooks/interview``."""
        host, port = self.httpd.server_address[:2]
        return f"http://{host}:{port}{self.path}"

    def start(self) -> WebhookServer:
        """Serve in a background thread; returns self."""
        self._thread = threading.Thread(target=self.httpd.serve_forever, name="hrbridge-webhook", daemon=True)
        self._thread.start()
        return self

    def serve_forever(self, on_ready: Callable[[str], None] | None = None) -> None:
        """Serve in the foreground until interrupted."""
        if on_ready:
            on_ready(self.url)
        self.httpd.serve_forever()

    def stop(self) -> None:
        """Stop serving, close the socket and stop the worker."""
        self.httpd.shutdown()
        self.httpd.server_close()
        if self._thread:
            self._thread.join(timeout=5)
        self.receiver.close()
