"""Roles and permissions from ``configs/roles.yaml``: deny by default, validated strictly on load.

A :class:`Policy` answers "may role R do action A on resource X (for subject S)?". Resources map
to a table and columns so readers and the Postgres generator know exactly which columns a role
may see; anything not granted is denied, and a role the policy does not know is denied too.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

IDENTIFIER = re.compile(r"[a-z_][a-z0-9_]{0,62}")
ALL_COLUMNS = "*"


class PolicyConfigError(ValueError):
    """roles.yaml is malformed: the message names the file and the offending entry."""


class AccessDenied(PermissionError):
    """A principal tried something its role does not allow; names role, resource and action."""

    def __init__(self, role: str, resource: str, action: str, reason: str = "") -> None:
        self.role, self.resource, self.action = role, resource, action
        message = f"role {role!r} may not {action} {resource!r}"
        super().__init__(f"{message}: {reason}" if reason else message)


class UnknownRole(AccessDenied):
    """The role is not defined in the policy (denied)."""


@dataclass(frozen=True)
class TableSpec:
    """How a table identifies records and subjects."""

    name: str
    record_column: str
    subject_column: str | None = None
    key_columns: tuple[str, ...] = ()

    @property
    def identity(self) -> tuple[str, ...]:
        """Columns returned with any readable resource of this table (record, subject, keys)."""
        cols = [self.record_column, *([self.subject_column] if self.subject_column else []), *self.key_columns]
        return tuple(dict.fromkeys(cols))


@dataclass(frozen=True)
class Resource:
    """A slice of data (table + columns) or a capability (no table)."""

    name: str
    actions: frozenset[str]
    description: str = ""
    table: str | None = None
    columns: tuple[str, ...] | str = ()
    encrypted: tuple[str, ...] = ()
    scope: str = "any"

    @property
    def all_columns(self) -> bool:
        """True when the resource exposes every column of its table (``columns: "*"``)."""
        return self.columns == ALL_COLUMNS


@dataclass(frozen=True)
class Role:
    """A role and what it is granted."""

    name: str
    grants: Mapping[str, frozenset[str]]
    description: str = ""


@dataclass(frozen=True)
class PostgresNames:
    """Names used when enforcing the policy inside Postgres."""

    role_prefix: str = "hrb_"
    view_schema: str = "hrb_access"
    subject_setting: str = "hrbridge.subject_id"


@dataclass(frozen=True)
class Policy:
    """The whole access policy; build it with :meth:`from_yaml` or :meth:`from_dict`."""

    actions: frozenset[str]
    tables: Mapping[str, TableSpec]
    resources: Mapping[str, Resource]
    roles: Mapping[str, Role]
    postgres: PostgresNames = field(default_factory=PostgresNames)
    source: str = "<dict>"

    # -- loading ---------------------------------------------------------------------------------
    @classmethod
    def from_yaml(cls, path: Path | str) -> Policy:
        """Load and validate a roles file; raises :class:`PolicyConfigError` naming file and entry."""
        path = Path(path)
        try:
            data = yaml.safe_load(path.read_text(encoding="utf-8"))
        except FileNotFoundError as exc:
            raise PolicyConfigError(f"roles file not found: {path}") from exc
        except yaml.YAMLError as exc:
            raise PolicyConfigError(f"roles file {path} is not valid YAML: {exc}") from exc
        return cls.from_dict(data, source=str(path))

    @classmethod
    def from_dict(cls, data: Any, *, source: str = "<dict>") -> Policy:
        """Validate a parsed roles document (see ``configs/roles.yaml``)."""
        return _Loader(source).policy(data)

    # -- decisions ---------------------------------------------------------------------------------
    def allows(
        self, role: str, resource: str, action: str, *, subject_id: str | None = None,
        principal_subject: str | None = None,
    ) -> bool:
        """True only if ``role`` is granted ``action`` on ``resource`` (and, for own-scoped
        resources, ``subject_id`` is the principal's own subject). Unknown anything → False."""
        return self._reason(role, resource, action, subject_id, principal_subject) is None

    def require(
        self, role: str, resource: str, action: str, *, subject_id: str | None = None,
        principal_subject: str | None = None,
    ) -> None:
        """Raise :class:`AccessDenied` (or :class:`UnknownRole`) unless :meth:`allows`."""
        reason = self._reason(role, resource, action, subject_id, principal_subject)
        if reason is not None:
            error = UnknownRole if role not in self.roles else AccessDenied
            raise error(role, resource, action, reason)

    def _reason(
        self, role: str, resource: str, action: str, subject_id: str | None, principal_subject: str | None
    ) -> str | None:
        if role not in self.roles:
            return f"unknown role (known roles: {', '.join(sorted(self.roles))})"
        if resource not in self.resources:
            return "unknown resource"
        if action not in self.actions:
            return f"unknown action (known actions: {', '.join(sorted(self.actions))})"
        if action not in self.roles[role].grants.get(resource, frozenset()):
            return "not granted"
        if self.resources[resource].scope == "own":
            if subject_id is None or principal_subject is None:
                return "own-subject resource needs both the subject and the principal's subject"
            if str(subject_id) != str(principal_subject):
                return "only the principal's own subject is allowed"
        return None

    def grants_of(self, role: str) -> dict[str, list[str]]:
        """Resource → sorted actions granted to ``role`` (empty for unknown roles)."""
        found = self.roles.get(role)
        return {r: sorted(a) for r, a in sorted(found.grants.items())} if found else {}

    def resources_on(self, table: str) -> list[Resource]:
        """Resources that live in ``table``."""
        return [r for r in self.resources.values() if r.table == table]


class _Loader:
    """Validates a roles document, collecting the path of every problem."""

    def __init__(self, source: str) -> None:
        self.source = source

    def fail(self, where: str, problem: str) -> PolicyConfigError:
        return PolicyConfigError(f"{self.source}: {where}: {problem}")

    def mapping(self, value: Any, where: str) -> dict[str, Any]:
        if value is None:
            return {}
        if not isinstance(value, dict):
            raise self.fail(where, f"expected a mapping, got {type(value).__name__}")
        return value

    def names(self, value: Any, where: str) -> tuple[str, ...]:
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise self.fail(where, "expected a list of names")
        for name in value:
            self.identifier(name, where)
        return tuple(value)

    def identifier(self, name: Any, where: str) -> str:
        if not isinstance(name, str) or not IDENTIFIER.fullmatch(name):
            raise self.fail(where, f"{name!r} is not a plain lower-case SQL identifier")
        return name

    def policy(self, data: Any) -> Policy:
        data = self.mapping(data, "document")
        # "airflow" maps Airflow users/roles to these roles; the browser pages read it.
        unknown = set(data) - {"version", "actions", "postgres", "tables", "resources", "roles", "airflow"}
        if unknown:
            raise self.fail("document", f"unknown keys {sorted(unknown)}")
        actions = frozenset(self.names(data.get("actions"), "actions"))
        tables = {n: self.table(n, v) for n, v in self.mapping(data.get("tables"), "tables").items()}
        resources = {
            n: self.resource(n, v, actions, tables)
            for n, v in self.mapping(data.get("resources"), "resources").items()
        }
        roles = {n: self.role(n, v, resources) for n, v in self.mapping(data.get("roles"), "roles").items()}
        if not roles:
            raise self.fail("roles", "no roles defined")
        pg = self.mapping(data.get("postgres"), "postgres")
        names = PostgresNames(
            role_prefix=self.identifier(pg.get("role_prefix", "hrb_"), "postgres.role_prefix"),
            view_schema=self.identifier(pg.get("view_schema", "hrb_access"), "postgres.view_schema"),
            subject_setting=str(pg.get("subject_setting", "hrbridge.subject_id")),
        )
        if not re.fullmatch(r"[a-z_]+\.[a-z_]+", names.subject_setting):
            raise self.fail("postgres.subject_setting", "expected a dotted name like hrbridge.subject_id")
        return Policy(actions, tables, resources, roles, names, self.source)

    def table(self, name: str, value: Any) -> TableSpec:
        where = f"tables.{name}"
        self.identifier(name, where)
        spec = self.mapping(value, where)
        subject = spec.get("subject_column")
        return TableSpec(
            name=name,
            record_column=self.identifier(spec.get("record_column"), f"{where}.record_column"),
            subject_column=self.identifier(subject, f"{where}.subject_column") if subject else None,
            key_columns=self.names(spec.get("key_columns", []), f"{where}.key_columns"),
        )

    def resource(self, name: str, value: Any, actions: frozenset[str], tables: dict[str, TableSpec]) -> Resource:
        where = f"resources.{name}"
        spec = self.mapping(value, where)
        allowed = frozenset(self.names(spec.get("actions"), f"{where}.actions"))
        if not allowed <= actions:
            raise self.fail(f"{where}.actions", f"unknown actions {sorted(allowed - actions)}")
        table = spec.get("table")
        columns: tuple[str, ...] | str = ()
        encrypted: tuple[str, ...] = ()
        if table is not None:
            if table not in tables:
                raise self.fail(f"{where}.table", f"table {table!r} is not declared under tables")
            raw = spec.get("columns")
            columns = ALL_COLUMNS if raw == ALL_COLUMNS else self.names(raw, f"{where}.columns")
            encrypted = self.names(spec.get("encrypted", []), f"{where}.encrypted")
            if columns != ALL_COLUMNS and not set(encrypted) <= set(columns):
                raise self.fail(f"{where}.encrypted", "encrypted columns must be listed in columns")
            if encrypted and not tables[table].subject_column:
                raise self.fail(f"{where}.encrypted", f"table {table!r} needs a subject_column to decrypt")
        elif spec.get("columns") or spec.get("encrypted"):
            raise self.fail(where, "columns need a table")
        scope = spec.get("scope", "any")
        if scope not in ("any", "own"):
            raise self.fail(f"{where}.scope", f"expected 'any' or 'own', got {scope!r}")
        if scope == "own" and (table is None or not tables[table].subject_column):
            raise self.fail(f"{where}.scope", "an own-scoped resource needs a table with a subject_column")
        return Resource(name, allowed, str(spec.get("description", "")), table, columns, encrypted, scope)

    def role(self, name: str, value: Any, resources: dict[str, Resource]) -> Role:
        where = f"roles.{name}"
        self.identifier(name, where)
        spec = self.mapping(value, where)
        grants: dict[str, frozenset[str]] = {}
        for resource, actions in self.mapping(spec.get("grants"), f"{where}.grants").items():
            if resource not in resources:
                raise self.fail(f"{where}.grants", f"unknown resource {resource!r}")
            granted = frozenset(self.names(actions, f"{where}.grants.{resource}"))
            extra = granted - resources[resource].actions
            if extra:
                raise self.fail(
                    f"{where}.grants.{resource}",
                    f"actions {sorted(extra)} are not defined for this resource "
                    f"(allowed: {sorted(resources[resource].actions)})",
                )
            grants[resource] = granted
        return Role(name, grants, str(spec.get("description", "")))
