"""Legacy record sources for the migration: CSV, Excel, Parquet and any SQL database.

Every source reads values as TEXT (leading zeros and odd date spellings survive for the cleaning
step) and yields ``(batch_no, row_offset, DataFrame)`` with ``row_offset`` the 0-based data-row index
of the batch's first row. Nothing is read whole: CSV by Arrow's streaming reader (pandas chunks
for other encodings and for files Arrow rejects), Excel through openpyxl's read-only mode
(:mod:`connectors.xlsx_source`), Parquet by record batches, databases by primary-key ranges on a
server-side cursor. Every source also has a second, minimal reader (:meth:`LegacySource.cell_counts`,
:mod:`connectors.source_census`) that counts what the file holds independently, and every file is
held to :class:`connectors.source_limits.SourceLimits`. Unreadable input raises
:class:`SourceError` naming the file, row and column when known.
"""

from __future__ import annotations

import codecs
import struct
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pandas as pd

from connectors.legacy_base import DEFAULT_BATCH_SIZE, Batch, BatchSpec, LegacySource, SourceError
from connectors.source_census import Census, census_csv, census_parquet, census_table
from connectors.source_limits import SourceLimits
from connectors.xlsx_source import ExcelSource, cell_text, detect_header_row

SAMPLE_BYTES = 256 * 1024
_DB_PREFIXES = ("postgresql", "postgres", "mysql", "mariadb", "sqlite")
# charset-normalizer names → the codec we decode with (GB18030 is a superset of GBK/GB2312).
_ENCODING_ALIASES = {"gbk": "gb18030", "gb2312": "gb18030", "hz": "gb18030", "ascii": "utf-8", "utf_8": "utf-8"}
_ARROW_ENCODINGS = {"utf-8", "utf8", "utf-8-sig"}

__all__ = ["DEFAULT_BATCH_SIZE", "Batch", "BatchSpec", "CsvSource", "DatabaseSource", "ExcelSource", "LegacySource",
           "ParquetSource", "SourceError", "detect_encoding", "detect_header_row", "is_database_url", "open_source"]


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


