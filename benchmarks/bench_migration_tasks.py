"""Per-batch task cost of the ``legacy_migration`` DAG: first and last batch, before and after, side by side.

    python benchmarks/bench_migration_tasks.py --rows 400000 --batch-size 50000 [--pg-url postgresql://…]

The DAG maps one ``migrate_batch`` task over the planned batches; each task is its own process, so
it rebuilds the run's cross-batch state from the committed checkpoints and reads its batch from the
source on its own. This script runs ``plan`` and then every batch through
:func:`hrbridge.pipelines.migration.migrate_batch` exactly as the tasks do (a fresh run context per
batch, nothing carried over in memory; Airflow's own start-up of 3-4 s per task is not included),
once per baseline, each in its own subprocess on its own fresh target:

* ``skip+full-restore`` — the way tasks worked before issue 13: the CSV reader parses every row
  before the batch's offset (``skiprows``; the plan's byte offsets are withheld) and each task
  restores the expected (verification) side of every checkpoint as well as the dedupe keys;
* ``seek+keys-only`` — now: the plan records each batch's byte offset (from the second reader's
  pass), the reader seeks straight to it, and a task restores only the dedupe keys and
  survivorship facts it dedupes against.

Printed per baseline: wall and CPU seconds of the first and the last batch, split into ``restore``
(checkpoints → key index), ``read_batch`` (the source), ``load`` (the target's transaction) and the
rest (cleaning, dedupe, sealing personal columns), and the run's counts (which must be equal across
baselines). The CPU column is this process's only (not the database server's): steadier than wall
time on a shared machine.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

BASELINES = ("skip+full-restore", "seek+keys-only")

CHILD = """
import collections, json, sys, time
import connectors.archive_loader as loader
import connectors.legacy_sources as sources
import hrbridge.pipelines.migration as m

baseline, source, target, batch_size = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
spent = collections.defaultdict(float)

def timed(owner, name, label, **force):
    original = getattr(owner, name)
    def call(*args, **kwargs):
        clock = time.perf_counter()
        try:
            return original(*args, **{**kwargs, **force})
        finally:
            spent[label] += time.perf_counter() - clock
    setattr(owner, name, call)

legacy = baseline == "skip+full-restore"
timed(m.Migration, "restore", "restore", **({"expected": True} if legacy else {}))
timed(sources.CsvSource, "read_batch", "read_batch")
timed(loader.ArchiveLoader, "load_batch", "load")
options = lambda: m.MigrationOptions(source=source, target=target, batch_size=batch_size, run_id="bench-tasks")
clock = time.perf_counter()
specs = m.plan(options())
planned = time.perf_counter() - clock
batches = []
for spec in specs:
    if legacy:
        spec = {**spec, "byte_offset": None}
    spent.clear()
    wall, cpu = time.perf_counter(), time.process_time()
    result = m.migrate_batch(options(), spec)
    batches.append({"batch_no": spec["batch_no"], "wall": time.perf_counter() - wall,
                    "cpu": time.process_time() - cpu, **spent, "result": result})
report = m.verify_run(options()).report
keys = ("source_rows", "loaded_rows", "quarantined_rows", "duplicates_merged", "integrity_ratio", "passed")
print(json.dumps({"plan": planned, "batches": batches, "report": {k: report[k] for k in keys}}))
"""


def run_baseline(baseline: str, source: Path, target: str, batch_size: int) -> dict:
    """Plan and load every batch as the DAG's tasks do, in a subprocess; its timings and counts."""
    print(f"… {baseline}", file=sys.stderr, flush=True)
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    done = subprocess.run([sys.executable, "-c", CHILD, baseline, str(source), target, str(batch_size)],
                          check=True, env=env, cwd=REPO, capture_output=True, text=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def main(argv: list[str] | None = None) -> int:
    """Generate the CSV, run both baselines, print first and last batch side by side."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=400_000)
    parser.add_argument("--batch-size", type=int, default=50_000)
    parser.add_argument("--encoding", default="utf-8", help="of the generated CSV (utf-8, utf-8-sig, gbk)")
    parser.add_argument("--pg-url", help="Postgres server for the targets (default: a SQLite file per baseline)")
    parser.add_argument("--workdir", help="keep generated files here (default: a temp folder)")
    args = parser.parse_args(argv)

    from benchmarks.generate_legacy import generate, write

    work = Path(args.workdir or tempfile.mkdtemp(prefix="hrb-taskbench-"))
    work.mkdir(parents=True, exist_ok=True)
    source = work / f"legacy_{args.rows}_{args.encoding}.csv"
    if not source.exists():
        started = time.perf_counter()
        frame, _ = generate(args.rows, seed=42)
        write(frame, source, encoding=args.encoding)
        del frame
        print(f"generated {args.rows:,} rows in {time.perf_counter() - started:.1f} s", file=sys.stderr)
    databases = None
    if args.pg_url:
        from benchmarks.bench_migration import Databases

        databases = Databases(args.pg_url)
    results = {}
    try:
        for baseline in BASELINES:
            target = databases.new() if databases else f"sqlite:///{work / f'target-{baseline}.db'}"
            if not databases and Path(target[len("sqlite:///"):]).exists():
                Path(target[len("sqlite:///"):]).unlink()
            results[baseline] = run_baseline(baseline, source, target, args.batch_size)
    finally:
        if databases:
            databases.drop_all()

    counts = {name: result["report"] for name, result in results.items()}
    print(f"\n{args.rows:,} rows ({args.encoding}), {args.batch_size:,}-row batches, "
          f"target {'Postgres' if args.pg_url else 'SQLite'}; per-batch task = migrate_batch() in a fresh run context")
    print(f"{'baseline':20} {'plan s':>7} {'batch':>6} {'wall s':>7} {'CPU s':>6} {'restore':>8} {'read':>6} "
          f"{'load':>6} {'rest':>6} {'all batches s':>14}")
    for name, result in results.items():
        batches = result["batches"]
        total = sum(b["wall"] for b in batches)
        for label, batch in (("first", batches[0]), ("last", batches[-1])):
            rest = batch["wall"] - sum(batch.get(part, 0.0) for part in ("restore", "read_batch", "load"))
            head = (name, f"{result['plan']:.2f}") if label == "first" else ("", "")
            tail = f"{total:.1f}" if label == "first" else ""
            print(f"{head[0]:20} {head[1]:>7} {batch['batch_no']:>6} {batch['wall']:7.2f} {batch['cpu']:6.2f} "
                  f"{batch.get('restore', 0.0):8.2f} {batch.get('read_batch', 0.0):6.2f} {batch.get('load', 0.0):6.2f} "
                  f"{rest:6.2f} {tail:>14}")
    growth = {b: results[b]["batches"][-1]["wall"] - results[b]["batches"][0]["wall"] for b in BASELINES}
    print(f"last − first batch: {growth[BASELINES[0]]:.2f} s → {growth[BASELINES[1]]:.2f} s")
    same = len({json.dumps(c, sort_keys=True) for c in counts.values()}) == 1
    print(f"counts {'identical' if same else 'DIFFER'} across baselines: {counts[BASELINES[1]]}")
    return 0 if same and all(c["passed"] for c in counts.values()) else 1


if __name__ == "__main__":
    sys.exit(main())
