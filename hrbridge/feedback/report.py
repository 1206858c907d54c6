"""The HR report of one feedback analysis, per job family, in Simplified Chinese and English.

Plain words first: which interview dimensions went with top ratings or early leaving, how strongly
(odds per score point, with the 95 % range), on how many people, what was not concluded and why,
the four-fifths check of the proposal, and the proposal's status. One self-contained HTML page
(both languages) plus the JSON behind it, stored in the artefact store as ``feedback/<run>.html``.
"""

from __future__ import annotations

import html
import json
from collections.abc import Mapping
from typing import Any

DIMENSIONS_ZH = {"customer_negotiation": "客户谈判", "communication": "沟通", "resilience": "抗压能力",
                 "problem_solving": "解决问题", "technical_depth": "技术深度", "collaboration": "团队协作",
                 "empathy": "同理心", "motivation": "动机", "leadership": "领导力", "learning_agility": "学习敏捷度"}
STATUS = {"en": {"proposed": "waiting for a decision", "approved": "approved and in use", "rejected": "rejected",
                 None: "no change proposed"},
          "zh": {"proposed": "等待审批", "approved": "已批准并启用", "rejected": "已拒绝", None: "无修改建议"}}


def dimension_name(dimension: str, lang: str) -> str:
    """A dimension as people say it (``customer_negotiation`` → customer negotiation / 客户谈判)."""
    return DIMENSIONS_ZH.get(dimension, dimension) if lang == "zh" else dimension.replace("_", " ")


def finding_sentence(f: Mapping[str, Any], lang: str, settings: Mapping[str, Any],
                     scenarios: list[str] | None = None) -> str:
    """One finding in plain words, naming the scenarios that ask about the dimension."""
    text = _sentence(f, lang, settings)
    if scenarios and f["status"] != "declined":
        text += f"（情景：{'、'.join(scenarios)}）" if lang == "zh" else f" (scenarios: {', '.join(scenarios)})"
    return text


def _sentence(f: Mapping[str, Any], lang: str, settings: Mapping[str, Any]) -> str:
    dim = dimension_name(f["dimension"], lang)
    top = f["outcome"] == "top_performer"
    months = settings.get("top_within_months" if top else "attrition_within_months")
    high = settings.get("high_score", 8)
    if f["status"] == "declined":
        return (f"{dim}：数据不足，暂不下结论（{f['people']} 人）。" if lang == "zh"
                else f"{dim}: not enough data to conclude — {f['reason']}.")
    if f["status"] == "no_effect":
        what = ("入职后{m}个月内获得最高绩效" if top else "入职{m}个月内离职").format(m=months)
        return (f"{dim}：与{what}没有明确关联（{f['people']} 人）。" if lang == "zh"
                else f"{dim}: no clear link with {'a top rating' if top else 'leaving'} within {months} months "
                     f"({f['people']} people).")
    ratio, low, upper = f["odds_ratio"], f["ci_low"], f["ci_high"]
    up = ratio > 1
    with_share, without = f.get("share_high_with"), f.get("share_high_without")
    if lang == "zh":
        what = f"入职后{months}个月内获得最高绩效" if top else f"入职{months}个月内离职"
        change = "提高" if up else "降低"
        text = (f"{dim}：面试得分每高 1 分，{what}的几率{change}到原来的 {ratio:.2f} 倍"
                f"（95% 区间 {low:.2f}–{upper:.2f}；{f['people']} 人，其中 {f['events']} 人{('获最高绩效' if top else '提前离职')}）。")
        if with_share is not None:
            group = "最高绩效者" if top else "提前离职者"
            text += f"{group}中 {with_share:.0%} 得分在 {high:g} 分及以上，其他人中为 {without:.0%}。"
        return text
    what = f"a top rating within {months} months" if top else f"leaving within {months} months"
    text = (f"{dim}: each extra interview point {'raised' if up else 'lowered'} the odds of {what} to {ratio:.2f} times "
            f"(95% range {low:.2f}–{upper:.2f}; {f['people']} people, {f['events']} "
            f"{'rated top' if top else 'left early'}).")
    if with_share is not None:
        group = "top performers" if top else "early leavers"
        text += f" Of the {group}, {with_share:.0%} scored {high:g} or more, against {without:.0%} of the others."
    return text