class CsvSource(LegacySource):
    """A delimited text file; encoding detected on a sample unless given explicitly."""

    def __init__(self, path: Path, encoding: str | None = None, delimiter: str = ",",
                 limits: SourceLimits | None = None) -> None:
        self.path = path
        self.limits = limits or SourceLimits.from_env()
        self.name = str(path)
        self.encoding = encoding or detect_encoding(path)
        try:
            codecs.lookup(self.encoding)
        except LookupError as exc:
            raise SourceError(f"{path}: unknown encoding {self.encoding!r}") from exc
        self.delimiter = delimiter
        self._arrow_done = False  # set by _arrow_frames: Arrow read the whole file
        self._census: Census | None = None  # the second reader's pass made by plan()

    def _reader(self, source: Any = None, **kwargs: Any) -> Any:
        return pd.read_csv(self.path if source is None else source, dtype=str, keep_default_na=False, na_filter=False,
                           encoding=self.encoding, sep=self.delimiter, engine="c", **kwargs)

    def _guard(self, call: Any) -> Any:
        try:
            return call()
        except UnicodeDecodeError as exc:
            self.cell_counts()  # the second reader names the line, data row and column
            raise SourceError(f"{self.path}: not valid {self.encoding}; pass --encoding to override") from exc
        except pd.errors.ParserError as exc:
            raise SourceError(f"{self.path}: {exc}") from exc
        except pd.errors.EmptyDataError as exc:
            raise SourceError(f"{self.path}: the file is empty (no header row)") from exc

    def cell_counts(self) -> tuple[int, list[int]]:
        """(data rows, non-empty cells per column) counted by Python's csv module; checks every bound.
        After :meth:`plan`, the counts of the plan's pass (the same reader) are reused."""
        census = self._census or census_csv(self.path, self.encoding, self.delimiter, self.limits)
        return census.rows, list(census.cells)

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

    def plan(self, batch_size: int = DEFAULT_BATCH_SIZE) -> list[BatchSpec]:
        """Batch descriptors with each batch's byte offset, from one pass of the second reader
        (:func:`connectors.source_census.census_csv`, which also checks every bound; its counts
        serve :meth:`cell_counts` afterwards), so :meth:`read_batch` seeks to its batch instead of
        parsing every row before it."""
        if not _seekable(self.encoding):
            return super().plan(batch_size)
        census = self._census = census_csv(self.path, self.encoding, self.delimiter, self.limits, every=batch_size)
        return [BatchSpec(n, start, min(batch_size, census.rows - start), byte_offset=census.offsets[n])
                for n, start in enumerate(range(0, census.rows, batch_size))]

    def read_batch(self, spec: BatchSpec, batch_size: int) -> pd.DataFrame:
        """Parse only the rows of one batch: from its planned byte offset when it has one, else by
        skipping the earlier rows with the C parser. Anything unexpected from the offset (a parse
        or decoding error, a row count other than planned) is read again the second way, so errors
        name the file's own line numbers exactly as before."""
        if spec.byte_offset is not None and _seekable(self.encoding):
            frame = self._read_from(spec)
            if frame is not None and len(frame) == spec.rows:
                return frame
        frame = self._guard(lambda: self._reader(skiprows=range(1, spec.row_offset + 1), nrows=spec.rows))
        return frame.reset_index(drop=True)

    def _read_from(self, spec: BatchSpec) -> pd.DataFrame | None:
        """``spec.rows`` rows parsed from ``spec.byte_offset`` with the header's column names; None if
        the parser rejects what it finds there."""
        names = self.headers()
        codec = "utf-8" if self.encoding == "utf-8-sig" else self.encoding  # no BOM mid-file
        try:
            with self.path.open("rb") as handle:
                handle.seek(max(int(spec.byte_offset or 0) - 1, 0))
                if spec.byte_offset and handle.read(1) != b"\n":
                    return None  # not a line's start: the file is not the one planned
                frame = pd.read_csv(handle, header=None, names=names, index_col=False, nrows=spec.rows, dtype=str,
                                    keep_default_na=False, na_filter=False, encoding=codec, sep=self.delimiter,
                                    engine="c")
        except (UnicodeDecodeError, pd.errors.ParserError, pd.errors.EmptyDataError, ValueError):
            return None
        return frame.reset_index(drop=True)


def _seekable(encoding: str) -> bool:
    """Whether a file in ``encoding`` can be read from a line's first byte: newline, carriage return,
    quote and comma are the single ASCII bytes (UTF-8, GB18030/GBK, Big5, cp1252 — not UTF-16/32)."""
    probe = "\n\r\",;\t"
    try:
        return probe.encode("utf-8" if encoding == "utf-8-sig" else encoding) == probe.encode("ascii")
    except (LookupError, UnicodeError):
        return False


def _text_frame(table: Any) -> pd.DataFrame:
    """An all-text Arrow table as a frame with the same ``str`` columns pandas' CSV reader makes."""
    return table.to_pandas().reset_index(drop=True)


