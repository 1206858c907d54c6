"""Run a database's Alembic revisions: read its revision, upgrade it, one upgrader at a time.

:func:`upgrade` runs every pending revision in ONE transaction after taking a lock (Postgres: an
advisory lock; SQLite: ``BEGIN IMMEDIATE``), so workers that start together upgrade once and a
failed revision leaves the database where it was. Revisions run through Alembic's
``EnvironmentContext`` with the same configuration as the ``env.py`` of each environment.
"""

from __future__ import annotations

import weakref
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import cache
from typing import Any

import sqlalchemy as sa
from alembic.config import Config
from alembic.runtime.environment import EnvironmentContext
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.engine import Engine

from connectors.sql import create_owner_only
from hrbridge.migrations.databases import configure, environment

SHOWN_URLS: weakref.WeakKeyDictionary[Engine, str] = weakref.WeakKeyDictionary()  # read-only engines' own URLs
_PG_LOCK = 7412094  # advisory lock key of schema upgrades (the audit guard installer uses 7412093)


@dataclass(frozen=True)
class UpgradeResult:
    """A database's revision before and after :func:`upgrade`."""

    database: str
    url: str
    before: str | None
    after: str

    @property
    def changed(self) -> bool:
        """True when some revision ran."""
        return self.before != self.after

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready form for ``hrbridge db upgrade --json``."""
        return {"database": self.database, "url": self.url, "before": self.before, "after": self.after,
                "changed": self.changed}


@cache
def alembic_config(name: str) -> Config:
    """The Alembic configuration of ``hub`` or ``archive`` (no ini file: everything is set here)."""
    config = Config()
    config.set_main_option("script_location", str(environment(name).script_location))
    return config


@cache
def script_directory(name: str) -> ScriptDirectory:
    """The revisions of ``hub`` or ``archive`` (read once per process)."""
    return ScriptDirectory.from_config(alembic_config(name))


def head_revision(name: str) -> str:
    """The newest revision of the chain; RuntimeError when the chain has forked (two heads)."""
    heads = script_directory(name).get_heads()
    if len(heads) != 1:
        raise RuntimeError(f"the {name} revisions have {len(heads)} heads ({', '.join(sorted(heads))}): "
                           "give one of them the other as down_revision so the chain stays linear")
    return heads[0]


def current_revision(conn: sa.Connection, name: str) -> str | None:
    """The revision recorded in the database (None when it has no version table or no row)."""
    context = MigrationContext.configure(conn, opts={"version_table": environment(name).version_table})
    return context.get_current_revision()


def display_url(engine_or_url: Engine | str) -> str:
    """A database URL without its password, for messages (a read-only engine shows the URL it was opened for)."""
    from sqlalchemy.engine import make_url

    if isinstance(engine_or_url, str):
        return make_url(engine_or_url).render_as_string(hide_password=True)
    return SHOWN_URLS.get(engine_or_url) or engine_or_url.url.render_as_string(hide_password=True)


@contextmanager
def _locked(engine: Engine) -> Iterator[sa.Connection]:
    """A connection in a transaction that only one upgrader at a time may hold."""
    if engine.dialect.name != "sqlite":
        with engine.begin() as conn:
            if engine.dialect.name == "postgresql":
                conn.execute(sa.select(sa.func.pg_advisory_xact_lock(_PG_LOCK)))
            yield conn
        return
    # pysqlite opens transactions lazily and commits before DDL: drive BEGIN ourselves so the whole
    # upgrade is one transaction holding the write lock from its first statement.
    if engine.url.database and engine.url.database != ":memory:":
        create_owner_only(engine.url.database)
    locked = sa.create_engine(engine.url, poolclass=sa.pool.NullPool, connect_args={"timeout": 60})

    @sa.event.listens_for(locked, "connect")
    def _manual(dbapi_conn: Any, _record: Any) -> None:
        dbapi_conn.isolation_level = None
        dbapi_conn.execute("PRAGMA foreign_keys=OFF")  # table rebuilds copy rows before re-linking them

    @sa.event.listens_for(locked, "begin")
    def _immediate(conn: sa.Connection) -> None:
        conn.exec_driver_sql("BEGIN IMMEDIATE")

    try:
        with locked.begin() as conn:
            yield conn
    finally:
        locked.dispose()


def upgrade(engine: Engine, name: str, target: str = "head") -> UpgradeResult:
    """Run ``name``'s pending revisions on ``engine`` up to ``target``; returns the revision before and after."""
    script = script_directory(name)
    destination = head_revision(name) if target == "head" else target
    with _locked(engine) as conn:
        before = current_revision(conn, name)
        if before != destination:
            def steps(revision: Any, _context: Any) -> Any:
                return script._upgrade_revs(destination, revision)  # noqa: SLF001 - what `alembic upgrade` calls

            with EnvironmentContext(alembic_config(name), script, fn=steps, destination_rev=destination) as env:
                configure(env, conn, name, transaction_per_migration=False)
                with env.begin_transaction():
                    env.run_migrations()
    return UpgradeResult(name, display_url(engine), before, destination)


def run_environment(name: str) -> None:
    """Body of each environment's ``env.py``: migrate the connection handed over in the config's
    attributes (``hrbridge db revision`` does), or the configured database's URL."""
    from alembic import context

    if context.is_offline_mode():
        raise RuntimeError("offline (--sql) migrations are not supported: run `hrbridge db upgrade`")
    connection = context.config.attributes.get("connection")
    if connection is not None:
        configure(context, connection, name)
        with context.begin_transaction():
            context.run_migrations()
        return
    from connectors.sql import make_engine
    from hrbridge.settings import load_settings

    settings = load_settings()
    url = context.config.get_main_option("sqlalchemy.url") or (settings.db_url if name == "hub" else settings.archive_url)
    engine = make_engine(url, poolclass=sa.pool.NullPool)
    with engine.connect() as conn:
        configure(context, conn, name)
        with context.begin_transaction():
            context.run_migrations()
