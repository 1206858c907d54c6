"""Reconcile a migration: the cleaned source against the target table, over every row.

Both sides are reduced identically, chunk by chunk, so no side is ever held whole:

* every value is normalised (dates as days, timestamps as seconds, numbers as float64, text as
  its UTF-8 bytes; null and empty text are one "absent" value) and hashed to 64 bits with
  vectorised numpy (no per-row Python);
* each row gets a 64-bit hash folding its column hashes, each primary key the hash of the key;
* per column: non-null count, and min / max / sum for numbers and dates (dates summed as days).

Memory stays flat with the row count: the expected side (key hash, row hash, source row) is
spilled to disk in key-hash partitions as batches are cleaned; the target is streamed once in
chunks and spilled to the same partitions; then each partition pair is joined in memory (an
external hash join, about rows / 64 rows at a time). Integrity ratio = rows whose hash matches /
expected rows, gated by ``threshold``.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from validation.spill import DEFAULT_PARTITIONS, PartitionSpill

DEFAULT_THRESHOLD = 0.999
SAMPLE_LIMIT = 20
_DATE_TYPES = {"date"}
_DATETIME_TYPES = {"datetime", "timestamp"}
_NUMBER_TYPES = {"number"}
_NULL_HASH = np.uint64(0x5BD1E9955BD1E995)
_GOLDEN = np.uint64(0x9E3779B97F4A7C15)
_PRIME = 0x100000001B3
_COPY_BLOCK = 2 << 20  # bytes of CSV per streamed chunk (~12,000 target rows; bounds the reader's buffers)
_POWERS: list[np.ndarray] = [np.ones(1, np.uint64), np.ones(1, np.uint64)]


def _mix(x: np.ndarray) -> np.ndarray:
    """splitmix64 finaliser: spreads every input bit over the 64-bit result (vectorised)."""
    x = x ^ (x >> np.uint64(30))
    x = x * np.uint64(0xBF58476D1CE4E5B9)
    x = x ^ (x >> np.uint64(27))
    x = x * np.uint64(0x94D049BB133111EB)
    return x ^ (x >> np.uint64(31))


def _power_tables(size: int) -> tuple[np.ndarray, np.ndarray]:
    """P**i and P**-i modulo 2**64 (P odd, so invertible), grown on demand and reused."""
    if len(_POWERS[0]) < size:
        size = max(size, 2 * len(_POWERS[0]))
        inverse = pow(_PRIME, -1, 2**64)
        _POWERS[0] = np.concatenate([[np.uint64(1)], np.cumprod(np.full(size - 1, _PRIME, dtype=np.uint64))])
        _POWERS[1] = np.concatenate([[np.uint64(1)], np.cumprod(np.full(size - 1, inverse, dtype=np.uint64))])
    return _POWERS[0], _POWERS[1]


def _one_array(array: Any) -> pa.Array:
    """A contiguous array: pandas columns backed by Arrow come back chunked (or with no chunks at
    all when empty, e.g. a header-only CSV), and only a plain array exposes its buffers."""
    if isinstance(array, pa.ChunkedArray):
        return array.combine_chunks() if array.num_chunks else pa.array([], type=array.type)
    return array


def hash_strings(values: Any) -> np.ndarray:
    """64-bit hashes of text values, vectorised over the UTF-8 bytes (null and "" hash alike).

    A polynomial hash of each string's bytes modulo 2**64 (computed over the whole buffer and
    shifted back to each string's start with inverse powers), finalised with splitmix64.
    """
    array = _one_array(pa.array(values, from_pandas=True))
    if not (pa.types.is_string(array.type) or pa.types.is_large_string(array.type)):
        array = _one_array(pa.array(pd.Series(values).astype("str"), from_pandas=True))
    array = array.cast(pa.large_string())
    size = len(array)
    buffers = array.buffers()
    offsets = np.frombuffer(buffers[1], dtype=np.int64)[array.offset: array.offset + size + 1]
    base, end = int(offsets[0]) if size else 0, int(offsets[-1]) if size else 0
    data = (np.frombuffer(buffers[2], dtype=np.uint8)[base:end] if buffers[2] is not None and end > base
            else np.zeros(0, np.uint8))
    starts, lengths = offsets[:-1] - base, np.diff(offsets)
    out = np.zeros(size, dtype=np.uint64)
    if len(data):
        powers, inverses = _power_tables(len(data))
        contrib = (data + np.uint64(1)) * powers[: len(data)]
        nonempty = lengths > 0
        out[nonempty] = np.add.reduceat(contrib, starts[nonempty]) * inverses[starts[nonempty]]
    out = _mix(out ^ (lengths.astype(np.uint64) * _GOLDEN))
    out[~np.asarray(array.is_valid()) | (lengths == 0)] = _NULL_HASH
    return out


@dataclass
class Column:
    """One normalised column: per-row hash, presence, and numeric values for aggregates."""

    hashes: np.ndarray
    present: np.ndarray
    numbers: np.ndarray | None = None

    def take(self, mask: np.ndarray) -> Column:
        """The rows selected by a boolean mask."""
        return Column(self.hashes[mask], self.present[mask], None if self.numbers is None else self.numbers[mask])


def normalise_column(values: pd.Series, kind: str) -> Column:
    """Reduce a column to comparable form: the same value gives the same hash on either side.

    Dates compare as days, timestamps as seconds, numbers as float64 (-0.0 = 0.0), text as its
    UTF-8 bytes; null and empty text are the same "absent" value.
    """
    if kind in _DATE_TYPES or kind in _DATETIME_TYPES:
        parsed = pd.to_datetime(values, errors="coerce")
        unit = "datetime64[D]" if kind in _DATE_TYPES else "datetime64[s]"
        present = parsed.notna().to_numpy()
        numbers = parsed.to_numpy(dtype="datetime64[us]").astype(unit).astype(np.int64)
        numbers[~present] = 0
        hashes = _mix(numbers.view(np.uint64) ^ (_GOLDEN if kind in _DATE_TYPES else ~_GOLDEN))
    elif kind in _NUMBER_TYPES:
        numbers = pd.to_numeric(values, errors="coerce").to_numpy(dtype="float64", na_value=np.nan) + 0.0
        present = ~np.isnan(numbers)
        hashes = _mix(np.where(present, numbers, 0.0).view(np.uint64) ^ np.uint64(0x27D4EB2F165667C5))
    else:
        hashes = hash_strings(values)
        return Column(hashes, hashes != _NULL_HASH)
    hashes[~present] = _NULL_HASH
    return Column(hashes, present, numbers)


@dataclass
class Normalised:
    """A normalised chunk: one :class:`Column` per target column, in target order."""

    columns: dict[str, Column]
    rows: int

    def take(self, mask: np.ndarray) -> Normalised:
        """The rows selected by a boolean mask."""
        return Normalised({n: c.take(mask) for n, c in self.columns.items()}, int(np.count_nonzero(mask)))


def normalise_frame(frame: pd.DataFrame, columns: Mapping[str, str]) -> Normalised:
    """Every target column normalised (a column missing from ``frame`` is all absent)."""
    out = {}
    for name, kind in columns.items():
        values = frame[name] if name in frame else pd.Series([None] * len(frame), dtype=object)
        out[name] = normalise_column(values.reset_index(drop=True), kind)
    return Normalised(out, len(frame))


def hash_rows(normalised: Normalised, key: str) -> tuple[np.ndarray, np.ndarray]:
    """(key hashes, row hashes) as uint64 arrays: the row hash folds every column in order."""
    row = np.zeros(normalised.rows, dtype=np.uint64)
    for index, column in enumerate(normalised.columns.values()):
        row = _mix(row ^ column.hashes ^ np.uint64((index + 1) * 0x9E3779B97F4A7C15 % 2**64))
    return normalised.columns[key].hashes.copy(), row


@dataclass
class Profile:
    """Per-column completeness and aggregates, accumulated chunk by chunk."""

    columns: dict[str, str]
    rows: int = 0
    stats: dict[str, dict[str, Any]] = field(default_factory=dict)

    def add(self, normalised: Normalised) -> None:
        """Fold a normalised chunk into the profile."""
        self.rows += normalised.rows
        for name, kind in self.columns.items():
            column = normalised.columns[name]
            entry = self.stats.setdefault(name, {"non_null": 0})
            count = int(np.count_nonzero(column.present))
            entry["non_null"] += count
            if not count or column.numbers is None:
                continue
            values = column.numbers[column.present]
            if kind in _NUMBER_TYPES:
                self._fold(entry, float(values.min()), float(values.max()), float(values.sum()))
            else:
                unit = "D" if kind in _DATE_TYPES else "s"
                days = values if unit == "D" else values // 86_400
                self._fold(entry, str(np.datetime64(int(values.min()), unit)),
                           str(np.datetime64(int(values.max()), unit)), int(days.sum()))

    @staticmethod
    def _fold(entry: dict[str, Any], low: Any, high: Any, total: Any) -> None:
        entry["min"] = low if entry.get("min") is None else min(entry["min"], low)
        entry["max"] = high if entry.get("max") is None else max(entry["max"], high)
        entry["sum"] = total + entry.get("sum", 0)

    def completeness(self) -> dict[str, float]:
        """Share of non-null values per column."""
        return {name: (self.stats.get(name, {}).get("non_null", 0) / self.rows if self.rows else 1.0)
                for name in self.columns}

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {"columns": self.columns, "rows": self.rows, "stats": self.stats}


def row_state(normalised: Normalised, key: str, source_rows: np.ndarray) -> dict[str, np.ndarray]:
    """What verification keeps of each expected row: key and row hash, source row, and per column
    its presence and (numbers, dates) value, so the expected profile can be computed after
    later batches displaced some rows. Arrays by name, ready for a checkpoint."""
    key_hash, row_hash = hash_rows(normalised, key)
    state = {"key_hash": key_hash, "row_hash": row_hash, "source_row": np.asarray(source_rows, dtype=np.int64)}
    for name, column in normalised.columns.items():
        state[f"p:{name}"] = column.present
        if column.numbers is not None:
            state[f"n:{name}"] = column.numbers
    return state


def _side_schema(columns: Mapping[str, str], head: list[tuple[str, Any]]) -> pa.Schema:
    """``head`` fields, then per column its presence and (numbers, dates) its value."""
    fields = [("key_hash", pa.uint64()), ("row_hash", pa.uint64()), *head]
    for name, kind in columns.items():
        fields.append((f"p:{name}", pa.bool_()))
        if kind in _NUMBER_TYPES:
            fields.append((f"n:{name}", pa.float64()))
        elif kind in _DATE_TYPES or kind in _DATETIME_TYPES:
            fields.append((f"n:{name}", pa.int64()))
    return pa.schema(fields)


class Expected:
    """The cleaned source reduced to one :func:`row_state` per row, spilled to disk.

    Rows go to partition files by key hash (:class:`validation.spill.PartitionSpill`), so holding
    the expected side of a migration costs a few open files, not tens of bytes a row of memory.
    Rows a later batch displaced (its duplicate survived instead) are remembered by source row
    and left out of the comparison. ``spill_dir`` is where the files live (default: the system
    temporary directory).
    """

    def __init__(self, columns: Mapping[str, str], key: str, spill_dir: str | Path | None = None,
                 partitions: int = DEFAULT_PARTITIONS) -> None:
        self.columns = dict(columns)
        self.key = key
        self.spill_dir = spill_dir
        self.schema = _side_schema(self.columns, [("source_row", pa.int64())])
        self.spill = PartitionSpill(self.schema, "key_hash", partitions, spill_dir, prefix="expected")
        self._dropped: list[np.ndarray] = []

    def add(self, frame: pd.DataFrame, source_rows: np.ndarray) -> None:
        """Add the cleaned, deduplicated rows of one batch (``source_rows`` = their positions)."""
        self.add_state(row_state(normalise_frame(frame, self.columns), self.key, source_rows))

    def add_state(self, state: Mapping[str, np.ndarray]) -> None:
        """Add rows given as :func:`row_state` arrays (e.g. restored from a batch checkpoint)."""
        self.spill.write(pa.table({name: state[name] for name in self.schema.names}, schema=self.schema))

    def drop(self, source_rows: np.ndarray) -> None:
        """Leave these (already added) rows out: a later duplicate displaced them."""
        if len(source_rows):
            self._dropped.append(np.asarray(source_rows, dtype=np.int64))

    def dropped(self) -> np.ndarray:
        """Sorted source rows left out."""
        return np.sort(np.concatenate(self._dropped)) if self._dropped else np.zeros(0, np.int64)

    @property
    def rows(self) -> int:
        """Expected row count."""
        return self.spill.rows - int(sum(len(d) for d in self._dropped))

    def close(self) -> None:
        """Delete the spill files."""
        self.spill.close()


@dataclass
class ReconcileResult:
    """The outcome of a reconciliation (all counts over every row)."""

    expected_rows: int
    target_rows: int
    verified_rows: int
    mismatched_rows: int
    missing_rows: int
    extra_target_rows: int
    threshold: float
    expected_profile: Profile
    target_profile: Profile
    mismatched_keys: list[str] = field(default_factory=list)
    missing_source_rows: list[int] = field(default_factory=list)

    @property
    def integrity_ratio(self) -> float:
        """Matching rows / expected rows (1.0 for an empty source)."""
        return self.verified_rows / self.expected_rows if self.expected_rows else 1.0

    @property
    def passed(self) -> bool:
        """True when the ratio reaches the threshold."""
        return self.integrity_ratio >= self.threshold

    def column_checks(self) -> dict[str, dict[str, Any]]:
        """Per column: completeness and aggregates on both sides, and whether they agree."""
        out = {}
        expected, target = self.expected_profile, self.target_profile
        for name in expected.columns:
            mine, theirs = expected.stats.get(name, {"non_null": 0}), target.stats.get(name, {"non_null": 0})
            agree = mine.get("non_null") == theirs.get("non_null") and all(
                _close(mine.get(k), theirs.get(k)) for k in ("min", "max", "sum"))
            out[name] = {"expected": mine, "target": theirs, "match": agree,
                         "completeness_expected": expected.completeness()[name],
                         "completeness_target": target.completeness()[name]}
        return out

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready summary."""
        return {"expected_rows": self.expected_rows, "target_rows": self.target_rows,
                "verified_rows": self.verified_rows, "mismatched_rows": self.mismatched_rows,
                "missing_rows": self.missing_rows, "extra_target_rows": self.extra_target_rows,
                "integrity_ratio": self.integrity_ratio, "threshold": self.threshold, "passed": self.passed,
                "mismatched_keys_sample": self.mismatched_keys, "missing_source_rows_sample": self.missing_source_rows,
                "columns": self.column_checks()}


