"""``hrbridge demo``: start the sandboxes, run the DAGs through real Airflow, summarise."""

from __future__ import annotations

import argparse
from typing import Any


def register(subparsers: Any) -> None:
    """Add ``hrbridge demo``."""
    parser = subparsers.add_parser(
        "demo", help="run the whole loop locally against sandboxes through real Airflow",
        description="Starts the SuccessFactors and interview sandboxes on loopback, prepares Airflow "
                    "under HRBRIDGE_HOME, runs the DAGs and prints what happened and where the artefacts are.",
    )
    parser.add_argument("--no-serve", action="store_true",
                        help="end after the summary instead of serving the pages until Ctrl-C (for scripts)")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Run the demo steps; exit 1 (with the log file named) when a step fails.

    Everything the demo writes — its databases, reports, Airflow's database and logs — is state under
    HRBRIDGE_HOME, so the process creates files owner-only whatever the caller's umask.
    """
    import os
    import sys

    os.umask(0o077)

    from hrbridge.demo import format_summary, run_demo
    from hrbridge.demo_serve import serve

    serving = not getattr(args, "no_serve", False)
    try:
        ctx = run_demo(stop_sandboxes=not serving)
    except Exception as exc:  # noqa: BLE001 - report any step failure with where to look
        print(f"\nhrbridge demo failed: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 1
    print(format_summary(ctx))
    if not serving:
        return 0
    try:
        return serve(ctx)
    except RuntimeError as exc:
        print(f"\nhrbridge demo could not serve the pages: {exc}", file=sys.stderr)
        return 1
    finally:
        for server in ctx.sandboxes.values():
            server.stop()
