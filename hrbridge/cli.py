"""The ``hrbridge`` command. Each module in :mod:`hrbridge.commands` adds its own sub-commands.

A command module defines ``register(subparsers)``, which adds parsers whose ``func`` default takes
the parsed arguments and returns the exit code. Exit codes: 0 success, 2 bad arguments or
unreadable input, 3 a verification gate failed, 1 any other failure.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import pkgutil
import sys
from collections.abc import Sequence

from hrbridge import __version__, commands


class UsageError(Exception):
    """Bad arguments or unreadable input: printed without a traceback, exit code 2."""


def build_parser() -> argparse.ArgumentParser:
    """Assemble the parser from every module in :mod:`hrbridge.commands`."""
    parser = argparse.ArgumentParser(
        prog="hrbridge",
        description="Wire AI interviewing into the HR data flow: sync, results, archive, migration, retention.",
    )
    parser.add_argument("--version", action="version", version=f"hrbridge {__version__}")
    parser.add_argument("-v", "--verbose", action="store_true", help="log progress details")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for info in sorted(pkgutil.iter_modules(commands.__path__), key=lambda m: m.name):
        module = importlib.import_module(f"{commands.__name__}.{info.name}")
        module.register(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the console script; returns the process exit code."""
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.INFO if args.verbose else logging.WARNING,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    try:
        return int(args.func(args) or 0)
    except UsageError as exc:
        print(f"hrbridge {args.command}: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted; rerun the same command to resume", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
