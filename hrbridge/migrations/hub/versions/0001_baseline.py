"""Baseline: the hub schema of the last release before versioned schemas (tables, indexes, audit guard).

Revision ID: hub_0001
Revises:
Create Date: 2026-12-06

The tables are declared here as data, frozen as that release left them, so that this revision
serves two kinds of database: an empty one gets them created; one created by an earlier release
(no version table) keeps its rows and is brought to this shape by
:func:`hrbridge.migrations.adopt.create_or_adopt` (columns added, text widened, CHECK and indexes
replaced). Later revisions change the schema with ``op.*`` as usual. The deletion log's
append-only guard (triggers; a function on Postgres) is installed here too, as governance's
``create_audit_tables`` installs it, so a hub upgraded by ``hrbridge db upgrade`` is guarded
before any pipeline runs.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from hrbridge.migrations.adopt import create_or_adopt

revision = "hub_0001"
down_revision = None
branch_labels = None
depends_on = None

BASELINE = sa.MetaData()

sa.Table(
    "applications", BASELINE,
    sa.Column("application_id", sa.String(length=64), nullable=False),
    sa.Column("candidate_id", sa.String(length=64), nullable=False),
    sa.Column("requisition_id", sa.String(length=64), nullable=False),
    sa.Column("status", sa.String(length=100), nullable=False),
    sa.Column("first_name", sa.String(length=200), nullable=True),
    sa.Column("last_name", sa.String(length=200), nullable=True),
    sa.Column("email", sa.Text(), nullable=True),
    sa.Column("locale", sa.String(length=16), nullable=True),
    sa.Column("applied_at", sa.DateTime(timezone=True), nullable=True),
    sa.Column("last_modified", sa.DateTime(timezone=True), nullable=False),
    sa.Column("extras", sa.JSON(), nullable=True),
    sa.Column("loaded_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("deleted_at", sa.DateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint("application_id")
)
sa.Index("ix_applications_candidate_id", BASELINE.tables["applications"].c.candidate_id)
sa.Index("ix_applications_requisition_id", BASELINE.tables["applications"].c.requisition_id)
sa.Index("ix_applications_status", BASELINE.tables["applications"].c.status)
sa.Table(
    "candidates", BASELINE,
    sa.Column("candidate_id", sa.String(length=64), nullable=False),
    sa.Column("first_name", sa.String(length=200), nullable=True),
    sa.Column("last_name", sa.String(length=200), nullable=True),
    sa.Column("email", sa.Text(), nullable=True),
    sa.Column("phone", sa.Text(), nullable=True),
    sa.Column("locale", sa.String(length=16), nullable=True),
    sa.Column("country", sa.String(length=64), nullable=True),
    sa.Column("city", sa.String(length=200), nullable=True),
    sa.Column("current_title", sa.String(length=400), nullable=True),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=True),
    sa.Column("last_modified", sa.DateTime(timezone=True), nullable=False),
    sa.Column("extras", sa.JSON(), nullable=True),
    sa.Column("source", sa.String(length=32), server_default="successfactors", nullable=False),
    sa.Column("loaded_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("deleted_at", sa.DateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint("candidate_id")
)
sa.Table(
    "interview_results", BASELINE,
    sa.Column("result_id", sa.String(length=128), nullable=False),
    sa.Column("invitation_id", sa.String(length=128), nullable=False),
    sa.Column("candidate_id", sa.String(length=128), nullable=False),
    sa.Column("application_id", sa.String(length=128), nullable=False),
    sa.Column("job_id", sa.String(length=128), nullable=True),
    sa.Column("job_family", sa.String(length=128), nullable=True),
    sa.Column("completed_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("invited_at", sa.DateTime(timezone=True), nullable=True),
    sa.Column("overall_score", sa.Float(), nullable=False),
    sa.Column("dimensions", sa.JSON(), nullable=False),
    sa.Column("keywords", sa.JSON(), nullable=False),
    sa.Column("clips", sa.JSON(), nullable=False),
    sa.Column("report_url", sa.Text(), nullable=True),
    sa.Column("model_version", sa.String(length=128), nullable=True),
    sa.Column("interviewer_comments", sa.Text(), nullable=True),
    sa.Column("transcript_ref", sa.Text(), nullable=True),
    sa.Column("match_percent", sa.Float(), nullable=True),
    sa.Column("match_report", sa.JSON(), nullable=True),
    sa.Column("source", sa.String(length=16), nullable=False),
    sa.Column("run_id", sa.String(length=64), nullable=False),
    sa.Column("stored_at", sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint("result_id")
)
sa.Index("ix_interview_results_application_id", BASELINE.tables["interview_results"].c.application_id)
sa.Index("ix_interview_results_candidate_id", BASELINE.tables["interview_results"].c.candidate_id)
sa.Index("ix_interview_results_invitation_id", BASELINE.tables["interview_results"].c.invitation_id)
sa.Table(
    "interview_status_sync", BASELINE,
    sa.Column("invitation_id", sa.String(length=128), nullable=False),
    sa.Column("application_id", sa.String(length=128), nullable=False),
    sa.Column("status", sa.String(length=32), nullable=True),
    sa.Column("synced_status", sa.String(length=32), nullable=True),
    sa.Column("last_error", sa.Text(), nullable=True),
    sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint("invitation_id")
)
sa.Table(
    "invitations", BASELINE,
    sa.Column("application_id", sa.String(length=64), nullable=False),
    sa.Column("candidate_id", sa.String(length=64), nullable=False),
    sa.Column("requisition_id", sa.String(length=64), nullable=True),
    sa.Column("job_family", sa.String(length=100), nullable=True),
    sa.Column("idempotency_key", sa.String(length=128), nullable=False),
    sa.Column("state", sa.String(length=20), nullable=False),
    sa.Column("plan_id", sa.String(length=100), nullable=False),
    sa.Column("plan_version", sa.String(length=64), nullable=False),
    sa.Column("plan", sa.JSON(), nullable=False),
    sa.Column("request", sa.JSON(), nullable=False),
    sa.Column("platform_invitation_id", sa.String(length=128), nullable=True),
    sa.Column("platform_status", sa.String(length=32), nullable=True),
    sa.Column("interview_url", sa.String(length=1000), nullable=True),
    sa.Column("deadline", sa.DateTime(timezone=True), nullable=True),
    sa.Column("planned_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("posted_at", sa.DateTime(timezone=True), nullable=True),
    sa.Column("written_back_at", sa.DateTime(timezone=True), nullable=True),
    sa.Column("attempts", sa.Integer(), server_default="0", nullable=False),
    sa.Column("refusals", sa.Integer(), server_default="0", nullable=False),
    sa.Column("refused_at", sa.DateTime(timezone=True), nullable=True),
    sa.Column("source_modified", sa.DateTime(timezone=True), nullable=True),
    sa.Column("last_error", sa.Text(), nullable=True),
    sa.Column("run_id", sa.String(length=64), nullable=True),
    sa.CheckConstraint("state IN ('planned', 'posted', 'written_back', 'refused')", name="ck_invitations_state"),
    sa.PrimaryKeyConstraint("application_id"),
    sa.UniqueConstraint("idempotency_key")
)
sa.Index("ix_invitations_candidate_id", BASELINE.tables["invitations"].c.candidate_id)
sa.Index("ix_invitations_state", BASELINE.tables["invitations"].c.state)
sa.Table(
    "requisitions", BASELINE,
    sa.Column("requisition_id", sa.String(length=64), nullable=False),
    sa.Column("title", sa.String(length=400), nullable=True),
    sa.Column("job_family", sa.String(length=100), nullable=True),
    sa.Column("job_code", sa.String(length=100), nullable=True),
    sa.Column("department", sa.String(length=200), nullable=True),
    sa.Column("country", sa.String(length=64), nullable=True),
    sa.Column("locale", sa.String(length=16), nullable=True),
    sa.Column("last_modified", sa.DateTime(timezone=True), nullable=False),
    sa.Column("extras", sa.JSON(), nullable=True),
    sa.Column("loaded_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("deleted_at", sa.DateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint("requisition_id")
)
sa.Table(
    "results_cursors", BASELINE,
    sa.Column("name", sa.String(length=64), nullable=False),
    sa.Column("value", sa.Text(), nullable=True),
    sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint("name")
)
sa.Table(
    "results_inbox", BASELINE,
    sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
    sa.Column("result_id", sa.String(length=128), nullable=True),
    sa.Column("payload", sa.JSON(), nullable=False),
    sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("processed_at", sa.DateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint("id")
)
sa.Index("ix_results_inbox_processed_at", BASELINE.tables["results_inbox"].c.processed_at)
sa.Table(
    "results_quarantine", BASELINE,
    sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
    sa.Column("run_id", sa.String(length=64), nullable=False),
    sa.Column("result_id", sa.String(length=128), nullable=True),
    sa.Column("position", sa.Integer(), nullable=False),
    sa.Column("rules", sa.JSON(), nullable=False),
    sa.Column("expectations", sa.JSON(), nullable=True),
    sa.Column("payload", sa.JSON(), nullable=False),
    sa.Column("source", sa.String(length=16), nullable=False),
    sa.Column("quarantined_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("requeued_at", sa.DateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint("id")
)
sa.Index("ix_results_quarantine_run_id", BASELINE.tables["results_quarantine"].c.run_id)
sa.Table(
    "results_writeback", BASELINE,
    sa.Column("application_id", sa.String(length=128), nullable=False),
    sa.Column("result_id", sa.String(length=128), nullable=False),
    sa.Column("state", sa.String(length=16), nullable=False),
    sa.Column("attempts", sa.Integer(), nullable=False),
    sa.Column("last_error", sa.Text(), nullable=True),
    sa.Column("fields", sa.JSON(), nullable=False),
    sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("written_at", sa.DateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint("application_id")
)
sa.Index("ix_results_writeback_state", BASELINE.tables["results_writeback"].c.state)
sa.Table(
    "resume_signals", BASELINE,
    sa.Column("candidate_id", sa.String(length=64), nullable=False),
    sa.Column("resume_id", sa.String(length=64), nullable=False),
    sa.Column("years_experience", sa.Float(), nullable=True),
    sa.Column("skills", sa.JSON(), nullable=False),
    sa.Column("languages", sa.JSON(), nullable=False),
    sa.Column("education", sa.String(length=32), nullable=True),
    sa.Column("last_modified", sa.DateTime(timezone=True), nullable=True),
    sa.Column("loaded_at", sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint("candidate_id")
)
sa.Table(
    "sync_cursors", BASELINE,
    sa.Column("stream", sa.String(length=100), nullable=False),
    sa.Column("cursor", sa.DateTime(timezone=True), nullable=True),
    sa.Column("run_id", sa.String(length=64), nullable=True),
    sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint("stream")
)
sa.Table(
    "sync_key_checks", BASELINE,
    sa.Column("stream", sa.String(length=100), nullable=False),
    sa.Column("runs_since_check", sa.Integer(), server_default="0", nullable=False),
    sa.Column("last_run_id", sa.String(length=64), nullable=True),
    sa.Column("checked_at", sa.DateTime(timezone=True), nullable=True),
    sa.Column("source_keys", sa.Integer(), nullable=True),
    sa.Column("deleted", sa.Integer(), nullable=True),
    sa.Column("restored", sa.Integer(), nullable=True),
    sa.Column("note", sa.Text(), nullable=True),
    sa.PrimaryKeyConstraint("stream")
)
sa.Table(
    "sync_quarantine", BASELINE,
    sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
    sa.Column("run_id", sa.String(length=64), nullable=False),
    sa.Column("stream", sa.String(length=100), nullable=False),
    sa.Column("record_key", sa.String(length=128), nullable=True),
    sa.Column("rule", sa.String(length=100), nullable=False),
    sa.Column("field", sa.String(length=200), nullable=True),
    sa.Column("message", sa.Text(), nullable=False),
    sa.Column("subject_id", sa.String(length=128), nullable=True),
    sa.Column("raw", sa.JSON(), nullable=False),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint("id")
)
sa.Index("ix_sync_quarantine_run_id", BASELINE.tables["sync_quarantine"].c.run_id)
sa.Table(
    "sync_runs", BASELINE,
    sa.Column("run_id", sa.String(length=64), nullable=False),
    sa.Column("pipeline", sa.String(length=64), nullable=False),
    sa.Column("status", sa.String(length=20), nullable=False),
    sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
    sa.Column("counts", sa.JSON(), nullable=True),
    sa.Column("error", sa.Text(), nullable=True),
    sa.PrimaryKeyConstraint("run_id")
)
sa.Table(
    "validation_runs", BASELINE,
    sa.Column("run_id", sa.String(length=64), nullable=False),
    sa.Column("source", sa.String(length=16), nullable=False),
    sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
    sa.Column("rows_checked", sa.Integer(), nullable=False),
    sa.Column("stored", sa.Integer(), nullable=False),
    sa.Column("quarantined", sa.Integer(), nullable=False),
    sa.Column("duplicates", sa.Integer(), nullable=False),
    sa.Column("failures", sa.JSON(), nullable=False),
    sa.Column("rule_titles", sa.JSON(), nullable=False),
    sa.Column("gx_result_path", sa.Text(), nullable=True),
    sa.Column("report_path", sa.Text(), nullable=True),
    sa.PrimaryKeyConstraint("run_id")
)
sa.Table(
    "deletion_requests", BASELINE,
    sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
    sa.Column("subject_id", sa.String(length=200), nullable=True),
    sa.Column("subject_hash", sa.String(length=64), nullable=False),
    sa.Column("requested_by", sa.String(length=200), nullable=False),
    sa.Column("legal_basis", sa.Text(), nullable=False),
    sa.Column("requested_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("due_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("status", sa.String(length=20), nullable=False),
    sa.Column("done_at", sa.DateTime(timezone=True), nullable=True),
    sa.Column("run_id", sa.String(length=64), nullable=True),
    sa.PrimaryKeyConstraint("id")
)
sa.Index("ix_deletion_requests_status", BASELINE.tables["deletion_requests"].c.status)
sa.Index("ix_deletion_requests_subject_id", BASELINE.tables["deletion_requests"].c.subject_id)
sa.Table(
    "legal_holds", BASELINE,
    sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
    sa.Column("subject_id", sa.String(length=200), nullable=False),
    sa.Column("reason", sa.Text(), nullable=False),
    sa.Column("placed_by", sa.String(length=200), nullable=False),
    sa.Column("placed_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("released_at", sa.DateTime(timezone=True), nullable=True),
    sa.Column("released_by", sa.String(length=200), nullable=True),
    sa.Column("release_reason", sa.Text(), nullable=True),
    sa.PrimaryKeyConstraint("id")
)
sa.Index("ix_legal_holds_subject_id", BASELINE.tables["legal_holds"].c.subject_id)
sa.Table(
    "pending_actions", BASELINE,
    sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
    sa.Column("system", sa.String(length=100), nullable=False),
    sa.Column("subject_id", sa.String(length=200), nullable=True),
    sa.Column("subject_hash", sa.String(length=64), nullable=False),
    sa.Column("categories", sa.Text(), nullable=False),
    sa.Column("requested_by", sa.String(length=200), nullable=False),
    sa.Column("legal_basis", sa.Text(), nullable=False),
    sa.Column("requested_at", sa.DateTime(timezone=True), nullable=True),
    sa.Column("due_at", sa.DateTime(timezone=True), nullable=True),
    sa.Column("created_run", sa.String(length=64), nullable=False),
    sa.Column("status", sa.String(length=20), nullable=False),
    sa.Column("attempts", sa.Integer(), nullable=False),
    sa.Column("last_error", sa.Text(), nullable=True),
    sa.Column("last_run", sa.String(length=64), nullable=True),
    sa.Column("done_at", sa.DateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint("id")
)
sa.Index("ix_pending_actions_status", BASELINE.tables["pending_actions"].c.status)
sa.Table(
    "purge_checkpoints", BASELINE,
    sa.Column("run_id", sa.String(length=64), nullable=False),
    sa.Column("work_key", sa.String(length=300), nullable=False),
    sa.Column("cursor", sa.Text(), nullable=True),
    sa.Column("batches", sa.Integer(), nullable=False),
    sa.Column("subjects", sa.Integer(), nullable=False),
    sa.Column("records", sa.Text(), nullable=False),
    sa.Column("held", sa.Integer(), nullable=False),
    sa.Column("finished", sa.Boolean(), nullable=False),
    sa.PrimaryKeyConstraint("run_id", "work_key")
)
sa.Table(
    "retention_runs", BASELINE,
    sa.Column("run_id", sa.String(length=64), nullable=False),
    sa.Column("as_of", sa.DateTime(timezone=True), nullable=False),
    sa.Column("status", sa.String(length=20), nullable=False),
    sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
    sa.Column("attempts", sa.Integer(), nullable=False),
    sa.Column("error", sa.Text(), nullable=True),
    sa.PrimaryKeyConstraint("run_id")
)
sa.Table(
    "deletion_log", BASELINE,
    sa.Column("seq", sa.BigInteger(), autoincrement=False, nullable=False),
    sa.Column("run_id", sa.String(length=64), nullable=False),
    sa.Column("requested_by", sa.String(length=200), nullable=False),
    sa.Column("subject_hash", sa.String(length=64), nullable=False),
    sa.Column("categories", sa.Text(), nullable=False),
    sa.Column("stores", sa.Text(), nullable=False),
    sa.Column("counts_before", sa.Text(), nullable=False),
    sa.Column("counts_after", sa.Text(), nullable=False),
    sa.Column("legal_basis", sa.Text(), nullable=False),
    sa.Column("hold", sa.Text(), nullable=True),
    sa.Column("method", sa.String(length=40), nullable=False),
    sa.Column("requested_at", sa.String(length=32), nullable=True),
    sa.Column("due_at", sa.String(length=32), nullable=True),
    sa.Column("done_at", sa.String(length=32), nullable=False),
    sa.Column("prev_hash", sa.String(length=64), nullable=False),
    sa.Column("hash", sa.String(length=64), nullable=False),
    sa.PrimaryKeyConstraint("seq")
)
sa.Index("ix_deletion_log_done_at", BASELINE.tables["deletion_log"].c.done_at, postgresql_using="brin", postgresql_with={"autosummarize": "on"})
sa.Table(
    "deletion_log_heads", BASELINE,
    sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
    sa.Column("run_id", sa.String(length=64), nullable=False),
    sa.Column("head_seq", sa.BigInteger(), nullable=False),
    sa.Column("head_hash", sa.String(length=64), nullable=False),
    sa.Column("entries", sa.Integer(), nullable=False),
    sa.Column("signed_at", sa.String(length=32), nullable=False),
    sa.Column("key_id", sa.String(length=32), nullable=False),
    sa.Column("signature", sa.String(length=128), nullable=False),
    sa.PrimaryKeyConstraint("id")
)
sa.Index("ix_deletion_log_heads_run_id", BASELINE.tables["deletion_log_heads"].c.run_id)
sa.Table(
    "data_keys", BASELINE,
    sa.Column("subject_id", sa.String(length=200), nullable=False),
    sa.Column("key_version", sa.Integer(), autoincrement=False, nullable=False),
    sa.Column("master_key_id", sa.String(length=100), nullable=True),
    sa.Column("wrapped_key", sa.LargeBinary(), nullable=True),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("rewrapped_at", sa.DateTime(timezone=True), nullable=True),
    sa.Column("destroyed_at", sa.DateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint("subject_id", "key_version")
)
sa.Index("ix_data_keys_master_key_id", BASELINE.tables["data_keys"].c.master_key_id)


_GUARD = {
    "postgresql": [
        """
        CREATE OR REPLACE FUNCTION hrbridge_deletion_log_append_only() RETURNS trigger AS $$
        BEGIN
            RAISE EXCEPTION 'deletion_log is append-only: %% is not allowed', TG_OP;
        END;
        $$ LANGUAGE plpgsql
        """,
        "DROP TRIGGER IF EXISTS deletion_log_append_only ON deletion_log",
        """
        CREATE TRIGGER deletion_log_append_only BEFORE UPDATE OR DELETE ON deletion_log
        FOR EACH ROW EXECUTE FUNCTION hrbridge_deletion_log_append_only()
        """,
        "DROP TRIGGER IF EXISTS deletion_log_no_truncate ON deletion_log",
        """
        CREATE TRIGGER deletion_log_no_truncate BEFORE TRUNCATE ON deletion_log
        FOR EACH STATEMENT EXECUTE FUNCTION hrbridge_deletion_log_append_only()
        """,
    ],
    "sqlite": [
        """
        CREATE TRIGGER IF NOT EXISTS deletion_log_no_update BEFORE UPDATE ON deletion_log
        BEGIN SELECT RAISE(ABORT, 'deletion_log is append-only: UPDATE is not allowed'); END
        """,
        """
        CREATE TRIGGER IF NOT EXISTS deletion_log_no_delete BEFORE DELETE ON deletion_log
        BEGIN SELECT RAISE(ABORT, 'deletion_log is append-only: DELETE is not allowed'); END
        """,
    ],
}


def upgrade() -> None:
    """Create the baseline tables (or adopt an earlier release's), then install the deletion log's guard."""
    bind = op.get_bind()
    create_or_adopt(bind, BASELINE)
    for statement in _GUARD.get(bind.dialect.name, []):
        bind.exec_driver_sql(statement)


def downgrade() -> None:
    """Drop every baseline table (and the guard function on Postgres)."""
    bind = op.get_bind()
    BASELINE.drop_all(bind)
    if bind.dialect.name == "postgresql":
        bind.exec_driver_sql("DROP FUNCTION IF EXISTS hrbridge_deletion_log_append_only()")
