"""Legacy record sources for the migration: CSV, Excel, Parquet and any SQL database.

Every source reads values as TEXT (leading zeros and odd date spellings survive for the cleaning
step) and yields ``(batch_no, row_offset, DataFrame)`` with ``row_offset`` the 0-based data-row index
of the batch's first row. Nothing is read whole: CSV by Arrow's streaming reader (pandas chunks
for other encodings and for files Arrow rejects), Excel through openpyxl's
read-only mode, Parquet by record batches, databases by primary-key ranges on a server-side cursor.
Unreadable input raises :class:`SourceError` naming the file, row and column when known.
"""

from __future__ import annotations

import codecs
import csv
import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from connectors.errors import ConnectorError

DEFAULT_BATCH_SIZE = 50_000
SAMPLE_BYTES = 256 * 1024
HEADER_SCAN_ROWS = 20
_DB_PREFIXES = ("postgresql", "postgres", "mysql", "mariadb", "sqlite")
# charset-normalizer names → the codec we decode with (GB18030 is a superset of GBK/GB2312).
_ENCODING_ALIASES = {"gbk": "gb18030", "gb2312": "gb18030", "hz": "gb18030", "ascii": "utf-8", "utf_8": "utf-8"}

Batch = tuple[int, int, pd.DataFrame]
_ARROW_ENCODINGS = {"utf-8", "utf8", "utf-8-sig"}


class SourceError(ConnectorError):
    """A legacy source cannot be read; the message names the file/table, row and column."""


@dataclass(frozen=True)
class BatchSpec:
    """A small, serialisable description of one batch: where it starts and how many rows."""

    batch_no: int
    row_offset: int
    rows: int
    low: Any = None  # database sources: key range (low, high]
    high: Any = None

    def as_dict(self) -> dict[str, Any]:
        """Plain dict for XCom / JSON."""
        return {"batch_no": self.batch_no, "row_offset": self.row_offset, "rows": self.rows,
                "low": self.low, "high": self.high}


class LegacySource:
    """Base of every source: headers, row count, a batch plan and batch iteration."""

    name: str = ""

    def headers(self) -> list[str]:
        """Column names of the source, in source order."""
        raise NotImplementedError

    def count_rows(self) -> int:
        """Number of data rows (a cheap pass; no values are kept)."""
        raise NotImplementedError

    def batches(self, batch_size: int = DEFAULT_BATCH_SIZE) -> Iterator[Batch]:
        """Stream the whole source as ``(batch_no, row_offset, frame)``."""
        raise NotImplementedError

    def plan(self, batch_size: int = DEFAULT_BATCH_SIZE) -> list[BatchSpec]:
        """Split the source into batch descriptors (used by the DAG to map one task per batch)."""
        total = self.count_rows()
        return [BatchSpec(n, start, min(batch_size, total - start))
                for n, start in enumerate(range(0, total, batch_size))]

    def read_batch(self, spec: BatchSpec, batch_size: int) -> pd.DataFrame:
        """Read one planned batch on its own (file sources skip earlier rows without keeping them)."""
        for batch_no, _offset, frame in self.batches(batch_size):
            if batch_no == spec.batch_no:
                return frame
        return pd.DataFrame(columns=self.headers(), dtype="str")


# --------------------------------------------------------------------------------------- CSV
def detect_encoding(path: Path, sample_bytes: int = SAMPLE_BYTES) -> str:
    """Guess a CSV file's encoding from a sample: UTF-8 (with or without BOM) or GB18030/GBK."""
    from charset_normalizer import from_bytes

    with path.open("rb") as handle:
        sample = handle.read(sample_bytes)
    if sample.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    cut = sample.rfind(b"\n")
    if 0 < cut < len(sample) - 1:
        sample = sample[: cut + 1]
    try:
        sample.decode("utf-8")
        return "utf-8"
    except UnicodeDecodeError:
        pass
    best = from_bytes(sample, cp_isolation=["utf_8", "gb18030", "gbk", "big5", "cp1252"]).best()
    name = (best.encoding if best else "gb18030").lower()
    return _ENCODING_ALIASES.get(name, name)


