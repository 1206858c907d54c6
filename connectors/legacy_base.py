"""The base of every legacy source: the batch contract, batch descriptors and the source error.

Every source reads values as TEXT (leading zeros and odd date spellings survive for the cleaning
step) and yields ``(batch_no, row_offset, DataFrame)`` with ``row_offset`` the 0-based data-row
index of the batch's first row. Unreadable input raises :class:`SourceError` naming the file,
row and column when known.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pandas as pd

from connectors.errors import ConnectorError

DEFAULT_BATCH_SIZE = 50_000
Batch = tuple[int, int, pd.DataFrame]


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
    byte_offset: int | None = None  # CSV sources: where the batch's first data row starts in the file

    def as_dict(self) -> dict[str, Any]:
        """Plain dict for XCom / JSON."""
        return {"batch_no": self.batch_no, "row_offset": self.row_offset, "rows": self.rows,
                "low": self.low, "high": self.high, "byte_offset": self.byte_offset}


class LegacySource:
    """Base of every source: headers, row count, a batch plan and batch iteration."""

    name: str = ""

    def headers(self) -> list[str]:
        """Column names of the source, in source order."""
        raise NotImplementedError

    def cell_counts(self) -> tuple[int, list[int]]:
        """(data rows, non-empty cells per column by position) as a second, minimal reader counts
        them, independently of :meth:`batches` (see :mod:`connectors.source_census`)."""
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
