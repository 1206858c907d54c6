"""Enforce the access policy inside Postgres too: roles, column-restricted views, grants and RLS.

Generated from the same ``roles.yaml``: one ``NOLOGIN`` role per policy role (``hrb_<role>``), one
view per table resource in a dedicated schema exposing only the resource's columns plus the
record/subject identifiers, ``GRANT``s per action (read → SELECT, write → UPDATE of the resource's
columns, delete → DELETE, request → INSERT), and row-level security for own-scoped resources
(``<subject column> = hrb_access.current_subject()``: the person ``subject_logins`` maps the
session's login to, read through ``session_user``, which a session cannot choose; a setting such
as ``hrbridge.subject_id`` would be the session's own word). Base tables are never granted
to these roles, so a database login that is a member of ``hrb_hr_specialist`` cannot select video
references however it writes its query. Identifiers come from the validated policy only.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import sqlalchemy as sa

from governance.access.policy import IDENTIFIER, Policy, Resource


def _q(name: str) -> str:
    if not IDENTIFIER.fullmatch(name):
        raise ValueError(f"refusing to use {name!r} as an SQL identifier")
    return f'"{name}"'


def pg_role(policy: Policy, role: str) -> str:
    """Database role name of a policy role, e.g. ``hrb_hr_specialist``."""
    return f"{policy.postgres.role_prefix}{role}"


def view_name(resource: Resource) -> str:
    """View name of a table resource, e.g. ``candidate_basic`` for ``candidate.basic``."""
    return resource.name.replace(".", "_")


@dataclass
class PostgresPlan:
    """The statements that enforce a policy, and what had to be skipped (missing tables/columns)."""

    statements: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)

    def sql(self) -> str:
        """The plan as one SQL script."""
        notes = "".join(f"-- skipped: {s}\n" for s in self.skipped)
        return notes + "\n".join(s.rstrip() + ";" for s in self.statements) + "\n"


def generate_postgres_sql(
    policy: Policy, *, table_columns: Mapping[str, Sequence[str]] | None = None, schema: str = "public"
) -> PostgresPlan:
    """Build the enforcement plan. With ``table_columns`` (from the live database) resources on
    missing tables and missing columns are skipped and ``"*"`` expands to the real columns."""
    plan = PostgresPlan()
    views = _q(policy.postgres.view_schema)
    roles = sorted(policy.roles)
    for role in roles:
        plan.statements.append(
            f"DO $$ BEGIN CREATE ROLE {_q(pg_role(policy, role))} NOLOGIN; "
            "EXCEPTION WHEN duplicate_object OR unique_violation THEN NULL; END $$"
        )
    plan.statements.append(f"CREATE SCHEMA IF NOT EXISTS {views}")
    plan.statements.append(f"REVOKE ALL ON SCHEMA {views} FROM PUBLIC")
    role_list = ", ".join(_q(pg_role(policy, r)) for r in roles)
    plan.statements.append(f"REVOKE ALL ON ALL TABLES IN SCHEMA {views} FROM PUBLIC, {role_list}")
    for table in sorted({r.table for r in policy.resources.values() if r.table}):
        if table_columns is not None and table not in table_columns:
            continue
        plan.statements.append(f"REVOKE ALL ON TABLE {_q(schema)}.{_q(table)} FROM PUBLIC, {role_list}")
    current_subject = f"{views}.{_q('current_subject')}"
    mapped = table_columns is None or "subject_logins" in table_columns
    if mapped:
        # SECURITY DEFINER: the function reads the operator's mapping, which the roles cannot read;
        # session_user is the login that connected, whatever role the session switched to.
        mapping = f"{_q(schema)}.{_q('subject_logins')}"
        body = "SELECT subject_id FROM " + mapping + " WHERE login = session_user::text"  # noqa: S608 - identifiers only
        plan.statements.append(
            f"CREATE OR REPLACE FUNCTION {current_subject}() RETURNS text LANGUAGE sql STABLE SECURITY DEFINER "
            f"SET search_path = pg_catalog AS $$ {body} $$")
        plan.statements.append(f"REVOKE ALL ON FUNCTION {current_subject}() FROM PUBLIC")
    for resource in sorted(policy.resources.values(), key=lambda r: r.name):
        if resource.table is None:
            continue
        spec = policy.tables[resource.table]
        present = table_columns.get(resource.table) if table_columns is not None else None
        if table_columns is not None and present is None:
            plan.skipped.append(f"resource {resource.name}: table {resource.table} does not exist")
            continue
        grantees = {
            role: sorted(policy.roles[role].grants.get(resource.name, ())) for role in roles
            if policy.roles[role].grants.get(resource.name)
        }
        base = f"{_q(schema)}.{_q(resource.table)}"
        if resource.scope == "own":
            subject = _q(spec.subject_column or "")
            plan.statements.append(f"ALTER TABLE {base} ENABLE ROW LEVEL SECURITY")
            if not mapped:  # RLS on, no policy: the own-scope roles see and insert nothing
                plan.skipped.append(f"resource {resource.name}: table subject_logins does not exist "
                                    "(run `hrbridge db upgrade`)")
                continue
            for role, actions in grantees.items():
                policy_name = _q(f"hrb_own_{resource.table}_{role}"[:63])
                plan.statements.append(f"DROP POLICY IF EXISTS {policy_name} ON {base}")
                own = f"{subject} = {current_subject}()"
                plan.statements.append(f"GRANT USAGE ON SCHEMA {views} TO {_q(pg_role(policy, role))}")
                plan.statements.append(f"GRANT EXECUTE ON FUNCTION {current_subject}() TO {_q(pg_role(policy, role))}")
                plan.statements.append(
                    f"CREATE POLICY {policy_name} ON {base} TO {_q(pg_role(policy, role))} "
                    f"USING ({own}) WITH CHECK ({own})"
                )
                privileges = [p for a, p in (("read", "SELECT"), ("request", "INSERT"), ("write", "UPDATE"),
                                             ("delete", "DELETE")) if a in actions]
                plan.statements.append(f"GRANT {', '.join(privileges)} ON {base} TO {_q(pg_role(policy, role))}")
                if "INSERT" in privileges:
                    plan.statements.append(_grant_sequences(base, _q(pg_role(policy, role))))
            continue
        if resource.all_columns:
            columns = list(present) if present is not None else ["*"]
        else:
            wanted = list(dict.fromkeys([*spec.identity, *resource.columns]))
            columns = [c for c in wanted if present is None or c in present]
            missing = [c for c in wanted if present is not None and c not in present]
            if missing:
                plan.skipped.append(f"resource {resource.name}: columns {missing} not in {resource.table}")
        select = ", ".join(c if c == "*" else _q(c) for c in columns)
        view = f"{views}.{_q(view_name(resource))}"
        plan.statements.append(f"DROP VIEW IF EXISTS {view}")
        # Identifiers only, each validated and quoted by _q: no data is interpolated.
        plan.statements.append(f"CREATE VIEW {view} WITH (security_barrier) AS SELECT {select} FROM {base}")  # noqa: S608
        plan.statements.append(f"COMMENT ON VIEW {view} IS {_literal(f'hrbridge resource {resource.name}')}")
        identity = set(spec.identity)
        for role, actions in grantees.items():
            grantee = _q(pg_role(policy, role))
            plan.statements.append(f"GRANT USAGE ON SCHEMA {views} TO {grantee}")
            privileges = []
            if "read" in actions:
                privileges.append("SELECT")
            writable = [_q(c) for c in columns if c != "*" and c not in identity]
            if "write" in actions and writable:
                privileges.append(f"UPDATE ({', '.join(writable)})")
            if "delete" in actions:
                privileges.append("DELETE")
            if privileges:
                plan.statements.append(f"GRANT {', '.join(privileges)} ON {view} TO {grantee}")
    return plan


_SEQUENCE_GRANT = (
    "DO $$ DECLARE seq text; BEGIN "
    "FOR seq IN SELECT pg_get_serial_sequence({table}, attname) FROM pg_attribute "
    "WHERE attrelid = {table}::regclass AND attnum > 0 AND NOT attisdropped "
    "AND pg_get_serial_sequence({table}, attname) IS NOT NULL LOOP "
    "EXECUTE 'GRANT USAGE ON SEQUENCE ' || seq || {to}; "
    "END LOOP; END $$"
)


def _grant_sequences(base: str, grantee: str) -> str:
    """Let ``grantee`` draw ids from the serial/identity sequences of ``base`` (needed to INSERT)."""
    # base and grantee are identifiers already validated and quoted by _q
    return _SEQUENCE_GRANT.format(table=_literal(base), to=_literal(" TO " + grantee))  # noqa: S608


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def live_table_columns(engine: sa.Engine, schema: str = "public") -> dict[str, list[str]]:
    """Columns of every table in ``schema`` of the live database (for :func:`generate_postgres_sql`)."""
    inspector = sa.inspect(engine)
    return {t: [c["name"] for c in inspector.get_columns(t, schema=schema)]
            for t in inspector.get_table_names(schema=schema)}


def apply_postgres_policy(engine: sa.Engine, policy: Policy, *, schema: str = "public") -> PostgresPlan:
    """Create/refresh the roles, views, grants and RLS of ``policy`` in one transaction.

    Idempotent: rerun after a schema or policy change. Only tables that exist are covered; the
    returned plan lists what was skipped. Raises ``ValueError`` on a non-Postgres engine.
    """
    if engine.dialect.name != "postgresql":
        raise ValueError(f"database-level enforcement needs Postgres, not {engine.dialect.name}")
    plan = generate_postgres_sql(policy, table_columns=live_table_columns(engine, schema), schema=schema)
    with engine.begin() as conn:
        for statement in plan.statements:
            conn.exec_driver_sql(statement)
    return plan
