"""The hrbridge interview adapter against the sandbox over real loopback HTTP."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import requests

from connectors.errors import (
    AuthenticationError,
    HttpStatusError,
    MalformedResponseError,
    NotFoundError,
    RetryBudgetExceeded,
    UnreachableError,
)
from connectors.http import RetryPolicy
from connectors.interview import (
    RESULT_REQUIRED_FIELDS,
    IdempotencyConflict,
    InvalidInvitation,
    build_platform,
    idempotency_key,
    parse_rfc3339,
)
from connectors.interview_rest import HrbridgeInterviewClient
from sandbox.interview import BAD_KINDS, InterviewPlatformSandbox
from tests.factories.interview import make_plan, make_question, make_request

API_KEY = "sandbox-interview-key"
FAST_RETRY = RetryPolicy(max_attempts=3, backoff_base=0.01, backoff_max=0.05)


@pytest.fixture
def sandbox(interview_sandbox: InterviewPlatformSandbox) -> InterviewPlatformSandbox:
    """The shared conftest sandbox, typed."""
    return interview_sandbox


@pytest.fixture
def client(sandbox: InterviewPlatformSandbox) -> Iterator[HrbridgeInterviewClient]:
    """An adapter pointed at the sandbox with quick retries."""
    platform = HrbridgeInterviewClient(sandbox.url, API_KEY, retry=FAST_RETRY)
    yield platform
    platform.close()


def invite(client: HrbridgeInterviewClient, count: int, start: int = 1) -> list[str]:
    """Create ``count`` invitations and return their ids."""
    ids = []
    for n in range(start, start + count):
        request = make_request(n)
        ids.append(client.create_invitation(request, idempotency_key(request.application_id, "3")).id)
    return ids


# ------------------------------------------------------------------------------ idempotency


def test_same_key_returns_the_same_invitation_and_a_new_body_conflicts(
    client: HrbridgeInterviewClient, sandbox: InterviewPlatformSandbox
) -> None:
    request = make_request(1)
    key = idempotency_key(request.application_id, request.question_plan.version)

    first = client.create_invitation(request, key)
    again = client.create_invitation(request, key)

    assert first.status == "not_started" and first.interview_url.startswith(sandbox.url)
    assert again == first
    assert sandbox.creations == 1 and len(sandbox.invitations) == 1
    changed = make_request(1, candidate_email="changed@example.com", deadline=request.deadline)
    with pytest.raises(IdempotencyConflict, match="different body"):
        client.create_invitation(changed, key)
    assert [post["outcome"] for post in sandbox.invitation_posts] == ["created", "replayed", "conflict"]
    assert sandbox.creations == 1


def test_concurrent_posts_with_repeated_keys_create_each_invitation_once(
    client: HrbridgeInterviewClient, sandbox: InterviewPlatformSandbox
) -> None:
    requests_ = [make_request(n) for n in range(1, 41)]
    work = [(r, idempotency_key(r.application_id, "3")) for r in requests_ * 2]

    with ThreadPoolExecutor(max_workers=16) as pool:
        invitations = list(pool.map(lambda item: client.create_invitation(*item), work))

    assert sandbox.creations == 40
    assert len(sandbox.invitation_posts) == 80
    by_application = {}
    for (request, _), invitation in zip(work, invitations, strict=True):
        by_application.setdefault(request.application_id, set()).add(invitation.id)
    assert all(len(ids) == 1 for ids in by_application.values())
    assert len({next(iter(ids)) for ids in by_application.values()}) == 40


def test_a_dropped_connection_on_post_is_retried_without_duplicates(
    client: HrbridgeInterviewClient, sandbox: InterviewPlatformSandbox
) -> None:
    sandbox.faults.add("disconnect", r"^/v1/invitations$", count=1)
    request = make_request(3)
    invitation = client.create_invitation(request, idempotency_key(request.application_id, "3"))
    assert sandbox.invitations[invitation.id]["request"]["application_id"] == "A000003"
    assert sandbox.creations == 1 and client.stats.retries == 1


# -------------------------------------------------------------------------------- errors


def test_invalid_fields_come_back_as_a_field_list(client: HrbridgeInterviewClient) -> None:
    plan = make_plan(questions=1)
    bad_plan = plan.__class__(plan.plan_id, plan.version, (make_question(0, weight=0),))
    request = make_request(
        2, locale="fr-FR", candidate_email="not-an-email",
        deadline=datetime.now(UTC) - timedelta(hours=1), question_plan=bad_plan,
    )
    with pytest.raises(InvalidInvitation) as caught:
        client.create_invitation(request, "key-422")
    fields = {item["field"] for item in caught.value.fields}
    assert fields == {"locale", "candidate_email", "deadline", "question_plan.questions[0].weight"}
    assert "locale" in str(caught.value)


def test_wrong_api_key_is_an_authentication_error(sandbox: InterviewPlatformSandbox) -> None:
    wrong = build_platform("hrbridge", base_url=sandbox.url, api_key="not-the-key")
    with pytest.raises(AuthenticationError, match="401.*API key is not valid"):
        wrong.get_invitation("inv_x")
    raw = requests.get(f"{sandbox.url}/v1/results", timeout=5)
    assert raw.status_code == 401
    assert raw.headers["Content-Type"] == "application/problem+json"
    assert raw.json()["detail"] == "missing bearer token"
    assert sandbox.creations == 0


def test_unknown_invitation_is_not_found(client: HrbridgeInterviewClient) -> None:
    with pytest.raises(NotFoundError):
        client.get_invitation("inv_does_not_exist")


def test_429_retry_after_is_honoured(sandbox: InterviewPlatformSandbox) -> None:
    waits: list[float] = []
    client = HrbridgeInterviewClient(sandbox.url, API_KEY, retry=FAST_RETRY, sleep=waits.append)
    sandbox.faults.add("429", r"^/v1/invitations$", count=2, retry_after=7)
    request = make_request(4)

    invitation = client.create_invitation(request, idempotency_key(request.application_id, "3"))

    assert waits == [7.0, 7.0]
    assert client.stats.status_counts[429] == 2 and client.stats.status_counts[201] == 1
    assert sandbox.invitations[invitation.id]["status"] == "not_started" and sandbox.creations == 1


def test_a_rate_limited_platform_throttles_and_the_client_recovers() -> None:
    with InterviewPlatformSandbox(rate_limit=4) as limited:
        client = HrbridgeInterviewClient(limited.url, API_KEY, retry=FAST_RETRY)
        ids = invite(client, 6)
        assert limited.throttled >= 1 and client.stats.status_counts[429] == limited.throttled
        assert limited.creations == 6 and len(set(ids)) == 6


def test_throttling_beyond_the_budget_gives_up(sandbox: InterviewPlatformSandbox) -> None:
    client = HrbridgeInterviewClient(sandbox.url, API_KEY, retry=FAST_RETRY, sleep=lambda _: None)
    sandbox.faults.add("503", r"^/v1/results$", count=5)
    with pytest.raises(RetryBudgetExceeded, match="HTTP 503 after 3 attempts"):
        next(client.iter_results())


def test_malformed_body_is_reported(client: HrbridgeInterviewClient, sandbox: InterviewPlatformSandbox) -> None:
    invitation_id = invite(client, 1)[0]
    sandbox.faults.add("malformed", r"^/v1/invitations/", count=1)
    with pytest.raises(MalformedResponseError, match="not JSON"):
        client.get_invitation(invitation_id)


def test_unreachable_platform() -> None:
    with InterviewPlatformSandbox() as stopped:
        url = stopped.url
    client = HrbridgeInterviewClient(url, API_KEY, retry=RetryPolicy(max_attempts=1))
    with pytest.raises(UnreachableError, match="cannot reach"):
        client.get_invitation("inv_x")


# ---------------------------------------------------------------------------- lifecycle


def test_status_moves_through_started_completed_and_expired(
    client: HrbridgeInterviewClient, sandbox: InterviewPlatformSandbox
) -> None:
    first, second, third = invite(client, 3)

    sandbox.start([first])
    started = client.get_invitation(first)
    assert started.status == "in_progress" and started.started_at is not None
    sandbox.complete([first])
    done = client.get_invitation(first)
    assert done.status == "completed" and done.completed_at >= done.started_at >= done.created_at
    sandbox.expire([second])
    assert client.get_invitation(second).status == "expired"
    with pytest.raises(ValueError, match="not open"):
        sandbox.complete([second])

    later = sandbox.clock() + timedelta(days=8)
    sandbox.clock = lambda: later
    lapsed = client.get_invitation(third)
    assert lapsed.status == "expired" and lapsed.expired_at == lapsed.deadline


def test_controls_over_http(client: HrbridgeInterviewClient, sandbox: InterviewPlatformSandbox) -> None:
    ids = invite(client, 4)
    started = requests.post(f"{sandbox.url}/sandbox/start", json={"invitation_ids": ids[:1]}, timeout=5)
    assert started.json()["invitations"][0]["status"] == "in_progress"
    completed = requests.post(f"{sandbox.url}/sandbox/complete", json={"n": 3, "bad_fraction": 1 / 3}, timeout=5)
    body = completed.json()
    assert completed.status_code == 200 and len(body["results"]) == 3 and len(body["bad_results"]) == 1
    expired = requests.post(f"{sandbox.url}/sandbox/expire", json={"invitation_ids": ids[3:]}, timeout=5)
    assert expired.json()["invitations"][0]["status"] == "expired"
    again = requests.post(f"{sandbox.url}/sandbox/complete", json={"invitation_ids": ids[3:]}, timeout=5)
    assert again.status_code == 409
    unknown = requests.post(f"{sandbox.url}/sandbox/start", json={"invitation_ids": ["inv_nope"]}, timeout=5)
    assert unknown.status_code == 404
    state = requests.get(f"{sandbox.url}/sandbox/state", timeout=5).json()
    assert state["by_status"] == {"completed": 3, "expired": 1} and state["results"] == 3


# ------------------------------------------------------------------------------ results


def test_results_page_by_cursor_and_never_skip_results_completed_meanwhile(
    client: HrbridgeInterviewClient, sandbox: InterviewPlatformSandbox
) -> None:
    ids = invite(client, 25)
    sandbox.complete(ids[:10])
    seen: list[str] = []
    cursor = None
    for number, (page, page_cursor) in enumerate(client.iter_results(limit=4)):
        seen.extend(result["result_id"] for result in page)
        cursor = page_cursor  # what a pipeline persists after each page
        if number == 1:  # more interviews finish while the sync is paging
            sandbox.complete(ids[10:])
    assert len(seen) == len(set(seen)) == 25
    assert seen == [result["result_id"] for result in sandbox.results]
    assert client.stats.pages == 7

    assert [page for page, _ in client.iter_results(after=cursor, limit=4)] == [[]]
    more = invite(client, 2, start=100)
    sandbox.complete(more)
    resumed = [(page, after) for page, after in client.iter_results(after=cursor, limit=4)]
    assert [r["invitation_id"] for r in resumed[0][0]] == more
    assert resumed[-1][1] != cursor


def test_polling_while_another_thread_completes_interviews_sees_each_result_once(
    client: HrbridgeInterviewClient, sandbox: InterviewPlatformSandbox
) -> None:
    ids = invite(client, 60)
    batches = [ids[i: i + 6] for i in range(0, 60, 6)]
    finished = threading.Event()

    def complete_in_batches() -> None:
        for batch in batches:
            sandbox.complete(batch)
        finished.set()

    worker = threading.Thread(target=complete_in_batches)
    worker.start()
    seen: list[str] = []
    cursor = None
    while True:
        done = finished.is_set()  # read before polling, so the last poll happens after the end
        for page, page_cursor in client.iter_results(after=cursor, limit=5):
            seen.extend(result["result_id"] for result in page)
            cursor = page_cursor
        if done:
            break
    worker.join()
    assert len(seen) == len(set(seen)) == 60
    assert seen == [result["result_id"] for result in sandbox.results]


def test_an_empty_platform_yields_one_empty_page_and_keeps_the_cursor(client: HrbridgeInterviewClient) -> None:
    assert list(client.iter_results(after=None)) == [([], None)]


def test_a_forged_cursor_is_rejected(client: HrbridgeInterviewClient) -> None:
    with pytest.raises(HttpStatusError, match="HTTP 400.*not one this platform issued") as caught:
        next(client.iter_results(after="not-a-cursor"))
    assert caught.value.status == 400


def test_completed_results_follow_the_plan(client: HrbridgeInterviewClient, sandbox: InterviewPlatformSandbox) -> None:
    invitation_id = invite(client, 1)[0]
    result = sandbox.complete([invitation_id])[0]
    plan = sandbox.invitations[invitation_id]["request"]["question_plan"]

    assert set(RESULT_REQUIRED_FIELDS) <= set(result)
    assert [d["name"] for d in result["dimensions"]] == list(make_plan().dimension_weights())
    assert sum(d["weight"] for d in result["dimensions"]) == pytest.approx(1.0, abs=1e-3)
    weighted = sum(d["score"] * d["weight"] for d in result["dimensions"])
    assert result["overall_score"] == pytest.approx(weighted, abs=0.06)
    assert all(0 <= d["score"] <= 100 for d in result["dimensions"])
    assert len(result["clips"]) == len(plan["questions"])
    assert any("\u4e00" <= ch <= "\u9fff" for ch in "".join(result["keywords"]))
    assert any(k.isascii() for k in result["keywords"])
    assert all(isinstance(k, str) and 0 < len(k) <= 32 for k in result["keywords"])
    assert result["report_url"].startswith(sandbox.url) and result["model_version"]


def _problems(result: dict[str, Any], sandbox: InterviewPlatformSandbox) -> set[str]:
    """What a validation suite should find in a result, named like BAD_KINDS."""
    found = set()
    if any(name not in result for name in RESULT_REQUIRED_FIELDS):
        found.add("missing_required_field")
    dimensions = result.get("dimensions") or []
    if any(not 0 <= d["score"] <= 100 for d in dimensions):
        found.add("score_out_of_range")
    invitation = sandbox.invitations.get(result["invitation_id"])
    if invitation is None:
        found.add("unknown_invitation")
    else:
        planned = {q["dimension"] for q in invitation["request"]["question_plan"]["questions"]}
        if any(d["name"] not in planned for d in dimensions):
            found.add("unknown_dimension")
    keywords = result["keywords"]
    if not isinstance(keywords, list) or any(not isinstance(k, str) or not 0 < len(k) <= 32 for k in keywords):
        found.add("keywords_not_short_strings")
    if "completed_at" in result:
        completed = parse_rfc3339(result["completed_at"])
        if completed < parse_rfc3339(result["invited_at"]):
            found.add("completed_before_invited")
        if any(parse_rfc3339(c["expires_at"]) < completed for c in result["clips"]):
            found.add("expired_clip")
    return found


def test_bad_fraction_makes_recorded_results_bad_in_varied_ways(
    client: HrbridgeInterviewClient, sandbox: InterviewPlatformSandbox
) -> None:
    invite(client, 28)
    produced = sandbox.complete(bad_fraction=0.5)

    assert len(produced) == 28 and len(sandbox.bad_results) == 14
    assert set(sandbox.bad_results.values()) == set(BAD_KINDS)
    fetched = [r for page, _ in client.iter_results(limit=10) for r in page]
    assert len(fetched) == 28
    for result in fetched:
        expected = {sandbox.bad_results[result["result_id"]]} if result["result_id"] in sandbox.bad_results else set()
        assert _problems(result, sandbox) == expected, result["result_id"]


def test_bad_fraction_must_be_a_fraction(sandbox: InterviewPlatformSandbox) -> None:
    with pytest.raises(ValueError, match="bad_fraction"):
        sandbox.complete(bad_fraction=1.5)


# -------------------------------------------------------------------------------- media


def test_media_deletion_is_idempotent(client: HrbridgeInterviewClient, sandbox: InterviewPlatformSandbox) -> None:
    ids = invite(client, 2)
    sandbox.complete(ids)
    candidate = sandbox.invitations[ids[0]]["request"]["candidate_id"]
    clips = len(make_plan().questions)

    assert client.delete_candidate_media(candidate) == {
        "candidate_id": candidate, "deleted_clips": clips, "deleted_transcripts": 1,
    }
    assert client.delete_candidate_media(candidate) == {
        "candidate_id": candidate, "deleted_clips": 0, "deleted_transcripts": 0,
    }
    other = sandbox.invitations[ids[1]]["request"]["candidate_id"]
    assert len(sandbox.media[other]["clips"]) == clips
    assert client.delete_candidate_media("never-seen")["deleted_clips"] == 0


def test_links_in_results_resolve_until_media_is_deleted(
    client: HrbridgeInterviewClient, sandbox: InterviewPlatformSandbox
) -> None:
    invitation_id = invite(client, 1)[0]
    interview_url = sandbox.invitations[invitation_id]["interview_url"]
    landing = requests.get(interview_url, timeout=5)
    assert landing.status_code == 200 and "not_started" in landing.text
    assert requests.get(interview_url + "x", timeout=5).status_code == 404
    result = sandbox.complete([invitation_id])[0]
    clip_url = result["clips"][0]["url"]

    report = requests.get(result["report_url"], timeout=5)
    assert report.status_code == 200 and str(result["overall_score"]) in report.text
    clip = requests.get(clip_url, timeout=5)
    assert clip.status_code == 200 and clip.headers["Content-Type"] == "video/mp4"
    assert requests.get(clip_url.replace("sig=", "sig=0"), timeout=5).status_code == 403

    client.delete_candidate_media(result["candidate_id"])
    gone = requests.get(clip_url, timeout=5)
    assert gone.status_code == 404 and "deleted" in gone.json()["detail"]

    later = sandbox.clock() + timedelta(days=8)
    sandbox.clock = lambda: later
    assert requests.get(clip_url, timeout=5).json()["detail"] == "the clip link has expired"
