"""``hrbridge feedback …``: outcomes into the archive, the analysis, and decisions on question-rule proposals.

``import FILE [--attributes]`` · ``import-sf`` · ``analyse [--as-of DATE]`` · ``proposals`` ·
``show VERSION`` · ``approve VERSION [--justification TEXT]`` · ``reject VERSION`` · ``rollback`` ·
``report [--run ID] --out DIR``. Decisions are made as the operating-system account the command runs
as, with the role ``configs/feedback.yaml`` gives it; ``proposals``, ``show`` and ``report`` only read.
"""

from __future__ import annotations

import argparse
import json
from datetime import date
from pathlib import Path
from typing import Any


def register(subparsers: Any) -> None:
    """Add ``hrbridge feedback``."""
    parser = subparsers.add_parser("feedback", help="archive outcomes → interview-rule proposals, decided by a person",
                                   description="Import later outcomes, analyse what interview scores predicted, and "
                                               "decide on the proposed question-rule changes.")
    commands = parser.add_subparsers(dest="feedback_command", metavar="COMMAND")
    imp = commands.add_parser("import", help="import outcomes (or protected attributes) from a CSV/Excel file")
    imp.add_argument("file", help="CSV, XLSX or Parquet export")
    imp.add_argument("--sheet", help="workbook sheet (default: the one whose header fits best)")
    imp.add_argument("--attributes", action="store_true",
                     help="the file holds protected attributes (fairness.attributes columns), not outcomes")
    imp.add_argument("--json", action="store_true", help="print one JSON summary")
    imp.set_defaults(func=run_import)
    isf = commands.add_parser("import-sf", help="import ratings, promotions and separations from SuccessFactors")
    isf.add_argument("--json", action="store_true", help="print one JSON summary")
    isf.set_defaults(func=run_import_sf)
    ana = commands.add_parser("analyse", help="relate interview scores to outcomes; write a proposal and the report")
    ana.add_argument("--as-of", type=date.fromisoformat, help="date the outcome windows close by (default: today)")
    ana.add_argument("--json", action="store_true", help="print one JSON object")
    ana.set_defaults(func=run_analyse)
    lst = commands.add_parser("proposals", help="list question-rule versions and which one is active")
    lst.add_argument("--json", action="store_true")
    lst.set_defaults(func=run_list)
    show = commands.add_parser("show", help="a proposal's diff lines with their evidence and its fairness check")
    show.add_argument("version", type=int)
    show.add_argument("--json", action="store_true")
    show.set_defaults(func=run_show)
    for name, helptext in (("approve", "approve a proposal: it becomes the rules of new invitations"),
                           ("reject", "reject a proposal")):
        decide = commands.add_parser(name, help=helptext)
        decide.add_argument("version", type=int)
        decide.add_argument("--justification", help="why a flagged proposal is approved anyway (required then)")
        decide.add_argument("--note", help="a note kept with the decision")
        decide.set_defaults(func=run_decide, approve=name == "approve")
    back = commands.add_parser("rollback", help="restore the rules version active before the current one")
    back.set_defaults(func=run_rollback)
    rep = commands.add_parser("report", help="write an analysis' HR report (zh or en) into a folder")
    rep.add_argument("--run", dest="run_id", help="analysis run id (default: the latest)")
    rep.add_argument("--out", type=Path, required=True, help="output folder")
    rep.add_argument("--lang", choices=("zh", "en"),
                     help="language of the page (default: HRBRIDGE_LANG, else the locale); times in HRBRIDGE_TZ")
    rep.set_defaults(func=run_report)
    parser.set_defaults(func=lambda args: (parser.print_help(), 2)[1])


def _print(summary: dict[str, Any], as_json: bool, text: str) -> None:
    print(json.dumps(summary, ensure_ascii=False, default=str) if as_json else text)


def run_import(args: argparse.Namespace) -> int:
    """Import a file; exit 0 when every row was loaded, 3 when some were rejected (listed with row and rule)."""
    from hrbridge.feedback.outcomes import import_attributes, import_file
    from hrbridge.feedback.service import open_context

    context = open_context()
    vault = context.vault()
    if args.attributes:
        summary = import_attributes(context.archive, vault, args.file, list(context.config.fairness.attributes),
                                    home=context.settings.home, sheet=args.sheet)
    else:
        summary = import_file(context.archive, vault, args.file, home=context.settings.home, sheet=args.sheet)
    data = summary.to_dict()
    lines = [f"{summary.source}: read {summary.read} = inserted {summary.inserted} + updated {summary.updated} + "
             f"unchanged {summary.unchanged} + rejected {summary.rejected}"]
    lines += [f"  row {r['row']}: {r['rule']}" for r in summary.rejected_rows[:20]]
    _print(data, args.json, "\n".join(lines))
    return 0 if summary.rejected == 0 else 3


def run_import_sf(args: argparse.Namespace) -> int:
    """Import from SuccessFactors (connection from the environment, as ``sync candidates``)."""
    from hrbridge.connections import successfactors_from_env
    from hrbridge.feedback.outcomes import import_successfactors
    from hrbridge.feedback.service import open_context

    context = open_context()
    with successfactors_from_env() as sf:
        summary = import_successfactors(context.archive, context.vault(), sf, context.config.successfactors,
                                        home=context.settings.home)
    _print(summary.to_dict(), args.json,
           f"successfactors: read {summary.read} = inserted {summary.inserted} + updated {summary.updated} + "
           f"unchanged {summary.unchanged} + rejected {summary.rejected}")
    return 0 if summary.rejected == 0 else 3


