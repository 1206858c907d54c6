"""``hrbridge sync candidates [--source NAME] [--json]``: run the candidate_sync loop once, without Airflow.

Sources are chosen with ``--source`` (or ``HRBRIDGE_SYNC_SOURCES``; see :mod:`hrbridge.sources`).
Connectors come from the environment (``HRBRIDGE_SF_URL``, ``HRBRIDGE_SF_USER``,
``HRBRIDGE_SF_PASSWORD``, ``HRBRIDGE_SF_COMPANY_ID``, ``HRBRIDGE_INTERVIEW_URL``,
``HRBRIDGE_INTERVIEW_API_KEY``); state goes to the hub database (``HRBRIDGE_DB_URL``).
Other modules add their own ``sync`` targets through :func:`sync_subparsers`.
"""

from __future__ import annotations

import argparse
import json
from typing import Any


def sync_subparsers(subparsers: Any) -> Any:
    """The sub-command action under ``hrbridge sync``, created on first use and shared by modules."""
    parser = subparsers.choices.get("sync")
    if parser is None:
        parser = subparsers.add_parser("sync", help="run one pass of a sync loop without Airflow")
        return parser.add_subparsers(dest="target", metavar="TARGET")
    for action in parser._actions:  # noqa: SLF001 - argparse offers no public accessor
        if isinstance(action, argparse._SubParsersAction):  # noqa: SLF001
            return action
    return parser.add_subparsers(dest="target", metavar="TARGET")


def register(subparsers: Any) -> None:
    """Add ``hrbridge sync candidates``."""
    targets = sync_subparsers(subparsers)
    parser = targets.add_parser(
        "candidates",
        help="SuccessFactors applications → AI-interview invitations → write-back (one pass)",
        description="Extract changed applications, invite those at their trigger status with a "
                    "personalised question plan, and write status and link back to SuccessFactors.",
    )
    parser.add_argument("--json", action="store_true", help="print one JSON object with the run's counts")
    parser.add_argument("--config", default="candidate_sync", help="configs/<name>.yaml to use (default candidate_sync)")
    parser.add_argument("--source", action="append", metavar="NAME",
                        help="HR source to read (repeat for several feeding one hub; default HRBRIDGE_SYNC_SOURCES "
                             "or successfactors): successfactors or a configs/sources/<NAME>.yaml")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Run one pass; exit 0 when everything was invited and written back, 1 when some failed."""
    from hrbridge.cli import UsageError
    from hrbridge.connections import interview_platform_from_env
    from hrbridge.pipelines.candidate_sync import load_sync_config, run_candidate_sync
    from hrbridge.settings import ConfigError, load_settings
    from hrbridge.sources import sync_sources
    from hrbridge.store import hub_engine

    settings = load_settings()
    try:
        config = load_sync_config(settings, args.config)
        sources = sync_sources(config, getattr(args, "source", None), settings)
        platform = interview_platform_from_env(rate_limit=config.interview_rate_limit)
    except ConfigError as exc:
        raise UsageError(str(exc)) from exc
    summary = run_candidate_sync(sources, platform, hub_engine(settings), config)
    counts = summary.to_dict()
    if args.json:
        print(json.dumps(counts, ensure_ascii=False))
    else:
        print(format_summary(counts))
    return 1 if counts["invite_failed"] or counts["write_back_failed"] else 0


def format_summary(counts: dict[str, Any]) -> str:
    """A short human summary of a candidate_sync run."""
    return "\n".join([
        f"candidate_sync run {counts['run_id']}",
        f"  applications read   {counts['applications_read']:>7}  (loaded {counts['applications_loaded']}, "
        f"quarantined {counts['applications_quarantined']}, duplicates {counts['applications_deduplicated']})",
        f"  at trigger status   {counts['triggered']:>7}",
        f"  not invited, erased {counts.get('erased', 0):>7}  (candidate's data key shredded)",
        f"  invited             {counts['invited']:>7}  (failed {counts['invite_failed']}, left planned)",
        f"  refused             {counts.get('refused', 0):>7}  (rearmed {counts.get('rearmed', 0)}, "
        "given another chance)",
        f"  written back        {counts['written_back']:>7}  (failed {counts['write_back_failed']}, retried next run)",
        f"  quarantined (all)   {counts['quarantined']:>7}  (table sync_quarantine)",
        f"  deleted in source   {counts.get('deleted_detected', 0):>7}  (restored {counts.get('restored', 0)})",
    ])
