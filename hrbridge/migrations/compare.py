"""Compare a database with the declarations, read-only: its revision, Alembic's autogenerate diff, the guard.

This is what ``hrbridge db check`` reports and what the test suite asserts empty after an upgrade,
so a declaration changed without a revision is caught before it ships.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

from governance.audit.schema import GUARD_TRIGGERS
from hrbridge.migrations.databases import HUB, environment
from hrbridge.migrations.runner import current_revision, head_revision, script_directory


@dataclass(frozen=True)
class SchemaStatus:
    """A database's revision against the chain's head, and every difference from the declarations."""

    database: str
    url: str
    current: str | None
    head: str
    differences: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """At head and matching the declarations."""
        return self.current == self.head and not self.differences

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready form for ``hrbridge db check --json``."""
        return {"database": self.database, "url": self.url, "current": self.current, "head": self.head,
                "ok": self.ok, "differences": self.differences}


def _name(obj: Any) -> str:
    table = getattr(obj, "table", None)
    return f"{table.name}.{obj.name}" if table is not None and hasattr(obj, "name") else str(getattr(obj, "name", obj))


def describe(diff: Any) -> str:
    """One of Alembic's diff entries in words, e.g. ``column candidates.deleted_at is declared but missing``."""
    if isinstance(diff, list):
        return "; ".join(describe(d) for d in diff)
    kind = diff[0]
    if kind in ("add_table", "remove_table"):
        where = "declared but missing" if kind == "add_table" else "in the database but not declared"
        return f"table {diff[1].name} is {where}"
    if kind in ("add_column", "remove_column"):
        where = "declared but missing" if kind == "add_column" else "in the database but not declared"
        return f"column {diff[2]}.{diff[3].name} is {where}"
    if kind in ("add_index", "remove_index", "add_constraint", "remove_constraint", "add_fk", "remove_fk"):
        what = kind.split("_", 1)[1].replace("fk", "foreign key")
        where = "declared but missing" if kind.startswith("add") else "in the database but not declared"
        return f"{what} {_name(diff[1])} is {where}"
    if kind.startswith("modify_"):
        _, _, table, column, _, old, new = diff
        return f"{kind[7:]} of {table}.{column}: {old!r} in the database, {new!r} declared"
    return repr(diff)


def _triggers(conn: sa.Connection, table: str) -> set[str]:
    if conn.dialect.name == "postgresql":
        query = sa.text("SELECT tgname FROM pg_trigger WHERE NOT tgisinternal AND tgrelid = to_regclass(:t)")
    elif conn.dialect.name == "sqlite":
        query = sa.text("SELECT name FROM sqlite_master WHERE type = 'trigger' AND tbl_name = :t")
    else:
        return set()
    return set(conn.execute(query, {"t": table}).scalars())


def differences(conn: sa.Connection, name: str) -> list[str]:
    """Everything in which the database differs from ``name``'s declarations (empty when it matches)."""
    env = environment(name)
    context = MigrationContext.configure(conn, opts={
        "target_metadata": env.metadata(), "include_name": env.include_name, "compare_type": True,
        "version_table": env.version_table})
    found = [describe(diff) for diff in compare_metadata(context, env.metadata())]
    if name == HUB:
        inspector = sa.inspect(conn)
        for table, triggers in GUARD_TRIGGERS.get(conn.dialect.name, {}).items():
            if inspector.has_table(table):
                missing = triggers - _triggers(conn, table)
                found += [f"trigger {trigger} (the deletion log's append-only guard) is missing"
                          for trigger in sorted(missing)]
    return found


def schema_status(conn: sa.Connection, name: str, url: str) -> SchemaStatus:
    """The revision and the differences of the database behind ``conn``; reads only."""
    head = head_revision(name)
    current = current_revision(conn, name)
    found = differences(conn, name)
    if current != head:
        known = {rev.revision for rev in script_directory(name).walk_revisions()}
        if current is None:
            note = "no version table: empty, or created by a release before versioned schemas"
        elif current not in known:
            note = f"at revision {current}, which this hrbridge does not know (written by a newer release?)"
        else:
            note = f"at revision {current}, head is {head}"
        found.insert(0, f"{note}; run `hrbridge db upgrade{' --archive' if name != HUB else ''}`")
    return SchemaStatus(name, url, current, head, found)
