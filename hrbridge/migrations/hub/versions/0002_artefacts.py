"""Artefact store: the artefacts table; validation runs name their report and GX results by artefact key.

Revision ID: hub_0002
Revises: hub_0001
Create Date: 2026-12-06

``validation_runs.report_path`` and ``gx_result_path`` held a worker's local paths; they now hold
artefact keys (``validation/<run>.html``, ``gx-results/<run>.json``) and are renamed to say so.
Rows written before keep their path, which the report builder still reads when the file exists.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "hub_0002"
down_revision = "hub_0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Create ``artefacts``; rename the two validation_runs columns."""
    op.create_table(
        "artefacts",
        sa.Column("key", sa.String(length=512), nullable=False),
        sa.Column("kind", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=448), nullable=False),
        sa.Column("content_type", sa.String(length=200), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("meta", sa.JSON(), nullable=False),
        sa.Column("data", sa.LargeBinary(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("key"),
    )
    op.create_index("ix_artefacts_kind", "artefacts", ["kind"], unique=False)
    with op.batch_alter_table("validation_runs") as batch:
        batch.alter_column("report_path", new_column_name="report_key", existing_type=sa.Text())
        batch.alter_column("gx_result_path", new_column_name="gx_results_key", existing_type=sa.Text())


def downgrade() -> None:
    """Drop ``artefacts``; restore the column names."""
    with op.batch_alter_table("validation_runs") as batch:
        batch.alter_column("report_key", new_column_name="report_path", existing_type=sa.Text())
        batch.alter_column("gx_results_key", new_column_name="gx_result_path", existing_type=sa.Text())
    op.drop_index("ix_artefacts_kind", table_name="artefacts")
    op.drop_table("artefacts")
