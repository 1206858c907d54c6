"""A second, minimal reader of ``.xlsx`` sheets: non-empty cells per column, and the bounds.

Verification used to compare the target with the cleaned source only, so a value the reader
dropped (a merged department cell, say) was dropped on both sides and the report said 100 %.
This reader shares no code with openpyxl's: it streams a sheet's XML through expat, counts the
cells that show something per column (a merged range's value counts in every cell of the range,
as Excel shows it) and checks each cell's length and column while it streams, so memory stays
bounded whatever the sheet holds. The migration compares its counts with what the main reader
delivered (:mod:`connectors.source_census`).

Shared strings are read once into a bit per string (shows something or not), never kept as text.
"""

from __future__ import annotations

import heapq
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from xml.parsers import expat

from connectors.source_limits import SourceLimits
from connectors.xlsx_guard import MergedRange, WorkbookError, cell_position, column_number

HEAD_ROWS = 20
_CHUNK = 1 << 16


def _local(tag: str) -> str:
    return tag.rsplit(" ", 1)[-1]


def _refuse_doctype(*_args: object) -> None:
    raise ValueError("a document type declaration is not allowed in a workbook part")


def _stream(path: Path, member: str, parser: expat.XMLParserType, stop: list[bool] | None = None) -> None:
    parser.StartDoctypeDeclHandler = _refuse_doctype  # type: ignore[assignment]
    with zipfile.ZipFile(path) as archive, archive.open(member) as handle:
        while chunk := handle.read(_CHUNK):
            parser.Parse(chunk, False)
            if stop and stop[0]:
                return
        parser.Parse(b"", True)


class _TooLong(Exception):
    """A text node longer than the cell limit (raised from inside the expat callbacks)."""


def shared_string_flags(path: Path, member: str | None, limits: SourceLimits) -> bytearray:
    """One byte per shared string: 1 when it shows something; checks each string's length."""
    flags = bytearray()
    if member is None:
        return flags
    state = {"depth_rph": 0, "in_t": False, "length": 0}
    parser = expat.ParserCreate(namespace_separator=" ")

    def start(tag: str, _attrs: dict[str, str]) -> None:
        name = _local(tag)
        if name == "si":
            state["length"] = 0
        elif name == "rPh":
            state["depth_rph"] += 1
        elif name == "t" and not state["depth_rph"]:
            state["in_t"] = True

    def end(tag: str) -> None:
        name = _local(tag)
        if name == "si":
            flags.append(1 if state["length"] else 0)
        elif name == "rPh":
            state["depth_rph"] -= 1
        elif name == "t":
            state["in_t"] = False

    def text(data: str) -> None:
        if state["in_t"]:
            state["length"] += len(data)
            if state["length"] > limits.max_cell_chars:
                raise _TooLong(len(flags))

    parser.StartElementHandler, parser.EndElementHandler = start, end  # type: ignore[assignment]
    parser.CharacterDataHandler = text  # type: ignore[assignment]
    try:
        _stream(path, member, parser)
    except _TooLong as exc:
        raise WorkbookError(f"{path}: shared string #{exc.args[0]} is longer than {limits.max_cell_chars:,} "
                            f"characters ({limits.setting('max_cell_chars')})") from exc
    except (expat.ExpatError, ValueError, zipfile.BadZipFile, OSError) as exc:
        raise WorkbookError(f"{path}: shared strings are not readable ({exc})") from exc
    return flags


@dataclass
class SheetCensus:
    """Per column (1-based): non-empty cells of every data row, split so the header row can be
    chosen afterwards: the first ``HEAD_ROWS`` rows are kept one by one."""

    head: dict[int, dict[int, int]] = field(default_factory=dict)  # row → column → 1 (rows ≤ HEAD_ROWS)
    body: dict[int, int] = field(default_factory=dict)  # column → count over rows > HEAD_ROWS
    body_rows: int = 0
    head_rows: set[int] = field(default_factory=set)  # rows ≤ HEAD_ROWS that show something
    fills_head: dict[int, dict[int, int]] = field(default_factory=dict)  # merged-cell fills, by row
    fills_body: dict[int, int] = field(default_factory=dict)

    def counts(self, header_row: int, width: int) -> tuple[int, dict[int, int]]:
        """(data rows, non-empty cells per column 1..width) below the 1-based ``header_row``."""
        totals = {col: self.body.get(col, 0) + self.fills_body.get(col, 0) for col in range(1, width + 1)}
        rows = self.body_rows
        for row in sorted(self.head_rows):
            if row <= header_row:
                continue
            rows += 1
            for source in (self.head.get(row, {}), self.fills_head.get(row, {})):
                for col, count in source.items():
                    if col <= width:
                        totals[col] += count
        return rows, totals


