"""Hub tables of notice, consent and human oversight (see :mod:`hrbridge.consent`).

* ``consent_events`` — every answer a candidate gave on the interview platform, kept as evidence:
  consent (scopes granted and declined), a request for another process, a withdrawal, a request
  for an explanation or for a human decision; with the notice version and language it answered.
* ``explanations`` — the plain-words explanation produced for an explanation request.
* ``human_review_queue`` — applications a person must review (alternative process, automated
  decision refused); one row per application.
* ``human_decisions`` — a person's decision on an application, apart from the AI's recommendation
  it saw (kept as it was at that moment), with who decided and when.
* ``audit_categories`` — a candidate's categories for the bias audit (sex, race/ethnicity, age band,
  region), one vault token under the candidate's key; readable by the audit role, never scoring input.
"""

from __future__ import annotations

import sqlalchemy as sa

from hrbridge.store import metadata
from hrbridge.store.recruiting import UTCDateTime

TZ = UTCDateTime()

consent_events = sa.Table(
    "consent_events", metadata,
    sa.Column("event_id", sa.String(128), primary_key=True),
    sa.Column("kind", sa.String(32), nullable=False, index=True),
    sa.Column("invitation_id", sa.String(128), index=True),
    sa.Column("candidate_id", sa.String(128), nullable=False, index=True),
    sa.Column("application_id", sa.String(128), index=True),
    sa.Column("notice_version", sa.String(64)),
    sa.Column("language", sa.String(16)),
    sa.Column("scopes", sa.JSON, nullable=False),  # granted (consent), withdrawn (withdrawal)
    sa.Column("declined", sa.JSON, nullable=False),  # scopes explicitly refused (consent)
    sa.Column("given_at", TZ, nullable=False),
    sa.Column("received_at", TZ, nullable=False),
    sa.Column("deletion_request_id", sa.Integer),  # the deletion request a withdrawal became
)

explanations = sa.Table(
    "explanations", metadata,
    sa.Column("event_id", sa.String(128), primary_key=True),
    sa.Column("application_id", sa.String(128), nullable=False, index=True),
    sa.Column("candidate_id", sa.String(128), nullable=False, index=True),
    sa.Column("language", sa.String(16), nullable=False),
    sa.Column("text", sa.Text, nullable=False),
    sa.Column("produced_at", TZ, nullable=False),
)

human_review_queue = sa.Table(
    "human_review_queue", metadata,
    sa.Column("application_id", sa.String(128), primary_key=True),
    sa.Column("candidate_id", sa.String(128), nullable=False, index=True),
    sa.Column("reason", sa.String(40), nullable=False),  # alternative_process | human_review_request
    sa.Column("event_id", sa.String(128)),
    sa.Column("requested_at", TZ, nullable=False),
    sa.Column("state", sa.String(16), nullable=False, index=True),  # open | decided
    sa.Column("updated_at", TZ, nullable=False),
)

human_decisions = sa.Table(
    "human_decisions", metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("application_id", sa.String(128), nullable=False, index=True),
    sa.Column("candidate_id", sa.String(128), index=True),
    sa.Column("decision", sa.String(32), nullable=False),
    sa.Column("decided_by", sa.String(200), nullable=False),
    sa.Column("decided_at", TZ, nullable=False),
    sa.Column("ai_recommendation", sa.JSON),  # what the AI recommended, as seen; null when none was used
    sa.Column("note", sa.Text),
)

audit_categories = sa.Table(
    "audit_categories", metadata,
    sa.Column("candidate_id", sa.String(128), primary_key=True),
    sa.Column("categories", sa.Text, nullable=False),  # a vault token: JSON {category: value}
    sa.Column("source", sa.String(64), nullable=False),
    sa.Column("recorded_at", TZ, nullable=False),
)
