"""Duplicates that sit in different batches, and employee-id clashes, merge exactly once, and the
configured survivorship decides across batches as within one."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
import sqlalchemy as sa

from connectors.sql import make_engine
from hrbridge.pipelines.migration import MigrationOptions, migrate, verify
from tests.factories.legacy import legacy_rows, write_csv
from tests.integration.test_migration import target_count
from transforms.cleaning import load_rules


def _target(url: str) -> tuple[dict[str, str], list[tuple[int, int, str]]]:
    """Employee id → department in the target, and the merge log ordered by merged row."""
    engine = make_engine(url)
    with engine.connect() as conn:
        rows = dict(conn.execute(sa.text("SELECT employee_id, department FROM employees")).all())
        merges = conn.execute(sa.text("SELECT survivor_row, merged_row, rule FROM migration_merges "
                                      "ORDER BY merged_row")).all()
    engine.dispose()
    return rows, [tuple(m) for m in merges]


def _migrate(tmp_path: Path, frame: pd.DataFrame, batch_size: int, target: str | None = None,
             **options: object) -> tuple[dict, str]:
    source = tmp_path / "legacy.csv"
    write_csv(frame, str(source), "utf-8")
    target = target or f"sqlite:///{tmp_path / 'a.db'}"
    report = migrate(MigrationOptions(str(source), target, batch_size=batch_size, report_dir=str(tmp_path / "r"),
                                      **options)).report
    return report, target


def test_cross_batch_and_primary_key_duplicates(tmp_path: Path) -> None:
    rows = legacy_rows(30)
    same_person = rows.iloc[[2]].assign(工号="000900", 更新时间="2024-05-01")  # same ID number, newer, new id
    clash = legacy_rows(1, start=500).assign(工号="000026", 部门="财务部")  # another person, same id, same age
    exact = rows.iloc[[4]]  # an exact copy
    report, target = _migrate(tmp_path, pd.concat([rows, same_person, clash, exact], ignore_index=True), 10)
    assert (report["source_rows"], report["loaded_rows"], report["duplicates_merged"]) == (33, 30, 3)
    assert report["merges_by_rule"] == {"employee_id": 1, "exact": 1, "id_number": 1}
    assert report["passed"] and report["verified_rows"] == 30 and target_count(target) == 30
    departments, merges = _target(target)
    # most recent survives across batches: row 30 displaced row 2 (its record is gone); ties keep the earlier row
    assert "000900" in departments and "000003" not in departments and departments["000026"] == "销售部"
    assert merges == [(30, 2, "id_number"), (25, 31, "employee_id"), (4, 32, "exact")]


def test_displaced_records_forward_later_duplicates_along_the_chain(tmp_path: Path, db_url: str) -> None:
    base = legacy_rows(12)
    person = base.iloc[2]
    newer = pd.DataFrame([person]).assign(工号="000801", 更新时间="2024-06-01")  # batch 3: displaces row 2
    older = pd.DataFrame([person]).assign(工号="000802", 手机="13900000002", 更新时间="2023-01-01")  # batch 4: loses
    newest = pd.DataFrame([person]).assign(工号="000803", 身份证号=None, 更新时间="2025-01-01")  # batch 5: wins
    filler = [legacy_rows(3, start=100 + 10 * i) for i in range(3)]
    frame = pd.concat([base, newer, filler[0], older, filler[1], newest, filler[2]], ignore_index=True)
    report, target = _migrate(tmp_path, frame, 4, db_url)
    departments, merges = _target(target)
    assert report["source_rows"] == 12 + 3 + 9
    assert report["loaded_rows"] == 12 + 9 == target_count(target) and report["duplicates_merged"] == 3
    assert report["passed"] and report["integrity_ratio"] == 1.0 and report["mismatched_rows"] == 0
    assert {"000003", "000801", "000802"}.isdisjoint(departments) and "000803" in departments
    # row 12 displaced row 2; row 16 met the chain at row 12 and lost; row 20 displaced row 12
    assert merges == [(12, 2, "id_number"), (20, 12, "email+name"), (12, 16, "id_number")]
    again = verify(MigrationOptions(str(tmp_path / "legacy.csv"), target, batch_size=4,
                                    report_dir=str(tmp_path / "v"))).report
    assert (again["passed"], again["verified_rows"], again["loaded_rows"]) == (True, 21, 21)


def test_most_complete_survivorship_applies_across_batches(tmp_path: Path) -> None:
    rows = legacy_rows(6).assign(部门=None)
    fuller = rows.iloc[[1]].assign(工号="000700", 部门="研发部", 更新时间="2020-01-01")  # older but more complete
    rules = load_rules({"dedupe": {"survivorship": "most_complete"}})
    report, target = _migrate(tmp_path, pd.concat([rows, fuller], ignore_index=True), 3, rules=rules)
    departments, merges = _target(target)
    assert report["passed"] and report["loaded_rows"] == 6 and "000002" not in departments
    assert departments["000700"] == "研发部" and merges == [(6, 1, "id_number")]
    engine = make_engine(target)
    with engine.connect() as conn:
        label = conn.execute(sa.text("SELECT survivorship FROM migration_merges")).scalar_one()
    engine.dispose()
    assert label == "most_complete"


class Crash(RuntimeError):
    """Stands for a process dying right after a batch committed."""


def test_a_run_killed_after_a_displacement_resumes_to_the_same_result(tmp_path: Path, db_url: str) -> None:
    base = legacy_rows(8)
    newer = base.iloc[[1]].assign(工号="000901", 更新时间="2024-07-01")
    later = base.iloc[[1]].assign(工号="000902", 更新时间="2023-07-01")  # meets the displaced record's chain
    frame = pd.concat([base, newer, legacy_rows(3, start=50), later], ignore_index=True)

    def crash(batch_no: int) -> None:
        if batch_no == 2:
            raise Crash

    source = tmp_path / "legacy.csv"
    write_csv(frame, str(source), "utf-8")
    target = db_url
    options = MigrationOptions(str(source), target, batch_size=4, report_dir=str(tmp_path / "r"))
    with pytest.raises(Crash):
        migrate(options, after_batch=crash)
    report = migrate(options).report
    departments, merges = _target(target)
    assert report["batches_skipped"] == 3 and report["passed"] and report["loaded_rows"] == 11 == target_count(target)
    assert "000002" not in departments and "000901" in departments and "000902" not in departments
    assert merges == [(8, 1, "id_number"), (8, 12, "id_number")]


def test_employee_id_clash_in_one_batch_keeps_the_most_recent(tmp_path: Path) -> None:
    rows = legacy_rows(30)
    clash = legacy_rows(1, start=500).assign(工号="000026", 部门="财务部", 更新时间="2024-06-01")
    report, target = _migrate(tmp_path, pd.concat([rows, clash], ignore_index=True), 50_000)
    assert (report["loaded_rows"], report["merges_by_rule"], report["passed"]) == (30, {"employee_id": 1}, True)
    departments, merges = _target(target)
    assert departments["000026"] == "财务部" and merges == [(30, 25, "employee_id")]


def test_per_batch_tasks_seek_their_batch_and_dedupe_across_batches_like_one_run(tmp_path: Path) -> None:
    """The DAG's steps in-process: plan, one ``migrate_batch`` per batch (each its own process in the
    DAG: a fresh run that restores only the keys and seeks to its byte offset), then ``verify_run``."""
    from hrbridge.pipelines.migration import migrate_batch, plan, verify_run

    base = legacy_rows(12).assign(部门=["销售部\r\n华东区", *["销售部"] * 11])  # a quoted line break (CRLF)
    person = base.iloc[2]
    newer = pd.DataFrame([person]).assign(工号="000801", 更新时间="2024-06-01")  # displaces row 2
    older = pd.DataFrame([person]).assign(工号="000802", 手机="13900000002", 更新时间="2023-01-01")  # loses
    newest = pd.DataFrame([person]).assign(工号="000803", 身份证号=None, 更新时间="2025-01-01")  # wins
    filler = [legacy_rows(3, start=100 + 10 * i) for i in range(3)]
    source = tmp_path / "legacy.csv"
    write_csv(pd.concat([base, newer, filler[0], older, filler[1], newest, filler[2]], ignore_index=True),
              str(source), "gbk")
    target = f"sqlite:///{tmp_path / 'a.db'}"

    def options() -> MigrationOptions:
        return MigrationOptions(str(source), target, batch_size=4, run_id="tasks")

    specs = plan(options())
    assert len(specs) == 6 and all(spec["byte_offset"] for spec in specs)
    results = [migrate_batch(options(), spec) for spec in specs]
    assert [r["status"] for r in results] == ["loaded"] * 6
    assert migrate_batch(options(), specs[-1])["status"] == "skipped"
    report = verify_run(options()).report
    departments, merges = _target(target)
    assert (report["source_rows"], report["loaded_rows"], report["duplicates_merged"]) == (24, 21, 3)
    assert report["passed"] and report["integrity_ratio"] == 1.0 and target_count(target) == 21
    assert {"000003", "000801", "000802"}.isdisjoint(departments) and departments["000001"] == "销售部\r\n华东区"
    assert merges == [(12, 2, "id_number"), (20, 12, "email+name"), (12, 16, "id_number")]
