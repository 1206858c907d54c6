"""``hrbridge report validation [--run ID] [--out DIR]``: the HR ops page and GX Data Docs of a run."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any


def register(subparsers: Any) -> None:
    """Add ``report validation``."""
    parser = subparsers.choices.get("report")
    if parser is None:
        parser = subparsers.add_parser("report", help="write reports for HR operations")
        kinds = parser.add_subparsers(dest="kind", metavar="KIND")
    else:
        kinds = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))  # noqa: SLF001
    validation = kinds.add_parser(
        "validation", help="one-page summary of an interview-results validation run + GX Data Docs",
        description="Write the validation summary (checks in plain words, masked examples, trend chart) and "
                    "the Great Expectations Data Docs of a run (default: the latest).",
    )
    validation.add_argument("--run", dest="run_id", help="validation run id (default: the latest run)")
    validation.add_argument("--out", type=Path, help="output folder (default: HRBRIDGE_REPORTS_DIR)")
    validation.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Write the report; exit 2 when the run does not exist."""
    from hrbridge.cli import UsageError
    from hrbridge.pipelines.interview_results import build_validation_report
    from hrbridge.settings import load_settings
    from hrbridge.store import hub_engine

    settings = load_settings()
    try:
        paths = build_validation_report(hub_engine(settings), settings, run_id=args.run_id, out_dir=args.out)
    except LookupError as exc:
        raise UsageError(str(exc)) from exc
    print(f"validation report: {paths.html}")
    if paths.data_docs:
        print(f"data docs:         {paths.data_docs}")
    return 0
