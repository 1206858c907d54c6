"""Hub tables of the feedback loop: analyses, versioned question rules, and which version is active.

* ``feedback_analyses`` — one row per analysis run: its settings, findings and the proposal it wrote.
* ``question_rules_versions`` — numbered rule sets. A proposal is a version in state ``proposed``
  with its diff lines (each with evidence), its four-fifths check and whether it is flagged; a
  person approves (→ ``approved``, published) or rejects it. Version 0 is ``configs/question_rules.yaml``
  itself and has no row.
* ``question_rules_activations`` — append-only: every publish and rollback, who and when. The newest
  row names the active version; without rows the file's rules (version 0) are active.
"""

from __future__ import annotations

import sqlalchemy as sa

from hrbridge.store import metadata
from hrbridge.store.recruiting import UTCDateTime

feedback_analyses = sa.Table(
    "feedback_analyses", metadata,
    sa.Column("run_id", sa.String(64), primary_key=True),
    sa.Column("created_at", UTCDateTime(), nullable=False),
    sa.Column("as_of", sa.Date, nullable=False),
    sa.Column("settings", sa.JSON, nullable=False),
    sa.Column("findings", sa.JSON, nullable=False),
    sa.Column("summary", sa.JSON, nullable=False),
    sa.Column("proposal_version", sa.Integer),
)

rules_versions = sa.Table(
    "question_rules_versions", metadata,
    sa.Column("version", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("status", sa.String(20), nullable=False, index=True),
    sa.Column("base_version", sa.Integer, nullable=False),
    sa.Column("rules", sa.JSON, nullable=False),
    sa.Column("digest", sa.String(64), nullable=False),
    sa.Column("changes", sa.JSON, nullable=False),
    sa.Column("not_applied", sa.JSON, nullable=False),
    sa.Column("fairness", sa.JSON, nullable=False),
    sa.Column("flagged", sa.Boolean, nullable=False),
    sa.Column("analysis_run_id", sa.String(64)),
    sa.Column("created_at", UTCDateTime(), nullable=False),
    sa.Column("decided_by", sa.String(200)),
    sa.Column("decided_role", sa.String(64)),
    sa.Column("decided_at", UTCDateTime()),
    sa.Column("justification", sa.Text),
    sa.Column("decision_note", sa.Text),
    sa.CheckConstraint("status IN ('proposed', 'approved', 'rejected')", name="ck_question_rules_versions_status"),
)

rules_activations = sa.Table(
    "question_rules_activations", metadata,
    sa.Column("seq", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("version", sa.Integer, nullable=False),
    sa.Column("action", sa.String(20), nullable=False),  # publish | rollback
    sa.Column("actor", sa.String(200), nullable=False),
    sa.Column("role", sa.String(64), nullable=False),
    sa.Column("at", UTCDateTime(), nullable=False),
)
