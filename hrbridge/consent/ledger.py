"""The consent ledger: candidates' answers from the platform, kept as evidence, and what they allow.

:func:`sync_consents` pulls ``GET /v1/consent-events`` after the stored cursor and records each
event once (``consent_events``, with the cursor in the same transaction); :func:`settle` then acts on
them, idempotently: a withdrawal becomes a deletion request of the matching retention categories
(executed by the next retention run), an alternative-process or human-review request puts the
application in the human-review queue, an alternative process blanks any AI field waiting to be
written back, and an explanation request gets its explanation.

:func:`screen_results` is applied to every batch of results before validation: for an application
whose invitation carried a notice, clips need consent to ``video_recording`` (the transcript also to
``voice_recording``), or they are dropped before anything is stored; a result of an application in
an alternative process (or without consent to ``ai_scoring``) is withheld: quarantined with
identifiers only, never stored, scored into a match or written back.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from connectors.interview import CONSENT_KINDS, CONSENT_SCOPES, parse_rfc3339
from hrbridge.consent.config import ALTERNATIVE
from hrbridge.consent.scores import alternative_process_applications
from hrbridge.store import metadata
from hrbridge.store.consent import consent_events, human_review_queue

log = logging.getLogger("hrbridge.consent")

CURSOR = "consent_events"
MAX_ID = 128
WITHHELD_RULES = {
    "alternative_process": "Candidate asked for another process: AI result not used",
    "no_ai_consent": "No consent to AI scoring: AI result not used",
}
REVIEW_KINDS = {"alternative_process": ALTERNATIVE, "human_review_request": "human_review_request"}


@dataclass
class ConsentCounts:
    """What one consent sync did."""

    read: int = 0
    recorded: int = 0
    duplicates: int = 0
    invalid: int = 0
    by_kind: dict[str, int] = field(default_factory=dict)
    deletion_requests: int = 0
    explanations: int = 0
    writebacks_blanked: int = 0
    errors: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        """Plain dict for JSON output and XCom."""
        return asdict(self)


def _ident(raw: Mapping[str, Any], name: str, required: bool = True) -> str | None:
    value = raw.get(name)
    if value is None and not required:
        return None
    if not isinstance(value, str) or not value.strip() or len(value) > MAX_ID:
        raise ValueError(f"{name} must be a non-empty string of at most {MAX_ID} characters")
    return value.strip()


def _scopes(raw: Mapping[str, Any], name: str) -> list[str]:
    value = raw.get(name) or []
    if not isinstance(value, list) or not all(isinstance(s, str) and s in CONSENT_SCOPES for s in value):
        raise ValueError(f"{name} must be a list of {', '.join(CONSENT_SCOPES)}")
    return sorted(set(value))


def parse_event(raw: Any, now: datetime) -> dict[str, Any]:
    """A consent event as a ``consent_events`` row; ValueError names the bad field."""
    if not isinstance(raw, Mapping):
        raise ValueError("a consent event must be a JSON object")
    kind = raw.get("kind")
    if kind not in CONSENT_KINDS:
        raise ValueError(f"kind must be one of {', '.join(CONSENT_KINDS)}")
    return {
        "event_id": _ident(raw, "event_id"), "kind": kind, "invitation_id": _ident(raw, "invitation_id", False),
        "candidate_id": _ident(raw, "candidate_id"), "application_id": _ident(raw, "application_id"),
        "notice_version": _ident(raw, "notice_version", False), "language": _ident(raw, "language", False),
        "scopes": _scopes(raw, "scopes"), "declined": _scopes(raw, "declined"),
        "given_at": parse_rfc3339(raw.get("given_at"), "given_at"), "received_at": now,
    }


def record_events(engine: Engine, raw_events: Sequence[Any], *, now: datetime | None = None,
                  save: Callable[[Connection], None] | None = None) -> ConsentCounts:
    """Record new events once (by ``event_id``) and queue reviews, in ONE transaction with ``save(conn)``.

    An event that cannot be parsed is counted as invalid and logged (masked), never stored half.
    """
    now = now or datetime.now(UTC)
    counts = ConsentCounts(read=len(raw_events))
    rows: dict[str, dict[str, Any]] = {}
    for position, raw in enumerate(raw_events):
        try:
            row = parse_event(raw, now)
        except ValueError as exc:
            counts.invalid += 1
            counts.errors.append(f"event {position}: {exc}")
            continue
        if row["event_id"] in rows:
            counts.duplicates += 1
            continue
        rows[row["event_id"]] = row
    with engine.begin() as conn:
        if rows:
            known = set(conn.execute(sa.select(consent_events.c.event_id)
                                     .where(consent_events.c.event_id.in_(list(rows)))).scalars())
            counts.duplicates += len(known)
            fresh = [r for k, r in rows.items() if k not in known]
            if fresh:
                conn.execute(consent_events.insert(), fresh)
            for row in fresh:
                counts.by_kind[row["kind"]] = counts.by_kind.get(row["kind"], 0) + 1
                if row["kind"] in REVIEW_KINDS:
                    _queue_review(conn, row, now)
            counts.recorded = len(fresh)
        if save is not None:
            save(conn)
    for error in counts.errors:
        log.warning("consent events: %s", error)
    return counts


def _queue_review(conn: Connection, row: Mapping[str, Any], now: datetime) -> None:
    """Put the application in the human-review queue (an open item keeps its first reason)."""
    current = conn.execute(sa.select(human_review_queue.c.state)
                           .where(human_review_queue.c.application_id == row["application_id"])).scalar()
    values = {"candidate_id": row["candidate_id"], "reason": REVIEW_KINDS[row["kind"]], "event_id": row["event_id"],
              "requested_at": row["given_at"], "state": "open", "updated_at": now}
    if current is None:
        conn.execute(human_review_queue.insert().values(application_id=row["application_id"], **values))
    elif current != "open" or row["kind"] == "alternative_process":
        conn.execute(human_review_queue.update()
                     .where(human_review_queue.c.application_id == row["application_id"]).values(**values))


# ------------------------------------------------------------------------------------ state


@dataclass(frozen=True)
class ConsentState:
    """What an application's answers allow (latest answer wins; a withdrawal removes scopes)."""

    noticed: bool
    granted: frozenset[str]
    alternative: bool

    @property
    def clips_allowed(self) -> bool:
        """Clip references may be stored: no notice was given (earlier invitations) or video consent."""
        return not self.noticed or "video_recording" in self.granted

    @property
    def transcript_allowed(self) -> bool:
        """A transcript reference may be stored: video and voice consent (or no notice given)."""
        return not self.noticed or {"video_recording", "voice_recording"} <= self.granted

    @property
    def ai_allowed(self) -> bool:
        """An AI score may be used: no alternative process, and consent to AI scoring where noticed."""
        return not self.alternative and (not self.noticed or "ai_scoring" in self.granted)


