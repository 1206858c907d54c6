"""Excel workbooks as a legacy source, read the way Excel shows them.

* The workbook is checked before openpyxl parses anything (:func:`connectors.xlsx_guard.check_workbook`:
  uncompressed size, compression ratio, number of parts) and read in openpyxl's streaming mode,
  never wider than ``max_columns``, ignoring the sheet's declared dimensions (a hostile
  ``A1:XFD1048576`` would otherwise pad every row to 16,384 cells).
* **Merged cells**: HR staff merge a department cell over the run of people below it. Excel shows
  the value in every cell of the range, so the reader gives it to every cell of the range (the
  streaming mode does not report merges: the ranges are scanned from the sheet's XML first).
* **The table's sheet**: with no sheet named, the reader looks for the sheet that holds a table
  (a header row above data), scored by a caller's function (e.g. how many headers map to
  canonical columns), and stops naming the sheets when none or several qualify; a cover or
  explanation sheet in front is skipped.
"""

from __future__ import annotations

import datetime as dt
import heapq
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pandas as pd

from connectors.legacy_base import DEFAULT_BATCH_SIZE, Batch, LegacySource
from connectors.source_limits import SourceLimits
from connectors.xlsx_census import SheetCensus, scan_sheet, shared_string_flags
from connectors.xlsx_guard import MergedRange, WorkbookError, check_workbook, merged_ranges, sheet_parts

HEADER_SCAN_ROWS = 20
Score = Callable[[list[str]], int]


def cell_text(value: Any) -> str | None:
    """Excel cell → text: integral numbers without '.0', dates as ISO, everything else str()."""
    if value is None:
        return None
    if isinstance(value, bool):
        return str(value).upper()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, dt.datetime):
        return value.date().isoformat() if value.time() == dt.time(0) else value.isoformat(sep=" ")
    if isinstance(value, dt.date | dt.time):
        return value.isoformat()
    return str(value)


def filled(value: Any) -> bool:
    """A cell that shows something (not empty, not an empty string)."""
    return value is not None and value != ""


def find_header_row(rows: list[tuple[Any, ...]]) -> int | None:
    """Index of the header row among the first rows, or None when no row looks like one.

    The header is the first row whose non-empty cells are all text and number at least two and at
    least half of the widest row's non-empty cells (a title like "员工花名册 2023" fills one cell).
    """
    widths = [sum(filled(v) for v in row) for row in rows]
    widest = max(widths, default=0)
    for index, row in enumerate(rows):
        cells = [v for v in row if filled(v)]
        if cells and len(cells) >= max(2, widest / 2) and all(isinstance(v, str) for v in cells):
            return index
    return None


def detect_header_row(rows: list[tuple[Any, ...]]) -> int:
    """:func:`find_header_row`, or 0 when no row looks like a header."""
    found = find_header_row(rows)
    return 0 if found is None else found


class MergeFill:
    """Gives every cell of a merged range its top-left value, row by row, in reading order.

    Ranges become active at their first row (a heap keyed by first row) and retire after their
    last; only the ranges covering the current row are looked at, so the cost per row is the
    number of ranges crossing it, not the number of ranges in the sheet.
    """

    def __init__(self, ranges: list[MergedRange]) -> None:
        self._pending = sorted(ranges, key=lambda r: (r.first_row, r.first_col))
        self._next = 0
        self._active: list[tuple[int, int, MergedRange]] = []  # (last_row, serial, range)
        self._values: dict[MergedRange, Any] = {}
        self.filled_cells = 0

    def apply(self, row_number: int, cells: list[Any]) -> list[Any]:
        """The row's cells (1-based ``row_number``) with merged cells given their range's value."""
        while self._next < len(self._pending) and self._pending[self._next].first_row <= row_number:
            merged = self._pending[self._next]
            heapq.heappush(self._active, (merged.last_row, self._next, merged))
            self._next += 1
        while self._active and self._active[0][0] < row_number:
            self._values.pop(heapq.heappop(self._active)[2], None)
        for _last, _serial, merged in self._active:
            if merged.first_row == row_number:
                top_left = merged.first_col - 1
                self._values[merged] = cells[top_left] if top_left < len(cells) else None
            value = self._values.get(merged)
            for col in range(merged.first_col - 1, min(merged.last_col, len(cells))):
                if (row_number, col + 1) != (merged.first_row, merged.first_col):
                    if filled(value) and not filled(cells[col]):
                        self.filled_cells += 1
                    cells[col] = value
        return cells


