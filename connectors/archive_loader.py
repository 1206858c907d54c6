"""Load cleaned legacy records into the employee archive, one atomic transaction per batch.

Each batch commits, in ONE transaction on the target database: the deletion of records its rows
displace (a later duplicate that survives), the upserted records, the
quarantine lines, the repair log, the merge log and the batch checkpoint (with its counts and the
batch's verification state). A kill at any moment leaves each batch either fully counted or not at
all, and a rerun with the same run id skips every batch whose checkpoint is committed.

Postgres: ``COPY`` (psycopg 3) straight into the table inside a savepoint; when some of the
batch's keys exist already (unique violation), back to the savepoint, ``COPY`` into a temporary
staging table and one ``INSERT … SELECT … ON CONFLICT (key) DO UPDATE``. Logs are ``COPY``-ed.
SQLite: ``executemany`` of an ``INSERT … ON CONFLICT`` statement. Checkpoints and logs live in the
target database (not the hub) precisely so that they share the batch's transaction.
"""

from __future__ import annotations

import datetime as dt
import io
import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import pandas as pd
import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from connectors.errors import ConnectorError
from connectors.sql import make_engine

DEFAULT_TABLE = "employees"
DEFAULT_KEY = "employee_id"
_IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,62}$")
SQL_TYPES: dict[str, Any] = {"date": sa.Date, "datetime": sa.DateTime, "timestamp": sa.DateTime,
                             "number": sa.Float}
LOG_COLUMNS = {
    "migration_quarantine": ["source_row", "column_name", "value", "rule", "reason"],
    "migration_repairs": ["source_row", "column_name", "original", "new", "rule"],
    "migration_merges": ["survivor_row", "merged_row", "rule", "survivorship"],
}


class LoaderError(ConnectorError):
    """The target cannot take the batch (unsupported database, bad table name, schema clash)."""


def sql_type(kind: str) -> Any:
    """SQL column type for a canonical type name (text-like types are TEXT)."""
    return SQL_TYPES.get(kind, sa.Text)


def _check_identifier(name: str) -> str:
    if not _IDENTIFIER.match(name):
        raise LoaderError(f"invalid table or column name {name!r} (letters, digits and _ only)")
    return name


def build_metadata(table: str, columns: Mapping[str, str], key: str = DEFAULT_KEY) -> sa.MetaData:
    """Declare the target table (canonical columns, primary key ``key``) and the migration tables."""
    metadata = sa.MetaData()
    sa.Table(_check_identifier(table), metadata,
             *[sa.Column(_check_identifier(name), sql_type(kind), primary_key=name == key, nullable=name != key)
               for name, kind in columns.items()])
    sa.Table("migration_checkpoints", metadata,
             sa.Column("run_id", sa.String(100), primary_key=True),
             sa.Column("batch_no", sa.Integer, primary_key=True),
             sa.Column("row_offset", sa.BigInteger, nullable=False),
             sa.Column("rows_read", sa.Integer, nullable=False),
             sa.Column("loaded", sa.Integer, nullable=False),
             sa.Column("quarantined_rows", sa.Integer, nullable=False),
             sa.Column("duplicates_merged", sa.Integer, nullable=False),
             sa.Column("repaired_values", sa.Integer, nullable=False),
             sa.Column("source", sa.Text),
             sa.Column("state", sa.LargeBinary),
             sa.Column("committed_at", sa.DateTime(timezone=True), nullable=False))
    for name, cols in LOG_COLUMNS.items():
        sa.Table(name, metadata,
                 sa.Column("run_id", sa.String(100), nullable=False, index=True),
                 sa.Column("batch_no", sa.Integer, nullable=False),
                 *[sa.Column(c, sa.BigInteger if c.endswith("_row") else sa.Text) for c in cols])
    return metadata


@dataclass
class BatchLoad:
    """Everything one batch commits together."""

    run_id: str
    batch_no: int
    row_offset: int
    rows_read: int
    frame: pd.DataFrame
    quarantine: pd.DataFrame
    repairs: pd.DataFrame
    merges: pd.DataFrame
    quarantined_rows: int
    duplicates_merged: int
    source: str = ""
    state: bytes = b""
    extra: dict[str, Any] = field(default_factory=dict)
    displaced_keys: Sequence[str] = ()  # keys of loaded records a row of this batch displaces (deleted first)


