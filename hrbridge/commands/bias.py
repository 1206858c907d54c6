"""``hrbridge audit bias`` and ``hrbridge audit categories import``: the bias audit of interview scores.

``audit bias --period YYYY-MM`` computes scoring rates (share above the job family's median),
selection rates (where a pass mark is configured) and impact ratios per category and intersection
(``configs/bias_audit.yaml``), keeps the JSON record and the Chinese and English summaries in the
artefact store, and exits 3 after sending the notice when any impact ratio is below the floor.
``audit categories import FILE.csv`` seals candidates' categories (a voluntary survey's answers)
for the audit role. Both act as ``--role`` (default: the configured audit role), checked against
configs/roles.yaml.
"""

from __future__ import annotations

import argparse
import csv
import json
from datetime import UTC, datetime
from pathlib import Path

from hrbridge.cli import GATE_FAILED, UsageError

MAX_ROWS = 1_000_000


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add ``bias`` and ``categories import`` under the ``audit`` command (registered before this module)."""
    audit = subparsers.choices.get("audit")
    if audit is None:
        raise RuntimeError("hrbridge.commands.bias needs the audit command of hrbridge.commands.audit")
    sub = next(a for a in audit._actions if isinstance(a, argparse._SubParsersAction))  # noqa: SLF001
    bias = sub.add_parser("bias", help="bias audit of interview scores: rates and impact ratios (exit 3 below floor)",
                          description=__doc__.splitlines()[0])
    bias.add_argument("--period", help="month YYYY-MM (default: the previous month)")
    bias.add_argument("--json", action="store_true", help="print one JSON object")
    bias.add_argument("--no-notice", action="store_true", help="do not send the notice (exit code still 3)")
    bias.set_defaults(func=run_bias)
    categories = sub.add_parser("categories", help="seal candidates' audit categories (import a CSV)")
    csub = categories.add_subparsers(dest="categories_command", metavar="ACTION")
    load = csub.add_parser("import", help="import candidate_id + one column per configured category")
    load.add_argument("file", type=Path)
    load.add_argument("--role", help="who imports (default: the audit role of configs/bias_audit.yaml)")
    load.add_argument("--source", default="survey", help="where the answers come from (kept with them)")
    load.set_defaults(func=run_import)
    categories.set_defaults(func=lambda args: (categories.print_help(), 2)[1])


def _previous_month() -> str:
    today = datetime.now(UTC).date()
    return f"{today.year - (today.month == 1)}-{(today.month - 2) % 12 + 1:02d}"


def run_bias(args: argparse.Namespace) -> int:
    """Audit one month; print the summary (or JSON); exit 3 when any impact ratio is below the floor."""
    from hrbridge.pipelines.bias_audit import announce, run_bias_audit

    period = args.period or _previous_month()
    out = run_bias_audit(period)
    if out["flags"] and not args.no_notice:
        out["notice"] = announce(period, out["flags"])
    if args.json:
        print(json.dumps({k: v for k, v in out.items() if k != "result"}, indent=2, ensure_ascii=False))
    else:
        print(f"bias audit {period}: {out['people']} scored applications; "
              f"{len(out['flags'])} impact ratio(s) below the floor")
        for flag in out["flags"]:
            print(f"  {flag['job_family']} {flag['measure']} {' × '.join(flag['group'])}: {flag['impact_ratio']:.3f}")
        for key in out["artefacts"]:
            print(f"  artefact {key}")
    return GATE_FAILED if out["flags"] else 0


def run_import(args: argparse.Namespace) -> int:
    """Seal the categories of every candidate in the CSV."""
    from hrbridge.pipelines.bias_audit import BiasConfig, store_categories
    from hrbridge.store import hub_engine

    role = args.role or BiasConfig.load().role
    try:
        with args.file.open(encoding="utf-8-sig", newline="") as handle:
            rows = list(csv.DictReader(handle))
    except (OSError, csv.Error, UnicodeDecodeError) as exc:
        raise UsageError(f"cannot read {args.file}: {exc}") from exc
    if len(rows) > MAX_ROWS:
        raise UsageError(f"{args.file}: more than {MAX_ROWS} rows")
    if rows and "candidate_id" not in rows[0]:
        raise UsageError(f"{args.file}: needs a candidate_id column")
    stored = store_categories(hub_engine(), rows, role=role, source=args.source)
    print(f"sealed the audit categories of {stored} candidate(s); readable by the audit role only")
    return 0
