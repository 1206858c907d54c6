"""The bias audit on a generated population whose rates and impact ratios are computed by hand."""

from __future__ import annotations

import pandas as pd
import pytest

from tests.factories.fairness import population
from transforms.bias_audit import audit_population, summary


@pytest.fixture(scope="module")
def audit():
    frame = pd.DataFrame(population())
    return audit_population(frame, ["sex", "race_ethnicity"], period="2026-11", pass_marks={"Sales": 85},
                            floor=0.8, min_share=0.02)


def _groups(report) -> dict[str, tuple[int, int, float, float | None, bool]]:
    return {g.label: (g.people, g.positive, g.rate, g.impact_ratio, g.excluded) for g in report.groups}


def test_scoring_rates_and_impact_ratios_by_sex(audit) -> None:
    sales = audit.families[1]
    assert (sales.job_family, sales.people, sales.median, sales.pass_mark) == ("Sales", 100, 50.0, 85.0)
    by_sex = _groups(sales.reports["scoring"][0])
    assert by_sex["female"][:3] == (50, 30, pytest.approx(0.6))
    assert by_sex["male"][:3] == (45, 18, pytest.approx(0.4))
    assert by_sex["female"][3] == pytest.approx(1.0)
    assert by_sex["male"][3] == pytest.approx(0.4 / 0.6)  # 0.667: below the four-fifths floor
    assert by_sex["nonbinary"] == (1, 1, 1.0, None, True)  # 1 % of the people: excluded, listed
    assert sales.reports["scoring"][0].unknown == 4


def test_selection_rates_where_a_pass_mark_is_configured(audit) -> None:
    sales, engineering = audit.families[1], audit.families[0]
    by_sex = _groups(sales.reports["selection"][0])
    assert by_sex["female"][:3] == (50, 20, pytest.approx(0.4))
    assert by_sex["male"][:3] == (45, 9, pytest.approx(0.2))
    assert by_sex["male"][3] == pytest.approx(0.5)
    assert "selection" not in engineering.reports  # no pass mark for Engineering here


def test_race_and_intersections(audit) -> None:
    sales = audit.families[1]
    by_race = _groups(sales.reports["scoring"][1])
    assert by_race["A"][:2] == (53, 30) and by_race["B"][:2] == (47, 20)
    assert by_race["B"][3] == pytest.approx((20 / 47) / (30 / 53))  # 0.752
    both = sales.reports["scoring"][2]
    assert both.attributes == ("sex", "race_ethnicity") and both.unknown == 4
    cells = _groups(both)
    assert cells["female × A"][2:4] == (pytest.approx(18 / 25), pytest.approx(1.0))
    assert cells["female × B"][3] == pytest.approx((12 / 25) / (18 / 25))
    assert cells["male × A"][3] == pytest.approx((10 / 23) / (18 / 25))
    assert cells["male × B"][3] == pytest.approx((8 / 22) / (18 / 25))
    assert cells["nonbinary × A"][4] is True


def test_planted_disparity_is_flagged_and_a_fair_family_is_not(audit) -> None:
    flags = audit.flags()
    assert flags and {f["job_family"] for f in flags} == {"Sales"}
    assert {"measure": "scoring", "group": ["male"]}.items() <= next(
        f for f in flags if f["group"] == ["male"] and f["measure"] == "scoring").items()
    engineering = audit.families[0]
    assert all(g.impact_ratio == pytest.approx(1.0) for g in engineering.reports["scoring"][0].included)


def test_summaries_in_chinese_and_english_list_rates_exclusions_and_unknowns(audit) -> None:
    en, zh = summary(audit, "en-US"), summary(audit, "zh-CN")
    assert "| sex | male | 45 | 0.400 | 0.667 |" in en and "excluded (under 2%)" in en
    assert "Category unknown (sex): 4 people" in en
    assert "| sex | male | 45 | 0.400 | 0.667 |" in zh and "已排除" in zh and "类别未知（sex）：4 人" in zh
    assert "评分率" in zh and "通过率" in zh
