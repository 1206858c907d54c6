"""The HTTP-independent core of the webhook receiver: verify, refuse replays, queue, answer.

A delivery is verified (HMAC-SHA256 over ``timestamp.body``, freshness window) before anything is
stored; a bad one gets 401 and nothing is stored. A good one is queued in ``results_inbox``
(sealed under the candidate's data key) in the same transaction that records it in the hub's
replay store, so a delivery is queued exactly once however many times, and to however many
receiver processes, it is sent within the window. Then the follow-up is notified (process the
inbox here, or tell Airflow that ``results_inbox`` changed) and the receiver answers at once.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import IntegrityError, SQLAlchemyError

from connectors.webhooks import InvalidSignature, MalformedEvent, check_headers, verify_delivery
from hrbridge.pipelines.interview_results import ResultsConfig, enqueue_webhook_result, media_vault
from hrbridge.settings import Settings
from hrbridge.store import webhooks as replay_store
from hrbridge.webhook.followup import Followup, InboxProcessor
from hrbridge.webhook.limits import WebhookLimits

log = logging.getLogger("hrbridge.webhook")

EVENT = "interview.completed"


@dataclass(frozen=True)
class Answer:
    """What the receiver answers: HTTP status, a JSON object, and extra headers."""

    status: int
    body: dict[str, Any]
    headers: Mapping[str, str] = field(default_factory=dict)


class _AlreadySeen(Exception):
    def __init__(self, keys: set[str]) -> None:
        super().__init__(", ".join(sorted(keys)))
        self.keys = keys


def _replayed(keys: set[str]) -> Answer:
    if any(key.startswith("message:") for key in keys):
        return Answer(409, {"error": "replayed delivery",
                            "detail": "this signed message was already accepted; nothing was stored"})
    return Answer(200, {"duplicate": "event already received", "detail": "nothing was stored again"})


class WebhookReceiver:
    """Verify deliveries, refuse replays, queue results in the hub and notify the follow-up.

    ``followup`` defaults to an :class:`InboxProcessor` (validate and store in this process, the
    embedded default). ``wait_idle`` and ``close`` are the follow-up's.
    """

    def __init__(self, engine: Engine, config: ResultsConfig, settings: Settings, secret: str,
                 tolerance: int | None = None, *, followup: Followup | None = None,
                 limits: WebhookLimits | None = None) -> None:
        if not secret:
            raise ValueError("a webhook secret is required (HRBRIDGE_WEBHOOK_SECRET)")
        self.limits = limits or WebhookLimits()
        self.tolerance = self.limits.tolerance if tolerance is None else tolerance
        self.engine, self.config, self.settings, self.secret = engine, config, settings, secret
        self.vault = media_vault(engine, config, settings)
        self.followup = followup if followup is not None else InboxProcessor(engine, config, settings, vault=self.vault)

    def check(self, headers: Mapping[str, str]) -> Answer | None:
        """An answer for a delivery that cannot verify, decided from its headers alone (else None)."""
        try:
            check_headers(headers, tolerance=self.tolerance)
        except InvalidSignature as exc:
            log.warning("webhook rejected before reading the body: %s", exc)
            return Answer(401, {"error": "invalid signature", "detail": str(exc)})
        return None

    def handle(self, body: bytes, headers: Mapping[str, str]) -> Answer:
        """Verify, deduplicate and queue one delivery; the answer says what happened."""
        try:
            delivery = verify_delivery(body, headers, self.secret, tolerance=self.tolerance)
        except MalformedEvent as exc:
            return Answer(400, {"error": "malformed event", "detail": str(exc)})
        except InvalidSignature as exc:
            log.warning("webhook rejected: %s", exc)
            return Answer(401, {"error": "invalid signature", "detail": str(exc)})
        event = delivery.event
        if event.get("event") != EVENT:
            return Answer(202, {"ignored": f"event {str(event.get('event'))[:64]!r} is not {EVENT}"})
        result = event.get("result")
        if not isinstance(result, dict):
            return Answer(422, {"error": "event has no 'result' object"})
        try:
            return self._queue(result, delivery.replay_keys)
        except SQLAlchemyError as exc:
            log.error("webhook delivery not queued, the hub did not answer: %s", type(exc).__name__)
            return Answer(503, {"error": "hub unavailable", "detail": "nothing was stored; deliver again later"},
                          {"Retry-After": "30"})

    def _queue(self, result: dict[str, Any], keys: tuple[str, ...]) -> Answer:
        now = datetime.now(UTC)
        with self.engine.connect() as conn:
            seen = replay_store.seen_keys(conn, keys, now)
        if seen:
            return _replayed(seen)

        def remember(conn: Connection) -> None:
            taken = replay_store.seen_keys(conn, keys, now)
            if taken:
                raise _AlreadySeen(taken)
            replay_store.remember(conn, keys, now, timedelta(seconds=2 * self.tolerance))

        try:
            inbox_id = enqueue_webhook_result(self.engine, result, vault=self.vault, extra=remember)
        except _AlreadySeen as exc:
            return _replayed(exc.keys)
        except IntegrityError:  # another process queued the same delivery between our check and insert
            with self.engine.connect() as conn:
                return _replayed(replay_store.seen_keys(conn, keys, now) or {keys[0]})
        self.followup.notify()
        return Answer(202, {"queued": inbox_id})

    def wait_idle(self, timeout: float = 60.0) -> bool:
        """Block until the follow-up has handled everything queued so far; False on timeout."""
        return self.followup.wait_idle(timeout)

    def close(self) -> None:
        """Stop the follow-up (queued rows not handled yet stay in the inbox)."""
        self.followup.close()
