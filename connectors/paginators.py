"""Paginators: small objects that say which request reads the next page (None ends the stream).

The client (:meth:`connectors.http.HttpClient.paginate`) asks a paginator after every page and
then holds the answer to its bounds: a request already made is a pagination loop, a link to
another origin is refused, pages and records per run are capped. A paginator only reads the page.

Usage::

    client.paginate("Candidate", {"$format": "json"}, JsonLinkPaginator(("d", "__next")),
                    records_path=("d", "results"))
    client.paginate("v1/items", {"limit": 100}, LinkHeaderPaginator(), records_path=("items",))
    client.paginate("v1/items", {"limit": 100}, CursorParamPaginator(("next_cursor",), "cursor"))
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Protocol
from urllib.parse import urljoin

from requests.utils import parse_header_links

from connectors.bounded_json import preview
from connectors.errors import MalformedResponseError


class Paginator(Protocol):
    """Decides the next request from the current page and its headers; None ends the stream."""

    def next_request(
        self, page: Any, url: str, params: dict[str, Any], headers: Mapping[str, str]
    ) -> tuple[str, dict[str, Any]] | None: ...


def value_at(page: Any, path: tuple[str, ...]) -> Any:
    """The value at ``path`` in nested objects; None when any step is missing or not an object."""
    node = page
    for key in path:
        if not isinstance(node, Mapping) or key not in node:
            return None
        node = node[key]
    return node


def _link(value: Any, where: str) -> str | None:
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise MalformedResponseError(f"{where} is not a URL string: {preview(value)}")
    return value


@dataclass
class JsonLinkPaginator:
    """Follow a next-page URL found in the body at ``path`` (OData v2 ``d.__next``; ``("next",)``; ...).

    The link is used as given, with its own query string: never offset arithmetic. A relative link
    is resolved against the page's URL.
    """

    path: tuple[str, ...] = ("d", "__next")

    def next_request(
        self, page: Any, url: str, params: dict[str, Any], headers: Mapping[str, str]
    ) -> tuple[str, dict[str, Any]] | None:
        """The next link and no extra params, or None on the last page."""
        link = _link(value_at(page, self.path), ".".join(self.path))
        return None if link is None else (urljoin(url, link), {})


@dataclass
class LinkHeaderPaginator:
    """Follow the RFC 8288 ``Link: <url>; rel="next"`` header (GitHub-style REST APIs)."""

    rel: str = "next"

    def next_request(
        self, page: Any, url: str, params: dict[str, Any], headers: Mapping[str, str]
    ) -> tuple[str, dict[str, Any]] | None:
        """The ``rel`` link of the Link header (resolved against the page URL), or None."""
        header = headers.get("Link") or headers.get("link")
        if not header:
            return None
        for link in parse_header_links(header):
            if self.rel in str(link.get("rel", "")).split() and link.get("url"):
                return urljoin(url, link["url"]), {}
        return None


@dataclass
class CursorParamPaginator:
    """Send the body's ``cursor_path`` value back as the ``param`` query parameter.

    With ``more_path`` (e.g. ``("has_more",)``) a false value there ends the stream even when a
    cursor is present. A cursor that is not a string or an integer is a MalformedResponseError.
    """

    cursor_path: tuple[str, ...] = ("next_cursor",)
    param: str = "cursor"
    more_path: tuple[str, ...] | None = None

    def next_request(
        self, page: Any, url: str, params: dict[str, Any], headers: Mapping[str, str]
    ) -> tuple[str, dict[str, Any]] | None:
        """The same URL with the new cursor, or None when the body carries none."""
        if self.more_path is not None and value_at(page, self.more_path) is False:
            return None
        cursor = value_at(page, self.cursor_path)
        if cursor is None or cursor == "":
            return None
        if isinstance(cursor, bool) or not isinstance(cursor, str | int):
            raise MalformedResponseError(f"{'.'.join(self.cursor_path)} is not a cursor string: {preview(cursor)}")
        return url, {**params, self.param: cursor}


@dataclass
class PageNumberPaginator:
    """``?page=N&per_page=S``: the next page while a page comes back full (``records_path`` is its list).

    >>> client.paginate("v1/items", {"page": 1, "per_page": 100}, PageNumberPaginator(("items",)))
    """

    records_path: tuple[str, ...] = ()
    page_param: str = "page"
    size: int = 100

    def next_request(
        self, page: Any, url: str, params: dict[str, Any], headers: Mapping[str, str]
    ) -> tuple[str, dict[str, Any]] | None:
        """The same URL with the page number plus one, or None after a short (or empty) page."""
        records = value_at(page, self.records_path) if self.records_path else page
        if not isinstance(records, list) or len(records) < self.size:
            return None
        return url, {**params, self.page_param: int(params.get(self.page_param, 1)) + 1}


@dataclass
class OffsetPaginator:
    """``?offset=N&limit=S``: the offset advanced by the records read while pages come back full.

    >>> client.paginate("v1/items", {"offset": 0, "limit": 100}, OffsetPaginator(("data",)))
    """

    records_path: tuple[str, ...] = ()
    offset_param: str = "offset"
    size: int = 100

    def next_request(
        self, page: Any, url: str, params: dict[str, Any], headers: Mapping[str, str]
    ) -> tuple[str, dict[str, Any]] | None:
        """The same URL with the offset moved past this page, or None after a short page."""
        records = value_at(page, self.records_path) if self.records_path else page
        if not isinstance(records, list) or len(records) < self.size:
            return None
        return url, {**params, self.offset_param: int(params.get(self.offset_param, 0)) + len(records)}
