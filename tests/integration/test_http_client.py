"""The shared HTTP client against a real loopback server: retries, Retry-After cap, budgets, auth."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from connectors.errors import (
    AuthenticationError,
    HttpStatusError,
    MalformedResponseError,
    NotFoundError,
    RetryBudgetExceeded,
    UnreachableError,
)
from connectors.http import (
    BasicAuth,
    BearerTokenAuth,
    CursorParamPaginator,
    HttpClient,
    JsonLinkPaginator,
    RetryPolicy,
)


class Script:
    """Responses to serve in order: (status, headers, body); the last one repeats."""

    def __init__(self) -> None:
        self.responses: list[tuple[int, dict[str, str], bytes]] = [(200, {}, b"{}")]
        self.requests: list[dict] = []

    def serve(self, *responses: tuple[int, dict[str, str], object]) -> None:
        self.responses = [
            (s, h, b if isinstance(b, bytes) else json.dumps(b).encode()) for s, h, b in responses
        ]


@pytest.fixture
def server() -> Iterator[tuple[str, Script]]:
    script = Script()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 - http.server naming
            script.requests.append({"path": self.path, "headers": dict(self.headers)})
            status, headers, body = script.responses[0] if len(script.responses) == 1 else script.responses.pop(0)
            self.send_response(status)
            for key, value in headers.items():
                self.send_header(key, value)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}", script
    httpd.shutdown()
    httpd.server_close()


def _client(url: str, sleeps: list[float], **retry: float) -> HttpClient:
    policy = RetryPolicy(**{"max_attempts": 4, "backoff_base": 0.01, "max_retry_after": 5, **retry})
    return HttpClient(url, retry=policy, sleep=sleeps.append)


def test_retry_after_is_honoured_and_capped(server: tuple[str, Script]) -> None:
    url, script = server
    script.serve((429, {"Retry-After": "2"}, {}), (503, {"Retry-After": "3600"}, {}), (200, {}, {"ok": 1}))
    sleeps: list[float] = []
    client = _client(url, sleeps)
    assert client.get_json("/x") == {"ok": 1}
    assert sleeps == [2.0, 5.0]  # the hour-long Retry-After is capped at max_retry_after
    assert client.stats.retries == 2 and client.stats.requests == 3


def test_attempt_budget_stops_endless_throttling(server: tuple[str, Script]) -> None:
    url, script = server
    script.serve((429, {"Retry-After": "1"}, {}))
    sleeps: list[float] = []
    with pytest.raises(RetryBudgetExceeded, match="HTTP 429 after 4 attempts"):
        _client(url, sleeps).get_json("/x")
    assert len(sleeps) == 3


def test_time_budget_stops_before_waiting_past_it(server: tuple[str, Script]) -> None:
    url, script = server
    script.serve((503, {"Retry-After": "4"}, {}))
    sleeps: list[float] = []
    with pytest.raises(RetryBudgetExceeded):
        _client(url, sleeps, max_attempts=100, total_budget=10).get_json("/x")
    assert sum(sleeps) <= 10


@pytest.mark.parametrize(
    ("status", "error"),
    [(401, AuthenticationError), (403, AuthenticationError), (404, NotFoundError), (400, HttpStatusError)],
)
def test_status_maps_to_specific_error(server: tuple[str, Script], status: int, error: type) -> None:
    url, script = server
    script.serve((status, {}, {"error": "nope"}))
    with pytest.raises(error):
        _client(url, []).get_json("/thing")


def test_malformed_body(server: tuple[str, Script]) -> None:
    url, script = server
    script.serve((200, {}, b"<html>maintenance</html>"))
    with pytest.raises(MalformedResponseError, match="not JSON"):
        _client(url, []).get_json("/x")


def test_unreachable_host_names_the_host() -> None:
    client = HttpClient("http://127.0.0.1:9", retry=RetryPolicy(max_attempts=2, backoff_base=0.01), sleep=lambda s: None)
    with pytest.raises(UnreachableError, match="127.0.0.1:9"):
        client.get_json("/x")


def test_basic_auth_sent_and_password_hidden(server: tuple[str, Script]) -> None:
    url, script = server
    auth = BasicAuth("sfadmin@ACME", "s3cret")
    HttpClient(url, auth=auth).get_json("/x")
    assert script.requests[-1]["headers"]["Authorization"].startswith("Basic ")
    assert "s3cret" not in repr(auth)


def test_bearer_token_refreshed_once_on_401(server: tuple[str, Script]) -> None:
    url, script = server
    tokens = iter(["old", "new"])
    script.serve((401, {}, {}), (200, {}, {"ok": True}))
    client = HttpClient(url, auth=BearerTokenAuth(lambda: (next(tokens), 3600)))
    assert client.get_json("/x") == {"ok": True}
    assert [r["headers"]["Authorization"] for r in script.requests] == ["Bearer old", "Bearer new"]


def test_link_pagination_follows_next_links(server: tuple[str, Script]) -> None:
    url, script = server
    script.serve(
        (200, {}, {"d": {"results": [1, 2], "__next": f"{url}/E?$skiptoken=2"}}),
        (200, {}, {"d": {"results": [3], "__next": "/E?$skiptoken=3"}}),
        (200, {}, {"d": {"results": [4]}}),
    )
    client = HttpClient(url)
    pages = [p["d"]["results"] for p in client.paginate("/E", {"$top": 2}, JsonLinkPaginator())]
    assert pages == [[1, 2], [3], [4]]
    assert [r["path"] for r in script.requests] == ["/E?%24top=2", "/E?$skiptoken=2", "/E?$skiptoken=3"]
    assert client.stats.pages == 3


def test_cursor_pagination(server: tuple[str, Script]) -> None:
    url, script = server
    script.serve((200, {}, {"items": [1], "next_cursor": "c1"}), (200, {}, {"items": [2], "next_cursor": None}))
    pages = list(HttpClient(url).paginate("/r", {"limit": 1}, CursorParamPaginator()))
    assert [p["items"] for p in pages] == [[1], [2]]
    assert script.requests[1]["path"] == "/r?limit=1&cursor=c1"
