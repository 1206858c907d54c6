"""Role-based access, deny by default: the policy, the enforced reader, and Postgres enforcement."""

from governance.access.policy import (
    AccessDenied,
    Policy,
    PolicyConfigError,
    Resource,
    Role,
    TableSpec,
    UnknownRole,
)
from governance.access.postgres import apply_postgres_policy, generate_postgres_sql, pg_role
from governance.access.reader import Principal, SecureReader

__all__ = [
    "AccessDenied",
    "Policy",
    "PolicyConfigError",
    "Principal",
    "Resource",
    "Role",
    "SecureReader",
    "TableSpec",
    "UnknownRole",
    "apply_postgres_policy",
    "generate_postgres_sql",
    "pg_role",
]
