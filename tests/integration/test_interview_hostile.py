"""The interview platform client inherits the shared client's defences: cursor loops, caps, redaction."""

from __future__ import annotations

from itertools import islice

import pytest

from connectors.errors import HttpStatusError, LimitExceeded, MalformedResponseError
from connectors.http import Limits, RetryPolicy
from connectors.interview_rest import HrbridgeInterviewClient
from tests.factories.hostile import LoopbackServer, Reply

API_KEY = "interview-key-8842"


def platform(server: LoopbackServer, **limits: float) -> HrbridgeInterviewClient:
    return HrbridgeInterviewClient(server.url, API_KEY, retry=RetryPolicy(max_attempts=1), limits=Limits(**limits))


def test_a_cursor_that_never_advances_is_a_loop_not_an_endless_read() -> None:
    page = {"results": [{"result_id": "r1"}], "next_cursor": "c1", "has_more": True}
    with LoopbackServer({"/v1/results": Reply(body=page)}) as server:
        pages = []
        with pytest.raises(MalformedResponseError, match="pagination loops: after page 2"):
            pages.extend(islice(platform(server).iter_results(), 50))
    assert [cursor for _, cursor in pages] == ["c1", "c1"] and len(server.seen) == 2


def test_results_pages_are_capped_per_run() -> None:
    def advancing(seen) -> Reply:
        after = int(seen.path.partition("after=")[2] or 0)
        return Reply(body={"results": [{"result_id": f"r{after}"}], "next_cursor": str(after + 1), "has_more": True})

    with LoopbackServer({"/v1/results": advancing}) as server:
        with pytest.raises(LimitExceeded, match="max_pages=4"):
            list(islice(platform(server, max_pages=4).iter_results(), 50))


def test_an_api_key_echoed_in_an_error_never_reaches_the_message() -> None:
    body = {"title": "Bad Request", "detail": f"key {API_KEY} is suspended (Authorization: Bearer {API_KEY})"}
    with LoopbackServer({"/v1/results": Reply(400, body)}) as server:
        with pytest.raises(HttpStatusError) as info:
            next(platform(server).iter_results())
    assert API_KEY not in str(info.value) and API_KEY not in info.value.body and "suspended" in str(info.value)
