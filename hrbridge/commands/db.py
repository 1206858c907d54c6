"""``hrbridge db upgrade|check|revision``: the versioned schemas of the hub and the archive.

``upgrade`` runs the pending Alembic revisions (a database from a release before versioned
schemas is adopted, its rows kept). ``check`` only reads: exit 0 when the database is at head and
matches the declarations, 3 naming every difference otherwise, 2 when it cannot be reached; it
never creates a file, a table or a key. ``revision`` (for contributors) writes the next revision
file from the difference between the declarations and a scratch database at head.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add ``db upgrade``, ``db check`` and ``db revision``."""
    parser = subparsers.add_parser("db", help="upgrade or check the hub and archive schemas",
                                   description=__doc__.splitlines()[0])
    actions = parser.add_subparsers(dest="db_command", metavar="ACTION")
    upgrade = actions.add_parser("upgrade", help="run pending schema revisions (the hub; --archive for the archive)")
    check = actions.add_parser("check", help="read-only: is the database at head and as declared? (exit 3 if not)")
    for action in (upgrade, check):
        action.add_argument("--archive", action="store_true", help="the archive database instead of the hub")
        action.add_argument("--json", action="store_true", help="print one JSON object")
    upgrade.set_defaults(func=run_upgrade)
    check.set_defaults(func=run_check)
    revision = actions.add_parser("revision", help="write the next revision from the declarations (contributors)")
    revision.add_argument("-m", "--message", required=True, help="what the revision changes, one line")
    revision.add_argument("--archive", action="store_true", help="a revision of the archive instead of the hub")
    revision.add_argument("--empty", action="store_true", help="an empty revision to fill in by hand (data changes)")
    revision.set_defaults(func=run_revision)
    parser.set_defaults(func=lambda args: (parser.print_help(), 2)[1])


def _target(args: argparse.Namespace, create: bool = False) -> tuple[str, str]:
    from hrbridge.migrations import ARCHIVE, HUB
    from hrbridge.settings import load_settings

    settings = load_settings()
    if create:
        settings.ensure_dirs()  # the embedded default lives in HRBRIDGE_HOME
    return (ARCHIVE, settings.archive_url) if args.archive else (HUB, settings.db_url)


def _unreachable(name: str, url: str, exc: Exception) -> int:
    from sqlalchemy.engine import make_url

    shown = make_url(url).render_as_string(hide_password=True) if "://" in url else url
    print(f"hrbridge db: the {name} database {shown} cannot be reached: {str(exc).splitlines()[0]}", file=sys.stderr)
    return 2


def run_upgrade(args: argparse.Namespace) -> int:
    """Upgrade to head; exit 2 when the database cannot be reached."""
    import sqlalchemy as sa

    from connectors.sql import make_engine
    from hrbridge.migrations import sqlite_path, upgrade

    name, url = _target(args, create=True)
    path = sqlite_path(url)
    if path is not None:
        if not path.parent.is_dir():
            return _unreachable(name, url, FileNotFoundError(f"no folder {path.parent}"))
    engine = make_engine(url)
    try:
        result = upgrade(engine, name)
    except (sa.exc.OperationalError, sa.exc.InterfaceError) as exc:
        if _connects(engine):
            raise
        return _unreachable(name, url, exc)
    finally:
        engine.dispose()
    if args.json:
        print(json.dumps(result.as_dict()))
    elif result.changed:
        print(f"{name} database {result.url}: upgraded from {result.before or 'no revision'} to {result.after}")
    else:
        print(f"{name} database {result.url}: already at {result.after}")
    return 0


def _connects(engine: Any) -> bool:
    try:
        with engine.connect():
            return True
    except Exception:  # noqa: BLE001 - any failure to connect means unreachable
        return False


def run_check(args: argparse.Namespace) -> int:
    """Compare the database with the declarations, read-only; 0 matches, 3 differs, 2 unreachable."""
    import sqlalchemy as sa

    from hrbridge.migrations import (
        SchemaMissing,
        SchemaStatus,
        display_url,
        head_revision,
        read_only_engine,
        schema_status,
    )

    name, url = _target(args)
    try:
        engine = read_only_engine(url, name)
    except SchemaMissing as exc:
        status = SchemaStatus(name, display_url(url), None, head_revision(name), [str(exc)])
    else:
        try:
            with engine.connect() as conn:
                status = schema_status(conn, name, display_url(engine))
        except (sa.exc.OperationalError, sa.exc.InterfaceError) as exc:
            return _unreachable(name, url, exc)
        finally:
            engine.dispose()
    if args.json:
        print(json.dumps(status.as_dict()))
    elif status.ok:
        print(f"{name} database {status.url}: at {status.head}, matches the declarations")
    else:
        print(f"{name} database {status.url}: {len(status.differences)} difference(s) from {status.head}:")
        for difference in status.differences:
            print(f"  - {difference}")
    return 0 if status.ok else 3


def run_revision(args: argparse.Namespace) -> int:
    """Write ``versions/NNNN_<slug>.py`` with the operations that bring head to the declarations."""
    import re
    import tempfile
    from pathlib import Path

    from alembic import command

    from connectors.sql import make_engine
    from hrbridge.migrations import ARCHIVE, HUB, head_revision, upgrade
    from hrbridge.migrations.runner import alembic_config, script_directory

    name = ARCHIVE if args.archive else HUB
    number = int(head_revision(name).rsplit("_", 1)[1]) + 1
    slug = re.sub(r"[^a-z0-9]+", "_", args.message.lower()).strip("_")[:40] or "change"
    with tempfile.TemporaryDirectory(prefix="hrbridge-revision-") as folder:
        engine = make_engine(f"sqlite:///{Path(folder) / 'scratch.db'}")
        upgrade(engine, name)
        config = alembic_config(name)
        with engine.begin() as conn:
            config.attributes["connection"] = conn
            script = command.revision(config, message=args.message, autogenerate=not args.empty,
                                      rev_id=f"{name}_{number:04d}", head="head")
        engine.dispose()
    script_directory.cache_clear()  # the chain has one revision more
    scripts = script if isinstance(script, list) else [script]
    for written in scripts:
        path = Path(written.path)
        target = path.with_name(f"{number:04d}_{slug}.py")
        path.rename(target)
        print(f"wrote {target}: review it (autogenerate does not see renames, data changes or triggers), "
              "then run the suite")
    return 0
