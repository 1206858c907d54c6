"""Tables of retention: deletion requests, legal holds, runs, purge checkpoints, pending actions.

Declared on their own :data:`metadata` and created on the hub engine by :func:`create_retention_tables`.
"""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.engine import Engine

metadata = sa.MetaData()

deletion_requests = sa.Table(
    "deletion_requests",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("subject_id", sa.String(200), index=True),
    sa.Column("subject_hash", sa.String(64), nullable=False),
    sa.Column("requested_by", sa.String(200), nullable=False),
    sa.Column("legal_basis", sa.Text, nullable=False),
    sa.Column("requested_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("due_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("status", sa.String(20), nullable=False, default="pending", index=True),
    sa.Column("done_at", sa.DateTime(timezone=True)),
    sa.Column("run_id", sa.String(64)),
    # A scoped request (e.g. a withdrawn video consent) deletes only these retention categories,
    # comma-separated; null deletes everything a request may delete.
    sa.Column("categories", sa.Text),
    # Who filed it, as the database saw it: on Postgres a trigger sets the session's login, whatever
    # the INSERT said. A run executes a request only when the login is mapped to that very person in
    # subject_logins, or when ``seal`` (HMAC under the operator's key) binds it to the person.
    sa.Column("filed_by", sa.String(200)),
    sa.Column("seal", sa.String(64)),
    sa.Column("refusal", sa.Text),
)

# Which person a database login is: maintained by the operator (``hrbridge access map-login``), read
# by row-level security through a SECURITY DEFINER function on ``session_user``, which a session
# cannot choose (unlike a setting such as hrbridge.subject_id).
subject_logins = sa.Table(
    "subject_logins",
    metadata,
    sa.Column("login", sa.String(63), primary_key=True),
    sa.Column("subject_id", sa.String(200), nullable=False, index=True),
    sa.Column("mapped_by", sa.String(200), nullable=False),
    sa.Column("mapped_at", sa.DateTime(timezone=True), nullable=False),
)

legal_holds = sa.Table(
    "legal_holds",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("subject_id", sa.String(200), nullable=False, index=True),
    sa.Column("reason", sa.Text, nullable=False),
    sa.Column("placed_by", sa.String(200), nullable=False),
    sa.Column("placed_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("released_at", sa.DateTime(timezone=True)),
    sa.Column("released_by", sa.String(200)),
    sa.Column("release_reason", sa.Text),
)

retention_runs = sa.Table(
    "retention_runs",
    metadata,
    sa.Column("run_id", sa.String(64), primary_key=True),
    sa.Column("as_of", sa.DateTime(timezone=True), nullable=False),
    sa.Column("status", sa.String(20), nullable=False),
    sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("finished_at", sa.DateTime(timezone=True)),
    sa.Column("attempts", sa.Integer, nullable=False, default=1),
    sa.Column("error", sa.Text),
    # The deletion log's head when the run completed: audit verify cross-checks that it is still there.
    sa.Column("head_seq", sa.BigInteger),
    sa.Column("head_hash", sa.String(64)),
)

purge_checkpoints = sa.Table(
    "purge_checkpoints",
    metadata,
    sa.Column("run_id", sa.String(64), primary_key=True),
    sa.Column("work_key", sa.String(300), primary_key=True),
    sa.Column("cursor", sa.Text),
    sa.Column("batches", sa.Integer, nullable=False, default=0),
    sa.Column("subjects", sa.Integer, nullable=False, default=0),
    sa.Column("records", sa.Text, nullable=False, default="{}"),
    sa.Column("held", sa.Integer, nullable=False, default=0),
    sa.Column("finished", sa.Boolean, nullable=False, default=False),
)

pending_actions = sa.Table(
    "pending_actions",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("system", sa.String(100), nullable=False),
    sa.Column("subject_id", sa.String(200)),
    sa.Column("subject_hash", sa.String(64), nullable=False),
    sa.Column("categories", sa.Text, nullable=False),
    sa.Column("requested_by", sa.String(200), nullable=False),
    sa.Column("legal_basis", sa.Text, nullable=False),
    sa.Column("requested_at", sa.DateTime(timezone=True)),
    sa.Column("due_at", sa.DateTime(timezone=True)),
    sa.Column("created_run", sa.String(64), nullable=False),
    sa.Column("status", sa.String(20), nullable=False, default="pending", index=True),
    sa.Column("attempts", sa.Integer, nullable=False, default=0),
    sa.Column("last_error", sa.Text),
    sa.Column("last_run", sa.String(64)),
    sa.Column("done_at", sa.DateTime(timezone=True)),
)


# On Postgres the filer of a request is the session's login, set by the database (not the INSERT).
FILED_BY_TRIGGER = [
    """
    CREATE OR REPLACE FUNCTION hrbridge_request_filed_by() RETURNS trigger AS $$
    BEGIN
        NEW.filed_by := session_user;
        RETURN NEW;
    END;
    $$ LANGUAGE plpgsql
    """,
    "DROP TRIGGER IF EXISTS deletion_requests_filed_by ON deletion_requests",
    """
    CREATE TRIGGER deletion_requests_filed_by BEFORE INSERT ON deletion_requests
    FOR EACH ROW EXECUTE FUNCTION hrbridge_request_filed_by()
    """,
]


def create_retention_tables(engine: Engine) -> None:
    """Create the retention tables on ``engine`` if they are missing (idempotent); on Postgres also the
    trigger that records who filed a deletion request."""
    metadata.create_all(engine)
    if engine.dialect.name == "postgresql":
        with engine.begin() as conn:
            present = conn.execute(sa.text("SELECT 1 FROM pg_trigger WHERE tgname = 'deletion_requests_filed_by' "
                                           "AND tgrelid = to_regclass('deletion_requests')")).first()
            if present is None:
                conn.execute(sa.text("SELECT pg_advisory_xact_lock(7412095)"))
                for statement in FILED_BY_TRIGGER:
                    conn.exec_driver_sql(statement)
