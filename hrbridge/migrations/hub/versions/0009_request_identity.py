"""Deletion requests bound to their person: who filed them, the operator's seal, login → subject map.

Revision ID: hub_0009
Revises: hub_0008
Create Date: 2026-12-07

``deletion_requests`` gets ``filed_by`` (on Postgres set by a BEFORE INSERT trigger to the
session's login, whatever the INSERT said), ``seal`` (the operator's HMAC binding the request to
its person) and ``refusal`` (why a run refused it). ``subject_logins`` maps a database login to
the person it is; row-level security reads it through ``session_user``, which a session cannot
choose. Requests pending from before this revision have neither seal nor filer: a run refuses
them (file them again with ``hrbridge deletion request``).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "hub_0009"
down_revision = "hub_0008"
branch_labels = None
depends_on = None

_TRIGGER = [
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


def upgrade() -> None:
    """Add the request columns and ``subject_logins``; install the filer trigger on Postgres."""
    with op.batch_alter_table("deletion_requests") as batch:
        batch.add_column(sa.Column("filed_by", sa.String(length=200), nullable=True))
        batch.add_column(sa.Column("seal", sa.String(length=64), nullable=True))
        batch.add_column(sa.Column("refusal", sa.Text(), nullable=True))
    op.create_table(
        "subject_logins",
        sa.Column("login", sa.String(length=63), nullable=False),
        sa.Column("subject_id", sa.String(length=200), nullable=False),
        sa.Column("mapped_by", sa.String(length=200), nullable=False),
        sa.Column("mapped_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("login"),
    )
    op.create_index("ix_subject_logins_subject_id", "subject_logins", ["subject_id"], unique=False)
    bind = op.get_bind()
    if bind.dialect.name == "postgresql":
        for statement in _TRIGGER:
            bind.exec_driver_sql(statement)


def downgrade() -> None:
    """Drop the trigger, ``subject_logins`` and the request columns."""
    bind = op.get_bind()
    if bind.dialect.name == "postgresql":
        bind.exec_driver_sql("DROP TRIGGER IF EXISTS deletion_requests_filed_by ON deletion_requests")
        bind.exec_driver_sql("DROP FUNCTION IF EXISTS hrbridge_request_filed_by()")
    op.drop_index("ix_subject_logins_subject_id", table_name="subject_logins")
    op.drop_table("subject_logins")
    with op.batch_alter_table("deletion_requests") as batch:
        batch.drop_column("refusal")
        batch.drop_column("seal")
        batch.drop_column("filed_by")
