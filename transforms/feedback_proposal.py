"""From findings to a proposed change of the question rules, and its four-fifths check.

:func:`propose_rules` raises the weight of each dimension with a found effect in the good direction
(more top performers or fewer early leavers per point) in proportion to the effect: the weight is
multiplied by the odds ratio per point (its inverse for leaving early), at most ``max_factor`` per
outcome. A dimension the family does not weigh yet starts from ``step`` and is added with a
scenario for it taken from another family. The family's weights are then re-normalised to their
old total. Every changed line carries its
evidence. Findings in the other direction are listed for a person to look at, never applied.

:func:`fairness_of_change` computes, on historical candidates, who would pass under the old and
the new weights (the top ``pass_share`` by weighted score) and the adverse-impact ratios of both
with :func:`transforms.fairness.impact_ratios` (the one implementation). A group whose ratio under
the new weights is below the floor and lower than before is a flag.

Pure functions; the rules document is never modified in place.
"""

from __future__ import annotations

import copy
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from transforms.fairness import DEFAULT_FLOOR, DEFAULT_MIN_SHARE, impact_ratios
from transforms.feedback_stats import Finding
from transforms.question_plan import DEFAULT_FAMILY


@dataclass
class Change:
    """One line of a proposal: a weight from ``old`` to ``new``, or a scenario added, with evidence."""

    job_family: str
    kind: str  # weight | add_scenario
    dimension: str
    old: float | None = None
    new: float | None = None
    scenario_id: str | None = None
    evidence: list[dict[str, Any]] = field(default_factory=list)
    note: str = ""

    def line(self) -> str:
        """The diff line as a person reads it, e.g. ``Sales.weights.customer_negotiation: 0.35 → 0.43``."""
        if self.kind == "add_scenario":
            return f"+ {self.job_family}.scenarios: {self.scenario_id} ({self.dimension})"
        old = "—" if self.old is None else f"{self.old:.4g}"
        return f"~ {self.job_family}.weights.{self.dimension}: {old} → {self.new:.4g}"

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready, with the rendered ``line``."""
        return {**asdict(self), "line": self.line()}


@dataclass
class ProposalDraft:
    """Proposed rules, the changes that make them, and findings shown but not applied."""

    rules: dict[str, Any]
    changes: list[Change]
    not_applied: list[dict[str, Any]] = field(default_factory=list)

    @property
    def families(self) -> list[str]:
        """Families whose rules change."""
        return sorted({c.job_family for c in self.changes})


def _rules_family(rules: Mapping[str, Any], name: str) -> str | None:
    for family in rules.get("job_families") or {}:
        if family.lower() == name.strip().lower() and family != DEFAULT_FAMILY:
            return family
    return None


def _donor_scenario(rules: Mapping[str, Any], dimension: str) -> dict[str, Any] | None:
    """A scenario for ``dimension`` from the default family first, then any family."""
    families = rules.get("job_families") or {}
    order = [DEFAULT_FAMILY, *sorted(f for f in families if f != DEFAULT_FAMILY)]
    for family in order:
        for scenario in (families.get(family) or {}).get("scenarios") or ():
            if scenario.get("dimension") == dimension:
                return copy.deepcopy(dict(scenario))
    return None


def _evidence(finding: Finding) -> dict[str, Any]:
    keys = ("outcome", "odds_ratio", "ci_low", "ci_high", "p_value", "p_adjusted", "people", "events",
            "share_high_with", "share_high_without")
    return {k: getattr(finding, k) for k in keys}


def propose_rules(rules: Mapping[str, Any], findings: Iterable[Finding], *, step: float = 0.1,
                  max_factor: float = 2.0) -> ProposalDraft:
    """The rules with weights raised for supported dimensions; see the module docstring."""
    proposed = copy.deepcopy(dict(rules))
    families = proposed.setdefault("job_families", {})
    support: dict[tuple[str, str], list[Finding]] = {}
    not_applied: list[dict[str, Any]] = []
    for finding in findings:
        if finding.status != "found":
            continue
        family = _rules_family(proposed, finding.job_family)
        if family is None:
            not_applied.append({**finding.to_dict(), "why": "the job family has no rules of its own"})
        elif finding.supports_more_weight:
            support.setdefault((family, finding.dimension), []).append(finding)
        else:
            not_applied.append({**finding.to_dict(), "why": "higher scores went with the worse outcome: for a person to look at"})
    changes: list[Change] = []
    for family in sorted({f for f, _ in support}):
        spec = families[family]
        old = {str(k): float(v) for k, v in (spec.get("weights") or {}).items()}
        raised = dict(old)
        evidence: dict[str, list[dict[str, Any]]] = {}
        for (fam, dimension), found in sorted(support.items()):
            if fam != family:
                continue
            weight = raised.get(dimension) or step
            for finding in found:
                ratio = finding.odds_ratio if finding.outcome == "top_performer" else 1 / finding.odds_ratio
                weight *= min(max(ratio, 1.0), max_factor)
            raised[dimension] = weight
            evidence[dimension] = [_evidence(f) for f in found]
            scenarios = spec.setdefault("scenarios", [])
            extra = proposed.get("extra_scenarios") or ()
            if not any(s.get("dimension") == dimension for s in [*scenarios, *extra]):
                donor = _donor_scenario(proposed, dimension)
                if donor is not None:
                    scenarios.append(donor)
                    changes.append(Change(family, "add_scenario", dimension, scenario_id=str(donor["id"]),
                                          evidence=evidence[dimension],
                                          note="the family had no scenario for this dimension"))
        total_old = sum(old.values()) or 1.0
        total_new = sum(raised.values())
        new = {d: round(w * total_old / total_new, 4) for d, w in raised.items()}
        spec["weights"] = new
        for dimension in sorted(new):
            if abs(new[dimension] - old.get(dimension, 0.0)) < 1e-9:
                continue
            changes.append(Change(family, "weight", dimension, old.get(dimension), new[dimension],
                                  evidence=evidence.get(dimension, []),
                                  note="" if dimension in evidence else "re-normalised: other weights rose"))
    return ProposalDraft(proposed, changes, not_applied)


def weighted_scores(frame: pd.DataFrame, weights: Mapping[str, float]) -> pd.Series:
    """Weighted mean of the dimension scores each person has (weights of missing dimensions left out)."""
    dims = [d for d in weights if d in frame.columns]
    if not dims:
        return pd.Series(np.nan, index=frame.index)
    values = frame[dims].to_numpy(dtype="float64", na_value=np.nan)
    w = np.array([weights[d] for d in dims], dtype="float64")
    present = ~np.isnan(values)
    total = (present * w).sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        score = np.where(total > 0, np.nansum(values * w, axis=1) / total, np.nan)
    return pd.Series(score, index=frame.index)


def pass_flags(frame: pd.DataFrame, weights: Mapping[str, float], pass_share: float) -> pd.Series:
    """``True`` for the top ``pass_share`` of people by weighted score (missing score → ``<NA>``)."""
    score = weighted_scores(frame, weights)
    cut = score.quantile(1 - pass_share)
    flags = (score >= cut).astype("boolean")
    flags[score.isna()] = pd.NA
    return flags


def fairness_of_change(frame: pd.DataFrame, old_weights: Mapping[str, float], new_weights: Mapping[str, float],
                       attributes: Sequence[str], *, pass_share: float = 0.5, floor: float = DEFAULT_FLOOR,
                       min_share: float = DEFAULT_MIN_SHARE) -> dict[str, Any]:
    """Impact ratios of pass rates before and after, per attribute; ``flags`` lists the breaches.

    ``frame`` holds historical candidates: dimension score columns and the attribute columns. The
    attributes only group people here; they never enter the weighted score.
    """
    data = frame.copy()
    data["_pass_old"] = pass_flags(frame, old_weights, pass_share)
    data["_pass_new"] = pass_flags(frame, new_weights, pass_share)
    result: dict[str, Any] = {"people": int(len(frame)), "pass_share": pass_share, "floor": floor,
                              "attributes": {}, "flags": []}
    for attribute in attributes:
        if attribute not in data.columns:
            continue
        before = impact_ratios(data, [attribute], "_pass_old", floor=floor, min_share=min_share)
        after = impact_ratios(data, [attribute], "_pass_new", floor=floor, min_share=min_share)
        result["attributes"][attribute] = {"before": before.to_dict(), "after": after.to_dict()}
        ratios_before = {g.group: g.impact_ratio for g in before.included}
        for group in after.below_floor:
            old_ratio = ratios_before.get(group.group)
            if old_ratio is None or group.impact_ratio < old_ratio:
                result["flags"].append({"attribute": attribute, "group": list(group.group),
                                        "ratio_before": old_ratio, "ratio_after": group.impact_ratio,
                                        "people": group.people})
    return result