# ----------------------------------------------------------------------------------- Parquet
class ParquetSource(LegacySource):
    """A Parquet file read by record batches (never whole); non-text columns cast to text."""

    def __init__(self, path: Path, limits: SourceLimits | None = None) -> None:
        import pyarrow.parquet as pq

        self.path = path
        self.name = str(path)
        self.limits = limits or SourceLimits.from_env()
        _check_parquet_footer(path, self.limits)
        try:
            self._file = pq.ParquetFile(path)
        except Exception as exc:  # noqa: BLE001 - arrow raises several types for a bad file
            raise SourceError(f"{path}: not a readable Parquet file ({exc})") from exc
        metadata = self._file.metadata
        if metadata.num_columns > self.limits.max_columns:
            raise SourceError(f"{path}: {metadata.num_columns:,} columns, more than {self.limits.max_columns:,} "
                              f"({self.limits.setting('max_columns')})")
        for group in range(metadata.num_row_groups):
            size = metadata.row_group(group).total_byte_size
            if size > self.limits.parquet_max_row_group_bytes:
                raise SourceError(f"{path}: row group {group} expands to {size:,} bytes, more than "
                                  f"{self.limits.setting('parquet_max_row_group_bytes')}")

    def cell_counts(self) -> tuple[int, list[int]]:
        """(rows, non-null non-empty values per column) read column by column; checks value lengths."""
        try:
            census = census_parquet(self._file, self.limits)
        except SourceError as exc:
            raise SourceError(f"{self.path}: {exc}") from exc
        return census.rows, list(census.cells)

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

    def cell_counts(self) -> tuple[int, list[int]]:
        """(rows, non-null non-empty values per column) counted by the database itself."""
        census = census_table(self.engine, self.table)
        return census.rows, list(census.cells)

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
        return frame.map(cell_text) if len(frame) else frame

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
            frame = pd.DataFrame(rows, columns=self.headers(), dtype="object").map(cell_text)
            low = rows[-1][self.headers().index(self.key)]
            yield batch_no, offset, frame
            offset += len(rows)
            batch_no += 1


# ------------------------------------------------------------------------------------ factory
def is_database_url(location: str) -> bool:
    """True when ``location`` is a database URL rather than a file path."""
    return "://" in location and location.split("://", 1)[0].split("+")[0] in _DB_PREFIXES


def open_source(location: str, *, table: str | None = None, sheet: str | None = None,
                encoding: str | None = None, key: str | None = None, limits: SourceLimits | None = None,
                score: Callable[[list[str]], int] | None = None) -> LegacySource:
    """Open a CSV/XLSX/Parquet file or a database table; the format comes from the suffix/URL.

    ``score`` rates a workbook sheet's header row when no ``sheet`` is named (see
    :class:`connectors.xlsx_source.ExcelSource`); ``limits`` default to the environment's.
    """
    if is_database_url(location):
        if not table:
            raise SourceError(f"{location.split('://')[0]} source needs --table")
        return DatabaseSource(location, table, key=key)
    path = Path(location)
    if not path.is_file():
        raise SourceError(f"{path}: file not found")
    limits = limits or SourceLimits.from_env()
    suffix = path.suffix.lower()
    if suffix in {".csv", ".txt", ".tsv"}:
        return CsvSource(path, encoding=encoding, delimiter="\t" if suffix == ".tsv" else ",", limits=limits)
    if suffix in {".xlsx", ".xlsm"}:
        return ExcelSource(path, sheet=sheet, limits=limits, score=score)
    if suffix in {".parquet", ".pq"}:
        return ParquetSource(path, limits=limits)
    raise SourceError(f"{path}: unsupported file type {suffix!r} (use .csv, .xlsx or .parquet)")


def _check_parquet_footer(path: Path, limits: SourceLimits) -> None:
    """Refuse a Parquet file whose footer (its metadata) is larger than the bound, before parsing it."""
    size = path.stat().st_size
    if size < 12:
        raise SourceError(f"{path}: not a readable Parquet file (only {size} bytes)")
    with path.open("rb") as handle:
        handle.seek(size - 8)
        length, magic = struct.unpack("<I4s", handle.read(8))
    if magic != b"PAR1":
        raise SourceError(f"{path}: not a readable Parquet file (no PAR1 footer)")
    if length > limits.parquet_max_footer_bytes or length > size - 12:
        raise SourceError(f"{path}: the Parquet footer claims {length:,} bytes of metadata, more than "
                          f"{'the file holds' if length > size - 12 else limits.setting('parquet_max_footer_bytes')}")
