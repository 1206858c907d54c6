"""What each Alembic environment migrates: its declarations, its version table, what it ignores.

Two databases, two environments, one linear revision chain each:

* ``hub`` — the tables of :mod:`hrbridge.store` and of governance (retention, deletion log, data
  keys), which governance declares on its own MetaData;
* ``archive`` — the tables of :mod:`hrbridge.archive`.

Each keeps its revision in its own version table (``hrbridge_hub_version``,
``hrbridge_archive_version``), so a hub that shares a Postgres database with Airflow's metadata
(whose ``alembic_version`` is Airflow's) or with the archive never mixes the chains. Tables a
database holds that the environment does not declare (Airflow's, a migration target's
``employees`` and ``migration_*`` tables) are left alone by upgrades and by ``db check``.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import sqlalchemy as sa

HUB, ARCHIVE = "hub", "archive"
DATABASES = (HUB, ARCHIVE)
HERE = Path(__file__).resolve().parent


@dataclass(frozen=True)
class Environment:
    """One database's migration settings."""

    name: str
    version_table: str
    script_location: Path

    def metadata(self) -> list[sa.MetaData]:
        """The declarations this database must match (imported on first use)."""
        return _metadata(self.name)

    def declared_tables(self) -> set[str]:
        """Names of every table the declarations hold."""
        return {name for meta in self.metadata() for name in meta.tables}

    def include_name(self, name: str | None, type_: str, parent_names: Any) -> bool:
        """Compare only tables this environment declares (and never its version table)."""
        if type_ == "table":
            return name in self.declared_tables()
        return True


@cache
def _metadata(name: str) -> list[sa.MetaData]:
    if name == HUB:
        from governance.audit.schema import metadata as audit
        from governance.crypto.vault import metadata as vault
        from governance.retention.schema import metadata as retention
        from hrbridge.store import load_table_modules, metadata

        load_table_modules()
        return [metadata, retention, audit, vault]
    from hrbridge.archive import archive_metadata

    return [archive_metadata]


def environment(name: str) -> Environment:
    """The environment of ``hub`` or ``archive``; ValueError for anything else."""
    if name not in DATABASES:
        raise ValueError(f"unknown database {name!r}: expected one of {', '.join(DATABASES)}")
    return Environment(name, f"hrbridge_{name}_version", HERE / name)


def configure(context: Any, connection: sa.Connection, name: str, **options: Any) -> None:
    """Configure an Alembic ``context`` for ``name`` on ``connection`` (used by env.py and the runner)."""
    env = environment(name)
    context.configure(
        connection=connection,
        target_metadata=env.metadata(),
        version_table=env.version_table,
        include_name=env.include_name,
        compare_type=True,
        render_as_batch=connection.dialect.name == "sqlite",
        **options,
    )