def _close(a: Any, b: Any) -> bool:
    if isinstance(a, float) or isinstance(b, float):
        return a is not None and b is not None and math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-6)
    return a == b


def stream_table(engine: Engine, table: str, columns: Mapping[str, str], key: str,
                 chunk_rows: int = 100_000) -> Iterator[pd.DataFrame]:
    """The target table, ``chunk_rows`` at a time, never whole (rows are matched by key hash,
    so no ordering is needed and the database does not sort millions of rows).

    Postgres streams ``COPY (SELECT …) TO STDOUT`` through Arrow's CSV reader; other databases
    use a server-side cursor.
    """
    if engine.dialect.name == "postgresql":
        yield from _stream_postgres(engine, table, columns, key)
        return
    target = sa.Table(table, sa.MetaData(), autoload_with=engine)
    cols = [target.c[name] for name in columns]
    query = sa.select(*cols)
    with engine.connect() as conn:
        result = conn.execution_options(stream_results=True, yield_per=chunk_rows).execute(query)
        for part in result.partitions():
            yield pd.DataFrame([tuple(row) for row in part], columns=list(columns), dtype=object)


def _copy_blocks(pgconn: Any, size: int) -> Iterator[bytes]:
    """The rows of a running ``COPY … TO STDOUT``, joined into blocks of about ``size`` bytes.

    Rows come straight from libpq (``pgconn.get_copy_data``; psycopg documents ``pgconn`` as its
    low-level escape hatch): one C call a row, where ``Copy.read()`` ran a generator and a wait
    loop a row and was the largest cost of verification. Each CopyData message is one whole row,
    so a block always ends at a row boundary (even when a quoted field holds a newline).
    """
    parts: list[Any] = []
    total = 0
    while True:
        nbytes, data = pgconn.get_copy_data(0)  # blocks until a row, the end (-1) or an error (-2)
        if nbytes > 0:
            parts.append(data)
            total += nbytes
            if total >= size:
                yield b"".join(parts)
                parts, total = [], 0
        elif nbytes == -1:
            break
        else:
            raise RuntimeError(f"reading the target table failed: {_pq_error(pgconn)}")
    if parts:
        yield b"".join(parts)


