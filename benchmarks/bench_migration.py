"""Benchmark the legacy migration against its floor and the naive way, side by side, on Postgres.

    python benchmarks/bench_migration.py --rows 1000000 [--pg-url postgresql://postgres@127.0.0.1:5432/test]

Runs, each in its own subprocess on its own fresh database (peak memory = the child's max RSS
from ``resource.getrusage(RUSAGE_CHILDREN)`` measured by a one-command wrapper process):

1. ``hrbridge migrate`` end to end on the dirty CSV: read, map, clean, dedupe, load (COPY +
   upsert, checkpoints), then verify every row and write the report;
2. ``psql \\copy`` of the same rows already clean (exported from step 1's target): the floor;
3. the naive way: ``pandas.read_csv`` + ``DataFrame.to_sql`` of the dirty CSV (no cleaning at all).

With ``--sealing``, also the cost of sealing personal columns on load (issue 12):

4. ``hrbridge migrate`` with the mapping's ``personal: {columns: []}`` — personal columns in
   plaintext, the run as it was before encrypt-on-load;
5. sealing four personal columns of ``--rows`` subjects on a fresh SQLite hub, per-value
   (``Vault.encrypt_rows``, the path migrations used first) against the bulk path
   (``Vault.seal_columns``), each in its own process.

The client CPU column (user + system seconds of the contender's process, not the database
server's) is steadier than wall time when the machine is shared.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

WRAPPER = """
import json, resource, subprocess, sys, time
started = time.perf_counter()
code = subprocess.run(sys.argv[2:]).returncode
seconds = time.perf_counter() - started
usage = resource.getrusage(resource.RUSAGE_CHILDREN)
open(sys.argv[1], "w").write(json.dumps({"code": code, "seconds": seconds, "peak_mb": usage.ru_maxrss / 1024,
                                         "cpu_seconds": usage.ru_utime + usage.ru_stime}))
"""

NAIVE = """
import sys, pandas as pd, sqlalchemy as sa
frame = pd.read_csv(sys.argv[1])
frame.to_sql("employees_naive", sa.create_engine(sys.argv[2]), if_exists="replace", index=False)
"""


SEAL = """
import sys, tempfile, sqlalchemy as sa
from pathlib import Path
from governance.crypto import Vault
mode, n = sys.argv[1], int(sys.argv[2])
subjects = [f"employee:{i:07d}" for i in range(n)]
records = [str(i) for i in range(n)]
columns = {c: [f"{c}-{i:09d}" for i in range(n)] for c in ("id_number", "phone", "email", "salary")}
home = Path(tempfile.mkdtemp())
vault = Vault.local(sa.create_engine(f"sqlite:///{home / 'hub.db'}"), home)
if mode == "bulk":
    vault.seal_columns(columns, subjects, records, table="employees")
else:
    rows = [{"s": s, "r": r, **{c: v[i] for c, v in columns.items()}} for i, (s, r) in enumerate(zip(subjects, records))]
    vault.encrypt_rows(rows, list(columns), table="employees", subject_key="s", record_key="r")
