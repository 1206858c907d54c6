"""Excel sources: bounded before parsing, read as Excel shows them, the table's sheet found."""

from __future__ import annotations

import tracemalloc
from pathlib import Path

import pytest

from connectors.legacy_sources import SourceError, open_source
from connectors.source_limits import SourceLimits
from tests.factories.legacy import merged_roster, workbook, zip_bomb_workbook

SMALL = SourceLimits(max_cell_chars=1_000, xlsx_max_bytes=8 << 20, xlsx_max_ratio=100)


def _peak(call) -> int:
    tracemalloc.start()
    try:
        call()
    except SourceError:
        pass
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return peak


def test_a_decompression_bomb_is_refused_before_parsing(tmp_path: Path) -> None:
    bomb = zip_bomb_workbook(str(tmp_path / "bomb.xlsx"), sheet_bytes=32 << 20)
    assert Path(bomb).stat().st_size < 200_000  # 32 MB of sheet in a small file
    with pytest.raises(SourceError, match=r"bomb\.xlsx: part xl/worksheets/sheet1\.xml expands .* times .*"
                                          r"HRBRIDGE_SOURCE_XLSX_MAX_RATIO=100"):
        open_source(bomb, limits=SMALL)
    assert _peak(lambda: open_source(bomb, limits=SMALL)) < 2 << 20  # nothing was inflated


def test_total_uncompressed_size_is_bounded(tmp_path: Path) -> None:
    bomb = zip_bomb_workbook(str(tmp_path / "big.xlsx"), sheet_bytes=16 << 20)
    limits = SourceLimits(xlsx_max_bytes=4 << 20, xlsx_max_ratio=1_000_000)
    with pytest.raises(SourceError, match=r"expands to more than 4,194,304 bytes .*HRBRIDGE_SOURCE_XLSX_MAX_BYTES"):
        open_source(bomb, limits=limits)


def test_a_cell_over_the_limit_names_row_and_column_in_bounded_memory(tmp_path: Path) -> None:
    bomb = zip_bomb_workbook(str(tmp_path / "cell.xlsx"), sheet_bytes=16 << 20)  # one 16 MB cell at A2
    limits = SourceLimits(max_cell_chars=1_000, xlsx_max_ratio=1_000_000)
    source = open_source(bomb, limits=limits)
    with pytest.raises(SourceError, match=r"cell\.xlsx: row 2, column A: a cell longer than 1,000 characters"):
        list(source.batches(10))
    assert _peak(lambda: open_source(bomb, limits=limits).cell_counts()) < 2 << 20  # never held whole


def test_cells_beyond_the_column_bound_are_refused(tmp_path: Path) -> None:
    path = workbook(str(tmp_path / "wide.xlsx"), {"S": [["工号", "姓名"], ["1", "a"]]})
    from openpyxl import load_workbook

    book = load_workbook(path)
    book["S"].cell(row=2, column=5000, value="x")
    book.save(path)
    with pytest.raises(SourceError, match=r"row 2, column GJH: the sheet is wider than 1,024 columns"):
        open_source(path).cell_counts()


def test_merged_cells_give_every_cell_their_value_and_are_logged(tmp_path: Path) -> None:
    path = merged_roster(str(tmp_path / "roster.xlsx"), people=60, run=25)
    source = open_source(path, sheet="花名册")
    frames = [frame for _, _, frame in source.batches(40)]
    departments = [d for frame in frames for d in frame["部门"]]
    assert departments == [f"部门{n // 25}" for n in range(60)]
    repairs = sum(len(frame.attrs["reader_repairs"]) for frame in frames)
    assert repairs == 60 - 3  # every cell but the three that hold the value
    first = frames[0].attrs["reader_repairs"].iloc[0].to_dict()
    assert first == {"row": 1, "column": "部门", "original": None, "new": "部门0", "rule": "merged_cell"}
    assert source.cell_counts() == (60, [60, 60, 60, 60])  # the second reader agrees


def test_the_sheet_holding_the_table_is_found_behind_a_cover(tmp_path: Path) -> None:
    path = merged_roster(str(tmp_path / "roster.xlsx"), people=5)
    source = open_source(path, score=lambda headers: 2 if "工号" in headers else 0)
    assert source.name.endswith("[花名册]") and source.headers() == ["部门", "工号", "姓名", "手机"]


def test_no_table_or_several_tables_stop_naming_the_sheets(tmp_path: Path) -> None:
    cover = [["说明"], ["本表仅供参考"]]
    table = [["工号", "姓名"], ["000001", "甲"]]
    only_cover = workbook(str(tmp_path / "cover.xlsx"), {"封面": cover, "备注": cover})
    with pytest.raises(SourceError, match=r"no sheet holds a table .*封面 \(no table\), 备注 \(no table\).*--sheet"):
        open_source(only_cover)
    two = workbook(str(tmp_path / "two.xlsx"), {"封面": cover, "在职": table, "离职": table})
    with pytest.raises(SourceError, match=r"several sheets hold a table .*在职 \(2 columns\), 离职 \(2 columns\).*--sheet"):
        open_source(two)
    assert open_source(two, sheet="离职").headers() == ["工号", "姓名"]
