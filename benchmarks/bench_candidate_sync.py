"""Benchmark: N new SuccessFactors applications reach the trigger status → invited and written back.

The two sandboxes run in two child processes (as the real systems would be elsewhere), the pipeline in
this one, on a SQLite hub by default (``--db-url`` for Postgres). Steps:

1. create N applications at ``Applied`` and run one sync (initial load; not measured as throughput);
2. move all N to ``AI Interview`` (the trigger status); each application's status-change time is the
   source's own record of it, its ``lastModifiedDateTime`` in SuccessFactors;
3. run the loop (``run_candidate_sync``; ``--stages`` runs and times the four stages one by one);
   check every application was invited exactly once and written back; report applications/s and
   the time from status change to invitation.

``--rate-limit R`` caps invitation POSTs per second through the shared HTTP client; the report shows
the sustained rate the platform observed. Baseline target: ≥ 200 applications/s on 2 cores.

    python benchmarks/bench_candidate_sync.py                       # 10,000 applications
    python benchmarks/bench_candidate_sync.py -n 2000 --rate-limit 100
    python benchmarks/bench_candidate_sync.py --source greenhouse   # the same run fed by Greenhouse Harvest v3

``--source greenhouse`` runs the Greenhouse sandbox instead of SuccessFactors (status change = the
application moved to the "AI Interview" stage, its ``last_activity_at``; write-back = one PATCH of
the application's custom fields per record).
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import os
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

TRIGGER = "AI Interview"


def _platform(conn: Any) -> None:
    """Child process: the interview platform sandbox (its own process, like the real vendor)."""
    from sandbox.interview import InterviewPlatformSandbox

    platform = InterviewPlatformSandbox(port=0).start()
    conn.send(platform.url)
    while True:
        command, arg = conn.recv()
        if command == "stats":
            wanted = {str(i) for i in arg}
            created = sorted(inv["created_at"].timestamp() for inv in platform.invitations.values()
                             if inv["request"]["application_id"] in wanted)
            conn.send({"creations": platform.creations, "posts": len(platform.invitation_posts),
                       "created": created})
        elif command == "stop":
            platform.stop()
            conn.send("stopped")
            return


def _successfactors(conn: Any) -> None:
    """Child process: the SuccessFactors sandbox, answering commands over the pipe."""
    from sandbox.successfactors import SuccessFactorsSandbox

    sf = SuccessFactorsSandbox(port=0, page_size=1000).start()
    conn.send(sf.url)
    while True:
        command, arg = conn.recv()
        if command == "add":
            conn.send(sf.add_applications(arg, status="Applied"))
        elif command == "trigger":
            stamps = {}
            for app_id in arg:
                sf.set_application_status(app_id, TRIGGER)
                stamps[str(app_id)] = sf.get("JobApplication", app_id)["lastModifiedDateTime"].timestamp()
            conn.send(stamps)
        elif command == "stats":
            ids = set(arg)
            conn.send({"linked": sum(1 for r in sf.records("JobApplication")
                                     if r["applicationId"] in ids and r.get("cust_aiInterviewLink"))})
        elif command == "stop":
            sf.stop()
            conn.send("stopped")
            return


def _greenhouse(conn: Any) -> None:
    """Child process: the Greenhouse Harvest v3 sandbox, answering the same commands."""
    from sandbox.greenhouse import GreenhouseSandbox

    gh = GreenhouseSandbox(port=0).start()
    conn.send(gh.url)
    while True:
        command, arg = conn.recv()
        if command == "add":
            conn.send(gh.add_applications(arg, stage="Applied"))
        elif command == "trigger":
            conn.send({f"greenhouse:{app_id}": gh.move(app_id, TRIGGER).timestamp() for app_id in arg})
        elif command == "stats":
            ids = set(arg)
            conn.send({"linked": sum(1 for r in gh.records("applications")
                                     if r["id"] in ids and r["custom_fields"].get("ai_interview_link"))})
        elif command == "stop":
            gh.stop()
            conn.send("stopped")
            return


def _source(name: str, url: str, config: Any) -> tuple[Any, Any, Any]:
    """The source system, its sync config and key qualifier for ``--source``."""
    from connectors.source import SourceKeys

    if name == "greenhouse":
        from connectors.greenhouse import GreenhouseConnector
        from hrbridge.settings import load_config
        from sandbox.greenhouse import DEFAULT_CLIENTS, DEFAULT_USER_ID

        client, secret = next(iter(DEFAULT_CLIENTS.items()))
        gh = GreenhouseConnector(client, secret, DEFAULT_USER_ID, base_url=url, token_url=f"{url}/token")
        return gh, config.for_source(load_config("sources/greenhouse")), SourceKeys("greenhouse:")
    from hrbridge.connections import build_successfactors

    sf = build_successfactors(url, "sfadmin", "sandbox-secret", "SFPART000001", page_size=1000)
    return sf, config, SourceKeys()


def _ask(pipe: Any, worker: Any, command: str, arg: Any = None) -> Any:
    """Send a command to the sandbox process and wait for its answer (fail fast if it died)."""
    pipe.send((command, arg))
    while not pipe.poll(1.0):
        if not worker.is_alive():
            raise SystemExit(f"the sandbox process died (exit {worker.exitcode}) during {command!r}")
    return pipe.recv()


def _epoch(stamp: datetime) -> float:
    """Seconds since the epoch; a naive datetime (SQLite hands them back so) is UTC, as hrbridge stores it."""
    return (stamp if stamp.tzinfo else stamp.replace(tzinfo=UTC)).timestamp()


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    index = min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))
    return ordered[index]


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark and print a table; exit 1 when a check fails."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", "--applications", type=int, default=10_000)
    parser.add_argument("--rate-limit", type=float, default=None, help="invitation POSTs per second")
    parser.add_argument("--concurrency", type=int, default=None, help="invitation POSTs in flight")
    parser.add_argument("--db-url", default=None, help="hub database (default: SQLite in a temp dir)")
    parser.add_argument("--source", choices=("successfactors", "greenhouse"), default="successfactors",
                        help="the HR source sandbox feeding the run (default successfactors)")
    parser.add_argument("--stages", action="store_true",
                        help="run the four stages one after another and time each (no write-back overlap)")
    args = parser.parse_args(argv)

    home = Path(tempfile.mkdtemp(prefix="hrbridge-bench-"))
    os.environ["HRBRIDGE_HOME"] = str(home)
    if args.db_url:
        os.environ["HRBRIDGE_DB_URL"] = args.db_url

    import dataclasses

    import sqlalchemy as sa

    from hrbridge.connections import build_interview_platform
    from hrbridge.pipelines import candidate_sync as pipeline
    from hrbridge.store import hub_engine
    from hrbridge.store import recruiting as store

    parent, child = mp.Pipe()
    worker = mp.Process(target=_greenhouse if args.source == "greenhouse" else _successfactors, args=(child,),
                        daemon=True)
    worker.start()
    sf_url = parent.recv()
    vendor, vendor_child = mp.Pipe()
    vendor_worker = mp.Process(target=_platform, args=(vendor_child,), daemon=True)
    vendor_worker.start()
    platform_url = vendor.recv()
    config = pipeline.load_sync_config()
    config = dataclasses.replace(config, interview_rate_limit=args.rate_limit,
                                 concurrency=args.concurrency or config.concurrency)
    sf, source_config, keys = _source(args.source, sf_url, config)
    sources = [pipeline.SyncSource(sf, source_config, keys)]
    platform = build_interview_platform(platform_url, "sandbox-interview-key", rate_limit=args.rate_limit,
                                        pool_size=max(32, config.concurrency))
    engine = hub_engine()

    started = time.perf_counter()
    ids = _ask(parent, worker, "add", args.applications)
    setup_seconds = time.perf_counter() - started
    started = time.perf_counter()
    initial = pipeline.run_candidate_sync(sources, platform, engine, config)
    initial_seconds = time.perf_counter() - started
    hub_ids = [keys.qualify(i) for i in ids]  # the platform sees the hub's (source-qualified) application ids
    before = _ask(vendor, vendor_worker, "stats", hub_ids)
    changed_at = _ask(parent, worker, "trigger", ids)

    stages: dict[str, float] = {}
    t0 = time.perf_counter()
    if args.stages:
        run_id = pipeline.new_run_id()
        pipeline.start_run(engine, run_id)
        counts: dict[str, Any] = {}
        for name, call in (
            ("extract + load", lambda: pipeline.extract_and_load(sf, engine, source_config, run_id=run_id,
                                                                 keys=keys)),
            ("plan", lambda: pipeline.plan_invitations(engine, config, run_id=run_id)),
            ("post invitations", lambda: pipeline.post_invitations(platform, engine, config, run_id=run_id)),
            ("write back", lambda: pipeline.write_back(sf, engine, source_config, run_id=run_id, keys=keys)),
        ):
            stage_start = time.perf_counter()
            counts[name] = call()
            stages[name] = time.perf_counter() - stage_start
        loaded = {k: dataclasses.asdict(v) for k, v in counts["extract + load"].items()}
        summary = pipeline.record_summary(engine, run_id, loaded,
                                          {**counts["plan"], **counts["post invitations"], **counts["write back"]})
    else:
        summary = pipeline.run_candidate_sync(sources, platform, engine, config)
        run_id = summary.run_id
    total = time.perf_counter() - t0

    with engine.connect() as conn:
        rows = conn.execute(sa.select(store.invitations.c.application_id, store.invitations.c.posted_at,
                                      store.invitations.c.written_back_at, store.invitations.c.state)
                            .where(store.invitations.c.run_id == run_id)).all()
    after = {**_ask(parent, worker, "stats", ids), **_ask(vendor, vendor_worker, "stats", hub_ids)}
    _ask(parent, worker, "stop")
    _ask(vendor, vendor_worker, "stop")

    to_invite = [_epoch(r.posted_at) - changed_at[r.application_id] for r in rows if r.posted_at]
    to_write = [_epoch(r.written_back_at) - changed_at[r.application_id] for r in rows if r.written_back_at]
    created = after["created"]
    window = (created[-1] - created[0]) if len(created) > 1 else 0.0
    burst = max(1, int(args.rate_limit)) if args.rate_limit else 0
    observed_rate = (len(created) - burst) / window if window > 0 else float("nan")

    n = args.applications
    checks = {
        "latencies non-negative": min(to_invite + to_write, default=0.0) >= 0,
        "all invited": summary.invited == n and summary.triggered == n,
        "all written back": summary.written_back == n and after["linked"] == n,
        "one creation each": after["creations"] - before["creations"] == n,
        "all rows written_back": len(rows) == n and {r.state for r in rows} == {store.WRITTEN_BACK},
        "reads reconcile": summary.applications_read == sum(
            summary.streams["applications"].__dict__[k] for k in ("loaded", "quarantined", "deduplicated")),
    }
    if args.rate_limit:
        checks["rate limit held"] = observed_rate <= args.rate_limit * 1.05

    print(f"\ncandidate_sync benchmark — {n:,} applications from {args.source}, {os.cpu_count()} CPUs, hub "
          f"{'Postgres' if args.db_url and 'postgres' in args.db_url else 'SQLite'}, concurrency "
          f"{config.concurrency}, rate limit {args.rate_limit or 'none'}, "
          f"{'stage by stage' if args.stages else 'run_candidate_sync (write-back overlapped)'} "
          f"({datetime.now(UTC):%Y-%m-%d %H:%M} UTC)")
    print(f"  setup: {n:,} applications created in {setup_seconds:.1f}s; initial load "
          f"{initial.applications_read:,} applications in {initial_seconds:.1f}s")
    print(f"  {'stage':<22}{'seconds':>10}{'per second':>14}")
    for name, seconds in stages.items():
        print(f"  {name:<22}{seconds:>10.2f}{n / seconds if seconds else float('inf'):>14,.0f}")
    print(f"  {'end to end':<22}{total:>10.2f}{n / total:>14,.0f}  applications/s (target ≥ 200)")
    print(f"  status change → invitation posted:  median {statistics.median(to_invite):.1f}s, "
          f"p95 {_percentile(to_invite, 0.95):.1f}s")
    print(f"  status change → written back:       median {statistics.median(to_write):.1f}s, "
          f"p95 {_percentile(to_write, 0.95):.1f}s")
    print(f"  invitation POSTs observed by the platform: {len(created):,} over {window:.1f}s "
          f"= {observed_rate:,.0f}/s sustained" + (f" (limit {args.rate_limit:g}/s)" if args.rate_limit else ""))
    for name, ok in checks.items():
        print(f"  check {name:<24}{'ok' if ok else 'FAILED'}")
    return 0 if all(checks.values()) else 1


if __name__ == "__main__":
    sys.exit(main())
