"""Check an ``.xlsx`` workbook before anything parses it, and find its parts.

An ``.xlsx`` is a zip of XML parts. A small file can declare parts that expand a thousand times
(a 1 MB workbook holding a 1 GB sheet), so :func:`check_workbook` reads only the zip directory
and refuses, before any XML is parsed, a workbook whose parts together or alone exceed the
configured uncompressed size, compress better than the configured ratio, or number more than
the configured entries. Python's zip reader stops at each part's declared size, so a directory
that lies about a size makes the read fail its checksum instead of running on.

It also resolves sheet names to their XML parts (:func:`sheet_parts`) and lists a sheet's merged
ranges (:func:`merged_ranges`), which openpyxl's streaming mode does not report.
"""

from __future__ import annotations

import re
import zipfile
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from xml.parsers import expat

from connectors.legacy_base import SourceError
from connectors.source_limits import MiB, SourceLimits

RATIO_FLOOR = 1 * MiB  # parts smaller than this may compress as well as they like
_MERGE = re.compile(rb"<(?:[A-Za-z_][\w.-]*:)?mergeCell\b[^>]*?\bref=\"([A-Z]{1,3}[0-9]+)(?::([A-Z]{1,3}[0-9]+))?\"")
_CELL = re.compile(r"([A-Z]{1,3})([0-9]+)")
_CHUNK = 1 << 18


class WorkbookError(SourceError):
    """The workbook breaks a bound or is not a readable ``.xlsx``; the message names the file."""


@dataclass(frozen=True)
class MergedRange:
    """A merged block of cells, 1-based and inclusive, as Excel numbers rows and columns."""

    first_row: int
    first_col: int
    last_row: int
    last_col: int

    def covers(self, row: int, col: int) -> bool:
        """Whether the cell at ``row``, ``col`` lies in the range."""
        return self.first_row <= row <= self.last_row and self.first_col <= col <= self.last_col


def column_number(letters: str) -> int:
    """``A`` → 1, ``Z`` → 26, ``AA`` → 27 (Excel column letters)."""
    number = 0
    for char in letters:
        number = number * 26 + ord(char) - 64
    return number


def cell_position(ref: str) -> tuple[int, int]:
    """``B12`` → (row 12, column 2)."""
    match = _CELL.fullmatch(ref)
    if not match:
        raise ValueError(f"not a cell reference: {ref!r}")
    return int(match.group(2)), column_number(match.group(1))


def check_workbook(path: Path, limits: SourceLimits) -> None:
    """Refuse a workbook whose zip directory breaks a bound (nothing is decompressed)."""
    try:
        with zipfile.ZipFile(path) as archive:
            entries = archive.infolist()
    except (zipfile.BadZipFile, OSError, ValueError) as exc:
        raise WorkbookError(f"{path}: not a readable .xlsx workbook ({exc})") from exc
    if len(entries) > limits.xlsx_max_entries:
        raise WorkbookError(f"{path}: the workbook holds {len(entries):,} parts, more than the limit "
                            f"({limits.setting('xlsx_max_entries')})")
    total = 0
    for entry in entries:
        total += entry.file_size
        ratio = entry.file_size / max(entry.compress_size, 1)
        if entry.file_size > RATIO_FLOOR and ratio > limits.xlsx_max_ratio:
            raise WorkbookError(f"{path}: part {entry.filename} expands {ratio:,.0f} times "
                                f"({entry.compress_size:,} → {entry.file_size:,} bytes), more than the limit "
                                f"({limits.setting('xlsx_max_ratio')}); a file this repetitive is refused as a "
                                "decompression bomb")
        if total > limits.xlsx_max_bytes:
            raise WorkbookError(f"{path}: the workbook expands to more than {limits.xlsx_max_bytes:,} bytes "
                                f"({limits.setting('xlsx_max_bytes')}); part {entry.filename} alone is "
                                f"{entry.file_size:,} bytes")


def _parse_small(archive: zipfile.ZipFile, name: str, start: object) -> None:
    """Run ``start(tag, attrs)`` over every element of a small XML part (no DTDs accepted)."""
    parser = expat.ParserCreate(namespace_separator=" ")
    parser.StartElementHandler = start  # type: ignore[assignment]
    parser.StartDoctypeDeclHandler = _refuse_doctype  # type: ignore[assignment]
    with archive.open(name) as handle:
        parser.ParseFile(handle)


def _refuse_doctype(*_args: object) -> None:
    raise ValueError("a document type declaration is not allowed in a workbook part")


def _relationships(archive: zipfile.ZipFile) -> dict[str, tuple[str, str]]:
    """The workbook's relationships: id → (type, part name inside the zip)."""
    found: dict[str, tuple[str, str]] = {}

    def on_rels(tag: str, attrs: dict[str, str]) -> None:
        if tag.rsplit(" ", 1)[-1] == "Relationship":
            target = attrs.get("Target", "")
            member = target.lstrip("/") if target.startswith("/") else str(PurePosixPath("xl") / target)
            found[attrs.get("Id", "")] = (attrs.get("Type", ""), member)

    _parse_small(archive, "xl/_rels/workbook.xml.rels", on_rels)
    return found


def sheet_parts(path: Path) -> tuple[dict[str, str], str | None]:
    """(sheet name → its XML part, in workbook order; the shared-strings part or None)."""
    names: list[tuple[str, str]] = []

    def on_workbook(tag: str, attrs: dict[str, str]) -> None:
        if tag.rsplit(" ", 1)[-1] == "sheet":
            rel = next((v for k, v in attrs.items() if k.rsplit(" ", 1)[-1] == "id"), "")
            names.append((attrs.get("name", ""), rel))

    try:
        with zipfile.ZipFile(path) as archive:
            _parse_small(archive, "xl/workbook.xml", on_workbook)
            relations = _relationships(archive)
    except (KeyError, zipfile.BadZipFile, expat.ExpatError, ValueError, OSError) as exc:
        raise WorkbookError(f"{path}: not a readable .xlsx workbook ({exc})") from exc
    parts = {name: relations.get(rel, ("", ""))[1] for name, rel in names}
    strings = next((member for kind, member in relations.values() if kind.endswith("/sharedStrings")), None)
    return parts, strings


def merged_ranges(path: Path, member: str) -> list[MergedRange]:
    """The merged ranges a sheet declares (scanned from its XML; ``<`` never occurs in XML text)."""
    found: list[MergedRange] = []
    tail = b""
    try:
        with zipfile.ZipFile(path) as archive, archive.open(member) as handle:
            while chunk := handle.read(_CHUNK):
                block = tail + chunk
                end = 0
                for match in _MERGE.finditer(block):
                    first = cell_position(match.group(1).decode())
                    last = cell_position(match.group(2).decode()) if match.group(2) else first
                    found.append(MergedRange(min(first[0], last[0]), min(first[1], last[1]),
                                             max(first[0], last[0]), max(first[1], last[1])))
                    end = match.end()
                tail = block[max(end, len(block) - 256):]  # a tag cut by the chunk boundary is found next time
    except (KeyError, zipfile.BadZipFile, OSError) as exc:
        raise WorkbookError(f"{path}: not a readable .xlsx workbook ({exc})") from exc
    return found
