"""End-to-end migrations of generated dirty data: the report counts equal what was injected."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
import sqlalchemy as sa

from benchmarks.generate_legacy import Injected, generate, write
from connectors.sql import make_engine
from hrbridge.pipelines.migration import MigrationOptions, migrate, verify

ROWS = 1500
BATCH = 500  # three batches: duplicates land in different batches


@pytest.fixture(scope="module")
def dirty() -> tuple[pd.DataFrame, Injected]:
    return generate(ROWS, seed=11, fault_rate=0.05)


def assert_report_matches(report: dict, injected: Injected) -> None:
    assert report["source_rows"] == injected.rows
    assert report["quarantined_rows"] == injected.quarantined_rows
    assert report["duplicates_merged"] == injected.duplicates_merged
    assert report["loaded_rows"] == injected.expected_clean_rows
    assert report["quarantine_by_reason"] == injected.quarantine_by_rule
    assert report["repairs_by_rule"] == injected.repairs_by_rule
    assert report["repaired_values"] == sum(injected.repairs_by_rule.values())
    assert report["merges_by_rule"] == injected.merges_by_rule
    assert report["verified_rows"] == injected.expected_clean_rows
    assert (report["mismatched_rows"], report["missing_rows"]) == (0, 0)
    assert report["integrity_ratio"] == 1.0 and report["counts_reconcile"] and report["passed"]


def target_count(url: str, table: str = "employees") -> int:
    engine = make_engine(url)
    with engine.connect() as conn:
        count = conn.execute(sa.text(f"SELECT count(*) FROM {table}")).scalar_one()  # noqa: S608 - fixed name
    engine.dispose()
    return int(count)


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "gbk", "gb18030"])
def test_csv_in_every_encoding_into_sqlite(dirty, tmp_path: Path, encoding: str) -> None:
    frame, injected = dirty
    source = write(frame, tmp_path / "legacy.csv", encoding=encoding)
    target = f"sqlite:///{tmp_path / 'archive.db'}"
    outcome = migrate(MigrationOptions(str(source), target, batch_size=BATCH, report_dir=str(tmp_path / "r")))
    assert_report_matches(outcome.report, injected)
    assert target_count(target) == injected.expected_clean_rows
    assert outcome.json_path.exists() and "<svg" in outcome.html_path.read_text(encoding="utf-8")


def test_gbk_csv_into_postgres(dirty, tmp_path: Path, pg_url: str) -> None:
    frame, injected = dirty
    source = write(frame, tmp_path / "legacy.csv", encoding="gbk")
    outcome = migrate(MigrationOptions(str(source), pg_url, batch_size=BATCH, report_dir=str(tmp_path / "r")))
    assert_report_matches(outcome.report, injected)
    assert target_count(pg_url) == injected.expected_clean_rows


def test_excel_into_postgres(dirty, tmp_path: Path, pg_url: str) -> None:
    frame, injected = dirty
    source = write(frame, tmp_path / "legacy.xlsx")
    outcome = migrate(MigrationOptions(str(source), pg_url, batch_size=BATCH, report_dir=str(tmp_path / "r")))
    assert_report_matches(outcome.report, injected)


def test_parquet_source(dirty, tmp_path: Path) -> None:
    frame, injected = dirty
    source = write(frame, tmp_path / "legacy.parquet")
    outcome = migrate(MigrationOptions(str(source), f"sqlite:///{tmp_path / 'a.db'}", batch_size=BATCH,
                                       report_dir=str(tmp_path / "r")))
    assert_report_matches(outcome.report, injected)


def load_into_mariadb(url: str, frame: pd.DataFrame) -> None:
    """The generated rows as a legacy MariaDB table with a surrogate key (rows keep their order)."""
    engine = make_engine(url)
    columns = list(frame.columns)
    with engine.begin() as conn:
        ddl = ", ".join(f"`{c}` TEXT" for c in columns)
        conn.execute(sa.text(f"CREATE TABLE legacy_staff (legacy_id INT AUTO_INCREMENT PRIMARY KEY, {ddl}) "
                             "CHARACTER SET utf8mb4"))
        table = sa.Table("legacy_staff", sa.MetaData(), autoload_with=conn)
        conn.execute(table.insert(), frame.to_dict("records"))
    engine.dispose()


def test_mariadb_source_into_sqlite_and_postgres(dirty, tmp_path: Path, mariadb_url: str, pg_url: str) -> None:
    frame, injected = dirty
    load_into_mariadb(mariadb_url, frame)
    for target in (f"sqlite:///{tmp_path / 'archive.db'}", pg_url):
        outcome = migrate(MigrationOptions(mariadb_url, target, table="legacy_staff", batch_size=BATCH,
                                           report_dir=str(tmp_path / "r")))
        assert_report_matches(outcome.report, injected)
        assert "legacy_id" in outcome.report["unmapped"]


def test_verify_alone_agrees_with_the_migration(dirty, tmp_path: Path) -> None:
    frame, injected = dirty
    source = write(frame, tmp_path / "legacy.csv")
    options = MigrationOptions(str(source), f"sqlite:///{tmp_path / 'a.db'}", batch_size=BATCH,
                               report_dir=str(tmp_path / "r"))
    migrate(options)
    checked = verify(MigrationOptions(str(source), options.target, report_dir=str(tmp_path / "v")))
    assert_report_matches(checked.report, injected)
    assert checked.report["mode"] == "verify"
