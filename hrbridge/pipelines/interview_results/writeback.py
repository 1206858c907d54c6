"""Write scores back to the HR system (per-record status checked, failures retried) and sync statuses."""

from __future__ import annotations

import logging
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from connectors.errors import AuthenticationError, ConnectorError
from connectors.sql import upsert
from hrbridge.consent.config import ALTERNATIVE, load_consent_config
from hrbridge.consent.ledger import status_overrides
from hrbridge.pipelines.interview_results.config import (
    FINAL_STATUSES,
    PENDING,
    WRITTEN,
    ResultsConfig,
    key_value,
    load_results_config,
)
from hrbridge.pipelines.interview_results.ingest import ingest_results
from hrbridge.settings import Settings, load_settings
from hrbridge.store import metadata
from hrbridge.store.results import interview_results, interview_status_sync, results_writeback
from transforms.masking import mask_pii

log = logging.getLogger("hrbridge.pipelines.interview_results")

# -------------------------------------------------------------------------------- write-back


@dataclass
class WritebackCounts:
    """Outcome of one write-back pass."""

    attempted: int = 0
    written: int = 0
    failed: int = 0
    pending: int = 0
    errors: dict[str, str] = field(default_factory=dict)


def _failed_pairs(result: Any) -> list[tuple[str, str]]:
    return [(str(key), str(message)) for key, message in getattr(result, "failed", []) or []]


def write_back(sf: Any, engine: Engine, config: ResultsConfig | None = None) -> WritebackCounts:
    """Send every pending write-back row to the HR system through ``sf.upsert``.

    Each record's own status is checked: accepted ones become ``written``; rejected ones (and all
    of a batch when the call itself fails) stay ``pending`` with ``attempts`` + 1 and the error, so
    the next run retries them. Nothing is lost.
    """
    config = config or load_results_config()
    spec = config.writeback
    entity, key_field = spec.get("entity", "JobApplication"), spec.get("key_field", "applicationId")
    batch_size = int(spec.get("batch_size", 200))
    counts = WritebackCounts()
    with engine.connect() as conn:
        pending = conn.execute(
            sa.select(results_writeback.c.application_id, results_writeback.c.fields)
            .where(results_writeback.c.state == PENDING).order_by(results_writeback.c.application_id)
        ).all()
    for start in range(0, len(pending), batch_size):
        batch = pending[start : start + batch_size]
        records = [{key_field: key_value(app_id), **fields} for app_id, fields in batch]
        now = datetime.now(UTC)
        try:
            outcome = sf.upsert(entity, records, key_field)
            ok = {str(k) for k in getattr(outcome, "ok", []) or []}
            failed = dict(_failed_pairs(outcome))
        except AuthenticationError:  # refused credentials fail every batch: stop, rows stay pending
            raise
        except ConnectorError as exc:
            ok, failed = set(), {str(app_id): f"{type(exc).__name__}: {exc}" for app_id, _ in batch}
        with engine.begin() as conn:
            for app_id, _ in batch:
                counts.attempted += 1
                where = results_writeback.c.application_id == app_id
                if app_id in ok and app_id not in failed:
                    conn.execute(results_writeback.update().where(where).values(
                        state=WRITTEN, attempts=results_writeback.c.attempts + 1, last_error=None,
                        updated_at=now, written_at=now))
                    counts.written += 1
                else:
                    error = failed.get(app_id, "the HR system returned no status for this record")
                    conn.execute(results_writeback.update().where(where).values(
                        attempts=results_writeback.c.attempts + 1, last_error=mask_pii(error)[:2000], updated_at=now))
                    counts.failed += 1
                    counts.errors[app_id] = error
    with engine.connect() as conn:
        counts.pending = conn.execute(
            sa.select(sa.func.count()).select_from(results_writeback).where(results_writeback.c.state == PENDING)
        ).scalar_one()
    if counts.failed:
        log.warning("write-back: %d written, %d failed and kept pending for the next run", counts.written, counts.failed)
    return counts


# -------------------------------------------------------------------------------- status sync


@dataclass
class StatusCounts:
    """Outcome of one status-sync pass."""

    checked: int = 0
    changed: int = 0
    written: int = 0
    failed: int = 0


