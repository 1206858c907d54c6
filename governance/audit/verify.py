"""Recompute the deletion log's hash chain and check every signed run head.

The verifier streams entries in ``seq`` order (server-side cursor, ``yield_per``) and stops at the
first problem, naming the entry and what is wrong: a gap in the sequence (an entry removed), a
``prev_hash`` that does not point at the entry before (entries removed or reordered), a stored
hash that does not match the entry's content (an entry edited), a signed head whose hash differs
from the entry it covers or whose signature does not verify, or entries that no signed head covers.
"""

from __future__ import annotations

import multiprocessing
import os
import time
from dataclasses import asdict, dataclass, field
from typing import Any

import sqlalchemy as sa
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from sqlalchemy.engine import Engine

from governance.audit.chain import GENESIS_HASH, HASHED_FIELDS, NULL_MARK, SEPARATOR, text_hash
from governance.audit.keys import key_id
from governance.audit.log import head_message
from governance.audit.schema import create_audit_tables, deletion_log, deletion_log_heads

STREAM_BATCH = 20_000
PARALLEL_MIN = 100_000


@dataclass
class VerifyReport:
    """Outcome of a verification: ``ok`` or the first bad entry and what is wrong with it."""

    ok: bool = True
    entries: int = 0
    heads: int = 0
    last_seq: int = 0
    first_bad_seq: int | None = None
    problem: str | None = None
    seconds: float = 0.0
    runs: list[str] = field(default_factory=list)

    def fail(self, seq: int | None, problem: str) -> VerifyReport:
        """Record the first problem found and return self."""
        self.ok = False
        self.first_bad_seq = seq
        self.problem = problem
        return self

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready form (``runs`` left out: it can be long)."""
        data = asdict(self)
        data.pop("runs")
        data["seconds"] = round(self.seconds, 3)
        return data


def _check_heads(engine: Engine, public_key: Ed25519PublicKey,
                 report: VerifyReport) -> dict[int, list[tuple[str, str]]] | None:
    expected_key = key_id(public_key)
    by_seq: dict[int, list[tuple[str, str]]] = {}
    with engine.connect() as conn:
        heads = conn.execute(sa.select(deletion_log_heads).order_by(deletion_log_heads.c.id)).all()
    for head in heads:
        report.heads += 1
        message = head_message(head.run_id, head.head_seq, head.head_hash, head.entries, head.signed_at)
        if head.key_id != expected_key:
            report.fail(head.head_seq, f"head of run {head.run_id} at seq {head.head_seq} was signed with "
                        f"key {head.key_id}, not the trusted key {expected_key}")
            return None
        try:
            public_key.verify(bytes.fromhex(head.signature), message)
        except (InvalidSignature, ValueError):
            report.fail(head.head_seq, f"signature of the head of run {head.run_id} at seq "
                        f"{head.head_seq} does not verify (head record altered)")
            return None
        by_seq.setdefault(head.head_seq, []).append((head.run_id, head.head_hash))
        if head.run_id not in report.runs:
            report.runs.append(head.run_id)
    return by_seq


def canonical_expression(dialect: str = "") -> sa.ColumnElement[str]:
    """SQL that rebuilds each entry's canonical text from its stored columns (see :mod:`.chain`).

    On Postgres one ``concat_ws`` call (about 10-15 % less server time than 15 chained ``||``); every
    part is NOT NULL or coalesced, so ``concat_ws`` skipping NULLs never applies.
    """
    parts: list[sa.ColumnElement[str]] = [deletion_log.c.prev_hash]
    for name in HASHED_FIELDS:
        column = deletion_log.c[name]
        text = sa.cast(column, sa.Text) if name == "seq" else column
        if column.nullable:
            text = sa.func.coalesce(text, sa.literal(NULL_MARK, sa.Text))
        parts.append(text)
    separator = sa.literal(SEPARATOR, sa.Text)
    if dialect == "postgresql":
        return sa.func.concat_ws(separator, *parts, type_=sa.Text)
    expression = parts[0]
    for part in parts[1:]:
        expression = expression.concat(separator).concat(part)
    return expression


@dataclass
class _Range:
    """What one worker found in its slice ``lo <= seq < hi`` of the log."""

    lo: int
    first_prev: str | None = None
    last_hash: str | None = None
    last_seq: int = 0
    count: int = 0
    problem: tuple[int, str] | None = None


def _verify_range(engine: Engine, lo: int, hi: int | None, heads: dict[int, list[tuple[str, str]]]) -> _Range:
    """Check sequence, links, hashes and heads inside one slice; the slice's first link is returned."""
    out = _Range(lo=lo)
    # The canonical text starts with the previous hash, so prev_hash is not fetched a second time.
    query = sa.select(deletion_log.c.seq, deletion_log.c.hash, canonical_expression(engine.dialect.name)).where(
        deletion_log.c.seq >= lo).order_by(deletion_log.c.seq)
    if hi is not None:
        query = query.where(deletion_log.c.seq < hi)
    prev: str | None = None
    expected = lo
    with engine.connect() as conn:
        result = conn.execution_options(stream_results=True, yield_per=STREAM_BATCH).execute(query)
        for seq, stored_hash, canonical in result:
            if seq != expected:
                out.problem = (expected, f"entry seq {expected} is missing (the next entry is seq {seq}): "
                               "entries were removed")
                break
            if prev is None:
                out.first_prev = canonical[:64]
                prev = out.first_prev
            if not canonical.startswith(prev + SEPARATOR):
                out.problem = (seq, f"entry seq {seq} does not follow entry seq {seq - 1} (its prev_hash does not "
                               "match): entries were reordered, removed or replaced")
                break
            digest = text_hash(canonical)
            if digest != stored_hash:
                out.problem = (seq, f"entry seq {seq} was altered: its content does not match its stored hash")
                break
            signed = heads.get(seq)
            if signed:
                bad = [run_id for run_id, head_hash in signed if head_hash != digest]
                if bad:
                    out.problem = (seq, f"entry seq {seq} does not match the signed head of run {bad[0]} "
                                   "(the chain was rewritten)")
                    break
            prev = digest
            expected += 1
            out.count += 1
        result.close()
    out.last_hash = prev
    out.last_seq = expected - 1
    return out


