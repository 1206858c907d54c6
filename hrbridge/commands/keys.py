"""``hrbridge keys``: status of the master keys and data keys, and master-key rotation.

Rotation creates a new master key and re-wraps every subject's data key with it; the encrypted
data itself is not touched, so it is fast and safe to interrupt (rerun to finish).
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from hrbridge.cli import UsageError


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add ``keys status`` and ``keys rotate``."""
    parser = subparsers.add_parser("keys", help="encryption keys: status and master-key rotation",
                                   description="Status of the master keys and data keys, master-key rotation, and encrypting stored plaintext.")
    sub = parser.add_subparsers(dest="keys_command", metavar="ACTION")
    status = sub.add_parser("status", help="master keys and data-key counts (never key material)")
    status.add_argument("--json", action="store_true", help="print one JSON object")
    status.set_defaults(func=run_status)
    rotate = sub.add_parser("rotate", help="new master key; re-wrap every data key with it")
    rotate.add_argument("--json", action="store_true", help="print one JSON summary object")
    rotate.add_argument("--destroy-old", action="store_true",
                        help="erase master keys no data key uses any more (old database backups of data_keys "
                             "become unreadable, which completes crypto-shredding for them)")
    rotate.set_defaults(func=run_rotate)
    backfill = sub.add_parser("encrypt-existing", help="encrypt plaintext already stored in a column, in place")
    backfill.add_argument("--table", required=True)
    backfill.add_argument("--column", required=True)
    backfill.add_argument("--subject-col", required=True, help="column holding the candidate id")
    backfill.add_argument("--record-col", required=True, help="primary-key column of the row")
    backfill.add_argument("--archive", action="store_true", help="the table is in HRBRIDGE_ARCHIVE_URL")
    backfill.add_argument("--json", action="store_true", help="print one JSON summary object")
    backfill.set_defaults(func=run_encrypt_existing)
    parser.set_defaults(func=lambda args: (parser.print_help(), 2)[1])


def _vault() -> Any:
    from connectors.sql import make_engine
    from governance.crypto import Vault
    from hrbridge.settings import load_settings

    settings = load_settings().ensure_dirs()
    return Vault.local(make_engine(settings.db_url), settings.home)


def _guard(action: Any) -> Any:
    from governance.crypto import KeyProviderUnavailable, KeyringPermissionError

    try:
        return action()
    except KeyringPermissionError as exc:
        raise UsageError(str(exc)) from exc
    except KeyProviderUnavailable as exc:
        print(f"hrbridge keys: key provider unavailable: {exc}", file=sys.stderr)
        return None


def run_status(args: argparse.Namespace) -> int:
    """Print the provider, current master key and live/shredded data-key counts."""
    status = _guard(lambda: _vault().key_status())
    if status is None:
        return 1
    if args.json:
        print(json.dumps(status, indent=2, default=str))
        return 0
    provider = status["provider"]
    print(f"provider: {provider.get('provider')}  {provider.get('path', '')}  mode {provider.get('mode', '-')}")
    print(f"current master key: {provider.get('current')}")
    for key_id, meta in sorted(provider.get("master_keys", {}).items()):
        state = f"destroyed {meta['destroyed_at']}" if meta.get("destroyed_at") else f"created {meta['created_at']}"
        print(f"  {key_id}: {status['live_keys_by_master'].get(key_id, 0)} data keys, {state}")
    print(f"live data keys: {sum(status['live_keys_by_master'].values())}, shredded: {status['shredded_keys']}")
    return 0


def run_rotate(args: argparse.Namespace) -> int:
    """Rotate the master key with a progress bar; print a summary (or JSON)."""
    vault = _guard(_vault)
    if vault is None:
        return 1
    from hrbridge.progress import count_progress, wanted

    with count_progress("re-wrapping data keys", wanted(args.json)) as progress:
        result = _guard(lambda: vault.rotate_master(progress, destroy_old=args.destroy_old))
    if result is None:
        return 1
    if args.json:
        print(json.dumps(result.as_dict(), indent=2))
    else:
        print(f"new master key {result.new_master_id}: re-wrapped {result.rewrapped} of {result.total} data keys"
              f" (previously under {', '.join(result.old_master_ids) or 'no key'})")
        if result.destroyed_master_ids:
            print(f"destroyed master keys: {', '.join(result.destroyed_master_ids)}")
    return 0


def run_encrypt_existing(args: argparse.Namespace) -> int:
    """Encrypt every plaintext value of one column in place (keys stay in the hub database)."""
    from connectors.sql import make_engine
    from governance.crypto.backfill import encrypt_existing
    from hrbridge.settings import load_settings

    vault = _guard(_vault)
    if vault is None:
        return 1
    target = make_engine(load_settings().archive_url) if args.archive else vault.engine
    from sqlalchemy.exc import NoSuchTableError

    try:
        count = _guard(lambda: encrypt_existing(vault, target, args.table, args.column,
                                                subject_col=args.subject_col, record_col=args.record_col))
    except NoSuchTableError as exc:
        raise UsageError(f"table {args.table!r} does not exist") from exc
    except (KeyError, ValueError) as exc:
        raise UsageError(str(exc).strip('"')) from exc
    if count is None:
        return 1
    if args.json:
        print(json.dumps({"table": args.table, "column": args.column, "encrypted": count}))
    else:
        print(f"encrypted {count} values of {args.table}.{args.column}")
    return 0
