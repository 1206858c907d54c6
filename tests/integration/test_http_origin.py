"""Credentials only to the configured origin: every link the shared client follows, on loopback servers.

Two servers on different ports are two origins. The "foreign" one records what it receives, so
each test proves that it got nothing (refused) or got no credentials (anonymous).
"""

from __future__ import annotations

from collections.abc import Iterator
from itertools import islice

import pytest

from connectors.auth import BasicAuth
from connectors.errors import CrossOriginError, LimitExceeded
from connectors.http import HttpClient, JsonLinkPaginator, LinkHeaderPaginator, OriginPolicy, RetryPolicy
from tests.factories.hostile import LoopbackServer, Reply, odata_page

PASSWORD = "Origin-Secret-42"  # noqa: S105 - test credential


@pytest.fixture
def servers() -> Iterator[tuple[LoopbackServer, LoopbackServer]]:
    with LoopbackServer() as home, LoopbackServer() as foreign:
        foreign.route("/E", Reply(body=odata_page([{"id": 3}])))
        foreign.route("/media/1", Reply(body={"bytes": "..."}))
        yield home, foreign


def client(home: LoopbackServer, **kwargs: object) -> HttpClient:
    """A client of ``home`` with Basic auth and an API-key header (both credentials)."""
    return HttpClient(home.url, auth=BasicAuth("sfadmin@ACME", PASSWORD), retry=RetryPolicy(max_attempts=1),
                      headers={"Accept": "application/json", "X-API-Key": "key-123456"}, **kwargs)


def test_next_link_to_another_port_is_refused_and_the_other_server_gets_nothing(servers) -> None:
    home, foreign = servers
    home.route("/E", Reply(body=odata_page([{"id": 1}], f"{foreign.url}/E?$skiptoken=2")))
    with pytest.raises(CrossOriginError, match=f"refused to follow a link to {foreign.url}.*outside the configured origin"):
        list(islice(client(home).paginate("/E", None, JsonLinkPaginator()), 5))
    assert foreign.seen == []
    assert home.seen[0].authorization and home.seen[0].authorization.startswith("Basic ")


def test_foreign_links_are_followed_without_any_credential_when_configured(servers) -> None:
    home, foreign = servers
    home.route("/E", Reply(body=odata_page([{"id": 1}], f"{foreign.url}/E")))
    pages = list(client(home, origin_policy=OriginPolicy("anonymous")).paginate("/E", None, JsonLinkPaginator()))
    assert [p["d"]["results"] for p in pages] == [[{"id": 1}], [{"id": 3}]]
    sent = foreign.seen[0].headers
    assert foreign.seen[0].authorization is None and "X-API-Key" not in sent and sent["Accept"] == "application/json"


def test_a_trusted_origin_gets_credentials(servers) -> None:
    home, foreign = servers
    home.route("/E", Reply(body=odata_page([{"id": 1}], f"{foreign.url}/E")))
    policy = OriginPolicy(trusted_origins=(foreign.url,))
    assert len(list(client(home, origin_policy=policy).paginate("/E", None, JsonLinkPaginator()))) == 2
    assert foreign.seen[0].authorization is not None


def test_link_headers_and_next_urls_in_a_body_are_held_to_the_origin(servers) -> None:
    home, foreign = servers
    home.route("/items", Reply(body={"items": [1]}, headers={"Link": f'<{foreign.url}/E>; rel="next"'}))
    home.route("/rest", Reply(body={"items": [1], "next": f"{foreign.url}/E"}))
    with pytest.raises(CrossOriginError):
        list(client(home).paginate("/items", None, LinkHeaderPaginator()))
    with pytest.raises(CrossOriginError):
        list(client(home).paginate("/rest", None, JsonLinkPaginator(("next",))))
    assert foreign.seen == []


def test_media_deferred_or_token_links_named_in_a_response_are_refused(servers) -> None:
    home, foreign = servers
    for link in (f"{foreign.url}/media/1", f"{foreign.url}/oauth/token", "ftp://127.0.0.1/x"):
        with pytest.raises(CrossOriginError):
            client(home).get_json(link)
    assert foreign.seen == []


def test_a_redirect_off_the_origin_is_refused_or_followed_anonymously(servers) -> None:
    home, foreign = servers
    home.route("/away", Reply(302, b"", {"Location": f"{foreign.url}/media/1"}))
    with pytest.raises(CrossOriginError):
        client(home).get_json("/away")
    assert foreign.seen == []
    assert client(home, origin_policy=OriginPolicy("anonymous")).get_json("/away") == {"bytes": "..."}
    assert foreign.seen[0].authorization is None and "X-API-Key" not in foreign.seen[0].headers


def test_a_request_body_never_follows_a_redirect_off_the_origin(servers) -> None:
    home, foreign = servers
    home.route("/token", Reply(307, b"", {"Location": f"{foreign.url}/oauth/token"}))
    with pytest.raises(CrossOriginError, match="refused to send a request body"):
        client(home, origin_policy=OriginPolicy("anonymous")).request(
            "POST", "/token", data={"assertion": "PHNhbWw+", "private_key": "KEY-1234"})
    assert foreign.seen == []


def test_a_redirect_within_the_origin_keeps_credentials_and_loops_are_bounded(servers) -> None:
    home, _ = servers
    home.route("/old", Reply(301, b"", {"Location": "/new"}))
    home.route("/new", Reply(body={"ok": True}))
    home.route("/loop", Reply(302, b"", {"Location": "/loop"}))
    assert client(home).get_json("/old") == {"ok": True}
    assert home.seen[-1].path == "/new" and home.seen[-1].authorization is not None
    with pytest.raises(LimitExceeded, match="redirected more than max_redirects=5"):
        client(home).get_json("/loop")


def test_a_password_in_the_base_url_is_used_as_basic_auth_never_shown(servers) -> None:
    home, _ = servers
    home.route("/x", Reply(400, {"error": f"bad login sfadmin:{PASSWORD}"}))
    url = home.url.replace("http://", f"http://sfadmin:{PASSWORD}@")
    with pytest.raises(Exception) as info:
        HttpClient(url, retry=RetryPolicy(max_attempts=1)).get_json("/x")
    assert home.seen[0].authorization is not None
    assert PASSWORD not in str(info.value) and "sfadmin:***" in str(info.value)