class ArchiveLoader:
    """Writes batches into ``table`` of the archive database at ``url`` (SQLite or Postgres).

    With ``writable`` (migrate) the tables are created when missing and the target must accept
    writes, checked before any row is read; without it (verify) nothing is created or written,
    and a target without the tables is an error. Either way a target that cannot be reached, a
    SQLite file in a missing directory or a read-only target is a :class:`LoaderError` naming it.
    """

    def __init__(self, url: str, columns: Mapping[str, str], table: str = DEFAULT_TABLE,
                 key: str = DEFAULT_KEY, engine: Engine | None = None, writable: bool = True) -> None:
        self.engine = engine or _open_engine(url, writable)
        self.safe_url = self.engine.url.render_as_string(hide_password=True)
        if self.engine.dialect.name not in {"postgresql", "sqlite"}:
            raise LoaderError(f"archive target must be PostgreSQL or SQLite, not {self.engine.dialect.name}")
        if key not in columns:
            raise LoaderError(f"primary key column {key!r} is not among the target columns")
        self.columns = dict(columns)
        self.table_name = table
        self.key = key
        self.metadata = build_metadata(table, columns, key)
        self.table = self.metadata.tables[table]
        self.checkpoints = self.metadata.tables["migration_checkpoints"]
        try:
            existing_tables = set(sa.inspect(self.engine).get_table_names())
            if writable:
                self.metadata.create_all(self.engine)
                self._probe_writes()
            else:
                absent = [name for name in (table, *LOG_COLUMNS, "migration_checkpoints") if name not in existing_tables]
                if absent:
                    raise LoaderError(f"{self.safe_url}: no table {absent[0]!r}: nothing was migrated to this "
                                      "target (verify reads only; it never creates tables)")
            existing = {c["name"] for c in sa.inspect(self.engine).get_columns(table)}
        except sa.exc.DBAPIError as exc:
            raise LoaderError(_describe(self.safe_url, exc)) from exc
        missing = [c for c in columns if c not in existing]
        if missing:
            raise LoaderError(f"target table {table!r} exists without columns {missing}")

    def _probe_writes(self) -> None:
        """Insert nothing into the checkpoint table, in a transaction that is rolled back: a
        read-only database or a login without INSERT fails here, before any row is read."""
        table = self.checkpoints
        names = [c.name for c in table.columns]
        empty = sa.select(*[sa.cast(sa.null(), c.type).label(c.name) for c in table.columns]).where(sa.false())
        with self.engine.connect() as conn, conn.begin() as transaction:
            conn.execute(table.insert().from_select(names, empty))
            transaction.rollback()

    # ------------------------------------------------------------------ checkpoints
    def committed(self, run_id: str) -> dict[int, dict[str, Any]]:
        """Committed checkpoints of ``run_id`` by batch number (counts only, no state blob)."""
        cols = [c for c in self.checkpoints.c if c.name != "state"]
        with self.engine.connect() as conn:
            rows = conn.execute(sa.select(*cols).where(self.checkpoints.c.run_id == run_id)).mappings()
            return {row["batch_no"]: dict(row) for row in rows}

    def states(self, run_id: str) -> Iterator[tuple[int, bytes]]:
        """The verification/dedupe state blobs of ``run_id``'s committed batches, in batch order,
        fetched one at a time (together they are about 100 bytes a source row)."""
        table = self.checkpoints
        with self.engine.connect() as conn:
            numbers = conn.execute(sa.select(table.c.batch_no).where(table.c.run_id == run_id)
                                   .order_by(table.c.batch_no)).scalars().all()
            for number in numbers:
                blob = conn.execute(sa.select(table.c.state).where(
                    table.c.run_id == run_id, table.c.batch_no == number)).scalar_one()
                yield number, bytes(blob or b"")

    def log_frame(self, name: str, run_id: str) -> pd.DataFrame:
        """A run's quarantine / repair / merge log as a frame (for reports)."""
        table = self.metadata.tables[name]
        with self.engine.connect() as conn:
            return pd.read_sql(sa.select(table).where(table.c.run_id == run_id), conn)

    # ------------------------------------------------------------------ loading
    def load_batch(self, batch: BatchLoad) -> bool:
        """Commit the batch and its checkpoint atomically; False when it was already committed."""
        try:
            with self.engine.begin() as conn:
                done = conn.execute(sa.select(self.checkpoints.c.batch_no).where(
                    self.checkpoints.c.run_id == batch.run_id,
                    self.checkpoints.c.batch_no == batch.batch_no)).first()
                if done:
                    return False
                for start in range(0, len(batch.displaced_keys), 10_000):
                    part = list(batch.displaced_keys[start:start + 10_000])
                    conn.execute(self.table.delete().where(self.table.c[self.key].in_(part)))
                if self.engine.dialect.name == "postgresql":
                    self._load_postgres(conn, batch)
                else:
                    self._load_sqlite(conn, batch)
                conn.execute(self.checkpoints.insert().values(
                    run_id=batch.run_id, batch_no=batch.batch_no, row_offset=batch.row_offset,
                    rows_read=batch.rows_read, loaded=len(batch.frame) - len(batch.displaced_keys),
                    quarantined_rows=batch.quarantined_rows, duplicates_merged=batch.duplicates_merged,
                    repaired_values=len(batch.repairs), source=batch.source, state=batch.state,
                    committed_at=dt.datetime.now(dt.UTC)))
        except sa.exc.IntegrityError:
            if self.committed(batch.run_id).get(batch.batch_no):
                return False  # a concurrent attempt committed the same batch first
            raise
        return True

    def _target_values(self, frame: pd.DataFrame) -> pd.DataFrame:
        """The frame restricted to target columns, dates as ISO text, nulls as None."""
        out = {}
        for name, kind in self.columns.items():
            column = frame[name] if name in frame else pd.Series([None] * len(frame), index=frame.index)
            if kind == "date":
                parsed = pd.to_datetime(column, errors="coerce")
                column = parsed.dt.strftime("%Y-%m-%d")
            elif kind in {"datetime", "timestamp"}:
                parsed = pd.to_datetime(column, errors="coerce")
                column = parsed.dt.strftime("%Y-%m-%d %H:%M:%S")
            elif kind == "number":
                column = pd.to_numeric(column, errors="coerce")
            out[name] = column.astype(object).where(column.notna(), None)
        return pd.DataFrame(out, index=frame.index)

    def _arrow_table(self, frame: pd.DataFrame) -> Any:
        """The frame as an Arrow table with the target's types (for a fast CSV ``COPY``)."""
        import pyarrow as pa

        arrays = []
        for name, kind in self.columns.items():
            column = frame[name] if name in frame else pd.Series([None] * len(frame), dtype=object)
            if kind in {"date", "datetime", "timestamp"}:
                values = pa.array(pd.to_datetime(column, errors="coerce"), from_pandas=True)
                arrays.append(values.cast(pa.date32()) if kind == "date" else values)
            elif kind == "number":
                arrays.append(pa.array(pd.to_numeric(column, errors="coerce"), type=pa.float64(), from_pandas=True))
            else:
                values = pa.array(column, from_pandas=True)
                if not pa.types.is_string(values.type) and not pa.types.is_large_string(values.type):
                    values = pa.array(column.astype("str"), from_pandas=True)
                arrays.append(values)
        return pa.table(arrays, names=list(self.columns))

    @staticmethod
    def _log_values(batch: BatchLoad, name: str, frame: pd.DataFrame) -> pd.DataFrame:
        source_names = {"source_row": "row", "column_name": "column"}
        out = {"run_id": batch.run_id, "batch_no": batch.batch_no}
        for col in LOG_COLUMNS[name]:
            values = frame[source_names.get(col, col)] if len(frame) else pd.Series([], dtype=object)
            if col.endswith("_row"):
                out[col] = values.astype("int64")
            else:  # NUL cannot be stored as text (Postgres refuses it): written as the four characters \x00
                out[col] = values.astype(object).where(values.notna(), None).map(
                    lambda v: v if v is None else (v if isinstance(v, str) else str(v)).replace("\x00", "\\x00"))
        return pd.DataFrame(out)

    def _logs(self, batch: BatchLoad) -> list[tuple[str, pd.DataFrame]]:
        pairs = [("migration_quarantine", batch.quarantine), ("migration_repairs", batch.repairs),
                 ("migration_merges", batch.merges)]
        return [(name, self._log_values(batch, name, frame)) for name, frame in pairs if len(frame)]

    def _load_postgres(self, conn: Connection, batch: BatchLoad) -> None:
        quote = conn.dialect.identifier_preparer.quote
        names = list(self.columns)
        cols = ", ".join(quote(c) for c in names)
        table, stage = quote(self.table_name), quote(f"stage_{self.table_name}")
        updates = ", ".join(f"{quote(c)} = EXCLUDED.{quote(c)}" for c in names if c != self.key)
        cursor = conn.connection.driver_connection.cursor()
        try:
            # Durability is per batch: a server crash may lose the latest commits, but each batch's
            # checkpoint is lost with it (same WAL), so a rerun reloads exactly those batches.
            cursor.execute("SET LOCAL synchronous_commit = off")
            if len(batch.frame):
                import psycopg

                data = self._arrow_table(batch.frame)
                cursor.execute("SAVEPOINT hrbridge_copy")
                try:  # the common case, new keys only: COPY straight into the table
                    _copy_arrow(cursor, table, names, data, quote)
                    cursor.execute("RELEASE SAVEPOINT hrbridge_copy")
                except psycopg.errors.UniqueViolation:  # some keys exist already: stage, then upsert
                    cursor.execute("ROLLBACK TO SAVEPOINT hrbridge_copy")
                    cursor.execute(f"CREATE TEMP TABLE IF NOT EXISTS {stage} (LIKE {table}) ON COMMIT DELETE ROWS")
                    _copy_arrow(cursor, stage, names, data, quote)
                    cursor.execute(
                        f"INSERT INTO {table} ({cols}) SELECT {cols} FROM {stage} "  # noqa: S608
                        f"ON CONFLICT ({quote(self.key)}) DO UPDATE SET {updates}")
            for name, frame in self._logs(batch):
                _copy(cursor, quote(name), list(frame.columns), frame, quote)
        finally:
            cursor.close()

    def _load_sqlite(self, conn: Connection, batch: BatchLoad) -> None:
        names = list(self.columns)
        if len(batch.frame):
            values = self._target_values(batch.frame)
            quote = conn.dialect.identifier_preparer.quote
            cols = ", ".join(quote(c) for c in names)
            updates = ", ".join(f"{quote(c)} = excluded.{quote(c)}" for c in names if c != self.key)
            marks = ", ".join("?" for _ in names)
            # identifiers quoted by the dialect and checked against _IDENTIFIER; values are bound
            sql = (f"INSERT INTO {quote(self.table_name)} ({cols}) VALUES ({marks}) "  # noqa: S608
                   f"ON CONFLICT({quote(self.key)}) DO UPDATE SET {updates}")
            conn.exec_driver_sql(sql, _tuples(values))
        for name, frame in self._logs(batch):
            conn.execute(self.metadata.tables[name].insert(), frame.to_dict("records"))


