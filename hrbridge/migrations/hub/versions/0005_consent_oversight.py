"""Consent ledger, human oversight, audit categories, scoped deletion requests.

Revision ID: hub_0005
Revises: hub_0004
Create Date: 2026-12-07

New tables ``consent_events`` (candidates' answers to the notice, kept as evidence),
``explanations``, ``human_review_queue``, ``human_decisions`` and ``audit_categories`` (sealed
categories for the bias audit); ``deletion_requests.categories`` (nullable) scopes a request to
some retention categories, e.g. a withdrawn video consent.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "hub_0005"
down_revision = "hub_0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Create the consent and oversight tables; add ``deletion_requests.categories``."""
    op.create_table('audit_categories',
    sa.Column('candidate_id', sa.String(length=128), nullable=False),
    sa.Column('categories', sa.Text(), nullable=False),
    sa.Column('source', sa.String(length=64), nullable=False),
    sa.Column('recorded_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('candidate_id')
    )
    op.create_table('consent_events',
    sa.Column('event_id', sa.String(length=128), nullable=False),
    sa.Column('kind', sa.String(length=32), nullable=False),
    sa.Column('invitation_id', sa.String(length=128), nullable=True),
    sa.Column('candidate_id', sa.String(length=128), nullable=False),
    sa.Column('application_id', sa.String(length=128), nullable=True),
    sa.Column('notice_version', sa.String(length=64), nullable=True),
    sa.Column('language', sa.String(length=16), nullable=True),
    sa.Column('scopes', sa.JSON(), nullable=False),
    sa.Column('declined', sa.JSON(), nullable=False),
    sa.Column('given_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('received_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('deletion_request_id', sa.Integer(), nullable=True),
    sa.PrimaryKeyConstraint('event_id')
    )
    with op.batch_alter_table('consent_events', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_consent_events_application_id'), ['application_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_consent_events_candidate_id'), ['candidate_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_consent_events_invitation_id'), ['invitation_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_consent_events_kind'), ['kind'], unique=False)

    op.create_table('explanations',
    sa.Column('event_id', sa.String(length=128), nullable=False),
    sa.Column('application_id', sa.String(length=128), nullable=False),
    sa.Column('candidate_id', sa.String(length=128), nullable=False),
    sa.Column('language', sa.String(length=16), nullable=False),
    sa.Column('text', sa.Text(), nullable=False),
    sa.Column('produced_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('event_id')
    )
    with op.batch_alter_table('explanations', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_explanations_application_id'), ['application_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_explanations_candidate_id'), ['candidate_id'], unique=False)

    op.create_table('human_decisions',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('application_id', sa.String(length=128), nullable=False),
    sa.Column('candidate_id', sa.String(length=128), nullable=True),
    sa.Column('decision', sa.String(length=32), nullable=False),
    sa.Column('decided_by', sa.String(length=200), nullable=False),
    sa.Column('decided_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('ai_recommendation', sa.JSON(), nullable=True),
    sa.Column('note', sa.Text(), nullable=True),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('human_decisions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_human_decisions_application_id'), ['application_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_human_decisions_candidate_id'), ['candidate_id'], unique=False)

    op.create_table('human_review_queue',
    sa.Column('application_id', sa.String(length=128), nullable=False),
    sa.Column('candidate_id', sa.String(length=128), nullable=False),
    sa.Column('reason', sa.String(length=40), nullable=False),
    sa.Column('event_id', sa.String(length=128), nullable=True),
    sa.Column('requested_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('state', sa.String(length=16), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('application_id')
    )
    with op.batch_alter_table('human_review_queue', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_human_review_queue_candidate_id'), ['candidate_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_human_review_queue_state'), ['state'], unique=False)

    with op.batch_alter_table('deletion_requests', schema=None) as batch_op:
        batch_op.add_column(sa.Column('categories', sa.Text(), nullable=True))



def downgrade() -> None:
    """Undo :func:`upgrade`."""
    with op.batch_alter_table('deletion_requests', schema=None) as batch_op:
        batch_op.drop_column('categories')

    with op.batch_alter_table('human_review_queue', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_human_review_queue_state'))
        batch_op.drop_index(batch_op.f('ix_human_review_queue_candidate_id'))

    op.drop_table('human_review_queue')
    with op.batch_alter_table('human_decisions', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_human_decisions_candidate_id'))
        batch_op.drop_index(batch_op.f('ix_human_decisions_application_id'))

    op.drop_table('human_decisions')
    with op.batch_alter_table('explanations', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_explanations_candidate_id'))
        batch_op.drop_index(batch_op.f('ix_explanations_application_id'))

    op.drop_table('explanations')
    with op.batch_alter_table('consent_events', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_consent_events_kind'))
        batch_op.drop_index(batch_op.f('ix_consent_events_invitation_id'))
        batch_op.drop_index(batch_op.f('ix_consent_events_candidate_id'))
        batch_op.drop_index(batch_op.f('ix_consent_events_application_id'))

    op.drop_table('consent_events')
    op.drop_table('audit_categories')
