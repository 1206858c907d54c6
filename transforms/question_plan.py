"""Personalised interview question plans from declarative rules (``configs/question_rules.yaml``).

A plan starts from the job family's dimension weights and scenarios (Sales gets customer-negotiation
scenarios, Engineering system design, ...), then resume signals adjust it: years of experience set
the seniority level (senior-only scenarios, extra leadership weight), skills prefer matching
scenarios and may add weight. Everything is deterministic: scenarios are ranked by explicit keys,
never by chance, and the plan version is a hash of the rules and the inputs, so rebuilding a plan for
the same application yields the same version (and the same invitation idempotency key).
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from transforms.canonical import ResumeSignals

DEFAULT_FAMILY = "default"


class QuestionRulesError(ValueError):
    """The question rules are malformed; the message names the family/scenario at fault."""


@dataclass(frozen=True)
class PlanInputs:
    """What a plan depends on besides the rules."""

    job_family: str | None
    signals: ResumeSignals
    locale: str = "en-US"


def resolve_family(rules: Mapping[str, Any], job_family: str | None) -> str:
    """The rules' family name matching ``job_family`` (case-insensitive), else ``default``."""
    families = rules.get("job_families") or {}
    wanted = (job_family or "").strip().lower()
    for name in families:
        if name.lower() == wanted:
            return name
    if DEFAULT_FAMILY not in families:
        raise QuestionRulesError(f"question rules have no family {job_family!r} and no 'default' family")
    return DEFAULT_FAMILY


def seniority(rules: Mapping[str, Any], years: float | None) -> str:
    """Seniority level for ``years`` of experience from the rules' ``levels`` (first match wins)."""
    if years is None:
        return str(rules.get("default_level", "mid"))
    for level in rules.get("levels") or ():
        if years >= float(level.get("min_years", 0)):
            return str(level["name"])
    return str(rules.get("default_level", "mid"))


def _condition_holds(when: Mapping[str, Any], family: str, years: float | None, skills: set[str]) -> bool:
    if "job_family" in when and str(when["job_family"]).lower() != family.lower():
        return False
    if "min_years" in when and (years is None or years < float(when["min_years"])):
        return False
    if "max_years" in when and (years is None or years > float(when["max_years"])):
        return False
    if "any_skill" in when and not skills.intersection(when["any_skill"]):
        return False
    return True


def dimension_weights(rules: Mapping[str, Any], family: str, signals: ResumeSignals) -> dict[str, float]:
    """Family base weights plus every applicable adjustment, normalised to sum to 1."""
    base = (rules["job_families"][family] or {}).get("weights")
    if not isinstance(base, Mapping) or not base:
        raise QuestionRulesError(f"job family {family!r} needs non-empty 'weights'")
    weights = {str(k): float(v) for k, v in base.items()}
    skills = set(signals.skills)
    for adjustment in rules.get("adjustments") or ():
        if _condition_holds(adjustment.get("when") or {}, family, signals.years_experience, skills):
            for dim, delta in (adjustment.get("add_weights") or {}).items():
                weights[dim] = weights.get(dim, 0.0) + float(delta)
    return _normalise({d: w for d, w in weights.items() if w > 0})


def _normalise(weights: Mapping[str, float]) -> dict[str, float]:
    total = sum(weights.values())
    if total <= 0:
        raise QuestionRulesError("dimension weights must add up to more than zero")
    return {d: w / total for d, w in weights.items()}


def _prompt(scenario: Mapping[str, Any], locale: str) -> str:
    prompt = scenario.get("prompt")
    if isinstance(prompt, str):
        return prompt
    if not isinstance(prompt, Mapping) or not prompt:
        raise QuestionRulesError(f"scenario {scenario.get('id')!r} needs a prompt")
    language = locale.split("-")[0].lower()
    for key in (locale, *[k for k in prompt if str(k).split("-")[0].lower() == language], "en-US"):
        if key in prompt:
            return str(prompt[key])
    return str(next(iter(prompt.values())))


