"""A plain-words explanation of an AI interview assessment, in Chinese or English.

What a candidate receives when they ask why: the factors of the match report (each with its weight,
its score and the reason), the dimension scores, and what the AI did not assess. Pure: the caller
passes the stored result and the configured texts.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

FACTOR_NAMES = {
    "en-US": {"skills": "Skills from your résumé", "experience": "Years of experience",
              "interview": "AI interview score"},
    "zh-CN": {"skills": "简历中的技能", "experience": "工作年限", "interview": "AI 面试得分"},
}
TEXTS = {
    "en-US": {
        "title": "How the AI assessed your interview",
        "none": "No AI assessment of your interview is stored, so none was used.",
        "alternative": "You asked for another process: a person interviews you and no AI score is used.",
        "match": "Match with the job: {match}% (a recommendation for the recruiter; a person decides).",
        "factors": "It is made of these factors:",
        "factor": "- {name}: weight {weight:.0%}, score {score:.0%} - {detail}",
        "left_out": "Left out for lack of data: {names}.",
        "dimensions": "Scores per interview dimension (0-100):",
        "dimension": "- {name}: {score:g}",
        "overall": "Overall interview score: {score:g} of 100 (model {model}).",
        "not_assessed": "The AI did not assess:",
        "human": "A person makes every decision on your application. You may ask for a decision by a person "
                 "without the AI recommendation.",
    },
    "zh-CN": {
        "title": "AI 如何评估您的面试",
        "none": "系统中没有保存对您面试的 AI 评估，因此没有使用任何 AI 评估。",
        "alternative": "您已申请其他流程：由面试官面试，不使用任何 AI 评分。",
        "match": "与职位的匹配度：{match}%（仅供招聘人员参考，由人作出决定）。",
        "factors": "匹配度由以下因素组成：",
        "factor": "- {name}：权重 {weight:.0%}，得分 {score:.0%} - {detail}",
        "left_out": "因缺少数据未计入：{names}。",
        "dimensions": "各面试维度得分（0-100）：",
        "dimension": "- {name}：{score:g}",
        "overall": "面试总分：{score:g} / 100（模型 {model}）。",
        "not_assessed": "AI 没有评估：",
        "human": "关于您申请的每一项决定都由人作出。您可以要求由人在不参考 AI 建议的情况下作出决定。",
    },
}


def language_of(locale: str | None) -> str:
    """``zh-CN`` for any Chinese locale, else ``en-US``."""
    return "zh-CN" if (locale or "").lower().startswith("zh") else "en-US"


def explain(result: Mapping[str, Any] | None, locale: str | None, not_assessed: Sequence[str],
            *, alternative: bool = False) -> str:
    """The explanation text for one application's stored result (``None``: nothing stored).

    ``alternative`` says the candidate asked for another process, so no AI score is shown or used.
    """
    lang = language_of(locale)
    t, names = TEXTS[lang], FACTOR_NAMES[lang]
    lines = [t["title"], ""]
    if alternative:
        lines.append(t["alternative"])
    elif not result:
        lines.append(t["none"])
    else:
        report = result.get("match_report") or {}
        if result.get("match_percent") is not None:
            lines.append(t["match"].format(match=f"{float(result['match_percent']):g}"))
        if report.get("factors"):
            lines.append(t["factors"])
            lines += [t["factor"].format(name=names.get(f["factor"], f["factor"]), weight=float(f["weight"]),
                                         score=float(f["score"]), detail=f.get("detail") or "")
                      for f in report["factors"]]
        if report.get("left_out"):
            lines.append(t["left_out"].format(names=", ".join(names.get(n, n) for n in report["left_out"])))
        lines += ["", t["overall"].format(score=float(result["overall_score"]), model=result.get("model_version") or "?")]
        dimensions = [d for d in result.get("dimensions") or [] if d.get("score") is not None]
        if dimensions:
            lines.append(t["dimensions"])
            lines += [t["dimension"].format(name=d["name"], score=float(d["score"])) for d in dimensions]
    if not_assessed:
        lines += ["", t["not_assessed"], *(f"- {item}" for item in not_assessed)]
    lines += ["", t["human"]]
    return "\n".join(lines)
