"""The migration verification report: ``report.json`` for machines, ``report.html`` for people.

The HTML page is self-contained (inline CSS and SVG charts, no scripts) so it can be mailed or
archived as evidence: where every source row went, what was repaired, which records merged, and
whether the target matches the cleaned source row for row. Its texts come from the pages' one
catalogue through ``t`` (a :class:`hrbridge.i18n.Translator`, Simplified Chinese or English); times
are shown in ``t``'s zone, which the page states.
"""

from __future__ import annotations

import datetime as dt
import html
import json
from collections.abc import Mapping
from pathlib import Path
from string import Template
from typing import Any

TEMPLATE = Path(__file__).resolve().parent / "templates" / "migration_report.html"
COLOURS = {"loaded": "#2e7d32", "quarantined": "#c62828", "duplicates": "#f9a825", "bar": "#1565c0"}


def build_report(*, run_id: str, source: str, target: str, table: str, counts: Mapping[str, Any],
                 reconciliation: Any, timings: Mapping[str, float], extra: Mapping[str, Any] | None = None
                 ) -> dict[str, Any]:
    """Assemble the report dict (all counts over every row).

    ``passed`` gates on the integrity ratio, the counts reconciling, and the source check: the
    non-empty cells a second, minimal reader counted in the file against those the main reader
    delivered (``counts["source_check"]``, see :func:`source_check`), so a value the reader
    dropped fails the run even though the target matches the cleaned source.
    """
    checks = reconciliation.to_dict()
    check = counts.get("source_check") or {"passed": True, "columns": {}}
    accounted = counts["loaded_rows"] + counts["quarantined_rows"] + counts["duplicates_merged"]
    counts_reconcile = accounted == counts["source_rows"] and checks["expected_rows"] == counts["loaded_rows"]
    rows = counts["source_rows"]
    total_time = sum(v for k, v in timings.items() if k in {"total_before_verify", "verify"}) or sum(timings.values())
    return {
        "run_id": run_id, "generated_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "source": source, "target": target, "table": table,
        "source_rows": rows, "loaded_rows": counts["loaded_rows"], "quarantined_rows": counts["quarantined_rows"],
        "duplicates_merged": counts["duplicates_merged"], "repaired_values": counts["repaired_values"],
        "batches": counts.get("batches", 0),
        "verified_rows": checks["verified_rows"], "mismatched_rows": checks["mismatched_rows"],
        "missing_rows": checks["missing_rows"], "extra_target_rows": checks["extra_target_rows"],
        "expected_rows": checks["expected_rows"], "target_rows": checks["target_rows"],
        "integrity_ratio": checks["integrity_ratio"], "threshold": checks["threshold"],
        "counts_reconcile": counts_reconcile, "source_check": check,
        "passed": bool(checks["passed"] and counts_reconcile and check["passed"]),
        "quarantine_by_reason": dict(counts.get("quarantine_by_reason", {})),
        "quarantine_by_column": dict(counts.get("quarantine_by_column", {})),
        "repairs_by_rule": dict(counts.get("repairs_by_rule", {})),
        "merges_by_rule": dict(counts.get("merges_by_rule", {})),
        "columns": checks["columns"],
        "mismatched_keys_sample": checks["mismatched_keys_sample"],
        "missing_source_rows_sample": checks["missing_source_rows_sample"],
        "timings": {k: round(v, 3) for k, v in timings.items()},
        "rows_per_second": round(rows / total_time, 1) if total_time and rows else None,
        **dict(extra or {}),
    }


def source_check(headers: list[str], in_file: tuple[int, list[int]], read: tuple[int, list[int]]
                 ) -> dict[str, Any]:
    """Compare (rows, non-empty cells per column) counted by the second reader with the main reader's."""
    columns = {}
    for position, header in enumerate(headers):
        file_count = in_file[1][position] if position < len(in_file[1]) else 0
        read_count = read[1][position] if position < len(read[1]) else 0
        columns[str(header)] = {"in_file": file_count, "read": read_count, "match": file_count == read_count}
    differ = [name for name, column in columns.items() if not column["match"]]
    return {"rows_in_file": in_file[0], "rows_read": read[0], "columns": columns, "differing_columns": differ,
            "passed": in_file[0] == read[0] and not differ}


