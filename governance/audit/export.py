"""What an auditor reads: deletion-log entries of a date range as CSV, JSON or a standalone HTML page.

Every export states the chain status (from :func:`verify_chain`) first, uses plain-word column
names, and explains each legal basis and method in words. The HTML page has inline styles only and
no scripts, so it opens anywhere without help.
"""

from __future__ import annotations

import csv
import html
import json
from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from governance.audit.schema import deletion_log
from governance.audit.verify import VerifyReport

FORMATS = ("csv", "json", "html")

COLUMNS: tuple[tuple[str, str], ...] = (
    ("seq", "Entry no."),
    ("done_at", "Done at (UTC)"),
    ("subject_hash", "Person (pseudonymous id)"),
    ("method", "What was done"),
    ("categories", "Data categories"),
    ("stores", "Where"),
    ("counts_before", "Records before"),
    ("counts_after", "Records after"),
    ("legal_basis", "Legal basis"),
    ("basis_explained", "Legal basis in plain words"),
    ("hold", "Legal hold / exception"),
    ("requested_by", "Requested by"),
    ("run_id", "Executed by (run)"),
    ("requested_at", "Requested at (UTC)"),
    ("due_at", "Due by (UTC)"),
    ("hash", "Entry hash"),
    ("prev_hash", "Previous entry hash"),
)

BASIS_EXPLAINED: tuple[tuple[str, str], ...] = (
    ("PIPL Art. 47(1)(2)", "China PIPL Art. 47(1)(2): the retention period the person was told about has "
     "ended, so the data must be deleted."),
    ("PIPL Art. 47(1)(1)", "China PIPL Art. 47(1)(1): the purpose (the recruitment) has been achieved or "
     "the data is no longer needed for it."),
    ("PIPL Art. 47(1)(3)", "China PIPL Art. 47(1)(3): the organisation stopped the service."),
    ("PIPL Art. 47(1)(4)", "China PIPL Art. 47(1)(4): the person withdrew consent."),
    ("PIPL Art. 47", "China PIPL Art. 47: the person asked for deletion, or a deletion ground applies."),
    ("PIPL Art. 19", "China PIPL Art. 19: data may be kept only for the shortest time the purpose needs."),
    ("GDPR Art. 17(1)(a)", "GDPR Art. 17(1)(a): the data is no longer necessary for the purpose it was "
     "collected for."),
    ("GDPR Art. 17(1)(b)", "GDPR Art. 17(1)(b): the person withdrew consent and nothing else allows "
     "keeping the data."),
    ("GDPR Art. 17(1)(c)", "GDPR Art. 17(1)(c): the person objected to the processing."),
    ("GDPR Art. 17", "GDPR Art. 17: the person exercised the right to erasure."),
    ("GDPR Art. 5(1)(e)", "GDPR Art. 5(1)(e): storage limitation - keep data no longer than needed."),
)

METHOD_EXPLAINED = {
    "delete": "records deleted",
    "anonymise": "identifying fields blanked, the rest kept",
    "crypto-shred": "the person's encryption key destroyed, so every encrypted copy is unreadable",
    "external request": "another system was asked to delete the data and confirmed",
    "hold": "nothing deleted: a legal hold applies",
    "key rollover": "the log's signing key was replaced, endorsed by the old key (the id column holds the new "
                    "key's id; the legal basis column says why)",
}


def explain_basis(basis: str) -> str:
    """A plain-words explanation of a legal basis string (longest known reference it mentions)."""
    for reference, text in BASIS_EXPLAINED:
        if reference.lower() in basis.lower():
            return text
    return "See the legal basis text."


def _range(date_from: date, date_to: date) -> tuple[str, str]:
    if date_to < date_from:
        raise ValueError(f"--to {date_to} is before --from {date_from}")
    return f"{date_from.isoformat()}T00:00:00", f"{(date_to + timedelta(days=1)).isoformat()}T00:00:00"


def iter_entries(engine: Engine, date_from: date, date_to: date) -> Iterator[dict[str, Any]]:
    """Entries done between the two dates (inclusive, UTC) in seq order, with explanations added."""
    start, end = _range(date_from, date_to)
    query = (
        sa.select(deletion_log)
        .where(deletion_log.c.done_at >= start, deletion_log.c.done_at < end)
        .order_by(deletion_log.c.seq)
    )
    with engine.connect() as conn:
        for row in conn.execution_options(stream_results=True, yield_per=10_000).execute(query):
            entry = dict(row._mapping)
            entry["basis_explained"] = explain_basis(entry["legal_basis"])
            yield entry


def _status_line(report: VerifyReport) -> str:
    if report.ok:
        return (f"Chain verified: all {report.entries} entries intact, {report.heads} signed run heads valid.")
    return f"CHAIN BROKEN at entry {report.first_bad_seq}: {report.problem}"


