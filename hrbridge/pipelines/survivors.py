"""Who survives across batches: the survivorship facts of every loaded record, kept on disk.

A migration batch can hold a duplicate of a record an earlier batch already loaded. Which of the
two survives follows the configured survivorship (most recent, then most complete, or the other
way round; ties go to the earlier source row), so the batch needs the earlier record's rank and
employee id. :class:`SurvivorStore` keeps them per batch in an Arrow file on disk (only the few
records a batch meets are read back, through a memory map), and remembers which loaded records
were displaced and by whom (a forwarding map, one entry per displaced record), so a later
duplicate of a displaced record meets its current survivor.
"""

from __future__ import annotations

import bisect
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa


def text_to_arrays(values: Any) -> tuple[np.ndarray, np.ndarray]:
    """Text as (int64 offsets, UTF-8 bytes): Arrow's own layout, storable in a checkpoint without
    pickle and converted without a Python loop."""
    array = pa.array(values, type=pa.large_string(), from_pandas=True)
    if isinstance(array, pa.ChunkedArray):  # an Arrow-backed pandas column (empty: no chunks at all)
        array = array.combine_chunks() if array.num_chunks else pa.array([], type=pa.large_string())
    array = array.fill_null("")
    array = pa.concat_arrays([array]) if array.offset else array  # offsets from zero
    offsets = np.frombuffer(array.buffers()[1], dtype=np.int64)[: len(array) + 1].copy()
    data = array.buffers()[2]
    raw = np.frombuffer(data, dtype=np.uint8)[: offsets[-1]].copy() if data is not None else np.zeros(0, np.uint8)
    return offsets, raw


def arrays_to_text(offsets: np.ndarray, data: np.ndarray) -> pa.Array:
    """Inverse of :func:`text_to_arrays`."""
    count = max(len(offsets) - 1, 0)
    if not count:
        return pa.array([], type=pa.large_string())
    return pa.LargeStringArray.from_buffers(count, pa.py_buffer(np.ascontiguousarray(offsets, dtype=np.int64)),
                                            pa.py_buffer(np.ascontiguousarray(data, dtype=np.uint8)))


SCHEMA = pa.schema([("source_row", pa.int64()), ("first", pa.float64()), ("second", pa.float64()),
                    ("key", pa.large_string())])


class SurvivorStore:
    """Rank and employee id of every loaded record (by source row), plus displaced → survivor.

    The rank is :func:`transforms.dedupe.survivor_rank`'s pair (lower survives).
    """

    def __init__(self, directory: Path | str) -> None:
        self.directory = Path(directory)
        self.directory.mkdir(parents=True, exist_ok=True)
        self._starts: list[int] = []  # first source row of each stored batch, ascending
        self._paths: list[Path] = []
        self._forward: dict[int, int] = {}

    def add(self, source_rows: np.ndarray, first: np.ndarray, second: np.ndarray, keys: Any) -> None:
        """Store one batch's loaded records (``source_rows`` ascending; ``keys`` their employee
        ids, any sequence Arrow takes as text)."""
        if not len(source_rows):
            return
        path = self.directory / f"batch-{int(source_rows[0]):012d}.arrow"
        table = pa.table({"source_row": np.asarray(source_rows, np.int64), "first": np.asarray(first, np.float64),
                          "second": np.asarray(second, np.float64),
                          "key": pa.array(keys, type=pa.large_string(), from_pandas=True)}, schema=SCHEMA)
        with pa.OSFile(str(path), "wb") as sink, pa.ipc.new_file(sink, SCHEMA) as writer:
            writer.write_table(table)
        at = bisect.bisect(self._starts, int(source_rows[0]))
        self._starts.insert(at, int(source_rows[0]))
        self._paths.insert(at, path)

    def attributes(self, rows: np.ndarray) -> dict[int, tuple[float, float, str]]:
        """(first rank, second rank, employee id) of the given loaded source rows."""
        rows = np.unique(np.asarray(rows, dtype=np.int64))
        batch = np.searchsorted(np.asarray(self._starts, dtype=np.int64), rows, side="right") - 1
        out: dict[int, tuple[float, float, str]] = {}
        for index in np.unique(batch[batch >= 0]):
            wanted = rows[batch == index]
            with pa.memory_map(str(self._paths[index])) as source:
                table = pa.ipc.open_file(source).read_all()
                stored = table.column("source_row").to_numpy()
                at = np.minimum(np.searchsorted(stored, wanted), len(stored) - 1)
                present = stored[at] == wanted
                picked = table.take(pa.array(at[present]))
                for row, first, second, key in zip(wanted[present].tolist(), *(
                        picked.column(c).to_pylist() for c in ("first", "second", "key")), strict=True):
                    out[row] = (first, second, key)
        missing = set(rows.tolist()) - set(out)
        if missing:
            raise KeyError(f"no survivorship facts for source rows {sorted(missing)[:5]}")
        return out

    def forward(self, displaced: np.ndarray, survivors: np.ndarray) -> None:
        """Record that each ``displaced`` loaded record now lives on as ``survivors``."""
        self._forward.update(zip(np.asarray(displaced).tolist(), np.asarray(survivors).tolist(), strict=True))

    def resolve(self, row: int, overlay: dict[int, int] | None = None) -> int:
        """The current survivor of ``row`` (itself unless displaced), following ``overlay`` too."""
        overlay = overlay or {}
        for _ in range(len(overlay) + len(self._forward) + 1):  # a chain visits each entry once at most
            step = overlay.get(row, self._forward.get(row))
            if step is None or step == row:
                return row
            row = step
        raise RuntimeError("forwarding cycle among displaced records")

    def displaced(self) -> int:
        """How many loaded records were displaced so far."""
        return len(self._forward)
