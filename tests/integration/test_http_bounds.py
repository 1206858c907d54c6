"""The shared client against hostile or broken loopback servers: loops, caps, size, time, echoed secrets.

Sizes are scaled down (a 1 MB bound against a 5 MB answer) and every server loop is bounded, so
the tests stay fast; memory is measured with tracemalloc, never by timing.
"""

from __future__ import annotations

import base64
import tracemalloc
from collections.abc import Iterator
from itertools import islice

import pytest

from connectors.auth import BasicAuth
from connectors.errors import HttpStatusError, LimitExceeded, MalformedResponseError, UnreachableError
from connectors.http import HttpClient, JsonLinkPaginator, Limits, RetryPolicy
from tests.factories.hostile import LoopbackServer, Reply, Seen, TrickleServer, nested, odata_page, padded

MiB = 1024 * 1024
PASSWORD = "Bounds-Secret-77"  # noqa: S105 - test credential


@pytest.fixture
def home() -> Iterator[LoopbackServer]:
    with LoopbackServer() as server:
        yield server


def client(server: LoopbackServer | TrickleServer, **limits: float) -> HttpClient:
    return HttpClient(server.url, auth=BasicAuth("sfadmin", PASSWORD), retry=RetryPolicy(max_attempts=1),
                      limits=Limits(**limits))


def read_all(http: HttpClient, path: str = "/E", limit: int = 50) -> list:
    """At most ``limit`` pages: a client that loops for ever fails the test instead of hanging it."""
    return list(islice(http.paginate(path, None, JsonLinkPaginator(), records_path=("d", "results")), limit))


# --- pagination --------------------------------------------------------------------------------


def test_a_next_link_to_the_same_page_stops_after_that_page(home: LoopbackServer) -> None:
    home.route("/E", Reply(body=odata_page([{"id": 1}], "/E")))
    pages = []
    with pytest.raises(MalformedResponseError, match="pagination loops: after page 1 .* page already read"):
        pages.extend(islice(client(home).paginate("/E", None, JsonLinkPaginator()), 50))
    assert len(pages) == 1 and len(home.seen) == 1


def test_a_cycle_of_links_is_detected_however_the_query_is_ordered(home: LoopbackServer) -> None:
    home.route("/E?a=1&b=2", Reply(body=odata_page([{"id": 1}], "/E?t=2")))
    home.route("/E?t=2", Reply(body=odata_page([{"id": 2}], "/E?b=2&a=1")))
    with pytest.raises(MalformedResponseError, match="after page 2"):
        read_all(client(home), "/E?a=1&b=2")
    assert [s.path for s in home.seen] == ["/E?a=1&b=2", "/E?t=2"]


def endless(seen: Seen) -> Reply:
    """Page n links to page n+1, each with 3 records: a server that never ends."""
    number = int(seen.path.partition("p=")[2] or 0)
    return Reply(body=odata_page([{"id": number * 3 + i} for i in range(3)], f"/E?p={number + 1}"))


def test_pages_per_run_are_capped_with_the_way_to_raise_the_cap(home: LoopbackServer) -> None:
    home.route("/E", endless)
    with pytest.raises(LimitExceeded, match="already read 5 pages, max_pages=5.*HRBRIDGE_HTTP_MAX_PAGES") as info:
        read_all(client(home, max_pages=5))
    assert info.value.limit == "max_pages" and len(home.seen) == 5


def test_records_per_run_and_per_page_are_capped_before_the_page_is_handed_out(home: LoopbackServer) -> None:
    home.route("/E", endless)
    pages: list = []
    with pytest.raises(LimitExceeded, match="max_records=7"):
        pages.extend(islice(client(home, max_records=7).paginate("/E", None, JsonLinkPaginator(),
                                                                 records_path=("d", "results")), 50))
    assert sum(len(p["d"]["results"]) for p in pages) == 6
    with pytest.raises(LimitExceeded, match="holds 3 records, more than max_records_per_page=2"):
        read_all(client(home, max_records_per_page=2))


def test_the_run_budget_counts_across_requests() -> None:
    class Clock:
        now = 1000.0

        def __call__(self) -> float:
            return self.now

    clock = Clock()
    with LoopbackServer({"/x": Reply(body={"ok": 1})}) as server:
        http = HttpClient(server.url, limits=Limits(run_budget=60), clock=clock)
        assert http.get_json("/x") == {"ok": 1}
        clock.now += 61
        with pytest.raises(LimitExceeded, match="run has used its time budget, run_budget=60"):
            http.get_json("/x")
        assert len(server.seen) == 1
        http.new_run()
        assert http.get_json("/x") == {"ok": 1}