def _range_worker(args: tuple[str, int, int | None, dict[int, list[tuple[str, str]]]]) -> _Range:
    from connectors.sql import make_engine

    url, lo, hi, heads = args
    engine = make_engine(url)
    try:
        return _verify_range(engine, lo, hi, heads)
    finally:
        engine.dispose()


def _slices(engine: Engine, workers: int) -> list[tuple[int, int | None]]:
    with engine.connect() as conn:
        top = conn.execute(sa.select(sa.func.max(deletion_log.c.seq))).scalar() or 0
    if workers <= 1 or top < PARALLEL_MIN:
        return [(1, None)]
    step = top // workers + 1
    bounds = [1 + i * step for i in range(workers)]
    return [(lo, bounds[i + 1] if i + 1 < len(bounds) else None) for i, lo in enumerate(bounds)]


def verify_chain(engine: Engine, public_key: Ed25519PublicKey, workers: int | None = None) -> VerifyReport:
    """Verify the whole deletion log on ``engine`` against the trusted ``public_key``.

    Large logs on Postgres are checked in ``workers`` slices of the sequence in parallel processes
    (default 2); each slice is checked whole and the links between slices are checked here, so the
    result is the same as one pass, including which entry is named first.
    """
    started = time.perf_counter()
    create_audit_tables(engine)
    report = VerifyReport()
    heads = _check_heads(engine, public_key, report)
    if heads is None:
        report.seconds = time.perf_counter() - started
        return report
    if workers is None:
        workers = min(2, os.cpu_count() or 1) if engine.dialect.name == "postgresql" else 1
    slices = _slices(engine, workers)
    if len(slices) == 1:
        ranges = [_verify_range(engine, 1, None, heads)]
    else:
        url = engine.url.render_as_string(hide_password=False)
        # "spawn", not "fork": forking a process that runs other threads (Airflow, HTTP servers,
        # connection pools) can copy a held lock into the child and hang it forever.
        with multiprocessing.get_context("spawn").Pool(len(slices)) as pool:
            ranges = pool.map(_range_worker, [(url, lo, hi, heads) for lo, hi in slices])
    prev, last_seq, count = GENESIS_HASH, 0, 0
    problem: tuple[int, str] | None = None
    for part in ranges:
        if part.count and part.first_prev != prev:
            problem = (part.lo, f"entry seq {part.lo} does not follow entry seq {part.lo - 1} (its prev_hash does "
                       "not match): entries were reordered, removed or replaced")
        elif part.problem:
            problem = part.problem
        if problem:
            break
        count += part.count
        if part.count:
            prev, last_seq = part.last_hash or prev, part.last_seq
    report.entries = count
    report.last_seq = last_seq
    if problem:
        report.fail(*problem)
    elif heads and max(heads) > report.last_seq:
        missing = max(heads)
        report.fail(report.last_seq + 1, f"the log ends at seq {report.last_seq} but a signed head covers seq "
                    f"{missing}: entries were removed from the end")
    elif report.last_seq and (not heads or max(heads) < report.last_seq):
        covered = max(heads) if heads else 0
        report.fail(covered + 1, f"entries seq {covered + 1}..{report.last_seq} are not covered by any signed "
                    "head: they were added outside the deletion-log writer")
    report.seconds = time.perf_counter() - started
    return report
