"""The ``hrbridge`` command. Each module in :mod:`hrbridge.commands` adds its own sub-commands.

A command module defines ``register(subparsers)``, which adds parsers whose ``func`` default takes
the parsed arguments and returns the exit code. Exit codes: 0 success, 2 bad arguments or
unreadable input, 3 a verification gate failed, 1 any other failure. An error a command raises is
mapped to its code by :data:`KNOWN_ERRORS` and printed as one line (the traceback only with ``-v``).
"""

from __future__ import annotations

import argparse
import importlib
import logging
import pkgutil
import sys
import traceback
from collections.abc import Sequence

from hrbridge import __version__, commands

# Exit codes, and the one table mapping known errors to them. Error classes are named by module path so
# the CLI imports none of them to start; an error maps through its class hierarchy (the most specific
# listed class wins), so a new subclass of a listed error gets its family's code without an edit
# here. An error the table does not know is a failure (1), printed with a hint to rerun with -v.
# Commands raise these typed errors; they do not print tracebacks or choose codes themselves.
OK, FAILURE, BAD_INPUT, GATE_FAILED = 0, 1, 2, 3
INTERRUPTED = 130

KNOWN_ERRORS: dict[str, int] = {
    # bad arguments, configuration or input files: fix what you gave and rerun
    "hrbridge.cli.UsageError": BAD_INPUT,
    "hrbridge.settings.ConfigError": BAD_INPUT,  # includes MissingCredentialsError
    "hrbridge.pipelines.migration.MigrationInputError": BAD_INPUT,
    "connectors.legacy_sources.SourceError": BAD_INPUT,
    "connectors.interview.UnknownPlatformError": BAD_INPUT,
    "governance.crypto.errors.KeyringPermissionError": BAD_INPUT,
    "governance.crypto.streams.StreamFormatError": BAD_INPUT,
    "governance.access.policy.PolicyConfigError": BAD_INPUT,
    "governance.retention.config.RetentionConfigError": BAD_INPUT,
    "governance.retention.holds.HoldError": BAD_INPUT,
    "transforms.field_mapping.MappingError": BAD_INPUT,
    "transforms.question_plan.QuestionRulesError": BAD_INPUT,
    "transforms.archive_mapping.ArchiveMappingError": BAD_INPUT,
    "validation.results_suite.SuiteConfigError": BAD_INPUT,
    "hrbridge.feedback.rules.ProposalStateError": BAD_INPUT,
    "builtins.FileNotFoundError": BAD_INPUT,
    "builtins.IsADirectoryError": BAD_INPUT,
    "builtins.NotADirectoryError": BAD_INPUT,
    "builtins.PermissionError": BAD_INPUT,
    "builtins.UnicodeDecodeError": BAD_INPUT,
    # a gate said no
    "governance.access.policy.AccessDenied": GATE_FAILED,
    "hrbridge.feedback.rules.JustificationRequired": GATE_FAILED,
    # the run could not do its work: a service, a key, a lock, the database
    "connectors.errors.ConnectorError": FAILURE,
    "governance.crypto.errors.CryptoError": FAILURE,
    "governance.retention.executor.RetentionBusyError": FAILURE,
    "governance.audit.keys.AuditKeyError": FAILURE,
    "governance.audit.anchor.AnchorError": FAILURE,
    "hrbridge.archive.ArchivePepperError": FAILURE,
    "hrbridge.airflow_env.AirflowRunError": FAILURE,
    "sqlalchemy.exc.SQLAlchemyError": FAILURE,
    "builtins.OSError": FAILURE,
}



def _name(cls: type) -> str:
    return f"{cls.__module__}.{cls.__qualname__}"


def exit_code_for(error: BaseException) -> int | None:
    """The documented exit code of ``error``, or None when no class in its hierarchy is listed."""
    for cls in type(error).__mro__:
        code = KNOWN_ERRORS.get(_name(cls))
        if code is not None:
            return code
    return None


def describe(error: BaseException) -> str:
    """One line for the terminal: the error's type and its message (first line when several)."""
    from sqlalchemy.exc import SQLAlchemyError

    if isinstance(error, SQLAlchemyError):  # the driver's message, without the SQL statement and parameters
        text = str(getattr(error, "orig", None) or error).splitlines()[0]
    else:
        text = " ".join(str(error).split())
    return f"{type(error).__name__}: {text}" if text else type(error).__name__


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
    _name_commands(parser, [])
    return parser


def _name_commands(parser: argparse.ArgumentParser, words: list[str]) -> None:
    """Give every command parser its name (``sync candidates``) as the ``command_name`` default."""
    for action in parser._actions:  # noqa: SLF001 - argparse offers no public accessor
        if isinstance(action, argparse._SubParsersAction):  # noqa: SLF001
            for name, sub in action.choices.items():
                _name_commands(sub, [*words, name])
            return
    parser.set_defaults(command_name=" ".join(words))


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
    except KeyboardInterrupt:
        print("interrupted; rerun the same command to resume", file=sys.stderr)
        return INTERRUPTED
    except Exception as exc:  # noqa: BLE001 - every error ends as one line and a documented code
        return _report(exc, args.command_name, verbose=args.verbose)


def _report(error: Exception, command: str, *, verbose: bool) -> int:
    """Print one line for ``error`` (and the traceback with -v); return its documented exit code."""
    code = exit_code_for(error)
    if verbose:
        traceback.print_exception(error, file=sys.stderr)
    line = str(error) if isinstance(error, UsageError) else describe(error)
    hint = "" if code is not None or verbose else " (unexpected; rerun with -v for the traceback)"
    print(f"hrbridge {command}: {line}{hint}", file=sys.stderr)
    return FAILURE if code is None else code


if __name__ == "__main__":
    sys.exit(main())
