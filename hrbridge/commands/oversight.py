"""``hrbridge oversight queue|decide|explain``: a person decides; the AI only recommends.

``queue`` lists applications waiting for a person (another process asked for, automated decision
refused); ``decide`` records a person's decision next to the AI recommendation they had (who: the
operating-system account running the command); ``explain`` prints the plain-words explanation of
an application's AI assessment in Chinese or English.
"""

from __future__ import annotations

import argparse
import json


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add ``oversight queue``, ``oversight decide`` and ``oversight explain``."""
    parser = subparsers.add_parser("oversight", help="human review queue, decisions, explanations",
                                   description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="oversight_command", metavar="ACTION")
    queue = sub.add_parser("queue", help="applications waiting for a person")
    queue.add_argument("--all", action="store_true", help="include decided items")
    queue.add_argument("--json", action="store_true", help="print JSON")
    queue.set_defaults(func=run_queue)
    decide = sub.add_parser("decide", help="record a person's decision (kept apart from the AI recommendation)")
    decide.add_argument("--application", required=True)
    decide.add_argument("--decision", required=True, help="one of oversight.decisions in consent.yaml")
    decide.add_argument("--note", help="why (kept with the decision)")
    decide.add_argument("--json", action="store_true", help="print one JSON object")
    decide.set_defaults(func=run_decide)
    explain = sub.add_parser("explain", help="plain-words explanation of an application's AI assessment")
    explain.add_argument("--application", required=True)
    explain.add_argument("--lang", default="en-US", choices=("zh-CN", "en-US"))
    explain.set_defaults(func=run_explain)
    parser.set_defaults(func=lambda args: (parser.print_help(), 2)[1])


def run_queue(args: argparse.Namespace) -> int:
    """List the review queue (read-only)."""
    from hrbridge.consent.oversight import review_queue
    from hrbridge.migrations import SchemaMissing
    from hrbridge.store import hub_engine

    try:
        items = review_queue(hub_engine(create=False), None if args.all else "open")
    except SchemaMissing:  # read-only: a hub not created yet holds no request
        items = []
    if args.json:
        print(json.dumps(items, indent=2, default=str))
    elif not items:
        print("no application waits for a person")
    for item in [] if args.json else items:
        print(f"{item['application_id']}: {item['reason']} since {item['requested_at']:%Y-%m-%d %H:%M} ({item['state']})")
    return 0


def run_decide(args: argparse.Namespace) -> int:
    """Record a decision; exit 2 for an unknown decision."""
    from hrbridge.consent.config import load_consent_config
    from hrbridge.consent.oversight import record_decision
    from hrbridge.store import hub_engine

    row = record_decision(hub_engine(), args.application, args.decision, load_consent_config(), note=args.note)
    if args.json:
        print(json.dumps(row, indent=2, default=str))
    else:
        seen = "no AI recommendation" if row["ai_recommendation"] is None else (
            f"AI recommendation {row['ai_recommendation']['overall_score']:g}")
        print(f"decision #{row['id']}: {row['decision']} on application {row['application_id']} by "
              f"{row['decided_by']} ({seen})")
    return 0


def run_explain(args: argparse.Namespace) -> int:
    """Print the explanation (read-only)."""
    from hrbridge.consent.config import load_consent_config
    from hrbridge.consent.oversight import explanation_for
    from hrbridge.store import hub_engine

    print(explanation_for(hub_engine(create=False), args.application, args.lang, load_consent_config()))
    return 0
