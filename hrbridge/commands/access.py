"""``hrbridge access``: check a role's permission, list the matrix, and enforce it in Postgres.

The policy is ``configs/roles.yaml`` (or ``--roles FILE``), deny by default.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from hrbridge.cli import UsageError

DENIED_EXIT = 3
READS = {
    "candidates": "read_candidates",
    "scores": "read_scores",
    "media": "read_media_refs",
    "deletion_log": "read_deletion_log",
    "own_deletion_requests": "read_own_deletion_requests",
}


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add ``access check``, ``access roles``, ``access sql`` and ``access apply``."""
    parser = subparsers.add_parser("access", help="role-based access: check, list, Postgres enforcement",
                                   description="Check a role's permissions, list the matrix, read data as a role, and enforce the policy in Postgres.")
    parser.add_argument("--roles", help="roles file (default: configs/roles.yaml)")
    sub = parser.add_subparsers(dest="access_command", metavar="ACTION")
    check = sub.add_parser("check", help="may ROLE do ACTION on RESOURCE? exit 0 yes, 3 no, 2 unknown role")
    check.add_argument("--role", required=True)
    check.add_argument("--resource", required=True)
    check.add_argument("--action", required=True)
    check.add_argument("--subject", help="subject (candidate id) acted on, for own-scoped resources")
    check.add_argument("--principal-subject", help="the principal's own subject id (role candidate)")
    check.add_argument("--json", action="store_true", help="print one JSON object")
    check.set_defaults(func=run_check)
    roles = sub.add_parser("roles", help="print every role's grants")
    roles.add_argument("--json", action="store_true", help="print one JSON object")
    roles.set_defaults(func=run_roles)
    sql = sub.add_parser("sql", help="print the SQL that enforces the policy in the database")
    sql.add_argument("--dialect", default="postgresql", help="only postgresql is supported")
    sql.add_argument("--live", action="store_true",
                     help="fit the SQL to the tables/columns of HRBRIDGE_DB_URL (must be Postgres)")
    sql.set_defaults(func=run_sql)
    read = sub.add_parser("read", help="read hub data as a role, through the enforced reader")
    read.add_argument("--role", required=True)
    read.add_argument("--data", required=True, choices=sorted(READS), help="what to read")
    read.add_argument("--candidate", action="append", help="only this candidate id (repeatable)")
    read.add_argument("--subject", help="the principal's own subject id (role candidate)")
    read.add_argument("--format", choices=("table", "json", "csv"), default="table")
    read.set_defaults(func=run_read)
    apply = sub.add_parser("apply", help="create/refresh roles, views, grants and RLS in HRBRIDGE_DB_URL")
    apply.add_argument("--json", action="store_true", help="print one JSON summary object")
    apply.set_defaults(func=run_apply)
    mapping = sub.add_parser("map-login", help="say which person a database login is (row-level security "
                                               "and self-filed deletion requests trust only this)")
    mapping.add_argument("login", help="the database login (session_user)")
    mapping.add_argument("--subject", help="the candidate id the login belongs to")
    mapping.add_argument("--remove", action="store_true", help="remove the login's mapping")
    mapping.add_argument("--by", default="operator", help="who maps it (kept with the mapping)")
    mapping.set_defaults(func=run_map_login)
    parser.set_defaults(func=lambda args: (parser.print_help(), 2)[1])


def load_policy(args: argparse.Namespace) -> Any:
    """The policy from ``--roles`` or ``configs/roles.yaml``; config problems become usage errors."""
    from governance.access import Policy, PolicyConfigError
    from hrbridge.settings import load_settings

    path = args.roles or load_settings().configs_dir / "roles.yaml"
    try:
        return Policy.from_yaml(path)
    except PolicyConfigError as exc:
        raise UsageError(str(exc)) from exc


def run_check(args: argparse.Namespace) -> int:
    """Answer one permission question; exit 0 allowed, 3 denied, 2 unknown role."""
    from governance.access import AccessDenied

    policy = load_policy(args)
    try:
        policy.require(args.role, args.resource, args.action, subject_id=args.subject,
                       principal_subject=args.principal_subject)
        allowed, reason = True, ""
    except AccessDenied as exc:
        allowed, reason = False, str(exc)
    if args.json:
        print(json.dumps({"role": args.role, "resource": args.resource, "action": args.action,
                          "allowed": allowed, "reason": reason}))
    else:
        print("allowed" if allowed else f"denied: {reason}")
    if args.role not in policy.roles:
        raise UsageError(f"unknown role {args.role!r}; known roles: {', '.join(sorted(policy.roles))}")
    return 0 if allowed else DENIED_EXIT


