"""The second, minimal readers: what a source holds, counted independently of the main reader.

Verification compares the target with the cleaned source, so on its own it cannot see a value the
main reader dropped (both sides lack it). These readers share no parsing code with the main ones
and count, per column, the data rows' cells that hold something; the migration compares those
counts with what the main reader delivered, and a difference fails the run naming the column.

* CSV: Python's own ``csv`` module over lines decoded one at a time, which also pins a decoding
  error to its exact line, data row and column, and bounds every field
  (``csv.field_size_limit``) and the number of columns while it streams;
* Excel: :mod:`connectors.xlsx_census` (expat over the sheet XML; merged ranges as Excel shows them);
* Parquet: Arrow's column readers, one column of one row group at a time;
* databases: ``count(NULLIF(column, ''))`` per column.
"""

from __future__ import annotations

import codecs
import csv
import itertools
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from connectors.legacy_base import SourceError
from connectors.source_limits import SourceLimits

_CHUNK_ROWS = 4096
_CSV_LIMIT_LOCK = threading.Lock()  # csv.field_size_limit is process-wide


@dataclass(frozen=True)
class Census:
    """Data rows and non-empty cells per column (by position) as the second reader counted them."""

    rows: int
    cells: tuple[int, ...]
    offsets: tuple[int, ...] = ()  # CSV with ``every``: byte offset of data rows 0, every, 2·every, …


def where_csv(line: int, record: int) -> str:
    """``line 7 (data row 4)``: the physical line and the 0-based data row the logs use."""
    return "line 1 (header)" if record == 0 else f"line {line} (data row {record - 1})"


class _Lines:
    """Decoded lines of a byte file; an undecodable line is passed on with its bad bytes escaped
    (``surrogateescape``) and remembered, so the record holding it can be named precisely."""

    def __init__(self, handle: Any, encoding: str) -> None:
        self.handle = handle
        self.codec = "utf-8" if encoding == "utf-8-sig" else encoding
        self.encoding = encoding
        self.bad_line = 0
        self.number = 0
        self.bytes = 0  # bytes of the lines handed out so far: where the next line starts

    def __iter__(self) -> Iterator[str]:
        for raw in self.handle:
            self.number += 1
            self.bytes += len(raw)
            if self.number == 1 and raw.startswith(codecs.BOM_UTF8) and self.encoding == "utf-8-sig":
                raw = raw[len(codecs.BOM_UTF8):]
            try:
                yield raw.decode(self.codec)
            except UnicodeDecodeError:
                self.bad_line = self.bad_line or self.number
                yield raw.decode(self.codec, "surrogateescape")


def _escaped(text: str) -> bytes:
    return bytes(ord(c) - 0xDC00 for c in text if "\udc80" <= c <= "\udcff")


class _Records:
    """The CSV records after the header, counted as they are read (so an error can name its row).

    With ``every``, the byte offset where data rows 0, ``every``, 2·``every``, … start is noted:
    ``csv`` pulls exactly the lines of one record before returning it, so the bytes handed out
    before a record is pulled are where it starts (a batch's reader can seek straight to it).
    """

    def __init__(self, reader: Any, lines: _Lines, every: int = 0) -> None:
        self.reader = reader
        self.lines = lines
        self.every = every
        self.offsets: list[int] = []
        self.count = 0

    def __iter__(self) -> Iterator[list[str]]:
        start = self.lines.bytes
        for fields in self.reader:
            # A blank line holds no record; nor does a line of only spaces and tabs, which the main
            # reader (pandas' parser) skips as blank too. Other whitespace (\v, \f, \x1f, …) is data.
            if fields and not (len(fields) == 1 and fields[0] and not fields[0].strip(" \t")):
                if self.every and self.count % self.every == 0:
                    self.offsets.append(start)
                self.count += 1
                yield fields
            start = self.lines.bytes


def census_csv(path: Path, encoding: str, delimiter: str, limits: SourceLimits, every: int = 0) -> Census:
    """Stream the file with ``csv``: rows, non-empty cells per column, and every bound checked
    (with ``every``, also the byte offset of every ``every``-th data row: a batch plan).

    Raises :class:`SourceError` naming line, data row and column for undecodable bytes, a field
    longer than ``max_cell_chars``, a row with more fields than the header, or a header wider than
    ``max_columns``.
    """
    with _CSV_LIMIT_LOCK, path.open("rb") as handle:
        previous = csv.field_size_limit(limits.max_cell_chars)
        try:
            return _count_csv(path, _Lines(handle, encoding), delimiter, limits, every)
        finally:
            csv.field_size_limit(previous)


