"""Flattening raw interview results and deriving the columns the validation suite checks."""

from __future__ import annotations

import math

import pytest

from tests.factories.results import NOW, known_invitations, make_result, make_results
from transforms.results import CheckParameters, derive_check_columns, flatten_results

PARAMS = CheckParameters(
    dimensions={"default": ("communication",), "Sales": ("communication", "customer_negotiation")},
    max_keywords=3,
    max_keyword_chars=10,
)


def derive(results: list[dict], known: set[str] | None = None):
    frames = flatten_results(results)
    return derive_check_columns(frames, PARAMS, known if known is not None else known_invitations(results), NOW)


def test_valid_results_pass_every_helper_check() -> None:
    frame = derive(make_results(3))
    assert len(frame) == 3
    assert frame["dimensions_known"].all() and frame["keywords_ok"].all() and frame["clips_ok"].all()
    assert frame["belongs_to_known_invitation"].all()
    assert (frame["completion_lag_seconds"] > 0).all()
    assert frame["dimension_score_min"].tolist() == [65.0] * 3
    assert frame["dimension_score_max"].tolist() == [80.0] * 3


def test_empty_strings_and_bad_dates_become_missing() -> None:
    frame = derive([make_result(1, candidate_id="  ", completed_at="yesterday")])
    assert frame["candidate_id"].isna().all()
    assert frame["completed_at"].isna().all()


def test_scores_on_another_scale_are_rescaled() -> None:
    result = make_result(1, overall_score=4, scale={"min": 0, "max": 5},
                         dimensions=[{"name": "communication", "score": 5}])
    frame = derive([result])
    assert frame["overall_score"].iloc[0] == pytest.approx(80.0)
    assert frame["dimension_score_max"].iloc[0] == pytest.approx(100.0)


def test_non_numeric_dimension_score_counts_as_outside_scale() -> None:
    frame = derive([make_result(1, dimensions=[{"name": "communication", "score": "high"}])])
    assert math.isinf(frame["dimension_score_max"].iloc[0])


def test_unknown_dimension_or_none_at_all_is_flagged_per_family() -> None:
    frame = derive([
        make_result(1, dimensions=[{"name": "customer_negotiation", "score": 50}]),
        make_result(2, job_family="Engineering", dimensions=[{"name": "customer_negotiation", "score": 50}]),
        make_result(3, dimensions=[]),
    ])
    assert frame["dimensions_known"].tolist() == [True, False, False]


@pytest.mark.parametrize("keywords, ok", [
    (["a", "b", "c"], True),
    (["a", "b", "c", "d"], False),
    (["much-too-long-word"], False),
    (["fine", 7], False),
    ("not a list", False),
    ([""], False),
    ([], True),
])
def test_keywords_must_be_a_short_list_of_short_strings(keywords: object, ok: bool) -> None:
    assert derive([make_result(1, keywords=keywords)])["keywords_ok"].tolist() == [ok]


def test_clip_checks_id_url_and_expiry() -> None:
    good = make_result(1)["clips"][0]
    frame = derive([
        make_result(1),
        make_result(2, clips=[{**good, "expires_at": "2020-01-01T00:00:00Z"}]),
        make_result(3, clips=[{**good, "url": "not a url"}]),
        make_result(4, clips=[{**good, "clip_id": None}]),
        make_result(5, clips=[]),
    ])
    assert frame["clips_ok"].tolist() == [True, False, False, False, True]


def test_unknown_invitation_is_flagged() -> None:
    frame = derive(make_results(2), known={"inv-00001"})
    assert frame["belongs_to_known_invitation"].tolist() == [True, False]
