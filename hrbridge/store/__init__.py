"""The hub store: hrbridge's own database (``HRBRIDGE_DB_URL``, SQLite under home by default).

Each module of this package declares the tables of one area on the shared :data:`metadata`
(``recruiting`` for candidates, applications, invitations and cursors; ``results`` for interview
results and quarantine; ...). The schema is versioned by :mod:`hrbridge.migrations` (Alembic); a
declaration changed here needs a revision there. :func:`hub_engine` returns an engine at head.
"""

from __future__ import annotations

import importlib
import pkgutil

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from hrbridge.settings import Settings, load_settings

metadata = sa.MetaData()


def load_table_modules() -> None:
    """Import every module of this package so that all hub tables are declared on :data:`metadata`."""
    for info in pkgutil.iter_modules(__path__):
        importlib.import_module(f"{__name__}.{info.name}")


def create_schema(engine: Engine) -> None:
    """Bring the hub at ``engine`` to the newest revision (creating every table on an empty database)."""
    from hrbridge.migrations import HUB, upgrade

    upgrade(engine, HUB)


def hub_engine(settings: Settings | None = None, *, create: bool = True) -> Engine:
    """The engine of the hub database (one per URL), its schema versioned by :mod:`hrbridge.migrations`.

    ``create=True`` (pipelines and commands that write): a SQLite file is created owner-only and the
    schema upgraded to head on first use in the process (unless ``HRBRIDGE_DB_AUTO_UPGRADE=false``,
    when a hub behind head raises SchemaOutdated). ``create=False`` (read-only commands): a
    read-only engine; SchemaMissing / SchemaOutdated name the database and ``hrbridge db upgrade``
    when the hub is missing or behind, and nothing — file, table or row — is ever created.
    """
    from hrbridge.migrations import HUB, open_engine

    settings = settings or load_settings()
    if create:
        settings.ensure_dirs()
    return open_engine(settings.db_url, HUB, create=create, auto_upgrade=settings.db_auto_upgrade)