def _noticed(conn: Connection, application_ids: Sequence[str]) -> set[str]:
    """Applications whose invitation carried a notice (the request kept in the invitation ledger)."""
    table = metadata.tables.get("invitations")
    found: set[str] = set()
    if table is None:
        return found
    for start in range(0, len(application_ids), 900):
        chunk = application_ids[start:start + 900]
        rows = conn.execute(sa.select(table.c.application_id, table.c.request).where(table.c.application_id.in_(chunk)))
        found.update(app for app, request in rows if isinstance(request, Mapping) and request.get("notice"))
    return found


def consent_states(conn: Connection, application_ids: Iterable[str]) -> dict[str, ConsentState]:
    """The consent state of each application (every one asked for is present)."""
    wanted = sorted({str(a) for a in application_ids if a})
    events: dict[str, list[Any]] = {a: [] for a in wanted}
    for start in range(0, len(wanted), 900):
        chunk = wanted[start:start + 900]
        query = (sa.select(consent_events.c.application_id, consent_events.c.kind, consent_events.c.scopes)
                 .where(consent_events.c.application_id.in_(chunk))
                 .order_by(consent_events.c.given_at, consent_events.c.received_at, consent_events.c.event_id))
        for app, kind, scopes in conn.execute(query):
            events[app].append((kind, set(scopes or ())))
    noticed = _noticed(conn, wanted)
    states = {}
    for app in wanted:
        granted: set[str] = set()
        alternative = False
        for kind, scopes in events[app]:
            if kind == "consent":
                granted = scopes
            elif kind == "withdrawal":
                granted = granted - scopes
            elif kind == "alternative_process":
                alternative = True
        states[app] = ConsentState(app in noticed or any(k == "consent" for k, _ in events[app]),
                                   frozenset(granted), alternative)
    return states