def _count_csv(path: Path, lines: _Lines, delimiter: str, limits: SourceLimits, every: int = 0) -> Census:
    reader = csv.reader(lines, delimiter=delimiter, strict=False)
    records = _Records(reader, lines, every)
    try:
        header = next(reader, None)
        if header is None:
            raise SourceError(f"{path}: the file is empty (no header row)")
        _check_decoded(path, lines, header, [header], 0)
        if len(header) > limits.max_columns:
            raise SourceError(f"{path}: the header has {len(header):,} columns, more than "
                              f"{limits.max_columns:,} ({limits.setting('max_columns')})")
        width = len(header)
        counts = [0] * width
        stream = iter(records)
        while chunk := list(itertools.islice(stream, _CHUNK_ROWS)):
            first = records.count - len(chunk) + 1
            if lines.bad_line:
                _check_decoded(path, lines, header, chunk, first)
            for offset, fields in enumerate(chunk):
                if len(fields) > width:
                    raise SourceError(f"{path}: data row {first + offset - 1}: {len(fields)} fields, "
                                      f"the header has {width}")
            for position, column in enumerate(itertools.zip_longest(*chunk, fillvalue="")):
                if position < width:
                    counts[position] += sum(map(bool, column))
        return Census(records.count, tuple(counts), tuple(records.offsets))
    except csv.Error as exc:
        where = where_csv(reader.line_num, records.count + 1)
        if "field larger than field limit" in str(exc):
            raise SourceError(f"{path}: {where}: a field longer than {limits.max_cell_chars:,} characters "
                              f"({limits.setting('max_cell_chars')})") from exc
        raise SourceError(f"{path}: {where}: {exc}") from exc


def _check_decoded(path: Path, lines: _Lines, header: list[str], chunk: list[list[str]], first: int) -> None:
    """Raise for the first field holding undecodable bytes; ``first`` is the chunk's first record
    (0 = the header)."""
    for offset, fields in enumerate(chunk):
        record = first + offset
        for index, field in enumerate(fields):
            bad = _escaped(field)
            if bad:
                column = header[index] if record and index < len(header) else f"#{index + 1}"
                raise SourceError(f"{path}: {where_csv(lines.bad_line, record)}, column {column!r}: bytes {bad!r} "
                                  f"are not valid {lines.encoding}; pass --encoding to override")
    if first == 0:
        return
    raise SourceError(f"{path}: line {lines.bad_line}: bytes are not valid {lines.encoding}; "
                      "pass --encoding to override")


def census_parquet(parquet: Any, limits: SourceLimits) -> Census:
    """Rows and non-null, non-empty values per column, one column chunk at a time."""
    import pyarrow as pa
    import pyarrow.compute as pc

    names = parquet.schema_arrow.names
    counts = [0] * len(names)
    for group in range(parquet.metadata.num_row_groups):
        for position, name in enumerate(names):
            column = parquet.read_row_group(group, columns=[name]).column(0)
            if pa.types.is_string(column.type) or pa.types.is_large_string(column.type):
                lengths = pc.utf8_length(column)
                longest = pc.max(lengths).as_py()
                if longest is not None and longest > limits.max_cell_chars:
                    raise SourceError(f"parquet row group {group}, column {name!r}: a value of {longest:,} "
                                      f"characters is longer than {limits.max_cell_chars:,} "
                                      f"({limits.setting('max_cell_chars')})")
                counts[position] += int(pc.sum(pc.greater(lengths, 0)).as_py() or 0)
            else:
                counts[position] += len(column) - column.null_count
    return Census(int(parquet.metadata.num_rows), tuple(counts))


def census_table(engine: Any, table: Any) -> Census:
    """``count(*)`` and ``count(NULLIF(column, ''))`` per column, in one query."""
    import sqlalchemy as sa

    parts = [sa.func.count()]
    for column in table.columns:
        text = isinstance(column.type, sa.String)
        parts.append(sa.func.count(sa.func.nullif(column, "") if text else column))
    with engine.connect() as conn:
        row = conn.execute(sa.select(*parts).select_from(table)).one()
    return Census(int(row[0]), tuple(int(v) for v in row[1:]))
