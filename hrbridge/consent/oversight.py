"""Human oversight: the review queue, people's decisions apart from the AI's recommendation, explanations.

hrbridge never decides: AI outputs reach only recommendation and information fields (:mod:`.guard`).
A person's decision is recorded here with who made it and when, next to the AI recommendation as it
stood at that moment (none when the candidate is in an alternative process). A candidate who
refused automated decision-making, or asked for another process, is in the human-review queue until
a person decides.
"""

from __future__ import annotations

import getpass
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from hrbridge.consent.config import ConsentConfig
from hrbridge.consent.ledger import consent_states
from hrbridge.settings import ConfigError
from hrbridge.store.consent import human_decisions, human_review_queue
from hrbridge.store.results import interview_results
from transforms.explanation import explain, language_of


class DecisionError(ConfigError):
    """A decision cannot be recorded as given (unknown decision, empty application id)."""


def latest_result(engine: Engine, application_id: str) -> dict[str, Any] | None:
    """The newest stored AI result of an application (scores and match report; media not read)."""
    columns = [interview_results.c[n] for n in ("result_id", "overall_score", "dimensions", "match_percent",
                                                "match_report", "model_version", "completed_at")]
    with engine.connect() as conn:
        row = conn.execute(sa.select(*columns).where(interview_results.c.application_id == application_id)
                           .order_by(interview_results.c.completed_at.desc()).limit(1)).mappings().first()
    return dict(row) if row else None


def _alternative(engine: Engine, application_id: str) -> bool:
    with engine.connect() as conn:
        return consent_states(conn, [application_id])[application_id].alternative


def explanation_for(engine: Engine, application_id: str, locale: str | None, config: ConsentConfig) -> str:
    """The plain-words explanation of an application's AI assessment in ``locale`` (zh-CN or en-US)."""
    alternative = _alternative(engine, application_id)
    result = None if alternative else latest_result(engine, application_id)
    return explain(result, locale, config.not_assessed.get(language_of(locale), ()), alternative=alternative)


def review_queue(engine: Engine, state: str | None = "open") -> list[dict[str, Any]]:
    """Applications waiting for a person (``state=None``: every item), oldest request first."""
    query = sa.select(human_review_queue).order_by(human_review_queue.c.requested_at,
                                                    human_review_queue.c.application_id)
    if state:
        query = query.where(human_review_queue.c.state == state)
    with engine.connect() as conn:
        return [dict(r) for r in conn.execute(query).mappings()]


def record_decision(engine: Engine, application_id: str, decision: str, config: ConsentConfig, *,
                    decided_by: str | None = None, note: str | None = None,
                    now: datetime | None = None) -> dict[str, Any]:
    """Record a person's decision with the AI recommendation they had (if any); closes the review item.

    ``decided_by`` defaults to the operating-system account running the command, which a session
    cannot choose.
    """
    application_id = (application_id or "").strip()
    if not application_id:
        raise DecisionError("a decision needs an application id")
    if decision not in config.decisions:
        raise DecisionError(f"decision {decision!r} is not one of {', '.join(config.decisions)} (consent.yaml)")
    now = now or datetime.now(UTC)
    alternative = _alternative(engine, application_id)
    result = None if alternative else latest_result(engine, application_id)
    recommendation = None if result is None else {
        "result_id": result["result_id"], "overall_score": result["overall_score"],
        "match_percent": result["match_percent"], "model_version": result["model_version"]}
    row = {"application_id": application_id, "decision": decision,
           "decided_by": decided_by or getpass.getuser(), "decided_at": now,
           "ai_recommendation": recommendation, "note": (note or "").strip()[:2000] or None}
    with engine.begin() as conn:
        candidate = conn.execute(sa.select(human_review_queue.c.candidate_id)
                                 .where(human_review_queue.c.application_id == application_id)).scalar()
        if candidate is None:
            candidate = conn.execute(sa.select(interview_results.c.candidate_id)
                                     .where(interview_results.c.application_id == application_id).limit(1)).scalar()
        row["candidate_id"] = candidate
        row["id"] = conn.execute(human_decisions.insert().values(**row)).inserted_primary_key[0]
        conn.execute(human_review_queue.update().where(human_review_queue.c.application_id == application_id,
                                                       human_review_queue.c.state == "open")
                     .values(state="decided", updated_at=now))
    return row