class _SheetScan:
    """The expat callbacks of :func:`scan_sheet`."""

    def __init__(self, path: Path, limits: SourceLimits, strings: bytearray, merges: list[MergedRange],
                 stop_row: int | None) -> None:
        self.path, self.limits, self.strings, self.stop_row = path, limits, strings, stop_row
        self.census = SheetCensus()
        self.pending = sorted(merges, key=lambda r: r.first_row)
        self.next_merge = 0
        self.active: list[tuple[int, int, MergedRange]] = []
        self.top_left: dict[MergedRange, bool] = {}
        self.row = 0
        self.col = 0
        self.kind = ""
        self.where = ""  # "v" or "t" while inside a value or inline text
        self.length = 0
        self.value = ""  # a value's first characters (enough for a shared-string index)
        self.row_cells: dict[int, int] = {}
        self.row_shows = False
        self.stop = [False]

    def start(self, tag: str, attrs: dict[str, str]) -> None:
        name = _local(tag)
        if name == "row":
            self.row = int(attrs["r"]) if "r" in attrs else self.row + 1
            self.col, self.row_cells, self.row_shows = 0, {}, False
            self._activate()
        elif name == "c":
            self.col = cell_position(attrs["r"])[1] if "r" in attrs else self.col + 1
            if self.col > self.limits.max_columns:  # even an empty cell there would widen every row read
                raise WorkbookError(f"{self.path}: row {self.row}, column {_letters(self.col)}: the sheet is wider "
                                    f"than {self.limits.max_columns:,} columns ({self.limits.setting('max_columns')})")
            self.kind, self.length, self.where, self.value = attrs.get("t", "n"), 0, "", ""
        elif name == "v" or (name == "t" and self.kind == "inlineStr"):
            self.where = name

    def text(self, data: str) -> None:
        if not self.where:
            return
        self.length += len(data)
        if self.length > self.limits.max_cell_chars:
            raise WorkbookError(f"{self.path}: row {self.row}, column {_letters(self.col)}: a cell longer than "
                                f"{self.limits.max_cell_chars:,} characters ({self.limits.setting('max_cell_chars')})")
        if self.where == "v" and len(self.value) < 32:
            self.value += data

    def end(self, tag: str) -> None:
        name = _local(tag)
        if name in ("v", "t"):
            self.where = ""
        elif name == "c":
            self._cell()
        elif name == "row":
            self._row()
            if self.stop_row is not None and self.row >= self.stop_row:
                self.stop[0] = True

    def _cell(self) -> None:
        if self.kind == "s":
            index = int(self.value) if self.value.strip().isdigit() else -1
            shows = 0 <= index < len(self.strings) and bool(self.strings[index])
        else:
            shows = self.length > 0
        if not shows:
            return
        self.row_shows = True
        inside = [m for _, _, m in self.active if m.covers(self.row, self.col)]
        for merged in inside:
            if (merged.first_row, merged.first_col) == (self.row, self.col):
                self.top_left[merged] = True
        if not inside or any((m.first_row, m.first_col) == (self.row, self.col) for m in inside):
            self.row_cells[self.col] = 1

    def _row(self) -> None:
        if not self.row_shows:
            return
        fills: dict[int, int] = {}
        for _, _, merged in self.active:
            if self.top_left.get(merged):
                for col in range(merged.first_col, merged.last_col + 1):
                    if (self.row, col) != (merged.first_row, merged.first_col):
                        fills[col] = fills.get(col, 0) + 1
        census = self.census
        if self.row <= HEAD_ROWS:
            census.head_rows.add(self.row)
            census.head[self.row] = self.row_cells
            census.fills_head[self.row] = fills
            return
        census.body_rows += 1
        for source, target in ((self.row_cells, census.body), (fills, census.fills_body)):
            for col, count in source.items():
                target[col] = target.get(col, 0) + count

    def _activate(self) -> None:
        while self.next_merge < len(self.pending) and self.pending[self.next_merge].first_row <= self.row:
            merged = self.pending[self.next_merge]
            heapq.heappush(self.active, (merged.last_row, self.next_merge, merged))
            self.next_merge += 1
        while self.active and self.active[0][0] < self.row:
            self.top_left.pop(heapq.heappop(self.active)[2], None)


def _letters(col: int) -> str:
    letters = ""
    while col:
        col, rest = divmod(col - 1, 26)
        letters = chr(65 + rest) + letters
    return letters


def scan_sheet(path: Path, member: str, limits: SourceLimits, strings: bytearray, merges: list[MergedRange],
               stop_row: int | None = None) -> SheetCensus:
    """Stream one sheet (up to ``stop_row`` when given): counts and bound checks, see the module docstring."""
    scan = _SheetScan(path, limits, strings, merges, stop_row)
    parser = expat.ParserCreate(namespace_separator=" ")
    parser.buffer_text = True
    parser.StartElementHandler, parser.EndElementHandler = scan.start, scan.end  # type: ignore[assignment]
    parser.CharacterDataHandler = scan.text  # type: ignore[assignment]
    try:
        _stream(path, member, parser, scan.stop)
    except (expat.ExpatError, ValueError, KeyError, zipfile.BadZipFile, OSError) as exc:
        raise WorkbookError(f"{path}: sheet part {member} is not readable ({exc})") from exc
    return scan.census


__all__ = ["SheetCensus", "column_number", "scan_sheet", "shared_string_flags"]