class Workbook:
    """An opened, checked workbook: its sheets and, per sheet, its rows (see the module docstring)."""

    def __init__(self, path: Path, limits: SourceLimits) -> None:
        self.path = path
        self.limits = limits
        check_workbook(path, limits)
        self.parts, self.strings_part = sheet_parts(path)
        self._strings: bytearray | None = None

    def strings(self) -> bytearray:
        """Which shared strings show something (read once, bounded: see :mod:`connectors.xlsx_census`)."""
        if self._strings is None:
            self._strings = shared_string_flags(self.path, self.strings_part, self.limits)
        return self._strings

    def census(self, sheet: str, stop_row: int | None = None) -> SheetCensus:
        """The second reader's counts for ``sheet`` (also its bound checks), see :mod:`connectors.xlsx_census`."""
        return scan_sheet(self.path, self.parts[sheet], self.limits, self.strings(), self.merges(sheet), stop_row)

    def _load(self) -> Any:
        from openpyxl import load_workbook

        try:
            return load_workbook(self.path, read_only=True, data_only=True)
        except Exception as exc:  # noqa: BLE001 - zip/xml errors all mean "not a readable workbook"
            raise WorkbookError(f"{self.path}: not a readable .xlsx workbook ({exc})") from exc

    def rows(self, sheet: str, limit: int | None = None) -> Iterator[tuple[Any, ...]]:
        """Raw cell values row by row from row 1 (gaps as empty rows); call only after :meth:`census`
        has checked the rows read (no cell lies beyond ``max_columns``)."""
        workbook = self._load()
        try:
            worksheet = workbook[sheet]
            worksheet.reset_dimensions()  # declared dimensions are not trusted (see the module docstring)
            yield from worksheet.iter_rows(max_row=limit, values_only=True)  # width bounded by the census
        except (OSError, ValueError, KeyError) as exc:
            raise WorkbookError(f"{self.path}: sheet {sheet!r} is not readable ({exc})") from exc
        finally:
            workbook.close()

    def head(self, sheet: str) -> list[tuple[Any, ...]]:
        """The first rows of a sheet, where its header row is looked for (bounds checked first)."""
        self.census(sheet, stop_row=HEADER_SCAN_ROWS)
        return list(self.rows(sheet, HEADER_SCAN_ROWS))

    def merges(self, sheet: str) -> list[MergedRange]:
        """The sheet's merged ranges."""
        return merged_ranges(self.path, self.parts[sheet])

    def choose_sheet(self, score: Score | None = None) -> str:
        """The sheet holding the table (see the module docstring); raises naming the sheets otherwise."""
        names = list(self.parts)
        if len(names) == 1:
            return names[0]
        found: list[tuple[int, str, int]] = []
        notes = []
        for name in names:
            head = self.head(name)
            index = find_header_row(head)
            data_rows = [row for row in head[index + 1:] if any(filled(v) for v in row)] if index is not None else []
            if index is None or not data_rows:
                notes.append(f"{name} (no table)")
                continue
            headers = [cell_text(v) or "" for v in head[index]]
            points = score(headers) if score else 1
            notes.append(f"{name} ({sum(1 for h in headers if h)} columns"
                         + (f", {points} recognised" if score else "") + ")")
            if points > 0:
                found.append((points, name, len(found)))
        if not found:
            raise WorkbookError(f"{self.path}: no sheet holds a table with recognisable headers "
                                f"(sheets: {', '.join(notes)}); pass --sheet")
        best = max(points for points, _, _ in found)
        winners = [name for points, name, _ in found if points == best]
        if len(winners) > 1:
            raise WorkbookError(f"{self.path}: several sheets hold a table ({', '.join(notes)}); "
                                "pass --sheet to choose one (run once per sheet to migrate several)")
        return winners[0]

    def sheet_names(self) -> list[str]:
        """Sheet names in workbook order."""
        return list(self.parts)


REPAIR_COLUMNS = ["row", "column", "original", "new", "rule"]


