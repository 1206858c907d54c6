"""Databases of earlier releases, with rows in every table, for the schema upgrade tests.

:func:`load_release` runs a frozen release's DDL (``tests/fixtures/schema/<release>/``);
:func:`fill` inserts rows into every table it finds, values made from each reflected column's
type (so the same factory fills any release's shape), and :func:`snapshot` reads them back for
comparison after an upgrade.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import sqlalchemy as sa

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "schema"
RELEASES = ("release-c270664", "release-f95dbe1")
WHEN = dt.datetime(2026, 3, 1, 8, 30, tzinfo=dt.UTC)
# Values a CHECK constraint or a foreign key of an earlier release requires.
FIXED = {("invitations", "state"): "planned"}


def load_release(engine: sa.Engine, release: str, database: str) -> list[str]:
    """Create ``database`` (hub or archive) as ``release`` left it; returns the tables created."""
    text = (FIXTURES / release / f"{database}.{engine.dialect.name}.sql").read_text(encoding="utf-8")
    with engine.begin() as conn:
        for statement in text.split(";\n\n"):
            if statement.strip():  # psycopg reads % as a placeholder: the guard's RAISE format needs it doubled
                escaped = statement.replace("%", "%%") if engine.dialect.name == "postgresql" else statement
                conn.exec_driver_sql(escaped.strip().rstrip(";"))
    return sa.inspect(engine).get_table_names()


def value(table: str, column: dict[str, Any], n: int) -> Any:
    """A deterministic value of the column's type for row ``n`` (equal names give equal values,
    so foreign keys such as ``person_key`` point at rows that exist)."""
    if (table, column["name"]) in FIXED:
        return FIXED[(table, column["name"])]
    kind = column["type"]
    if isinstance(kind, sa.Boolean):
        return n % 2 == 0
    if isinstance(kind, sa.Integer):
        return n
    if isinstance(kind, sa.Float | sa.Numeric):
        return n + 0.5
    if isinstance(kind, sa.DateTime):
        moment = WHEN + dt.timedelta(minutes=n)
        return moment if kind.timezone else moment.replace(tzinfo=None)
    if isinstance(kind, sa.Date):
        return (WHEN + dt.timedelta(days=n)).date()
    if isinstance(kind, sa.JSON):
        return {"n": n, "tag": f"{column['name']}-{n}"}
    if isinstance(kind, sa.LargeBinary):
        return f"{column['name']}-{n}".encode()
    text = f"{column['name']}-{n}"
    length = getattr(kind, "length", None)
    return text[-length:] if length else text


def fill(engine: sa.Engine, rows_per_table: int = 3) -> dict[str, int]:
    """Insert ``rows_per_table`` rows into every table (parents first); returns rows per table."""
    meta = sa.MetaData()
    meta.reflect(engine)
    inserted = {}
    with engine.begin() as conn:
        for table in meta.sorted_tables:
            columns = sa.inspect(conn).get_columns(table.name)
            rows = [{c["name"]: value(table.name, c, n) for c in columns} for n in range(1, rows_per_table + 1)]
            conn.execute(table.insert(), rows)
            inserted[table.name] = len(rows)
    return inserted


def _plain(item: Any) -> Any:
    if isinstance(item, dt.datetime):
        return item.replace(tzinfo=None) if item.tzinfo is None else item.astimezone(dt.UTC).replace(tzinfo=None)
    if isinstance(item, memoryview):
        return bytes(item)
    return item


def snapshot(engine: sa.Engine, tables: dict[str, list[str]] | None = None) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every table (or of the given tables' columns), sorted, in comparable form."""
    meta = sa.MetaData()
    meta.reflect(engine)
    found = {}
    with engine.connect() as conn:
        for name, table in meta.tables.items():
            if tables is not None and name not in tables:
                continue
            columns = [table.c[c] for c in (tables[name] if tables else table.c.keys())]
            rows = conn.execute(sa.select(*columns)).all()
            found[name] = sorted((tuple(_plain(v) for v in row) for row in rows), key=repr)
    return found
