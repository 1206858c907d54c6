"""Outcomes after hire (ratings, promotions, separations) and protected attributes.

Revision ID: archive_0002
Revises: archive_0001
Create Date: 2026-12-06

Both tables are keyed to the archive person (one across rehires); notes and attributes are vault
tokens under the candidate's data key, like the archive's contact details.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "archive_0002"
down_revision = "archive_0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Create ``archive_outcomes`` (with its indexes) and ``archive_protected``."""

    op.create_table('archive_outcomes',
    sa.Column('outcome_id', sa.String(length=200), nullable=False),
    sa.Column('person_key', sa.String(length=80), nullable=False),
    sa.Column('application_id', sa.String(length=64), nullable=True),
    sa.Column('candidate_id', sa.String(length=64), nullable=True),
    sa.Column('kind', sa.String(length=20), nullable=False),
    sa.Column('effective_date', sa.Date(), nullable=False),
    sa.Column('rating', sa.Float(), nullable=True),
    sa.Column('rating_scale_max', sa.Float(), nullable=True),
    sa.Column('assessments', sa.JSON(), nullable=False),
    sa.Column('separation_type', sa.String(length=20), nullable=True),
    sa.Column('source', sa.String(length=40), nullable=False),
    sa.Column('note', sa.Text(), nullable=True),
    sa.Column('content_hash', sa.String(length=64), nullable=False),
    sa.Column('archived_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint("kind IN ('rating', 'promotion', 'separation')", name='ck_archive_outcomes_kind'),
    sa.PrimaryKeyConstraint('outcome_id')
    )
    with op.batch_alter_table('archive_outcomes', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_archive_outcomes_application_id'), ['application_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_archive_outcomes_person_key'), ['person_key'], unique=False)

    op.create_table('archive_protected',
    sa.Column('person_key', sa.String(length=80), nullable=False),
    sa.Column('candidate_id', sa.String(length=64), nullable=True),
    sa.Column('attributes', sa.Text(), nullable=False),
    sa.Column('source', sa.String(length=40), nullable=False),
    sa.Column('content_hash', sa.String(length=64), nullable=False),
    sa.Column('archived_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('person_key')
    )



def downgrade() -> None:
    """Undo :func:`upgrade`."""

    op.drop_table('archive_protected')
    with op.batch_alter_table('archive_outcomes', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_archive_outcomes_person_key'))
        batch_op.drop_index(batch_op.f('ix_archive_outcomes_application_id'))

    op.drop_table('archive_outcomes')

