"""One-page HTML summary of a validation run for HR operations, with an inline SVG trend chart.

Written for readers who never heard of Great Expectations: each check is named in plain words
("Overall score outside 0–100"), with counts, a share of rows and a few masked examples; the
expectation class and columns sit in a details column. No scripts, no external assets.

Every text comes from the one catalogue of the pages through ``t`` (a :class:`hrbridge.i18n.Translator`:
``t(key, **values)``, ``t.dt``, ``t.num``, ``t.pct``, ``t.lang``, ``t.zone_name()``); the caller
passes rules whose titles are already in ``t``'s language.
"""

from __future__ import annotations

import html
from collections.abc import Mapping, Sequence
from typing import Any

from validation.results_suite import Rule

CSS = """
body{font-family:system-ui,-apple-system,"Segoe UI","PingFang SC","Microsoft YaHei",Roboto,sans-serif;margin:2rem;color:#1f2933;max-width:1100px}
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


def trend_svg(runs: Sequence[Mapping[str, Any]], t: Any, width: int = 640, height: int = 180) -> str:
    """Bar chart of the share of rows quarantined per run (oldest left), as inline SVG."""
    if not runs:
        return f"<p>{_e(t('report.validation.no_trend'))}</p>"
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
             f'aria-label="{_e(t("validation.trend.title"))}">']
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
        tip = t("validation.trend.tip", run=run.get("run_id"), share=f"{share:.1f}",
                rows=int(run.get("rows_checked") or 0))
        parts.append(f'<rect x="{x:.1f}" y="{y:.1f}" width="{bar_w:.1f}" height="{max(h, 1):.1f}" fill="{colour}">'
                     f'<title>{_e(tip)}</title></rect>')
        if len(runs) <= 12:
            started = t.dt(run.get("started_at"), "short")
            parts.append(f'<text x="{x + bar_w / 2:.1f}" y="{height - 10}" font-size="9" text-anchor="middle" '
                         f'fill="#616e7c">{_e(started)}</text>')
    parts.append("</svg>")
    return "".join(parts)


def render_validation_page(
    run: Mapping[str, Any],
    rules: Sequence[Rule],
    examples: Mapping[str, Sequence[Mapping[str, Any]]],
    trend: Sequence[Mapping[str, Any]],
    t: Any,
    data_docs_href: str | None = None,
) -> str:
    """The HTML page for ``run`` (a ``validation_runs`` row as a dict), in ``t``'s language and zone.

    ``examples`` maps rule name → a few rows ``{"result_id", "application_id", "detail"}`` whose
    values are already masked; ``trend`` lists recent runs, oldest first.
    """
    checked = int(run.get("rows_checked") or 0)
    failures: Mapping[str, int] = run.get("failures") or {}
    quarantined = int(run.get("quarantined") or 0)
    rows = []
    for rule in rules:
        count = int(failures.get(rule.name, 0))
        share = t.pct(count / checked) if checked else "–"
        status = (f'<span class="pass">{_e(t("validation.ok"))}</span>' if count == 0 else
                  f'<span class="fail">{_e(t("validation.failing", count=t.num(count)))}</span>')
        shown = examples.get(rule.name) or []
        example_html = "<ul>" + "".join(
            "<li>" + _e(t("report.validation.example", result=ex.get("result_id") or t("validation.no_id"),
                          application=ex.get("application_id"), detail=ex.get("detail"))) + "</li>"
            for ex in shown
        ) + "</ul>" if shown else ""
        details = (f'<span class="details">{_e(rule.expectation_class)} · '
                   f'<code>{_e(", ".join(rule.columns))}</code></span>')
        rows.append(
            f"<tr><td><b>{_e(rule.title)}</b><br><span class='details'>{_e(rule.description)}</span></td>"
            f"<td>{status}</td><td class='num'>{share}</td><td>{example_html}</td><td>{details}</td></tr>"
        )
    docs_link = (f'<p><a href="{_e(data_docs_href)}">{_e(t("validation.data_docs"))}</a></p>'
                 if data_docs_href else f'<p class="sub">{_e(t("validation.no_data_docs"))}</p>')
    card_class = "bad" if quarantined else "ok"
    source = t.get(f"source.{run.get('source')}", str(run.get("source") or ""))
    sub = t("validation.run_sub", run=run.get("run_id"), source=source, started=t.dt(run.get("started_at")))
    html_lang = "zh-CN" if t.lang == "zh" else "en"
    cards = "".join(
        f'<div class="card {css}"><b>{t.num(value)}</b>{_e(t(key))}</div>'
        for css, value, key in (("", checked, "validation.card.checked"),
                                ("ok", int(run.get("stored") or 0), "validation.card.stored"),
                                (card_class, quarantined, "validation.card.held"),
                                ("", int(run.get("duplicates") or 0), "validation.card.duplicates")))
    headers = "".join(f"<th>{_e(t(key))}</th>" for key in (
        "validation.col.check", "validation.col.result", "validation.col.share", "report.validation.examples",
        "validation.col.technical"))
    return f"""<!doctype html>
<html lang="{html_lang}"><head><meta charset="utf-8"><title>{_e(t("validation.title"))} {_e(run.get('run_id'))}</title>
<style>{CSS}</style></head><body>
<h1>{_e(t("validation.title"))}</h1>
<p class="sub">{_e(sub)}<br>{_e(t("report.times_in", zone=t.zone_name()))}</p>
<div class="cards">{cards}</div>
<h2>{_e(t("validation.checks"))}</h2>
<p>{_e(t("validation.checks_text"))} {_e(t("validation.intro"))}</p>
<table><thead><tr>{headers}</tr></thead><tbody>
{''.join(rows)}
</tbody></table>
<h2>{_e(t("validation.trend.title"))}</h2>
<p>{_e(t("validation.trend.text"))}</p>
{trend_svg(trend, t)}
{docs_link}
</body></html>
"""
