"""Benchmark: purge N expired records on Postgres with their deletion-log entries, then verify the chain.

A fresh Postgres database gets a table of N interview records (one person each, all past the
30-day retention period), loaded with COPY (not measured). Then one ``RetentionExecutor.run``
deletes them in batches of 10,000 subjects: set-based DELETE, per-person log entries hashed in
Python and COPY'd into ``deletion_log``, signed head and checkpoint, one transaction per batch.
Finally ``verify_chain`` streams the whole log. Targets on 2 cores: ≥ 50,000 records/s purged,
verify of 1,000,000 entries ≤ 10 s.

    python benchmarks/bench_retention.py                       # 1,000,000 records
    python benchmarks/bench_retention.py -n 200000 --pg-url postgresql://postgres@127.0.0.1:5432/test
"""

from __future__ import annotations

import argparse
import io
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

CONFIG = {
    "batch_size": 10_000,
    "stores": [{"category": "interview_media", "store": "hub", "table": "bench_interview_media",
                "subject_column": "candidate_id", "timestamp_column": "completed_at"}],
    "policies": [{"name": "media-30d", "categories": ["interview_media"], "retention_days": 30,
                  "action": "delete", "legal_basis": "PIPL Art. 47(1)(2) retention period expired"}],
    "requests": {"crypto_shred": False},
}


def _load(engine: object, n: int) -> None:
    completed = (datetime.now(UTC) - timedelta(days=60)).isoformat()
    raw = engine.raw_connection()  # type: ignore[attr-defined]
    try:
        with raw.cursor() as cur:
            cur.execute("CREATE TABLE bench_interview_media (candidate_id text PRIMARY KEY, "
                        "completed_at timestamptz NOT NULL, video_ref text)")
            with cur.copy("COPY bench_interview_media FROM STDIN") as copy:
                buffer = io.StringIO()
                for i in range(n):
                    buffer.write(f"C{i:09d}\t{completed}\tvideo/C{i:09d}.mp4\n")
                    if i % 100_000 == 99_999:
                        copy.write(buffer.getvalue())
                        buffer = io.StringIO()
                copy.write(buffer.getvalue())
            cur.execute("ANALYZE bench_interview_media")
        raw.commit()
    finally:
        raw.close()


def main() -> int:
    """Run the benchmark and print records/s and verify seconds."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", type=int, default=1_000_000, help="expired records (one person each)")
    parser.add_argument("--pg-url", default="postgresql://postgres@127.0.0.1:5432/test",
                        help="a Postgres server URL; a scratch database is created next to it and dropped")
    parser.add_argument("--batch-size", type=int, default=CONFIG["batch_size"],
                        help="people per batch (one transaction each); default %(default)s")
    parser.add_argument("--pipeline", action="store_true",
                        help="read and delete batch k+1 while batch k is logged and committed (second connection)")
    args = parser.parse_args()

    import sqlalchemy as sa

    from connectors.sql import make_engine, normalise_url
    from governance.audit import AuditKeys, DeletionLog, verify_chain
    from governance.retention import RetentionExecutor, parse_config

    name = f"hrb_bench_{uuid.uuid4().hex[:8]}"
    admin = sa.create_engine(normalise_url(args.pg_url), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
    engine = make_engine(args.pg_url.rsplit("/", 1)[0] + f"/{name}")
    try:
        started = time.perf_counter()
        _load(engine, args.n)
        print(f"loaded {args.n:,} expired records in {time.perf_counter() - started:.1f} s (not measured)")
        keys = AuditKeys.load_or_create(Path(tempfile.mkdtemp()) / "keys")
        executor = RetentionExecutor(engine, engine, parse_config(CONFIG | {"batch_size": args.batch_size}, "bench"), DeletionLog(engine, keys))
        executor.pipeline = args.pipeline

        started = time.perf_counter()
        result = executor.run()
        purge_seconds = time.perf_counter() - started
        purged = result["totals"]["records"]
        with engine.connect() as conn:
            left = conn.exec_driver_sql("SELECT count(*) FROM bench_interview_media").scalar_one()
        assert purged == args.n and left == 0, (purged, left)
        assert result["log_entries"] == args.n

        report = verify_chain(engine, keys.public_key)
        assert report.ok and report.entries == args.n, report.as_dict()
        rate = purged / purge_seconds
        print(f"purge: {purged:,} records and {result['log_entries']:,} log entries in {purge_seconds:.1f} s "
              f"= {rate:,.0f} records/s (target >= 50,000)")
        print(f"verify: {report.entries:,} entries, {report.heads} signed heads in {report.seconds:.2f} s "
              f"(target <= 10 s for 1,000,000)")
    finally:
        engine.dispose()
        with admin.connect() as conn:
            conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.dispose()
    return 0


if __name__ == "__main__":
    sys.exit(main())
