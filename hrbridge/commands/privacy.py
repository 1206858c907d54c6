"""``hrbridge deletion request`` and ``hrbridge hold add|remove|list``: people's requests and legal holds.

A deletion request is executed by the next ``hrbridge retention run`` and is due within the
configured number of days (``requests.due_days`` in configs/retention.yaml). A legal hold blocks
every deletion of the person, with no end date, until it is removed; each skip is logged.
"""

from __future__ import annotations

import argparse
import json
from typing import Any

from hrbridge.cli import UsageError


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add ``deletion request`` and ``hold add|remove|list``."""
    deletion = subparsers.add_parser("deletion", help="deletion requests from candidates",
                                     description=__doc__.splitlines()[0])
    dsub = deletion.add_subparsers(dest="deletion_command", metavar="ACTION")
    request = dsub.add_parser("request", help="record a candidate's request to delete their data")
    request.add_argument("--candidate", required=True, help="candidate id")
    request.add_argument("--by", required=True, help="who takes the request (user or channel)")
    request.add_argument("--basis", help="legal basis, e.g. 'GDPR Art. 17(1)(b) consent withdrawn' "
                         "(default: requests.legal_basis of configs/retention.yaml)")
    request.add_argument("--json", action="store_true", help="print one JSON object")
    request.set_defaults(func=run_request)
    deletion.set_defaults(func=lambda args: (deletion.print_help(), 2)[1])

    hold = subparsers.add_parser("hold", help="legal holds that block deletion",
                                 description="Legal holds: a held candidate's data is never deleted.")
    hsub = hold.add_subparsers(dest="hold_command", metavar="ACTION")
    add = hsub.add_parser("add", help="place a legal hold on a candidate")
    remove = hsub.add_parser("remove", help="release a candidate's legal holds")
    for sub in (add, remove):
        sub.add_argument("--candidate", required=True, help="candidate id")
        sub.add_argument("--reason", required=True, help="why (case number, matter)")
        sub.add_argument("--by", default="cli", help="who places or releases it")
    add.set_defaults(func=run_hold_add)
    remove.set_defaults(func=run_hold_remove)
    listing = hsub.add_parser("list", help="active legal holds")
    listing.add_argument("--all", action="store_true", help="include released holds")
    listing.add_argument("--json", action="store_true", help="print JSON")
    listing.set_defaults(func=run_hold_list)
    hold.set_defaults(func=lambda args: (hold.print_help(), 2)[1])


def _hub() -> Any:
    from hrbridge.store import hub_engine

    return hub_engine()


def _check_text(value: str, what: str) -> str:
    value = (value or "").strip()
    if not value:
        raise UsageError(f"{what} must not be empty")
    if any(ch in value for ch in "\x1e\x1f"):
        raise UsageError(f"{what} contains control characters")
    return value


def run_request(args: argparse.Namespace) -> int:
    """Record a deletion request; prints its id and due date."""
    from governance.retention import RetentionConfigError, request_deletion
    from hrbridge.pipelines.retention import audit_keys, retention_config

    candidate = _check_text(args.candidate, "--candidate")
    by = _check_text(args.by, "--by")
    try:
        config = retention_config()
    except RetentionConfigError as exc:
        raise UsageError(str(exc)) from exc
    basis = _check_text(args.basis, "--basis") if args.basis is not None else config.requests.legal_basis
    keys = audit_keys()
    request = request_deletion(_hub(), candidate, by, basis, keys.pseudonymise(candidate), config.requests.due_days,
                               seal_key=keys.pepper)
    out = {"request_id": request["id"], "subject": request["subject_hash"][:16], "requested_by": by,
           "legal_basis": basis, "requested_at": request["requested_at"].isoformat(),
           "due_at": request["due_at"].isoformat()}
    if args.json:
        print(json.dumps(out, indent=2))
    else:
        print(f"deletion request #{out['request_id']} recorded; due by {out['due_at']}; "
              "executed by the next `hrbridge retention run`")
    return 0


def run_hold_add(args: argparse.Namespace) -> int:
    """Place a legal hold."""
    from governance.retention import HoldError, add_hold

    try:
        hold_id = add_hold(_hub(), _check_text(args.candidate, "--candidate"), _check_text(args.reason, "--reason"),
                           _check_text(args.by, "--by"))
    except HoldError as exc:
        raise UsageError(str(exc)) from exc
    print(f"legal hold #{hold_id} placed on candidate {args.candidate.strip()}: no deletion until removed")
    return 0


def run_hold_remove(args: argparse.Namespace) -> int:
    """Release a candidate's legal holds."""
    from governance.retention import HoldError, remove_holds

    try:
        released = remove_holds(_hub(), _check_text(args.candidate, "--candidate"),
                                _check_text(args.reason, "--reason"), _check_text(args.by, "--by"))
    except HoldError as exc:
        raise UsageError(str(exc)) from exc
    print(f"released {released} legal hold(s) on candidate {args.candidate.strip()}")
    return 0


def run_hold_list(args: argparse.Namespace) -> int:
    """List legal holds."""
    from governance.retention import list_holds

    holds = list_holds(_hub(), include_released=args.all)
    if args.json:
        print(json.dumps(holds, indent=2, default=str))
        return 0
    if not holds:
        print("no active legal holds")
    for hold in holds:
        state = f"released {hold['released_at']:%Y-%m-%d}" if hold["released_at"] else "active"
        print(f"#{hold['id']} candidate {hold['subject_id']} - {state} - placed {hold['placed_at']:%Y-%m-%d} "
              f"by {hold['placed_by']}: {hold['reason']}")
    return 0
