"""Hash-partitioned spill files: keep per-row state on disk so memory stays flat with row count.

Rows are routed to one of ``partitions`` Arrow IPC files by the top bits of a 64-bit hash
column; a later step reads one partition at a time (about rows / partitions rows), which is how
an external ("grace") hash join bounds its memory. Used by reconciliation, whose expected and
target sides would otherwise each hold 24+ bytes per row of the whole migration.
"""

from __future__ import annotations

import shutil
import tempfile
import weakref
from pathlib import Path

import numpy as np
import pyarrow as pa

DEFAULT_PARTITIONS = 64


class PartitionSpill:
    """Append Arrow tables routed by ``hash_column``; read back one partition at a time.

    ``partitions`` must be a power of two (routing takes the hash's top bits). Files live in a
    directory of their own under ``parent`` (the system temporary directory by default) and are
    removed by :meth:`close` or when the object is garbage-collected.
    """

    def __init__(self, schema: pa.Schema, hash_column: str, partitions: int = DEFAULT_PARTITIONS,
                 parent: str | Path | None = None, prefix: str = "spill") -> None:
        if partitions < 1 or partitions & (partitions - 1):
            raise ValueError(f"partitions must be a power of two, not {partitions}")
        self.schema = schema
        self.hash_column = hash_column
        self.partitions = partitions
        self.rows = 0
        if parent is not None:
            Path(parent).mkdir(parents=True, exist_ok=True)
        self.directory = Path(tempfile.mkdtemp(prefix=f"hrbridge-{prefix}-", dir=parent))
        self._shift = np.uint64(64 - (partitions.bit_length() - 1))
        self._writers: dict[int, pa.ipc.RecordBatchStreamWriter] = {}
        self._sinks: dict[int, pa.NativeFile] = {}
        self._cleanup = weakref.finalize(self, shutil.rmtree, str(self.directory), True)

    def _path(self, part: int) -> Path:
        return self.directory / f"part-{part:04d}.arrow"

    def write(self, table: pa.Table) -> None:
        """Route every row of ``table`` (with this spill's schema) to its partition file."""
        if not table.num_rows:
            return
        table = table.select(self.schema.names).cast(self.schema)
        hashes = table.column(self.hash_column).to_numpy()
        part = (hashes >> self._shift).astype(np.int64) if self.partitions > 1 else np.zeros(len(hashes), np.int64)
        order = np.argsort(part, kind="stable")
        routed = table.take(pa.array(order))
        bounds = np.searchsorted(part[order], np.arange(self.partitions + 1))
        for index in np.flatnonzero(np.diff(bounds)):
            start, stop = int(bounds[index]), int(bounds[index + 1])
            self._writer(int(index)).write_table(routed.slice(start, stop - start))
        self.rows += table.num_rows

    def _writer(self, part: int) -> pa.ipc.RecordBatchStreamWriter:
        if part not in self._writers:
            sink = pa.OSFile(str(self._path(part)), "ab")
            self._sinks[part] = sink
            self._writers[part] = pa.ipc.new_stream(sink, self.schema)
        return self._writers[part]

    def finish(self) -> None:
        """Close the open files (call before reading; writing again afterwards starts new streams)."""
        for part, writer in list(self._writers.items()):
            writer.close()
            self._sinks.pop(part).close()
        self._writers.clear()

    def read(self, part: int) -> pa.Table:
        """All rows routed to partition ``part`` (an empty table when none were)."""
        self.finish()
        path = self._path(part)
        if not path.exists():
            return self.schema.empty_table()
        tables = []
        with pa.OSFile(str(path), "rb") as source:
            while source.tell() < source.size():  # one stream per write session, appended
                tables.append(pa.ipc.open_stream(source).read_all())
        return pa.concat_tables(tables) if len(tables) > 1 else tables[0]

    def close(self) -> None:
        """Delete the spill files."""
        self.finish()
        self._cleanup()
