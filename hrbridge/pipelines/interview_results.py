"""The interview_results loop: pull → validate (Great Expectations) → store/quarantine → write back.

Callable without Airflow. :func:`ingest_results` drains results delivered by the signed webhook,
then pulls completed results after the stored cursor page by page; each page is validated by the
YAML-declared suite and committed in ONE transaction together with the cursor (valid rows stored,
bad rows quarantined with every rule they broke and the raw payload, write-back rows queued), so a
crash between pages loses and duplicates nothing. Counts reconcile per run:
``read = stored + quarantined + duplicates``. :func:`write_back` sends queued scores to the HR
system and keeps failures pending with their error for the next run; :func:`sync_statuses` mirrors
the interview status into a configured HR field.
"""

from __future__ import annotations

import json
import logging
import re
import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from functools import cache
from pathlib import Path
from typing import Any

import pandas as pd
import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from connectors.errors import ConnectorError
from connectors.sql import upsert
from hrbridge.settings import Settings, load_config, load_settings
from hrbridge.store import metadata
from hrbridge.store.results import (
    interview_results,
    interview_status_sync,
    results_cursors,
    results_inbox,
    results_quarantine,
    results_writeback,
    validation_runs,
)
from transforms.masking import mask_pii
from transforms.match_report import build_match_report
from transforms.results import CheckParameters, derive_check_columns, flatten_results
from validation.results_suite import SuiteOutcome, SuiteRunner, load_rules

log = logging.getLogger(__name__)

CURSOR_NAME = "interview_results"
PENDING, WRITTEN = "pending", "written"
FINAL_STATUSES = frozenset({"completed", "expired"})


@dataclass(frozen=True)
class ResultsConfig:
    """``configs/interview_results.yaml`` plus the suite file, resolved once per run."""

    raw: Mapping[str, Any]
    suite_path: Path

    @property
    def params(self) -> CheckParameters:
        """Parameters of the row-level checks (scale, dimensions, keyword and clip limits)."""
        return CheckParameters.from_config(self.raw)

    @property
    def page_size(self) -> int:
        """Results pulled per page."""
        return int(self.raw.get("page_size", 500))

    @property
    def writeback(self) -> Mapping[str, Any]:
        """Write-back target: entity, key field, field names, chosen dimensions, batch size."""
        return self.raw.get("writeback") or {}

    @property
    def status(self) -> Mapping[str, Any]:
        """Interview status field and value mapping."""
        return self.raw.get("status") or {}

    @property
    def match_report(self) -> Mapping[str, Any]:
        """Match-report weights and where requisition requirements live."""
        return self.raw.get("match_report") or {}


def load_results_config(settings: Settings | None = None) -> ResultsConfig:
    """Read the results config and locate the expectation suite under the configs folder."""
    settings = settings or load_settings()
    return ResultsConfig(
        raw=load_config("interview_results", settings),
        suite_path=settings.configs_dir / "expectations" / "interview_results.yaml",
    )


@cache
def _runner(suite_path: str, scale_min: float, scale_max: float, mtime: float) -> SuiteRunner:
    name, rules = load_rules(Path(suite_path), {"scale": {"min": scale_min, "max": scale_max}})
    return SuiteRunner(name, rules)


def suite_runner(config: ResultsConfig) -> SuiteRunner:
    """The GX suite runner for ``config`` (built once per suite file and scale, then reused)."""
    params = config.params
    path = config.suite_path.resolve()
    return _runner(str(path), params.scale_min, params.scale_max, path.stat().st_mtime)


@dataclass
class RunCounts:
    """Counts of one validation run; ``read == stored + quarantined + duplicates`` always."""

    run_id: str
    source: str
    read: int = 0
    stored: int = 0
    quarantined: int = 0
    duplicates: int = 0
    failures: dict[str, int] = field(default_factory=dict)
    rule_titles: dict[str, str] = field(default_factory=dict)
    gx_results: list[dict[str, Any]] = field(default_factory=list)

    def add(self, other: RunCounts) -> None:
        """Fold another batch's counts into this run."""
        self.read += other.read
        self.stored += other.stored
        self.quarantined += other.quarantined
        self.duplicates += other.duplicates
        for name, count in other.failures.items():
            self.failures[name] = self.failures.get(name, 0) + count
        self.rule_titles.update(other.rule_titles)
        self.gx_results.extend(other.gx_results)

    def reconciles(self) -> bool:
        """True when every result read is stored, quarantined or a counted duplicate."""
        return self.read == self.stored + self.quarantined + self.duplicates