def _locate_decode_error(path: Path, encoding: str) -> str:
    """Find the first undecodable line and field, for an error message a person can act on."""
    decoder_name = "utf-8" if encoding == "utf-8-sig" else encoding
    with path.open("rb") as handle:
        header: list[str] = []
        for line_no, raw in enumerate(handle, start=1):
            try:
                text = raw.decode(decoder_name)
                if line_no == 1:
                    header = next(csv.reader([text.lstrip("\ufeff")]), [])
                continue
            except UnicodeDecodeError as exc:
                fields = raw.split(b",")
                position, column = 0, "?"
                for index, field in enumerate(fields):
                    if position + len(field) >= exc.start:
                        column = header[index] if index < len(header) else f"#{index + 1}"
                        break
                    position += len(field) + 1
                where = "header" if line_no == 1 else f"data row {line_no - 2}"
                return (f"{path}: line {line_no} ({where}), column {column!r}: bytes "
                        f"{raw[exc.start:exc.end]!r} are not valid {encoding}; pass --encoding to override")
    return f"{path}: not valid {encoding}; pass --encoding to override"


class CsvSource(LegacySource):
    """A delimited text file; encoding detected on a sample unless given explicitly."""

    def __init__(self, path: Path, encoding: str | None = None, delimiter: str = ",") -> None:
        self.path = path
        self.name = str(path)
        self.encoding = encoding or detect_encoding(path)
        try:
            codecs.lookup(self.encoding)
        except LookupError as exc:
            raise SourceError(f"{path}: unknown encoding {self.encoding!r}") from exc
        self.delimiter = delimiter
        self._arrow_done = False  # set by _arrow_frames: Arrow read the whole file

    def _reader(self, **kwargs: Any) -> Any:
        return pd.read_csv(self.path, dtype=str, keep_default_na=False, na_filter=False,
                           encoding=self.encoding, sep=self.delimiter, engine="c", **kwargs)

    def _guard(self, call: Any) -> Any:
        try:
            return call()
        except UnicodeDecodeError as exc:
            raise SourceError(_locate_decode_error(self.path, self.encoding)) from exc
        except pd.errors.ParserError as exc:
            raise SourceError(f"{self.path}: {exc}") from exc
        except pd.errors.EmptyDataError as exc:
            raise SourceError(f"{self.path}: the file is empty (no header row)") from exc

    def headers(self) -> list[str]:
        """Header row as read with the chosen encoding."""
        return list(self._guard(lambda: self._reader(nrows=0)).columns)

    def count_rows(self) -> int:
        """Count data rows with the CSV parser (quoted newlines counted correctly)."""
        def run() -> int:
            return sum(len(chunk) for chunk in self._reader(usecols=[0], chunksize=500_000))
        return int(self._guard(run))

    def batches(self, batch_size: int = DEFAULT_BATCH_SIZE) -> Iterator[Batch]:
        """Chunks of ``batch_size`` rows, all values as text.

        UTF-8 files are parsed by Arrow's multithreaded CSV reader (about 3x less CPU than pandas'
        parser, and it runs outside the GIL while the previous batch is cleaned). Anything Arrow
        rejects (ragged rows, undecodable bytes, …) is handed to pandas from the first row not yet
        yielded, so the frames and the error messages are exactly pandas' own.
        """
        offset = batch_no = 0
        if self.encoding in _ARROW_ENCODINGS and len(self.delimiter) == 1:
            for frame in self._arrow_frames(batch_size):
                yield batch_no, offset, frame
                offset += len(frame)
                batch_no += 1
                if len(frame) < batch_size:
                    return
            if self._arrow_done and batch_no:  # (a header-only file: pandas' one empty frame below)
                return
        kwargs: dict[str, Any] = {"skiprows": range(1, offset + 1)} if offset else {}
        reader = self._guard(lambda: self._reader(chunksize=batch_size, **kwargs))
        while True:
            chunk = self._guard(lambda: next(reader, None))
            if chunk is None:
                return
            yield batch_no, offset, chunk.reset_index(drop=True)
            offset += len(chunk)
            batch_no += 1

    def _arrow_frames(self, batch_size: int) -> Iterator[pd.DataFrame]:
        """Frames of exactly ``batch_size`` rows (the last one shorter) read with Arrow; stops
        early, with ``_arrow_done`` False, when Arrow cannot parse the file the way pandas would."""
        import pyarrow as pa
        import pyarrow.csv as pacsv

        self._arrow_done = False
        names = self.headers()
        try:
            reader = pacsv.open_csv(
                self.path,
                read_options=pacsv.ReadOptions(column_names=names, skip_rows=1, block_size=4 << 20),
                parse_options=pacsv.ParseOptions(delimiter=self.delimiter, newlines_in_values=True),
                convert_options=pacsv.ConvertOptions(column_types={n: pa.string() for n in names},
                                                     strings_can_be_null=False, quoted_strings_can_be_null=False))
        except (pa.ArrowInvalid, ValueError):
            return
        pending: list[Any] = []
        pending_rows = 0
        while True:
            try:
                record_batch = reader.read_next_batch()
            except StopIteration:
                break
            except (pa.ArrowInvalid, ValueError):
                return  # pandas takes over at the first row not yet yielded
            pending.append(record_batch)
            pending_rows += record_batch.num_rows
            while pending_rows >= batch_size:
                table = pa.Table.from_batches(pending)
                yield _text_frame(table.slice(0, batch_size))
                rest = table.slice(batch_size)
                pending, pending_rows = rest.to_batches(), rest.num_rows
        self._arrow_done = True
        if pending_rows:
            yield _text_frame(pa.Table.from_batches(pending))

    def read_batch(self, spec: BatchSpec, batch_size: int) -> pd.DataFrame:
        """Parse only the rows of one batch (earlier rows are skipped by the C parser)."""
        frame = self._guard(lambda: self._reader(skiprows=range(1, spec.row_offset + 1), nrows=spec.rows))
        return frame.reset_index(drop=True)


