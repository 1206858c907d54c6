"""Plan and run retention: policies and deletion requests minus legal holds, batch by batch.

Work is split into items (one per policy, or per policy and store when rows expire on their own
timestamps, plus one for deletion requests). Each item walks its subjects in key order in
batches; every batch deletes or anonymises set-based, writes its deletion-log entries and moves
its checkpoint in ONE hub transaction (stores in the archive database commit just before). A run
that stops midway is resumed by the next ``run`` with the same run id and cut-off time, from the
checkpoints, so no subject is logged twice. Calls to other systems (key vault, interview
platform, HR system) go through ``pending_actions``: queued in the batch transaction, executed
after it, logged when they succeed, kept pending with the error and retried by later runs when
they fail. :meth:`RetentionExecutor.plan` walks the same code path without writing.
"""

from __future__ import annotations

import json
import logging
import secrets
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import ExitStack
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from governance.audit.chain import LogEntry, compact_json
from governance.audit.log import DeletionLog
from governance.retention.artefacts import ArtefactBackend, ArtefactStoreTable
from governance.retention.binding import bound_requests, refuse_unbound
from governance.retention.config import ARTEFACTS, Policy, RetentionConfig, StoreSpec
from governance.retention.holds import active_holds, forget_released_holds
from governance.retention.protocols import (
    CRYPTO_SYSTEM,
    ERASED,
    ExternalEraser,
    Shredder,
    erased_name,
    shredder_eraser,
)
from governance.retention.schema import (
    create_retention_tables,
    deletion_requests,
    pending_actions,
    purge_checkpoints,
    retention_runs,
    subject_logins,
)
from governance.retention.stores import BoundTable, KeyRange, MissingTableError, Subjects
from transforms.masking import mask_pii

log = logging.getLogger(__name__)
RUN_LOCK = 7412095
SAMPLE = 5
DRAIN_CHUNK = 500
BREAKER = 10  # consecutive failures of one system after which the rest of its queue waits for the next run
BatchHook = Callable[[str, int], None]


class PreparedBatch:
    """A batch whose deletions ran in an open hub transaction, waiting to be logged and committed."""

    def __init__(self, write: Callable[[], None], stack: ExitStack) -> None:
        self._write = write
        self._stack = stack

    def finish(self) -> None:
        """Write the log entries, signed head and checkpoint, commit, and release the connections."""
        with self._stack:
            self._write()

    def discard(self) -> None:
        """Release the connections without committing: the batch's deletions roll back."""
        self._stack.close()


class RetentionBusyError(RuntimeError):
    """Another retention run holds the run lock on this hub database."""


@dataclass
class Bound:
    """A configured store bound to its reflected table."""

    spec: StoreSpec
    table: BoundTable | ArtefactStoreTable


@dataclass
class WorkItem:
    """One unit of retention work, walked in subject order."""

    key: str
    action: str
    categories: tuple[str, ...]
    legal_basis: str
    stores: list[Bound]
    selector: BoundTable | ArtefactStoreTable | None = None
    row_level: bool = False
    retention_days: int | None = None
    policy: Policy | None = None


@dataclass
class ItemCounts:
    """What an item did (or, planned, would do)."""

    key: str
    action: str
    categories: tuple[str, ...]
    legal_basis: str
    subjects: int = 0
    held: int = 0
    records: dict[str, int] = field(default_factory=dict)
    sample_subjects: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {
            "item": self.key, "action": self.action, "categories": list(self.categories),
            "legal_basis": self.legal_basis, "subjects": self.subjects, "held": self.held,
            "records": dict(sorted(self.records.items())), "sample_subjects": self.sample_subjects,
        }


def _add(records: dict[str, int], store: str, count: int) -> None:
    if count:
        records[store] = records.get(store, 0) + count


