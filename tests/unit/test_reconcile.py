"""Reconciliation: identical hashing on both sides, tampering, missing and extra rows, aggregates."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import sqlalchemy as sa

from connectors.archive_loader import ArchiveLoader, BatchLoad
from validation.reconcile import Expected, normalise_column, reconcile

COLUMNS = {"employee_id": "employee_id", "name": "text", "hire_date": "date", "salary": "number",
           "updated_at": "datetime"}


def _frame(n: int) -> pd.DataFrame:
    return pd.DataFrame({
        "employee_id": [f"{i:06d}" for i in range(n)], "name": [f"员工{i}" if i % 7 else None for i in range(n)],
        "hire_date": pd.to_datetime(["2020-01-05"] * n) + pd.to_timedelta(np.arange(n), unit="D"),
        "salary": [1000.25 + i for i in range(n)],
        "updated_at": pd.to_datetime(["2024-03-01 08:30:00"] * n)})


def _loaded(tmp_path: Path, frame: pd.DataFrame) -> ArchiveLoader:
    loader = ArchiveLoader(f"sqlite:///{tmp_path / 'archive.db'}", COLUMNS)
    empty = pd.DataFrame()
    loader.load_batch(BatchLoad("r", 0, 0, len(frame), frame, empty, empty, empty, 0, 0))
    return loader


def _expected(frame: pd.DataFrame, batches: int = 3) -> Expected:
    expected = Expected(COLUMNS, "employee_id")
    for part in np.array_split(np.arange(len(frame)), batches):
        expected.add(frame.iloc[part], part)
    return expected


def test_normalisation_is_identical_for_both_representations() -> None:
    import datetime as dt

    def same(left: list, right: list, kind: str) -> bool:
        a = normalise_column(pd.Series(left, dtype=object), kind)
        b = normalise_column(pd.Series(right, dtype=object), kind)
        return bool((a.hashes == b.hashes).all() and (a.present == b.present).all())

    assert same(["2023-01-05", None, ""], [dt.date(2023, 1, 5), None, None], "date")
    assert same([pd.Timestamp("2024-03-01 08:30")], ["2024-03-01 08:30:00"], "datetime")
    assert same(["8000.50", -0.0, None], [8000.5, 0.0, float("nan")], "number")
    assert same(["张三", "", None], ["张三", None, None], "text")
    assert not same(["张三"], ["张 三"], "text") and not same(["2023-01-05"], ["2023-01-06"], "date")


def test_string_hashes_are_stable_across_chunks_and_distinct() -> None:
    from validation.reconcile import hash_strings

    values = pd.Series([f"user{i}@example.com" for i in range(5000)] + ["a", "ab", "ba", "张三"])
    whole = hash_strings(values)
    assert len(set(whole.tolist())) == len(values)
    assert (hash_strings(values.iloc[1234:]) == whole[1234:]).all()
    assert (hash_strings(values.to_numpy(dtype=object)) == whole).all()


def test_clean_load_verifies_every_row(tmp_path: Path) -> None:
    frame = _frame(250)
    loader = _loaded(tmp_path, frame)
    result = reconcile(_expected(frame), loader.engine, "employees", chunk_rows=40)
    assert (result.expected_rows, result.verified_rows, result.mismatched_rows, result.missing_rows) == (250, 250, 0, 0)
    assert result.passed and result.integrity_ratio == 1.0
    checks = result.column_checks()
    assert all(c["match"] for c in checks.values())
    assert checks["name"]["expected"]["non_null"] == 250 - 36
    assert checks["salary"]["target"]["sum"] == sum(1000.25 + i for i in range(250))


def test_tampered_missing_and_extra_rows_are_caught(tmp_path: Path) -> None:
    frame = _frame(100)
    loader = _loaded(tmp_path, frame)
    with loader.engine.begin() as conn:
        conn.execute(sa.text("UPDATE employees SET salary = salary + 1 WHERE employee_id = '000042'"))
        conn.execute(sa.text("DELETE FROM employees WHERE employee_id = '000007'"))
        conn.execute(sa.text("INSERT INTO employees (employee_id, name) VALUES ('999999', 'x')"))
    result = reconcile(_expected(frame), loader.engine, "employees", threshold=0.999)
    assert (result.verified_rows, result.mismatched_rows, result.missing_rows, result.extra_target_rows) == (98, 1, 1, 1)
    assert result.mismatched_keys == ["000042"] and result.missing_source_rows == [7]
    assert result.integrity_ratio == 0.98 and not result.passed
    assert not result.column_checks()["salary"]["match"]


def test_partitioned_join_samples_the_first_mismatches_in_target_order(tmp_path: Path) -> None:
    frame = _frame(400)
    loader = _loaded(tmp_path, frame)
    with loader.engine.begin() as conn:
        conn.execute(sa.text("UPDATE employees SET salary = salary + 1 WHERE CAST(employee_id AS INTEGER) % 10 = 3"))
        conn.execute(sa.text("DELETE FROM employees WHERE CAST(employee_id AS INTEGER) % 50 = 9"))
    expected = Expected(COLUMNS, "employee_id", spill_dir=tmp_path / "spill", partitions=16)
    for part in np.array_split(np.arange(len(frame)), 7):
        expected.add(frame.iloc[part], part)
    result = reconcile(expected, loader.engine, "employees", chunk_rows=64)
    assert (result.expected_rows, result.mismatched_rows, result.missing_rows) == (400, 40, 8)
    assert result.verified_rows == 400 - 40 - 8 and result.target_rows == 392
    assert result.mismatched_keys == [f"{i:06d}" for i in range(3, 200, 10)]
    assert result.missing_source_rows == list(range(9, 400, 50))
    checks = result.column_checks()
    missing_salaries = sum(1000.25 + i for i in range(9, 400, 50))
    assert checks["salary"]["target"]["sum"] == checks["salary"]["expected"]["sum"] - missing_salaries + 40
    assert checks["salary"]["target"]["non_null"] == 392 and not checks["salary"]["match"]
    expected.close()
    assert not any((tmp_path / "spill").iterdir())


class _Libpq:
    """Stands in for psycopg's ``pgconn`` during a COPY: hands out rows, then the end or an error."""

    def __init__(self, rows: list[bytes], end: int) -> None:
        self.replies = [(len(r), memoryview(r)) for r in rows] + [(end, memoryview(b""))]

    def get_copy_data(self, async_: int) -> tuple[int, memoryview]:
        assert async_ == 0  # blocking reads: the stream is consumed in the calling thread
        return self.replies.pop(0)

    def get_error_message(self) -> str:
        return "FATAL:  terminating connection due to administrator command"


def test_copy_blocks_keep_whole_rows_and_raise_on_a_broken_stream() -> None:
    from validation.reconcile import _copy_blocks

    rows = [f'{i:04d},"line one\nline two"\n'.encode() for i in range(50)]  # a quoted newline inside each row
    blocks = list(_copy_blocks(_Libpq(rows, end=-1), size=100))
    assert b"".join(blocks) == b"".join(rows) and len(blocks) > 5
    assert all(block.endswith(b'two"\n') for block in blocks)  # every block ends on a row boundary
    with pytest.raises(RuntimeError, match="reading the target table failed: FATAL:  terminating"):
        list(_copy_blocks(_Libpq(rows[:3], end=-2), size=10_000))
