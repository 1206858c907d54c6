"""Hostile or broken legacy files and targets: exit 2 naming file, row and column; nothing half-written."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
import sqlalchemy as sa
import yaml

from connectors.sql import make_engine
from hrbridge.cli import main
from hrbridge.pipelines import scratch
from tests.factories.legacy import legacy_rows, merged_roster, write_csv

REPO = Path(__file__).resolve().parents[2]


def _fails(args: list[str], capsys: pytest.CaptureFixture[str], *fragments: str) -> str:
    code = main(args)
    err = capsys.readouterr().err
    assert code == 2, err
    for fragment in fragments:
        assert fragment in err, err
    assert "Traceback" not in err
    return err


def _csv(tmp_path: Path, rows: int = 5) -> Path:
    path = tmp_path / "legacy.csv"
    write_csv(legacy_rows(rows), str(path))
    return path


def _tables(url: str) -> set[str]:
    engine = make_engine(url)
    try:
        return set(sa.inspect(engine).get_table_names())
    finally:
        engine.dispose()


def test_header_only_csv_is_a_clear_input_error(tmp_path: Path, capsys) -> None:
    empty = tmp_path / "empty.csv"
    empty.write_text("工号,姓名\n", encoding="utf-8")
    target = f"sqlite:///{tmp_path / 'a.db'}"
    _fails(["migrate", "--source", str(empty), "--mapping", "auto", "--target", target, "--report-dir",
            str(tmp_path / "r")], capsys, "empty.csv: no data rows below the header")


def test_a_5mb_field_names_line_row_and_column(tmp_path: Path, capsys) -> None:
    path = tmp_path / "big.csv"
    path.write_text("工号,姓名,备注\n000001,甲,x\n000002," + "乙" * 5_000_000 + ",y\n", encoding="utf-8")
    target = f"sqlite:///{tmp_path / 'a.db'}"
    _fails(["migrate", "--source", str(path), "--mapping", "auto", "--target", target, "--report-dir",
            str(tmp_path / "r")], capsys, "big.csv: line 3 (data row 1): a field longer than 32,767 characters",
           "HRBRIDGE_SOURCE_MAX_CELL_CHARS")
    with make_engine(target).connect() as conn:  # checked before a row was loaded
        assert conn.execute(sa.text("SELECT count(*) FROM employees")).scalar_one() == 0
        assert conn.execute(sa.text("SELECT count(*) FROM migration_checkpoints")).scalar_one() == 0


def test_nul_bytes_are_quarantined_alike_on_both_targets(tmp_path: Path, db_url: str, capsys) -> None:
    frame = legacy_rows(3)
    frame.loc[1, "姓名"] = "张\x00三"
    path = tmp_path / "nul.csv"
    write_csv(frame, str(path))
    code = main(["migrate", "--source", str(path), "--mapping", "auto", "--target", db_url, "--report-dir",
                 str(tmp_path / "r"), "--json"])
    out = capsys.readouterr()
    assert code == 0, out.err
    report = json.loads(out.out)
    assert (report["loaded_rows"], report["quarantined_rows"]) == (2, 1)
    assert report["quarantine_by_reason"] == {"nul_byte": 1}
    engine = make_engine(db_url)
    with engine.connect() as conn:
        line = conn.execute(sa.text("SELECT source_row, column_name, value, rule FROM migration_quarantine")).one()
    engine.dispose()
    assert tuple(line) == (1, "name", "张\\x00三", "nul_byte")


def test_a_report_dir_that_is_a_file_stops_before_anything_is_read(tmp_path: Path, capsys) -> None:
    occupied = tmp_path / "report"
    occupied.write_text("keep me")
    target = tmp_path / "a.db"
    _fails(["migrate", "--source", str(_csv(tmp_path)), "--mapping", "auto", "--target", f"sqlite:///{target}",
            "--report-dir", str(occupied)], capsys, f"--report-dir {occupied}: exists and is not a directory")
    assert not target.exists() and occupied.read_text() == "keep me"
    _fails(["migrate", "--source", str(_csv(tmp_path)), "--mapping", "auto", "--target", f"sqlite:///{target}",
            "--report-dir", str(occupied / "sub")], capsys, f"{occupied} is not a directory")


def test_unusable_targets_are_named_without_a_traceback(tmp_path: Path, capsys) -> None:
    source = str(_csv(tmp_path))
    common = ["migrate", "--source", source, "--mapping", "auto", "--report-dir", str(tmp_path / "r")]
    _fails([*common, "--target", f"sqlite:///{tmp_path / 'missing' / 'a.db'}"], capsys,
           f"directory {tmp_path / 'missing'} does not exist")
    _fails([*common, "--target", "postgresql+psycopg://postgres@127.0.0.1:1/nowhere"], capsys,
           "127.0.0.1:1/nowhere: cannot use the target", "Connection refused")
    existing = tmp_path / "ro.db"
    make_engine(f"sqlite:///{existing}").connect().close()
    _fails([*common, "--target", f"sqlite:///file:{existing}?mode=ro&uri=true"], capsys,
           "the target is read-only for this login")


def test_a_read_only_postgres_target_fails_before_loading(tmp_path: Path, pg_url: str, capsys) -> None:
    source = str(_csv(tmp_path))
    args = ["migrate", "--source", source, "--mapping", "auto", "--target", pg_url, "--report-dir", str(tmp_path / "r")]
    assert main(args) == 0
    capsys.readouterr()
    name = pg_url.rsplit("/", 1)[1]
    admin = sa.create_engine(pg_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'ALTER DATABASE "{name}" SET default_transaction_read_only = on'))
    admin.dispose()
    _fails([*args[:-2], "--report-dir", str(tmp_path / "r2"), "--run-id", "second"], capsys,
           "the target is read-only for this login", "read-only transaction")


def test_a_gbk_row_inside_utf8_is_blamed_on_its_own_line(tmp_path: Path, capsys) -> None:
    lines = ['工号,姓名,备注', '000001,甲,"两行\n的备注"', '000002,"乙, 丙",ok']
    lines += [f"{n:06d},人{n},x" for n in range(3, 20_000)]  # past the encoding-detection sample
    path = tmp_path / "mixed.csv"
    body = ("\n".join(lines) + "\n").encode("utf-8") + "020000,\"丁, 戊\",".encode() + "坏".encode("gbk") + b"\n"
    path.write_bytes(body)
    line = len("\n".join(lines).split("\n")) + 1  # physical line of the GBK row
    target = f"sqlite:///{tmp_path / 'a.db'}"
    _fails(["migrate", "--source", str(path), "--mapping", "auto", "--target", target, "--report-dir",
            str(tmp_path / "r")], capsys, f"mixed.csv: line {line} (data row 19999), column '备注': bytes",
           "are not valid utf-8")
    with make_engine(target).connect() as conn:  # found by the second reader before anything was loaded
        assert conn.execute(sa.text("SELECT count(*) FROM employees")).scalar_one() == 0


def test_run_ids_cannot_leave_the_reports_directory(tmp_path: Path, hrbridge_home: Path, capsys) -> None:
    for bad in ("../../escape", "a/b", ".hidden", "x" * 101):
        _fails(["migrate", "--source", str(_csv(tmp_path)), "--mapping", "auto", "--target",
                f"sqlite:///{tmp_path / 'a.db'}", "--run-id", bad], capsys, f"--run-id {bad!r}")
    assert not (hrbridge_home / "escape").exists() and not (tmp_path / "escape").exists()


def test_verify_against_an_empty_database_creates_nothing(tmp_path: Path, capsys) -> None:
    source = str(_csv(tmp_path))
    missing = tmp_path / "missing.db"
    _fails(["verify", "--source", source, "--target", f"sqlite:///{missing}", "--report-dir", str(tmp_path / "r")],
           capsys, "no such database file", "never creates")
    assert not missing.exists()
    empty = tmp_path / "empty.db"
    make_engine(f"sqlite:///{empty}").connect().close()
    _fails(["verify", "--source", source, "--target", f"sqlite:///{empty}", "--report-dir", str(tmp_path / "r")],
           capsys, "no table 'employees': nothing was migrated to this target")
    assert _tables(f"sqlite:///{empty}") == set() and not (tmp_path / "r").exists()


def test_mapping_suggest_never_overwrites_its_source_or_an_existing_file(tmp_path: Path, capsys) -> None:
    source = _csv(tmp_path)
    original = source.read_bytes()
    _fails(["mapping", "suggest", str(source), "--out", str(source)], capsys, "is the source file itself")
    _fails(["mapping", "suggest", str(source), "--out", str(tmp_path / "." / source.name), "--force"], capsys,
           "is the source file itself")
    assert source.read_bytes() == original
    out = tmp_path / "mapping.yaml"
    out.write_text("mine")
    _fails(["mapping", "suggest", str(source), "--out", str(out)], capsys, "exists already; pass --force")
    assert out.read_text() == "mine"
    assert main(["mapping", "suggest", str(source), "--out", str(out), "--force"]) == 0
    assert yaml.safe_load(out.read_text(encoding="utf-8"))["columns"]["工号"] == "employee_id"
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []  # no temporary left


def test_mapping_suggest_finds_the_roster_behind_a_cover_sheet(tmp_path: Path, capsys) -> None:
    roster = merged_roster(str(tmp_path / "roster.xlsx"), people=10)
    assert main(["mapping", "suggest", roster]) == 0
    out = capsys.readouterr()
    assert yaml.safe_load(out.out)["columns"] == {"部门": "department", "工号": "employee_id", "姓名": "name",
                                                  "手机": "phone"}


def test_a_merged_roster_loads_every_department_and_a_dropped_value_fails(tmp_path: Path, monkeypatch,
                                                                         capsys) -> None:
    roster = merged_roster(str(tmp_path / "roster.xlsx"), people=500, run=25)
    target = f"sqlite:///{tmp_path / 'a.db'}"
    code = main(["migrate", "--source", roster, "--mapping", "auto", "--target", target, "--report-dir",
                 str(tmp_path / "r"), "--batch-size", "200", "--json"])
    out = capsys.readouterr()
    assert code == 0, out.err
    report = json.loads(out.out)
    assert report["loaded_rows"] == 500 and report["repairs_by_rule"].get("merged_cell") == 480
    assert report["source_check"]["passed"] and report["source_check"]["columns"]["部门"]["in_file"] == 500
    with make_engine(target).connect() as conn:
        assert conn.execute(sa.text("SELECT count(*) FROM employees WHERE department IS NULL")).scalar_one() == 0

    from connectors import xlsx_source  # the old reader: merged cells read as empty

    monkeypatch.setattr(xlsx_source.MergeFill, "apply", lambda self, number, cells: cells)
    code = main(["migrate", "--source", roster, "--mapping", "auto", "--target", f"sqlite:///{tmp_path / 'b.db'}",
                 "--report-dir", str(tmp_path / "r2"), "--json"])
    out = capsys.readouterr()
    report = json.loads(out.out)
    assert code == 3 and report["integrity_ratio"] == 1.0 and not report["passed"]
    assert report["source_check"]["differing_columns"] == ["部门"]
    assert report["source_check"]["columns"]["部门"] == {"in_file": 500, "read": 20, "match": False}
    assert "The reader lost values" in (tmp_path / "r2" / "report.html").read_text(encoding="utf-8")


def _killed_scratch(parent: Path, run_id: str) -> Path:
    """A scratch directory whose process was killed (SIGKILL) after writing into it."""
    code = (f"import os, signal; from hrbridge.pipelines import scratch; d = scratch.create({run_id!r}, {str(parent)!r});"
            "(d / 'keys').mkdir(); (d / 'keys' / 'run.keys').write_bytes(b'x' * 4096); os.kill(os.getpid(), signal.SIGKILL)")
    result = subprocess.run([sys.executable, "-c", code], cwd=REPO, env={**os.environ, "PYTHONPATH": str(REPO)})
    assert result.returncode == -signal.SIGKILL
    (left,) = [p for p in parent.glob(f"{scratch.PREFIX}{run_id}.*")]
    return left


def test_a_resumed_run_removes_what_its_killed_predecessor_left(tmp_path: Path, capsys) -> None:
    spill = tmp_path / "spill"
    left = _killed_scratch(spill, "roster-1")
    other = _killed_scratch(spill, "other-run")
    assert (left.stat().st_mode & 0o777) == 0o700
    code = main(["migrate", "--source", str(_csv(tmp_path)), "--mapping", "auto", "--target",
                 f"sqlite:///{tmp_path / 'a.db'}", "--run-id", "roster-1", "--spill-dir", str(spill),
                 "--report-dir", str(tmp_path / "r")])
    assert code == 0, capsys.readouterr().err
    assert not left.exists() and other.exists()  # another run's directory is left to --clean-spill
    live = scratch.create("live-run", spill)  # this process is alive: never removed
    assert main(["migrate", "--clean-spill", "--spill-dir", str(spill)]) == 0
    out = capsys.readouterr()
    assert f"removed {other}" in out.out and "1 scratch directory removed" in out.err
    assert not other.exists() and live.exists()
