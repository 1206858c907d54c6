"""One-page HTML summary of a validation run for HR operations, with an inline SVG trend chart.

Written for readers who never heard of Great Expectations: each check is named in plain words
("Overall score outside 0–100"), with counts, a share of rows and a few masked examples; the
expectation class and columns sit in a details column. No scripts, no external assets.
"""

from __future__ import annotations

import html
from collections.abc import Mapping, Sequence
from typing import Any

from validation.results_suite import Rule

CSS = """
body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:2rem;color:#1f2933;max-width:1100px}
h1{font-size:1.5rem;margin-bottom:.2rem} .sub{color:#616e7c;margin-top:0}
.cards{display:flex;gap:1rem;margin:1.2rem 0;flex-wrap:wrap}
.card{border:1px solid #d9e2ec;border-radius:8px;padding:.8rem 1.2rem;min-width:9rem}
.card b{display:block;font-size:1.6rem} .bad b{color:#b42318} .ok b{color:#027a48}
table{border-collapse:collapse;width:100%;margin:1rem 0} th,td{border-bottom:1px solid #e4e7eb;
padding:.45rem .6rem;text-align:left;vertical-align:top;font-size:.92rem} th{background:#f5f7fa}
td.num{text-align:right;font-variant-numeric:tabular-nums} .pass{color:#027a48} .fail{color:#b42318;font-weight:600}
.details{color:#616e7c;font-size:.8rem} code{font-size:.8rem} ul{margin:0;padding-left:1.1rem}
"""


def _e(value: Any) -> str:
    return html.escape("" if value is None else str(value))


def trend_svg(runs: Sequence[Mapping[str, Any]], width: int = 640, height: int = 180) -> str:
    """Bar chart of the share of rows quarantined per run (oldest left), as inline SVG."""
    if not runs:
        return "<p>No earlier runs yet.</p>"
    pad_left, pad_bottom, pad_top = 40, 28, 12
    plot_w, plot_h = width - pad_left - 8, height - pad_bottom - pad_top
    shares = []
    for run in runs:
        checked = int(run.get("rows_checked") or 0)
        shares.append(100.0 * int(run.get("quarantined") or 0) / checked if checked else 0.0)
    top = max(10.0, max(shares) * 1.15)
    slot = plot_w / len(runs)
    bar_w = max(4.0, slot * 0.6)
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" role="img" '
             f'aria-label="Share of results quarantined per run">']
    for tick in (0.0, top / 2, top):
        y = pad_top + plot_h - plot_h * tick / top
        parts.append(f'<line x1="{pad_left}" x2="{width - 8}" y1="{y:.1f}" y2="{y:.1f}" stroke="#e4e7eb"/>')
        parts.append(f'<text x="{pad_left - 4}" y="{y + 4:.1f}" font-size="10" text-anchor="end" fill="#616e7c">'
                     f'{tick:.0f}%</text>')
    for i, (run, share) in enumerate(zip(runs, shares, strict=True)):
        x = pad_left + i * slot + (slot - bar_w) / 2
        h = plot_h * share / top
        y = pad_top + plot_h - h
        colour = "#b42318" if share > 0 else "#027a48"
        label = _e(run.get("run_id"))
        parts.append(f'<rect x="{x:.1f}" y="{y:.1f}" width="{bar_w:.1f}" height="{max(h, 1):.1f}" fill="{colour}">'
                     f'<title>{label}: {share:.1f}% of {int(run.get("rows_checked") or 0)} rows</title></rect>')
        if len(runs) <= 12:
            started = str(run.get("started_at") or "")[5:16]
            parts.append(f'<text x="{x + bar_w / 2:.1f}" y="{height - 10}" font-size="9" text-anchor="middle" '
                         f'fill="#616e7c">{_e(started)}</text>')
    parts.append("</svg>")
    return "".join(parts)


def render_validation_page(
    run: Mapping[str, Any],
    rules: Sequence[Rule],
    examples: Mapping[str, Sequence[Mapping[str, Any]]],
    trend: Sequence[Mapping[str, Any]],
    data_docs_href: str | None = None,
) -> str:
    """The HTML page for ``run`` (a ``validation_runs`` row as a dict).

    ``examples`` maps rule name → a few rows ``{"result_id", "application_id", "detail"}`` whose
    values are already masked; ``trend`` lists recent runs, oldest first.
    """
    checked = int(run.get("rows_checked") or 0)
    failures: Mapping[str, int] = run.get("failures") or {}
    quarantined = int(run.get("quarantined") or 0)
    rows = []
    for rule in rules:
        count = int(failures.get(rule.name, 0))
        share = f"{100.0 * count / checked:.1f}%" if checked else "–"
        status = '<span class="pass">OK</span>' if count == 0 else f'<span class="fail">{count} failing</span>'
        shown = examples.get(rule.name) or []
        example_html = "<ul>" + "".join(
            f"<li>result {_e(ex.get('result_id') or '(no id)')}, application {_e(ex.get('application_id'))}: "
            f"{_e(ex.get('detail'))}</li>" for ex in shown
        ) + "</ul>" if shown else ""
        details = (f'<span class="details">{_e(rule.expectation_class)} on '
                   f'<code>{_e(", ".join(rule.columns))}</code></span>')
        rows.append(
            f"<tr><td><b>{_e(rule.title)}</b><br><span class='details'>{_e(rule.description)}</span></td>"
            f"<td>{status}</td><td class='num'>{share}</td><td>{example_html}</td><td>{details}</td></tr>"
        )
    docs_link = (f'<p>Technical detail of every check: <a href="{_e(data_docs_href)}">Great Expectations '
                 f"Data Docs for this run</a>.</p>") if data_docs_href else ""
    card_class = "bad" if quarantined else "ok"
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Interview results check {_e(run.get('run_id'))}</title>
<style>{CSS}</style></head><body>
<h1>Interview results check</h1>
<p class="sub">Run {_e(run.get('run_id'))} · {_e(run.get('source'))} · started {_e(run.get('started_at'))}</p>
<div class="cards">
<div class="card"><b>{checked}</b>results checked</div>
<div class="card ok"><b>{int(run.get('stored') or 0)}</b>stored and sent to the HR system</div>
<div class="card {card_class}"><b>{quarantined}</b>held back for review (quarantined)</div>
<div class="card"><b>{int(run.get('duplicates') or 0)}</b>already received before (skipped)</div>
</div>
<h2>Checks</h2>
<p>A result is held back when it fails any check below; one result can fail several checks.
Held-back results are kept with their original data in the quarantine table, nothing is deleted.</p>
<table><thead><tr><th>Check</th><th>Result</th><th>Share of results</th><th>Examples</th>
<th>Details</th></tr></thead><tbody>
{''.join(rows)}
</tbody></table>
<h2>Trend over recent runs</h2>
<p>Share of results held back per run.</p>
{trend_svg(trend)}
{docs_link}
</body></html>
"""
