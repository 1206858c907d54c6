"""The interview-feedback HR report speaks one language at a time, every text from the one catalogue."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime

import pytest

from hrbridge.feedback.report import build_report, render_html
from hrbridge.i18n import Translator, catalogue, zone

SETTINGS = {"top_within_months": 18, "attrition_within_months": 12, "high_score": 8}


def _finding(dimension: str, outcome: str, status: str, **values) -> dict:
    base = {"job_family": "Sales", "dimension": dimension, "outcome": outcome, "status": status, "people": 240,
            "events": 60, "odds_ratio": None, "ci_low": None, "ci_high": None, "share_high_with": None,
            "share_high_without": None, "reason": None, "extra": {}}
    return {**base, **values}


ANALYSIS = {
    "run_id": "fb-1", "as_of": date(2026, 6, 30), "created_at": datetime(2026, 7, 1, 1, 30, tzinfo=UTC),
    "settings": SETTINGS, "summary": {"scenarios": {"Sales": {"customer_negotiation": ["Price objection"]}}},
    "findings": [
        _finding("customer_negotiation", "top_performer", "found", odds_ratio=1.8, ci_low=1.3, ci_high=2.4,
                 share_high_with=0.8, share_high_without=0.35),
        _finding("collaboration", "early_leaver", "found", odds_ratio=0.6, ci_low=0.45, ci_high=0.8,
                 share_high_with=0.2, share_high_without=0.5),
        _finding("communication", "top_performer", "no_effect", odds_ratio=1.02, ci_low=0.9, ci_high=1.1),
        _finding("resilience", "early_leaver", "declined", people=12, events=3,
                 reason="only 12 people with a score and a known outcome; at least 30 are needed",
                 extra={"why": {"key": "min_sample", "count": 12, "needed": 30}}),
        _finding("empathy", "early_leaver", "declined", people=14, reason="stored before reasons had keys"),
        _finding("leadership", "top_performer", "declined", extra={"why": {"key": "separation"}}),
    ],
}
PROPOSAL = {"version": 2, "status": "proposed",
            "changes": [{"job_family": "Sales", "line": "~ Sales.weights.customer_negotiation: 0.35 -> 0.42"}],
            "fairness": {"Sales": {"checked": True, "flags": [{"attribute": "gender", "group": ["F"],
                                                               "ratio_after": 0.72, "ratio_before": 0.86}],
                                   "attributes": {}}}}
CJK = re.compile(r"[\u3000-\u303f\u4e00-\u9fff\uff00-\uffef]")


@pytest.fixture(scope="module")
def report() -> dict:
    return build_report(ANALYSIS, PROPOSAL)


def test_the_english_page_has_no_chinese_and_the_chinese_page_no_english_sentence(report) -> None:
    english = render_html(report, Translator("en", zone("Europe/London")))
    chinese = render_html(report, Translator("zh", zone("Asia/Shanghai")))
    assert CJK.findall(english) == [] and "lang='en'" in english
    assert "Interview feedback report" in english and "not enough data to conclude" in english
    assert "only 12 people with a score" in english and "rated top" in english
    assert "面试反馈报告" in chinese and "lang='zh'" in chinese and "客户谈判" in chinese
    assert "有得分和已知结果的仅 12 人，至少需要 30 人" in chinese  # the reason, in Chinese too
    assert "得分几乎完全区分了结果" in chinese and "14 人" in chinese  # a keyless (older) reason: the count
    assert "公平性警示" in chinese and "等待审批" in chinese and "情景：Price objection" in chinese
    visible = re.sub(r"<[^>]+>", " ", re.sub(r"<code>.*?</code>", "", chinese.split("</style>")[1]))
    english_words = {w for key, texts in catalogue().items() if key.startswith(("feedback.report.", "dimension."))
                     for w in re.findall(r"[A-Za-z]{4,}", texts["en"])} - {"Sales", "gender", "Price", "objection"}
    leaked = sorted(w for w in english_words if re.search(rf"\b{w}\b", visible))
    assert leaked == []


def test_the_analysis_time_is_shown_in_hrbridge_tz_with_the_zone_named(report) -> None:
    shanghai = render_html(report, Translator("zh", zone("Asia/Shanghai")))
    assert "2026年7月1日 09:30:00" in shanghai and "Asia/Shanghai" in shanghai
    london = render_html(report, Translator("en", zone("Europe/London")))
    assert "1 Jul 2026, 02:30:00" in london and "Europe/London" in london and "30 Jun 2026" in london


def test_the_json_keeps_both_languages_for_the_pages(report) -> None:
    sales = report["families"]["Sales"]
    assert sales["en"]["status"] == "waiting for a decision" and sales["zh"]["status"] == "等待审批"
    assert len(sales["en"]["findings"]) == len(sales["zh"]["findings"]) == 6
    assert CJK.findall(" ".join(sales["en"]["findings"] + sales["en"]["fairness"])) == []