def _text_frame(table: Any) -> pd.DataFrame:
    """An all-text Arrow table as a frame with the same ``str`` columns pandas' CSV reader makes."""
    return table.to_pandas().reset_index(drop=True)


# ------------------------------------------------------------------------------------- Excel
def _cell_text(value: Any) -> str | None:
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


def detect_header_row(rows: list[tuple[Any, ...]]) -> int:
    """Index of the header row among the first rows: skips title lines above the table.

    The header is the first row whose non-empty cells are all text and number at least half of
    the widest row's non-empty cells (a title like "员工花名册 2023" fills one cell).
    """
    widths = [sum(v not in (None, "") for v in row) for row in rows]
    widest = max(widths, default=0)
    for index, row in enumerate(rows):
        filled = [v for v in row if v not in (None, "")]
        if filled and len(filled) >= max(2, widest / 2) and all(isinstance(v, str) for v in filled):
            return index
    return 0


class ExcelSource(LegacySource):
    """An ``.xlsx`` workbook read with openpyxl in read-only mode (one sheet, header detected)."""

    def __init__(self, path: Path, sheet: str | None = None) -> None:
        self.path = path
        self.sheet = sheet
        self.name = f"{path}" + (f"[{sheet}]" if sheet else "")
        self._open()[0].close()

    def _open(self) -> tuple[Any, Any]:
        from openpyxl import load_workbook

        try:
            workbook = load_workbook(self.path, read_only=True, data_only=True)
        except Exception as exc:  # noqa: BLE001 - zip/xml errors all mean "not a readable workbook"
            raise SourceError(f"{self.path}: not a readable .xlsx workbook ({exc})") from exc
        if self.sheet is None:
            return workbook, workbook.worksheets[0]
        if self.sheet not in workbook.sheetnames:
            workbook.close()
            raise SourceError(f"{self.path}: no sheet named {self.sheet!r} (sheets: {', '.join(workbook.sheetnames)})")
        return workbook, workbook[self.sheet]

    def _rows(self) -> Iterator[tuple[list[str], Iterator[tuple[Any, ...]]]]:
        workbook, sheet = self._open()
        try:
            rows = sheet.iter_rows(values_only=True)
            head = [row for _, row in zip(range(HEADER_SCAN_ROWS), rows, strict=False)]
            header_index = detect_header_row(head)
            headers = [_cell_text(v) or f"column_{i + 1}" for i, v in enumerate(head[header_index])] if head else []
            pending = iter(head[header_index + 1:])

            def data() -> Iterator[tuple[Any, ...]]:
                yield from pending
                yield from rows

            yield headers, data()
        finally:
            workbook.close()

    def headers(self) -> list[str]:
        """Header row (after any title rows)."""
        for headers, _data in self._rows():
            return headers
        return []

    def count_rows(self) -> int:
        """Count non-empty data rows."""
        for _headers, data in self._rows():
            return sum(1 for row in data if any(v not in (None, "") for v in row))
        return 0

    def batches(self, batch_size: int = DEFAULT_BATCH_SIZE) -> Iterator[Batch]:
        """Rows as text in batches; fully empty rows are skipped (they carry no record)."""
        for headers, data in self._rows():
            width = len(headers)
            buffer: list[list[str | None]] = []
            offset = batch_no = 0
            for row in data:
                if not any(v not in (None, "") for v in row):
                    continue
                cells = [_cell_text(v) for v in row[:width]]
                buffer.append(cells + [None] * (width - len(cells)))
                if len(buffer) == batch_size:
                    yield batch_no, offset, pd.DataFrame(buffer, columns=headers, dtype="object")
                    offset += len(buffer)
                    batch_no += 1
                    buffer = []
            if buffer:
                yield batch_no, offset, pd.DataFrame(buffer, columns=headers, dtype="object")


