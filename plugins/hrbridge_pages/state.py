"""Shared state the pages read: the hub and archive databases, the artefact store, the roles file.

Nothing here is a local file of a worker: hub and archive are databases every api-server replica
reaches (Postgres in a many-machine setup), and reports come from the artefact store
(``hrbridge.artefacts``). Engines are created once per URL by the store modules.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.engine import Engine

from hrbridge.artefacts import ArtefactStore, artefact_store
from hrbridge.settings import Settings, load_settings
from plugins.hrbridge_pages.access import PageAccess, load_access


def settings() -> Settings:
    """hrbridge's settings from the api-server's environment (HRBRIDGE_* variables)."""
    return load_settings()


def page_access() -> PageAccess:
    """Roles and the Airflow mapping from ``<configs>/roles.yaml`` (re-read when it changes)."""
    return load_access(settings().configs_dir / "roles.yaml")


def hub() -> Engine:
    """The hub database (candidates, results, quarantine, deletion log, retention)."""
    from hrbridge.store import hub_engine

    return hub_engine(settings())


def archive() -> Engine:
    """The employee archive database (portraits; legacy migration target by default)."""
    from hrbridge.archive import archive_engine

    return archive_engine(settings())


def vault() -> Any:
    """The vault that opens encrypted columns (clip references) on the hub."""
    from hrbridge.pipelines.pii import default_vault

    return default_vault(hub(), settings().home)


def artefacts() -> ArtefactStore:
    """The artefact store (``hrbridge.artefacts``): the hub's table or ``HRBRIDGE_ARTEFACT_URL``."""
    return artefact_store(settings())


def has_tables(engine: Engine, *names: str) -> bool:
    """Whether every named table exists (governance creates its tables on first use, not the pages)."""
    import sqlalchemy as sa

    inspector = sa.inspect(engine)
    return all(inspector.has_table(name) for name in names)
