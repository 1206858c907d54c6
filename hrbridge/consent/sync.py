"""Pull consent events from the platform and act on them (withdrawals, alternative process, explanations).

Called at the start of every interview_results run, before results are read, so a result is always
screened against the answers the platform had recorded when it was read.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from connectors.interview import ConsentSource
from connectors.sql import upsert
from hrbridge.consent.config import ConsentConfig, load_consent_config
from hrbridge.consent.ledger import CURSOR, ConsentCounts, record_events
from hrbridge.settings import Settings, load_settings
from hrbridge.store.consent import consent_events, explanations
from hrbridge.store.results import interview_results, results_cursors, results_writeback

log = logging.getLogger("hrbridge.consent")

WITHDRAWAL_BASIS = "PIPL Art. 15 / GDPR Art. 7(3): consent withdrawn ({scopes})"
ALTERNATIVE_BASIS = "PIPL Art. 24(3): the candidate refused assessment by automated means (alternative process)"


def sync_consents(platform: Any, engine: Engine, *, settings: Settings | None = None,
                  config: ConsentConfig | None = None, now: datetime | None = None,
                  page_size: int = 500) -> ConsentCounts:
    """Record every consent event after the stored cursor (cursor saved with each page), then :func:`settle`.

    A platform adapter without consent events (:class:`connectors.interview.ConsentSource`) records
    nothing; what is already recorded is still settled.
    """
    settings = settings or load_settings()
    config = config or load_consent_config(settings)
    now = now or datetime.now(UTC)
    total = ConsentCounts()
    if isinstance(platform, ConsentSource):
        with engine.connect() as conn:
            cursor = conn.execute(sa.select(results_cursors.c.value).where(results_cursors.c.name == CURSOR)).scalar()
        for page, next_cursor in platform.iter_consent_events(after=cursor, limit=page_size):
            def save(conn: Any, value: str | None = next_cursor) -> None:
                if value is not None:
                    upsert(conn, results_cursors, [{"name": CURSOR, "value": value, "updated_at": now}], key=["name"])

            counts = record_events(engine, page, now=now, save=save)
            total.read += counts.read
            total.recorded += counts.recorded
            total.duplicates += counts.duplicates
            total.invalid += counts.invalid
            total.errors += counts.errors
            for kind, n in counts.by_kind.items():
                total.by_kind[kind] = total.by_kind.get(kind, 0) + n
    settle(engine, config, settings=settings, now=now, counts=total)
    return total


def _scoped_request(engine: Engine, settings: Settings, candidate_id: str, categories: tuple[str, ...],
                    by: str, basis: str) -> int:
    from governance.retention import request_deletion
    from hrbridge.pipelines.retention import audit_keys, retention_config

    due_days = retention_config(settings).requests.due_days
    keys = audit_keys(settings)  # the operator's key seals the request to this person (governance.retention.binding)
    request = request_deletion(engine, candidate_id, by, basis, keys.pseudonymise(candidate_id),
                               due_days, categories=categories, seal_key=keys.pepper)
    return int(request["id"])


def settle(engine: Engine, config: ConsentConfig, *, settings: Settings | None = None,
           now: datetime | None = None, counts: ConsentCounts | None = None) -> ConsentCounts:
    """Act on recorded events that were not acted on yet (idempotent; safe after a crash).

    * withdrawal → a deletion request of the retention categories of the withdrawn scopes;
    * alternative process → a pending write-back blanks the AI fields, and a stored AI result becomes a
      deletion request of the AI-scoring categories;
    * explanation request → its explanation, in the language of the request.
    """
    from hrbridge.consent.oversight import explanation_for

    settings = settings or load_settings()
    now = now or datetime.now(UTC)
    counts = counts or ConsentCounts()
    with engine.connect() as conn:
        open_events = conn.execute(
            sa.select(consent_events).where(
                sa.or_(sa.and_(consent_events.c.kind.in_(["withdrawal", "alternative_process"]),
                               consent_events.c.deletion_request_id.is_(None)),
                       sa.and_(consent_events.c.kind == "explanation_request",
                               consent_events.c.event_id.not_in(sa.select(explanations.c.event_id)))))
            .order_by(consent_events.c.given_at, consent_events.c.event_id)).mappings().all()
        stored = set(conn.execute(sa.select(interview_results.c.application_id).where(
            interview_results.c.application_id.in_([e["application_id"] for e in open_events]))).scalars())
    for event in open_events:
        if event["kind"] == "withdrawal":
            categories = tuple(dict.fromkeys(c for s in event["scopes"] for c in config.withdrawal.get(s, ())))
            if not categories:
                continue
            basis = WITHDRAWAL_BASIS.format(scopes=", ".join(event["scopes"]))
        elif event["kind"] == "alternative_process":
            counts.writebacks_blanked += _blank_writeback(engine, event["application_id"], settings, now)
            if event["application_id"] not in stored:
                continue
            categories, basis = tuple(config.withdrawal.get("ai_scoring", ())), ALTERNATIVE_BASIS
        else:
            text = explanation_for(engine, event["application_id"], event["language"], config)
            with engine.begin() as conn:
                upsert(conn, explanations, [{"event_id": event["event_id"], "application_id": event["application_id"],
                                             "candidate_id": event["candidate_id"],
                                             "language": event["language"] or "en-US", "text": text,
                                             "produced_at": now}], key=["event_id"], update=[])
            counts.explanations += 1
            continue
        request_id = _scoped_request(engine, settings, event["candidate_id"], categories,
                                     f"candidate, consent event {event['event_id']}", basis)
        with engine.begin() as conn:
            conn.execute(consent_events.update().where(consent_events.c.event_id == event["event_id"])
                         .values(deletion_request_id=request_id))
        counts.deletion_requests += 1
    return counts


def _blank_writeback(engine: Engine, application_id: str, settings: Settings, now: datetime) -> int:
    """Queue empty values for every AI field of an application in an alternative process (1 when queued)."""
    from hrbridge.pipelines.interview_results.config import load_results_config

    targets = [t for t in ((load_results_config(settings).writeback.get("fields") or {}).values()) if t]
    blank = {str(t): None for t in targets}
    with engine.begin() as conn:
        row = conn.execute(sa.select(results_writeback.c.fields, results_writeback.c.state)
                           .where(results_writeback.c.application_id == application_id)).first()
        if row is None or (isinstance(row.fields, Mapping) and not any(v is not None for v in row.fields.values())):
            return 0
        conn.execute(results_writeback.update().where(results_writeback.c.application_id == application_id)
                     .values(fields=blank, state="pending", attempts=0, last_error=None, updated_at=now))
    return 1
