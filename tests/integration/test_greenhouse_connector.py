"""Greenhouse Harvest v3 connector against its sandbox: token refresh, rate limits, cursor rules."""

from __future__ import annotations

import requests

from connectors.http import RetryPolicy
from sandbox.greenhouse import GreenhouseSandbox
from tests.factories.greenhouse import gh_connector


def test_an_expired_token_is_renewed_once_and_the_read_goes_on() -> None:
    with GreenhouseSandbox(candidates=8, applications=10) as box, gh_connector(box, per_page=4) as gh:
        assert len(gh.read_keys("applications")) == 10
        box.expire_tokens()
        assert len([r for page in gh.read_pages("candidates") for r in page]) == 8
        assert box.tokens_issued == 2


def test_rate_limit_headers_and_429_retry_after_are_honoured() -> None:
    patient = RetryPolicy(max_attempts=6, backoff_base=0.05, backoff_max=0.2, max_retry_after=1.5, total_budget=10)
    with GreenhouseSandbox(candidates=10, applications=12, rate_limit=3, window=1.0) as box, \
            gh_connector(box, per_page=2, retry=patient) as gh:
        rows = [r for page in gh.read_pages("applications") for r in page]
        assert len(rows) == 12 and gh.client.stats.retries >= 1  # 7 requests in a 3-per-second budget


def test_a_cursor_with_any_other_parameter_is_refused_as_harvest_does() -> None:
    with GreenhouseSandbox(candidates=4, applications=6) as box:
        token = box.issue_token()
        first = requests.get(f"{box.url}/v3/applications", params={"per_page": 2},
                             headers={"Authorization": f"Bearer {token}"}, timeout=5)
        following = requests.utils.parse_header_links(first.headers["Link"])[0]["url"]
        assert requests.get(following, headers={"Authorization": f"Bearer {token}"}, timeout=5).status_code == 200
        mixed = requests.get(following + "&per_page=5", headers={"Authorization": f"Bearer {token}"}, timeout=5)
        assert mixed.status_code == 422 and "only query parameter" in mixed.text
