"""SQL databases through SQLAlchemy 2: engines and idempotent upserts for every store.

Used by the hub store, the employee archive and the migration loader, so that one dialect-aware
upsert (``INSERT ... ON CONFLICT``) serves SQLite and Postgres alike.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine


def normalise_url(url: str) -> str:
    """Pick the project's drivers: psycopg 3 for Postgres, PyMySQL for MariaDB/MySQL."""
    if url.startswith(("postgres://", "postgresql://")):
        return "postgresql+psycopg://" + url.split("://", 1)[1]
    if url.startswith(("mysql://", "mariadb://")):
        return "mysql+pymysql://" + url.split("://", 1)[1]
    return url


def create_owner_only(path: str | Path) -> None:
    """Create an empty file 0600 (whatever the umask) unless it exists. SQLite gives a database's
    -wal, -shm and -journal files the database file's mode, so they are owner-only too."""
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return
    os.fchmod(fd, 0o600)
    os.close(fd)


def make_engine(url: str, **kwargs: Any) -> Engine:
    """Create an engine; SQLite gets WAL and a busy timeout so Airflow tasks can share the file, and
    a database file it creates is owner-only (0600)."""
    url = normalise_url(url)
    if url.startswith("sqlite"):
        kwargs.setdefault("connect_args", {"timeout": 30})
        engine = sa.create_engine(url, **kwargs)
        database = engine.url.database

        @sa.event.listens_for(engine, "do_connect")
        def _owner_only(_dialect: Any, _record: Any, _cargs: Any, _cparams: Any) -> None:
            if database and database != ":memory:" and not engine.url.query.get("mode") and \
                    Path(database).parent.is_dir():
                create_owner_only(database)

        @sa.event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
            cursor = dbapi_conn.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA synchronous=NORMAL")
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.close()

        return engine
    kwargs.setdefault("pool_pre_ping", True)
    return sa.create_engine(url, **kwargs)


def _insert_for(conn: Connection, table: sa.Table) -> Any:
    name = conn.dialect.name
    if name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    elif name == "sqlite":
        from sqlalchemy.dialects.sqlite import insert
    else:
        raise NotImplementedError(f"upsert is not implemented for the {name} dialect")
    return insert(table)


def upsert(
    conn: Connection,
    table: sa.Table,
    rows: Sequence[Mapping[str, Any]],
    key: Iterable[str],
    update: Iterable[str] | None = None,
) -> int:
    """Insert ``rows`` or update them on a ``key`` conflict; returns the number of rows sent.

    ``update`` names the columns overwritten on conflict (default: every non-key column present
    in the rows); an empty ``update`` means insert-if-absent.
    """
    if not rows:
        return 0
    key = list(key)
    stmt = _insert_for(conn, table)
    columns = update if update is not None else [c for c in rows[0] if c not in key]
    columns = list(columns)
    if columns:
        stmt = stmt.on_conflict_do_update(
            index_elements=key, set_={c: getattr(stmt.excluded, c) for c in columns}
        )
    else:
        stmt = stmt.on_conflict_do_nothing(index_elements=key)
    conn.execute(stmt, list(rows))
    return len(rows)
