"""The hub store: hrbridge's own database (``HRBRIDGE_DB_URL``, SQLite under home by default).

Each module of this package declares the tables of one area on the shared :data:`metadata`
(``recruiting`` for candidates, applications, invitations and cursors; ``results`` for interview
results and quarantine; ...). :func:`hub_engine` returns an engine with every table created.
"""

from __future__ import annotations

import importlib
import pkgutil
from functools import cache

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from connectors.sql import make_engine
from hrbridge.settings import Settings, load_settings

metadata = sa.MetaData()


def _load_table_modules() -> None:
    for info in pkgutil.iter_modules(__path__):
        importlib.import_module(f"{__name__}.{info.name}")


def create_schema(engine: Engine) -> None:
    """Create every hub table that does not exist yet (idempotent)."""
    _load_table_modules()
    metadata.create_all(engine)


@cache
def _engine_for(url: str) -> Engine:
    engine = make_engine(url)
    create_schema(engine)
    return engine


def hub_engine(settings: Settings | None = None) -> Engine:
    """The engine of the hub database with its schema in place (one engine per URL)."""
    settings = (settings or load_settings()).ensure_dirs()
    return _engine_for(settings.db_url)
