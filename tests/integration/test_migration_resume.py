"""A migration killed midway resumes exactly: nothing lost, nothing loaded or counted twice."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import sqlalchemy as sa

from benchmarks.generate_legacy import generate, write
from connectors.sql import make_engine
from hrbridge.pipelines.migration import MigrationOptions, migrate
from tests.integration.test_migration import assert_report_matches, target_count

REPO = Path(__file__).resolve().parents[2]


class Crash(RuntimeError):
    """Stands for a process dying right after a batch committed."""


def log_count(url: str, table: str, run_id: str) -> int:
    engine = make_engine(url)
    with engine.connect() as conn:
        count = conn.execute(sa.text(f"SELECT count(*) FROM {table} WHERE run_id = :r"),  # noqa: S608 - fixed name
                             {"r": run_id}).scalar_one()
    engine.dispose()
    return int(count)


def test_crash_after_second_batch_then_resume(tmp_path: Path) -> None:
    frame, injected = generate(1500, seed=5)
    source = write(frame, tmp_path / "legacy.csv", encoding="gb18030")
    target = f"sqlite:///{tmp_path / 'archive.db'}"
    options = MigrationOptions(str(source), target, batch_size=400, report_dir=str(tmp_path / "r"))

    def crash(batch_no: int) -> None:
        if batch_no == 1:
            raise Crash

    with pytest.raises(Crash):
        migrate(options, after_batch=crash)
    partial = target_count(target)
    assert 0 < partial < injected.expected_clean_rows
    resumed = migrate(options)
    assert (resumed.report["batches_skipped"], resumed.report["batches_loaded"]) == (2, 2)
    assert_report_matches(resumed.report, injected)
    run_id = resumed.report["run_id"]
    assert target_count(target) == injected.expected_clean_rows
    assert log_count(target, "migration_merges", run_id) == injected.duplicates_merged
    assert log_count(target, "migration_quarantine", run_id) == sum(injected.quarantine_by_rule.values())
    again = migrate(options)  # a third run changes nothing
    assert again.report["batches_loaded"] == 0 and target_count(target) == injected.expected_clean_rows


KILLER = """
import os, signal, sys
from hrbridge.pipelines.migration import MigrationOptions, migrate
def die(batch_no):
    if batch_no == int(sys.argv[3]):
        os.kill(os.getpid(), signal.SIGKILL)
migrate(MigrationOptions(sys.argv[1], sys.argv[2], batch_size=300, run_id="killed"), after_batch=die)
"""


def test_sigkill_midway_on_postgres_then_resume(tmp_path: Path, pg_url: str) -> None:
    frame, injected = generate(1500, seed=9)
    source = write(frame, tmp_path / "legacy.csv")
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    killed = subprocess.run([sys.executable, "-c", KILLER, str(source), pg_url, "2"], env=env, cwd=REPO,
                            capture_output=True, text=True, timeout=120)
    assert killed.returncode == -9, killed.stderr
    assert log_count(pg_url, "migration_checkpoints", "killed") == 3
    resumed = migrate(MigrationOptions(str(source), pg_url, batch_size=300, run_id="killed",
                                       report_dir=str(tmp_path / "r")))
    assert (resumed.report["batches_skipped"], resumed.report["batches_loaded"]) == (3, 2)
    assert_report_matches(resumed.report, injected)
    assert target_count(pg_url) == injected.expected_clean_rows
    assert log_count(pg_url, "migration_repairs", "killed") == sum(injected.repairs_by_rule.values())