# ----------------------------------------------------------------------------------- Parquet
class ParquetSource(LegacySource):
    """A Parquet file read by record batches (never whole); non-text columns cast to text."""

    def __init__(self, path: Path) -> None:
        import pyarrow.parquet as pq

        self.path = path
        self.name = str(path)
        try:
            self._file = pq.ParquetFile(path)
        except Exception as exc:  # noqa: BLE001 - arrow raises several types for a bad file
            raise SourceError(f"{path}: not a readable Parquet file ({exc})") from exc

    def headers(self) -> list[str]:
        """Column names from the Parquet schema."""
        return list(self._file.schema_arrow.names)

    def count_rows(self) -> int:
        """Row count from the file metadata (no data read)."""
        return int(self._file.metadata.num_rows)

    @staticmethod
    def _to_frame(table: Any) -> pd.DataFrame:
        import pyarrow as pa
        import pyarrow.compute as pc

        columns = []
        for column in table.columns:
            if pa.types.is_string(column.type) or pa.types.is_large_string(column.type):
                columns.append(column)
            elif pa.types.is_floating(column.type):
                ints = pc.equal(pc.floor(column), column)
                as_int = pc.cast(pc.if_else(ints, column, None), pa.int64(), safe=False)
                columns.append(pc.if_else(ints, pc.cast(as_int, pa.string()), pc.cast(column, pa.string())))
            else:
                columns.append(pc.cast(column, pa.string()))
        frame = pa.table(columns, names=table.column_names).to_pandas()
        return frame.astype("object").where(frame.notna(), None)

    def batches(self, batch_size: int = DEFAULT_BATCH_SIZE) -> Iterator[Batch]:
        """Re-chunk arrow record batches into frames of exactly ``batch_size`` rows."""
        import pyarrow as pa

        pending: list[Any] = []
        pending_rows = offset = batch_no = 0
        for record_batch in self._file.iter_batches(batch_size=batch_size):
            pending.append(record_batch)
            pending_rows += record_batch.num_rows
            while pending_rows >= batch_size:
                table = pa.Table.from_batches(pending)
                yield batch_no, offset, self._to_frame(table.slice(0, batch_size))
                rest = table.slice(batch_size)
                pending, pending_rows = rest.to_batches(), rest.num_rows
                offset += batch_size
                batch_no += 1
        if pending_rows:
            yield batch_no, offset, self._to_frame(pa.Table.from_batches(pending))

    def read_batch(self, spec: BatchSpec, batch_size: int) -> pd.DataFrame:
        """Read only the row groups that overlap the batch, then slice."""
        import pyarrow as pa

        metadata = self._file.metadata
        start, stop = spec.row_offset, spec.row_offset + spec.rows
        groups, first_row, position = [], None, 0
        for index in range(metadata.num_row_groups):
            size = metadata.row_group(index).num_rows
            if position + size > start and position < stop:
                groups.append(index)
                first_row = position if first_row is None else first_row
            position += size
        if not groups:
            return pd.DataFrame(columns=self.headers(), dtype="object")
        table = self._file.read_row_groups(groups)
        return self._to_frame(pa.Table.slice(table, start - first_row, spec.rows))


