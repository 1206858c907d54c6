"""Open the hub or the archive: upgraded on first use, or read-only for commands that must not write.

* :func:`open_engine` — for pipelines and commands that write: a SQLite file is created owner-only
  (0600, whatever the umask) and the schema is brought to head on first use in the process, unless
  ``HRBRIDGE_DB_AUTO_UPGRADE=false``, when a database behind head is an error naming
  ``hrbridge db upgrade``.
* :func:`read_only_engine` — for read-only commands (``db check``, ``audit verify``, ``keys status``,
  ``verify``): never creates a file, a table or a row. SQLite opens with ``mode=ro``; Postgres
  sessions are ``default_transaction_read_only``. :func:`open_engine` with ``create=False``
  additionally requires the schema at head.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path
from urllib.parse import quote

import sqlalchemy as sa
from sqlalchemy.engine import Engine, make_url

from connectors.sql import make_engine, normalise_url
from hrbridge.migrations.databases import HUB, environment
from hrbridge.migrations.runner import SHOWN_URLS, current_revision, display_url, head_revision, upgrade


class SchemaError(RuntimeError):
    """The database's schema is not the one this hrbridge needs; the message names it and what to run."""


class SchemaMissing(SchemaError):
    """The database (or its schema) does not exist yet."""


class SchemaOutdated(SchemaError):
    """The database is at another revision than this hrbridge's head."""


def _command(name: str) -> str:
    return "hrbridge db upgrade" + ("" if name == HUB else " --archive")


def sqlite_path(url: str) -> Path | None:
    """The file of a SQLite URL (None for other databases and for in-memory SQLite)."""
    parsed = make_url(normalise_url(url))
    if parsed.get_backend_name() != "sqlite" or not parsed.database or parsed.database == ":memory:":
        return None
    return Path(parsed.database)


def read_only_engine(url: str, name: str = HUB) -> Engine:
    """An engine that cannot write; SchemaMissing when a SQLite file does not exist."""
    path = sqlite_path(url)
    if path is not None:
        if not path.is_file():
            raise SchemaMissing(f"the {name} database {path} does not exist: run `{_command(name)}`")
        engine = sa.create_engine(f"sqlite:///file:{quote(str(path.resolve()))}?mode=ro&uri=true",
                                  connect_args={"timeout": 30})

        @sa.event.listens_for(engine, "connect")
        def _query_only(dbapi_conn: object, _record: object) -> None:
            dbapi_conn.execute("PRAGMA query_only=ON")  # type: ignore[attr-defined]

    elif make_url(normalise_url(url)).get_backend_name() == "postgresql":
        engine = make_engine(url, connect_args={"options": "-c default_transaction_read_only=on"})
    else:
        engine = make_engine(url)
    SHOWN_URLS[engine] = display_url(normalise_url(url))  # what messages show
    return engine


def require_head(engine: Engine, name: str) -> None:
    """Raise SchemaMissing / SchemaOutdated unless the database is at this hrbridge's head revision."""
    head = head_revision(name)
    with engine.connect() as conn:
        current = current_revision(conn, name)
    if current == head:
        return
    where = f"the {name} database {display_url(engine)}"
    if current is None:
        raise SchemaMissing(f"{where} has no hrbridge schema (empty, or from a release before versioned "
                            f"schemas): run `{_command(name)}`")
    raise SchemaOutdated(f"{where} is at revision {current}, this hrbridge needs {head}: run `{_command(name)}`")


@cache
def _writable(url: str, name: str, auto_upgrade: bool) -> Engine:
    engine = make_engine(url)  # a SQLite file it creates is owner-only
    if auto_upgrade:
        with engine.connect() as conn:
            at_head = current_revision(conn, name) == head_revision(name)
        if not at_head:
            upgrade(engine, name)
    else:
        require_head(engine, name)
    return engine


@cache
def _readable(url: str, name: str) -> Engine:
    engine = read_only_engine(url, name)
    require_head(engine, name)
    return engine


def open_engine(url: str, name: str, *, create: bool = True, auto_upgrade: bool = True) -> Engine:
    """The engine of the ``hub`` or ``archive`` database at ``url`` (one per URL and mode in a process).

    ``create=True``: writable, the schema upgraded to head on first use (``auto_upgrade``) or
    required at head. ``create=False``: read-only and required at head; nothing is ever created.
    """
    environment(name)
    return _writable(url, name, auto_upgrade) if create else _readable(url, name)
