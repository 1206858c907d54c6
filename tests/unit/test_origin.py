"""OriginPolicy: an origin is scheme, host and port; foreign URLs are refused or fetched anonymously."""

from __future__ import annotations

import pytest

from connectors.errors import CrossOriginError
from connectors.origin import OriginPolicy, origin_of, strip_userinfo

HOME = "https://api4.example.com:443"


@pytest.mark.parametrize(("url", "origin"), [
    ("https://API4.example.com/odata/v2?x=1", "https://api4.example.com:443"),
    ("http://127.0.0.1:8081/a", "http://127.0.0.1:8081"),
    ("http://user:pw@127.0.0.1/a", "http://127.0.0.1:80"),
    ("https://[::1]:9443/", "https://[::1]:9443"),
])
def test_origin_is_scheme_host_and_port(url: str, origin: str) -> None:
    assert origin_of(url) == origin


@pytest.mark.parametrize("url", ["ftp://example.com/x", "/relative", "https://", "http://host:99999/"])
def test_only_absolute_http_urls_have_an_origin(url: str) -> None:
    with pytest.raises(ValueError):
        origin_of(url)


@pytest.mark.parametrize("url", [
    "https://api4.example.com.evil.test/x",  # another host
    "https://api4.example.com:8443/x",  # another port
    "http://api4.example.com/x",  # another scheme
    "https://evil.test/x?https://api4.example.com/",
    "file:///etc/passwd",
])
def test_foreign_links_are_refused_by_default(url: str) -> None:
    with pytest.raises(CrossOriginError, match="outside the configured origin|not an http"):
        OriginPolicy().credentials_for(url, HOME)


def test_same_origin_and_trusted_origins_get_credentials_foreign_ones_go_anonymous() -> None:
    policy = OriginPolicy("anonymous", ("https://login.example.com",))
    assert policy.credentials_for("https://api4.example.com/odata/v2/X", HOME)
    assert policy.credentials_for("https://login.example.com:443/oauth/token", HOME)
    assert not policy.credentials_for("https://cdn.example.net/media/1", HOME)


def test_policy_from_extras_and_environment() -> None:
    env = {"HRBRIDGE_HTTP_FOREIGN_LINKS": "anonymous", "HRBRIDGE_HTTP_TRUSTED_ORIGINS": "https://a.test, https://b.test:8443"}
    assert OriginPolicy.from_settings(None, env) == OriginPolicy("anonymous", ("https://a.test:443", "https://b.test:8443"))
    assert OriginPolicy.from_settings({"foreign_links": "refuse"}, env).foreign_links == "refuse"
    with pytest.raises(ValueError, match="foreign_links must be"):
        OriginPolicy.from_settings({"foreign_links": "follow"})


def test_userinfo_is_taken_out_of_a_url() -> None:
    assert strip_userinfo("https://sf%40acme:p%40ss@host:8443/x?y=1") == ("https://host:8443/x?y=1", "sf@acme", "p@ss")
    assert strip_userinfo("https://host/x") == ("https://host/x", None, None)
