"""The HR report of one feedback analysis, per job family, in Simplified Chinese and English.

Plain words first: which interview dimensions went with top ratings or early leaving, how strongly
(odds per score point, with the 95 % range), on how many people, what was not concluded and why,
the four-fifths check of the proposal, and the proposal's status. Every text comes from the one
catalogue (:mod:`hrbridge.i18n`): the JSON holds the sentences in both languages, the self-contained
HTML page is in one (``--lang`` or ``HRBRIDGE_LANG``), its analysis time in ``HRBRIDGE_TZ`` with the
zone named. Stored in the artefact store as ``feedback/<run>.html`` and ``.json``.
"""

from __future__ import annotations

import html
import json
from collections.abc import Mapping
from typing import Any

from hrbridge.i18n import Translator, catalogue, report_translator


def dimension_name(dimension: str, t: Translator) -> str:
    """A dimension as people say it (``customer_negotiation`` → Customer negotiation / 客户谈判)."""
    return t.get(f"dimension.{dimension}", dimension.replace("_", " "))


def finding_sentence(f: Mapping[str, Any], t: Translator, settings: Mapping[str, Any],
                     scenarios: list[str] | None = None) -> str:
    """One finding in plain words in ``t``'s language, naming the scenarios that ask about the dimension."""
    text = _sentence(f, t, settings)
    if scenarios and f["status"] != "declined":
        text += t("feedback.report.scenarios", names=t("feedback.report.list_sep").join(scenarios))
    return text


def _why(f: Mapping[str, Any], t: Translator) -> str:
    """Why a finding was declined; findings stored before reasons had keys say how many people they had."""
    why = (f.get("extra") or {}).get("why") or {}
    key = f"feedback.report.why.{why.get('key')}"
    if why.get("key") and key in catalogue():
        return t(key, **{k: t.num(v) for k, v in why.items() if k != "key"})
    return t("feedback.report.why.people", count=t.num(f["people"]))


def _sentence(f: Mapping[str, Any], t: Translator, settings: Mapping[str, Any]) -> str:
    dim = dimension_name(f["dimension"], t)
    outcome = f["outcome"]
    months = settings.get("top_within_months" if outcome == "top_performer" else "attrition_within_months")
    if f["status"] == "declined":
        return t("feedback.report.declined", dimension=dim, why=_why(f, t))
    if f["status"] == "no_effect":
        return t(f"feedback.report.no_effect.{outcome}", dimension=dim, months=months, people=t.num(f["people"]))
    ratio = f["odds_ratio"]
    text = t(f"feedback.report.effect.{outcome}", dimension=dim, months=months,
             direction=t("feedback.report.raised" if ratio > 1 else "feedback.report.lowered"),
             ratio=t.num(ratio, 2), low=t.num(f["ci_low"], 2), high=t.num(f["ci_high"], 2),
             people=t.num(f["people"]), events=t.num(f["events"]))
    if f.get("share_high_with") is not None:
        text += t(f"feedback.report.share.{outcome}", share=t.pct(f["share_high_with"], 0),
                  high=f"{settings.get('high_score', 8):g}", others=t.pct(f["share_high_without"], 0))
    return text


def fairness_sentences(check: Mapping[str, Any] | None, t: Translator) -> list[str]:
    """The four-fifths check of one family in plain words."""
    if not check:
        return []
    if not check.get("checked"):
        return [t("feedback.report.fairness_unchecked")]
    out = [t("feedback.report.fairness_flag", attribute=flag["attribute"], group="/".join(flag["group"]),
             after=t.pct(flag["ratio_after"], 0),
             before=t.pct(flag["ratio_before"], 0) if flag.get("ratio_before") is not None else "—")
           for flag in check.get("flags") or []]
    if not out:
        lowest = [a["after"]["min_ratio"] for a in (check.get("attributes") or {}).values()
                  if a["after"]["min_ratio"] is not None]
        out.append(t("feedback.report.fairness_passed", lowest=t.pct(min(lowest), 0) if lowest else "—"))
    return out


