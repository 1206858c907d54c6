"""Pull → validate (Great Expectations) → store or quarantine, one transaction per page with the cursor."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

import pandas as pd
import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from connectors.sql import upsert
from hrbridge.consent.ledger import count_withheld, screen_results, withheld_rows, without_consented_media
from hrbridge.consent.sync import sync_consents
from hrbridge.pipelines.interview_results.config import (
    CONFLICT_RULE,
    CURSOR_NAME,
    PENDING,
    ResultsConfig,
    RunCounts,
    file_safe,
    load_results_config,
    new_run_id,
    suite_runner,
)
from hrbridge.settings import Settings, load_settings
from hrbridge.store import metadata
from hrbridge.store.results import (
    interview_results,
    results_cursors,
    results_inbox,
    results_quarantine,
    results_writeback,
    validation_runs,
)
from transforms.match_report import build_match_report
from transforms.results import derive_check_columns, flatten_results
from validation.results_suite import SuiteOutcome

log = logging.getLogger("hrbridge.pipelines.interview_results")

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


MEDIA_COLUMNS = ("clips", "transcript_ref")


def media_vault(engine: Engine, config: ResultsConfig, settings: Settings | None = None) -> Any:
    """The vault sealing video clip and transcript references, or None when encryption is off."""
    if not config.raw.get("encrypt_media", True):
        return None
    from hrbridge.pipelines.pii import default_vault

    settings = (settings or load_settings()).ensure_dirs()
    vault = default_vault(engine, settings.home, settings=settings)
    vault.require_available()
    return vault


def seal_media(vault: Any, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Encrypt clip and transcript references of result rows with each candidate's data key."""
    if vault is None or not rows:
        return rows
    prepared = [{**row, "clips": json.dumps(row["clips"], ensure_ascii=False)} for row in rows]
    return vault.encrypt_rows(prepared, MEDIA_COLUMNS, table="interview_results", subject_key="candidate_id",
                              record_key="result_id")


