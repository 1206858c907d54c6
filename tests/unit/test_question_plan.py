"""Personalised question plans: family scenarios, resume adjustments, determinism, versions."""

from __future__ import annotations

import copy

import pytest
import yaml

from hrbridge.settings import PACKAGE_CONFIGS
from transforms.canonical import ResumeSignals
from transforms.question_plan import (
    PlanInputs,
    QuestionPlanner,
    QuestionRulesError,
    build_question_plan,
    seniority,
)


@pytest.fixture(scope="module")
def rules():
    return yaml.safe_load((PACKAGE_CONFIGS / "question_rules.yaml").read_text(encoding="utf-8"))


def _plan(rules, family, years=None, skills=(), locale="en-US"):
    return build_question_plan(rules, PlanInputs(family, ResumeSignals(years, tuple(skills)), locale))


def test_sales_gets_customer_negotiation_scenarios(rules) -> None:
    plan = _plan(rules, "Sales", years=4)
    assert plan["job_family"] == "Sales"
    assert plan["questions"][0]["dimension"] == "customer_negotiation"
    assert any(q["scenario"] == "customer_negotiation" for q in plan["questions"])
    assert len(plan["questions"]) == rules["questions_per_plan"]
    assert sum(q["weight"] for q in plan["questions"]) == pytest.approx(1.0, abs=1e-3)


def test_engineering_differs_from_sales(rules) -> None:
    engineering = _plan(rules, "engineering", years=4)  # family match ignores case
    assert engineering["job_family"] == "Engineering"
    assert not any(q["dimension"] == "customer_negotiation" for q in engineering["questions"])


def test_senior_candidates_get_leadership_and_senior_scenarios(rules) -> None:
    junior, senior = _plan(rules, "Sales", years=1), _plan(rules, "Sales", years=10, skills=["key_accounts"])
    assert senior["level"] == "senior" and junior["level"] == "junior"
    assert "leadership" in senior["weights"] and "leadership" not in junior["weights"]
    senior_ids = [q["id"] for q in senior["questions"]]
    assert "sales-enterprise-deal" in senior_ids
    assert "sales-enterprise-deal" not in [q["id"] for q in junior["questions"]]
    assert "learning_agility" in junior["weights"]


def test_skills_prefer_matching_scenarios(rules) -> None:
    with_python = _plan(rules, "Engineering", years=4, skills=["python"])
    without = _plan(rules, "Engineering", years=4)
    first = {p["questions"][0]["id"] for p in (with_python, without)}
    assert first == {"eng-design-python", "eng-design-general"}


def test_locale_selects_prompt_language(rules) -> None:
    zh = _plan(rules, "Sales", years=4, locale="zh-CN")
    assert "客户" in zh["questions"][0]["prompt"]
    fallback = _plan(rules, "Sales", years=4, locale="fr-FR")
    assert fallback["questions"][0]["prompt"].startswith("A key customer")


def test_unknown_family_uses_default(rules) -> None:
    assert _plan(rules, "Astronaut")["job_family"] == "default"
    assert _plan(rules, None)["job_family"] == "default"


def test_plans_are_deterministic_and_versions_track_inputs_and_rules(rules) -> None:
    a, b = _plan(rules, "Sales", years=4), _plan(rules, "Sales", years=4)
    assert a == b
    assert _plan(rules, "Sales", years=5)["version"] != a["version"]
    changed = copy.deepcopy(rules)
    changed["time_limit_seconds"] = 240
    assert build_question_plan(changed, PlanInputs("Sales", ResumeSignals(4.0), "en-US"))["version"] != a["version"]


def test_planner_reuses_plans_for_equal_inputs(rules) -> None:
    planner = QuestionPlanner(rules)
    inputs = PlanInputs("Sales", ResumeSignals(4.0), "en-US")
    first = planner.plan(inputs)
    assert first == build_question_plan(rules, inputs)
    assert planner.plan(PlanInputs("Sales", ResumeSignals(4.0), "en-US")) is first
    assert planner.plan(PlanInputs("Sales", ResumeSignals(5.0), "en-US")) is not first


def test_seniority_levels(rules) -> None:
    assert [seniority(rules, y) for y in (None, 0, 3, 8)] == ["mid", "junior", "mid", "senior"]


def test_bad_rules_are_reported(rules) -> None:
    with pytest.raises(QuestionRulesError, match="job_families"):
        QuestionPlanner({})
    broken = {"job_families": {"Sales": {"weights": {}}}}
    with pytest.raises(QuestionRulesError, match="default"):
        _plan(broken, "Finance")
    with pytest.raises(QuestionRulesError, match="non-empty 'weights'"):
        _plan(broken, "Sales")
