"""Reconcile a migration: the cleaned source against the target table, over every row.

Both sides are reduced identically, chunk by chunk, so no side is ever held whole:

* every value is normalised to text (dates ``YYYY-MM-DD``, timestamps ``YYYY-MM-DDTHH:MM:SS``,
  numbers as the shortest float repr, null and empty text as one null marker);
* each row gets a 64-bit hash of its normalised values (pandas' vectorised
  ``hash_pandas_object``), and each primary key a 64-bit hash of the key alone;
* per column: non-null count, and min / max / sum for numbers and dates (dates summed as days).

The expected side keeps three integer arrays (key hash, row hash, source row: 24 bytes a row);
the target is streamed in key-ordered chunks on a server-side cursor and looked up by binary
search. Integrity ratio = rows whose hash matches / expected rows, gated by ``threshold``.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
import sqlalchemy as sa
from sqlalchemy.engine import Engine

NULL = "\x00"
DEFAULT_THRESHOLD = 0.999
SAMPLE_LIMIT = 20
_DATE_TYPES = {"date"}
_DATETIME_TYPES = {"datetime", "timestamp"}
_NUMBER_TYPES = {"number"}


def normalise_column(values: pd.Series, kind: str) -> pd.Series:
    """One column as comparable text: the same value gives the same text on either side."""
    if kind in _DATE_TYPES or kind in _DATETIME_TYPES:
        parsed = pd.to_datetime(values, errors="coerce")
        text = parsed.dt.strftime("%Y-%m-%d" if kind in _DATE_TYPES else "%Y-%m-%dT%H:%M:%S")
    elif kind in _NUMBER_TYPES:
        numbers = pd.to_numeric(values, errors="coerce").astype("float64")
        text = numbers.astype("string").where(numbers.notna(), None)
    else:
        text = values.astype("string")
    text = text.astype("string")
    return text.where(text.notna() & (text != ""), NULL).astype("string")


def normalise_frame(frame: pd.DataFrame, columns: Mapping[str, str]) -> pd.DataFrame:
    """Every target column normalised (a column missing from ``frame`` is all null)."""
    out = {}
    for name, kind in columns.items():
        values = frame[name] if name in frame else pd.Series([None] * len(frame), index=frame.index, dtype=object)
        out[name] = normalise_column(values.reset_index(drop=True), kind)
    return pd.DataFrame(out)


def hash_rows(normalised: pd.DataFrame, key: str) -> tuple[np.ndarray, np.ndarray]:
    """(key hashes, row hashes) as uint64 arrays for a normalised frame."""
    if not len(normalised):
        empty = np.array([], dtype=np.uint64)
        return empty, empty
    key_hash = pd.util.hash_pandas_object(normalised[key], index=False).to_numpy(np.uint64)
    row_hash = pd.util.hash_pandas_object(normalised, index=False).to_numpy(np.uint64)
    return key_hash, row_hash


@dataclass
class Profile:
    """Per-column completeness and aggregates, mergeable across chunks and batches."""

    columns: dict[str, str]
    rows: int = 0
    stats: dict[str, dict[str, Any]] = field(default_factory=dict)

    def add(self, normalised: pd.DataFrame) -> None:
        """Fold a normalised chunk into the profile."""
        self.rows += len(normalised)
        for name, kind in self.columns.items():
            column = normalised[name]
            present = column[column != NULL]
            entry = self.stats.setdefault(name, {"non_null": 0})
            entry["non_null"] += int(len(present))
            if not len(present):
                continue
            if kind in _NUMBER_TYPES:
                numbers = present.astype("float64")
                self._fold(entry, float(numbers.min()), float(numbers.max()), float(numbers.sum()))
            elif kind in _DATE_TYPES or kind in _DATETIME_TYPES:
                days = (pd.to_datetime(present).astype("datetime64[s]").astype("int64") // 86_400)
                self._fold(entry, str(present.min()), str(present.max()), int(days.sum()))

    @staticmethod
    def _fold(entry: dict[str, Any], low: Any, high: Any, total: Any) -> None:
        entry["min"] = low if entry.get("min") is None else min(entry["min"], low)
        entry["max"] = high if entry.get("max") is None else max(entry["max"], high)
        entry["sum"] = total + entry.get("sum", 0)

    def merge(self, other: Profile) -> None:
        """Add another profile's counts (e.g. of another batch)."""
        self.rows += other.rows
        for name, theirs in other.stats.items():
            entry = self.stats.setdefault(name, {"non_null": 0})
            entry["non_null"] += theirs["non_null"]
            if "sum" in theirs:
                self._fold(entry, theirs["min"], theirs["max"], theirs["sum"])

    def completeness(self) -> dict[str, float]:
        """Share of non-null values per column."""
        return {name: (self.stats.get(name, {}).get("non_null", 0) / self.rows if self.rows else 1.0)
                for name in self.columns}

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {"columns": self.columns, "rows": self.rows, "stats": self.stats}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Profile:
        """Inverse of :meth:`to_dict`."""
        return cls(dict(data["columns"]), int(data["rows"]), {k: dict(v) for k, v in data["stats"].items()})