def _pq_error(pgconn: Any) -> str:
    return str(pgconn.get_error_message()).strip() or "connection lost"


def _arrow_type(kind: str) -> Any:
    if kind in _DATE_TYPES:
        return pa.date32()
    if kind in _DATETIME_TYPES:
        return pa.timestamp("us")
    if kind in _NUMBER_TYPES:
        return pa.float64()
    return pa.large_string()


def _stream_postgres(engine: Engine, table: str, columns: Mapping[str, str], key: str) -> Iterator[pd.DataFrame]:
    import pyarrow.csv as pacsv
    from psycopg import pq

    quote = engine.dialect.identifier_preparer.quote
    for name in (table, key, *columns):
        if not name.replace("_", "").isalnum():
            raise ValueError(f"invalid identifier {name!r}")
    cols = ", ".join(quote(c) for c in columns)
    sql = f"COPY (SELECT {cols} FROM {quote(table)}) TO STDOUT (FORMAT csv)"  # noqa: S608
    read_options = pacsv.ReadOptions(column_names=list(columns), use_threads=False, block_size=2 * _COPY_BLOCK)
    convert_options = pacsv.ConvertOptions(column_types={c: _arrow_type(k) for c, k in columns.items()},
                                           strings_can_be_null=True, quoted_strings_can_be_null=False)
    raw = engine.raw_connection()
    finished = False
    try:
        pgconn = raw.driver_connection.pgconn
        pgconn.send_query(sql.encode())
        started = pgconn.get_result()
        if started is None or started.status != pq.ExecStatus.COPY_OUT:
            raise RuntimeError(f"reading the target table failed: {_pq_error(pgconn)}")
        for block in _copy_blocks(pgconn, _COPY_BLOCK):
            parsed = pacsv.read_csv(pa.py_buffer(block), read_options=read_options, convert_options=convert_options)
            yield parsed.to_pandas(date_as_object=False)
        while (result := pgconn.get_result()) is not None:  # the COPY's final status
            if result.status != pq.ExecStatus.COMMAND_OK:
                raise RuntimeError(f"reading the target table failed: {_pq_error(pgconn)}")
        finished = True
    finally:
        if finished:
            raw.close()
        else:  # a COPY left half-read cannot be reused: close the connection instead of pooling it
            raw.invalidate()


