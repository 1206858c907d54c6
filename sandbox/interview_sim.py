"""How the interview sandbox invents results: scores, keywords, comments, and deliberate faults.

Scores follow the question plan (its dimensions and weights); keywords come from the plan's
scenarios in Chinese or English; ``spoil`` breaks a result in one of the ``BAD_KINDS`` ways so a
validation suite has something real to catch.
"""

from __future__ import annotations

import random
import re
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from connectors.interview import parse_rfc3339, to_rfc3339

MODEL_VERSION = "hrb-sim-interviewer-2026.11"
CLIP_LIFETIME = timedelta(days=7)
MAX_KEYWORD_LENGTH = 32
BAD_KINDS = {
    "score_out_of_range": "a dimension score lies outside the 0-100 scale",
    "unknown_dimension": "a dimension name is not in the invitation's question plan",
    "missing_required_field": "a required field is absent",
    "expired_clip": "a clip link expires before the interview was completed",
    "completed_before_invited": "completed_at is earlier than invited_at",
    "keywords_not_short_strings": "keywords is not a list of short strings",
    "unknown_invitation": "invitation_id refers to no invitation",
}
DROPPABLE_FIELDS = ("overall_score", "candidate_id", "completed_at", "dimensions", "job_family")
_CJK = re.compile(r"[\u4e00-\u9fff]")
_STOPWORDS = frozenset("a an and the of to in on for with at by from under during when your you".split())
_DIMENSION_WORDS = {
    "communication": ("clear structure", "沟通清晰"),
    "problem_solving": ("root cause", "问题拆解"),
    "teamwork": ("collaboration", "团队协作"),
    "leadership": ("ownership", "领导力"),
    "customer_focus": ("customer empathy", "客户导向"),
    "technical": ("technical depth", "专业能力"),
    "learning_agility": ("fast learner", "学习敏捷"),
    "integrity": ("accountability", "诚信"),
}


def keywords(plan: dict[str, Any], locale: str) -> list[str]:
    """Short keywords taken from the plan's scenarios plus one per dimension, deduplicated."""
    found: list[str] = []
    for question in plan["questions"]:
        for segment in re.split(r"[，、,;；/|()（）:：]+", question["scenario"]):
            segment = segment.strip()
            if not segment:
                continue
            if _CJK.search(segment):
                found.append(segment[:12])
            else:
                words = [w for w in re.findall(r"[A-Za-z][A-Za-z-]+", segment) if w.lower() not in _STOPWORDS]
                if words:
                    found.append(" ".join(words[:3]).lower()[:MAX_KEYWORD_LENGTH])
        english, chinese = _DIMENSION_WORDS.get(question["dimension"], (question["dimension"], ""))
        found.append(chinese if locale == "zh-CN" and chinese else english.replace("_", " "))
    unique = list(dict.fromkeys(k[:MAX_KEYWORD_LENGTH] for k in found if k))
    return unique[:8]


def dimension_comment(dimension: str, score: float, locale: str) -> str:
    """A one-line interviewer remark on a dimension score, in the invitation's locale."""
    band = 0 if score >= 80 else 1 if score >= 60 else 2
    if locale == "zh-CN":
        return f"{dimension}：" + ("表现突出，例证充分" if band == 0 else "基本达标，细节可加强" if band == 1 else "证据不足，需要追问")
    return f"{dimension}: " + ("strong, well-evidenced" if band == 0 else "meets the bar; details could be sharper"
                               if band == 1 else "thin evidence; probe further")


def overall_comment(overall: float, locale: str) -> str:
    """The overall recommendation, in the invitation's locale."""
    if locale == "zh-CN":
        return "建议进入下一轮" if overall >= 70 else "建议人工复核"
    return "Recommend next round." if overall >= 70 else "Recommend human review."


def score_dimensions(plan: dict[str, Any], locale: str, rng: random.Random) -> tuple[list[dict[str, Any]], float]:
    """Per-dimension scores (0-100) around one candidate level, plan weights normalised to 1,
    and the overall score as the weighted mean of the published (rounded) numbers."""
    weights: dict[str, float] = {}
    for question in plan["questions"]:
        weights[question["dimension"]] = weights.get(question["dimension"], 0.0) + question["weight"]
    total = sum(weights.values())
    level = rng.gauss(70, 10)
    dimensions = []
    for name, weight in weights.items():
        score = round(min(max(rng.gauss(level, 8), 0.0), 100.0), 1)
        dimensions.append({"name": name, "score": score, "weight": round(weight / total, 4),
                           "comment": dimension_comment(name, score, locale)})
    overall = sum(d["score"] * d["weight"] for d in dimensions) / sum(d["weight"] for d in dimensions)
    return dimensions, round(overall, 1)


def spoil(result: dict[str, Any], kind: str, rng: random.Random, turn: int, new_id: Callable[[str], str]) -> None:
    """Make ``result`` invalid in the way ``kind`` (a ``BAD_KINDS`` key) names; ``turn`` varies
    which field goes missing, ``new_id`` mints an invitation id nobody issued."""
    if kind == "score_out_of_range":
        result["dimensions"][0]["score"] = rng.choice([round(rng.uniform(101, 180), 1), -12.5])
    elif kind == "unknown_dimension":
        result["dimensions"][-1]["name"] = "telepathy"
    elif kind == "missing_required_field":
        del result[DROPPABLE_FIELDS[turn % len(DROPPABLE_FIELDS)]]
    elif kind == "expired_clip":
        completed = parse_rfc3339(result["completed_at"])
        result["clips"][0]["expires_at"] = to_rfc3339(completed - timedelta(days=1))
    elif kind == "completed_before_invited":
        invited = parse_rfc3339(result["invited_at"])
        result["completed_at"] = to_rfc3339(invited - timedelta(hours=2))
    elif kind == "keywords_not_short_strings":
        result["keywords"] = rng.choice([", ".join(result["keywords"]) or "沟通", [42, "x" * 80]])
    elif kind == "unknown_invitation":
        result["invitation_id"] = new_id("inv_unknown")
    else:
        raise ValueError(f"unknown bad-result kind {kind!r}; known: {', '.join(BAD_KINDS)}")