def fairness_sentences(check: Mapping[str, Any] | None, lang: str) -> list[str]:
    """The four-fifths check of one family in plain words."""
    if not check:
        return []
    if not check.get("checked"):
        return ["公平性检查未能进行：档案中没有记录受保护属性，无法排除不利影响。批准需要书面理由。" if lang == "zh"
                else f"Fairness check not possible: {check.get('reason')}. Approval needs a written justification."]
    out = []
    for flag in check.get("flags") or []:
        group = "/".join(flag["group"])
        before = flag.get("ratio_before")
        if lang == "zh":
            out.append(f"公平性警示：按新权重，{flag['attribute']} 为 {group} 的候选人通过率仅为最高群体的 "
                       f"{flag['ratio_after']:.0%}（调整前 {before:.0%}），低于五分之四（80%）标准。批准需要书面理由。")
        else:
            out.append(f"Fairness flag: with the new weights, candidates with {flag['attribute']} {group} would pass at "
                       f"{flag['ratio_after']:.0%} of the best group's rate (before: {before:.0%}), below the "
                       "four-fifths floor. Approval needs a written justification.")
    if not out:
        lowest = [a["after"]["min_ratio"] for a in (check.get("attributes") or {}).values()
                  if a["after"]["min_ratio"] is not None]
        low = f"{min(lowest):.0%}" if lowest else "—"
        out.append(f"公平性检查通过：新权重下各群体通过率均不低于最高群体的 80%（最低 {low}）。" if lang == "zh"
                   else f"Fairness check passed: under the new weights every group passes at 80% or more of the best "
                        f"group's rate (lowest {low}).")
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
    out: dict[str, Any] = {"run_id": analysis["run_id"], "as_of": str(analysis["as_of"]),
                           "proposal_version": (proposal or {}).get("version"), "families": {}}
    order = {"found": 0, "no_effect": 1, "declined": 2}
    for family, found in sorted(families.items()):
        found = sorted(found, key=lambda f: (order.get(f["status"], 3), f["outcome"], f["dimension"]))
        check = next((v for k, v in fairness.items() if k.lower() == family.lower()), None)
        scenarios = next((v for k, v in by_family.items() if k.lower() == family.lower()), {})
        lines = [c["line"] for c in changes if c["job_family"].lower() == family.lower()]
        out["families"][family] = {
            lang: {"findings": [finding_sentence(f, lang, settings, scenarios.get(f["dimension"])) for f in found],
                   "fairness": fairness_sentences(check, lang),
                   "status": STATUS[lang][status if lines else None]}
            for lang in ("en", "zh")
        } | {"changes": lines, "people": max((f["people"] for f in found), default=0)}
    return out


def render_html(report: Mapping[str, Any]) -> str:
    """One self-contained page, Chinese first then English."""
    esc = html.escape
    parts = ["<!doctype html><html><head><meta charset='utf-8'><title>Interview feedback / 面试反馈</title>",
             "<style>body{font-family:sans-serif;max-width:60rem;margin:2rem auto;line-height:1.5}"
             "h2{border-bottom:1px solid #ccc}code{background:#f4f4f4}</style></head><body>"]
    titles = {"zh": ("面试反馈报告", "分析日期", "岗位族", "发现", "公平性", "建议修改", "状态"),
              "en": ("Interview feedback report", "As of", "Job family", "Findings", "Fairness", "Proposed changes", "Status")}
    for lang in ("zh", "en"):
        t = titles[lang]
        parts.append(f"<section lang='{lang}'><h1>{esc(t[0])}</h1><p>{esc(t[1])}: {esc(report['as_of'])}</p>")
        if not report["families"]:
            parts.append("<p>档案中还没有带面试得分的入职记录，暂无可分析的内容。</p>" if lang == "zh"
                         else "<p>The archive holds no hires with interview scores yet: nothing to conclude.</p>")
        for family, body in report["families"].items():
            parts.append(f"<h2>{esc(t[2])}: {esc(family)}</h2><h3>{esc(t[3])}</h3><ul>")
            parts.extend(f"<li>{esc(s)}</li>" for s in body[lang]["findings"])
            parts.append("</ul>")
            if body["changes"]:
                parts.append(f"<h3>{esc(t[5])}</h3><ul>")
                parts.extend(f"<li><code>{esc(line)}</code></li>" for line in body["changes"])
                parts.append(f"</ul><h3>{esc(t[4])}</h3><ul>")
                parts.extend(f"<li>{esc(s)}</li>" for s in body[lang]["fairness"])
                parts.append("</ul>")
            parts.append(f"<p><strong>{esc(t[6])}</strong>: {esc(body[lang]['status'])}</p>")
        parts.append("</section>")
    parts.append("</body></html>")
    return "".join(parts)


def store_report(store: Any, report: Mapping[str, Any]) -> str:
    """Put ``feedback/<run>.html`` and ``.json`` into the artefact store; returns the HTML key."""
    name = report["run_id"]
    store.put("feedback", f"{name}.json", json.dumps(report, ensure_ascii=False, indent=1, default=str).encode("utf-8"),
              "application/json")
    return store.put("feedback", f"{name}.html", render_html(report).encode("utf-8"), "text/html; charset=utf-8")