def screen_results(engine: Engine, raw: Sequence[Mapping[str, Any]]) -> tuple[list[dict[str, Any]], list[tuple[dict[str, Any], str]]]:
    """Apply consent to a batch of raw results: media dropped where not consented, AI results withheld.

    Returns the results to validate (copies, media removed as needed) and the withheld ones with the
    rule that withheld them (:data:`WITHHELD_RULES`).
    """
    if not raw:
        return [], []
    with engine.connect() as conn:
        states = consent_states(conn, [str(r.get("application_id")) for r in raw
                                       if isinstance(r, Mapping) and r.get("application_id")])
    kept: list[dict[str, Any]] = []
    withheld: list[tuple[dict[str, Any], str]] = []
    for result in raw:
        result = dict(result)
        state = states.get(str(result.get("application_id")))
        if state is None:
            kept.append(result)
            continue
        if not state.ai_allowed:
            withheld.append((result, "alternative_process" if state.alternative else "no_ai_consent"))
            continue
        if not state.clips_allowed:
            result["clips"] = []
        if not state.transcript_allowed:
            result["transcript_ref"] = None
        kept.append(result)
    return kept, withheld


WITHHELD_KEEP = ("result_id", "invitation_id", "candidate_id", "application_id", "job_id", "job_family", "completed_at")


def withheld_rows(withheld: Sequence[tuple[Mapping[str, Any], str]], *, run_id: str, source: str, now: datetime,
                  first_position: int) -> list[dict[str, Any]]:
    """Quarantine rows for withheld results: identifiers only, never a score, keyword or media reference."""
    return [
        {"run_id": run_id, "result_id": str(result.get("result_id") or "") or None, "position": first_position + i,
         "rules": [rule], "expectations": [WITHHELD_RULES[rule]],
         "payload": {k: result.get(k) for k in WITHHELD_KEEP if result.get(k) is not None},
         "source": source, "quarantined_at": now}
        for i, (result, rule) in enumerate(withheld)
    ]


def status_overrides(conn: Connection) -> dict[str, str]:
    """Platform invitation id → ``alternative_process`` for applications routed to a human interview."""
    table = metadata.tables.get("invitations")
    if table is None:
        return {}
    rows = conn.execute(sa.select(table.c.platform_invitation_id)
                        .where(table.c.application_id.in_(alternative_process_applications()),
                               table.c.platform_invitation_id.is_not(None)))
    return {invitation: ALTERNATIVE for (invitation,) in rows}


def count_withheld(counts: Any, withheld: Sequence[tuple[Mapping[str, Any], str]]) -> None:
    """Fold withheld results into a validation run's counts (read, failures per rule, rule titles)."""
    if not withheld:
        return
    counts.read += len(withheld)
    counts.rule_titles.update(WITHHELD_RULES)
    for _, rule in withheld:
        counts.failures[rule] = counts.failures.get(rule, 0) + 1


def without_consented_media(engine: Engine, payloads: Mapping[Any, Any]) -> dict[Any, dict[str, Any]]:
    """Webhook inbox rows (id → opened payload) whose media may not be kept, with identifiers only.

    The inbox keeps what the platform delivered; once processed, a result whose clips or transcript
    the candidate did not consent to (or whose AI result is withheld) keeps no more than its ids.
    """
    results = {key: p for key, p in payloads.items() if isinstance(p, Mapping) and p.get("application_id")}
    if not results:
        return {}
    with engine.connect() as conn:
        states = consent_states(conn, [str(p["application_id"]) for p in results.values()])
    reduced = {}
    for key, payload in results.items():
        state = states[str(payload["application_id"])]
        has_media = bool(payload.get("clips")) or bool(payload.get("transcript_ref"))
        if not state.ai_allowed or (has_media and not (state.clips_allowed and state.transcript_allowed)):
            reduced[key] = {k: payload.get(k) for k in WITHHELD_KEEP if payload.get(k) is not None}
    return reduced
