"""Versioned schemas of the hub and the archive (Alembic): one environment and one linear chain each.

    from hrbridge.migrations import HUB, upgrade, schema_status, open_engine, read_only_engine

* :func:`upgrade` runs pending revisions (``hrbridge db upgrade [--archive]``);
* :func:`schema_status` compares a database with the declarations, read-only (``hrbridge db check``);
* :func:`open_engine` opens a database for the pipelines (upgraded on first use unless
  ``HRBRIDGE_DB_AUTO_UPGRADE=false``) or, with ``create=False``, read-only and required at head;
* revisions live in ``hub/versions`` and ``archive/versions``; ``hrbridge db revision`` writes a new
  one from the difference between the declarations and a database at head.
"""

from hrbridge.migrations.compare import SchemaStatus, differences, schema_status
from hrbridge.migrations.databases import ARCHIVE, DATABASES, HUB, environment
from hrbridge.migrations.engines import (
    SchemaError,
    SchemaMissing,
    SchemaOutdated,
    open_engine,
    read_only_engine,
    require_head,
    sqlite_path,
)
from hrbridge.migrations.runner import (
    UpgradeResult,
    current_revision,
    display_url,
    head_revision,
    script_directory,
    upgrade,
)

__all__ = [
    "ARCHIVE", "DATABASES", "HUB", "SchemaError", "SchemaMissing", "SchemaOutdated", "SchemaStatus",
    "UpgradeResult", "current_revision", "differences", "display_url", "environment", "head_revision",
    "open_engine", "read_only_engine", "require_head", "schema_status", "script_directory", "sqlite_path",
    "upgrade",
]
