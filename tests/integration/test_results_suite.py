"""The interview-results suite through real Great Expectations: one bad result per rule."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
import yaml

from tests.factories.results import NOW, known_invitations, make_result, make_results
from transforms.results import CheckParameters, derive_check_columns, flatten_results
from validation.results_suite import SuiteConfigError, SuiteRunner, load_rules

CONFIGS = Path(__file__).resolve().parents[2] / "configs"


@pytest.fixture(scope="module")
def runner() -> SuiteRunner:
    name, rules = load_rules(
        CONFIGS / "expectations" / "interview_results.yaml",
        {"scale": {"min": 0, "max": 100}, "keywords": {"max_items": 20, "max_chars": 40}},
    )
    return SuiteRunner(name, rules)


@pytest.fixture(scope="module")
def params() -> CheckParameters:
    return CheckParameters.from_config(yaml.safe_load((CONFIGS / "interview_results.yaml").read_text()))


def _validate(runner: SuiteRunner, params: CheckParameters, bad: dict, known: set[str] | None = None):
    results = make_results(4) + [bad]
    known = known if known is not None else known_invitations(results)
    frame = derive_check_columns(flatten_results(results), params, known, NOW)
    return runner.validate(frame)


def _iso(delta: timedelta) -> str:
    return (NOW + delta).isoformat()


BAD_RESULTS = {
    "required_fields": make_result(9, candidate_id=None),
    "overall_score_in_scale": make_result(9, overall_score=140),
    "dimension_scores_in_scale": make_result(9, dimensions=[{"name": "communication", "score": -3}]),
    "dimensions_known": make_result(9, dimensions=[{"name": "astrology", "score": 50}]),
    "keywords_well_formed": make_result(9, keywords=["x" * 200]),
    "clips_valid": make_result(9, clips=[{"clip_id": "clip-9", "url": "https://m.example.test/c/9",
                                          "expires_at": _iso(timedelta(days=-1))}]),
    "completed_after_invited": make_result(9, completed_at=_iso(timedelta(days=-3))),
}


@pytest.mark.parametrize("rule", sorted(BAD_RESULTS))
def test_each_rule_catches_its_kind_of_bad_result(runner, params, rule: str) -> None:
    outcome = _validate(runner, params, BAD_RESULTS[rule])
    assert outcome.rules_by_row() == {4: [rule]}
    assert outcome.failure_counts[rule] == 1
    assert sum(outcome.failure_counts.values()) == 1


def test_known_invitation_rule(runner, params) -> None:
    outcome = _validate(runner, params, make_result(9), known=known_invitations(make_results(4)))
    assert outcome.rules_by_row() == {4: ["known_invitation"]}


def test_a_row_breaking_several_rules_lists_them_all(runner, params) -> None:
    bad = make_result(9, overall_score=500, keywords="nope", dimensions=[{"name": "astrology", "score": 50}])
    outcome = _validate(runner, params, bad)
    assert outcome.rules_by_row() == {4: ["overall_score_in_scale", "dimensions_known", "keywords_well_formed"]}


def test_each_broken_expectation_is_named_with_its_column(runner, params) -> None:
    outcome = _validate(runner, params, make_result(9, candidate_id=None, completed_at=None))
    assert sorted(outcome.expectations_by_row()[4]) == [
        "expect_column_values_to_not_be_null(candidate_id)",
        "expect_column_values_to_not_be_null(completed_at)",
    ]


def test_clean_batch_passes_and_result_is_gx_json(runner, params) -> None:
    frame = derive_check_columns(flatten_results(make_results(5)), params, known_invitations(make_results(5)), NOW)
    outcome = runner.validate(frame)
    assert outcome.rows_checked == 5 and len(outcome.failed_rows) == 0
    doc = outcome.to_json_dict()
    assert doc["success"] is True and doc["suite_name"] == "interview_results"


def test_rule_titles_are_plain_words_with_scale(runner) -> None:
    titles = {rule.name: rule.title for rule in runner.rules}
    assert titles["overall_score_in_scale"] == "Overall score outside 0–100"


def test_malformed_suite_names_the_rule(tmp_path: Path) -> None:
    path = tmp_path / "suite.yaml"
    path.write_text("rules:\n  - name: x\n    expectation: expect_column_values_to_not_be_null\n")
    with pytest.raises(SuiteConfigError, match=r"rule #1 \(x\)"):
        load_rules(path, {})


def test_missing_column_is_named(runner) -> None:
    import pandas as pd

    with pytest.raises(SuiteConfigError, match="clips_ok"):
        runner.validate(pd.DataFrame({"result_id": ["a"]}))
