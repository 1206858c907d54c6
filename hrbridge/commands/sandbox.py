"""``hrbridge sandbox``: run the SuccessFactors and interview platform sandboxes until Ctrl-C."""

from __future__ import annotations

import argparse


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``sandbox`` sub-command (the same options as ``python -m sandbox``)."""
    from sandbox.__main__ import add_arguments

    parser = subparsers.add_parser(
        "sandbox", help="run the local SuccessFactors and interview platform sandboxes",
        description="Serve SuccessFactors OData v2 and the interview platform on loopback with seeded data.",
    )
    add_arguments(parser)
    parser.set_defaults(func=_run)


def _run(args: argparse.Namespace) -> int:
    """Start the sandboxes and block until interrupted."""
    from sandbox.__main__ import run

    return run(args)
