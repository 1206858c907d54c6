"""Pure rules of the interview sandbox: invitation validation, cursors, keywords, bad results."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import pytest

from sandbox.interview import InterviewPlatformSandbox
from sandbox.interview_rules import decode_cursor, encode_cursor, fingerprint, validate_invitation
from sandbox.interview_sim import BAD_KINDS, keywords, spoil
from tests.factories.interview import make_plan, make_request

NOW = datetime(2026, 11, 27, 9, 0, tzinfo=UTC)


def body(**overrides: object) -> dict:
    """A valid invitation body with ``overrides`` applied."""
    return {**make_request(1, deadline=NOW + timedelta(days=3)).to_dict(), **overrides}


def test_a_valid_body_has_no_errors() -> None:
    assert validate_invitation(body(), NOW) == []


def test_every_bad_field_is_listed_with_its_path() -> None:
    plan = make_plan(questions=2).to_dict()
    plan["questions"][1].update(id=plan["questions"][0]["id"], weight=True, time_limit_seconds=0, prompt=" ")
    errors = validate_invitation(
        body(candidate_id=None, locale="en", deadline="2026-11-27T08:00:00Z",
             callback_url="ftp://x", question_plan=plan),
        NOW,
    )
    assert {e["field"] for e in errors} == {
        "candidate_id", "locale", "deadline", "callback_url",
        "question_plan.questions[1].id", "question_plan.questions[1].weight",
        "question_plan.questions[1].time_limit_seconds", "question_plan.questions[1].prompt",
    }
    assert all(e["message"] for e in errors)


@pytest.mark.parametrize(
    ("plan", "field"),
    [(None, "question_plan"), ({"plan_id": "p", "version": "1", "questions": []}, "question_plan.questions")],
)
def test_a_missing_or_empty_plan_is_reported(plan: object, field: str) -> None:
    assert [e["field"] for e in validate_invitation(body(question_plan=plan), NOW)] == [field]


def test_deadline_without_offset_is_rejected_by_name() -> None:
    errors = validate_invitation(body(deadline="2026-12-01T00:00:00"), NOW)
    assert errors == [{"field": "deadline", "message": "deadline has no UTC offset: '2026-12-01T00:00:00'"}]


def test_same_body_means_equal_canonical_json() -> None:
    base = body()
    reserialised = {**base, "callback_url": None, "deadline": base["deadline"].replace("Z", "+00:00")}
    reserialised["question_plan"] = {
        **base["question_plan"],
        "questions": [{**q, "weight": float(q["weight"])} for q in base["question_plan"]["questions"]],
    }
    assert fingerprint(reserialised) == fingerprint(base)
    assert fingerprint({**base, "locale": "en-US"}) != fingerprint(base)
    assert fingerprint({**base, "candidate_name": base["candidate_name"] + " "}) != fingerprint(base)
    # a re-planned invitation carries a new deadline: still the same body (the original invitation stands)
    assert fingerprint({**base, "deadline": "2031-01-01T00:00:00Z"}) == fingerprint(base)


def test_cursors_round_trip_and_forgeries_are_refused() -> None:
    assert decode_cursor(encode_cursor(0)) == 0
    assert decode_cursor(encode_cursor(12345)) == 12345
    for forged in ("", "abc", "e30", "eyJ2IjoyLCJzZXEiOjF9", "eyJ2IjoxLCJzZXEiOi0xfQ"):
        assert decode_cursor(forged) is None, forged


def test_keywords_are_short_and_bilingual() -> None:
    zh = keywords(make_plan().to_dict(), "zh-CN")
    en = keywords(make_plan().to_dict(), "en-US")
    assert "客户投诉升级处理" in zh and "沟通清晰" in zh
    assert "clear structure" in en and "production outage time" in en
    assert all(0 < len(k) <= 32 for k in zh + en) and len(zh) <= 8 and len(set(zh)) == len(zh)


def test_each_bad_kind_is_described_and_unknown_kinds_are_refused() -> None:
    assert len(BAD_KINDS) == 7 and all(BAD_KINDS.values())
    with pytest.raises(ValueError, match="unknown bad-result kind 'typo'"):
        spoil({}, "typo", random.Random(1), 0, str)


def test_in_process_controls_without_a_running_server() -> None:
    sandbox = InterviewPlatformSandbox(seed=3)
    sandbox.clock = lambda: NOW
    status, invitation = sandbox._create(body(), "key-1")
    assert status == 201 and invitation["status"] == "not_started"
    assert sandbox._create(body(), "key-1")[0] == 200
    assert sandbox._create(body(locale="en-US"), "key-1")[0] == 409
    with pytest.raises(KeyError, match="inv_missing"):
        sandbox.start(["inv_missing"])
    results = sandbox.complete(n=1, bad_fraction=1.0)
    assert len(results) == 1 and sandbox.bad_results == {results[0]["result_id"]: "score_out_of_range"}
    assert sandbox.state()["by_status"] == {"completed": 1} and sandbox.creations == 1


def test_the_same_seed_gives_the_same_simulation() -> None:
    def run() -> list[dict]:
        sandbox = InterviewPlatformSandbox(seed=5)
        sandbox.clock = lambda: NOW
        for n in range(1, 4):
            sandbox._create(body(application_id=f"A{n}"), f"key-{n}")
        return sandbox.complete(bad_fraction=0.34)

    assert run() == run()
