"""``hrbridge migrate``, ``hrbridge verify`` and ``hrbridge mapping suggest``: legacy record migration.

Exit codes: 0 passed, 3 the integrity ratio is below the threshold (or counts do not reconcile),
2 bad arguments or unreadable input (the message names file, row and column where relevant).
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the migrate, verify and mapping sub-commands."""
    migrate = subparsers.add_parser("migrate", help="migrate legacy records into the employee archive",
                                    description="Migrate legacy records (CSV, Excel, Parquet or a database "
                                    "table) into the archive in resumable batches, then verify every row.")
    _common(migrate, source_required=False)
    migrate.add_argument("--batch-size", type=int, default=50_000, help="rows per batch (max 100,000)")
    migrate.add_argument("--clean-spill", action="store_true",
                         help="only remove scratch directories left in --spill-dir (default $TMPDIR) by migrations "
                              "whose process is gone, then exit")
    migrate.add_argument("--run-id", help="run id; rerunning with the same id resumes (default: from source+target)")
    migrate.set_defaults(func=run_migrate)

    verify = subparsers.add_parser("verify", help="reconcile a legacy source against the archive",
                                   description="Re-derive the cleaned source (nothing is loaded) and compare "
                                   "it with the archive row by row.")
    _common(verify, mapping_required=False)
    verify.add_argument("--batch-size", type=int, default=50_000,
                        help="rows per batch (default: the layout of the migration run being verified)")
    verify.add_argument("--run-id", help="the migration run to verify (default: from source+target)")
    verify.set_defaults(func=run_verify)

    mapping = subparsers.add_parser("mapping", help="header mappings for legacy sources")
    actions = mapping.add_subparsers(dest="mapping_command", metavar="ACTION")
    suggest = actions.add_parser("suggest", help="propose a header mapping for a legacy source as YAML")
    suggest.add_argument("source", help="file (.csv/.xlsx/.parquet) or database URL")
    suggest.add_argument("--table", help="table, for a database source")
    suggest.add_argument("--sheet", help="sheet, for an Excel source")
    suggest.add_argument("--encoding", help="CSV encoding (default: detected)")
    suggest.add_argument("--out", help="write the YAML here instead of printing it (never the source itself)")
    suggest.add_argument("--force", action="store_true", help="replace --out when it exists already")
    suggest.set_defaults(func=run_mapping_suggest)
    mapping.set_defaults(func=lambda args: (mapping.print_help(), 2)[1])


def _common(parser: argparse.ArgumentParser, mapping_required: bool = True, source_required: bool = True) -> None:
    parser.add_argument("--source", required=source_required, help="file (.csv/.xlsx/.parquet) or database URL")
    parser.add_argument("--table", help="table, for a database source")
    parser.add_argument("--sheet", help="sheet, for an Excel source (default: the first)")
    parser.add_argument("--encoding", help="CSV encoding override (utf-8, utf-8-sig, gbk, gb18030)")
    parser.add_argument("--mapping", required=False, default=None if mapping_required else "auto",
                        help="header mapping YAML file, or 'auto' to use the suggested mapping")
    parser.add_argument("--target", help="archive database URL (default: HRBRIDGE_ARCHIVE_URL)")
    parser.add_argument("--target-table", default="employees", help="archive table (default: employees)")
    parser.add_argument("--threshold", type=float, default=0.999, help="integrity ratio required (default 0.999)")
    parser.add_argument("--report-dir", help="also write report.json and report.html here (they are always "
                                             "kept in the artefact store)")
    parser.add_argument("--lang", choices=("zh", "en"),
                        help="language of report.html (default: HRBRIDGE_LANG, else the locale)")
    parser.add_argument("--spill-dir", help="where the run keeps its key index and verification files while it "
                                            "runs (default: the system temporary directory, $TMPDIR)")
    parser.add_argument("--json", action="store_true", help="print the report as JSON")


def _options(args: argparse.Namespace) -> Any:
    from hrbridge.cli import UsageError
    from hrbridge.pipelines.migration import MigrationOptions
    from hrbridge.settings import load_settings

    if getattr(args, "batch_size", 1) is not None and args.batch_size < 1:
        raise UsageError("--batch-size must be a positive number of rows")
    if not 0 < args.threshold <= 1:
        raise UsageError("--threshold must be within (0, 1]")
    return MigrationOptions(
        source=args.source, target=args.target or load_settings().ensure_dirs().archive_url,
        mapping=args.mapping, table=args.table, sheet=args.sheet, encoding=args.encoding,
        batch_size=args.batch_size, run_id=getattr(args, "run_id", None), target_table=args.target_table,
        threshold=args.threshold, report_dir=args.report_dir, spill_dir=args.spill_dir, lang=args.lang)