def _open_engine(url: str, writable: bool) -> Engine:
    """An engine for ``url``; a SQLite file must have its directory (and, to read, itself)."""
    from pathlib import Path

    try:
        engine = make_engine(url)
    except (sa.exc.ArgumentError, ValueError) as exc:
        raise LoaderError(f"{url.split('://', 1)[0]} target: not a valid database URL ({exc})") from exc
    database = engine.url.database
    if engine.dialect.name == "sqlite" and database and database != ":memory:" and not database.startswith("file:"):
        path = Path(database)
        if not path.parent.is_dir():
            raise LoaderError(f"{engine.url}: directory {path.parent} does not exist")
        if not writable and not path.is_file():
            raise LoaderError(f"{engine.url}: no such database file (verify reads only; it never creates one)")
    return engine


def _describe(safe_url: str, exc: sa.exc.DBAPIError) -> str:
    """A one-line reason for a database error, without the SQL or the password."""
    reason = str(getattr(exc, "orig", exc)).strip().splitlines()[0] if str(getattr(exc, "orig", exc)).strip() else \
        type(exc).__name__
    lowered = reason.lower()
    if "read-only" in lowered or "readonly" in lowered or "permission denied" in lowered:
        return f"{safe_url}: the target is read-only for this login ({reason})"
    if isinstance(exc, sa.exc.OperationalError):
        return f"{safe_url}: cannot use the target ({reason})"
    return f"{safe_url}: the target refused the migration ({reason})"