def _target_table(chunk: pd.DataFrame, normalised: Normalised, key: str, first: int, schema: pa.Schema) -> pa.Table:
    state: dict[str, Any] = row_state(normalised, key, np.zeros(0, np.int64))
    del state["source_row"]
    state["ordinal"] = np.arange(first, first + len(chunk), dtype=np.int64)
    state["key"] = pa.array(chunk[key].astype("str"), type=pa.large_string(), from_pandas=True)
    return pa.table({name: state[name] for name in schema.names}, schema=schema)


def _normalised_from(table: pa.Table, columns: Mapping[str, str]) -> Normalised:
    """The profile's view of spilled rows (presence and numbers; hashes are not needed)."""
    out = {}
    for name in columns:
        numbers = f"n:{name}"
        out[name] = Column(np.zeros(0, np.uint64), table.column(f"p:{name}").to_numpy(zero_copy_only=False),
                           table.column(numbers).to_numpy() if numbers in table.column_names else None)
    return Normalised(out, table.num_rows)


def reconcile(expected: Expected, engine: Engine, table: str, threshold: float = DEFAULT_THRESHOLD,
              chunk_rows: int = 100_000) -> ReconcileResult:
    """Compare ``expected`` against every row of ``table``; see the module docstring.

    An external hash join: the target is streamed once and its row states spilled to the same
    key-hash partitions as the expected side; then each partition pair is joined in memory.
    """
    schema = _side_schema(expected.columns, [("ordinal", pa.int64()), ("key", pa.large_string())])
    target = PartitionSpill(schema, "key_hash", expected.spill.partitions, expected.spill_dir, prefix="target")
    try:
        total, pending = 0, []
        for chunk in stream_table(engine, table, expected.columns, expected.key, chunk_rows):
            normalised = normalise_frame(chunk, expected.columns)
            pending.append(_target_table(chunk, normalised, expected.key, total, schema))
            total += len(chunk)
            if total - pending[0].column("ordinal")[0].as_py() >= chunk_rows:  # few, larger spill writes
                target.write(pa.concat_tables(pending))
                pending.clear()
        if pending:
            target.write(pa.concat_tables(pending))
        return _join_partitions(expected, target, total, threshold)
    finally:
        target.close()


