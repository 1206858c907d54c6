"""Bounds on what a legacy file may make the migration do: sizes, widths, ratios.

A legacy export is outside input. A 1 MB ``.xlsx`` can expand to a 1 GB sheet, a CSV can hold
one 5 MB "field", a Parquet footer can claim millions of columns. Every reader checks these
bounds before it parses (zip entry sizes and ratios, Parquet footer and row-group sizes) or
while it streams (cell length, column count), and stops with a :class:`SourceError` that names
the file, row and column and the setting to change. Each bound is read from the environment
(``HRBRIDGE_SOURCE_*``) so an operator can widen it for a file they trust.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, fields
from typing import ClassVar

MiB = 1 << 20


@dataclass(frozen=True)
class SourceLimits:
    """Bounds on a legacy source; the defaults fit any roster Excel itself can hold."""

    max_cell_chars: int = 32_767  # Excel's own limit for one cell
    max_columns: int = 1_024
    xlsx_max_bytes: int = 1_024 * MiB  # all parts of a workbook, uncompressed
    xlsx_max_ratio: int = 100  # uncompressed / compressed, for parts over 1 MiB
    xlsx_max_entries: int = 10_000
    parquet_max_footer_bytes: int = 64 * MiB
    parquet_max_row_group_bytes: int = 1_024 * MiB

    ENV: ClassVar[dict[str, str]] = {"max_cell_chars": "HRBRIDGE_SOURCE_MAX_CELL_CHARS", "max_columns": "HRBRIDGE_SOURCE_MAX_COLUMNS",
           "xlsx_max_bytes": "HRBRIDGE_SOURCE_XLSX_MAX_BYTES", "xlsx_max_ratio": "HRBRIDGE_SOURCE_XLSX_MAX_RATIO",
           "xlsx_max_entries": "HRBRIDGE_SOURCE_XLSX_MAX_ENTRIES",
           "parquet_max_footer_bytes": "HRBRIDGE_SOURCE_PARQUET_MAX_FOOTER_BYTES",
           "parquet_max_row_group_bytes": "HRBRIDGE_SOURCE_PARQUET_MAX_ROW_GROUP_BYTES"}

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> SourceLimits:
        """The defaults, overridden by any ``HRBRIDGE_SOURCE_*`` variable that is set."""
        env = os.environ if env is None else env
        values = {}
        for item in fields(cls):
            name = cls.ENV[item.name]
            text = env.get(name)
            if text:
                try:
                    value = int(text.replace("_", ""))
                except ValueError as exc:
                    raise ValueError(f"{name}={text!r} is not a whole number") from exc
                if value < 1:
                    raise ValueError(f"{name} must be at least 1, not {value}")
                values[item.name] = value
        return cls(**values)

    def setting(self, name: str) -> str:
        """``ENV_NAME=value`` of a bound, for error messages that say what to change."""
        return f"{self.ENV[name]}={getattr(self, name)}"
