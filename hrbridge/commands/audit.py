"""``hrbridge audit verify|export|rollover|anchor``: prove the deletion log is intact, hand it to an auditor, replace its key.

``verify`` recomputes the hash chain and every signed run head and exits 1 naming the first bad
entry; it only reads (no key, file or table is created) and exits 2 when it has no trusted key.
``export`` writes a date range as CSV, JSON or a standalone HTML page with the chain status at the
top. ``rollover`` replaces the signing key explicitly: the old key signs a log entry naming the new one.
``anchor`` appends the log's latest signed head to the anchor target (each run does it too).
"""

from __future__ import annotations

import argparse
import json
from datetime import date
from pathlib import Path

from hrbridge.cli import UsageError


def _date(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"not a date (YYYY-MM-DD): {text!r}") from exc


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add ``audit verify`` and ``audit export``."""
    parser = subparsers.add_parser("audit", help="deletion log: verify the chain, export for auditors",
                                   description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="audit_command", metavar="ACTION")
    verify = sub.add_parser("verify", help="recompute the hash chain and signed heads (exit 1 if broken)")
    verify.add_argument("--json", action="store_true", help="print one JSON object")
    verify.add_argument("--public-key", type=Path,
                        help="trusted public key (PEM); default HRBRIDGE_AUDIT_PUBLIC_KEY or the local export")
    verify.add_argument("--anchor", type=Path,
                        help="the anchored heads the auditor holds (JSON Lines); default HRBRIDGE_AUDIT_ANCHOR")
    verify.set_defaults(func=run_verify)
    anchor = sub.add_parser("anchor", help="append the log's latest signed head to HRBRIDGE_AUDIT_ANCHOR")
    anchor.add_argument("--json", action="store_true", help="print one JSON object")
    anchor.set_defaults(func=run_anchor)
    export = sub.add_parser("export", help="write the log of a date range as csv, json or html")
    export.add_argument("--from", dest="date_from", required=True, type=_date, help="first day (UTC), YYYY-MM-DD")
    export.add_argument("--to", dest="date_to", required=True, type=_date, help="last day (UTC), YYYY-MM-DD")
    export.add_argument("--format", required=True, choices=["csv", "json", "html"])
    export.add_argument("--out", type=Path,
                        help="file to write (default: keep it in the artefact store and print its key)")
    export.add_argument("--lang", choices=("zh", "en"),
                        help="language of the export (default: HRBRIDGE_LANG, else the locale); times in HRBRIDGE_TZ")
    export.set_defaults(func=run_export)
    roll = sub.add_parser("rollover", help="replace the signing key; the old key endorses the new one in the log")
    roll.add_argument("--by", required=True, help="who replaces the key (written to the log)")
    roll.add_argument("--reason", required=True, help="why (written to the log)")
    roll.add_argument("--json", action="store_true", help="print one JSON object")
    roll.set_defaults(func=run_rollover)
    parser.set_defaults(func=lambda args: (parser.print_help(), 2)[1])


def run_verify(args: argparse.Namespace) -> int:
    """Verify the deletion log; exit 0 when intact, 1 when not."""
    from governance.audit import AuditKeyError
    from governance.audit.anchor import AnchorError
    from hrbridge.migrations import SchemaError
    from hrbridge.pipelines.retention import verify_deletion_log

    try:
        report = verify_deletion_log(public_key_path=args.public_key, anchor_path=args.anchor)
    except (AuditKeyError, AnchorError, SchemaError) as exc:
        raise UsageError(str(exc)) from exc
    if args.json:
        print(json.dumps(report.as_dict(), indent=2))
    elif report.ok:
        anchored = (f", reaches all {report.anchored_heads} heads anchored in {report.anchor}" if report.anchor
                    else "; no anchor checked, so entries cut from the end would go unnoticed")
        print(f"deletion log intact: {report.entries} entries, {report.heads} signed run heads{anchored} "
              f"({report.seconds:.2f} s)")
    else:
        print(f"deletion log BROKEN at entry seq {report.first_bad_seq}: {report.problem}")
    return 0 if report.ok else 1


def run_export(args: argparse.Namespace) -> int:
    """Export a date range of the deletion log."""
    from hrbridge.pipelines.retention import export_deletion_log

    if args.date_to < args.date_from:
        raise UsageError(f"--to {args.date_to} is before --from {args.date_from}")
    from hrbridge.artefacts import ArtefactError

    try:
        result = export_deletion_log(args.date_from, args.date_to, args.format, args.out, lang=args.lang)
    except OSError as exc:
        raise UsageError(f"cannot write {args.out}: {exc}") from exc
    except ArtefactError as exc:
        raise UsageError(str(exc)) from exc
    status = "chain intact" if result["chain_ok"] else "CHAIN BROKEN (see the top of the file)"
    where = result["out"] or f"artefact {result['key']}"
    print(f"wrote {result['entries']} entries to {where} ({result['format']}); {status}")
    return 0


def run_rollover(args: argparse.Namespace) -> int:
    """Replace the deletion log's signing key with an endorsed, logged rollover."""
    from governance.audit.rollover import rollover
    from hrbridge.pipelines.retention import anchor_log, audit_keys
    from hrbridge.settings import load_settings
    from hrbridge.shared_secrets import default_secret_store
    from hrbridge.store import hub_engine

    settings = load_settings()
    audit_keys(settings)  # refuses when the key the log trusts is missing
    result = rollover(hub_engine(settings), default_secret_store(settings), args.by, args.reason)
    result["anchor"] = anchor_log(settings, f"the key rolled over (log entry seq {result['seq']}) but its head was "
                                            "not anchored: ")
    if args.json:
        print(json.dumps(result, indent=2))
    else:
        print(f"signing key rolled over: {result['old_key']} -> {result['new_key']} (log entry seq {result['seq']}, "
              f"run {result['run_id']}); auditors keep verifying with the key they hold")
    return 0


def run_anchor(args: argparse.Namespace) -> int:
    """Append the log's latest signed head to the configured anchor target (again after a failure)."""
    from governance.audit.anchor import ANCHOR_ENV
    from hrbridge.pipelines.retention import anchor_config, anchor_log

    if anchor_config() is None:
        raise UsageError(f"no anchor target: set {ANCHOR_ENV} to a file the auditor keeps (see docs/security.md)")
    result = anchor_log()
    if args.json:
        print(json.dumps(result, indent=2))
    elif result is None:
        print("the deletion log has no signed head yet: nothing to anchor")
    else:
        print(f"anchored the head of run {result['run_id']} at seq {result['head_seq']} in {result['target']}")
    return 0