def new_run_id(prefix: str = "results") -> str:
    """A sortable, unique run id: ``results-20261127T120000-1a2b3c``."""
    return f"{prefix}-{datetime.now(UTC):%Y%m%dT%H%M%S}-{uuid.uuid4().hex[:6]}"


# ------------------------------------------------------------------------------ validate + store


def known_invitation_ids(conn: Connection, invitation_ids: Iterable[str]) -> set[str]:
    """Which of ``invitation_ids`` the hub sent (platform ids in the candidate_sync ledger)."""
    table = metadata.tables.get("invitations")
    wanted = sorted({i for i in invitation_ids if i})
    if table is None or not wanted:
        return set()
    found: set[str] = set()
    for start in range(0, len(wanted), 900):
        chunk = wanted[start : start + 900]
        rows = conn.execute(sa.select(table.c.platform_invitation_id).where(table.c.platform_invitation_id.in_(chunk)))
        found.update(r[0] for r in rows)
    return found


def _stored_ids(conn: Connection, result_ids: Iterable[str]) -> set[str]:
    wanted = sorted({i for i in result_ids if i})
    found: set[str] = set()
    for start in range(0, len(wanted), 900):
        chunk = wanted[start : start + 900]
        rows = conn.execute(sa.select(interview_results.c.result_id).where(interview_results.c.result_id.in_(chunk)))
        found.update(r[0] for r in rows)
    return found


def _split_duplicates(conn: Connection, raw: Sequence[Mapping[str, Any]]) -> tuple[list[Mapping[str, Any]], int]:
    """Drop results already stored or repeated within the batch; returns (fresh, duplicate count)."""
    ids = [str(r.get("result_id")).strip() if isinstance(r, Mapping) and r.get("result_id") else None for r in raw]
    stored = _stored_ids(conn, [i for i in ids if i])
    seen: set[str] = set()
    fresh: list[Mapping[str, Any]] = []
    for item, result_id in zip(raw, ids, strict=True):
        if result_id and (result_id in stored or result_id in seen):
            continue
        if result_id:
            seen.add(result_id)
        fresh.append(item if isinstance(item, Mapping) else {"payload": item})
    return fresh, len(raw) - len(fresh)


