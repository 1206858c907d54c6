"""Bring a database created before versioned schemas to a baseline revision, keeping its rows.

Releases before Alembic created tables with ``create_all`` and patched them at run start (columns
added, contact columns widened, the invitation states' CHECK replaced). A database from any of
those releases has no version table, so Alembic starts it at the baseline revision, whose
``upgrade`` calls :func:`create_or_adopt`: tables the database lacks are created as the baseline
declares them; tables it has are compared with the baseline and brought to it — missing columns
added, narrower text columns widened, CHECK constraints and indexes replaced where they differ.
On SQLite, where ``ALTER`` cannot change a type or a constraint, the table is rebuilt with
Alembic's batch mode (rows copied in the same transaction). An empty database gets exactly the
baseline, which is also what a fresh ``CREATE TABLE`` would give.
"""

from __future__ import annotations

import logging
import re
from typing import Any

import sqlalchemy as sa
from alembic import op

log = logging.getLogger("hrbridge.migrations")


def create_or_adopt(bind: sa.Connection, baseline: sa.MetaData) -> list[str]:
    """Create the baseline's missing tables and adopt the existing ones; returns what changed."""
    present = set(sa.inspect(bind).get_table_names())
    changes: list[str] = []
    for table in baseline.sorted_tables:
        if table.name in present:
            changes += adopt_table(bind, table)
        else:
            table.create(bind)
    for change in changes:
        log.warning("adopting a database from before versioned schemas: %s", change)
    return changes


def _literals(text: str) -> set[str]:
    """The quoted values of a CHECK (``state IN ('a', 'b')``), however the database spells the rest."""
    return set(re.findall(r"'([^']*)'", text))


def _narrower(reflected: Any, declared: Any) -> bool:
    """True when the database's text column is shorter than the declaration (VARCHAR(n) vs TEXT)."""
    if not isinstance(reflected, sa.String) or not isinstance(declared, sa.String):
        return False
    have, want = getattr(reflected, "length", None), getattr(declared, "length", None)
    return have is not None and (want is None or want > have)


def _index_differs(reflected: dict[str, Any], declared: sa.Index, dialect: str) -> bool:
    """True when the columns differ, or (Postgres) the declared access method is not the one in place."""
    if list(reflected["column_names"]) != [c.name for c in declared.columns]:
        return True
    using = declared.dialect_options["postgresql"].get("using")
    if dialect == "postgresql" and using:
        return (reflected.get("dialect_options") or {}).get("postgresql_using", "btree") != using
    return False


def adopt_table(bind: sa.Connection, table: sa.Table) -> list[str]:
    """Bring one existing table to its baseline declaration; returns the changes made."""
    inspector = sa.inspect(bind)
    dialect = bind.dialect.name
    columns = {c["name"]: c for c in inspector.get_columns(table.name)}
    changes: list[str] = []
    for column in table.columns:
        if column.name not in columns:
            op.add_column(table.name, column._copy())  # noqa: SLF001 - SQLAlchemy's documented column copy
            changes.append(f"{table.name}.{column.name} added")
    widen = [c for c in table.columns if c.name in columns and _narrower(columns[c.name]["type"], c.type)]
    checks = {c["name"]: c["sqltext"] for c in inspector.get_check_constraints(table.name) if c.get("name")}
    replace = [c for c in table.constraints if isinstance(c, sa.CheckConstraint) and c.name
               and c.name in checks and _literals(str(checks[c.name])) != _literals(str(c.sqltext))]
    if widen or replace:
        with op.batch_alter_table(table.name, recreate="auto") as batch:
            for column in widen:
                batch.alter_column(column.name, type_=column.type, existing_type=columns[column.name]["type"],
                                   existing_nullable=columns[column.name]["nullable"])
                changes.append(f"{table.name}.{column.name} widened to {column.type.compile(bind.dialect)}")
            for check in replace:
                batch.drop_constraint(check.name, type_="check")
                batch.create_check_constraint(check.name, sa.text(str(check.sqltext)))
                changes.append(f"{table.name}.{check.name} replaced")
    indexes = {i["name"]: i for i in sa.inspect(bind).get_indexes(table.name)}
    declared = {i.name: i for i in table.indexes}
    for name in sorted(indexes):
        if name not in declared and name.startswith(f"ix_{table.name}_"):
            op.drop_index(name, table_name=table.name)  # an index earlier releases declared and this one does not
            changes.append(f"index {name} dropped")
    for name, index in sorted(declared.items()):
        if name in indexes and _index_differs(indexes[name], index, dialect):
            op.drop_index(name, table_name=table.name)
            indexes.pop(name)
        if name not in indexes:
            index.create(bind)
            changes.append(f"index {name} created")
    return changes
