"""Benchmark: hrbridge's DAGs on the many-machine topology (tests/cluster, started from deploy/compose.yaml).

1. ``legacy_migration`` through the scheduler and Celery: a generated 1,000,000-row legacy CSV (5 %
   injected faults) migrated into the archive on Postgres, with one worker and with two; wall time from
   the REST trigger to the run's success, the verification's counts and integrity, time per task.
2. ``candidate_sync`` through the scheduler: N applications (default 10,000) in the SuccessFactors
   sandbox reach the trigger status; the run is triggered through the REST API at once; latency from each
   application's own change time in the source (its ``lastModifiedDateTime``) to the invitation posted and
   to the write-back, and applications per second from trigger to the run's end.

    python benchmarks/bench_cluster.py                      # both, 1M rows, 10,000 applications
    python benchmarks/bench_cluster.py --rows 200000 --applications 2000 --only migration
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

PG_SERVER = os.environ.get("HRBRIDGE_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
REDIS = os.environ.get("HRBRIDGE_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")


def _seconds(ti: dict[str, Any]) -> float:
    start, end = ti.get("start_date"), ti.get("end_date")
    if not start or not end:
        return 0.0
    return (datetime.fromisoformat(end) - datetime.fromisoformat(start)).total_seconds()


def _topology(root: Path, workers: int, concurrency: int) -> Any:
    from tests.cluster.topology import Topology

    names = tuple(f"worker-{chr(ord('a') + i)}" for i in range(workers))
    return Topology(root / f"{workers}w-{time.time_ns()}", PG_SERVER, REDIS, workers=names, concurrency=concurrency,
                    heartbeat_timeout=120)


def migration(rows: int, workers: int, source: Path, root: Path, batch: int) -> dict[str, Any]:
    """One legacy_migration run on a fresh topology with ``workers`` workers."""
    topology = _topology(root, workers, concurrency=2)
    try:
        started = time.perf_counter()
        topology.start()
        boot = time.perf_counter() - started
        api = topology.api
        t0 = time.perf_counter()
        run_id = api.trigger("legacy_migration", {"source": str(source), "batch_size": batch})
        state = api.wait("legacy_migration", run_id, timeout=3600, poll=2.0)
        wall = time.perf_counter() - t0
        summary = api.xcom("legacy_migration", run_id, "verify") if state == "success" else {}
        tis = api.task_instances("legacy_migration", run_id)
        per_task: dict[str, list[float]] = {}
        for ti in tis:
            per_task.setdefault(ti["task_id"], []).append(_seconds(ti))
        hosts = {h for w in topology.workers for h in [w] if any(topology.task_logs(w).rglob("*.log"))}
    finally:
        topology.stop()
    return {"workers": workers, "state": state, "boot": boot, "wall": wall, "rows_per_s": rows / wall,
            "summary": summary, "per_task": per_task, "hosts_used": sorted(hosts)}


def candidate_sync(n: int, root: Path) -> dict[str, Any]:
    """Initial load, then N applications change status and one run is triggered at once through the API."""
    import sqlalchemy as sa

    from benchmarks.bench_candidate_sync import _ask, _epoch, _platform, _successfactors
    from hrbridge.store import recruiting as store

    parent, child = mp.Pipe()
    sf_proc = mp.Process(target=_successfactors, args=(child,), daemon=True)
    sf_proc.start()
    sf_url = parent.recv()
    vendor, vendor_child = mp.Pipe()
    vendor_proc = mp.Process(target=_platform, args=(vendor_child,), daemon=True)
    vendor_proc.start()
    platform_url = vendor.recv()
    topology = _topology(root, 2, concurrency=2)
    try:
        topology.start()
        api = topology.api
        api.put_connection("hrbridge_successfactors", conn_type="http", host=sf_url, login="sfadmin",
                           password="sandbox-secret", extra='{"company_id": "SFPART000001", "page_size": 1000}')
        api.put_connection("hrbridge_interview", conn_type="http", host=platform_url,
                           password="sandbox-interview-key")
        ids = _ask(parent, sf_proc, "add", n)
        t0 = time.perf_counter()
        initial = api.wait("candidate_sync", api.trigger("candidate_sync"), timeout=1800, poll=1.0)
        initial_s = time.perf_counter() - t0
        changed_at = _ask(parent, sf_proc, "trigger", ids)
        t0 = time.perf_counter()
        run_id = api.trigger("candidate_sync")
        state = api.wait("candidate_sync", run_id, timeout=1800, poll=0.5)
        wall = time.perf_counter() - t0
        tis = {ti["task_id"]: _seconds(ti) for ti in api.task_instances("candidate_sync", run_id)}
        hub = sa.create_engine(topology.databases["hub"])
        with hub.connect() as conn:
            rows = conn.execute(sa.select(store.invitations.c.application_id, store.invitations.c.posted_at,
                                          store.invitations.c.written_back_at)
                                .where(store.invitations.c.application_id.in_([str(i) for i in ids]))).all()
        hub.dispose()
        linked = _ask(parent, sf_proc, "stats", ids)["linked"]
    finally:
        topology.stop()
        _ask(parent, sf_proc, "stop")
        _ask(vendor, vendor_proc, "stop")
    to_invite = [_epoch(r.posted_at) - changed_at[r.application_id] for r in rows if r.posted_at]
    to_write = [_epoch(r.written_back_at) - changed_at[r.application_id] for r in rows if r.written_back_at]
    return {"n": n, "initial": initial, "initial_s": initial_s, "state": state, "wall": wall, "per_task": tis,
            "invited": len(to_invite), "written": len(to_write), "linked": linked,
            "to_invite": to_invite, "to_write": to_write}


def _p(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))] if ordered else float("nan")


def main(argv: list[str] | None = None) -> int:
    """Run the chosen parts and print their figures; exit 1 when a run fails or a count is off."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--batch-size", type=int, default=50_000)
    parser.add_argument("--applications", type=int, default=10_000)
    parser.add_argument("--only", choices=["migration", "candidate-sync"], default=None)
    args = parser.parse_args(argv)
    root = Path(tempfile.mkdtemp(prefix="hrbridge-bench-cluster-"))
    ok = True
    print(f"cluster benchmark — {os.cpu_count()} CPUs, Postgres + Redis + Celery, "
          f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC")
    if args.only in (None, "migration"):
        from benchmarks.generate_legacy import generate, write

        frame, injected = generate(args.rows, seed=42)
        source = write(frame, root / "legacy.csv")
        del frame
        for workers in (1, 2):
            result = migration(args.rows, workers, source, root, args.batch_size)
            s = result["summary"]
            exact = (s.get("source_rows"), s.get("loaded_rows"), s.get("quarantined_rows"),
                     s.get("duplicates_merged")) == (injected.rows, injected.expected_clean_rows,
                                                     injected.quarantined_rows, injected.duplicates_merged)
            ok &= result["state"] == "success" and exact and s.get("integrity_ratio") == 1.0
            tasks = ", ".join(f"{k} {sum(v):.1f}s" + (f" ({len(v)}×)" if len(v) > 1 else "")
                              for k, v in result["per_task"].items())
            print(f"  legacy_migration {args.rows:,} rows, {workers} worker(s): {result['state']} in "
                  f"{result['wall']:.1f}s = {result['rows_per_s']:,.0f} rows/s (topology up in {result['boot']:.0f}s); "
                  f"counts exact: {exact}, integrity {s.get('integrity_ratio')}; tasks ran on "
                  f"{', '.join(result['hosts_used'])}\n    task time: {tasks}")
    if args.only in (None, "candidate-sync"):
        r = candidate_sync(args.applications, root)
        ok &= r["state"] == "success" and r["invited"] == r["written"] == r["linked"] == r["n"]
        ok &= min(r["to_invite"] + r["to_write"], default=0.0) >= 0
        tasks = ", ".join(f"{k} {v:.1f}s" for k, v in r["per_task"].items())
        print(f"  candidate_sync {r['n']:,} applications through the scheduler: initial load {r['initial']} in "
              f"{r['initial_s']:.1f}s; run {r['state']} in {r['wall']:.1f}s = {r['n'] / r['wall']:,.0f} applications/s "
              f"(trigger → run end); invited {r['invited']:,}, written back {r['written']:,}, links in source "
              f"{r['linked']:,}\n    task time: {tasks}\n"
              f"    source change (lastModifiedDateTime) → invitation posted: median "
              f"{statistics.median(r['to_invite']):.1f}s, p95 {_p(r['to_invite'], 0.95):.1f}s; → written back: "
              f"median {statistics.median(r['to_write']):.1f}s, p95 {_p(r['to_write'], 0.95):.1f}s")
    print(f"  checks: {'ok' if ok else 'FAILED'}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