def sync_statuses(sf: Any, platform: Any, engine: Engine, config: ResultsConfig | None = None) -> StatusCounts:
    """Mirror each open invitation's status (not_started/in_progress/completed/expired) to the HR field.

    Invitations with a stored result are completed without asking the platform; final statuses
    already written are not asked again. Failed writes keep the old synced status and are retried.
    """
    config = config or load_results_config()
    invitations = metadata.tables.get("invitations")
    field_name = config.status.get("field")
    mapping = config.status.get("mapping") or {}
    counts = StatusCounts()
    if invitations is None or not field_name:
        return counts
    mapping = {**mapping, ALTERNATIVE: load_consent_config().alternative_process_status}
    with engine.connect() as conn:
        overrides = status_overrides(conn)  # consent: an alternative process is the status, whatever the platform says
        query = (
            sa.select(invitations.c.platform_invitation_id, invitations.c.application_id,
                      interview_status_sync.c.synced_status, interview_results.c.result_id)
            .select_from(
                invitations.outerjoin(interview_status_sync,
                                      interview_status_sync.c.invitation_id == invitations.c.platform_invitation_id)
                .outerjoin(interview_results, interview_results.c.invitation_id == invitations.c.platform_invitation_id)
            )
            .where(invitations.c.platform_invitation_id.is_not(None))
        )
        rows = conn.execute(query).all()
    changes: dict[str, tuple[str, str]] = {}
    for invitation_id, app_id, synced, result_id in rows:
        if invitation_id in overrides:
            counts.checked += 1
            if synced != ALTERNATIVE:
                changes[invitation_id] = (str(app_id), ALTERNATIVE)
            continue
        if synced in FINAL_STATUSES:
            continue
        counts.checked += 1
        if result_id is not None:
            status = "completed"
        else:
            try:
                status = platform.get_invitation(invitation_id).status
            except AuthenticationError:
                raise
            except ConnectorError as exc:
                log.warning("status of invitation %s unavailable: %s", invitation_id, exc)
                continue
        if status != synced and status in mapping:
            changes[invitation_id] = (str(app_id), status)
    counts.changed = len(changes)
    if not changes:
        return counts
    spec = config.writeback
    entity, key_field = spec.get("entity", "JobApplication"), spec.get("key_field", "applicationId")
    records = [{key_field: key_value(app), field_name: mapping[status]} for app, status in changes.values()]
    try:
        outcome = sf.upsert(entity, records, key_field)
        ok = {str(k) for k in getattr(outcome, "ok", []) or []}
        failed = dict(_failed_pairs(outcome))
    except AuthenticationError:
        raise
    except ConnectorError as exc:
        ok, failed = set(), {app: str(exc) for app, _ in changes.values()}
    now = datetime.now(UTC)
    with engine.begin() as conn:
        for invitation_id, (app_id, status) in changes.items():
            success = app_id in ok and app_id not in failed
            counts.written += success
            counts.failed += not success
            values = {"invitation_id": invitation_id, "application_id": app_id, "status": status,
                      "last_error": None if success else failed.get(app_id, "no status returned"), "updated_at": now}
            if success:
                values["synced_status"] = status
            upsert(conn, interview_status_sync, [values], key=["invitation_id"])
    return counts


# -------------------------------------------------------------------------------- whole loop


@dataclass
class ResultsSummary:
    """What one run of the whole loop did (for the CLI's --json and the DAG's XCom)."""

    run_id: str
    read: int
    stored: int
    quarantined: int
    duplicates: int
    failures: dict[str, int]
    written_back: int
    writeback_failed: int
    writeback_pending: int
    statuses_written: int

    def to_dict(self) -> dict[str, Any]:
        """Plain dict for JSON output."""
        return asdict(self)


def run_interview_results(
    platform: Any,
    sf: Any,
    engine: Engine,
    config: ResultsConfig | None = None,
    *,
    settings: Settings | None = None,
    run_id: str | None = None,
    now: datetime | None = None,
) -> ResultsSummary:
    """Ingest (webhook inbox + poll) → validate → store → write back → sync statuses."""
    settings = settings or load_settings()
    config = config or load_results_config(settings)
    counts = ingest_results(platform, engine, config, settings=settings, run_id=run_id, now=now)
    wb = write_back(sf, engine, config)
    statuses = sync_statuses(sf, platform, engine, config)
    return ResultsSummary(
        run_id=counts.run_id, read=counts.read, stored=counts.stored, quarantined=counts.quarantined,
        duplicates=counts.duplicates, failures=counts.failures, written_back=wb.written,
        writeback_failed=wb.failed, writeback_pending=wb.pending, statuses_written=statuses.written,
    )