class RetentionExecutor:
    """Plans and runs retention over the hub and archive databases."""

    def __init__(self, hub: Engine, archive: Engine, config: RetentionConfig, deletion_log: DeletionLog,
                 shredder: Shredder | None = None, erasers: Mapping[str, ExternalEraser] | None = None,
                 artefacts: ArtefactBackend | None = None) -> None:
        """``artefacts``: the installation's artefact store (``store: artefacts`` in the configuration;
        without it that store is reported missing and skipped)."""
        self.hub = hub
        self.artefacts = artefacts
        self.archive = archive
        self.config = config
        self.log = deletion_log
        self.shredder = shredder
        self.erasers = dict(erasers or {})
        if shredder is not None and getattr(shredder, "tombstone", False) is None:
            # The destroyed key's record keeps the deletion log's pseudonym, never the person's id.
            shredder.tombstone = erased_name(deletion_log.pseudonymise)  # type: ignore[attr-defined]
        if shredder is not None and CRYPTO_SYSTEM not in self.erasers:
            self.erasers[CRYPTO_SYSTEM] = shredder_eraser(shredder)
        # Opt-in: on a 2-core machine the second connection and thread measured no faster (see docs).
        self.pipeline = False
        create_retention_tables(hub)

    # ---- binding -------------------------------------------------------------------------------
    def _engine(self, store: str) -> Engine:
        return self.hub if store == "hub" else self.archive

    def _bind(self, spec: StoreSpec, index: int) -> Bound:
        label = f"{self.config.source}: store {spec.key} ({spec.category})"
        if spec.store == ARTEFACTS:
            if self.artefacts is None:
                raise MissingTableError(f"{label}: no artefact store was given to retention")
            return Bound(spec, ArtefactStoreTable(self.artefacts, self.hub, label=label, subject_via=spec.subject_via))
        table = BoundTable(
            self._engine(spec.store), spec.table, spec.subject_column,
            label=label,
            timestamp_column=spec.timestamp_column, columns=spec.columns, blank_values=spec.blank_values,
            row_filter=spec.filter, subject_key=spec.subject_key, subject_via=spec.subject_via,
            subject_match=spec.subject_match,
        )
        return Bound(spec, table)

    def work_items(self) -> list[WorkItem]:
        """Every item of a run, in order: policies as configured, then deletion requests."""
        self.missing_tables: list[str] = []
        bound: dict[int, Bound] = {}
        for i, spec in enumerate(self.config.stores):
            try:
                bound[i] = self._bind(spec, i)
            except MissingTableError as exc:
                self.missing_tables.append(str(exc))
        items: list[WorkItem] = []
        for policy in self.config.policies:
            stores = [b for b in bound.values() if b.spec.category in policy.categories]
            if policy.clock is None:
                for b in stores:
                    items.append(WorkItem(
                        key=f"policy:{policy.name}:{b.spec.key}", action=policy.action,
                        categories=(b.spec.category,), legal_basis=policy.legal_basis, stores=[b],
                        selector=b.table, row_level=True, retention_days=policy.retention_days, policy=policy))
                continue
            clock = policy.clock
            try:
                selector = BoundTable(
                    self._engine(clock.store), clock.table, clock.subject_column,
                    label=f"{self.config.source}: policy {policy.name} clock",
                    timestamp_column=clock.timestamp_column, row_filter=clock.filter, exclude=clock.exclude)
            except MissingTableError as exc:
                self.missing_tables.append(str(exc))
                continue
            items.append(WorkItem(
                key=f"policy:{policy.name}", action=policy.action, categories=policy.categories,
                legal_basis=policy.legal_basis, stores=stores, selector=selector,
                retention_days=policy.retention_days, policy=policy))
        request_stores = [b for b in bound.values() if b.spec.on_request != "keep"]
        items.append(WorkItem(
            key="requests", action="request", categories=tuple(dict.fromkeys(b.spec.category for b in request_stores)),
            legal_basis=self.config.requests.legal_basis, stores=request_stores))
        return items

    # ---- public entry points -------------------------------------------------------------------
    def plan(self, now: datetime | None = None) -> dict[str, Any]:
        """Dry run: what a run now would delete, where and why (subjects pseudonymised)."""
        as_of = now or datetime.now(UTC)
        items = [self._walk(item, "plan", as_of, dry_run=True) for item in self.work_items()]
        with self.hub.connect() as conn:
            pending = dict(conn.execute(
                sa.select(pending_actions.c.system, sa.func.count())
                .where(pending_actions.c.status == "pending").group_by(pending_actions.c.system)).all())
        return self._summary(items, as_of) | {"dry_run": True, "pending_actions": pending}

    def run(self, now: datetime | None = None, on_batch: BatchHook | None = None) -> dict[str, Any]:
        """Execute retention; resumes an unfinished run from its checkpoints.

        On Postgres a session advisory lock keeps a second run (CLI next to Airflow) from
        working the same checkpoints at the same time.
        """
        with ExitStack() as stack:
            if self.hub.dialect.name == "postgresql":
                lock = stack.enter_context(self.hub.connect())
                if not lock.execute(sa.text("SELECT pg_try_advisory_lock(:k)"), {"k": RUN_LOCK}).scalar():
                    raise RetentionBusyError("another retention run is in progress on this hub database")
                lock.commit()
                stack.callback(lambda: (lock.execute(sa.text("SELECT pg_advisory_unlock(:k)"), {"k": RUN_LOCK}),
                                        lock.commit()))
            return self._run(now, on_batch)

    def _run(self, now: datetime | None, on_batch: BatchHook | None) -> dict[str, Any]:
        run_id, as_of, resumed = self._start_run(now or datetime.now(UTC))
        try:
            retried = self._drain(run_id)
            refused = refuse_unbound(self.hub, self.log, run_id)
            items = []
            for item in self.work_items():
                items.append(self._walk(item, run_id, as_of, dry_run=False, on_batch=on_batch))
            external = self._drain(run_id)
            renamed = self._forget_shredded_ids()
        except BaseException as exc:
            self._finish_run(run_id, "failed", mask_pii(f"{type(exc).__name__}: {exc}")[:2000])
            raise
        self._finish_run(run_id, "completed", None)
        summary = self._summary(items, as_of)
        summary.update(run_id=run_id, resumed=resumed, dry_run=False,
                       external={"retried": retried, "this_run": external},
                       log_entries=self._log_entries(run_id), requests_refused=refused,
                       key_records_pseudonymised=renamed)
        return summary

    def _forget_shredded_ids(self) -> int:
        """Destroyed data keys whose record still names the person (shredded before records kept only
        the pseudonym, or by a vault without one) are renamed to ``erased:<pseudonym>``; how many people."""
        from governance.crypto.schema import data_keys

        engine = getattr(self.shredder, "engine", None)
        if engine is None or getattr(self.shredder, "tombstone", None) is None:
            return 0
        if not sa.inspect(engine).has_table(data_keys.name):
            return 0
        with engine.connect() as conn:
            named = conn.execute(sa.select(data_keys.c.subject_id).distinct().where(
                data_keys.c.destroyed_at.is_not(None), ~data_keys.c.subject_id.startswith(ERASED))).scalars().all()
        for subject in named:
            self.shredder.shred(subject)  # type: ignore[union-attr] - no live key left: renames the record only
        return len(named)

    # ---- runs and checkpoints ------------------------------------------------------------------
    def _start_run(self, now: datetime) -> tuple[str, datetime, bool]:
        with self.hub.begin() as conn:
            unfinished = conn.execute(
                sa.select(retention_runs.c.run_id, retention_runs.c.as_of)
                .where(retention_runs.c.status != "completed")
                .order_by(retention_runs.c.started_at.desc()).limit(1)).first()
            if unfinished:
                conn.execute(retention_runs.update().where(retention_runs.c.run_id == unfinished.run_id)
                             .values(status="running", attempts=retention_runs.c.attempts + 1, error=None))
                as_of = unfinished.as_of
                if as_of.tzinfo is None:
                    as_of = as_of.replace(tzinfo=UTC)
                return unfinished.run_id, as_of, True
            run_id = f"ret-{now:%Y%m%dT%H%M%SZ}-{secrets.token_hex(3)}"
            conn.execute(retention_runs.insert().values(
                run_id=run_id, as_of=now, status="running", started_at=datetime.now(UTC), attempts=1))
        return run_id, now, False

    def _finish_run(self, run_id: str, status: str, error: str | None) -> None:
        from governance.audit.schema import deletion_log

        with self.hub.begin() as conn:
            values: dict[str, Any] = {"status": status, "error": error, "finished_at": datetime.now(UTC)}
            if status == "completed":  # the log's head as this run left it, for audit verify's cross-check
                head = conn.execute(sa.select(deletion_log.c.seq, deletion_log.c.hash)
                                    .order_by(deletion_log.c.seq.desc()).limit(1)).first()
                values.update(head_seq=head.seq if head else 0, head_hash=head.hash if head else None)
            conn.execute(retention_runs.update().where(retention_runs.c.run_id == run_id).values(**values))

    def _log_entries(self, run_id: str) -> int:
        from governance.audit.schema import deletion_log

        with self.hub.connect() as conn:
            return int(conn.execute(sa.select(sa.func.count()).where(deletion_log.c.run_id == run_id)).scalar_one())

    def _checkpoint(self, run_id: str, key: str) -> tuple[Any, ItemCounts | None, bool]:
        with self.hub.begin() as conn:
            row = conn.execute(sa.select(purge_checkpoints).where(
                purge_checkpoints.c.run_id == run_id, purge_checkpoints.c.work_key == key)).first()
            if row is None:
                conn.execute(purge_checkpoints.insert().values(
                    run_id=run_id, work_key=key, cursor=None, batches=0, subjects=0, records="{}", held=0,
                    finished=False))
                return None, None, False
        cursor = json.loads(row.cursor) if row.cursor else None
        return cursor, ItemCounts(key, "", (), "", subjects=row.subjects, held=row.held,
                                  records=json.loads(row.records or "{}")), bool(row.finished)

    # ---- walking an item -----------------------------------------------------------------------
    def _walk(self, item: WorkItem, run_id: str, as_of: datetime, dry_run: bool,
              on_batch: BatchHook | None = None) -> ItemCounts:
        counts = ItemCounts(item.key, item.action, item.categories, item.legal_basis)
        cursor: Any = None
        if not dry_run:
            cursor, saved, finished = self._checkpoint(run_id, item.key)
            if saved:
                counts.subjects, counts.held, counts.records = saved.subjects, saved.held, saved.records
            if finished:
                return counts
        cutoff = as_of - timedelta(days=item.retention_days) if item.retention_days is not None else None
        batch_no = 0
        with ExitStack() as stack:
            # Pipelined: batch k is logged and committed on a second connection while batch k+1 is read
            # and deleted, each in its own transaction; commits stay in order and batch k+1 is only
            # logged after batch k committed, so the chain, checkpoints and resumption are unchanged.
            pool = stack.enter_context(ThreadPoolExecutor(1, "retention-log")) if (
                not dry_run and self._can_pipeline(item)) else None
            in_flight: Future[None] | None = None
            prepared: PreparedBatch | None = None
            try:
                while True:
                    batch, new_cursor = self._next_batch(item, cursor, cutoff)
                    if not batch:
                        break
                    prepared = self._apply_batch(item, run_id, batch, cutoff, counts, (cursor, new_cursor), dry_run)
                    cursor = new_cursor
                    batch_no += 1
                    if in_flight is not None:
                        in_flight, done = None, in_flight
                        done.result()
                        if on_batch:
                            on_batch(item.key, batch_no - 1)
                    if prepared is None:
                        continue
                    ready, prepared = prepared, None
                    if pool is not None:
                        in_flight = pool.submit(ready.finish)
                        continue
                    ready.finish()
                    if on_batch:
                        on_batch(item.key, batch_no)
                if in_flight is not None:
                    in_flight, done = None, in_flight
                    done.result()
                    if on_batch:
                        on_batch(item.key, batch_no)
            finally:
                if prepared is not None:
                    prepared.discard()
        if not dry_run:
            with self.hub.begin() as conn:
                conn.execute(purge_checkpoints.update().where(
                    purge_checkpoints.c.run_id == run_id, purge_checkpoints.c.work_key == item.key
                ).values(finished=True))
        return counts

    def _can_pipeline(self, item: WorkItem) -> bool:
        """Overlap batches only on Postgres (SQLite has one writer) and when every store is in the hub
        database, so no other database commits ahead of a batch whose log is still being written."""
        return self.pipeline and self.hub.dialect.name == "postgresql" and all(
            b.table.engine is self.hub and not _outside(b) for b in item.stores)

    def _next_batch(self, item: WorkItem, cursor: Any, cutoff: datetime | None) -> tuple[list[dict[str, Any]], Any]:
        size = self.config.batch_size
        if item.key == "requests":
            with self.hub.connect() as conn:
                query = (sa.select(deletion_requests).where(deletion_requests.c.status == "pending")
                         .order_by(deletion_requests.c.id).limit(size))
                if cursor is not None:
                    query = query.where(deletion_requests.c.id > cursor)
                rows = [dict(r._mapping) for r in conn.execute(query)]
                # A request not bound to its person is never executed (refused at the run's start).
                bound = bound_requests(conn, rows, self.log.keys.pepper)
            return bound, (rows[-1]["id"] if rows else cursor)
        selector = item.selector
        assert selector is not None and cutoff is not None
        with selector.engine.connect() as conn:
            if item.row_level:
                clauses = selector.conditions(cutoff, anonymise=item.action == "anonymise")
                subjects = selector.next_subjects(conn, cursor, size, clauses)
            else:
                subjects = selector.next_clock_subjects(conn, cursor, size, cutoff)
        return [{"subject_id": s} for s in subjects], (subjects[-1] if subjects else cursor)

    def _store_action(self, item: WorkItem, bound: Bound) -> str:
        return bound.spec.on_request if item.key == "requests" else item.action

    def _apply_batch(self, item: WorkItem, run_id: str, batch: list[dict[str, Any]], cutoff: datetime | None,
                     counts: ItemCounts, cursors: tuple[Any, Any], dry_run: bool) -> PreparedBatch | None:
        """Delete or anonymise one batch in its open transaction; the returned batch logs and commits it.

        A plan (``dry_run``) only counts and returns None. Otherwise the hub transaction stays open
        until :meth:`PreparedBatch.finish` writes the log entries, signed head and checkpoint and
        commits, so the deletion and its record land together or not at all.
        """
        is_request = item.key == "requests"
        previous_cursor, new_cursor = cursors
        keys = [str(r["subject_id"]) for r in batch]
        unique = list(dict.fromkeys(keys))

        def scope(subjects: list[str], excluded: tuple[str, ...] = ()) -> Subjects:
            """A row-level batch is every in-scope subject of its key range: scan the range."""
            if item.row_level and not is_request:
                return KeyRange(previous_cursor, new_cursor, excluded)
            return subjects

        row_cutoff = cutoff if item.row_level else None
        in_scope = _request_scope(batch) if is_request else None
        stack = ExitStack()
        try:
            conns: dict[int, Connection] = {}
            hub_conn = stack.enter_context(self.hub.connect())
            conns[id(self.hub)] = hub_conn
            for bound in item.stores:
                engine = bound.table.engine
                if id(engine) not in conns:
                    conns[id(engine)] = stack.enter_context(engine.connect())
            holds = active_holds(hub_conn)
            clauses = {
                id(bound): bound.table.conditions(row_cutoff, anonymise=self._store_action(item, bound) == "anonymise")
                for bound in item.stores
            }
            acting = not dry_run and item.action != "crypto-shred"
            # Counted up front: everything for a plan or a key shred; only the held people when acting,
            # since the DELETE/UPDATE ... RETURNING of the others reports their counts exactly.
            held_here = tuple(k for k in unique if k in holds)
            before = self._counts(item, conns, list(held_here) if acting else scope(unique), clauses, in_scope)
            after: dict[str, dict[str, int]] = {}
            if acting:
                candidates = scope([k for k in unique if k not in holds], held_here)
                # Other databases and the artefact store first, the hub last: its commit carries log and checkpoint.
                for bound in sorted(item.stores, key=lambda b: b.table.engine is self.hub and not _outside(b)):
                    conn = conns[id(bound.table.engine)]
                    apply = bound.table.anonymise if self._store_action(item, bound) == "anonymise" else bound.table.delete
                    targets = in_scope(bound, candidates) if in_scope else candidates
                    if isinstance(targets, list) and not targets:
                        continue
                    for subject, n in apply(conn, targets, clauses[id(bound)]).items():
                        per = before.setdefault(subject, {})
                        per[bound.spec.key] = per.get(bound.spec.key, 0) + n
                    # The statement ran with the scope's own predicate in this transaction, so nothing in
                    # scope is left; after_check re-counts to prove it (about 15 % slower on Postgres).
                    if (self.config.after_check and targets
                            and bound.table.remaining(conn, targets, clauses[id(bound)])):
                        for subject, n in bound.table.counts(conn, targets, clauses[id(bound)]).items():
                            per = after.setdefault(subject, {})
                            per[bound.spec.key] = per.get(bound.spec.key, 0) + n
                for conn in conns.values():
                    if conn is not hub_conn and conn.in_transaction():
                        conn.commit()
                # Rows that appeared in the range since it was read were deleted too: log them as well.
                seen = set(unique)
                for subject in before:
                    if subject not in seen:
                        unique.append(subject)
                        batch.append({"subject_id": subject})
            held = [k for k in unique if k in holds and (is_request or before.get(k))]
            active = [k for k in unique if k not in holds and (is_request or before.get(k))]
            if item.action == "crypto-shred" and self.shredder is not None and hasattr(self.shredder, "is_shredded"):
                active = [k for k in active if not self.shredder.is_shredded(k)]
            counts.held += len([r for r in batch if str(r["subject_id"]) in holds]) if is_request else len(held)
            counts.subjects += len(active) if not is_request else len(
                [r for r in batch if str(r["subject_id"]) not in holds])
            for k in active[: max(0, SAMPLE - len(counts.sample_subjects))]:
                counts.sample_subjects.append(self.log.pseudonymise(k))
            for k in active:
                for store, n in before.get(k, {}).items():
                    _add(counts.records, store, n)
            if dry_run:
                stack.close()
                return None
            if not hub_conn.in_transaction():
                hub_conn.begin()
            # The counts as of this batch: a pipelined walk may count the next batch before this one commits.
            progress = dict(subjects=counts.subjects, held=counts.held,
                            records=json.dumps(counts.records, sort_keys=True))
        except BaseException:
            stack.close()
            raise

        def finish() -> None:
            """Log entries, queued actions, request states, signed head and checkpoint; then commit."""
            entries = self._entries(item, run_id, batch, holds, before, after, set(active))
            self._enqueue(hub_conn, item, run_id, batch, set(active))
            if is_request:
                done = [r["id"] for r in batch if str(r["subject_id"]) not in holds]
                if done:
                    hub_conn.execute(deletion_requests.update().where(deletion_requests.c.id.in_(done)).values(
                        status="done", done_at=datetime.now(UTC), run_id=run_id, subject_id=None))
                    erased = [str(r["subject_id"]) for r in batch  # fully erased: their login mapping goes too
                              if str(r["subject_id"]) not in holds and not r.get("categories")]
                    hub_conn.execute(subject_logins.delete().where(subject_logins.c.subject_id.in_(erased)))
                    forget_released_holds(hub_conn, erased, self.log.pseudonymise)  # released holds: pseudonym only
            self.log.append(hub_conn, run_id, entries)
            hub_conn.execute(purge_checkpoints.update().where(
                purge_checkpoints.c.run_id == run_id, purge_checkpoints.c.work_key == item.key
            ).values(cursor=json.dumps(new_cursor if isinstance(new_cursor, int | str) else str(new_cursor)),
                     batches=purge_checkpoints.c.batches + 1, **progress))
            hub_conn.commit()

        return PreparedBatch(finish, stack)

    def _counts(self, item: WorkItem, conns: Mapping[int, Connection], subjects: Subjects,
                clauses: Mapping[int, list[sa.ColumnElement[bool]]],
                in_scope: Callable[[Bound, Subjects], Subjects] | None = None) -> dict[str, dict[str, int]]:
        """Records in scope per subject and store, for the subjects given."""
        out: dict[str, dict[str, int]] = {}
        if not subjects:
            return out
        for bound in item.stores:
            conn = conns[id(bound.table.engine)]
            here = in_scope(bound, subjects) if in_scope else subjects
            if isinstance(here, list) and not here:
                continue
            for subject, n in bound.table.counts(conn, here, clauses[id(bound)]).items():
                per = out.setdefault(subject, {})
                per[bound.spec.key] = per.get(bound.spec.key, 0) + n
        return out

    def _entries(self, item: WorkItem, run_id: str, batch: list[dict[str, Any]], holds: Mapping[str, int],
                 before: Mapping[str, dict[str, int]], after: Mapping[str, dict[str, int]],
                 active: set[str]) -> list[LogEntry | tuple[LogEntry, str]]:
        entries: list[LogEntry | tuple[LogEntry, str]] = []
        policy_by = f"retention policy {item.policy.name}" if item.policy else ""
        is_request = item.key == "requests"
        categories_text = ",".join(item.categories)
        shapes: dict[tuple[tuple[str, int], ...], tuple[str, str, str]] = {}
        shared: dict[tuple[tuple[str, int], ...], LogEntry] = {}
        pseudonymise = self.log.pseudonymise
        empty: dict[str, int] = {}
        for row in batch:
            subject = str(row["subject_id"])
            held = subject in holds
            if not held and subject not in active:
                continue
            counted = before.get(subject, empty)
            shape = tuple(sorted(counted.items()))
            if not (held or is_request or subject in after):
                # The bulk case: a policy deletion whose entry differs from its neighbours only by person.
                if item.action == "crypto-shred":
                    continue  # logged when the key is destroyed (pending action)
                entry = shared.get(shape)
                if entry is None:
                    stores_text, before_text, zero_text = self._shape_texts(shapes, shape)
                    entry = shared[shape] = LogEntry(
                        requested_by=policy_by, subject_hash="", categories=categories_text, stores=stores_text,
                        legal_basis=item.legal_basis, method=item.action, counts_before=before_text,
                        counts_after=zero_text)
                entries.append((entry, pseudonymise(subject)))
                continue
            if is_request:
                actions = sorted({b.spec.on_request for b in item.stores if counted.get(b.spec.key)}) or ["delete"]
                method = "hold" if held else "+".join(actions)
                requested_by, basis = row["requested_by"], row["legal_basis"]
                requested_at, due_at = _aware(row["requested_at"]), _aware(row["due_at"])
                categories = ",".join(dict.fromkeys(
                    b.spec.category for b in item.stores if counted.get(b.spec.key))) or row.get(
                    "categories") or categories_text
            else:
                if item.action == "crypto-shred" and not held:
                    continue
                method = "hold" if held else item.action
                requested_by, basis, requested_at, due_at = policy_by, item.legal_basis, None, None
                categories = categories_text
            stores_text, before_text, zero_text = self._shape_texts(shapes, shape)
            if held:
                after_text = before_text
            elif subject in after:
                left = after[subject]
                after_text = compact_json({k: left.get(k, 0) for k, _ in shape})
            else:
                after_text = zero_text
            entries.append(LogEntry(
                requested_by=requested_by, subject_hash=pseudonymise(subject), categories=categories,
                stores=stores_text, legal_basis=basis, method=method, counts_before=before_text,
                counts_after=after_text, hold=f"legal hold #{holds[subject]}" if held else None,
                requested_at=requested_at, due_at=due_at))
        return entries

    @staticmethod
    def _shape_texts(cache: dict[tuple[tuple[str, int], ...], tuple[str, str, str]],
                     shape: tuple[tuple[str, int], ...]) -> tuple[str, str, str]:
        """Stores, counts-before and all-zero counts-after texts of one shape of counts (memoised)."""
        texts = cache.get(shape)
        if texts is None:
            texts = cache[shape] = (",".join(k for k, _ in shape), compact_json(dict(shape)),
                                    compact_json({k: 0 for k, _ in shape}))
        return texts

    def _enqueue(self, conn: Connection, item: WorkItem, run_id: str, batch: list[dict[str, Any]],
                 active: set[str]) -> None:
        if item.key == "requests":
            systems = list(self.config.requests.external)
            if self.config.requests.crypto_shred:
                systems.insert(0, CRYPTO_SYSTEM)
            whole = systems
        else:
            systems = self.config.systems_for(item.categories)
            if item.action == "crypto-shred":
                systems.insert(0, CRYPTO_SYSTEM)
        if not systems and item.key != "requests":
            return
        rows = []
        for row in batch:
            subject = str(row["subject_id"])
            if subject not in active and not (item.key == "requests" and subject in active):
                continue
            scoped = row.get("categories") if item.key == "requests" else None
            if item.key == "requests":  # a scoped request asks only the systems holding its categories, no shred
                systems = self.config.systems_for(tuple(scoped.split(","))) if scoped else whole
            for system in systems:
                rows.append(dict(
                    system=system, subject_id=subject, subject_hash=self.log.pseudonymise(subject),
                    categories=scoped or ",".join(item.categories), requested_by=row.get("requested_by") or (
                        f"retention policy {item.policy.name}" if item.policy else "retention"),
                    legal_basis=row.get("legal_basis") or item.legal_basis, requested_at=row.get("requested_at"),
                    due_at=row.get("due_at"), created_run=run_id, status="pending", attempts=0))
        if rows:
            conn.execute(pending_actions.insert(), rows)

    # ---- other systems -------------------------------------------------------------------------
    def _drain(self, run_id: str) -> dict[str, int]:
        """Execute pending external deletions not yet tried in this run; returns done/failed/held/deferred.

        A system that fails :data:`BREAKER` times in a row is not called again in this pass: its
        remaining actions stay pending (``deferred``) instead of each waiting out its own retries.
        """
        result = {"done": 0, "failed": 0, "held": 0, "deferred": 0}
        streak: dict[str, int] = {}
        last_id = 0
        while True:
            with self.hub.connect() as conn:
                rows = conn.execute(
                    sa.select(pending_actions)
                    .where(pending_actions.c.status == "pending", pending_actions.c.id > last_id,
                           sa.or_(pending_actions.c.last_run.is_(None), pending_actions.c.last_run != run_id))
                    .order_by(pending_actions.c.id).limit(DRAIN_CHUNK)).all()
                holds = active_holds(conn)
            if not rows:
                return result
            last_id = rows[-1].id
            done: list[tuple[Any, int]] = []
            failed: list[tuple[Any, str]] = []
            for row in rows:
                if row.subject_id in holds:
                    result["held"] += 1
                    continue
                if streak.get(row.system, 0) >= BREAKER:
                    result["deferred"] += 1
                    continue
                eraser = self.erasers.get(row.system)
                if eraser is None:
                    failed.append((row, f"no connection configured for system {row.system!r}"))
                    streak[row.system] = streak.get(row.system, 0) + 1
                    continue
                try:
                    deleted = eraser(row.subject_id)
                except Exception as exc:  # noqa: BLE001 - any failure keeps the action pending
                    failed.append((row, mask_pii(f"{type(exc).__name__}: {exc}")[:1000]))
                    streak[row.system] = streak.get(row.system, 0) + 1
                    continue
                streak[row.system] = 0
                done.append((row, 1 if deleted is None else int(deleted)))
            now = datetime.now(UTC)
            with self.hub.begin() as conn:
                for row, error in failed:
                    conn.execute(pending_actions.update().where(pending_actions.c.id == row.id).values(
                        attempts=pending_actions.c.attempts + 1, last_error=error, last_run=run_id))
                    log.warning("external deletion %s for %s failed (attempt %d): %s", row.system,
                                row.subject_hash[:12], row.attempts + 1, error)
                if done:
                    conn.execute(pending_actions.update().where(pending_actions.c.id.in_([r.id for r, _ in done]))
                                 .values(status="done", done_at=now, subject_id=None, last_run=run_id,
                                         attempts=pending_actions.c.attempts + 1, last_error=None))
                    self.log.append(conn, run_id, [LogEntry(
                        requested_by=r.requested_by, subject_hash=r.subject_hash,
                        categories=r.categories.split(",") if r.categories else [], stores=[r.system],
                        legal_basis=r.legal_basis,
                        method="crypto-shred" if r.system == CRYPTO_SYSTEM else "external request",
                        counts_before={r.system: n}, counts_after={r.system: 0},
                        requested_at=_aware(r.requested_at), due_at=_aware(r.due_at), done_at=now) for r, n in done])
            result["done"] += len(done)
            result["failed"] += len(failed)

    # ---- summaries -----------------------------------------------------------------------------
    def _summary(self, items: Sequence[ItemCounts], as_of: datetime) -> dict[str, Any]:
        records: dict[str, int] = {}
        for item in items:
            for store, n in item.records.items():
                _add(records, store, n)
        with self.hub.connect() as conn:
            pending = conn.execute(sa.select(deletion_requests.c.due_at)
                                   .where(deletion_requests.c.status == "pending")).scalars().all()
        now = datetime.now(UTC)
        return {
            "as_of": as_of.isoformat(),
            "requests_pending": {"total": len(pending),
                                 "overdue": sum(1 for due in pending if _aware(due) and _aware(due) < now)},
            "missing_tables": list(getattr(self, "missing_tables", [])),
            "items": [i.as_dict() for i in items],
            "totals": {"subjects": sum(i.subjects for i in items), "held": sum(i.held for i in items),
                       "records": sum(records.values()), "records_by_store": dict(sorted(records.items()))},
        }