def open_media(vault: Any, rows: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Decrypt clip and transcript references of stored result rows (inverse of :func:`seal_media`).

    Plaintext values pass through; a shredded candidate key (erasure) gives no clips and no transcript.
    """
    from governance.crypto import SubjectKeyShredded
    from governance.crypto.envelope import is_token

    opened = []
    for row in rows:
        row = dict(row)
        for column in MEDIA_COLUMNS:
            value = row.get(column)
            if not is_token(value):
                continue
            if vault is None:
                raise ValueError(f"interview result {row.get('result_id')}: {column} is encrypted but no vault is set")
            try:
                plain = vault.decrypt(row["candidate_id"], value, table="interview_results", column=column,
                                      record_id=row["result_id"])
            except SubjectKeyShredded:
                plain = None
            if column == "clips":
                plain = json.loads(plain) if plain else []
            row[column] = plain
        opened.append(row)
    return opened


# Quarantined payloads: what stays readable (besides masked values); the rest is sealed.
QUARANTINE_KEEP = ("result_id", "invitation_id", "candidate_id", "application_id", "job_id", "job_family",
                   "completed_at", "invited_at", "overall_score", "scale", "dimensions", "keywords", "model_version")


def quarantine_record_id(row: Mapping[str, Any]) -> str:
    """The record id bound into a sealed quarantine payload: the result id, else run and position."""
    return str(row.get("result_id") or f"{row['run_id']}#{row['position']}")


def seal_quarantined(vault: Any, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Seal quarantined payloads under the candidate's key (identifiers and masked values stay readable).

    Without a vault (media encryption off) payloads are kept as they are.
    """
    if vault is None or not rows:
        return rows
    from hrbridge.pipelines.pii import seal_payload

    sealed = []
    for row in rows:
        payload = row["payload"]
        if isinstance(payload, Mapping):
            subject = payload.get("candidate_id")
            payload = seal_payload(vault, payload, subject_id=None if subject is None else str(subject).strip(),
                                   table="results_quarantine", column="payload", record_id=quarantine_record_id(row),
                                   keep=QUARANTINE_KEEP)
        sealed.append({**row, "payload": payload})
    return sealed


def open_quarantined(vault: Any, row: Mapping[str, Any]) -> Any:
    """The original payload of a ``results_quarantine`` row (masked only if the candidate was erased)."""
    from hrbridge.pipelines.pii import open_payload

    payload = row["payload"]
    subject = payload.get("candidate_id") if isinstance(payload, Mapping) else None
    return open_payload(vault, payload, subject_id=None if subject is None else str(subject).strip(),
                        table="results_quarantine", column="payload", record_id=quarantine_record_id(row))


def validate_and_store(
    engine: Engine,
    raw: Sequence[Mapping[str, Any]],
    config: ResultsConfig,
    *,
    run_id: str,
    source: str,
    now: datetime | None = None,
    extra: Any = None,
    vault: Any = None,
) -> RunCounts:
    """Validate one batch with the GX suite and commit it in one transaction; returns its counts.

    Reads (duplicates, known invitations, results already stored per invitation, match inputs)
    and validation happen first; media references of the rows to store are then sealed with
    ``vault`` (when given); finally ONE write transaction stores results, quarantine and
    write-back rows and runs ``extra(conn)`` (the caller stores its cursor or marks inbox rows
    processed there, so the batch and its bookkeeping commit together). One result per
    invitation: a later, different result for an invitation that already has one is quarantined
    under :data:`CONFLICT_RULE`. A result stored meanwhile by another writer is counted as a
    duplicate; a different result stored meanwhile for the same invitation makes the batch be
    planned again (at most three times).
    """
    now = now or datetime.now(UTC)
    raw, withheld = screen_results(engine, raw)  # consent: media dropped without video consent, AI results withheld
    for _attempt in range(3):
        counts, rows, queue, quarantine = _plan_batch(engine, raw, config, run_id=run_id, source=source, now=now)
        quarantine += withheld_rows(withheld, run_id=run_id, source=source, now=now, first_position=len(raw))
        count_withheld(counts, withheld)
        rows = seal_media(vault, rows)
        quarantine = seal_quarantined(vault, quarantine)
        try:
            with engine.begin() as conn:
                if rows:
                    taken = _stored_ids(conn, [r["result_id"] for r in rows])
                    if taken:
                        rows = [r for r in rows if r["result_id"] not in taken]
                        queue = [q for q in queue if q["result_id"] not in taken]
                        counts.duplicates += len(taken)
                    if _stored_for_invitations(conn, [r["invitation_id"] for r in rows]):
                        raise _ConcurrentResult
                    upsert(conn, interview_results, rows, key=["result_id"], update=[])
                    # One write-back row per application: the latest stored result wins.
                    latest = {item["application_id"]: item for item in queue}
                    upsert(conn, results_writeback, list(latest.values()), key=["application_id"])
                if quarantine:
                    conn.execute(results_quarantine.insert(), quarantine)
                if extra is not None:
                    extra(conn)
        except _ConcurrentResult:
            log.info("results run %s: another writer stored a result for an invitation of this batch; planning again",
                     run_id)
            continue
        break
    else:
        raise RuntimeError(f"results run {run_id}: results for the same invitations keep arriving concurrently; "
                           "rerun to store this batch")
    counts.stored, counts.quarantined = len(rows), len(quarantine)
    if counts.quarantined:
        log.warning("results run %s: %d of %d results quarantined (%s)", run_id, counts.quarantined, counts.read,
                    ", ".join(f"{k}={v}" for k, v in counts.failures.items() if v))
    return counts


class _ConcurrentResult(Exception):
    """Another writer stored a result for an invitation of the batch between planning and writing."""


def _plan_batch(
    engine: Engine, raw: Sequence[Mapping[str, Any]], config: ResultsConfig, *, run_id: str, source: str,
    now: datetime,
) -> tuple[RunCounts, list[dict[str, Any]], list[dict[str, Any]], list[dict[str, Any]]]:
    """Counts, rows to store, write-back rows and quarantine rows for one batch (reads only but Data Docs)."""
    from hrbridge.artefacts import artefact_store
    from hrbridge.data_docs import site_config

    runner = suite_runner(config)
    counts = RunCounts(run_id=run_id, source=source, read=len(raw),
                       rule_titles={**{r.name: r.title for r in runner.rules}, CONFLICT_RULE.name: CONFLICT_RULE.title})
    counts.failures = {name: 0 for name in counts.rule_titles}
    rows: list[dict[str, Any]] = []
    queue: list[dict[str, Any]] = []
    quarantine: list[dict[str, Any]] = []
    with engine.connect() as conn:
        fresh, counts.duplicates = _split_duplicates(conn, raw)
        if fresh:
            frames = flatten_results(fresh)
            known = known_invitation_ids(conn, frames.results["invitation_id"].dropna().tolist())
            checked = derive_check_columns(frames, config.params, known, now)
            # The suite runs as a GX Checkpoint whose UpdateDataDocsAction adds this batch to the
            # run's Data Docs site in the artefact store (hrbridge.data_docs).
            run_name = file_safe(run_id)
            outcome = runner.validate(checked, run_name=run_name,
                                      docs_site=site_config(artefact_store(engine=engine), run_name))
            counts.failures = {**counts.failures, **outcome.failure_counts}
            rows, queue, quarantine = _prepare(conn, fresh, checked, frames, outcome, config,
                                               run_id=run_id, source=source, now=now)
            counts.failures[CONFLICT_RULE.name] = sum(CONFLICT_RULE.name in q["rules"] for q in quarantine)
    return counts, rows, queue, quarantine


def _stored_for_invitations(conn: Connection, invitation_ids: Iterable[str]) -> dict[str, str]:
    """Invitation id → the result id already stored for it, for those of ``invitation_ids`` that have one."""
    wanted = sorted({i for i in invitation_ids if i})
    found: dict[str, str] = {}
    for start in range(0, len(wanted), 900):
        chunk = wanted[start : start + 900]
        query = (sa.select(interview_results.c.invitation_id, sa.func.min(interview_results.c.result_id))
                 .where(interview_results.c.invitation_id.in_(chunk)).group_by(interview_results.c.invitation_id))
        found.update({inv: res for inv, res in conn.execute(query)})
    return found


def _prepare(
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
) -> tuple[list[dict[str, Any]], list[dict[str, Any]], list[dict[str, Any]]]:
    """Rows to store, write-back rows to queue and quarantine rows for one validated batch."""
    broken = outcome.rules_by_row()
    expectations = outcome.expectations_by_row()
    quarantine_rows = [
        {"run_id": run_id, "result_id": _py(checked.at[pos, "result_id"]), "position": pos, "rules": rules,
         "expectations": expectations.get(pos, []), "payload": _json_safe(fresh[pos]), "source": source,
         "quarantined_at": now}
        for pos, rules in sorted(broken.items())
    ]
    good = [pos for pos in range(len(fresh)) if pos not in broken]
    good, conflicting = _one_per_invitation(conn, good, checked)
    quarantine_rows += [
        {"run_id": run_id, "result_id": _py(checked.at[pos, "result_id"]), "position": pos,
         "rules": [CONFLICT_RULE.name], "expectations": [reason], "payload": _json_safe(fresh[pos]),
         "source": source, "quarantined_at": now}
        for pos, reason in conflicting
    ]
    if not good:
        return [], [], quarantine_rows
    dims_by_row = {row: group for row, group in frames.dimensions.groupby("row")}
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
    return rows, queue, quarantine_rows


def _one_per_invitation(conn: Connection, good: list[int], checked: pd.DataFrame) -> tuple[list[int], list[tuple[int, str]]]:
    """Split valid positions into those to store and those conflicting with an earlier result.

    The first valid result of an invitation wins (one already stored, else the first in the
    batch); every later, different result for it is returned with the reason it is held back.
    """
    winners = _stored_for_invitations(conn, [str(checked.at[p, "invitation_id"]) for p in good])
    keep: list[int] = []
    conflicting: list[tuple[int, str]] = []
    for pos in good:
        invitation, result = str(checked.at[pos, "invitation_id"]), str(checked.at[pos, "result_id"])
        winner = winners.setdefault(invitation, result)
        if winner == result:
            keep.append(pos)
        else:
            conflicting.append((pos, f"invitation {invitation} already has result {winner}; "
                                     f"result {result} differs and was not stored (one result per invitation)"))
    return keep, conflicting


# -------------------------------------------------------------------------------- cursor, runs


def read_cursor(conn: Connection, name: str = CURSOR_NAME) -> str | None:
    """The platform cursor stored after the last committed page (None before the first run)."""
    return conn.execute(sa.select(results_cursors.c.value).where(results_cursors.c.name == name)).scalar()


def _save_cursor(conn: Connection, value: str | None, now: datetime, name: str = CURSOR_NAME) -> None:
    if value is not None:
        upsert(conn, results_cursors, [{"name": name, "value": value, "updated_at": now}], key=["name"])


def record_run(engine: Engine, counts: RunCounts, started: datetime, settings: Settings) -> str | None:
    """Save the run row; returns the artefact key of the run's Data Docs index (None when none was built).

    The Data Docs were built batch by batch by the suite's Checkpoint (:mod:`hrbridge.data_docs`),
    so nothing of GX's results needs keeping here.
    """
    from hrbridge.artefacts import artefact_store
    from hrbridge.data_docs import index_key

    docs = index_key(file_safe(counts.run_id))
    with engine.begin() as conn:
        upsert(conn, validation_runs, [{
            "run_id": counts.run_id, "source": counts.source, "started_at": started,
            "finished_at": datetime.now(UTC), "rows_checked": counts.read - counts.duplicates,
            "stored": counts.stored, "quarantined": counts.quarantined, "duplicates": counts.duplicates,
            "failures": counts.failures, "rule_titles": counts.rule_titles,
            "gx_results_key": None, "report_key": None,
        }], key=["run_id"])
    return docs if artefact_store(settings, engine=engine).exists(docs) else None


def inbox_record_id(payload: Mapping[str, Any]) -> str:
    """The record id bound into a sealed inbox payload: the result id (``inbox`` when it has none)."""
    return str(payload.get("result_id") or "").strip() or "inbox"


def seal_inbox(vault: Any, payload: Mapping[str, Any]) -> dict[str, Any]:
    """An inbox payload with the raw result sealed under the candidate's key (identifiers stay readable).

    Clip links, names and comments wait for processing only as a vault token; without a vault
    (media encryption off) the payload is kept as it is.
    """
    payload = _json_safe(payload)
    if vault is None:
        return payload
    from hrbridge.pipelines.pii import seal_payload

    subject = payload.get("candidate_id")
    return seal_payload(vault, payload, subject_id=None if subject is None else str(subject).strip(),
                        table="results_inbox", column="payload", record_id=inbox_record_id(payload),
                        keep=QUARANTINE_KEEP)


def open_inbox(vault: Any, payload: Any) -> Any:
    """The raw result of an inbox row (inverse of :func:`seal_inbox`; masked only if the candidate was erased)."""
    from hrbridge.pipelines.pii import open_payload

    if not isinstance(payload, Mapping):
        return payload
    subject = payload.get("candidate_id")
    return open_payload(vault, payload, subject_id=None if subject is None else str(subject).strip(),
                        table="results_inbox", column="payload", record_id=inbox_record_id(payload))


def process_inbox(engine: Engine, config: ResultsConfig, *, run_id: str, now: datetime | None = None,
                  vault: Any = None) -> RunCounts:
    """Validate and store every webhook-delivered result not processed yet (same rules, same tables).

    Sealed payloads are opened with ``vault`` (default: the local keyring vault on ``engine``).
    """
    with engine.connect() as conn:
        pending = conn.execute(
            sa.select(results_inbox.c.id, results_inbox.c.payload)
            .where(results_inbox.c.processed_at.is_(None)).order_by(results_inbox.c.id)
        ).all()
    if not pending:
        return RunCounts(run_id=run_id, source="webhook")
    ids = [row.id for row in pending]
    from hrbridge.pipelines.pii import SEALED

    opener = vault
    if opener is None and any(isinstance(row.payload, Mapping) and SEALED in row.payload for row in pending):
        from hrbridge.pipelines.pii import default_vault

        opener = default_vault(engine)
    payloads = [open_inbox(opener, row.payload) if opener is not None else row.payload for row in pending]

    reduced = without_consented_media(engine, dict(zip(ids, payloads, strict=True)))  # consent: no media kept

    def mark(conn: Connection) -> None:
        conn.execute(results_inbox.update().where(results_inbox.c.id.in_(ids)).values(processed_at=datetime.now(UTC)))
        for inbox_id, payload in reduced.items():
            conn.execute(results_inbox.update().where(results_inbox.c.id == inbox_id).values(payload=payload))

    return validate_and_store(engine, payloads, config, run_id=run_id, source="webhook",
                              now=now, extra=mark, vault=vault)


def ingest_results(
    platform: Any,
    engine: Engine,
    config: ResultsConfig | None = None,
    *,
    settings: Settings | None = None,
    run_id: str | None = None,
    now: datetime | None = None,
) -> RunCounts:
    """Record consent answers, drain the webhook inbox, pull every result after the cursor; record the run."""
    settings = settings or load_settings()
    config = config or load_results_config(settings)
    run_id = run_id or new_run_id()
    started = datetime.now(UTC)
    total = RunCounts(run_id=run_id, source="poll")
    vault = media_vault(engine, config, settings)
    sync_consents(platform, engine, settings=settings, now=now)  # answers first: results are screened against them
    total.add(process_inbox(engine, config, run_id=run_id, now=now, vault=vault))
    with engine.connect() as conn:
        cursor = read_cursor(conn)
    for page, next_cursor in platform.iter_results(after=cursor, limit=config.page_size):
        def save(conn: Connection, value: str | None = next_cursor) -> None:
            _save_cursor(conn, value, datetime.now(UTC))

        total.add(validate_and_store(engine, page, config, run_id=run_id, source="poll", now=now, extra=save,
                                     vault=vault))
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


def quarantine_summary(engine: Engine) -> dict[str, int]:
    """Rule name → results held in quarantine (not requeued) that broke it."""
    counts: dict[str, int] = {}
    with engine.connect() as conn:
        rows = conn.execute(sa.select(results_quarantine.c.rules).where(results_quarantine.c.requeued_at.is_(None)))
        for (rules,) in rows:
            for name in rules:
                counts[name] = counts.get(name, 0) + 1
    return counts


def requeue_quarantined(
    engine: Engine, *, rule: str | None = None, run_id: str | None = None, vault: Any = None,
) -> int:
    """Send quarantined results back to the inbox so the next run validates them again.

    Use it after fixing the cause (e.g. the invitation ledger caught up, or the dimension list in
    the config was extended). Filters: results that broke ``rule``, from ``run_id``. Each is
    requeued once; results stored meanwhile are counted as duplicates by the next run. Sealed
    payloads are decrypted with ``vault`` (default: the local keyring vault on ``engine``).
    """
    query = sa.select(results_quarantine.c.id, results_quarantine.c.rules, results_quarantine.c.payload,
                      results_quarantine.c.result_id, results_quarantine.c.run_id,
                      results_quarantine.c.position).where(results_quarantine.c.requeued_at.is_(None))
    if run_id:
        query = query.where(results_quarantine.c.run_id == run_id)
    now = datetime.now(UTC)
    with engine.begin() as conn:
        chosen = [row for row in conn.execute(query.order_by(results_quarantine.c.id)) if not rule or rule in row.rules]
    if any(isinstance(row.payload, Mapping) and "_sealed" in row.payload for row in chosen) and vault is None:
        from hrbridge.pipelines.pii import default_vault

        vault = default_vault(engine)
    payloads = [open_quarantined(vault, row._mapping) if vault is not None else row.payload for row in chosen]
    with engine.begin() as conn:
        if chosen:
            conn.execute(results_inbox.insert(), [
                {"result_id": row.result_id, "payload": seal_inbox(vault, payload) if isinstance(payload, Mapping)
                 else payload, "received_at": now, "processed_at": None}
                for row, payload in zip(chosen, payloads, strict=True)
            ])
            ids = [row.id for row in chosen]
            for start in range(0, len(ids), 900):
                conn.execute(results_quarantine.update().where(results_quarantine.c.id.in_(ids[start:start + 900]))
                             .values(requeued_at=now))
    log.info("requeued %d quarantined results%s", len(chosen), f" that broke {rule}" if rule else "")
    return len(chosen)


def enqueue_webhook_result(engine: Engine, result: Mapping[str, Any], vault: Any = None,
                           extra: Any = None) -> int:
    """Queue a verified webhook result for validation; returns the inbox row id.

    With ``vault`` the payload is sealed under the candidate's key (:func:`seal_inbox`).
    ``extra(conn)`` runs first in the same transaction (the receiver records the delivery in its
    replay store there, so a delivery is remembered exactly when it is queued).
    """
    payload = seal_inbox(vault, result)
    with engine.begin() as conn:
        if extra is not None:
            extra(conn)
        inserted = conn.execute(results_inbox.insert().values(
            result_id=str(result.get("result_id") or "") or None, payload=payload,
            received_at=datetime.now(UTC), processed_at=None,
        ))
        return int(inserted.inserted_primary_key[0])
