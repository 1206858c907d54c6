"""Small factories for interview-platform test data: questions, plans, invitation requests."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from connectors.interview import InvitationRequest, Question, QuestionPlan

_QUESTIONS = (
    ("communication", "客户投诉升级处理", "请描述一次你安抚愤怒客户的经历。", 2.0),
    ("problem_solving", "production outage under time pressure", "Walk us through how you found the root cause.", 3.0),
    ("teamwork", "跨部门项目协作", "你如何与意见不同的同事达成一致？", 1.0),
    ("leadership", "leading a new team, conflicting priorities", "How did you decide what to drop?", 2.0),
)


def make_question(index: int = 0, **overrides: Any) -> Question:
    """One question; ``index`` picks a dimension/scenario from a small bilingual set."""
    dimension, scenario, prompt, weight = _QUESTIONS[index % len(_QUESTIONS)]
    fields: dict[str, Any] = {
        "id": f"q{index + 1}", "dimension": dimension, "scenario": scenario, "prompt": prompt,
        "weight": weight, "time_limit_seconds": 120 + 30 * (index % 3),
    }
    fields.update(overrides)
    return Question(**fields)


def make_plan(questions: int = 4, plan_id: str = "plan-sales-01", version: str = "3") -> QuestionPlan:
    """A question plan with ``questions`` questions over up to four dimensions."""
    return QuestionPlan(plan_id=plan_id, version=version,
                        questions=tuple(make_question(i) for i in range(questions)))


def make_request(n: int = 1, **overrides: Any) -> InvitationRequest:
    """An invitation request for application ``n`` (unique ids, deadline a week ahead)."""
    fields: dict[str, Any] = {
        "candidate_id": f"C{n:05d}", "application_id": f"A{n:06d}", "job_id": "J100",
        "job_family": "sales", "candidate_name": "王小明" if n % 2 else "Alex Example",
        "candidate_email": f"candidate{n}@example.com", "locale": "zh-CN" if n % 2 else "en-US",
        "deadline": datetime.now(UTC) + timedelta(days=7), "question_plan": make_plan(),
        "callback_url": None,
    }
    fields.update(overrides)
    return InvitationRequest(**fields)