def export_log(engine: Engine, report: VerifyReport, date_from: date, date_to: date, fmt: str,
               out: Path) -> int:
    """Write the entries of the date range to ``out`` in ``fmt``; returns the number of entries."""
    if fmt not in FORMATS:
        raise ValueError(f"unknown export format {fmt!r}; choose one of {', '.join(FORMATS)}")
    out.parent.mkdir(parents=True, exist_ok=True)
    entries = iter_entries(engine, date_from, date_to)
    writer = {"csv": _write_csv, "json": _write_json, "html": _write_html}[fmt]
    return writer(entries, report, date_from, date_to, out)


FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


def csv_cell(value: Any) -> Any:
    """A cell a spreadsheet shows as text: a string starting with a formula prefix gets a leading ``'``.

    Legal bases and requester names come from people; ``=HYPERLINK(...)`` in one must not run when
    an auditor opens the export in a spreadsheet (OWASP CSV injection). Numbers are left alone.
    """
    if value is None:
        return ""
    if isinstance(value, str) and value.startswith(FORMULA_PREFIXES):
        return "'" + value
    return value


def _write_csv(entries: Iterator[dict[str, Any]], report: VerifyReport, date_from: date, date_to: date,
               out: Path) -> int:
    count = 0
    with out.open("w", newline="", encoding="utf-8") as handle:
        handle.write(f"# Deletion log {date_from} to {date_to}. {_status_line(report)}\n")
        writer = csv.writer(handle)
        writer.writerow([title for _, title in COLUMNS])
        for entry in entries:
            writer.writerow([csv_cell(entry.get(key)) for key, _ in COLUMNS])
            count += 1
    return count


def _write_json(entries: Iterator[dict[str, Any]], report: VerifyReport, date_from: date, date_to: date,
                out: Path) -> int:
    rows = []
    for entry in entries:
        entry["counts_before"] = json.loads(entry["counts_before"])
        entry["counts_after"] = json.loads(entry["counts_after"])
        entry["categories"] = entry["categories"].split(",") if entry["categories"] else []
        entry["stores"] = entry["stores"].split(",") if entry["stores"] else []
        rows.append(entry)
    document = {
        "from": date_from.isoformat(), "to": date_to.isoformat(),
        "chain": report.as_dict() | {"status": _status_line(report)},
        "columns": dict(COLUMNS), "entries": rows,
    }
    out.write_text(json.dumps(document, indent=1, ensure_ascii=False), encoding="utf-8")
    return len(rows)


_CSS = """
body{font-family:system-ui,sans-serif;margin:2em;color:#222}
.ok{background:#e6f4ea;border:1px solid #34a853;padding:1em}
.bad{background:#fce8e6;border:1px solid #d93025;padding:1em}
table{border-collapse:collapse;font-size:13px;margin-top:1em}
th,td{border:1px solid #ccc;padding:4px 6px;vertical-align:top;text-align:left}
th{background:#f1f3f4}
td.hash{font-family:monospace;font-size:11px;word-break:break-all;max-width:12em}
"""


def _write_html(entries: Iterator[dict[str, Any]], report: VerifyReport, date_from: date, date_to: date,
                out: Path) -> int:
    esc = html.escape
    count = 0
    with out.open("w", encoding="utf-8") as handle:
        handle.write("<!DOCTYPE html>\n<html lang='en'><head><meta charset='utf-8'>"
                     f"<title>Deletion log {date_from} to {date_to}</title><style>{_CSS}</style></head><body>\n")
        handle.write(f"<h1>Deletion log: {date_from} to {date_to}</h1>\n")
        handle.write(f"<p class='{'ok' if report.ok else 'bad'}'><strong>{esc(_status_line(report))}</strong>"
                     "</p>\n")
        handle.write(
            "<p>Each row records one deletion (or a deletion held back by a legal hold). People are shown "
            "only by a pseudonymous id: a keyed hash of their id that the organisation can recompute to "
            "answer a request, but that reveals nothing on its own. Each entry carries the hash of the "
            "entry before it, and the last entry of every run is signed, so any edit, removal or "
            "reordering of entries is detected by <code>hrbridge audit verify</code>.</p>\n")
        handle.write("<h2>What was done</h2><ul>")
        for method, text in METHOD_EXPLAINED.items():
            handle.write(f"<li><strong>{esc(method)}</strong>: {esc(text)}</li>")
        handle.write("</ul>\n<table>\n<tr>")
        for _, title in COLUMNS:
            handle.write(f"<th>{esc(title)}</th>")
        handle.write("</tr>\n")
        for entry in entries:
            handle.write("<tr>")
            for key, _ in COLUMNS:
                value = entry.get(key)
                css = " class='hash'" if key in {"subject_hash", "hash", "prev_hash"} else ""
                handle.write(f"<td{css}>{esc('' if value is None else str(value))}</td>")
            handle.write("</tr>\n")
            count += 1
        handle.write("</table>\n")
        if count == 0:
            handle.write("<p>No entries in this period.</p>\n")
        handle.write(f"<p>{count} entries.</p></body></html>\n")
    return count
