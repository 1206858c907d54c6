"""``hrbridge retention plan|run``: what retention would delete now, and doing it.

``plan`` is a dry run: counts per policy, store and category, subjects shown only pseudonymised.
``run`` deletes in batches, logs every deletion in the hash-chained deletion log, and resumes an
interrupted run when started again.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from hrbridge.cli import UsageError


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add ``retention plan`` and ``retention run``."""
    parser = subparsers.add_parser("retention", help="retention policies: plan (dry run) and run",
                                   description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="retention_command", metavar="ACTION")
    plan = sub.add_parser("plan", help="dry run: what would be deleted, where and why")
    plan.add_argument("--json", action="store_true", help="print one JSON object")
    plan.set_defaults(func=run_plan)
    run = sub.add_parser("run", help="delete expired data and executed requests; log every deletion")
    run.add_argument("--json", action="store_true", help="print one JSON object")
    run.set_defaults(func=run_run)
    parser.set_defaults(func=lambda args: (parser.print_help(), 2)[1])


def _guard(action: Any) -> Any:
    from governance.retention import RetentionConfigError
    from hrbridge.settings import ConfigError

    try:
        return action()
    except (RetentionConfigError, ConfigError) as exc:
        raise UsageError(str(exc)) from exc


def _print_items(result: dict[str, Any], verb: str) -> None:
    for item in result["items"]:
        stores = ", ".join(f"{store}: {n}" for store, n in item["records"].items()) or "nothing"
        held = f", {item['held']} held back by a legal hold" if item["held"] else ""
        print(f"{item['item']}\n  {item['action']} - {item['subjects']} people {verb}{held}; records {stores}\n"
              f"  basis: {item['legal_basis']}")
    totals = result["totals"]
    print(f"total: {totals['subjects']} people, {totals['records']} records, {totals['held']} held")
    for missing in result.get("missing_tables", []):
        print(f"skipped (table missing): {missing}")
    waiting = result.get("requests_pending", {})
    if waiting.get("total"):
        print(f"deletion requests still pending: {waiting['total']} ({waiting['overdue']} past their due date; "
              "held by a legal hold or added after this run started)")


def run_plan(args: argparse.Namespace) -> int:
    """Print the retention plan."""
    from hrbridge.pipelines.retention import plan_retention

    result = _guard(plan_retention)
    if args.json:
        print(json.dumps(result, indent=2, default=str))
        return 0
    print(f"retention plan as of {result['as_of']} (dry run, nothing deleted)")
    _print_items(result, "would be processed")
    for system, n in result.get("pending_actions", {}).items():
        print(f"pending in {system}: {n} (retried by the next run)")
    return 0


def run_run(args: argparse.Namespace) -> int:
    """Execute retention and print what was done."""
    from governance.retention import RetentionBusyError
    from hrbridge.pipelines.retention import run_retention

    try:
        result = _guard(run_retention)
    except RetentionBusyError as exc:
        print(f"hrbridge retention run: {exc}; try again when it has finished", file=sys.stderr)
        return 1
    if args.json:
        print(json.dumps(result, indent=2, default=str))
        return 0
    print(f"retention run {result['run_id']}{' (resumed)' if result['resumed'] else ''} as of {result['as_of']}")
    _print_items(result, "processed")
    for phase, counts in result["external"].items():
        if any(counts.values()):
            print(f"external deletions ({phase}): {counts['done']} done, {counts['failed']} failed and pending, "
                  f"{counts['deferred']} deferred after repeated failures, {counts['held']} held")
    if result.get("requests_refused"):
        print(f"deletion requests refused: {result['requests_refused']} not bound to the person they name "
              "(no operator seal, not filed by that person's login); logged with method 'refused'")
    print(f"deletion log: {result['log_entries']} entries written by this run")
    anchor = result.get("anchor")
    if anchor:
        print(f"anchored the log's head (seq {anchor['head_seq']}) in {anchor['target']}")
    else:
        print("no audit anchor configured (HRBRIDGE_AUDIT_ANCHOR): cutting entries from the end of the log "
              "would go unnoticed")
    return 0