def _finite(value: Any) -> Any:
    if isinstance(value, float) and (value != value or value in (float("inf"), float("-inf"))):
        return str(value)
    if isinstance(value, Mapping):
        return {str(k): _finite(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_finite(v) for v in value]
    return value


def _json_safe(value: Any) -> Any:
    """A JSON-storable copy of a raw payload (NaN/Infinity, which Postgres JSON rejects, become text)."""
    return json.loads(json.dumps(_finite(value), default=str, ensure_ascii=False, allow_nan=False))


def _py(value: Any) -> Any:
    """pandas scalars → plain Python (NaN/NaT → None; timestamps → aware datetimes)."""
    if value is None or (not isinstance(value, (list, dict, str)) and pd.isna(value)):
        return None
    if isinstance(value, pd.Timestamp):
        return value.to_pydatetime()
    if hasattr(value, "item"):
        return value.item()
    return value


def _match_inputs(conn: Connection, application_ids: Iterable[str], config: ResultsConfig) -> dict[str, dict[str, Any]]:
    """Requisition requirements and resume signals per application, from the candidate_sync tables."""
    apps, signals, reqs = (metadata.tables.get(n) for n in ("applications", "resume_signals", "requisitions"))
    wanted = sorted({a for a in application_ids if a})
    if apps is None or signals is None or reqs is None or not wanted:
        return {}
    fields = config.match_report.get("requirements") or {}
    skill_keys = list(fields.get("skills") or ["cust_requiredSkills"])
    years_keys = list(fields.get("min_years") or ["cust_minYearsExperience"])
    query = (
        sa.select(apps.c.application_id, signals.c.skills, signals.c.years_experience, reqs.c.extras)
        .select_from(apps.outerjoin(signals, apps.c.candidate_id == signals.c.candidate_id)
                     .outerjoin(reqs, apps.c.requisition_id == reqs.c.requisition_id))
        .where(apps.c.application_id.in_(wanted))
    )
    inputs: dict[str, dict[str, Any]] = {}
    for app_id, skills, years, extras in conn.execute(query):
        extras = extras or {}
        required = next((extras[k] for k in skill_keys if extras.get(k)), None)
        if isinstance(required, str):
            required = [s for s in (p.strip() for p in required.replace(";", ",").split(",")) if s]
        inputs[app_id] = {
            "required_skills": required,
            "min_years": next((extras[k] for k in years_keys if extras.get(k) is not None), None),
            "resume_skills": skills,
            "years_experience": years,
        }
    return inputs


def writeback_fields(row: Mapping[str, Any], match: Mapping[str, Any], config: ResultsConfig) -> dict[str, Any]:
    """The HR-system field values for one stored result, named by the configured target fields."""
    spec = config.writeback
    names = spec.get("fields") or {}
    chosen = list(spec.get("dimension_scores") or [])
    dims = {d["name"]: d["score"] for d in row["dimensions"] if d.get("name") and (not chosen or d["name"] in chosen)}
    keywords = ", ".join(row["keywords"][: int(spec.get("max_keywords", 10))])[:1000]
    values = {
        "overall_score": f"{row['overall_score']:.1f}",
        "dimension_scores": json.dumps(dims, ensure_ascii=False, separators=(",", ":"))[:4000],
        "keywords": keywords,
        "report_url": row.get("report_url"),
        "match_percent": None if match.get("match_percent") is None else f"{match['match_percent']:.1f}",
    }
    return {names[k]: v for k, v in values.items() if names.get(k) and v is not None}


def validate_and_store(
    engine: Engine,
    raw: Sequence[Mapping[str, Any]],
    config: ResultsConfig,
    *,
    run_id: str,
    source: str,
    now: datetime | None = None,
    extra: Any = None,
) -> RunCounts:
    """Validate one batch with the GX suite and commit it in one transaction; returns its counts.

    ``extra(conn)``, when given, runs inside the same transaction (the caller stores its cursor or
    marks inbox rows processed there, so the batch and its bookkeeping commit together).
    """
    now = now or datetime.now(UTC)
    runner = suite_runner(config)
    counts = RunCounts(run_id=run_id, source=source, read=len(raw),
                       rule_titles={r.name: r.title for r in runner.rules})
    with engine.begin() as conn:
        fresh, counts.duplicates = _split_duplicates(conn, raw)
        if fresh:
            frames = flatten_results(fresh)
            known = known_invitation_ids(conn, frames.results["invitation_id"].dropna().tolist())
            checked = derive_check_columns(frames, config.params, known, now)
            outcome = runner.validate(checked)
            counts.failures = outcome.failure_counts
            counts.gx_results.append(outcome.to_json_dict())
            _store(conn, fresh, checked, frames, outcome, config, run_id=run_id, source=source, now=now, counts=counts)
        else:
            counts.failures = {r.name: 0 for r in runner.rules}
        if extra is not None:
            extra(conn)
    if counts.quarantined:
        log.warning("results run %s: %d of %d results quarantined (%s)", run_id, counts.quarantined, counts.read,
                    ", ".join(f"{k}={v}" for k, v in counts.failures.items() if v))
    return counts


def _store(
    conn: Connection,
    fresh: Sequence[Mapping[str, Any]],
    checked: pd.DataFrame,
    frames: Any,
    outcome: SuiteOutcome,
    config: ResultsConfig,
    *,
    run_id: str,
    source: str,
    now: datetime,
    counts: RunCounts,
) -> None:
    broken = outcome.rules_by_row()
    quarantine_rows = [
        {"run_id": run_id, "result_id": _py(checked.at[pos, "result_id"]), "position": pos, "rules": rules,
         "payload": _json_safe(fresh[pos]), "source": source, "quarantined_at": now}
        for pos, rules in sorted(broken.items())
    ]
    if quarantine_rows:
        conn.execute(results_quarantine.insert(), quarantine_rows)
    good = [pos for pos in range(len(fresh)) if pos not in broken]
    counts.quarantined, counts.stored = len(quarantine_rows), len(good)
    if not good:
        return
    dims = frames.dimensions.groupby("row")
    dims_by_row = {row: group for row, group in dims}
    inputs = _match_inputs(conn, [str(checked.at[p, "application_id"]) for p in good], config)
    params = config.params
    weights = config.match_report.get("weights")
    rows, queue = [], []
    for pos in good:
        raw = fresh[pos]
        dim_frame = dims_by_row.get(pos)
        dimensions = [] if dim_frame is None else [
            {"name": n, "score": _py(s), "weight": _py(w), "comment": _py(c)}
            for n, s, w, c in zip(dim_frame["name"], dim_frame["score"], dim_frame["weight"], dim_frame["comment"],
                                  strict=True)
        ]
        app_id = str(checked.at[pos, "application_id"])
        signals = inputs.get(app_id, {})
        match = build_match_report(
            required_skills=signals.get("required_skills"), min_years=signals.get("min_years"),
            resume_skills=signals.get("resume_skills"), years_experience=signals.get("years_experience"),
            interview_score=float(checked.at[pos, "overall_score"]),
            scale_min=params.scale_min, scale_max=params.scale_max, weights=weights,
        )
        row = {
            "result_id": str(checked.at[pos, "result_id"]),
            "invitation_id": str(checked.at[pos, "invitation_id"]),
            "candidate_id": str(checked.at[pos, "candidate_id"]),
            "application_id": app_id,
            "job_id": _py(checked.at[pos, "job_id"]),
            "job_family": _py(checked.at[pos, "job_family"]),
            "completed_at": _py(checked.at[pos, "completed_at"]),
            "invited_at": _py(checked.at[pos, "invited_at"]),
            "overall_score": round(float(checked.at[pos, "overall_score"]), 2),
            "dimensions": dimensions,
            "keywords": list(raw.get("keywords") or []),
            "clips": _json_safe(raw.get("clips") or []),
            "report_url": _py(checked.at[pos, "report_url"]),
            "model_version": _py(checked.at[pos, "model_version"]),
            "interviewer_comments": _py(checked.at[pos, "interviewer_comments"]),
            "transcript_ref": _py(checked.at[pos, "transcript_ref"]),
            "match_percent": match["match_percent"],
            "match_report": match,
            "source": source,
            "run_id": run_id,
            "stored_at": now,
        }
        rows.append(row)
        queue.append({"application_id": app_id, "result_id": row["result_id"], "state": PENDING, "attempts": 0,
                      "last_error": None, "fields": writeback_fields(row, match, config), "updated_at": now,
                      "written_at": None})
    upsert(conn, interview_results, rows, key=["result_id"], update=[])
    # One write-back row per application: the latest stored result wins.
    latest: dict[str, dict[str, Any]] = {}
    for item in queue:
        latest[item["application_id"]] = item
    upsert(conn, results_writeback, list(latest.values()), key=["application_id"])


# -------------------------------------------------------------------------------- cursor, runs


def read_cursor(conn: Connection, name: str = CURSOR_NAME) -> str | None:
    """The platform cursor stored after the last committed page (None before the first run)."""
    return conn.execute(sa.select(results_cursors.c.value).where(results_cursors.c.name == name)).scalar()


def _save_cursor(conn: Connection, value: str | None, now: datetime, name: str = CURSOR_NAME) -> None:
    if value is not None:
        upsert(conn, results_cursors, [{"name": name, "value": value, "updated_at": now}], key=["name"])


def record_run(engine: Engine, counts: RunCounts, started: datetime, settings: Settings) -> Path | None:
    """Save the run row and the GX results (JSON under reports/gx/, for Data Docs built later)."""
    gx_path = None
    if counts.gx_results:
        gx_dir = settings.ensure_dirs().reports_dir / "gx"
        gx_dir.mkdir(parents=True, exist_ok=True)
        gx_path = gx_dir / f"{_file_safe(counts.run_id)}.json"
        gx_path.write_text(json.dumps(counts.gx_results, default=str), encoding="utf-8")
    with engine.begin() as conn:
        upsert(conn, validation_runs, [{
            "run_id": counts.run_id, "source": counts.source, "started_at": started,
            "finished_at": datetime.now(UTC), "rows_checked": counts.read - counts.duplicates,
            "stored": counts.stored, "quarantined": counts.quarantined, "duplicates": counts.duplicates,
            "failures": counts.failures, "rule_titles": counts.rule_titles,
            "gx_result_path": str(gx_path) if gx_path else None, "report_path": None,
        }], key=["run_id"])
    return gx_path


def process_inbox(engine: Engine, config: ResultsConfig, *, run_id: str, now: datetime | None = None) -> RunCounts:
    """Validate and store every webhook-delivered result not processed yet (same rules, same tables)."""
    with engine.connect() as conn:
        pending = conn.execute(
            sa.select(results_inbox.c.id, results_inbox.c.payload)
            .where(results_inbox.c.processed_at.is_(None)).order_by(results_inbox.c.id)
        ).all()
    if not pending:
        return RunCounts(run_id=run_id, source="webhook")
    ids = [row.id for row in pending]

    def mark(conn: Connection) -> None:
        conn.execute(results_inbox.update().where(results_inbox.c.id.in_(ids)).values(processed_at=datetime.now(UTC)))

    return validate_and_store(engine, [row.payload for row in pending], config, run_id=run_id, source="webhook",
                              now=now, extra=mark)


def ingest_results(
    platform: Any,
    engine: Engine,
    config: ResultsConfig | None = None,
    *,
    settings: Settings | None = None,
    run_id: str | None = None,
    now: datetime | None = None,
) -> RunCounts:
    """Drain the webhook inbox, then pull every result completed after the cursor; record the run."""
    settings = settings or load_settings()
    config = config or load_results_config(settings)
    run_id = run_id or new_run_id()
    started = datetime.now(UTC)
    total = RunCounts(run_id=run_id, source="poll")
    total.add(process_inbox(engine, config, run_id=run_id, now=now))
    with engine.connect() as conn:
        cursor = read_cursor(conn)
    for page, next_cursor in platform.iter_results(after=cursor, limit=config.page_size):
        def save(conn: Connection, value: str | None = next_cursor) -> None:
            _save_cursor(conn, value, datetime.now(UTC))

        total.add(validate_and_store(engine, page, config, run_id=run_id, source="poll", now=now, extra=save))
    if not total.rule_titles:
        total.rule_titles = {r.name: r.title for r in suite_runner(config).rules}
        total.failures = {name: 0 for name in total.rule_titles}
    record_run(engine, total, started, settings)
    if not total.reconciles():
        raise RuntimeError(f"results run {run_id} does not reconcile: read {total.read} != stored {total.stored}"
                           f" + quarantined {total.quarantined} + duplicates {total.duplicates}")
    log.info("results run %s: read %d, stored %d, quarantined %d, duplicates %d",
             run_id, total.read, total.stored, total.quarantined, total.duplicates)
    return total


def enqueue_webhook_result(engine: Engine, result: Mapping[str, Any]) -> int:
    """Queue a verified webhook result for validation; returns the inbox row id."""
    with engine.begin() as conn:
        inserted = conn.execute(results_inbox.insert().values(
            result_id=str(result.get("result_id") or "") or None, payload=_json_safe(result),
            received_at=datetime.now(UTC), processed_at=None,
        ))
        return int(inserted.inserted_primary_key[0])


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
        records = [{key_field: _key_value(app_id), **fields} for app_id, fields in batch]
        now = datetime.now(UTC)
        try:
            outcome = sf.upsert(entity, records, key_field)
            ok = {str(k) for k in getattr(outcome, "ok", []) or []}
            failed = dict(_failed_pairs(outcome))
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


def _key_value(app_id: str) -> Any:
    return int(app_id) if app_id.isdigit() else app_id


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
    with engine.connect() as conn:
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
        if synced in FINAL_STATUSES:
            continue
        counts.checked += 1
        if result_id is not None:
            status = "completed"
        else:
            try:
                status = platform.get_invitation(invitation_id).status
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
    records = [{key_field: _key_value(app), field_name: mapping[status]} for app, status in changes.values()]
    try:
        outcome = sf.upsert(entity, records, key_field)
        ok = {str(k) for k in getattr(outcome, "ok", []) or []}
        failed = dict(_failed_pairs(outcome))
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


# -------------------------------------------------------------------------------- HR ops report


@dataclass(frozen=True)
class ReportPaths:
    """Where a run's report went: the one-page summary and the GX Data Docs index (if any)."""

    run_id: str
    html: Path
    data_docs: Path | None


def _describe(value: Any, name: str) -> str:
    if value is None:
        return "(missing)"
    if name == "dimensions" and isinstance(value, list):
        return ", ".join(f"{d.get('name')}={d.get('score')}" if isinstance(d, Mapping) else repr(d) for d in value)
    if name == "clips" and isinstance(value, list):
        return "; ".join(
            f"{c.get('clip_id')} expires {c.get('expires_at')}" if isinstance(c, Mapping) else repr(c) for c in value
        )
    return json.dumps(value, ensure_ascii=False, default=str) if isinstance(value, (list, dict)) else str(value)


def example_detail(rule: Any, payload: Mapping[str, Any]) -> str:
    """A short, PII-masked sentence showing what in ``payload`` broke ``rule``."""
    if rule.expectation == "expect_column_values_to_not_be_null":
        missing = [f for f in rule.example_fields if payload.get(f) in (None, "")]
        text = "missing: " + ", ".join(missing) if missing else "a required value could not be read"
    else:
        text = "; ".join(f"{name} = {_describe(payload.get(name), name)}" for name in rule.example_fields)
    text = mask_pii(text)
    return text if len(text) <= 160 else text[:157] + "..."


def _file_safe(name: str) -> str:
    """A run id usable as a file name everywhere (Airflow run ids contain ':' and '+')."""
    return re.sub(r"[^A-Za-z0-9_.-]+", "-", name).strip("-")


def build_validation_report(
    engine: Engine,
    settings: Settings | None = None,
    *,
    run_id: str | None = None,
    out_dir: Path | None = None,
    config: ResultsConfig | None = None,
    examples_per_rule: int = 3,
    trend_runs: int = 20,
) -> ReportPaths:
    """Write the HR ops page (and GX Data Docs) for ``run_id`` (default: the latest run).

    Raises LookupError when there is no such run. The page path is saved on the run row.
    """
    from validation.data_docs import build_data_docs
    from validation.report import render_validation_page

    settings = settings or load_settings()
    config = config or load_results_config(settings)
    out_dir = Path(out_dir or settings.ensure_dirs().reports_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    params = config.params
    _, rules = load_rules(config.suite_path, {"scale": {"min": params.scale_min, "max": params.scale_max}})
    by_name = {rule.name: rule for rule in rules}
    with engine.connect() as conn:
        query = sa.select(validation_runs)
        query = query.where(validation_runs.c.run_id == run_id) if run_id else query.order_by(
            validation_runs.c.started_at.desc()).limit(1)
        run = conn.execute(query).mappings().first()
        if run is None:
            raise LookupError(f"no validation run {run_id}" if run_id else "no validation run recorded yet")
        run = dict(run)
        examples: dict[str, list[dict[str, Any]]] = {}
        quarantined = conn.execute(
            sa.select(results_quarantine.c.rules, results_quarantine.c.payload)
            .where(results_quarantine.c.run_id == run["run_id"]).order_by(results_quarantine.c.id)
        )
        for rule_names, payload in quarantined:
            payload = payload if isinstance(payload, Mapping) else {}
            for name in rule_names:
                shown = examples.setdefault(name, [])
                if name in by_name and len(shown) < examples_per_rule:
                    shown.append({"result_id": payload.get("result_id"), "application_id": payload.get("application_id"),
                                  "detail": example_detail(by_name[name], payload)})
        trend = [dict(r) for r in conn.execute(
            sa.select(validation_runs.c.run_id, validation_runs.c.started_at, validation_runs.c.rows_checked,
                      validation_runs.c.quarantined)
            .where(validation_runs.c.started_at <= run["started_at"])
            .order_by(validation_runs.c.started_at.desc()).limit(trend_runs)
        ).mappings()][::-1]
    docs_index = None
    gx_path = Path(run["gx_result_path"]) if run.get("gx_result_path") else None
    if gx_path and gx_path.exists():
        docs_index = build_data_docs(gx_path, out_dir / "data-docs" / _file_safe(run["run_id"]),
                                     f"Interview results validation {run['run_id']}")
    page = out_dir / f"validation-{_file_safe(run['run_id'])}.html"
    href = str(docs_index.relative_to(out_dir)) if docs_index else None
    page.write_text(render_validation_page(run, rules, examples, trend, href), encoding="utf-8")
    with engine.begin() as conn:
        conn.execute(validation_runs.update().where(validation_runs.c.run_id == run["run_id"])
                     .values(report_path=str(page)))
    log.info("validation report for run %s: %s", run["run_id"], page)
    return ReportPaths(run_id=run["run_id"], html=page, data_docs=docs_index)
