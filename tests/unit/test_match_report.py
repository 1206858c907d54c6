"""Explainable match %: factor scores, weights renormalised over factors with data."""

from __future__ import annotations

import pytest

from transforms.match_report import build_match_report


def test_all_factors_contribute_and_add_up() -> None:
    report = build_match_report(
        required_skills=["Python", "SQL", "Airflow", "Spark"], min_years=4,
        resume_skills=["python", "sql", "excel"], years_experience=2,
        interview_score=80, weights={"skills": 0.4, "experience": 0.2, "interview": 0.4},
    )
    by_factor = {f["factor"]: f for f in report["factors"]}
    assert by_factor["skills"]["score"] == 0.5
    assert "missing: airflow, spark" in by_factor["skills"]["detail"]
    assert by_factor["experience"]["score"] == 0.5
    assert by_factor["interview"]["score"] == 0.8
    assert report["match_percent"] == pytest.approx(0.4 * 50 + 0.2 * 50 + 0.4 * 80)
    assert sum(f["contribution"] for f in report["factors"]) == pytest.approx(report["match_percent"], abs=0.15)
    assert report["left_out"] == []


def test_missing_inputs_are_left_out_not_counted_as_zero() -> None:
    report = build_match_report(
        required_skills=[], min_years=None, resume_skills=None, years_experience=None,
        interview_score=3, scale_min=1, scale_max=5,
    )
    assert report["left_out"] == ["skills", "experience"]
    assert [f["factor"] for f in report["factors"]] == ["interview"]
    assert report["factors"][0]["weight"] == 1.0
    assert report["match_percent"] == 50.0


def test_experience_is_capped_and_no_data_gives_none() -> None:
    capped = build_match_report(required_skills=None, min_years=2, resume_skills=None,
                                years_experience=10, interview_score=None)
    assert capped["match_percent"] == 100.0
    empty = build_match_report(required_skills=None, min_years=None, resume_skills=None,
                               years_experience=None, interview_score=None)
    assert empty["match_percent"] is None and empty["factors"] == []