def _rank_scenarios(
    scenarios: Sequence[Mapping[str, Any]], level: str, skills: set[str]
) -> dict[str, list[Mapping[str, Any]]]:
    """Eligible scenarios per dimension, best first: skill matches, scenarios for absent skills last, level-specific, file order."""
    by_dimension: dict[str, list[tuple[tuple[int, ...], Mapping[str, Any]]]] = {}
    for position, scenario in enumerate(scenarios):
        if "id" not in scenario or "dimension" not in scenario:
            raise QuestionRulesError(f"scenario #{position + 1} needs 'id' and 'dimension'")
        levels = scenario.get("levels")
        if levels and level not in levels:
            continue
        wanted_skills = scenario.get("skills") or ()
        matches = len(skills.intersection(wanted_skills))
        key = (-matches, 1 if wanted_skills and not matches else 0, 0 if levels else 1, position)
        by_dimension.setdefault(str(scenario["dimension"]), []).append((key, scenario))
    return {dim: [s for _, s in sorted(items, key=lambda item: item[0])] for dim, items in by_dimension.items()}


def rules_digest(rules: Mapping[str, Any]) -> str:
    """Stable hash of the rules document (key order does not matter)."""
    text = json.dumps(rules, sort_keys=True, ensure_ascii=False, default=str)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def plan_version(rules: Mapping[str, Any], inputs: PlanInputs, digest: str | None = None) -> str:
    """Hash of the rules and the inputs: same rules + same inputs → same version."""
    payload = json.dumps(
        {"rules": digest or rules_digest(rules), "job_family": inputs.job_family,
         "signals": inputs.signals.to_dict(), "locale": inputs.locale},
        sort_keys=True, ensure_ascii=False,
    )
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()[:16]


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-") or "plan"


def build_question_plan(rules: Mapping[str, Any], inputs: PlanInputs, digest: str | None = None) -> dict[str, Any]:
    """Build the plan for one application.

    Returns ``{plan_id, version, job_family, level, weights, questions}`` where each question has
    ``id, dimension, scenario, prompt, weight, time_limit_seconds`` and the question weights sum to 1.
    """
    family = resolve_family(rules, inputs.job_family)
    level = seniority(rules, inputs.signals.years_experience)
    weights = dimension_weights(rules, family, inputs.signals)
    scenarios = list((rules["job_families"][family] or {}).get("scenarios") or ())
    scenarios += list(rules.get("extra_scenarios") or ())
    ranked = _rank_scenarios(scenarios, level, set(inputs.signals.skills))
    dimensions = sorted((d for d in weights if ranked.get(d)), key=lambda d: (-weights[d], d))
    if not dimensions:
        raise QuestionRulesError(f"job family {family!r} has no scenario for any weighted dimension")
    wanted = int(rules.get("questions_per_plan", 5))
    chosen: list[tuple[str, Mapping[str, Any]]] = []
    depth = 0
    while len(chosen) < wanted:
        added = False
        for dim in dimensions:
            if len(chosen) < wanted and depth < len(ranked[dim]):
                chosen.append((dim, ranked[dim][depth]))
                added = True
        if not added:
            break
        depth += 1
    per_dimension = {dim: sum(1 for d, _ in chosen if d == dim) for dim in dimensions}
    covered = _normalise({d: weights[d] for d in dimensions if per_dimension[d]})
    time_limit = int(rules.get("time_limit_seconds", 180))
    questions = [
        {
            "id": str(scenario["id"]),
            "dimension": dim,
            "scenario": str(scenario.get("scenario", dim)),
            "prompt": _prompt(scenario, inputs.locale),
            "weight": round(covered[dim] / per_dimension[dim], 4),
            "time_limit_seconds": int(scenario.get("time_limit_seconds", time_limit)),
        }
        for dim, scenario in chosen
    ]
    version = plan_version(rules, inputs, digest)
    return {
        "plan_id": f"{_slug(family)}-{level}-{version[:8]}",
        "version": version,
        "job_family": family,
        "level": level,
        "weights": {d: round(w, 4) for d, w in covered.items()},
        "questions": questions,
    }


class QuestionPlanner:
    """Builds plans for many applications: hashes the rules once and reuses plans for equal inputs."""

    def __init__(self, rules: Mapping[str, Any]) -> None:
        if not isinstance(rules, Mapping) or not isinstance(rules.get("job_families"), Mapping):
            raise QuestionRulesError("question rules need a 'job_families' mapping")
        self.rules = rules
        self.digest = rules_digest(rules)
        self._cache: dict[tuple[Any, ...], dict[str, Any]] = {}

    def plan(self, inputs: PlanInputs) -> dict[str, Any]:
        """The plan for ``inputs``; shared between equal inputs, so treat it as read-only."""
        signals = inputs.signals
        key = (inputs.job_family, inputs.locale, signals.years_experience, signals.skills,
               signals.languages, signals.education)
        plan = self._cache.get(key)
        if plan is None:
            plan = self._cache[key] = build_question_plan(self.rules, inputs, self.digest)
        return plan