def _join_partitions(expected: Expected, target: PartitionSpill, total: int, threshold: float) -> ReconcileResult:
    expected_profile, target_profile = Profile(dict(expected.columns)), Profile(dict(expected.columns))
    dropped = expected.dropped()
    expected_rows = verified = mismatched = extra = missing = 0
    mismatched_keys: list[tuple[int, str]] = []
    missing_rows: list[int] = []
    for part in range(target.partitions):
        mine = expected.spill.read(part)
        if len(dropped):
            mine = mine.filter(pa.array(~np.isin(mine.column("source_row").to_numpy(), dropped)))
        expected_profile.add(_normalised_from(mine, expected.columns))
        keys = mine.column("key_hash").to_numpy()
        order = np.argsort(keys, kind="stable")
        keys, hashes = keys[order], mine.column("row_hash").to_numpy()[order]
        rows = mine.column("source_row").to_numpy()[order]
        expected_rows += len(keys)
        theirs = target.read(part)
        key_hash, row_hash = theirs.column("key_hash").to_numpy(), theirs.column("row_hash").to_numpy()
        seen = np.zeros(len(keys), dtype=bool)
        if len(keys):
            position = np.minimum(np.searchsorted(keys, key_hash), len(keys) - 1)
            found = keys[position] == key_hash
            equal = found & (hashes[position] == row_hash)
            seen[position[found]] = True
        else:
            found = equal = np.zeros(len(key_hash), dtype=bool)
        differ = found & ~equal
        verified += int(equal.sum())
        mismatched += int(differ.sum())
        extra += int((~found).sum())
        missing += int((~seen).sum())
        if differ.any():  # the first keys in target order, across partitions
            picked = theirs.filter(pa.array(differ))
            mismatched_keys = sorted(mismatched_keys + list(zip(picked.column("ordinal").to_pylist(),
                                                               picked.column("key").to_pylist(), strict=True)))
            mismatched_keys = mismatched_keys[:SAMPLE_LIMIT]
        missing_rows = sorted(missing_rows + np.sort(rows[~seen])[:SAMPLE_LIMIT].tolist())[:SAMPLE_LIMIT]
        target_profile.add(_normalised_from(theirs.filter(pa.array(found)), expected.columns))
    return ReconcileResult(
        expected_rows=expected_rows, target_rows=total, verified_rows=verified, mismatched_rows=mismatched,
        missing_rows=missing, extra_target_rows=extra, threshold=threshold,
        expected_profile=expected_profile, target_profile=target_profile,
        mismatched_keys=[key for _, key in mismatched_keys], missing_source_rows=[int(r) for r in missing_rows])
