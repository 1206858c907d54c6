"""``hrbridge report validation|migration``: copy a stored report out of the artefact store into a folder.

``report validation [--run ID] [--out DIR] [--rebuild] [--lang zh|en]``: the HR ops page and GX Data
Docs of an interview-results run (built by the DAG's report task or by ``sync results``; built here
when it never was, or again with ``--rebuild`` or ``--lang``). ``report migration [--run ID] --out DIR
[--lang zh|en]``: a migration run's report.json and its report.html, rendered in the language asked.
The language defaults to ``HRBRIDGE_LANG``, else the locale; times are in ``HRBRIDGE_TZ`` (UTC).
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

LANGUAGES = ("zh", "en")  # hrbridge.i18n.LANGUAGES, spelled out so building the parser imports nothing


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
    validation.add_argument("--rebuild", action="store_true",
                            help="build the report again from the hub instead of copying the stored one")
    validation.add_argument("--lang", choices=LANGUAGES,
                            help="language of the page, built again in it (default: HRBRIDGE_LANG, else the locale)")
    validation.set_defaults(func=run)
    migration = kinds.add_parser(
        "migration", help="write a migration run's stored report.json and report.html into a folder",
        description="Copy the reconciliation report of a migration run (default: the latest) out of the "
                    "artefact store.",
    )
    migration.add_argument("--run", dest="run_id", help="migration run id (default: the latest run)")
    migration.add_argument("--out", type=Path, required=True, help="output folder")
    migration.add_argument("--lang", choices=LANGUAGES,
                           help="language of report.html (default: HRBRIDGE_LANG, else the locale)")
    migration.set_defaults(func=run_migration)


def run(args: argparse.Namespace) -> int:
    """Copy the stored report (building it when missing or asked to) into a folder; exit 2 for an unknown run."""
    from hrbridge.artefacts import artefact_store
    from hrbridge.cli import UsageError
    from hrbridge.pipelines.interview_results import (
        build_validation_report,
        stored_validation_report,
        write_validation_report,
    )
    from hrbridge.settings import load_settings
    from hrbridge.store import hub_engine

    settings = load_settings()
    engine = hub_engine(settings)
    store = artefact_store(settings, engine=engine)
    try:
        report = None if args.rebuild or args.lang else stored_validation_report(engine, store, args.run_id)
        report = report or build_validation_report(engine, settings, run_id=args.run_id, store=store, lang=args.lang)
    except LookupError as exc:
        raise UsageError(str(exc)) from exc
    out_dir = args.out or settings.ensure_dirs().reports_dir
    written = write_validation_report(store, report, out_dir)
    print(f"validation report: {written[0]}  (artefact {report.page})")
    docs = next((path for path in written[1:] if path.name == "index.html"), None)
    if docs:
        print(f"data docs:         {docs}")
    return 0


def run_migration(args: argparse.Namespace) -> int:
    """Write a stored migration report out; exit 2 when there is none for the run."""
    from hrbridge.artefacts import artefact_store, safe_name, write_out
    from hrbridge.cli import UsageError
    from hrbridge.i18n import report_translator
    from validation.migration_report import render_file

    store = artefact_store()
    reports = [info for info in store.list("migration") if info.name.endswith("/report.json")]
    if args.run_id:
        reports = [info for info in reports if info.name == f"{safe_name(args.run_id)}/report.json"]
    if not reports:
        raise UsageError(f"no stored migration report for run {args.run_id}" if args.run_id
                         else "no migration report stored yet")
    folder = max(reports, key=lambda info: info.created_at).name.rsplit("/", 1)[0]
    keys = [info.key for info in store.list("migration", f"{folder}/") if not info.name.endswith("/report.html")]
    written = write_out(store, keys, args.out, rename=lambda name: name.rsplit("/", 1)[1])
    # report.html is rendered from report.json in the reader's language rather than copied as stored.
    written.append(render_file(Path(args.out) / "report.json", report_translator(args.lang)))
    for path in written:
        print(f"wrote {path}")
    return 0