def _tuples(frame: pd.DataFrame) -> list[tuple[Any, ...]]:
    return list(zip(*(frame[c].tolist() for c in frame.columns), strict=True))


def _copy_arrow(cursor: Any, table: str, columns: Sequence[str], data: Any, quote: Any) -> None:
    """``COPY table (columns) FROM STDIN`` with an Arrow table written as CSV (null = empty field)."""
    import pyarrow.csv as pacsv

    buffer = io.BytesIO()
    pacsv.write_csv(data, buffer, pacsv.WriteOptions(include_header=False))
    cols = ", ".join(quote(c) for c in columns)
    with cursor.copy(f"COPY {table} ({cols}) FROM STDIN (FORMAT csv)") as copy:
        copy.write(buffer.getbuffer())


def _copy(cursor: Any, table: str, columns: Sequence[str], frame: pd.DataFrame, quote: Any) -> None:
    """``COPY table (columns) FROM STDIN`` with the frame as CSV (empty field = NULL)."""
    buffer = io.StringIO()
    frame.to_csv(buffer, index=False, header=False, na_rep="")
    cols = ", ".join(quote(c) for c in columns)
    with cursor.copy(f"COPY {table} ({cols}) FROM STDIN (FORMAT csv)") as copy:
        copy.write(buffer.getvalue())
