"""``hrbridge privacy assessment``: the PIPIA / DPIA working record, generated from the configuration.

Prints the record (or, with ``--diff``, only what changed since the last stored one). A record is
stored in the artefact store whenever the configuration changed since the last one; ``--check``
stores nothing and exits 3 when the stored record is out of date (for CI or a scheduled check).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from hrbridge.cli import GATE_FAILED


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add ``privacy assessment``."""
    parser = subparsers.add_parser("privacy", help="privacy impact assessment record (PIPIA / DPIA)",
                                   description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="privacy_command", metavar="ACTION")
    assessment = sub.add_parser("assessment", help="generate the working record; store it when the configuration changed")
    assessment.add_argument("--check", action="store_true", help="store nothing; exit 3 when the record is out of date")
    assessment.add_argument("--diff", action="store_true", help="print only the difference to the last record")
    assessment.add_argument("--out", type=Path, help="also write the Markdown record to this file")
    assessment.add_argument("--json", action="store_true", help="print one JSON object (keys, changed, diff)")
    assessment.set_defaults(func=run_assessment)
    parser.set_defaults(func=lambda args: (parser.print_help(), 2)[1])


def run_assessment(args: argparse.Namespace) -> int:
    """Generate (and store) the record; print it, its difference or a JSON summary."""
    from hrbridge.consent.assessment import assess

    out = assess(store=not args.check)
    if args.out:
        args.out.write_text(out["text"], encoding="utf-8")
    if args.json:
        print(json.dumps({k: v for k, v in out.items() if k != "text"}, indent=2, ensure_ascii=False))
    elif args.diff or args.check:
        state = "changed" if out["changed"] else "unchanged"
        print(f"assessment record {state} (previous: {out['previous'] or 'none'})")
        if out["diff"]:
            print(out["diff"], end="")
    else:
        print(out["text"], end="")
        note = f"stored as {out['key']}" if out["changed"] else f"unchanged since {out['key']}"
        print(f"\n(record {note}; sign it after review)")
    return GATE_FAILED if args.check and out["changed"] else 0