def run_analyse(args: argparse.Namespace) -> int:
    """Analyse and store the proposal and report; prints the findings in plain words."""
    from hrbridge.feedback.report import finding_sentence
    from hrbridge.feedback.service import analyse_and_report, open_context
    from hrbridge.i18n import Translator

    context = open_context()
    result, key = analyse_and_report(context, as_of=args.as_of)
    if args.json:
        _print({**result.to_dict(), "report": key}, True, "")
        return 0
    settings = {k: getattr(context.config.analysis, k) for k in ("top_within_months", "attrition_within_months",
                                                                  "high_score")}
    lines = [f"analysis {result.run_id}: {result.hires} hires, {result.outcomes} outcomes; findings {result.counts()}"]
    for f in result.findings:
        if f["status"] != "no_effect":
            lines.append(f"  [{f['job_family']}] {finding_sentence(f, Translator('en'), settings)}")
    if result.proposal_version is None:
        lines.append("no change proposed")
    else:
        lines.append(f"proposal: version {result.proposal_version}{' (FLAGGED by the four-fifths check)' if result.flagged else ''}"
                     f" — review with `hrbridge feedback show {result.proposal_version}`")
    lines.append(f"report: {key}")
    print("\n".join(lines))
    return 0


def run_list(args: argparse.Namespace) -> int:
    """List versions (read-only)."""
    from hrbridge.feedback.rules import active_version, list_versions
    from hrbridge.feedback.service import open_context

    context = open_context(create=False)
    versions, active = list_versions(context.hub), active_version(context.hub)
    if args.json:
        _print({"active": active, "versions": versions}, True, "")
        return 0
    print(f"active rules: version {active}{' (configs/question_rules.yaml)' if active == 0 else ''}")
    for v in versions:
        decided = f" by {v['decided_by']}" if v["decided_by"] else ""
        flag = " FLAGGED" if v["flagged"] else ""
        print(f"  v{v['version']}: {v['status']}{decided}{flag}, {len(v['changes'])} changes on v{v['base_version']}")
    return 0


def run_show(args: argparse.Namespace) -> int:
    """Print a version's diff lines with evidence and its fairness flags (read-only)."""
    from hrbridge.feedback.rules import get_version
    from hrbridge.feedback.service import open_context

    row = get_version(open_context(create=False).hub, args.version)
    if args.json:
        _print({k: v for k, v in row.items() if k != "rules"}, True, "")
        return 0
    print(f"version {row['version']} ({row['status']}), on version {row['base_version']}"
          f"{', FLAGGED' if row['flagged'] else ''}")
    if row["decided_by"]:
        print(f"  {row['status']} by {row['decided_by']} ({row['decided_role']}) at {row['decided_at']:%Y-%m-%d %H:%M:%S %Z}")
        for label, text in (("justification", row["justification"]), ("note", row["decision_note"])):
            if text:
                print(f"  {label}: {text}")
    for change in row["changes"]:
        evidence = "; ".join(f"{e['outcome']}: OR {e['odds_ratio']:.2f} [{e['ci_low']:.2f}, {e['ci_high']:.2f}], "
                             f"n={e['people']}, p_adj={e['p_adjusted']:.2g}" for e in change["evidence"])
        print(f"  {change['line']}    {evidence or change['note']}")
    for family, check in row["fairness"].items():
        for flag in check.get("flags") or []:
            print(f"  fairness [{family}] {flag['attribute']}={'/'.join(flag['group'])}: impact ratio "
                  f"{flag['ratio_before']:.2f} → {flag['ratio_after']:.2f} (floor {check['floor']})")
        if not check.get("checked"):
            print(f"  fairness [{family}] not checked: {check.get('reason')}")
    return 0


def run_decide(args: argparse.Namespace) -> int:
    """Approve or reject as this account's role; exit 3 when the role or a justification is missing."""
    from hrbridge.feedback.rules import cli_decider, decide
    from hrbridge.feedback.service import open_context

    context = open_context()
    result = decide(context.hub, args.version, approve=args.approve, decider=cli_decider(context.config.deciders),
                    policy=context.policy, justification=args.justification, note=args.note)
    active = " — now the rules of new invitations" if result["active"] else ""
    print(f"version {result['version']} {result['status']} by {result['decided_by']} ({result['role']}){active}")
    return 0


def run_rollback(args: argparse.Namespace) -> int:
    """Restore the previous rules version."""
    from hrbridge.feedback.rules import cli_decider, rollback
    from hrbridge.feedback.service import open_context

    context = open_context()
    moved = rollback(context.hub, decider=cli_decider(context.config.deciders), policy=context.policy)
    print(f"rules version {moved['from']} withdrawn; version {moved['to']} is active for new invitations")
    return 0


def run_report(args: argparse.Namespace) -> int:
    """Write the report (HTML in ``--lang``, JSON in both) of a run into ``--out``; exit 2 when there is no such run."""
    from hrbridge.cli import UsageError
    from hrbridge.feedback.report import render_html
    from hrbridge.feedback.service import open_context, report_data
    from hrbridge.i18n import report_translator

    t = report_translator(args.lang)
    try:
        report = report_data(open_context(create=False).hub, args.run_id)
    except LookupError as exc:
        raise UsageError(str(exc)) from exc
    args.out.mkdir(parents=True, exist_ok=True)
    page = args.out / f"{report['run_id']}.html"
    page.write_text(render_html(report, t), encoding="utf-8")
    (args.out / f"{report['run_id']}.json").write_text(json.dumps(report, ensure_ascii=False, indent=1),
                                                                encoding="utf-8")
    print(f"feedback report: {page}")
    return 0
