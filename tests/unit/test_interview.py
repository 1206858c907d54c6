"""Interview-platform models: wire (de)serialisation, idempotency keys, registry, errors."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta, timezone

import pytest

from connectors import interview
from connectors.errors import MalformedResponseError
from connectors.interview import (
    InterviewPlatform,
    Invitation,
    InvitationRequest,
    QuestionPlan,
    UnknownPlatformError,
    build_platform,
    idempotency_key,
    parse_rfc3339,
    register_platform,
    to_rfc3339,
)
from connectors.interview_rest import HrbridgeInterviewClient
from tests.factories.interview import make_plan, make_request


def test_plan_round_trips_through_json() -> None:
    plan = make_plan(questions=3)
    assert QuestionPlan.from_dict(json.loads(json.dumps(plan.to_dict()))) == plan


def test_plan_dimension_weights_sum_question_weights() -> None:
    plan = make_plan(questions=4)
    assert plan.dimension_weights() == {
        "communication": 2.0, "problem_solving": 3.0, "teamwork": 1.0, "leadership": 2.0,
    }


def test_invitation_request_round_trips_and_omits_an_absent_callback() -> None:
    request = make_request(7, deadline=datetime(2026, 12, 4, 9, 30, 15, 250_000, tzinfo=UTC))
    body = request.to_dict()
    assert "callback_url" not in body
    assert body["deadline"] == "2026-12-04T09:30:15.250Z"
    assert InvitationRequest.from_dict(json.loads(json.dumps(body, ensure_ascii=False))) == request
    with_callback = make_request(7, callback_url="http://127.0.0.1:9/hook").to_dict()
    assert with_callback["callback_url"] == "http://127.0.0.1:9/hook"


def test_invitation_request_repr_hides_personal_data() -> None:
    text = repr(make_request(1, candidate_name="王小明", candidate_email="wang@example.com"))
    assert "王小明" not in text and "wang@example.com" not in text
    assert "A000001" in text


def test_rfc3339_is_utc_with_z_and_naive_values_are_taken_as_utc() -> None:
    shanghai = timezone(timedelta(hours=8))
    assert to_rfc3339(datetime(2026, 1, 2, 11, 0, tzinfo=shanghai)) == "2026-01-02T03:00:00.000Z"
    assert to_rfc3339(datetime(2026, 1, 2, 3, 0)) == "2026-01-02T03:00:00.000Z"
    assert parse_rfc3339("2026-01-02T11:00:00+08:00") == datetime(2026, 1, 2, 3, 0, tzinfo=UTC)


@pytest.mark.parametrize("value", ["2026-01-02T03:00:00", "next week", 17, None])
def test_parse_rfc3339_rejects_values_without_offset_or_not_timestamps(value: object) -> None:
    with pytest.raises(ValueError, match="deadline"):
        parse_rfc3339(value, "deadline")


def test_invitation_parses_the_wire_form_and_round_trips() -> None:
    body = {
        "id": "inv_1", "status": "in_progress", "interview_url": "http://x/i/1",
        "created_at": "2026-11-27T09:00:00.000Z", "deadline": "2026-12-04T09:00:00.000Z",
        "started_at": "2026-11-27T10:00:00.000Z", "completed_at": None, "extra": "ignored",
    }
    invitation = Invitation.from_dict(body)
    assert invitation.status == "in_progress"
    assert invitation.started_at == datetime(2026, 11, 27, 10, tzinfo=UTC)
    assert invitation.completed_at is None
    assert Invitation.from_dict(invitation.to_dict()) == invitation


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"status": "completed"}, "lacks field 'id'"),
        ({"id": "i", "status": "done", "interview_url": "u", "created_at": "2026-11-27T09:00:00Z"},
         "not one of"),
        ({"id": "i", "status": "completed", "interview_url": "u", "created_at": "yesterday"},
         "invitation.created_at"),
        (["not", "an", "object"], "not a JSON object"),
    ],
)
def test_malformed_invitation_bodies_name_the_problem(body: object, message: str) -> None:
    with pytest.raises(MalformedResponseError, match=message):
        Invitation.from_dict(body)


def test_idempotency_key_is_deterministic_and_distinguishes_inputs() -> None:
    key = idempotency_key("A000001", "3")
    assert key == idempotency_key("A000001", "3")
    assert key.startswith("hrb-inv-") and len(key) <= 200
    assert key != idempotency_key("A000001", "4")
    assert key != idempotency_key("A000002", "3")
    # The separator keeps ("A1", "23") and ("A12", "3") apart.
    assert idempotency_key("A1", "23") != idempotency_key("A12", "3")


def test_idempotency_key_needs_both_parts() -> None:
    with pytest.raises(ValueError):
        idempotency_key("", "3")


def test_build_platform_knows_hrbridge_and_registered_vendors(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(interview, "_REGISTRY", {})
    client = build_platform("hrbridge", base_url="http://127.0.0.1:9", api_key="secret-key-123")
    assert isinstance(client, HrbridgeInterviewClient) and isinstance(client, InterviewPlatform)
    assert "secret-key-123" not in repr(client.http.auth) + repr(client)

    class VendorAdapter:
        def __init__(self, token: str) -> None:
            self.token = token

    register_platform("acme-video", VendorAdapter)
    assert build_platform("ACME-video", token="t").token == "t"


def test_build_platform_rejects_unknown_kinds_listing_known_ones() -> None:
    with pytest.raises(UnknownPlatformError, match="hirevue.*known: .*hrbridge"):
        build_platform("hirevue")


def test_client_rejects_out_of_range_page_sizes() -> None:
    client = HrbridgeInterviewClient("http://127.0.0.1:9", "k")
    with pytest.raises(ValueError, match="limit"):
        next(client.iter_results(limit=0))