# ---------------------------------------------------------------------------------- Database
class DatabaseSource(LegacySource):
    """A table in any SQLAlchemy database, read in primary-key ranges on a server-side cursor."""

    def __init__(self, url: str, table: str, key: str | None = None) -> None:
        import sqlalchemy as sa

        from connectors.sql import make_engine

        self.url = url
        self.engine = make_engine(url)
        safe_url = self.engine.url.render_as_string(hide_password=True)
        self.name = f"{safe_url} table {table}"
        try:
            self.table = sa.Table(table, sa.MetaData(), autoload_with=self.engine)
        except sa.exc.NoSuchTableError as exc:
            raise SourceError(f"{safe_url}: table {table!r} not found") from exc
        except sa.exc.OperationalError as exc:
            raise SourceError(f"{safe_url}: cannot connect ({exc.orig})") from exc
        primary = [c.name for c in self.table.primary_key.columns]
        if key is None and len(primary) != 1:
            raise SourceError(f"{self.name}: needs a single-column primary key to read in key ranges; "
                              f"found {primary or 'none'} (pass key=...)")
        self.key = key or primary[0]
        if self.key not in self.table.c:
            raise SourceError(f"{self.name}: key column {self.key!r} does not exist")

    def headers(self) -> list[str]:
        """Column names of the table."""
        return [c.name for c in self.table.columns]

    def count_rows(self) -> int:
        """``SELECT count(*)``."""
        import sqlalchemy as sa

        with self.engine.connect() as conn:
            return int(conn.execute(sa.select(sa.func.count()).select_from(self.table)).scalar_one())

    def plan(self, batch_size: int = DEFAULT_BATCH_SIZE) -> list[BatchSpec]:
        """Key boundaries every ``batch_size`` rows, streamed from the key column only."""
        import sqlalchemy as sa

        key = self.table.c[self.key]
        specs: list[BatchSpec] = []
        low, count, offset = None, 0, 0
        last = None
        with self.engine.connect() as conn:
            result = conn.execution_options(stream_results=True, yield_per=batch_size).execute(
                sa.select(key).order_by(key))
            for (value,) in result:
                count += 1
                last = value
                if count == batch_size:
                    specs.append(BatchSpec(len(specs), offset, count, low, value))
                    low, offset, count = value, offset + count, 0
        if count:
            specs.append(BatchSpec(len(specs), offset, count, low, last))
        return specs

    def read_batch(self, spec: BatchSpec, batch_size: int) -> pd.DataFrame:
        """Rows with ``low < key <= high`` in key order."""
        import sqlalchemy as sa

        key = self.table.c[self.key]
        query = sa.select(self.table).order_by(key)
        if spec.low is not None:
            query = query.where(key > spec.low)
        if spec.high is not None:
            query = query.where(key <= spec.high)
        with self.engine.connect() as conn:
            result = conn.execution_options(stream_results=True, yield_per=batch_size).execute(query)
            rows = [tuple(row) for row in result]
        frame = pd.DataFrame(rows, columns=self.headers(), dtype="object")
        return frame.map(_cell_text) if len(frame) else frame

    def batches(self, batch_size: int = DEFAULT_BATCH_SIZE) -> Iterator[Batch]:
        """Keyset pagination: each batch continues after the last key of the previous one."""
        import sqlalchemy as sa

        key = self.table.c[self.key]
        low, offset, batch_no = None, 0, 0
        while True:
            query = sa.select(self.table).order_by(key).limit(batch_size)
            if low is not None:
                query = query.where(key > low)
            with self.engine.connect() as conn:
                result = conn.execution_options(stream_results=True, yield_per=10_000).execute(query)
                rows = [tuple(row) for row in result]
            if not rows:
                return
            frame = pd.DataFrame(rows, columns=self.headers(), dtype="object").map(_cell_text)
            low = rows[-1][self.headers().index(self.key)]
            yield batch_no, offset, frame
            offset += len(rows)
            batch_no += 1


# ------------------------------------------------------------------------------------ factory
def is_database_url(location: str) -> bool:
    """True when ``location`` is a database URL rather than a file path."""
    return "://" in location and location.split("://", 1)[0].split("+")[0] in _DB_PREFIXES


def open_source(location: str, *, table: str | None = None, sheet: str | None = None,
                encoding: str | None = None, key: str | None = None) -> LegacySource:
    """Open a CSV/XLSX/Parquet file or a database table; the format comes from the suffix/URL."""
    if is_database_url(location):
        if not table:
            raise SourceError(f"{location.split('://')[0]} source needs --table")
        return DatabaseSource(location, table, key=key)
    path = Path(location)
    if not path.is_file():
        raise SourceError(f"{path}: file not found")
    suffix = path.suffix.lower()
    if suffix in {".csv", ".txt", ".tsv"}:
        return CsvSource(path, encoding=encoding, delimiter="\t" if suffix == ".tsv" else ",")
    if suffix in {".xlsx", ".xlsm"}:
        return ExcelSource(path, sheet=sheet)
    if suffix in {".parquet", ".pq"}:
        return ParquetSource(path)
    raise SourceError(f"{path}: unsupported file type {suffix!r} (use .csv, .xlsx or .parquet)")

