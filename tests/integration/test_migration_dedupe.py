"""Duplicates that sit in different batches, and employee-id clashes, merge exactly once."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from hrbridge.pipelines.migration import MigrationOptions, migrate
from tests.factories.legacy import legacy_rows, write_csv
from tests.integration.test_migration import target_count


def test_cross_batch_and_primary_key_duplicates(tmp_path: Path) -> None:
    rows = legacy_rows(30)
    same_person = rows.iloc[[2]].assign(工号="000900", 更新时间="2024-05-01")  # same ID number, new id
    clash = legacy_rows(1, start=500).assign(工号="000026", 部门="财务部")  # another person, same employee id
    exact = rows.iloc[[4]]  # an exact copy
    frame = pd.concat([rows, same_person, clash, exact], ignore_index=True)
    source = tmp_path / "legacy.csv"
    write_csv(frame, str(source), "utf-8")
    target = f"sqlite:///{tmp_path / 'a.db'}"
    report = migrate(MigrationOptions(str(source), target, batch_size=10, report_dir=str(tmp_path / "r"))).report
    assert (report["source_rows"], report["loaded_rows"], report["duplicates_merged"]) == (33, 30, 3)
    assert report["merges_by_rule"] == {"employee_id": 1, "exact": 1, "id_number": 1}
    assert report["passed"] and target_count(target) == 30
    # first loaded survives across batches: row 2 keeps its id, department of row 25 is unchanged
    import sqlalchemy as sa

    from connectors.sql import make_engine

    with make_engine(target).connect() as conn:
        ids = [r[0] for r in conn.execute(sa.text("SELECT employee_id FROM employees"))]
        merges = conn.execute(sa.text("SELECT survivor_row, merged_row, rule FROM migration_merges "
                                      "ORDER BY merged_row")).all()
    assert "000900" not in ids
    assert [tuple(m) for m in merges] == [(2, 30, "id_number"), (25, 31, "employee_id"), (4, 32, "exact")]


def test_employee_id_clash_in_one_batch_keeps_the_most_recent(tmp_path: Path) -> None:
    rows = legacy_rows(30)
    clash = legacy_rows(1, start=500).assign(工号="000026", 部门="财务部", 更新时间="2024-06-01")
    source = tmp_path / "legacy.csv"
    write_csv(pd.concat([rows, clash], ignore_index=True), str(source), "utf-8")
    target = f"sqlite:///{tmp_path / 'a.db'}"
    report = migrate(MigrationOptions(str(source), target, report_dir=str(tmp_path / "r"))).report
    assert (report["loaded_rows"], report["merges_by_rule"], report["passed"]) == (30, {"employee_id": 1}, True)
    import sqlalchemy as sa

    from connectors.sql import make_engine

    with make_engine(target).connect() as conn:
        department = conn.execute(sa.text("SELECT department FROM employees WHERE employee_id = '000026'")).scalar()
        merge = conn.execute(sa.text("SELECT survivor_row, merged_row FROM migration_merges")).one()
    assert department == "财务部" and tuple(merge) == (30, 25)
