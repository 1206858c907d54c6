"""The migrate / verify / mapping commands: exit codes and messages a person can act on."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import sqlalchemy as sa
import yaml

from benchmarks.generate_legacy import generate, write
from connectors.sql import make_engine
from hrbridge.cli import main


@pytest.fixture
def small_csv(tmp_path: Path) -> tuple[Path, object]:
    frame, injected = generate(400, seed=3)
    return write(frame, tmp_path / "legacy.csv", encoding="gbk"), injected


def test_migrate_then_tampered_row_fails_verification(small_csv, tmp_path: Path, capsys, monkeypatch) -> None:
    source, injected = small_csv
    target = f"sqlite:///{tmp_path / 'archive.db'}"
    spill = tmp_path / "scratch"
    code = main(["migrate", "--source", str(source), "--mapping", "auto", "--target", target,
                 "--batch-size", "150", "--report-dir", str(tmp_path / "m"), "--spill-dir", str(spill), "--json"])
    out = capsys.readouterr()
    assert code == 0, out.err
    assert spill.is_dir() and not any(spill.iterdir())  # the run's scratch files were used and removed
    report = json.loads(out.out)
    assert report["loaded_rows"] == injected.expected_clean_rows and report["passed"]
    assert "batch" not in out.err  # no progress drawn when no one watches a terminal
    engine = make_engine(target)
    with engine.begin() as conn:
        conn.execute(sa.text("UPDATE employees SET department = 'Tampered' "
                             "WHERE employee_id = (SELECT min(employee_id) FROM employees)"))
    engine.dispose()
    code = main(["verify", "--source", str(source), "--target", target, "--report-dir", str(tmp_path / "v")])
    assert code == 3
    checked = json.loads((tmp_path / "v" / "report.json").read_text(encoding="utf-8"))
    assert checked["mismatched_rows"] == 1 and checked["verified_rows"] == injected.expected_clean_rows - 1
    assert checked["integrity_ratio"] < checked["threshold"] and not checked["passed"]
    assert "FAILED" in (tmp_path / "v" / "report.html").read_text(encoding="utf-8")
    # The migration's report is in the artefact store under the run id (verify, read-only, stored nothing).
    assert main(["report", "migration", "--run", checked["run_id"], "--out", str(tmp_path / "fetched")]) == 0
    assert json.loads((tmp_path / "fetched" / "report.json").read_text(encoding="utf-8")) == report
    assert "Legacy migration report" in (tmp_path / "fetched" / "report.html").read_text(encoding="utf-8")
    monkeypatch.setenv("HRBRIDGE_TZ", "Asia/Shanghai")  # the same stored report, read in Chinese
    assert main(["report", "migration", "--run", checked["run_id"], "--out", str(tmp_path / "zh"), "--lang", "zh"]) == 0
    page = (tmp_path / "zh" / "report.html").read_text(encoding="utf-8")
    assert "历史数据迁移报告" in page and "通过 —— 档案库与清洗后的源数据一致" in page
    assert "时间均按 Asia/Shanghai 时区显示。" in page and "Legacy migration report" not in page
    assert main(["report", "migration", "--run", "no-such-run", "--out", str(tmp_path / "x")]) == 2


def test_mapping_suggest_writes_yaml(small_csv, tmp_path: Path) -> None:
    source, _ = small_csv
    assert main(["mapping", "suggest", str(source), "--out", str(tmp_path / "m.yaml")]) == 0
    mapping = yaml.safe_load((tmp_path / "m.yaml").read_text(encoding="utf-8"))
    assert mapping["columns"]["工号"] == "employee_id"


def _fails(args: list[str], capsys, *fragments: str) -> None:
    assert main(args) == 2
    err = capsys.readouterr().err
    for fragment in fragments:
        assert fragment in err, err


def test_a_spill_dir_that_is_a_file_exits_2(small_csv, tmp_path: Path, capsys) -> None:
    source, _ = small_csv
    occupied = tmp_path / "not-a-dir"
    occupied.write_text("x")
    code = main(["migrate", "--source", str(source), "--mapping", "auto", "--target", f"sqlite:///{tmp_path / 'a.db'}",
                 "--spill-dir", str(occupied)])
    assert code == 2 and f"--spill-dir {occupied}: exists and is not a directory" in capsys.readouterr().err


def test_bad_input_exits_2_naming_the_problem(small_csv, tmp_path: Path, capsys) -> None:
    source, _ = small_csv
    target = ["--target", f"sqlite:///{tmp_path / 'a.db'}"]
    _fails(["migrate", "--source", str(source), "--encoding", "utf-8", "--mapping", "auto", *target], capsys,
           str(source), "line 1 (header)", "not valid utf-8")
    mixed = tmp_path / "mixed.csv"
    mixed.write_bytes(b"employee_id,name\n000001,Ann\n000002," + "张三".encode("gbk") + b"\n")
    _fails(["migrate", "--source", str(mixed), "--mapping", "auto", "--encoding", "utf-8", *target], capsys,
           "line 3 (data row 1), column 'name'")
    bad_map = tmp_path / "bad.yaml"
    bad_map.write_text(yaml.safe_dump({"columns": {"工号": "employee_id", "不存在": "name"}}, allow_unicode=True),
                       encoding="utf-8")
    _fails(["migrate", "--source", str(source), "--mapping", str(bad_map), *target], capsys, "'不存在'", "not in")
    no_key = tmp_path / "nokey.yaml"
    no_key.write_text(yaml.safe_dump({"columns": {"姓名": "name"}}, allow_unicode=True), encoding="utf-8")
    _fails(["migrate", "--source", str(source), "--mapping", str(no_key), *target], capsys,
           "missing primary key column 'employee_id'")
    frame, _ = generate(20, seed=1)
    workbook = write(frame, tmp_path / "x.xlsx")
    _fails(["migrate", "--source", str(workbook), "--sheet", "Nope", "--mapping", "auto", *target], capsys,
           "no sheet named 'Nope'")
    _fails(["migrate", "--source", f"sqlite:///{tmp_path / 'legacy.db'}", "--table", "staff", "--mapping", "auto",
            *target], capsys, "table 'staff' not found")
    _fails(["migrate", "--source", str(tmp_path / "missing.csv"), "--mapping", "auto", *target], capsys,
           "file not found")
