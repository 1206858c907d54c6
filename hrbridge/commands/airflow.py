"""``hrbridge airflow pools [--check]``: the Airflow pools hrbridge's DAGs share, created idempotently.

The pools (``hrbridge_successfactors``, ``hrbridge_interview``) cap how many tasks call each
rate-limited system at once across all DAGs; their slots come from ``configs/operations.yaml``.
The command talks to the Airflow metadata database of the environment (``AIRFLOW_HOME`` /
``AIRFLOW__DATABASE__SQL_ALCHEMY_CONN``; the embedded one under ``HRBRIDGE_HOME`` when unset),
which must already be migrated (``airflow db migrate``). ``--check`` only reads: exit 3 when a pool
is missing or has other slots.
"""

from __future__ import annotations

import argparse
import os
import sys
from typing import Any

from hrbridge.cli import UsageError


def register(subparsers: Any) -> None:
    """Add ``hrbridge airflow pools``."""
    parser = subparsers.add_parser("airflow", help="Airflow set-up hrbridge's DAGs need (pools)",
                                   description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="airflow_command", metavar="ACTION")
    pools = sub.add_parser("pools", help="create or correct the pools the DAGs use (idempotent)")
    pools.add_argument("--check", action="store_true", help="only report missing or different pools (exit 3)")
    pools.set_defaults(func=run_pools)
    parser.set_defaults(func=lambda args: (parser.print_help(), 2)[1])


def run_pools(args: argparse.Namespace) -> int:
    """Create/correct the pools (or, with ``--check``, list what differs) and print one line per pool."""
    from sqlalchemy.exc import OperationalError, ProgrammingError

    from hrbridge.settings import ConfigError, load_settings

    settings = load_settings()
    os.environ.setdefault("AIRFLOW_HOME", str(settings.airflow_home))
    missing = _missing_sqlite_database(os.environ)
    if missing:  # importing Airflow would create an empty database file: a read-only command must not
        print(f"hrbridge airflow pools: no Airflow metadata database at {missing}; run `airflow db migrate` first",
              file=sys.stderr)
        return 1
    from hrbridge.operations.config import load_operations_config
    from hrbridge.operations.pools import pool_drift, sync_pools

    try:
        config = load_operations_config(settings)
        changes = pool_drift(config) if args.check else sync_pools(config)
    except ConfigError as exc:
        raise UsageError(str(exc)) from exc
    except (OperationalError, ProgrammingError) as exc:
        print(f"hrbridge airflow pools: the Airflow metadata database is not ready ({type(exc).__name__}); "
              "run `airflow db migrate` first", file=sys.stderr)
        return 1
    changed = {change.name: change for change in changes}
    for name, slots in sorted(config.pools.items()):
        if name not in changed:
            print(f"{name}: {slots} slots (as configured)")
        elif args.check:
            print(f"{changed[name]}")
        else:
            print(f"{name}: {slots} slots ({'created' if changed[name].current is None else 'updated'})")
    return 3 if args.check and changes else 0


def _missing_sqlite_database(env: Any) -> str | None:
    """The path of the default SQLite metadata database when it does not exist (None: exists or not SQLite)."""
    from pathlib import Path

    home = Path(env["AIRFLOW_HOME"])
    url = env.get("AIRFLOW__DATABASE__SQL_ALCHEMY_CONN")
    if url is None and (home / "airflow.cfg").exists():
        return None  # Airflow's own config decides; let it report
    url = url or f"sqlite:///{home / 'airflow.db'}"
    if not url.startswith("sqlite:///"):
        return None
    path = Path(url.removeprefix("sqlite:///").split("?")[0])
    return None if path.exists() else str(path)
