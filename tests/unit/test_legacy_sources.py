"""Legacy sources: encodings, Excel quirks, Parquet batches, database key ranges, clear errors."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pandas as pd
import pytest

from connectors.legacy_sources import (
    BatchSpec,
    CsvSource,
    SourceError,
    detect_encoding,
    detect_header_row,
    open_source,
)
from tests.factories.legacy import ZH_HEADERS, legacy_rows, write_csv


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "gbk", "gb18030"])
def test_csv_encodings_are_detected_and_read_as_text(tmp_path: Path, encoding: str) -> None:
    frame = legacy_rows(30)
    path = tmp_path / "people.csv"
    write_csv(frame, str(path), encoding)
    source = open_source(str(path))
    assert source.headers() == ZH_HEADERS
    batches = list(source.batches(batch_size=12))
    assert [(n, off, len(f)) for n, off, f in batches] == [(0, 0, 12), (1, 12, 12), (2, 24, 6)]
    back = pd.concat([f for _, _, f in batches], ignore_index=True)
    assert back["工号"].iloc[0] == "000001"  # leading zeros kept
    assert back["姓名"].tolist() == frame["姓名"].tolist()
    if encoding in {"gbk", "gb18030"}:
        assert detect_encoding(path) == "gb18030"


def test_undecodable_bytes_name_line_and_column(tmp_path: Path) -> None:
    path = tmp_path / "bad.csv"
    path.write_bytes("工号,姓名\n000001,张三\n".encode() + b"000002,\xff\xfe\n")
    source = CsvSource(path, encoding="utf-8")
    with pytest.raises(SourceError, match=r"line 3 \(data row 1\), column '姓名'"):
        list(source.batches(10))


def test_csv_plan_and_read_batch_match_streaming(tmp_path: Path) -> None:
    path = tmp_path / "people.csv"
    write_csv(legacy_rows(25), str(path))
    source = open_source(str(path))
    plan = source.plan(batch_size=10)
    assert [(s.batch_no, s.row_offset, s.rows) for s in plan] == [(0, 0, 10), (1, 10, 10), (2, 20, 5)]
    assert source.read_batch(plan[2], 10)["工号"].tolist() == [f"{n:06d}" for n in range(21, 26)]


def test_excel_sheet_header_detection_and_cell_types(tmp_path: Path) -> None:
    from openpyxl import Workbook

    workbook = Workbook()
    workbook.active.title = "封面"
    sheet = workbook.create_sheet("花名册")
    sheet.append(["员工花名册 2023"])
    sheet.append([])
    sheet.append(["工号", "姓名", "入职日期", "薪资"])
    sheet.append([1, "张三", dt.datetime(2023, 1, 5), 8000.0])
    sheet.append([None, None, None, None])
    sheet.append([42, "李四", 44931, 9000.5])
    path = tmp_path / "roster.xlsx"
    workbook.save(path)
    source = open_source(str(path), sheet="花名册")
    assert source.headers() == ["工号", "姓名", "入职日期", "薪资"]
    assert source.count_rows() == 2
    [(_, _, frame)] = list(source.batches(100))
    assert frame.to_dict("records") == [
        {"工号": "1", "姓名": "张三", "入职日期": "2023-01-05", "薪资": "8000"},
        {"工号": "42", "姓名": "李四", "入职日期": "44931", "薪资": "9000.5"},
    ]
    with pytest.raises(SourceError, match="no sheet named 'Missing'"):
        open_source(str(path), sheet="Missing")


def test_header_row_detection_skips_titles() -> None:
    rows = [("Report",), (None, None), ("id", "name", "email"), (1, "a", "b")]
    assert detect_header_row(rows) == 2


def test_parquet_batches_rechunk_and_cast_to_text(tmp_path: Path) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    table = pa.table({"employee_id": list(range(1, 26)), "salary": [1000.0 + i / 2 for i in range(25)],
                      "hire_date": [dt.date(2020, 1, 1)] * 25})
    path = tmp_path / "people.parquet"
    pq.write_table(table, path, row_group_size=7)
    source = open_source(str(path))
    batches = list(source.batches(batch_size=10))
    assert [(n, off, len(f)) for n, off, f in batches] == [(0, 0, 10), (1, 10, 10), (2, 20, 5)]
    first = batches[0][2].iloc[1].to_dict()
    assert first == {"employee_id": "2", "salary": "1000.5", "hire_date": "2020-01-01"}
    assert source.read_batch(BatchSpec(1, 10, 10), 10)["employee_id"].tolist() == [str(i) for i in range(11, 21)]


def test_unknown_files_and_missing_tables_are_clear_errors(tmp_path: Path) -> None:
    with pytest.raises(SourceError, match="file not found"):
        open_source(str(tmp_path / "nope.csv"))
    (tmp_path / "x.doc").write_text("x")
    with pytest.raises(SourceError, match="unsupported file type"):
        open_source(str(tmp_path / "x.doc"))
    with pytest.raises(SourceError, match="table 'ghost' not found"):
        open_source(f"sqlite:///{tmp_path / 'db.sqlite'}", table="ghost")


def _mariadb_people(url: str, count: int) -> None:
    import sqlalchemy as sa

    from connectors.sql import make_engine

    engine = make_engine(url)
    frame = legacy_rows(count, headers="en")
    with engine.begin() as conn:
        conn.execute(sa.text("CREATE TABLE people (employee_id VARCHAR(10) PRIMARY KEY, name VARCHAR(40), "
                             "hire_date DATE, salary DECIMAL(10,2))"))
        conn.execute(sa.text("INSERT INTO people VALUES (:employee_id, :name, :hire_date, :salary)"),
                     frame[["employee_id", "name", "hire_date", "salary"]].to_dict("records"))
    engine.dispose()


def test_database_source_reads_key_ranges(mariadb_url: str) -> None:
    _mariadb_people(mariadb_url, 23)
    source = open_source(mariadb_url, table="people")
    plan = source.plan(batch_size=10)
    assert [(s.row_offset, s.rows, s.low, s.high) for s in plan] == [
        (0, 10, None, "000010"), (10, 10, "000010", "000020"), (20, 3, "000020", "000023")]
    streamed = list(source.batches(batch_size=10))
    assert [len(f) for _, _, f in streamed] == [10, 10, 3]
    assert source.read_batch(plan[1], 10)["employee_id"].tolist() == [f"{n:06d}" for n in range(11, 21)]
    row = streamed[0][2].iloc[0].to_dict()
    assert row == {"employee_id": "000001", "name": "张1", "hire_date": "2020-01-05", "salary": "8001.50"}


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "gbk"])
def test_csv_plan_seeks_to_each_batch_through_quoted_newlines_crlf_and_blank_lines(tmp_path: Path,
                                                                                   encoding: str) -> None:
    rows = [f'{n:06d},"张{n}\r\n第二行, 含逗号","备注 ""{n}"""' for n in range(1, 24)]
    rows[4] += "\r\n\r\n   "  # a blank line and a line of spaces: no rows to either reader
    path = tmp_path / "people.csv"
    path.write_bytes(("工号,姓名,备注\r\n" + "\r\n".join(rows) + "\r\n").encode(encoding))
    source = CsvSource(path, encoding=None if encoding != "gbk" else "gbk")
    plan = source.plan(batch_size=5)
    assert [(s.row_offset, s.rows) for s in plan] == [(0, 5), (5, 5), (10, 5), (15, 5), (20, 3)]
    assert all(s.byte_offset for s in plan) and plan == sorted(plan, key=lambda s: s.byte_offset)
    streamed = {n: frame for n, _, frame in source.batches(5)}
    for spec in plan:
        from_offset = source._read_from(spec)  # the seek itself, not the fallback
        assert from_offset is not None and from_offset.equals(streamed[spec.batch_no])
        assert source.read_batch(spec, 5).equals(streamed[spec.batch_no])
    assert streamed[4]["姓名"].tolist()[0] == "张21\r\n第二行, 含逗号"  # a quoted line break is data


def test_csv_read_batch_without_or_with_a_stale_offset_reads_by_skipping(tmp_path: Path) -> None:
    path = tmp_path / "people.csv"
    write_csv(legacy_rows(25), str(path))
    source = open_source(str(path))
    planned = source.plan(batch_size=10)[1]
    for spec in (BatchSpec(1, 10, 10), BatchSpec(1, 10, 10, byte_offset=planned.byte_offset + 3)):
        assert source.read_batch(spec, 10)["工号"].tolist() == [f"{n:06d}" for n in range(11, 21)]
    assert BatchSpec(**planned.as_dict()) == planned  # the descriptor survives XCom as a plain dict