class ExcelSource(LegacySource):
    """One sheet of an ``.xlsx`` workbook, read as Excel shows it (see the module docstring).

    ``sheet`` names the sheet; without it the sheet holding the table is found (``score`` rates a
    header row, e.g. by how many headers map to canonical columns). Every frame carries, in
    ``frame.attrs["reader_repairs"]``, the cells given a merged range's value (rule ``merged_cell``).
    """

    def __init__(self, path: Path, sheet: str | None = None, limits: SourceLimits | None = None,
                 score: Score | None = None) -> None:
        self.path = path
        self.book = Workbook(path, limits or SourceLimits.from_env())
        if sheet is not None and sheet not in self.book.parts:
            raise WorkbookError(f"{path}: no sheet named {sheet!r} (sheets: {', '.join(self.book.parts)})")
        self.sheet = sheet if sheet is not None else self.book.choose_sheet(score)
        self.name = f"{path}[{self.sheet}]"
        self._layout: tuple[int, list[str]] | None = None
        self._census: SheetCensus | None = None

    def layout(self) -> tuple[int, list[str]]:
        """(0-based index of the header row, headers); title rows above the table are skipped."""
        if self._layout is None:
            head = self.book.head(self.sheet)
            index = detect_header_row(head)
            headers = [cell_text(v) or f"column_{i + 1}" for i, v in enumerate(head[index])] if head else []
            self._layout = (index, headers)
        return self._layout

    def headers(self) -> list[str]:
        """Header row (after any title rows)."""
        return self.layout()[1]

    def census(self) -> SheetCensus:
        """The second reader's pass over the whole sheet (done once; it also checks every bound)."""
        if self._census is None:
            self._census = self.book.census(self.sheet)
        return self._census

    def cell_counts(self) -> tuple[int, list[int]]:
        """(data rows, non-empty cells per column) as the second reader counts them."""
        index, headers = self.layout()
        rows, counts = self.census().counts(index + 1, len(headers))
        return rows, [counts[col] for col in range(1, len(headers) + 1)]

    def _records(self) -> Iterator[tuple[list[str | None], list[tuple[str, str]]]]:
        """Data rows as texts, each with the (column, value) pairs a merged range filled in."""
        self.census()  # every bound is checked before openpyxl reads past the header
        index, headers = self.layout()
        width = len(headers)
        fill = MergeFill(self.book.merges(self.sheet))
        for number, raw in enumerate(self.book.rows(self.sheet), start=1):
            own = any(filled(v) for v in raw)
            if number <= index + 1:
                fill.apply(number, list(raw))
                continue
            before = list(raw[:width]) + [None] * (width - len(raw))
            cells = fill.apply(number, list(raw) + [None] * (width - len(raw)))[:width]
            if not own:
                continue
            repaired = [(headers[i], cell_text(cells[i]) or "") for i in range(width)
                        if filled(cells[i]) and not filled(before[i])]
            yield [cell_text(v) for v in cells], repaired

    def count_rows(self) -> int:
        """Count non-empty data rows."""
        return sum(1 for _ in self._records())

    def batches(self, batch_size: int = DEFAULT_BATCH_SIZE) -> Iterator[Batch]:
        """Rows as text in batches; fully empty rows are skipped (they carry no record)."""
        headers = self.headers()
        buffer: list[list[str | None]] = []
        repairs: list[tuple[int, str, None, str, str]] = []
        offset = batch_no = 0
        for cells, repaired in self._records():
            repairs.extend((offset + len(buffer), column, None, value, "merged_cell") for column, value in repaired)
            buffer.append(cells)
            if len(buffer) == batch_size:
                yield batch_no, offset, _frame(buffer, headers, repairs)
                offset += len(buffer)
                batch_no += 1
                buffer, repairs = [], []
        if buffer:
            yield batch_no, offset, _frame(buffer, headers, repairs)


def _frame(rows: list[list[str | None]], headers: list[str], repairs: list[tuple[Any, ...]]) -> pd.DataFrame:
    """Rows of cell texts as an all-text frame, carrying the reader's repairs."""
    frame = pd.DataFrame(rows, columns=headers, dtype="object")
    frame.attrs["reader_repairs"] = pd.DataFrame(repairs, columns=REPAIR_COLUMNS)
    return frame
