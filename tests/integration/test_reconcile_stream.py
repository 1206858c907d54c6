"""Streaming the target back from Postgres: every row once, and a broken stream is an error."""

from __future__ import annotations

import pandas as pd
import psycopg
import pytest
import sqlalchemy as sa

from validation.reconcile import stream_table

COLUMNS = {"employee_id": "text", "name": "text", "hire_date": "date", "salary": "number"}


def _fill(url: str, rows: int) -> sa.Engine:
    engine = sa.create_engine(url)
    frame = pd.DataFrame({"employee_id": [f"{i:07d}" for i in range(rows)], "name": [f"员工{i}" for i in range(rows)],
                          "hire_date": (pd.Timestamp("2020-01-01") + pd.to_timedelta([i % 3000 for i in range(rows)], unit="D")).date,
                          "salary": [1000.5 + i for i in range(rows)]})
    frame.to_sql("employees", engine, index=False, chunksize=10_000, dtype={"hire_date": sa.Date()})
    return engine


def test_every_row_streams_back_once(pg_url: str) -> None:
    engine = _fill(pg_url, 60_000)
    chunks = list(stream_table(engine, "employees", COLUMNS, "employee_id"))
    assert len(chunks) > 1  # streamed in blocks, not whole
    ids = pd.concat([c["employee_id"] for c in chunks])
    assert len(ids) == 60_000 and ids.is_unique and ids.max() == "0059999"
    assert sum(float(c["salary"].sum()) for c in chunks) == sum(1000.5 + i for i in range(60_000))
    engine.dispose()


def test_a_stream_cut_off_by_the_server_raises(pg_url: str) -> None:
    engine = _fill(pg_url, 10)
    with engine.begin() as conn:  # more rows than the socket buffers hold, so the server is still sending
        conn.execute(sa.text("INSERT INTO employees SELECT lpad(i::text, 7, '0'), repeat('x', 60), DATE '2020-01-01', i "
                             "FROM generate_series(100, 800000) AS i"))
    stream = stream_table(engine, "employees", COLUMNS, "employee_id")
    next(stream)
    with engine.connect() as conn:
        conn.execute(sa.text("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                             "WHERE query LIKE 'COPY (SELECT%' AND pid <> pg_backend_pid()"))
    with pytest.raises((RuntimeError, psycopg.OperationalError), match="(?i)terminat|closed the connection|connection lost|reading the target table failed"):
        for _ in stream:
            pass
    with engine.connect() as conn:  # the broken connection was discarded, not handed out again
        assert conn.execute(sa.text("SELECT count(*) FROM employees")).scalar_one() == 10 + 799_901
    engine.dispose()
