"""The bias audit of AI interview scores: rates and impact ratios per job family, category and intersection.

Pure: a population frame in (one row per scored application: ``job_family``, ``overall_score`` and a
column per category), an :class:`AuditResult` out. Every rate and ratio comes from
:func:`transforms.fairness.impact_ratios`, the same code as the feedback loop's fairness check.

* scoring rate: share above the job family's overall median score (:func:`transforms.fairness.above_median`);
* selection rate: share at or above the pass mark, where one is configured for the job family.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from transforms.fairness import ImpactReport, above_median, impact_ratios, intersections

MEASURES = ("scoring", "selection")


@dataclass(frozen=True)
class FamilyAudit:
    """One job family's people, median, pass mark and the reports per measure and category set."""

    job_family: str
    people: int
    median: float | None
    pass_mark: float | None
    reports: dict[str, list[ImpactReport]] = field(default_factory=dict)


@dataclass(frozen=True)
class AuditResult:
    """The whole audit of one period."""

    period: str
    categories: tuple[str, ...]
    floor: float
    min_share: float
    families: list[FamilyAudit]

    def flags(self) -> list[dict[str, Any]]:
        """Every included group whose impact ratio is below the floor, with where it was found."""
        return [
            {"job_family": family.job_family, "measure": measure, "attributes": list(report.attributes),
             "group": list(group.group), "rate": group.rate, "impact_ratio": group.impact_ratio}
            for family in self.families for measure, reports in family.reports.items()
            for report in reports for group in report.below_floor
        ]

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready: the settings, every family's reports and the flags."""
        return {
            "period": self.period, "categories": list(self.categories), "floor": self.floor,
            "min_share": self.min_share, "flags": self.flags(),
            "families": [
                {"job_family": f.job_family, "people": f.people, "median": f.median, "pass_mark": f.pass_mark,
                 **{measure: [r.to_dict() for r in reports] for measure, reports in f.reports.items()}}
                for f in self.families
            ],
        }


def pass_mark_for(pass_marks: Mapping[str, Any], job_family: str) -> float | None:
    """The configured pass mark of ``job_family`` (else ``default``; None when neither is set)."""
    mark = pass_marks.get(job_family, pass_marks.get("default"))
    return None if mark is None else float(mark)


def audit_population(
    frame: pd.DataFrame, categories: Sequence[str], *, period: str, pass_marks: Mapping[str, Any] | None = None,
    floor: float = 0.8, min_share: float = 0.02, max_order: int = 2,
) -> AuditResult:
    """Scoring and selection rates with impact ratios per job family, for each category and intersection.

    Category columns missing from ``frame`` count as unknown for everyone.
    """
    categories = tuple(categories)
    frame = frame.copy()
    for column in categories:
        if column not in frame.columns:
            frame[column] = pd.NA
    families = []
    for family, people in frame.groupby("job_family", sort=True):
        people = people.copy()
        people["_scoring"] = above_median(people["overall_score"])
        mark = pass_mark_for(pass_marks or {}, str(family))
        measures = {"scoring": "_scoring"}
        if mark is not None:
            scores = pd.to_numeric(people["overall_score"], errors="coerce")
            people["_selection"] = (scores >= mark).astype("boolean").mask(scores.isna())
            measures["selection"] = "_selection"
        reports = {
            measure: [impact_ratios(people, attrs, column, floor=floor, min_share=min_share)
                      for attrs in intersections(categories, max_order)]
            for measure, column in measures.items()
        }
        median = pd.to_numeric(people["overall_score"], errors="coerce").median()
        families.append(FamilyAudit(str(family), len(people), None if pd.isna(median) else float(median), mark, reports))
    return AuditResult(period, categories, floor, min_share, families)


TEXT = {
    "en-US": {
        "title": "Bias audit of AI interview scores - {period}",
        "intro": "Scoring rate: share of candidates scoring above the job family's median. Selection rate: share "
                 "at or above the pass mark. Impact ratio: a group's rate divided by the highest group's rate "
                 "(floor {floor:g}). Groups under {share:.0%} of the people are excluded from the ratios and listed.",
        "family": "## {family}: {people} candidates, median score {median}, pass mark {mark}",
        "head": "| {measure} | group | people | rate | impact ratio |",
        "excluded": "excluded (under {share:.0%})",
        "unknown": "Category unknown ({attrs}): {n} people (counted, not guessed).",
        "flags": "Impact ratios below {floor:g}: {n}.",
        "none": "No impact ratio is below {floor:g}.",
        "scoring": "scoring rate", "selection": "selection rate", "no_mark": "none",
    },
    "zh-CN": {
        "title": "AI 面试评分偏差审计 - {period}",
        "intro": "评分率：得分高于该职位族中位数的候选人比例。通过率：得分达到及格线的比例。影响比：某群体的比率除以比率最高群体的比率"
                 "（下限 {floor:g}）。占人数不足 {share:.0%} 的群体不参与影响比计算，并单独列出。",
        "family": "## {family}：{people} 名候选人，中位数 {median}，及格线 {mark}",
        "head": "| {measure} | 群体 | 人数 | 比率 | 影响比 |",
        "excluded": "已排除（不足 {share:.0%}）",
        "unknown": "类别未知（{attrs}）：{n} 人（计入统计，不做推测）。",
        "flags": "低于 {floor:g} 的影响比：{n} 个。",
        "none": "没有低于 {floor:g} 的影响比。",
        "scoring": "评分率", "selection": "通过率", "no_mark": "无",
    },
}


def summary(result: AuditResult, language: str) -> str:
    """A publishable summary (Markdown) in ``zh-CN`` or ``en-US``: every rate, ratio, exclusion and unknown count."""
    t = TEXT["zh-CN" if language.lower().startswith("zh") else "en-US"]
    lines = [f"# {t['title'].format(period=result.period)}", "",
             t["intro"].format(floor=result.floor, share=result.min_share), ""]
    for family in result.families:
        median = "-" if family.median is None else f"{family.median:g}"
        mark = t["no_mark"] if family.pass_mark is None else f"{family.pass_mark:g}"
        lines += [t["family"].format(family=family.job_family, people=family.people, median=median, mark=mark), ""]
        for measure, reports in family.reports.items():
            lines += [t["head"].format(measure=t[measure]), "|---|---|---:|---:|---:|"]
            for report in reports:
                for g in report.groups:
                    ratio = t["excluded"].format(share=result.min_share) if g.excluded else (
                        "-" if g.impact_ratio is None else f"{g.impact_ratio:.3f}")
                    lines.append(f"| {' × '.join(report.attributes)} | {g.label} | {g.people} | {g.rate:.3f} | {ratio} |")
            lines.append("")
            lines += [t["unknown"].format(attrs=" × ".join(r.attributes), n=r.unknown) for r in reports if r.unknown]
            lines.append("")
    flags = result.flags()
    lines.append(t["flags"].format(floor=result.floor, n=len(flags)) if flags else t["none"].format(floor=result.floor))
    return "\n".join(lines) + "\n"