@dataclass
class Expected:
    """The cleaned source reduced to key/row hashes, source rows and a profile."""

    columns: dict[str, str]
    key: str
    key_hashes: list[np.ndarray] = field(default_factory=list)
    row_hashes: list[np.ndarray] = field(default_factory=list)
    source_rows: list[np.ndarray] = field(default_factory=list)
    profile: Profile | None = None

    def __post_init__(self) -> None:
        self.profile = self.profile or Profile(dict(self.columns))

    def add(self, frame: pd.DataFrame, source_rows: np.ndarray) -> None:
        """Add the cleaned, deduplicated rows of one batch (``source_rows`` = their positions)."""
        normalised = normalise_frame(frame, self.columns)
        key_hash, row_hash = hash_rows(normalised, self.key)
        self.add_hashes(key_hash, row_hash, np.asarray(source_rows, dtype=np.int64))
        self.profile.add(normalised)

    def add_hashes(self, key_hash: np.ndarray, row_hash: np.ndarray, rows: np.ndarray) -> None:
        """Add precomputed arrays (e.g. restored from a batch checkpoint)."""
        self.key_hashes.append(key_hash)
        self.row_hashes.append(row_hash)
        self.source_rows.append(rows)

    @property
    def rows(self) -> int:
        """Expected row count."""
        return int(sum(len(a) for a in self.key_hashes))


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
    """The target table in key order, ``chunk_rows`` at a time, on a server-side cursor."""
    target = sa.Table(table, sa.MetaData(), autoload_with=engine)
    cols = [target.c[name] for name in columns]
    query = sa.select(*cols).order_by(target.c[key])
    with engine.connect() as conn:
        result = conn.execution_options(stream_results=True, yield_per=chunk_rows).execute(query)
        for part in result.partitions():
            yield pd.DataFrame([tuple(row) for row in part], columns=list(columns), dtype=object)


def reconcile(expected: Expected, engine: Engine, table: str, threshold: float = DEFAULT_THRESHOLD,
              chunk_rows: int = 100_000) -> ReconcileResult:
    """Compare ``expected`` against every row of ``table``; see the module docstring."""
    keys = np.concatenate(expected.key_hashes) if expected.key_hashes else np.array([], np.uint64)
    hashes = np.concatenate(expected.row_hashes) if expected.row_hashes else np.array([], np.uint64)
    rows = np.concatenate(expected.source_rows) if expected.source_rows else np.array([], np.int64)
    order = np.argsort(keys, kind="stable")
    keys, hashes, rows = keys[order], hashes[order], rows[order]
    seen = np.zeros(len(keys), dtype=bool)
    target_profile = Profile(dict(expected.columns))
    total = verified = mismatched = extra = 0
    mismatched_keys: list[str] = []
    for chunk in stream_table(engine, table, expected.columns, expected.key, chunk_rows):
        total += len(chunk)
        normalised = normalise_frame(chunk, expected.columns)
        key_hash, row_hash = hash_rows(normalised, expected.key)
        position = np.minimum(np.searchsorted(keys, key_hash), max(len(keys) - 1, 0))
        found = (keys[position] == key_hash) if len(keys) else np.zeros(len(chunk), dtype=bool)
        equal = found & (hashes[position] == row_hash) if len(keys) else found
        differ = found & ~equal
        seen[position[found]] = True
        verified += int(equal.sum())
        mismatched += int(differ.sum())
        extra += int((~found).sum())
        if differ.any() and len(mismatched_keys) < SAMPLE_LIMIT:
            mismatched_keys += chunk.loc[differ, expected.key].astype(str).tolist()[: SAMPLE_LIMIT - len(mismatched_keys)]
        target_profile.add(normalised[found])
    missing = ~seen
    return ReconcileResult(
        expected_rows=len(keys), target_rows=total, verified_rows=verified, mismatched_rows=mismatched,
        missing_rows=int(missing.sum()), extra_target_rows=extra, threshold=threshold,
        expected_profile=expected.profile, target_profile=target_profile, mismatched_keys=mismatched_keys,
        missing_source_rows=sorted(int(r) for r in rows[missing][:SAMPLE_LIMIT]))
