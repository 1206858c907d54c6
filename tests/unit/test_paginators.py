"""Paginators read any page or header into a next request, None, or MalformedResponseError."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from connectors.errors import MalformedResponseError
from connectors.paginators import CursorParamPaginator, JsonLinkPaginator, LinkHeaderPaginator

URL = "https://api.example.com/v1/items"
pages = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=50),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(
        st.sampled_from(["d", "__next", "next", "next_cursor", "has_more", "results", "x"]), children, max_size=4),
    max_leaves=20,
)


def test_link_header_next_is_resolved_against_the_page() -> None:
    headers = {"Link": '</v1/items?page=2>; rel="next", <https://api.example.com/v1/items?page=9>; rel="last"'}
    assert LinkHeaderPaginator().next_request({}, URL, {"page": 1}, headers) == (
        "https://api.example.com/v1/items?page=2", {})
    assert LinkHeaderPaginator().next_request({}, URL, {}, {"Link": '<x>; rel="prev"'}) is None


def test_cursor_paginator_honours_has_more_and_refuses_non_string_cursors() -> None:
    paginator = CursorParamPaginator(("next_cursor",), "after", more_path=("has_more",))
    assert paginator.next_request({"next_cursor": "c2", "has_more": True}, URL, {"limit": 5}, {}) == (
        URL, {"limit": 5, "after": "c2"})
    assert paginator.next_request({"next_cursor": "c2", "has_more": False}, URL, {}, {}) is None
    with pytest.raises(MalformedResponseError, match="next_cursor is not a cursor string"):
        paginator.next_request({"next_cursor": {"$gt": 1}}, URL, {}, {})


def test_json_link_must_be_a_string() -> None:
    with pytest.raises(MalformedResponseError, match="d.__next is not a URL string"):
        JsonLinkPaginator().next_request({"d": {"__next": ["http://x"]}}, URL, {}, {})


def _check(outcome: Any) -> None:
    if outcome is not None:
        url, params = outcome
        assert isinstance(url, str) and isinstance(params, dict)


@given(st.text(max_size=2000))
def test_any_link_header_gives_a_url_or_none(header: str) -> None:
    _check(LinkHeaderPaginator().next_request({}, URL, {}, {"Link": header}))


@given(pages)
def test_any_page_gives_a_next_request_none_or_malformed(page: Any) -> None:
    for paginator in (JsonLinkPaginator(("d", "__next")), JsonLinkPaginator(("next",)),
                      CursorParamPaginator(("next_cursor",), "after", ("has_more",))):
        try:
            _check(paginator.next_request(page, URL, {"limit": 10}, {}))
        except MalformedResponseError:
            pass
