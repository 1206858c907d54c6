"""``hrbridge keys``: status of the master keys and data keys, and master-key rotation.

Rotation creates a new master key and re-wraps every subject's data key with it; the encrypted
data itself is not touched, so it is fast and safe to interrupt (rerun to finish).
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from typing import Any

from hrbridge.cli import UsageError

log = logging.getLogger(__name__)


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add ``keys init``, ``status``, ``rotate``, ``rotate-kek`` and ``encrypt-existing``."""
    parser = subparsers.add_parser("keys", help="encryption keys: status and master-key rotation",
                                   description="Status of the master keys and data keys, master-key rotation, and encrypting stored plaintext.")
    sub = parser.add_subparsers(dest="keys_command", metavar="ACTION")
    init = sub.add_parser("init", help="create the first master key (nothing else ever creates one silently); "
                                       "with HRBRIDGE_KEY_PROVIDER=hub also the deletion-log keys and archive pepper")
    init.add_argument("--replace-lost", action="store_true",
                      help="create a new master key although data keys wrapped by a lost one exist "
                           "(their data stays unreadable for good)")
    init.add_argument("--json", action="store_true", help="print one JSON object")
    init.set_defaults(func=run_init)
    status = sub.add_parser("status", help="master keys and data-key counts (never key material); reads only")
    status.add_argument("--json", action="store_true", help="print one JSON object")
    status.set_defaults(func=run_status)
    rotate = sub.add_parser("rotate", help="new master key (the next epoch); re-wrap every data key with it")
    rotate.add_argument("--json", action="store_true", help="print one JSON summary object")
    rotate.add_argument("--destroy-old", action="store_true",
                        help="erase master keys no data key uses any more (database backups holding data keys "
                             "wrapped by them become unreadable, which completes crypto-shredding for them)")
    rotate.add_argument("--keep-epochs", type=_count, default=0, metavar="N",
                        help="with --destroy-old: keep the N epochs before the new one (backups of them stay "
                             "restorable); default 0")
    rotate.set_defaults(func=run_rotate)
    kek = sub.add_parser("rotate-kek", help="re-seal the hub's master keys under HRBRIDGE_KEK "
                                            "(the old KEK in HRBRIDGE_KEK_PREVIOUS)")
    kek.add_argument("--json", action="store_true", help="print one JSON summary object")
    kek.set_defaults(func=run_rotate_kek)
    backfill = sub.add_parser("encrypt-existing", help="encrypt plaintext already stored in a column, in place")
    backfill.add_argument("--table", required=True)
    backfill.add_argument("--column", required=True)
    backfill.add_argument("--subject-col", required=True, help="column holding the candidate id")
    backfill.add_argument("--record-col", required=True, help="primary-key column of the row")
    backfill.add_argument("--archive", action="store_true", help="the table is in HRBRIDGE_ARCHIVE_URL")
    backfill.add_argument("--json", action="store_true", help="print one JSON summary object")
    backfill.set_defaults(func=run_encrypt_existing)
    parser.set_defaults(func=lambda args: (parser.print_help(), 2)[1])