def write_report(report: Mapping[str, Any], out_dir: Path, t: Any) -> tuple[Path, Path]:
    """Write ``report.json`` and ``report.html`` (in ``t``'s language) into ``out_dir`` (each atomically:
    a reader never sees half a file); returns both paths."""
    out_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    json_path, html_path = out_dir / "report.json", out_dir / "report.html"
    _write_atomic(json_path, json.dumps(report, indent=2, ensure_ascii=False, default=str))
    _write_atomic(html_path, render_html(report, t))
    return json_path, html_path


def _write_atomic(path: Path, text: str) -> None:
    """Write to a temporary file beside ``path`` (owner-only), then rename it over ``path``."""
    import os
    import tempfile

    handle, temporary = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as out:
            out.write(text)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def _e(value: Any) -> str:
    return html.escape(str(value))


def flow_svg(report: Mapping[str, Any], t: Any, width: int = 640) -> str:
    """One stacked bar: where the source rows went (loaded / quarantined / merged)."""
    total = max(report["source_rows"], 1)
    parts = [("loaded", "migration.col.loaded", report["loaded_rows"]),
             ("quarantined", "migration.col.quarantined", report["quarantined_rows"]),
             ("duplicates", "migration.col.merged", report["duplicates_merged"])]
    x, rects, legend = 0.0, [], []
    for index, (name, key, value) in enumerate(parts):
        w = width * value / total
        label = _e(f"{t(key)} {t.num(value)}")
        rects.append(f'<rect x="{x:.1f}" y="0" width="{w:.1f}" height="28" fill="{COLOURS[name]}">'
                     f'<title>{label}</title></rect>')
        legend.append(f'<rect x="{index * 200}" y="40" width="12" height="12" fill="{COLOURS[name]}"/>'
                      f'<text x="{index * 200 + 18}" y="51">{label}</text>')
        x += w
    return (f'<svg role="img" aria-label="{_e(t("report.migration.flow"))}" width="{width}" height="60" '
            f'xmlns="http://www.w3.org/2000/svg" font-size="12">{"".join(rects)}{"".join(legend)}</svg>')


def bars_svg(values: Mapping[str, float], t: Any, unit: str = "", width: int = 640, digits: int = 0) -> str:
    """Horizontal bar chart of label → value (empty note when there is nothing to show)."""
    if not values:
        return f'<p class="muted">{_e(t("common.none"))}</p>'
    label_w, row_h = 190, 22
    top = max(max(values.values()), 1e-9)
    rows = []
    for index, (label, value) in enumerate(values.items()):
        w = (width - label_w - 90) * value / top
        y = index * row_h
        rows.append(f'<text x="{label_w - 6}" y="{y + 15}" text-anchor="end">{_e(label)}</text>'
                    f'<rect x="{label_w}" y="{y + 4}" width="{w:.1f}" height="14" fill="{COLOURS["bar"]}"/>'
                    f'<text x="{label_w + w + 6:.1f}" y="{y + 15}">{_e(t.num(value, digits))}{unit}</text>')
    return (f'<svg role="img" width="{width}" height="{len(values) * row_h + 4}" '
            f'xmlns="http://www.w3.org/2000/svg" font-size="12">{"".join(rows)}</svg>')


def _column_rows(columns: Mapping[str, Any], t: Any) -> str:
    out = []
    for name, check in columns.items():
        exp, tgt = check["expected"], check["target"]
        agg = " / ".join(f"{k} {_e(exp.get(k))}" for k in ("min", "max", "sum") if k in exp) or "—"
        status = (f'<span class="ok">{_e(t("migration.match"))}</span>' if check["match"] else
                  f'<span class="bad">{_e(t("migration.differs"))}</span>')
        out.append(f"<tr><td>{_e(name)}</td><td>{t.pct(check['completeness_expected'], 2)}</td>"
                   f"<td>{t.pct(check['completeness_target'], 2)}</td><td>{t.num(exp.get('non_null', 0))}</td>"
                   f"<td>{t.num(tgt.get('non_null', 0))}</td><td class='small'>{agg}</td><td>{status}</td></tr>")
    return "\n".join(out)


def _problems(report: Mapping[str, Any], t: Any) -> list[str]:
    problems = []
    if report["mismatched_keys_sample"]:
        problems.append(t("report.migration.problem.mismatched", ids=", ".join(report["mismatched_keys_sample"])))
    if report["missing_source_rows_sample"]:
        problems.append(t("report.migration.problem.missing",
                          rows=", ".join(map(str, report["missing_source_rows_sample"]))))
    if not report["counts_reconcile"]:
        problems.append(t("migration.reconcile_no"))
    check = report.get("source_check") or {"passed": True}
    if not check["passed"]:
        differ = ", ".join(t("report.migration.problem.column", name=name, in_file=t.num(c["in_file"]),
                             read=t.num(c["read"])) for name, c in check["columns"].items() if not c["match"])
        problems.append(t("report.migration.problem.reader", in_file=t.num(check["rows_in_file"]),
                          read=t.num(check["rows_read"]), columns=differ or t("common.none")))
    return problems