def run_roles(args: argparse.Namespace) -> int:
    """Print each role with its description and grants."""
    policy = load_policy(args)
    matrix = {name: {"description": role.description, "grants": policy.grants_of(name)}
              for name, role in sorted(policy.roles.items())}
    if args.json:
        print(json.dumps(matrix, indent=2, ensure_ascii=False))
        return 0
    for name, entry in matrix.items():
        print(f"{name}: {entry['description']}")
        for resource, actions in entry["grants"].items():
            print(f"  {resource}: {', '.join(actions)}")
    return 0


def run_read(args: argparse.Namespace) -> int:
    """Print hub data as ``--role`` sees it: forbidden columns are never selected or decrypted."""
    from connectors.sql import make_engine
    from governance.access import AccessDenied, Principal, SecureReader, UnknownRole
    from governance.crypto import CryptoError
    from hrbridge.pipelines.pii import default_vault
    from hrbridge.settings import load_settings

    policy = load_policy(args)
    settings = load_settings().ensure_dirs()
    engine = make_engine(settings.db_url)
    reader = SecureReader(engine, policy, default_vault(engine, settings.home, settings=settings), Principal(args.role, args.subject))
    method = getattr(reader, READS[args.data])
    try:
        frame = method(args.candidate) if args.data in ("candidates", "scores", "media") else method()
    except UnknownRole as exc:
        raise UsageError(str(exc)) from exc
    except AccessDenied as exc:
        print(f"denied: {exc}", file=sys.stderr)
        return DENIED_EXIT
    except (LookupError, CryptoError) as exc:
        print(f"hrbridge access read: {exc}", file=sys.stderr)
        return 1
    if args.format == "json":
        print(frame.to_json(orient="records", force_ascii=False, date_format="iso", default_handler=str))
    elif args.format == "csv":
        sys.stdout.write(frame.to_csv(index=False))
    else:
        print(frame.to_string(index=False) if len(frame) else "(no rows)")
    return 0


def _postgres_engine() -> Any:
    from connectors.sql import make_engine
    from hrbridge.settings import load_settings

    engine = make_engine(load_settings().db_url)
    if engine.dialect.name != "postgresql":
        raise UsageError(f"HRBRIDGE_DB_URL is {engine.dialect.name}; database enforcement needs Postgres")
    return engine


def run_sql(args: argparse.Namespace) -> int:
    """Print the roles/grants/views/RLS script for the policy."""
    from governance.access import generate_postgres_sql
    from governance.access.postgres import live_table_columns

    if args.dialect not in ("postgresql", "postgres"):
        raise UsageError(f"--dialect {args.dialect!r} is not supported; use postgresql")
    policy = load_policy(args)
    columns = live_table_columns(_postgres_engine()) if args.live else None
    sys.stdout.write(generate_postgres_sql(policy, table_columns=columns).sql())
    return 0


def run_apply(args: argparse.Namespace) -> int:
    """Apply the policy to the hub database (Postgres)."""
    from governance.access import apply_postgres_policy

    policy = load_policy(args)
    plan = apply_postgres_policy(_postgres_engine(), policy)
    if args.json:
        print(json.dumps({"statements": len(plan.statements), "skipped": plan.skipped}, indent=2))
    else:
        print(f"applied {len(plan.statements)} statements")
        for note in plan.skipped:
            print(f"skipped: {note}")
    return 0


def run_map_login(args: argparse.Namespace) -> int:
    """Map (or unmap) a database login to the person it is, in the hub's subject_logins."""
    from governance.retention.binding import map_login, unmap_login
    from hrbridge.store import hub_engine

    if args.remove == bool(args.subject):
        raise UsageError("give --subject CANDIDATE to map the login, or --remove to unmap it")
    if not args.login.strip() or len(args.login) > 63:
        raise UsageError("the login must be a database role name (1 to 63 characters)")
    engine = hub_engine()
    if args.remove:
        removed = unmap_login(engine, args.login)
        print(f"login {args.login}: {'mapping removed' if removed else 'was not mapped'}")
        return 0
    map_login(engine, args.login, args.subject.strip(), args.by)
    print(f"login {args.login} is candidate {args.subject.strip()} for row-level security and self-filed requests")
    return 0
