"""``hrbridge sync results|archive``, ``hrbridge quarantine list|requeue``, ``hrbridge webhook serve``.

Same pipelines as the ``interview_results`` and ``archive_sync`` DAGs, without Airflow.
Connectors come from the environment (``HRBRIDGE_SF_*``, ``HRBRIDGE_INTERVIEW_*``); the webhook
secret from ``HRBRIDGE_WEBHOOK_SECRET``.
"""

from __future__ import annotations

import argparse
import json
import os
from typing import Any


def _sub_action(subparsers: Any, name: str, help_text: str, dest: str) -> Any:
    """The sub-command action under ``hrbridge <name>``, shared with other modules."""
    parser = subparsers.choices.get(name)
    if parser is None:
        parser = subparsers.add_parser(name, help=help_text)
        return parser.add_subparsers(dest=dest, metavar=dest.upper())
    for action in parser._actions:  # noqa: SLF001 - argparse offers no public accessor
        if isinstance(action, argparse._SubParsersAction):  # noqa: SLF001
            return action
    return parser.add_subparsers(dest=dest, metavar=dest.upper())


def register(subparsers: Any) -> None:
    """Add ``sync results``, ``sync archive``, ``quarantine list|requeue`` and ``webhook serve``."""
    from hrbridge.commands.sync import sync_subparsers

    targets = sync_subparsers(subparsers)
    results = targets.add_parser(
        "results", help="interview results → validated → stored → written back (one pass)",
        description="Pull completed interview results after the stored cursor (plus webhook-delivered ones), "
                    "validate them, quarantine bad ones, write scores back and sync interview statuses.",
    )
    results.add_argument("--json", action="store_true", help="print one JSON object with the run's counts")
    results.add_argument("--no-report", action="store_true", help="skip the HTML validation report")
    results.set_defaults(func=run_results)
    archive = targets.add_parser(
        "archive", help="hired applications → employee archive (one pass, idempotent)",
        description="Map hired applications with their interview portraits into the employee archive.",
    )
    archive.add_argument("--json", action="store_true", help="print one JSON object with the run's counts")
    archive.set_defaults(func=run_archive)

    quarantine = _sub_action(subparsers, "quarantine", "interview results held back by the checks", "action")
    listing = quarantine.add_parser("list", help="results held in quarantine, per check")
    listing.add_argument("--json", action="store_true", help="print one JSON object")
    listing.set_defaults(func=run_quarantine_list)
    requeue = quarantine.add_parser(
        "requeue", help="send quarantined results back for another validation (after fixing the cause)",
    )
    requeue.add_argument("--rule", help="only results that broke this rule (e.g. known_invitation)")
    requeue.add_argument("--run", dest="run_id", help="only results quarantined by this run")
    requeue.set_defaults(func=run_quarantine_requeue)

    webhook = _sub_action(subparsers, "webhook", "receive signed interview-completion webhooks", "action")
    serve = webhook.add_parser("serve", help="serve the signed webhook receiver until interrupted")
    serve.add_argument("--host", default="127.0.0.1", help="interface to bind (default 127.0.0.1)")
    serve.add_argument("--port", type=int, default=8765, help="port (default 8765; 0 picks a free one)")
    serve.add_argument("--path", default="/webhooks/interview", help="callback path")
    serve.set_defaults(func=run_webhook)


def _print(summary: dict[str, Any], as_json: bool, lines: list[str]) -> None:
    if as_json:
        print(json.dumps(summary, default=str, ensure_ascii=False))
    else:
        print("\n".join(lines))


def run_results(args: argparse.Namespace) -> int:
    """One pass of interview_results; exit 1 when some write-backs are still pending."""
    from hrbridge.artefacts import artefact_store
    from hrbridge.cli import UsageError
    from hrbridge.connections import interview_platform_from_env, successfactors_from_env
    from hrbridge.pipelines.interview_results import (
        build_validation_report,
        load_results_config,
        run_interview_results,
        write_validation_report,
    )
    from hrbridge.settings import ConfigError, load_settings
    from hrbridge.store import hub_engine

    settings = load_settings()
    try:
        config = load_results_config(settings)
        from hrbridge.sources import results_target

        sf = results_target(settings, default=successfactors_from_env)
        platform = interview_platform_from_env()
    except ConfigError as exc:
        raise UsageError(str(exc)) from exc
    engine = hub_engine(settings)
    summary = run_interview_results(platform, sf, engine, config, settings=settings)
    data = summary.to_dict()
    if not args.no_report:
        report = build_validation_report(engine, settings, run_id=summary.run_id, config=config)
        data["report_key"] = report.page
        data["report"] = str(write_validation_report(artefact_store(settings, engine=engine), report,
                                                     settings.ensure_dirs().reports_dir)[0])
    failing = ", ".join(f"{k} {v}" for k, v in summary.failures.items() if v) or "none"
    _print(data, args.json, [
        f"results run {summary.run_id}",
        f"  read {summary.read}: stored {summary.stored}, quarantined {summary.quarantined}, "
        f"already received {summary.duplicates}",
        f"  failed checks: {failing}",
        f"  written back {summary.written_back}, failed {summary.writeback_failed} "
        f"(pending for next run: {summary.writeback_pending}); statuses written {summary.statuses_written}",
        *([f"  report: {data['report']}"] if "report" in data else []),
    ])
    return 1 if summary.writeback_failed else 0


