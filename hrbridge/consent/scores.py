"""Which stored AI scores may be used: one predicate for every reader of interview results.

A candidate who asked for another process (PIPL Art. 24(3)) is interviewed by a person and no AI
score of theirs is used or written back, even one stored before they asked. Ingest withholds new
results (:func:`hrbridge.consent.ledger.screen_results`); every reader of results already stored —
the bias audit, archive_sync, the candidates page — filters with :func:`ai_score_usable`.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from hrbridge.consent.config import ALTERNATIVE
from hrbridge.store.consent import consent_events


def alternative_process_applications() -> sa.Select[Any]:
    """Application ids whose candidate asked for an alternative process (events without one ignored)."""
    return (sa.select(consent_events.c.application_id)
            .where(consent_events.c.kind == ALTERNATIVE, consent_events.c.application_id.is_not(None)))


def ai_score_usable(application_id: sa.ColumnElement[Any]) -> sa.ColumnElement[bool]:
    """SQL condition: an AI result of ``application_id`` may be used (its application is not in an alternative process)."""
    return application_id.not_in(alternative_process_applications())