def _count(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = -1
    if value < 0:
        raise argparse.ArgumentTypeError(f"expected a whole number 0 or more, not {text!r}")
    return value


def _vault(read_only: bool = False) -> Any:
    """The installation's vault on the hub (HRBRIDGE_KEY_PROVIDER); ``read_only`` creates nothing."""
    from hrbridge.pipelines.pii import default_vault
    from hrbridge.settings import load_settings

    settings = load_settings()
    if read_only:
        from hrbridge.migrations.engines import read_only_engine

        return default_vault(read_only_engine(settings.db_url), settings.home, read_only=True, settings=settings)
    from hrbridge.store import hub_engine

    # The hub at its schema head first (master_keys, shared_secrets come from its migrations):
    # a table created here ahead of them would stop the next upgrade.
    settings = settings.ensure_dirs()
    return default_vault(hub_engine(settings), settings.home, settings=settings)


def run_init(args: argparse.Namespace) -> int:
    """Create the first master key — and with the hub provider the deletion-log keys and the archive
    pepper in the hub — a no-op (exit 0) for what exists, refused when a master key was lost."""
    from governance.crypto import NoMasterKey

    vault = _vault()
    try:
        before: str | None = vault.provider.current_key_id()
    except NoMasterKey:
        before = None
    current = vault.initialise(replace_lost=args.replace_lost)
    created = before is None
    if created and args.replace_lost:
        log.warning("keys init --replace-lost: new master key %s created next to data keys of a lost one", current)
    from hrbridge.shared_secrets import init_shared_secrets

    secrets = init_shared_secrets()
    if args.json:
        print(json.dumps({"current": current, "created": created, "secrets": secrets}))
    else:
        print(f"{'created' if created else 'already present:'} master key {current}")
        if secrets["store"] == "hub":
            print(f"shared secrets in the hub: created {', '.join(secrets['created']) or 'none'}; "
                  f"adopted from local files {', '.join(secrets['adopted']) or 'none'}")
    return 0


def run_status(args: argparse.Namespace) -> int:
    """Print the provider, current master key and live/shredded data-key counts; reads only.

    Exit 1 when data keys exist that no master key the provider holds can open (keyring lost or
    replaced, wrong KEK): nothing is created to hide that.
    """
    from hrbridge.migrations import SchemaMissing

    try:
        status = _vault(read_only=True).key_status()
    except SchemaMissing as exc:
        status = {"state": "no-master-key", "problem": str(exc), "live_keys_by_master": {}, "shredded_keys": 0,
                  "provider": {"current": None, "master_keys": {}}}
    code = 1 if status["state"] == "master-key-missing" else 0
    if args.json:
        print(json.dumps(status, indent=2, default=str))
    else:
        _print_status(status)
    if code:
        print(f"hrbridge keys status: {status['problem']}", file=sys.stderr)
    return code


def _print_status(status: dict[str, Any]) -> None:
    provider = status["provider"]
    where = provider.get("path") or (f"KEK {provider['kek_id']}" if provider.get("kek_id") else "")
    mode = f"  mode {provider['mode']}" if provider.get("mode") else ""
    print(f"provider: {provider.get('provider')}  {where}{mode}")
    print(f"current master key: {provider.get('current') or 'none'}")
    for key_id, meta in sorted(provider.get("master_keys", {}).items(), key=lambda kv: kv[1].get("epoch") or 0):
        state = f"destroyed {meta['destroyed_at']}" if meta.get("destroyed_at") else f"created {meta['created_at']}"
        print(f"  epoch {meta.get('epoch')} {key_id}: {status['live_keys_by_master'].get(key_id, 0)} data keys, {state}")
    print(f"live data keys: {sum(status['live_keys_by_master'].values())}, shredded: {status['shredded_keys']}")
    if status["state"] == "no-master-key":
        print("no master key yet: the first encrypting run creates it (local keyring), or `hrbridge keys init`")


def run_rotate(args: argparse.Namespace) -> int:
    """Rotate the master key with a progress bar; print a summary (or JSON)."""
    vault = _guard(_vault)
    from hrbridge.progress import count_progress, wanted

    with count_progress("re-wrapping data keys", wanted(args.json)) as progress:
        result = _guard(lambda: vault.rotate_master(progress, destroy_old=args.destroy_old,
                                                    keep_epochs=args.keep_epochs))
    if args.json:
        print(json.dumps(result.as_dict(), indent=2))
    else:
        print(f"new master key {result.new_master_id}: re-wrapped {result.rewrapped} of {result.total} data keys"
              f" (previously under {', '.join(result.old_master_ids) or 'no key'})")
        if result.destroyed_master_ids:
            print(f"destroyed master keys: {', '.join(result.destroyed_master_ids)}")
    return 0


def run_rotate_kek(args: argparse.Namespace) -> int:
    """Re-seal every live master key in the hub under the current HRBRIDGE_KEK."""
    vault = _vault()
    rotate = getattr(vault.provider, "rotate_kek", None)
    if rotate is None:
        raise UsageError("rotate-kek needs HRBRIDGE_KEY_PROVIDER=hub (the local keyring has no KEK)")
    count = rotate()
    from hrbridge.shared_secrets import default_secret_store

    secrets = default_secret_store().rotate_kek()  # type: ignore[attr-defined]  # hub store: KEK present
    if args.json:
        print(json.dumps({"kek_id": vault.provider.sealing_kek, "resealed": count, "resealed_secrets": secrets}))
    else:
        print(f"re-sealed {count} master keys and {secrets} shared secrets under KEK {vault.provider.sealing_kek}")
    return 0


def _guard(action: Any) -> Any:
    from governance.crypto import KeyringPermissionError

    try:
        return action()
    except KeyringPermissionError as exc:
        raise UsageError(str(exc)) from exc


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