def build_report(analysis: Mapping[str, Any], proposal: Mapping[str, Any] | None) -> dict[str, Any]:
    """The report as data: per family, per language, the sentences; plus the proposal's lines and status."""
    settings = analysis.get("settings") or {}
    by_family = (analysis.get("summary") or {}).get("scenarios") or {}
    families: dict[str, Any] = {}
    for f in analysis["findings"]:
        families.setdefault(f["job_family"], []).append(f)
    fairness = (proposal or {}).get("fairness") or {}
    changes = (proposal or {}).get("changes") or []
    status = (proposal or {}).get("status")
    created = analysis.get("created_at")
    out: dict[str, Any] = {"run_id": analysis["run_id"], "as_of": str(analysis["as_of"]),
                           "created_at": created.isoformat() if hasattr(created, "isoformat") else created,
                           "proposal_version": (proposal or {}).get("version"), "families": {}}
    order = {"found": 0, "no_effect": 1, "declined": 2}
    for family, found in sorted(families.items()):
        found = sorted(found, key=lambda f: (order.get(f["status"], 3), f["outcome"], f["dimension"]))
        check = next((v for k, v in fairness.items() if k.lower() == family.lower()), None)
        scenarios = next((v for k, v in by_family.items() if k.lower() == family.lower()), {})
        lines = [c["line"] for c in changes if c["job_family"].lower() == family.lower()]
        out["families"][family] = {
            t.lang: {"findings": [finding_sentence(f, t, settings, scenarios.get(f["dimension"])) for f in found],
                     "fairness": fairness_sentences(check, t),
                     "status": t(f"feedback.report.state.{status if lines and status else 'none'}")}
            for t in (Translator("en"), Translator("zh"))
        } | {"changes": lines, "people": max((f["people"] for f in found), default=0)}
    return out


def render_html(report: Mapping[str, Any], t: Translator) -> str:
    """One self-contained page in ``t``'s language; the analysis time in ``t``'s zone, named."""
    esc = html.escape
    body = report["families"]
    parts = [f"<!doctype html><html lang='{t.lang}'><head><meta charset='utf-8'>"
             f"<title>{esc(t('feedback.report.title'))}</title>",
             "<style>body{font-family:sans-serif;max-width:60rem;margin:2rem auto;line-height:1.5}"
             "h2{border-bottom:1px solid #ccc}code{background:#f4f4f4}</style></head><body>",
             f"<h1>{esc(t('feedback.report.title'))}</h1>"]
    when = t("feedback.report.as_of", date=t.day(report["as_of"]), time=t.dt(report.get("created_at")),
             zone=t.zone_name())
    parts.append(f"<p>{esc(when)}</p>")
    if not body:
        parts.append(f"<p>{esc(t('feedback.report.empty'))}</p>")
    for family, part in body.items():
        texts = part[t.lang]
        parts.append(f"<h2>{esc(t('feedback.report.family', family=family))}</h2>"
                     f"<h3>{esc(t('feedback.report.findings'))}</h3><ul>")
        parts.extend(f"<li>{esc(s)}</li>" for s in texts["findings"])
        parts.append("</ul>")
        if part["changes"]:
            parts.append(f"<h3>{esc(t('feedback.report.changes'))}</h3><ul>")
            parts.extend(f"<li><code>{esc(line)}</code></li>" for line in part["changes"])
            parts.append(f"</ul><h3>{esc(t('feedback.report.fairness'))}</h3><ul>")
            parts.extend(f"<li>{esc(s)}</li>" for s in texts["fairness"])
            parts.append("</ul>")
        parts.append(f"<p><strong>{esc(t('feedback.report.status'))}</strong>: {esc(texts['status'])}</p>")
    parts.append("</body></html>")
    return "".join(parts)


def store_report(store: Any, report: Mapping[str, Any], t: Translator | None = None) -> str:
    """Put ``feedback/<run>.html`` (``HRBRIDGE_LANG`` unless ``t``) and ``.json`` (both languages) in the store.

    Returns the HTML key; ``hrbridge feedback report --lang`` writes the page in the other language.
    """
    t = t or report_translator()
    name = report["run_id"]
    store.put("feedback", f"{name}.json", json.dumps(report, ensure_ascii=False, indent=1, default=str).encode("utf-8"),
              "application/json")
    return store.put("feedback", f"{name}.html", render_html(report, t).encode("utf-8"), "text/html; charset=utf-8",
                     {"run_id": name, "lang": t.lang})
