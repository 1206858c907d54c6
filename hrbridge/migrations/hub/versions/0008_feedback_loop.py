"""Feedback loop: analyses, question-rules versions and activations; invitations record the rules version.

Revision ID: hub_0008
Revises: hub_0007
Create Date: 2026-12-06

``question_rules_versions`` holds proposals and decided versions, ``question_rules_activations``
every publish and rollback (append-only; the newest row is active), ``feedback_analyses`` each
analysis run. ``invitations.rules_version`` is NULL for invitations planned before this revision.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "hub_0008"
down_revision = "hub_0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Create the three feedback tables; add ``invitations.rules_version``."""

    op.create_table('feedback_analyses',
    sa.Column('run_id', sa.String(length=64), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('as_of', sa.Date(), nullable=False),
    sa.Column('settings', sa.JSON(), nullable=False),
    sa.Column('findings', sa.JSON(), nullable=False),
    sa.Column('summary', sa.JSON(), nullable=False),
    sa.Column('proposal_version', sa.Integer(), nullable=True),
    sa.PrimaryKeyConstraint('run_id')
    )
    op.create_table('question_rules_activations',
    sa.Column('seq', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('action', sa.String(length=20), nullable=False),
    sa.Column('actor', sa.String(length=200), nullable=False),
    sa.Column('role', sa.String(length=64), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('seq')
    )
    op.create_table('question_rules_versions',
    sa.Column('version', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('base_version', sa.Integer(), nullable=False),
    sa.Column('rules', sa.JSON(), nullable=False),
    sa.Column('digest', sa.String(length=64), nullable=False),
    sa.Column('changes', sa.JSON(), nullable=False),
    sa.Column('not_applied', sa.JSON(), nullable=False),
    sa.Column('fairness', sa.JSON(), nullable=False),
    sa.Column('flagged', sa.Boolean(), nullable=False),
    sa.Column('analysis_run_id', sa.String(length=64), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('decided_by', sa.String(length=200), nullable=True),
    sa.Column('decided_role', sa.String(length=64), nullable=True),
    sa.Column('decided_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('justification', sa.Text(), nullable=True),
    sa.Column('decision_note', sa.Text(), nullable=True),
    sa.CheckConstraint("status IN ('proposed', 'approved', 'rejected')", name='ck_question_rules_versions_status'),
    sa.PrimaryKeyConstraint('version')
    )
    with op.batch_alter_table('question_rules_versions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_question_rules_versions_status'), ['status'], unique=False)

    with op.batch_alter_table('invitations', schema=None) as batch_op:
        batch_op.add_column(sa.Column('rules_version', sa.Integer(), nullable=True))




def downgrade() -> None:
    """Undo :func:`upgrade`."""

    with op.batch_alter_table('invitations', schema=None) as batch_op:
        batch_op.drop_column('rules_version')

    with op.batch_alter_table('question_rules_versions', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_question_rules_versions_status'))

    op.drop_table('question_rules_versions')
    op.drop_table('question_rules_activations')
    op.drop_table('feedback_analyses')

