"""Hub tables of the candidate_sync loop: canonical recruiting records, cursors, invitations, runs.

``invitations`` is the loop's ledger. One row per application (``application_id`` unique), moving
``planned`` → ``posted`` → ``written_back``; an invitation the platform refuses (HTTP 422/409)
``invitation.max_attempts`` times becomes ``refused`` (terminal until the record or config changes). The row, with its deterministic idempotency key and the
exact request body, is written BEFORE the platform is called, so a crash anywhere is repaired by the
next run: a repost with the same key returns the same invitation, and a missing write-back is retried.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Dialect

from hrbridge.store import metadata

PLANNED, POSTED, WRITTEN_BACK, REFUSED = "planned", "posted", "written_back", "refused"
INVITATION_STATES = (PLANNED, POSTED, WRITTEN_BACK, REFUSED)


class UTCDateTime(sa.TypeDecorator[datetime]):
    """Timezone-aware UTC datetimes on every dialect (SQLite stores them naive, in UTC)."""

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        """Convert to UTC; naive values are taken to be UTC already."""
        if value is None:
            return None
        if value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        """Return an aware UTC datetime."""
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def utcnow() -> datetime:
    """The current time, aware, in UTC."""
    return datetime.now(UTC)


_ID = sa.String(64)

candidates = sa.Table(
    "candidates",
    metadata,
    sa.Column("candidate_id", _ID, primary_key=True),
    sa.Column("first_name", sa.String(200)),
    sa.Column("last_name", sa.String(200)),
    sa.Column("email", sa.Text),  # vault token (candidate's data key)
    sa.Column("phone", sa.Text),  # vault token
    sa.Column("locale", sa.String(16)),
    sa.Column("country", sa.String(64)),
    sa.Column("city", sa.String(200)),
    sa.Column("current_title", sa.String(400)),
    sa.Column("created_at", UTCDateTime()),
    sa.Column("last_modified", UTCDateTime(), nullable=False),
    sa.Column("extras", sa.JSON),
    sa.Column("source", sa.String(32), nullable=False, server_default="successfactors"),
    sa.Column("loaded_at", UTCDateTime(), nullable=False),
    sa.Column("deleted_at", UTCDateTime()),  # gone at the source (key check); retention deletes
)

requisitions = sa.Table(
    "requisitions",
    metadata,
    sa.Column("requisition_id", _ID, primary_key=True),
    sa.Column("title", sa.String(400)),
    sa.Column("job_family", sa.String(100)),
    sa.Column("job_code", sa.String(100)),
    sa.Column("department", sa.String(200)),
    sa.Column("country", sa.String(64)),
    sa.Column("locale", sa.String(16)),
    sa.Column("last_modified", UTCDateTime(), nullable=False),
    sa.Column("extras", sa.JSON),
    sa.Column("loaded_at", UTCDateTime(), nullable=False),
    sa.Column("deleted_at", UTCDateTime()),
)

applications = sa.Table(
    "applications",
    metadata,
    sa.Column("application_id", _ID, primary_key=True),
    sa.Column("candidate_id", _ID, nullable=False, index=True),
    sa.Column("requisition_id", _ID, nullable=False, index=True),
    sa.Column("status", sa.String(100), nullable=False, index=True),
    sa.Column("first_name", sa.String(200)),
    sa.Column("last_name", sa.String(200)),
    sa.Column("email", sa.Text),  # vault token (candidate's data key, record application_id)
    sa.Column("locale", sa.String(16)),
    sa.Column("applied_at", UTCDateTime()),
    sa.Column("last_modified", UTCDateTime(), nullable=False),
    sa.Column("extras", sa.JSON),
    sa.Column("loaded_at", UTCDateTime(), nullable=False),
    sa.Column("deleted_at", UTCDateTime()),
)

resume_signals = sa.Table(
    "resume_signals",
    metadata,
    sa.Column("candidate_id", _ID, primary_key=True),
    sa.Column("resume_id", _ID, nullable=False),
    sa.Column("years_experience", sa.Float),
    sa.Column("skills", sa.JSON, nullable=False),
    sa.Column("languages", sa.JSON, nullable=False),
    sa.Column("education", sa.String(32)),
    sa.Column("last_modified", UTCDateTime()),
    sa.Column("loaded_at", UTCDateTime(), nullable=False),
)

sync_cursors = sa.Table(
    "sync_cursors",
    metadata,
    sa.Column("stream", sa.String(100), primary_key=True),
    sa.Column("cursor", UTCDateTime()),
    sa.Column("run_id", sa.String(64)),
    sa.Column("updated_at", UTCDateTime(), nullable=False),
)

sync_key_checks = sa.Table(
    "sync_key_checks",
    metadata,
    sa.Column("stream", sa.String(100), primary_key=True),
    sa.Column("runs_since_check", sa.Integer, nullable=False, server_default="0"),
    sa.Column("last_run_id", sa.String(64)),  # the run that last counted (a retried task counts once)
    sa.Column("checked_at", UTCDateTime()),
    sa.Column("source_keys", sa.Integer),
    sa.Column("deleted", sa.Integer),
    sa.Column("restored", sa.Integer),
    sa.Column("note", sa.Text),
)

invitations = sa.Table(
    "invitations",
    metadata,
    sa.Column("application_id", _ID, primary_key=True),
    sa.Column("candidate_id", _ID, nullable=False, index=True),
    sa.Column("requisition_id", _ID),
    sa.Column("job_family", sa.String(100)),
    sa.Column("idempotency_key", sa.String(128), nullable=False, unique=True),
    sa.Column("state", sa.String(20), nullable=False, index=True),
    sa.Column("plan_id", sa.String(100), nullable=False),
    sa.Column("plan_version", sa.String(64), nullable=False),
    sa.Column("rules_version", sa.Integer),  # question-rules version that built the plan (0: the file)
    sa.Column("plan", sa.JSON, nullable=False),  # job_family, level, dimension weights
    sa.Column("request", sa.JSON, nullable=False),  # the exact POST body, questions included
    sa.Column("platform_invitation_id", sa.String(128)),
    sa.Column("platform_status", sa.String(32)),
    sa.Column("interview_url", sa.String(1000)),
    sa.Column("deadline", UTCDateTime()),
    sa.Column("planned_at", UTCDateTime(), nullable=False),
    sa.Column("posted_at", UTCDateTime()),
    sa.Column("written_back_at", UTCDateTime()),
    sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),
    sa.Column("refusals", sa.Integer, nullable=False, server_default="0"),  # platform said no (422/409)
    sa.Column("refused_at", UTCDateTime()),
    sa.Column("source_modified", UTCDateTime()),  # newest application/candidate change the plan saw
    sa.Column("last_error", sa.Text),
    sa.Column("run_id", sa.String(64)),
    sa.CheckConstraint("state IN ('planned', 'posted', 'written_back', 'refused')", name="ck_invitations_state"),
)

sync_runs = sa.Table(
    "sync_runs",
    metadata,
    sa.Column("run_id", sa.String(64), primary_key=True),
    sa.Column("pipeline", sa.String(64), nullable=False),
    sa.Column("status", sa.String(20), nullable=False),
    sa.Column("started_at", UTCDateTime(), nullable=False),
    sa.Column("finished_at", UTCDateTime()),
    sa.Column("counts", sa.JSON),
    sa.Column("error", sa.Text),
)

sync_quarantine = sa.Table(
    "sync_quarantine",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("run_id", sa.String(64), nullable=False, index=True),
    sa.Column("stream", sa.String(100), nullable=False),
    sa.Column("record_key", sa.String(128)),
    sa.Column("rule", sa.String(100), nullable=False),
    sa.Column("field", sa.String(200)),
    sa.Column("message", sa.Text, nullable=False),
    sa.Column("subject_id", sa.String(128)),  # candidate whose data key seals raw["_sealed"]
    sa.Column("raw", sa.JSON, nullable=False),  # identifiers + masked values (+ the sealed raw record)
    sa.Column("created_at", UTCDateTime(), nullable=False),
)


def read_cursor(conn: sa.Connection, stream: str) -> datetime | None:
    """The stored cursor of ``stream`` (max lastModifiedDateTime loaded), or None before the first run."""
    return conn.execute(sa.select(sync_cursors.c.cursor).where(sync_cursors.c.stream == stream)).scalar()


def invitation_counts(conn: sa.Connection) -> dict[str, int]:
    """Number of invitations per state (every state present, zero when empty)."""
    rows = conn.execute(sa.select(invitations.c.state, sa.func.count()).group_by(invitations.c.state))
    counts: dict[str, Any] = {state: 0 for state in INVITATION_STATES}
    counts.update({state: int(n) for state, n in rows})
    return counts
