"""The webhook receiver as an ASGI app: bounded reading in front of :class:`WebhookReceiver`.

Before a byte of the body is read, a request must declare an acceptable length (a
``Content-Length`` that is a non-negative integer no larger than the cap, or chunked encoding),
carry fresh, well-formed signature headers and get one of ``max_inflight`` slots. The body is then
read as a stream, counted against the cap and the body timeout, and handed to the receiver in a
worker thread. Answers (JSON; docs/interview-results.md lists them):

=====  ==========================================================================
202    queued (or an event type the receiver ignores)
200    an event id already received (a sender's retry): nothing stored again
400    Content-Length not a non-negative integer; signed body not a JSON object
401    missing, malformed, stale or wrong signature: nothing stored
408    the body did not arrive within the body timeout
409    a replay of a signed message already accepted: nothing stored
411    neither Content-Length nor chunked encoding
413    body larger than the cap
422    the event has no ``result`` object
503    busy (no slot within the queue timeout), the hub did not answer, or no secret
       is configured; ``Retry-After`` says when to try again
=====  ==========================================================================

The same app is served standalone (:mod:`hrbridge.webhook.server`) and mounted in the Airflow
API server by the project's plugin.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import weakref
from collections.abc import Callable
from typing import Any

import anyio
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from starlette.requests import ClientDisconnect

from hrbridge.webhook.limits import WebhookLimits
from hrbridge.webhook.receiver import Answer, WebhookReceiver

log = logging.getLogger("hrbridge.webhook")


class _Receiver:
    """The receiver, built on first use (the plugin is imported before settings are readable)."""

    def __init__(self, source: WebhookReceiver | Callable[[], WebhookReceiver]) -> None:
        self._source = source
        self._built: WebhookReceiver | None = source if isinstance(source, WebhookReceiver) else None
        self._lock = threading.Lock()

    def get(self) -> WebhookReceiver:
        """The receiver; raises what building it raised (for example a missing secret)."""
        if self._built is None:
            with self._lock:
                if self._built is None:
                    self._built = self._source()  # type: ignore[operator]
        return self._built


class _Slots:
    """``size`` slots per event loop (an asyncio semaphore belongs to the loop it was first used on)."""

    def __init__(self, size: int) -> None:
        self.size = size
        self._by_loop: weakref.WeakKeyDictionary[Any, asyncio.Semaphore] = weakref.WeakKeyDictionary()

    def get(self) -> asyncio.Semaphore:
        loop = asyncio.get_running_loop()
        slots = self._by_loop.get(loop)
        if slots is None:
            slots = self._by_loop[loop] = asyncio.Semaphore(self.size)
        return slots


def _json(answer: Answer) -> JSONResponse:
    return JSONResponse(answer.body, status_code=answer.status, headers=dict(answer.headers))


def length_answer(headers: Any, limits: WebhookLimits) -> Answer | None:
    """An answer for a request whose declared length is missing, malformed or too large (else None)."""
    declared = headers.getlist("content-length")
    chunked = "chunked" in (headers.get("transfer-encoding") or "").lower()
    if not declared:
        if chunked:
            return None
        return Answer(411, {"error": "length required", "detail": "send Content-Length (or chunked encoding)"})
    values = {value.strip() for value in declared}
    raw = values.pop()
    if values or not (raw.isascii() and raw.isdigit()):
        return Answer(400, {"error": "bad Content-Length", "detail": "Content-Length must be one non-negative integer"})
    if len(raw) > 20 or int(raw) > limits.max_body:
        return Answer(413, {"error": "body too large", "detail": f"at most {limits.max_body} bytes"})
    return None


async def read_body(request: Request, limits: WebhookLimits) -> bytes | Answer:
    """The whole body, or the answer when it is larger than the cap or slower than the timeout."""
    chunks: list[bytes] = []
    size = 0
    try:
        with anyio.fail_after(limits.body_timeout):
            async for chunk in request.stream():
                size += len(chunk)
                if size > limits.max_body:
                    return Answer(413, {"error": "body too large", "detail": f"at most {limits.max_body} bytes"})
                chunks.append(chunk)
    except TimeoutError:
        return Answer(408, {"error": "request timeout", "detail": f"body not received within {limits.body_timeout}s"})
    return b"".join(chunks)


def create_app(receiver: WebhookReceiver | Callable[[], WebhookReceiver], *, path: str = "/interview",
               limits: WebhookLimits | None = None) -> FastAPI:
    """The ASGI app answering ``POST <path>`` (and ``GET /health``) for ``receiver``.

    ``receiver`` may be a factory, called on the first delivery; while it raises (no secret
    configured, hub unreachable) deliveries get 503 and the reason is logged.
    """
    limits = limits or WebhookLimits()
    holder = _Receiver(receiver)
    slots = _Slots(limits.max_inflight)
    app = FastAPI(title="hrbridge webhook receiver", docs_url=None, redoc_url=None, openapi_url=None)
    app.state.receiver = holder

    @app.get("/health")
    def health() -> dict[str, str]:
        """Liveness for probes: the app answers (it does not touch the hub)."""
        return {"status": "ok"}

    @app.post(path)
    async def deliver(request: Request) -> JSONResponse:
        """One signed delivery: bounded, verified, queued; the answer says what happened."""
        early = length_answer(request.headers, limits)
        if early is not None:
            return _json(early)
        try:
            current = holder.get()
        except Exception as exc:  # noqa: BLE001 - any set-up failure means: not ready, try later
            log.error("webhook receiver not ready: %s", exc)
            return _json(Answer(503, {"error": "receiver not ready", "detail": str(exc)}, {"Retry-After": "60"}))
        refused = current.check(request.headers)
        if refused is not None:
            return _json(refused)
        gate = slots.get()
        try:
            await asyncio.wait_for(gate.acquire(), timeout=limits.queue_timeout)
        except TimeoutError:
            return _json(Answer(503, {"error": "busy", "detail": "too many deliveries at once"}, {"Retry-After": "5"}))
        try:
            body = await read_body(request, limits)
            if isinstance(body, Answer):
                return _json(body)
            headers = dict(request.headers.items())
            return _json(await anyio.to_thread.run_sync(current.handle, body, headers))
        except ClientDisconnect:
            return _json(Answer(400, {"error": "client disconnected"}))
        finally:
            gate.release()

    return app