def render_html(report: Mapping[str, Any], t: Any) -> str:
    """The readable page for an IT lead and HR operations, in ``t``'s language and time zone."""
    passed = report["passed"]
    completeness = {n: c["completeness_target"] * 100 for n, c in report["columns"].items()}
    problems = _problems(report, t)
    texts = {name: _e(t(key)) for name, key in {
        "title": "report.migration.title", "h_flow": "report.migration.flow", "h_rows": "report.migration.rows",
        "k_source": "report.migration.kpi.source", "k_loaded": "report.migration.kpi.loaded",
        "k_quarantined": "report.migration.kpi.quarantined", "k_merged": "report.migration.kpi.merged",
        "k_verified": "report.migration.kpi.verified", "k_mismatched": "report.migration.kpi.mismatched",
        "k_missing": "report.migration.kpi.missing", "k_extra": "report.migration.kpi.extra",
        "h_reasons": "migration.by_reason", "h_repairs": "migration.repairs", "h_merges": "migration.merges",
        "h_completeness": "report.migration.completeness", "h_columns": "migration.columns",
    }.items()}
    headers = ("migration.col.column", "migration.col.complete_source", "migration.col.complete_target",
               "report.migration.col.values_source", "report.migration.col.values_target",
               "report.migration.col.aggregates", "migration.col.match")
    timings = ", ".join(f"{k} {t.num(v, 2)} s" for k, v in report["timings"].items())
    values = {
        **texts,
        "html_lang": "zh-CN" if t.lang == "zh" else "en", "run_id": _e(report["run_id"]),
        "meta": _e(t("report.migration.meta", run=report["run_id"], generated=t.dt(report["generated_at"]))),
        "source_line": _e(t("report.migration.source", source=report["source"])),
        "target_line": _e(t("report.migration.target", target=report["target"], table=report["table"])),
        "times_in": _e(t("report.times_in", zone=t.zone_name())),
        "verdict_class": "ok" if passed else "bad",
        "verdict": _e(t("migration.verdict_pass" if passed else "migration.verdict_fail")),
        "integrity": _e(t("migration.integrity", ratio=t.pct(report["integrity_ratio"], 4),
                          threshold=t.pct(report["threshold"], 2))),
        "source_rows": t.num(report["source_rows"]), "loaded_rows": t.num(report["loaded_rows"]),
        "quarantined_rows": t.num(report["quarantined_rows"]), "duplicates_merged": t.num(report["duplicates_merged"]),
        "verified_rows": t.num(report["verified_rows"]), "mismatched_rows": t.num(report["mismatched_rows"]),
        "missing_rows": t.num(report["missing_rows"]), "extra_target_rows": t.num(report["extra_target_rows"]),
        "repairs_text": _e(t("report.migration.repairs_text", count=t.num(report["repaired_values"]))),
        "flow_svg": flow_svg(report, t),
        "quarantine_svg": bars_svg(report["quarantine_by_reason"], t),
        "repairs_svg": bars_svg(report["repairs_by_rule"], t),
        "merges_svg": bars_svg(report["merges_by_rule"], t),
        "completeness_svg": bars_svg(completeness, t, unit=" %", digits=1),
        "column_headers": "".join(f"<th>{_e(t(key))}</th>" for key in headers),
        "column_rows": _column_rows(report["columns"], t),
        "problems": "".join(f"<li>{_e(p)}</li>" for p in problems) or f"<li>{_e(t('common.none'))}</li>",
        "timings": _e(t("report.migration.timings", timings=timings)),
    }
    return Template(TEMPLATE.read_text(encoding="utf-8")).substitute(values)


def render_file(json_path: Path, t: Any) -> Path:
    """(Re)write ``report.html`` next to a ``report.json``, in ``t``'s language; returns the HTML path."""
    report = json.loads(json_path.read_text(encoding="utf-8"))
    html_path = json_path.with_name("report.html")
    _write_atomic(html_path, render_html(report, t))
    return html_path
