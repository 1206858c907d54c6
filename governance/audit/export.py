"""What an auditor reads: deletion-log entries of a date range as CSV, JSON or a standalone HTML page.

Every export states the chain status (from :func:`verify_chain`) first, uses plain-word column
names, and explains each legal basis and method in words. The HTML page has inline styles only and
no scripts, so it opens anywhere without help.

Given a translator ``t`` (:class:`hrbridge.i18n.Translator`, the pages' one catalogue), the texts
are in its language (Simplified Chinese or English) and times are ISO-8601 with its zone's offset,
the zone named at the top; without one, English with times in UTC.
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
    "refused": "nothing deleted: the request was not bound to the person it names (not sealed by an operator, "
               "not filed by that person's own login)",
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


def _status_line(report: VerifyReport, t: Any = None) -> str:
    if t is not None:
        return (t("audit.chain_ok", entries=report.entries, heads=report.heads) if report.ok
                else t("audit.chain_bad", seq=report.first_bad_seq, problem=report.problem))
    if report.ok:
        return (f"Chain verified: all {report.entries} entries intact, {report.heads} signed run heads valid.")
    return f"CHAIN BROKEN at entry {report.first_bad_seq}: {report.problem}"


def export_log(engine: Engine, report: VerifyReport, date_from: date, date_to: date, fmt: str,
               out: Path, t: Any = None) -> int:
    """Write the entries of the date range to ``out`` in ``fmt`` (in ``t``'s language and zone when
    given); returns the number of entries."""
    if fmt not in FORMATS:
        raise ValueError(f"unknown export format {fmt!r}; choose one of {', '.join(FORMATS)}")
    out.parent.mkdir(parents=True, exist_ok=True)
    entries = iter_entries(engine, date_from, date_to)
    if t is not None:
        entries = (_in_language(entry, t) for entry in entries)
    writer = {"csv": _write_csv, "json": _write_json, "html": _write_html}[fmt]
    return writer(entries, report, date_from, date_to, out, t)


TIME_COLUMNS = ("done_at", "requested_at", "due_at")


def _in_language(entry: dict[str, Any], t: Any) -> dict[str, Any]:
    """The entry's explanations in ``t``'s language and its times in ``t``'s zone (ISO-8601 with offset)."""
    reference = next((ref for ref, _ in BASIS_EXPLAINED if ref.lower() in str(entry["legal_basis"]).lower()), None)
    entry["basis_explained"] = (t.get(f"basis.{reference}", entry["basis_explained"]) if reference
                                else t("basis.unknown"))
    entry["method"] = t.get(f"method.{entry['method']}", entry["method"])
    for name in TIME_COLUMNS:
        entry[name] = t.iso(entry.get(name))
    return entry


def _titles(t: Any) -> list[str]:
    return [t(f"audit.col.{key}") if t is not None else title for key, title in COLUMNS]


def _heading(date_from: date, date_to: date, t: Any) -> str:
    if t is None:
        return f"Deletion log {date_from} to {date_to}"
    return t("report.audit.title", start=t.day(date_from), end=t.day(date_to))


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
               out: Path, t: Any = None) -> int:
    count = 0
    with out.open("w", newline="", encoding="utf-8") as handle:
        zone = f" {t('report.times_in', zone=t.zone_name())}" if t is not None else ""
        handle.write(f"# {_heading(date_from, date_to, t)}. {_status_line(report, t)}{zone}\n")
        writer = csv.writer(handle)
        writer.writerow(_titles(t))
        for entry in entries:
            writer.writerow([csv_cell(entry.get(key)) for key, _ in COLUMNS])
            count += 1
    return count


def _write_json(entries: Iterator[dict[str, Any]], report: VerifyReport, date_from: date, date_to: date,
                out: Path, t: Any = None) -> int:
    rows = []
    for entry in entries:
        entry["counts_before"] = json.loads(entry["counts_before"])
        entry["counts_after"] = json.loads(entry["counts_after"])
        entry["categories"] = entry["categories"].split(",") if entry["categories"] else []
        entry["stores"] = entry["stores"].split(",") if entry["stores"] else []
        rows.append(entry)
    document = {
        "from": date_from.isoformat(), "to": date_to.isoformat(),
        "chain": report.as_dict() | {"status": _status_line(report, t)},
        "time_zone": t.zone_name() if t is not None else "UTC",
        "columns": dict(zip((key for key, _ in COLUMNS), _titles(t), strict=True)), "entries": rows,
    }
    out.write_text(json.dumps(document, indent=1, ensure_ascii=False), encoding="utf-8")
    return len(rows)


INTRO = ("Each row records one deletion (or a deletion held back by a legal hold). People are shown only by a "
         "pseudonymous id: a keyed hash of their id that the organisation can recompute to answer a request, but "
         "that reveals nothing on its own. Each entry carries the hash of the entry before it, and the last entry "
         "of every run is signed, so any edit, removal or reordering of entries is detected by hrbridge audit verify.")

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
                out: Path, t: Any = None) -> int:
    esc = html.escape
    count = 0
    heading = _heading(date_from, date_to, t)
    intro = t("report.audit.intro") if t is not None else INTRO
    with out.open("w", encoding="utf-8") as handle:
        lang = "zh-CN" if t is not None and t.lang == "zh" else "en"
        handle.write(f"<!DOCTYPE html>\n<html lang='{lang}'><head><meta charset='utf-8'>"
                     f"<title>{esc(heading)}</title><style>{_CSS}</style></head><body>\n")
        handle.write(f"<h1>{esc(heading)}</h1>\n")
        handle.write(f"<p class='{'ok' if report.ok else 'bad'}'><strong>{esc(_status_line(report, t))}</strong>"
                     "</p>\n")
        if t is not None:
            handle.write(f"<p>{esc(t('report.times_in', zone=t.zone_name()))}</p>\n")
        handle.write(f"<p>{esc(intro)}</p>\n")
        handle.write(f"<h2>{esc(t('report.audit.methods') if t is not None else 'What was done')}</h2><ul>")
        for method, text in METHOD_EXPLAINED.items():
            shown = t.get(f"method.{method}", method) if t is not None else method
            explained = t.get(f"report.audit.method.{method}", text) if t is not None else text
            handle.write(f"<li><strong>{esc(shown)}</strong>: {esc(explained)}</li>")
        handle.write("</ul>\n<table>\n<tr>")
        for title in _titles(t):
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
            handle.write(f"<p>{esc(t('report.audit.empty') if t is not None else 'No entries in this period.')}</p>\n")
        handle.write(f"<p>{esc(t('report.audit.count', count=count) if t is not None else f'{count} entries.')}</p>"
                     "</body></html>\n")
    return count