# --- size --------------------------------------------------------------------------------------


@pytest.mark.parametrize("declared", [False, True])
def test_a_5_mb_answer_against_a_1_mb_bound_costs_at_most_the_bound(home: LoopbackServer, declared: bool) -> None:
    body = padded(b'{"d": {"results": []}}', 5 * MiB)
    home.route("/big", Reply(body=body, headers={"Content-Length": str(5 * MiB)} if declared else {}))
    http = client(home, max_body_bytes=MiB)
    tracemalloc.start()
    try:
        with pytest.raises(LimitExceeded, match="max_body_bytes=1048576") as info:
            http.get_json("/big")
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert info.value.limit == "max_body_bytes"
    assert peak < 2.5 * MiB  # the whole answer would be 5 MB, parsed far more


@pytest.mark.parametrize(("body", "limit"), [
    (nested(5000), "max_depth"),
    (b'{"d": {"results": [{"n": ' + b"7" * 5000 + b"}]}}", "max_number_length"),
    (b'{"d": {"results": [{"s": "' + b"x" * 2000 + b'"}]}}', "max_string_length"),
])
def test_hostile_json_is_a_limit_exceeded_naming_the_bound(home: LoopbackServer, body: bytes, limit: str) -> None:
    home.route("/E", Reply(body=body))
    with pytest.raises(LimitExceeded) as info:
        read_all(client(home, max_string_length=1000))
    assert info.value.limit == limit and "/E page 1" in str(info.value)


@pytest.mark.parametrize("value", [b"NaN", b"Infinity", b"-Infinity"])
def test_nan_and_infinity_are_refused(home: LoopbackServer, value: bytes) -> None:
    home.route("/E", Reply(body=b'{"d": {"results": [{"score": ' + value + b"}]}}"))
    with pytest.raises(MalformedResponseError, match="NaN and Infinity are refused"):
        read_all(client(home))


# --- time --------------------------------------------------------------------------------------


def test_a_body_trickled_byte_by_byte_cannot_outlive_the_request_budget(home: LoopbackServer) -> None:
    produced: list[bytes] = []

    def trickle() -> Iterator[bytes]:
        for _ in range(200):  # 200 bytes, one every 0.05 s: 10 s if nobody stops it
            produced.append(b" ")
            yield b" "

    home.route("/slow", Reply(body=trickle, pause=0.05))
    with pytest.raises(LimitExceeded, match="did not finish within request_budget=0.5") as info:
        client(home, request_budget=0.5, idle_timeout=5).get_json("/slow")
    assert info.value.limit == "request_budget"
    assert len(produced) < 200  # the client hung up; the server stopped early


def test_status_and_headers_trickled_byte_by_byte_are_cut_off_too() -> None:
    response = b"HTTP/1.1 200 OK\r\n" + b"X-Pad: " + b"a" * 200 + b"\r\nContent-Length: 2\r\n\r\n{}"
    with TrickleServer(response, pause=0.02) as server:
        with pytest.raises(LimitExceeded, match="request_budget=0.5"):
            client(server, request_budget=0.5, idle_timeout=5).get_json("/x")
        assert server.hung_up.wait(10) and server.sent < len(response)


def test_the_run_budget_also_cuts_off_a_request_in_flight() -> None:
    with TrickleServer(b"HTTP/1.1 200 OK\r\n" + b"X: " + b"b" * 500 + b"\r\n\r\n", pause=0.02) as server:
        with pytest.raises(LimitExceeded) as info:
            client(server, run_budget=0.4, idle_timeout=5).get_json("/x")
    assert info.value.limit == "run_budget"


def test_a_server_that_goes_silent_hits_the_idle_timeout() -> None:
    with TrickleServer(b"HTTP/1.1 200 OK\r\n\r\n", pause=3) as server:
        with pytest.raises(UnreachableError, match="cannot reach 127.0.0.1"):
            client(server, idle_timeout=0.3).get_json("/x")


# --- secrets in error bodies ---------------------------------------------------------------------


def test_a_password_echoed_in_an_error_body_never_reaches_the_message(home: LoopbackServer) -> None:
    pair = base64.b64encode(f"sfadmin:{PASSWORD}".encode()).decode()
    home.route("/x", Reply(400, f"login sfadmin/{PASSWORD} refused; you sent Authorization: Basic {pair}".encode()))
    with pytest.raises(HttpStatusError) as info:
        client(home).get_json("/x")
    for text in (str(info.value), info.value.body):
        assert PASSWORD not in text and pair not in text and "refused" in text
