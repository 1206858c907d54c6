"""Load one source stream's changes into the hub: map, seal, upsert, quarantine, then commit the cursor.

Source-agnostic: a :class:`connectors.source.SourceStream` hands pages of source records (its
look-back and persisted position are its own), the stream's YAML mapping turns them into canonical
rows, :class:`connectors.source.SourceKeys` qualifies their keys when several sources share the
hub, personal columns are sealed with the candidate's data key, rows are upserted by natural key,
unmappable records go to ``sync_quarantine``, and only then does the stream persist its new
position (:class:`HubState`, the ``sync_cursors`` table). Every Nth run the stream's current keys
are compared with the hub's to find records deleted at the source (:func:`reconcile_keys`).
Counts reconcile: ``read = loaded + quarantined + deduplicated``.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from connectors.source import SourceKeys, SourceStream
from connectors.sql import upsert
from hrbridge.pipelines.pii import HUB_ENCRYPTED, open_payload, seal_payload, seal_rows
from hrbridge.store import recruiting as store
from transforms.field_mapping import MappedBatch, StreamMapping, map_records
from transforms.masking import mask_pii
from transforms.resume_signals import decode_resume, extract_signals

if TYPE_CHECKING:
    from governance.crypto import Vault

log = logging.getLogger(__name__)

PIPELINE = "candidate_sync"
TABLES = {"candidates": store.candidates, "applications": store.applications, "requisitions": store.requisitions}


@dataclass
class StreamCounts:
    """Per-stream counts of one run: read = loaded + quarantined + deduplicated."""

    read: int = 0
    loaded: int = 0
    quarantined: int = 0
    deduplicated: int = 0
    cursor: str | None = None
    deleted: int = 0  # hub records whose key the source no longer has (marked deleted_at)
    restored: int = 0  # records marked deleted earlier that the source has again
    key_check: str | None = None  # None: not due this run; "checked"; or why it was skipped
    erased: int = 0  # records of candidates whose key was shredded: loaded without contact data


class HubState:
    """The streams' persisted positions in the hub's ``sync_cursors`` (a :class:`connectors.source.StateStore`)."""

    def __init__(self, engine: Engine, now: datetime | None = None) -> None:
        self.engine = engine
        self.now = now

    def get(self, key: str) -> datetime | None:
        """The stored cursor of stream ``key`` (``<source>:<stream>``)."""
        with self.engine.connect() as conn:
            return store.read_cursor(conn, key)

    def put(self, key: str, value: datetime, run_id: str) -> None:
        """Store the cursor of stream ``key`` in its own transaction (after the rows were loaded)."""
        with self.engine.begin() as conn:
            upsert(conn, store.sync_cursors, [{"stream": key, "cursor": value, "run_id": run_id,
                                               "updated_at": self.now or store.utcnow()}], key=["stream"])


@dataclass(frozen=True)
class DeletionCheck:
    """When and how far deleted-record detection may go (``deletion_check`` in the sync config)."""

    every_runs: int = 0
    streams: tuple[str, ...] = ()
    max_fraction: float = 0.5


def load_stream(
    stream: SourceStream, mapping: StreamMapping, engine: Engine, *, run_id: str, now: datetime, vault: Vault,
    keys: SourceKeys | None = None, deletion: DeletionCheck | None = None,
) -> StreamCounts:
    """Load every change of ``stream`` into the hub, then advance its cursor; check deletions when due."""
    keys = keys or SourceKeys()
    name = stream.name
    counts = StreamCounts()
    seen: set[Any] = set()
    for page in stream.changes(fields=mapping.select_fields()):
        batch = map_records(page, mapping)
        batch.rows = [keys.qualify_row(row) for row in batch.rows]
        key = mapping.entity.key
        repeated = sum(1 for row in batch.rows if row[key] in seen)
        seen.update(row[key] for row in batch.rows)
        rows = _prepare_rows(name, batch, now, vault, counts, stream.source.name)  # sealed outside the transaction
        held = quarantine_rows(batch, mapping, run_id, now, vault, keys)
        with engine.begin() as conn:
            loaded = _store_rows(conn, name, rows, now)
            _quarantine(conn, held)
        counts.read += batch.read
        counts.loaded += loaded - repeated
        counts.deduplicated += batch.deduplicated + repeated
        counts.quarantined += len(batch.quarantined)
    newest = stream.commit(run_id)
    counts.cursor = newest.isoformat() if newest else None
    deletion = deletion or DeletionCheck()
    if name in deletion.streams and _key_check_due(engine, stream.state_key, deletion.every_runs, run_id):
        reconcile_keys(stream, engine, counts, run_id=run_id, now=now, keys=keys, max_fraction=deletion.max_fraction)
    log.info("%s %s: read %d, loaded %d, quarantined %d, deduplicated %d (since %s)", PIPELINE, stream.state_key,
             counts.read, counts.loaded, counts.quarantined, counts.deduplicated, stream.incremental.since)
    return counts


def _prepare_rows(
    name: str, batch: MappedBatch, now: datetime, vault: Vault, counts: StreamCounts, source: str = "",
) -> list[dict[str, Any]]:
    """Hub rows of a mapped batch, personal columns encrypted (a shredded candidate's left empty),
    labelled with the source they came from where the table records it."""
    if name == "resumes" or not batch.rows:
        return batch.rows
    table = TABLES[name]
    columns = set(table.columns.keys())
    origin = {"source": source[:32]} if source and "source" in columns else {}
    # a record the source sends again exists there: it is not (or no longer) deleted
    rows = [{**{k: v for k, v in row.items() if k in columns}, **origin, "loaded_at": now, "deleted_at": None}
            for row in batch.rows]
    if name in HUB_ENCRYPTED:
        sealed, subject, record = HUB_ENCRYPTED[name]
        rows, shredded = seal_rows(vault, rows, sealed, table=name, subject_key=subject, record_key=record)
        counts.erased += sum(1 for row in rows if str(row[subject]) in shredded)
    return rows


def _store_rows(conn: sa.Connection, name: str, rows: list[dict[str, Any]], now: datetime) -> int:
    if not rows:
        return 0
    if name == "resumes":
        return _store_resume_signals(conn, rows, now)
    table = TABLES[name]
    key = next(iter(table.primary_key.columns)).name
    return upsert(conn, table, rows, key=[key])


def _key_check_due(engine: Engine, stream: str, every_runs: int, run_id: str) -> bool:
    """Count this run for ``stream`` (once per run id) and say whether its key check is due."""
    if every_runs <= 0:
        return False
    checks = store.sync_key_checks
    with engine.begin() as conn:
        row = conn.execute(sa.select(checks).where(checks.c.stream == stream)).first()
        if row is None:
            conn.execute(sa.insert(checks).values(stream=stream, runs_since_check=0, last_run_id=run_id))
            return True
        runs = row.runs_since_check if row.last_run_id == run_id else row.runs_since_check + 1
        conn.execute(sa.update(checks).where(checks.c.stream == stream)
                     .values(runs_since_check=runs, last_run_id=run_id))
    return row.checked_at is None or runs >= every_runs


def reconcile_keys(
    stream: SourceStream, engine: Engine, counts: StreamCounts, *, run_id: str, now: datetime,
    keys: SourceKeys | None = None, max_fraction: float = 0.5,
) -> StreamCounts:
    """Compare the hub's keys of ``stream`` (those this source owns) with every key the source holds now.

    Hub records the source no longer has get ``deleted_at`` (a soft delete: they stay in the hub
    until retention removes them, and are never invited); records marked deleted that the source
    has again are restored. A check that would mark more than ``max_fraction`` of the stream
    deleted (an empty answer, a permission change) marks nothing and says so.
    """
    keys = keys or SourceKeys()
    table = TABLES[stream.name]
    key_col = next(iter(table.primary_key.columns))
    source_keys = {str(keys.qualify(k)) for k in stream.current_keys()}
    with engine.connect() as conn:
        hub = {row[0]: row[1] is not None for row in conn.execute(sa.select(key_col, table.c.deleted_at))
               if keys.owns(str(row[0]))}
    gone = sorted(k for k, deleted in hub.items() if not deleted and k not in source_keys)
    back = sorted(k for k, deleted in hub.items() if deleted and k in source_keys)
    live = sum(1 for deleted in hub.values() if not deleted)
    note = "checked"
    if gone and len(gone) > max_fraction * live:
        note = (f"skipped: the source lacks {len(gone)} of {live} live {stream.state_key} keys, more than "
                f"deletion_check.max_fraction {max_fraction:g}; nothing marked deleted")
        log.error("%s %s key check %s", PIPELINE, stream.state_key, note)
        gone = []
    with engine.begin() as conn:
        for chunk in chunks(gone, 500):
            conn.execute(sa.update(table).where(key_col.in_(list(chunk)), table.c.deleted_at.is_(None))
                         .values(deleted_at=now))
        for chunk in chunks(back, 500):
            conn.execute(sa.update(table).where(key_col.in_(list(chunk))).values(deleted_at=None))
        conn.execute(sa.update(store.sync_key_checks).where(store.sync_key_checks.c.stream == stream.state_key)
                     .values(runs_since_check=0, checked_at=now, source_keys=len(source_keys),
                             deleted=len(gone), restored=len(back), note=note, last_run_id=run_id))
    counts.deleted, counts.restored, counts.key_check = len(gone), len(back), note
    log.info("%s %s key check: %d source keys, %d marked deleted, %d restored", PIPELINE, stream.state_key,
             len(source_keys), len(gone), len(back))
    return counts


def _store_resume_signals(conn: sa.Connection, rows: list[dict[str, Any]], now: datetime) -> int:
    latest: dict[str, dict[str, Any]] = {}
    for row in rows:
        previous = latest.get(row["candidate_id"])
        if previous is None or (row.get("last_modified") or now) >= (previous.get("last_modified") or now):
            latest[row["candidate_id"]] = row
    signal_rows = []
    for row in latest.values():
        signals = extract_signals(decode_resume(row.get("content")))
        signal_rows.append({
            "candidate_id": row["candidate_id"], "resume_id": row["resume_id"],
            "years_experience": signals.years_experience, "skills": list(signals.skills),
            "languages": list(signals.languages), "education": signals.education,
            "last_modified": row.get("last_modified"), "loaded_at": now,
        })
    upsert(conn, store.resume_signals, signal_rows, key=["candidate_id"])
    return len(rows)


def quarantine_record_id(stream: str, record_key: str | None) -> str:
    """The record id bound into a sealed ``sync_quarantine.raw`` payload (stream and record key)."""
    return f"{stream}:{record_key or ''}"


def quarantine_rows(
    batch: MappedBatch, mapping: StreamMapping, run_id: str, now: datetime, vault: Vault,
    keys: SourceKeys | None = None,
) -> list[dict[str, Any]]:
    """``sync_quarantine`` rows; raw payloads of candidate data sealed under the candidate's key.

    Rule, field, message and identifiers stay readable (values masked); the full raw record is in
    ``raw["_sealed"]`` (see :func:`read_quarantine`). Streams without a candidate (requisitions)
    keep their raw record as it is. Record keys and subjects are source-qualified like hub keys.
    """
    keys = keys or SourceKeys()
    subject_field = next((r.source for r in mapping.rules if r.target == "candidate_id"), None)
    keep = {mapping.key_rule.source, subject_field, mapping.modified_rule.source if mapping.modified_rule else None}
    rows = []
    for q in batch.quarantined:
        raw = q.raw
        record_key = keys.qualify(q.record_key)
        subject = None if subject_field is None else _text(keys.qualify(_text(q.raw.get(subject_field))))
        if subject_field is not None:
            raw = seal_payload(vault, q.raw, subject_id=subject, table="sync_quarantine",
                               column="raw", record_id=quarantine_record_id(q.stream, record_key), keep=keep)
        rows.append({"run_id": run_id, "stream": q.stream, "record_key": record_key, "rule": q.rule,
                     "field": q.field, "message": mask_pii(q.message), "raw": raw,
                     "subject_id": subject, "created_at": now})
    return rows


def _text(value: Any) -> str | None:
    return None if value in (None, "") else str(value)


def _quarantine(conn: sa.Connection, rows: list[dict[str, Any]]) -> None:
    if not rows:
        return
    conn.execute(sa.insert(store.sync_quarantine), rows)
    for q in rows:
        log.warning("quarantined %s record %s: rule %s on %s", q["stream"], q["record_key"], q["rule"], q["field"])


def read_quarantine(
    engine: Engine, vault: Vault | None = None, *, run_id: str | None = None, decrypt: bool = True,
) -> list[dict[str, Any]]:
    """``sync_quarantine`` rows for HR ops, oldest first; sealed raw payloads decrypted when
    ``decrypt`` (a shredded candidate's stay masked), else shown minimised (masked, no token)."""
    from hrbridge.pipelines.pii import default_vault

    q = store.sync_quarantine
    query = sa.select(q).order_by(q.c.id)
    if run_id:
        query = query.where(q.c.run_id == run_id)
    with engine.connect() as conn:
        rows = [dict(r) for r in conn.execute(query).mappings()]
    vault = vault or (default_vault(engine) if decrypt else None)
    for row in rows:
        if decrypt and vault is not None:
            row["raw"] = open_payload(vault, row["raw"], subject_id=row.get("subject_id"), table="sync_quarantine",
                                      column="raw", record_id=quarantine_record_id(row["stream"], row["record_key"]))
        elif isinstance(row["raw"], Mapping):
            row["raw"] = {k: v for k, v in row["raw"].items() if k != "_sealed"}
    return rows


def chunks(items: Sequence[Any], size: int) -> Iterator[Sequence[Any]]:
    """``items`` in slices of at most ``size``."""
    size = max(1, size)
    for start in range(0, len(items), size):
        yield items[start:start + size]