def _outside(bound: Bound) -> bool:
    """A store that deletes outside the hub transaction (the artefact store)."""
    return getattr(bound.table, "outside_transaction", False)


def _aware(moment: datetime | None) -> datetime | None:
    if moment is not None and moment.tzinfo is None:
        return moment.replace(tzinfo=UTC)
    return moment


def _request_scope(batch: list[dict[str, Any]]) -> Callable[[Bound, Subjects], Subjects] | None:
    """For a batch of deletion requests with scoped ones among them: a filter of subjects per store.

    A scoped request (``categories`` set, e.g. a withdrawn video consent) reaches only the stores of
    its categories; a whole request of the same person in the batch reaches every store. None when
    no request of the batch is scoped.
    """
    wanted: dict[str, frozenset[str] | None] = {}
    for row in batch:
        subject, text = str(row["subject_id"]), row.get("categories")
        if subject in wanted and wanted[subject] is None:
            continue
        if not text:
            wanted[subject] = None
        else:
            wanted[subject] = (wanted.get(subject) or frozenset()) | {c.strip() for c in text.split(",") if c.strip()}
    if all(scope is None for scope in wanted.values()):
        return None

    def in_scope(bound: Bound, subjects: Subjects) -> Subjects:
        if not isinstance(subjects, list):
            return subjects
        return [s for s in subjects if wanted.get(s) is None or bound.spec.category in (wanted[s] or ())]

    return in_scope
