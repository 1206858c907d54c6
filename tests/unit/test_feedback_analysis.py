"""The feedback analysis finds what the generator planted, and only that (tests/factories/feedback.py)."""

from __future__ import annotations

import math

import pandas as pd
import pytest
import yaml

from configs import __file__ as configs_init
from tests.factories import feedback as planted
from transforms.feedback_proposal import fairness_of_change, propose_rules
from transforms.feedback_stats import AnalysisSettings, analyse, outcome_flags

RULES = yaml.safe_load((__import__("pathlib").Path(configs_init).parent / "question_rules.yaml").read_text("utf-8"))


@pytest.fixture(scope="module")
def archive() -> planted.PlantedArchive:
    return planted.planted_archive(6000, seed=11)


@pytest.fixture(scope="module")
def findings(archive: planted.PlantedArchive) -> dict[tuple[str, str, str], object]:
    settings = AnalysisSettings()
    frame = archive.hires.set_index("application_id").join(
        outcome_flags(archive.hires, archive.outcomes, archive.as_of, settings))
    return {(f.job_family, f.dimension, f.outcome): f for f in analyse(frame, planted.DIMENSIONS, settings)}


@pytest.mark.parametrize(("family", "dimension", "outcome", "log_odds"), [
    ("Sales", "customer_negotiation", "top_performer", planted.NEGOTIATION_LOG_ODDS),
    ("Sales", "collaboration", "early_leaver", planted.TEAMWORK_LOG_ODDS),
    ("Engineering", "technical_depth", "top_performer", planted.TECHNICAL_LOG_ODDS),
])
def test_planted_effects_found_within_their_intervals(findings, family, dimension, outcome, log_odds) -> None:
    finding = findings[(family, dimension, outcome)]
    assert finding.status == "found"
    assert finding.ci_low <= math.exp(log_odds) <= finding.ci_high
    assert finding.p_adjusted < 0.05 and finding.p_adjusted >= finding.p_value
    assert finding.extra["correction"] == "holm"


def test_null_dimension_reports_no_effect(findings) -> None:
    for outcome in ("top_performer", "early_leaver"):
        finding = findings[("Sales", "communication", outcome)]
        assert finding.status == "no_effect"
        assert finding.ci_low <= 1.0 <= finding.ci_high
    found = {key for key, f in findings.items() if f.status == "found"}
    assert found == {("Sales", "customer_negotiation", "top_performer"), ("Sales", "collaboration", "early_leaver"),
                     ("Engineering", "technical_depth", "top_performer")}


def test_small_family_declined_with_the_reason(findings) -> None:
    service = [f for key, f in findings.items() if key[0] == "Customer Service"]
    assert service and all(f.status == "declined" for f in service)
    assert all("at least 200 are needed" in f.reason and f.odds_ratio is None for f in service)


def test_outcome_unknown_until_the_window_closes() -> None:
    hires = pd.DataFrame({"application_id": ["a", "b", "c"], "hire_date": ["2026-01-01", "2020-01-01", "2020-01-01"]})
    outcomes = pd.DataFrame({"application_id": ["b", "c"], "kind": ["separation", "rating"],
                             "effective_date": ["2020-05-01", "2020-12-01"], "rating_norm": [None, 1.0],
                             "separation_type": ["voluntary", None]})
    flags = outcome_flags(hires, outcomes, pd.Timestamp("2026-06-30").date(), AnalysisSettings())
    assert flags["early_leaver"].isna()["a"] and flags.loc["b", "early_leaver"] and not flags.loc["c", "early_leaver"]
    assert flags["top_performer"].isna()["a"] and flags["top_performer"].isna()["b"] and flags.loc["c", "top_performer"]


def test_proposal_raises_supported_weights_adds_teamwork_and_flags_the_unfair_change(archive, findings) -> None:
    draft = propose_rules(RULES, findings.values())
    lines = {c.line(): c for c in draft.changes}
    assert "+ Sales.scenarios: gen-conflict (collaboration)" in lines
    sales = draft.rules["job_families"]["Sales"]["weights"]
    assert sales["customer_negotiation"] > RULES["job_families"]["Sales"]["weights"]["customer_negotiation"]
    assert math.isclose(sum(sales.values()), 1.0, abs_tol=1e-3)
    assert all(c.evidence for c in draft.changes if not c.note.startswith("re-normalised"))
    assert RULES["job_families"]["Sales"]["weights"]["customer_negotiation"] == 0.35  # input untouched
    people = archive.hires.merge(archive.attributes, on="person_key")
    checks = {family: fairness_of_change(people[people["job_family"] == family],
                                         RULES["job_families"][family]["weights"],
                                         draft.rules["job_families"][family]["weights"], ["gender"])
              for family in draft.families}
    assert checks["Sales"]["flags"] == []
    (flag,) = checks["Engineering"]["flags"]
    assert flag["group"] == ["B"] and flag["ratio_before"] >= 0.8 > flag["ratio_after"]


def test_protected_attributes_are_not_model_inputs(archive, findings) -> None:
    settings = AnalysisSettings()
    frame = archive.hires.merge(archive.attributes, on="person_key").set_index("application_id").join(
        outcome_flags(archive.hires, archive.outcomes, archive.as_of, settings))
    frame["gender"] = frame["gender"].sample(frac=1, random_state=1).to_numpy()  # scrambled: nothing may move
    again = {(f.job_family, f.dimension, f.outcome): f.odds_ratio for f in analyse(frame, planted.DIMENSIONS, settings)}
    assert again == {key: f.odds_ratio for key, f in findings.items()}


def test_grouped_fit_equals_logit_person_by_person() -> None:
    import numpy as np
    import statsmodels.api as sm

    from transforms.feedback_stats import _fit

    rng = np.random.default_rng(1)
    scores = np.round(rng.normal(6.5, 1.5, 3000), 1)
    outcome = (rng.random(3000) < 1 / (1 + np.exp(-(-1 + 0.5 * (scores - 6.5))))).astype(float)
    logit = sm.Logit(outcome, sm.add_constant(scores)).fit(disp=0)
    expected = (math.exp(logit.params[1]), *np.exp(logit.conf_int()[1]), logit.pvalues[1])
    assert np.allclose(_fit(scores, outcome), expected, rtol=1e-6)