def _run(args: argparse.Namespace, action: str) -> int:
    import signal

    from connectors.archive_loader import LoaderError
    from hrbridge.cli import UsageError
    from hrbridge.pipelines import migration
    from hrbridge.progress import row_progress, wanted

    previous = signal.signal(signal.SIGTERM, _terminate)  # a stopped run still removes its scratch files
    try:
        options = _options(args)
        with row_progress(action, wanted(args.json)) as progress:
            outcome = (migration.migrate if action == "migrate" else migration.verify)(options, progress=progress)
    except (migration.MigrationInputError, LoaderError) as exc:
        raise UsageError(str(exc)) from exc
    finally:
        signal.signal(signal.SIGTERM, previous)
    report = outcome.report
    if args.json:
        print(json.dumps(report, ensure_ascii=False, indent=2, default=str))
    else:
        print(f"run {report['run_id']}: {report['source_rows']:,} source rows = {report['loaded_rows']:,} loaded + "
              f"{report['quarantined_rows']:,} quarantined + {report['duplicates_merged']:,} duplicates merged; "
              f"{report['repaired_values']:,} values repaired")
        print(f"verified {report['verified_rows']:,} of {report['expected_rows']:,} rows, "
              f"{report['mismatched_rows']:,} mismatched, {report['missing_rows']:,} missing: integrity "
              f"{report['integrity_ratio']:.4%} (threshold {report['threshold']:.2%}) → "
              f"{'PASSED' if report['passed'] else 'FAILED'}")
        if outcome.html_path:
            print(f"report: {outcome.html_path}")
        elif outcome.html_key:
            print(f"report: artefact {outcome.html_key} (write it out with: hrbridge report migration "
                  f"--run {report['run_id']} --out DIR)")
        else:
            print("report: not kept (verify writes nothing; --report-dir DIR writes report.json and report.html)")
    return 0 if outcome.passed else 3


def _terminate(_signum: int, _frame: Any) -> None:
    raise KeyboardInterrupt


def run_migrate(args: argparse.Namespace) -> int:
    """Migrate (or resume) and verify; exit 3 when the integrity gate fails. With ``--clean-spill``,
    remove the scratch directories of migrations whose process is gone instead."""
    from hrbridge.cli import UsageError

    if args.clean_spill:
        return _clean_spill(args.spill_dir)
    if not args.source:
        raise UsageError("--source is required (or pass --clean-spill)")
    if not args.mapping:
        raise UsageError("--mapping is required: a mapping YAML file, or 'auto'")
    return _run(args, "migrate")


def _clean_spill(spill_dir: str | None) -> int:
    """Remove dead owners' scratch directories and say what went."""
    from hrbridge.pipelines import scratch

    removed = scratch.sweep(spill_dir)
    for entry in removed:
        print(f"removed {entry.path} ({entry.bytes:,} bytes, run {entry.run_id}, process {entry.pid} is gone)")
    print(f"{len(removed)} scratch director{'y' if len(removed) == 1 else 'ies'} removed from "
          f"{scratch.parent_dir(spill_dir)}", file=sys.stderr)
    return 0


def run_verify(args: argparse.Namespace) -> int:
    """Reconcile only; exit 3 when the integrity gate fails."""
    return _run(args, "verify")


def run_mapping_suggest(args: argparse.Namespace) -> int:
    """Print or write the suggested header mapping for a source."""
    from pathlib import Path

    from connectors.legacy_sources import SourceError, open_source
    from hrbridge.cli import UsageError
    from transforms.header_mapping import mapping_yaml, suggest_mapping

    if args.out:
        _check_out(Path(args.out), args.source, args.force)
    try:
        source = open_source(args.source, table=args.table, sheet=args.sheet, encoding=args.encoding,
                             score=lambda headers: len(suggest_mapping(headers)["columns"]))
        headers = source.headers()
    except SourceError as exc:
        raise UsageError(str(exc)) from exc
    text = mapping_yaml(suggest_mapping(headers))
    if args.out:
        _write_atomic(Path(args.out), text)
        print(f"wrote {args.out} (from {source.name})", file=sys.stderr)
    else:
        print(text, end="")
    return 0


def _check_out(out: Any, source: str, force: bool) -> None:
    """Refuse an ``--out`` that is the source itself, a directory, or (without --force) an existing file."""
    from pathlib import Path

    from hrbridge.cli import UsageError

    if Path(source).exists() and out.exists() and out.resolve() == Path(source).resolve():
        raise UsageError(f"--out {out} is the source file itself; write the mapping elsewhere")
    if out.is_dir():
        raise UsageError(f"--out {out} is a directory; name a .yaml file")
    if out.exists() and not force:
        raise UsageError(f"--out {out} exists already; pass --force to replace it")
    if not out.parent.is_dir():
        raise UsageError(f"--out {out}: directory {out.parent} does not exist")


def _write_atomic(path: Any, text: str) -> None:
    """Write ``text`` beside ``path`` under a temporary name, then rename it over ``path``."""
    import os
    import tempfile

    handle, temporary = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as out:
            out.write(text)
        os.replace(temporary, path)
    except BaseException:
        os.unlink(temporary)
        raise
