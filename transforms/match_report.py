"""Explainable match %: how well an application fits its job, factor by factor.

Three factors, each scored 0..1 with a sentence saying why: required skills found in the resume,
years of experience against the requisition's minimum, and the interview's overall score on its
scale. The match % is the weighted sum; factors without data are left out and the remaining
weights renormalised (and the report says so), so a missing resume never silently counts as 0.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

DEFAULT_WEIGHTS = {"skills": 0.35, "experience": 0.25, "interview": 0.40}


def _normalised(items: Iterable[Any] | None) -> list[str]:
    seen: dict[str, None] = {}
    for item in items or ():
        text = str(item).strip().lower()
        if text:
            seen.setdefault(text, None)
    return list(seen)


def skills_factor(required: Iterable[Any] | None, found: Iterable[Any] | None) -> tuple[float, str] | None:
    """Share of required skills present among the resume's skills; None when nothing is required."""
    required_list = _normalised(required)
    if not required_list:
        return None
    found_set = set(_normalised(found))
    matched = [s for s in required_list if s in found_set]
    missing = [s for s in required_list if s not in found_set]
    detail = f"{len(matched)} of {len(required_list)} required skills found"
    if matched:
        detail += f" ({', '.join(matched)})"
    if missing:
        detail += f"; missing: {', '.join(missing)}"
    return len(matched) / len(required_list), detail


def experience_factor(min_years: Any, years: Any) -> tuple[float, str] | None:
    """Years of experience against the minimum (capped at 1); None when either is unknown."""
    if min_years is None or years is None:
        return None
    try:
        need, have = float(min_years), float(years)
    except (TypeError, ValueError):
        return None
    score = 1.0 if need <= 0 else max(0.0, min(have / need, 1.0))
    return score, f"{have:g} years of experience for {need:g} required"


def interview_factor(score: Any, scale_min: float, scale_max: float) -> tuple[float, str] | None:
    """The interview's overall score placed on 0..1 of its scale; None when there is no score."""
    if score is None or scale_max <= scale_min:
        return None
    try:
        value = float(score)
    except (TypeError, ValueError):
        return None
    share = max(0.0, min((value - scale_min) / (scale_max - scale_min), 1.0))
    return share, f"interview score {value:g} on a {scale_min:g}–{scale_max:g} scale"


def build_match_report(
    *,
    required_skills: Iterable[Any] | None,
    min_years: Any,
    resume_skills: Iterable[Any] | None,
    years_experience: Any,
    interview_score: Any,
    scale_min: float = 0.0,
    scale_max: float = 100.0,
    weights: Mapping[str, float] | None = None,
) -> dict[str, Any]:
    """Return ``{"match_percent", "factors": [...], "left_out": [...]}`` for one application.

    Each factor row has ``factor``, ``weight`` (after renormalisation), ``score`` (0..1),
    ``contribution`` (percentage points; contributions add up to ``match_percent``) and ``detail``.
    ``match_percent`` is None when no factor has data.
    """
    weights = dict(DEFAULT_WEIGHTS if weights is None else weights)
    evaluated = {
        "skills": skills_factor(required_skills, resume_skills),
        "experience": experience_factor(min_years, years_experience),
        "interview": interview_factor(interview_score, scale_min, scale_max),
    }
    available = {k: v for k, v in evaluated.items() if v is not None and weights.get(k, 0) > 0}
    left_out = [k for k in evaluated if k not in available]
    total_weight = sum(weights[k] for k in available)
    factors = []
    exact = 0.0
    for name, (score, detail) in available.items():
        weight = weights[name] / total_weight
        exact += weight * score
        factors.append({
            "factor": name,
            "weight": round(weight, 4),
            "score": round(score, 4),
            "contribution": round(weight * score * 100, 1),
            "detail": detail,
        })
    match = round(exact * 100, 1) if factors else None
    return {"match_percent": match, "factors": factors, "left_out": left_out}
