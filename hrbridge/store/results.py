"""Hub tables of the interview-results loop: stored results, quarantine, write-back queue, runs.

* ``interview_results`` — one row per validated result (natural key ``result_id``).
* ``results_quarantine`` — every result that broke a rule, with all rules broken and the raw payload.
* ``results_writeback`` — per application: what to write to the HR system, state, attempts, last error.
* ``validation_runs`` — one row per validation run: counts, failures per rule, artefact keys of its report.
* ``results_inbox`` — results delivered by the signed webhook, waiting for the same pipeline.
* ``results_cursors`` — the platform cursor after the last stored page.
* ``interview_status_sync`` — last interview status seen and written per invitation.
"""

from __future__ import annotations

import sqlalchemy as sa

from hrbridge.store import metadata
from hrbridge.store.recruiting import UTCDateTime

TZ = UTCDateTime()

interview_results = sa.Table(
    "interview_results", metadata,
    sa.Column("result_id", sa.String(128), primary_key=True),
    sa.Column("invitation_id", sa.String(128), nullable=False, index=True),
    sa.Column("candidate_id", sa.String(128), nullable=False, index=True),
    sa.Column("application_id", sa.String(128), nullable=False, index=True),
    sa.Column("job_id", sa.String(128)),
    sa.Column("job_family", sa.String(128)),
    sa.Column("completed_at", TZ, nullable=False),
    sa.Column("invited_at", TZ),
    sa.Column("overall_score", sa.Float, nullable=False),
    sa.Column("dimensions", sa.JSON, nullable=False),
    sa.Column("keywords", sa.JSON, nullable=False),
    sa.Column("clips", sa.JSON, nullable=False),  # a vault token (JSON string) when media encryption is on
    sa.Column("report_url", sa.Text),
    sa.Column("model_version", sa.String(128)),
    sa.Column("interviewer_comments", sa.Text),
    sa.Column("transcript_ref", sa.Text),  # a vault token when media encryption is on
    sa.Column("match_percent", sa.Float),
    sa.Column("match_report", sa.JSON),
    sa.Column("source", sa.String(16), nullable=False),
    sa.Column("run_id", sa.String(64), nullable=False),
    sa.Column("stored_at", TZ, nullable=False),
)

results_quarantine = sa.Table(
    "results_quarantine", metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("run_id", sa.String(64), nullable=False, index=True),
    sa.Column("result_id", sa.String(128)),
    sa.Column("position", sa.Integer, nullable=False),
    sa.Column("rules", sa.JSON, nullable=False),  # names of the rules broken
    sa.Column("expectations", sa.JSON),  # every GX expectation broken, e.g. "expect_..._not_be_null(candidate_id)"
    sa.Column("payload", sa.JSON, nullable=False),
    sa.Column("source", sa.String(16), nullable=False),
    sa.Column("quarantined_at", TZ, nullable=False),
    sa.Column("requeued_at", TZ),  # set when sent back to the inbox for another validation
)

results_writeback = sa.Table(
    "results_writeback", metadata,
    sa.Column("application_id", sa.String(128), primary_key=True),
    sa.Column("result_id", sa.String(128), nullable=False),
    sa.Column("state", sa.String(16), nullable=False, index=True),  # pending | written
    sa.Column("attempts", sa.Integer, nullable=False, default=0),
    sa.Column("last_error", sa.Text),
    sa.Column("fields", sa.JSON, nullable=False),
    sa.Column("updated_at", TZ, nullable=False),
    sa.Column("written_at", TZ),
)

validation_runs = sa.Table(
    "validation_runs", metadata,
    sa.Column("run_id", sa.String(64), primary_key=True),
    sa.Column("source", sa.String(16), nullable=False),
    sa.Column("started_at", TZ, nullable=False),
    sa.Column("finished_at", TZ),
    sa.Column("rows_checked", sa.Integer, nullable=False, default=0),
    sa.Column("stored", sa.Integer, nullable=False, default=0),
    sa.Column("quarantined", sa.Integer, nullable=False, default=0),
    sa.Column("duplicates", sa.Integer, nullable=False, default=0),
    sa.Column("failures", sa.JSON, nullable=False),
    sa.Column("rule_titles", sa.JSON, nullable=False),
    sa.Column("gx_results_key", sa.Text),
    sa.Column("report_key", sa.Text),
)

results_inbox = sa.Table(
    "results_inbox", metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("result_id", sa.String(128)),
    sa.Column("payload", sa.JSON, nullable=False),
    sa.Column("received_at", TZ, nullable=False),
    sa.Column("processed_at", TZ, index=True),
)

results_cursors = sa.Table(
    "results_cursors", metadata,
    sa.Column("name", sa.String(64), primary_key=True),
    sa.Column("value", sa.Text),
    sa.Column("updated_at", TZ, nullable=False),
)

interview_status_sync = sa.Table(
    "interview_status_sync", metadata,
    sa.Column("invitation_id", sa.String(128), primary_key=True),
    sa.Column("application_id", sa.String(128), nullable=False),
    sa.Column("status", sa.String(32)),
    sa.Column("synced_status", sa.String(32)),
    sa.Column("last_error", sa.Text),
    sa.Column("updated_at", TZ, nullable=False),
)
