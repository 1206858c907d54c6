"""Baseline: the employee archive schema of the last release before versioned schemas.

Revision ID: archive_0001
Revises:
Create Date: 2026-12-06

Declared as data, frozen as that release left it: an empty archive gets the tables; one created
by an earlier release keeps its rows and is brought to this shape by
:func:`hrbridge.migrations.adopt.create_or_adopt` (e.g. contact columns widened to TEXT for their
ciphertext, ``archive_portraits.candidate_id`` added).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from hrbridge.migrations.adopt import create_or_adopt

revision = "archive_0001"
down_revision = None
branch_labels = None
depends_on = None

BASELINE = sa.MetaData()

sa.Table(
    "archive_persons", BASELINE,
    sa.Column("person_key", sa.String(length=80), nullable=False),
    sa.Column("candidate_id", sa.String(length=64), nullable=True),
    sa.Column("first_name", sa.String(length=200), nullable=True),
    sa.Column("last_name", sa.String(length=200), nullable=True),
    sa.Column("email", sa.Text(), nullable=True),
    sa.Column("phone", sa.Text(), nullable=True),
    sa.Column("country", sa.String(length=64), nullable=True),
    sa.Column("city", sa.String(length=200), nullable=True),
    sa.Column("content_hash", sa.String(length=64), nullable=False),
    sa.Column("archived_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint("person_key")
)
sa.Table(
    "archive_employments", BASELINE,
    sa.Column("application_id", sa.String(length=64), nullable=False),
    sa.Column("person_key", sa.String(length=80), nullable=False),
    sa.Column("candidate_id", sa.String(length=64), nullable=True),
    sa.Column("requisition_id", sa.String(length=64), nullable=True),
    sa.Column("position_title", sa.String(length=400), nullable=True),
    sa.Column("job_code", sa.String(length=100), nullable=True),
    sa.Column("job_family", sa.String(length=100), nullable=True),
    sa.Column("department", sa.String(length=200), nullable=True),
    sa.Column("hire_date", sa.Date(), nullable=True),
    sa.Column("content_hash", sa.String(length=64), nullable=False),
    sa.Column("archived_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(["person_key"], ["archive_persons.person_key"], ),
    sa.PrimaryKeyConstraint("application_id")
)
sa.Index("ix_archive_employments_person_key", BASELINE.tables["archive_employments"].c.person_key)
sa.Table(
    "archive_portraits", BASELINE,
    sa.Column("result_id", sa.String(length=128), nullable=False),
    sa.Column("person_key", sa.String(length=80), nullable=False),
    sa.Column("application_id", sa.String(length=64), nullable=False),
    sa.Column("candidate_id", sa.String(length=64), nullable=True),
    sa.Column("completed_at", sa.String(length=40), nullable=True),
    sa.Column("job_family", sa.String(length=100), nullable=True),
    sa.Column("overall_score", sa.Float(), nullable=True),
    sa.Column("dimension_scores", sa.JSON(), nullable=False),
    sa.Column("dimension_comments", sa.JSON(), nullable=False),
    sa.Column("keywords", sa.JSON(), nullable=False),
    sa.Column("interviewer_comments", sa.Text(), nullable=True),
    sa.Column("clip_refs", sa.JSON(), nullable=False),
    sa.Column("report_url", sa.Text(), nullable=True),
    sa.Column("match_percent", sa.Float(), nullable=True),
    sa.Column("match_report", sa.JSON(), nullable=True),
    sa.Column("model_version", sa.String(length=128), nullable=True),
    sa.Column("content_hash", sa.String(length=64), nullable=False),
    sa.Column("archived_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(["person_key"], ["archive_persons.person_key"], ),
    sa.PrimaryKeyConstraint("result_id")
)
sa.Index("ix_archive_portraits_application_id", BASELINE.tables["archive_portraits"].c.application_id)
sa.Index("ix_archive_portraits_person_key", BASELINE.tables["archive_portraits"].c.person_key)



def upgrade() -> None:
    """Create the baseline tables, or adopt an earlier release's."""
    create_or_adopt(op.get_bind(), BASELINE)


def downgrade() -> None:
    """Drop every baseline table."""
    BASELINE.drop_all(op.get_bind())