"""


def plaintext_mapping(dirty: Path, work: Path) -> Path:
    """The suggested mapping of ``dirty`` with no personal columns (they load in plaintext)."""
    import yaml

    suggested = work / "mapping.yaml"
    subprocess.run([sys.executable, "-m", "hrbridge.cli", "mapping", "suggest", str(dirty), "--out", str(suggested),
                    "--force"], check=True, env={**os.environ, "PYTHONPATH": str(REPO)}, cwd=REPO,
                   stdout=subprocess.DEVNULL)
    mapping = yaml.safe_load(suggested.read_text(encoding="utf-8"))
    mapping["personal"] = {"columns": []}
    plain = work / "mapping-plaintext.yaml"
    plain.write_text(yaml.safe_dump(mapping, allow_unicode=True), encoding="utf-8")
    return plain


def measured(command: list[str], label: str) -> dict:
    """Run ``command`` under the wrapper; return its seconds, exit code and peak RSS."""
    with tempfile.NamedTemporaryFile(suffix=".json", delete=False) as handle:
        out = handle.name
    print(f"… {label}", file=sys.stderr, flush=True)
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    subprocess.run([sys.executable, "-c", WRAPPER, out, *command], check=True, env=env, cwd=REPO)
    result = json.loads(Path(out).read_text())
    os.unlink(out)
    if result["code"] != 0:
        raise SystemExit(f"{label} failed with exit code {result['code']}")
    return result


class Databases:
    """Fresh databases on the server, dropped at the end."""

    def __init__(self, server_url: str) -> None:
        import sqlalchemy as sa

        from connectors.sql import normalise_url

        self.admin = sa.create_engine(normalise_url(server_url), isolation_level="AUTOCOMMIT")
        self.base = normalise_url(server_url).rsplit("/", 1)[0]
        self.names: list[str] = []

    def new(self) -> str:
        import sqlalchemy as sa

        name = f"hrb_bench_{uuid.uuid4().hex[:10]}"
        with self.admin.connect() as conn:
            conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
        self.names.append(name)
        return f"{self.base}/{name}"

    def drop_all(self) -> None:
        import sqlalchemy as sa

        with self.admin.connect() as conn:
            for name in self.names:
                conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


def libpq(url: str) -> str:
    """A SQLAlchemy URL as psql understands it."""
    return "postgresql://" + url.split("://", 1)[1]


def export_clean(url: str, path: Path) -> tuple[str, str]:
    """Copy the migrated table out as CSV (the clean rows) and return its DDL and column list."""
    import sqlalchemy as sa

    from connectors.sql import make_engine

    engine = make_engine(url)
    table = sa.Table("employees", sa.MetaData(), autoload_with=engine)
    columns = ", ".join(c.name for c in table.columns)
    raw = engine.raw_connection()
    try:
        with raw.driver_connection.cursor() as cursor, path.open("wb") as out, \
                cursor.copy(f"COPY employees ({columns}) TO STDOUT (FORMAT csv)") as copy:  # noqa: S608
            for chunk in copy:
                out.write(chunk)
    finally:
        raw.close()
    ddl = str(sa.schema.CreateTable(table).compile(engine)).strip()
    engine.dispose()
    return ddl, columns


def main(argv: list[str] | None = None) -> int:
    """Generate the data, run the three contenders, print the comparison."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--pg-url", default=os.environ.get("HRBRIDGE_TEST_PG_URL",
                                                           "postgresql://postgres@127.0.0.1:5432/test"))
    parser.add_argument("--batch-size", type=int, default=50_000)
    parser.add_argument("--workdir", help="keep generated files here (default: a temp folder)")
    parser.add_argument("--skip-naive", action="store_true", help="skip the (slow) pandas.to_sql baseline")
    parser.add_argument("--sealing", action="store_true",
                        help="also: migrate with personal columns in plaintext, and per-value vs bulk sealing")
    args = parser.parse_args(argv)

    from benchmarks.generate_legacy import generate, write

    work = Path(args.workdir or tempfile.mkdtemp(prefix="hrb-migbench-"))
    work.mkdir(parents=True, exist_ok=True)
    dirty = work / f"legacy_{args.rows}.csv"
    expected = work / f"legacy_{args.rows}.expected.json"
    if not dirty.exists():
        started = time.perf_counter()
        frame, injected = generate(args.rows, seed=42)
        write(frame, dirty)
        expected.write_text(json.dumps(injected.to_dict(), ensure_ascii=False))
        del frame
        print(f"generated {args.rows:,} rows in {time.perf_counter() - started:.1f} s", file=sys.stderr)
    databases = Databases(args.pg_url)
    try:
        target = databases.new()
        report_dir = work / "report"
        hrb = measured([sys.executable, "-m", "hrbridge.cli", "migrate", "--source", str(dirty), "--mapping", "auto",
                        "--target", target, "--batch-size", str(args.batch_size), "--report-dir", str(report_dir),
                        "--run-id", "bench"], "hrbridge migrate (clean + load + verify)")
        report = json.loads((report_dir / "report.json").read_text(encoding="utf-8"))
        clean_csv = work / "clean.csv"
        ddl, columns = export_clean(target, clean_csv)
        floor_db = databases.new()
        subprocess.run(["psql", libpq(floor_db), "-q", "-c", ddl], check=True)
        floor = measured(["psql", libpq(floor_db), "-q", "-c",
                          f"\\copy employees ({columns}) FROM '{clean_csv}' WITH (FORMAT csv)"], "psql \\copy")
        sealing: list[tuple[str, dict, int]] = []
        if args.sealing:
            plain = measured([sys.executable, "-m", "hrbridge.cli", "migrate", "--source", str(dirty), "--mapping",
                              str(plaintext_mapping(dirty, work)), "--target", databases.new(), "--batch-size",
                              str(args.batch_size), "--run-id", "bench-plain"], "hrbridge migrate, personal plaintext")
            sealing.append(("hrbridge migrate, personal in plaintext", plain, args.rows))
            for mode, label in (("per-value", "seal 4 columns: per-value encrypt_rows"),
                                ("bulk", "seal 4 columns: bulk seal_columns")):
                sealing.append((label, measured([sys.executable, "-c", SEAL, mode, str(args.rows)], label), args.rows))
        naive = None
        if not args.skip_naive:
            naive = measured([sys.executable, "-c", NAIVE, str(dirty), databases.new()], "pandas read_csv + to_sql")
    finally:
        databases.drop_all()

    rows = args.rows
    lines = [("hrbridge migrate (clean+load+verify)", hrb, rows), ("psql \\copy of clean rows (floor)", floor,
             report["loaded_rows"])]
    if naive:
        lines.append(("pandas read_csv + to_sql (naive)", naive, rows))
    lines += sealing
    print(f"\n{rows:,} source rows → {report['loaded_rows']:,} loaded, {report['quarantined_rows']:,} quarantined, "
          f"{report['duplicates_merged']:,} merged; verified {report['verified_rows']:,}, "
          f"integrity {report['integrity_ratio']:.4%}, passed={report['passed']}")
    print(f"hrbridge phases (s): {report['timings']}")
    print(f"{'method':40} {'seconds':>9} {'rows/s':>10} {'peak MB':>9} {'client CPU s':>13}")
    for label, result, count in lines:
        print(f"{label:40} {result['seconds']:9.1f} {count / result['seconds']:10,.0f} {result['peak_mb']:9.0f} "
              f"{result['cpu_seconds']:13.1f}")
    floor_rate = report["loaded_rows"] / floor["seconds"]
    hrb_rate = rows / hrb["seconds"]
    print(f"hrbridge / \\copy throughput: {hrb_rate / floor_rate:.0%} (target ≥ 40 %)")
    if naive:
        print(f"hrbridge / naive throughput: {hrb_rate / (rows / naive['seconds']):.1f}× (target ≥ 10×)")
    print(f"hrbridge peak memory: {hrb['peak_mb']:.0f} MB (target ≤ 1,536 MB)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