def run_archive(args: argparse.Namespace) -> int:
    """One pass of archive_sync; exit 1 when some hires could not be archived."""
    from hrbridge.archive import archive_engine
    from hrbridge.cli import UsageError
    from hrbridge.pipelines.archive_sync import load_archive_config, run_archive_sync
    from hrbridge.settings import ConfigError, load_settings
    from hrbridge.store import hub_engine

    settings = load_settings()
    try:
        config = load_archive_config(settings)
    except ConfigError as exc:
        raise UsageError(str(exc)) from exc
    summary = run_archive_sync(hub_engine(settings), archive_engine(settings), config, settings=settings)
    lines = [f"archive: {summary.hires} hires, {summary.archived} archived, {len(summary.skipped)} skipped, "
             f"{summary.erased} erased (key shredded, left as is)"]
    if summary.rekeyed:
        lines.append(f"  persons moved to the keyed person key: {summary.rekeyed}")
    for name in ("persons", "employments", "portraits"):
        c = getattr(summary, name)
        lines.append(f"  {name}: {c.inserted} new, {c.updated} updated, {c.unchanged} unchanged")
    lines += [f"  skipped application {k}: {v}" for k, v in summary.skipped.items()]
    _print(summary.to_dict(), args.json, lines)
    return 1 if summary.skipped else 0


def run_quarantine_list(args: argparse.Namespace) -> int:
    """Print how many quarantined results broke each rule."""
    from hrbridge.pipelines.interview_results import quarantine_summary
    from hrbridge.settings import load_settings
    from hrbridge.store import hub_engine

    counts = quarantine_summary(hub_engine(load_settings()))
    lines = [f"{name:<28}{count:>7}" for name, count in sorted(counts.items())] or ["quarantine is empty"]
    _print(counts, args.json, lines)
    return 0


def run_quarantine_requeue(args: argparse.Namespace) -> int:
    """Requeue matching quarantined results; the next ``sync results`` validates them again."""
    from hrbridge.pipelines.interview_results import requeue_quarantined
    from hrbridge.settings import load_settings
    from hrbridge.store import hub_engine

    count = requeue_quarantined(hub_engine(load_settings()), rule=args.rule, run_id=args.run_id)
    print(f"requeued {count} results; the next `hrbridge sync results` (or interview_results run) checks them again")
    return 0


def run_webhook(args: argparse.Namespace) -> int:
    """Serve the receiver in the foreground under uvicorn; needs HRBRIDGE_WEBHOOK_SECRET.

    After a delivery is queued: with an Airflow API configured (``HRBRIDGE_AIRFLOW_API_URL`` or
    the ``hrbridge_airflow_api`` Connection) an asset event for ``hrbridge://hub/results_inbox``
    is posted there; otherwise the inbox is validated and stored in this process.
    """
    from hrbridge.cli import UsageError
    from hrbridge.pipelines.interview_results import load_results_config, suite_runner
    from hrbridge.settings import load_settings
    from hrbridge.store import hub_engine
    from hrbridge.webhook import AssetEventEmitter, WebhookLimits, WebhookReceiver, WebhookServer
    from hrbridge.webhook.followup import airflow_api_from_env

    secret = os.environ.get("HRBRIDGE_WEBHOOK_SECRET", "")
    if not secret:
        raise UsageError("set HRBRIDGE_WEBHOOK_SECRET to the secret shared with the interview platform")
    limits = WebhookLimits.from_env()
    settings = load_settings()
    config = load_results_config(settings)
    airflow = airflow_api_from_env()
    followup = None
    if airflow is not None:
        followup = AssetEventEmitter(airflow.publish)
        then = f"asset event for hrbridge://hub/results_inbox posted to {airflow.base_url}"
    else:
        suite_runner(config)  # build the suite before the first delivery arrives
        then = "validated and stored in this process"
    receiver = WebhookReceiver(hub_engine(settings), config, settings, secret, followup=followup, limits=limits)
    try:
        server = WebhookServer(receiver, host=args.host, port=args.port, path=args.path, limits=limits)
    except OSError as exc:
        receiver.close()
        raise UsageError(f"cannot listen on {args.host}:{args.port}: {exc.strerror or exc}") from exc
    try:
        print(f"listening on {server.url} (Ctrl+C to stop); deliveries are {then}", flush=True)
        server.serve_forever()
    except KeyboardInterrupt:  # uvicorn re-raises the Ctrl-C it handled: stopping is this command's normal end
        pass
    return 0
