"""Impact ratios: rates, ratios, the 2 % exclusion and unknown categories, against hand-computed values."""

from __future__ import annotations

import pandas as pd
import pytest

from transforms.fairness import above_median, impact_ratios, intersections


def people(spec: list[tuple[str, str, int, int]]) -> pd.DataFrame:
    """Rows from (sex, region, people, positive) tuples: ``positive`` of the group's people selected."""
    rows = []
    for sex, region, count, positive in spec:
        rows += [{"sex": sex, "region": region, "selected": i < positive} for i in range(count)]
    return pd.DataFrame(rows)


def test_rates_and_ratios_equal_hand_computed_values() -> None:
    frame = people([("female", "north", 40, 20), ("male", "north", 50, 30), ("female", "south", 10, 2)])
    report = impact_ratios(frame, ["sex"], "selected")
    by = {g.group: g for g in report.groups}
    assert by[("female",)].rate == pytest.approx(22 / 50)
    assert by[("male",)].rate == pytest.approx(30 / 50)
    assert report.reference == ("male",)
    assert by[("female",)].impact_ratio == pytest.approx((22 / 50) / (30 / 50))
    assert by[("male",)].impact_ratio == pytest.approx(1.0)
    assert [g.group for g in report.below_floor] == [("female",)]  # 0.733 < 0.8
    assert report.min_ratio == pytest.approx(22 / 30)


def test_intersections_and_small_groups_are_excluded_and_listed() -> None:
    frame = people([("female", "north", 60, 30), ("male", "north", 59, 30), ("male", "south", 1, 1)])
    report = impact_ratios(frame, ["sex", "region"], "selected")
    excluded = [g.group for g in report.excluded]
    assert excluded == [("male", "south")]  # 1 of 120 people < 2 %
    assert report.reference == ("male", "north")  # the 100 % group is excluded, not the reference
    assert all(g.impact_ratio is None for g in report.excluded)
    assert report.to_dict()["groups"][-1]["excluded"] is True


def test_unknown_categories_are_counted_not_rated() -> None:
    frame = people([("female", "north", 10, 5), ("male", "north", 10, 5)])
    frame.loc[0, "sex"] = None
    frame.loc[1, "sex"] = "Prefer_not_to_say "
    report = impact_ratios(frame, ["sex"], "selected")
    assert report.unknown == 2
    assert sum(g.people for g in report.groups) == 18


def test_scoring_rate_uses_the_median_of_everyone() -> None:
    scores = pd.Series([1.0, 2.0, 3.0, 4.0, None])
    assert above_median(scores).tolist() == [False, False, True, True, pd.NA]
    frame = pd.DataFrame({"sex": ["f", "f", "m", "m", "m"], "above": above_median(scores)})
    report = impact_ratios(frame, ["sex"], "above")
    by = {g.group: g for g in report.groups}
    assert by[("f",)].rate == 0.0 and by[("m",)].rate == 1.0 and by[("m",)].people == 2


def test_no_positive_outcome_leaves_ratios_undefined_and_says_so() -> None:
    report = impact_ratios(people([("f", "n", 5, 0), ("m", "n", 5, 0)]), ["sex"], "selected")
    assert report.min_ratio is None and "undefined" in report.notes[0]


def test_intersections_lists_singles_then_pairs() -> None:
    assert intersections(["sex", "race", "age"]) == [
        ("sex",), ("race",), ("age",), ("sex", "race"), ("sex", "age"), ("race", "age")]


def test_missing_columns_are_named() -> None:
    with pytest.raises(KeyError, match="region"):
        impact_ratios(pd.DataFrame({"sex": ["f"], "selected": [True]}), ["region"], "selected")
