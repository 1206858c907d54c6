"""Adapter for hrbridge's own interview-platform REST contract (``sandbox/interview_openapi.yaml``).

Built on the shared :class:`connectors.http.HttpClient`, so throttling (429 + Retry-After), 5xx
retries and rate limits behave like every other connector. ``POST /v1/invitations`` is safe to
retry because every request carries an ``Idempotency-Key``. One client may be shared by a thread
pool: the connection pool is sized by ``pool_size`` and the bearer header is built per request.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Mapping
from typing import Any
from urllib.parse import quote

import requests

from connectors.bounded_json import loads, preview
from connectors.errors import AuthenticationError, MalformedResponseError
from connectors.http import HttpClient, Limits, OriginPolicy, RetryPolicy
from connectors.interview import (
    IdempotencyConflict,
    InvalidInvitation,
    Invitation,
    InvitationRequest,
)
from connectors.redaction import remember_secret

MAX_PAGE_SIZE = 1000


class StaticBearerAuth:
    """A fixed API key sent as ``Authorization: Bearer``; never shown in ``repr``."""

    def __init__(self, api_key: str) -> None:
        if not api_key:
            raise ValueError("an interview platform API key is required")
        self._api_key = api_key
        remember_secret(api_key)

    def apply(self, session: requests.Session, headers: dict[str, str]) -> None:
        """Set the Authorization header."""
        headers["Authorization"] = f"Bearer {self._api_key}"

    def refresh(self) -> bool:
        """A static key cannot be refreshed, so a 401 is final."""
        return False

    def __repr__(self) -> str:
        return "StaticBearerAuth(api_key='***')"


def _problem(response: requests.Response) -> dict[str, Any]:
    try:
        body = loads(response.content, where="problem body")
    except MalformedResponseError:
        return {}
    return body if isinstance(body, dict) else {}


class _InterviewHttp(HttpClient):
    """HttpClient that turns RFC 9457 problem bodies into the contract's specific errors."""

    def error_for(self, method: str, url: str, response: requests.Response) -> Exception:
        """Map 401/409/422 problem documents to specific errors; others as the base class does."""
        problem = _problem(response)
        detail = str(problem.get("detail") or problem.get("title") or "").strip()
        status = response.status_code
        if status == 401:
            return AuthenticationError(
                f"interview platform at {self.base_url} rejected the API key (HTTP 401)"
                + (f": {detail}" if detail else "")
            )
        if status == 409:
            return IdempotencyConflict(
                detail or "Idempotency-Key was already used with a different request body (HTTP 409)"
            )
        if status == 422:
            fields = [item for item in problem.get("errors", []) if isinstance(item, dict)]
            listed = "; ".join(f"{item.get('field')}: {item.get('message')}" for item in fields)
            return InvalidInvitation(
                f"interview platform rejected the invitation (HTTP 422): {listed or detail}", fields
            )
        return super().error_for(method, url, response)


class HrbridgeInterviewClient:
    """The :class:`InterviewPlatform` adapter for the hrbridge REST contract."""

    def __init__(
        self,
        base_url: str,
        api_key: str,
        *,
        rate_limit: float | None = None,
        retry: RetryPolicy | None = None,
        timeout: float | None = None,
        pool_size: int = 32,
        sleep: Callable[[float], None] = time.sleep,
        limits: Limits | None = None,
        origin_policy: OriginPolicy | None = None,
    ) -> None:
        self.http = _InterviewHttp(
            base_url, auth=StaticBearerAuth(api_key), retry=retry, rate_limit=rate_limit,
            timeout=timeout, headers={"Accept": "application/json"}, sleep=sleep, pool_size=pool_size,
            limits=limits, origin_policy=origin_policy,
        )

    @property
    def stats(self) -> Any:
        """Request, retry and page counters of the underlying HTTP client."""
        return self.http.stats

    def create_invitation(self, request: InvitationRequest, idempotency_key: str) -> Invitation:
        """POST the invitation with its idempotency key; 201 (new) and 200 (replay) both succeed.

        Raises IdempotencyConflict when the key was used with another body, InvalidInvitation
        (with ``.fields``) on 422, AuthenticationError on 401.
        """
        if not idempotency_key:
            raise ValueError("create_invitation needs an idempotency key")
        response = self.http.request(
            "POST", "v1/invitations", json=request.to_dict(),
            headers={"Idempotency-Key": idempotency_key}, ok=(200, 201),
        )
        return Invitation.from_dict(_object(self.http.json(response), "invitation"))

    def get_invitation(self, invitation_id: str) -> Invitation:
        """GET one invitation's status; NotFoundError when the platform does not know the id."""
        return Invitation.from_dict(_object(self.http.get_json(f"v1/invitations/{quote(invitation_id, safe='')}"),
                                            "invitation"))

    def iter_results(
        self, after: str | None = None, limit: int = 500
    ) -> Iterator[tuple[list[dict[str, Any]], str | None]]:
        """Yield (page of raw results, cursor to store) in completion order, until caught up.

        The cursor of a page is the server's ``next_cursor``; an empty page leaves it at ``after``
        so storing the yielded cursor after every page is always safe. A cursor that leads back to
        a page already read is a MalformedResponseError; pages and records are capped per run.
        """
        if not 1 <= limit <= MAX_PAGE_SIZE:
            raise ValueError(f"limit must be between 1 and {MAX_PAGE_SIZE}, got {limit}")
        params: dict[str, Any] = {"limit": limit}
        if after:
            params["after"] = after
        cursor = after
        for page in self.http.paginate("v1/results", params, _ResultsPaginator(), records_path=("results",)):
            results, next_cursor, _ = _read_page(page)
            cursor = next_cursor or cursor
            yield results, cursor

    def iter_consent_events(
        self, after: str | None = None, limit: int = 500
    ) -> Iterator[tuple[list[dict[str, Any]], str | None]]:
        """Yield (page of raw consent events, cursor to store) in the order the platform recorded them.

        Same cursor rules as :meth:`iter_results`: store the yielded cursor after each page.
        """
        if not 1 <= limit <= MAX_PAGE_SIZE:
            raise ValueError(f"limit must be between 1 and {MAX_PAGE_SIZE}, got {limit}")
        params: dict[str, Any] = {"limit": limit}
        if after:
            params["after"] = after
        cursor = after
        for page in self.http.paginate("v1/consent-events", params, _ResultsPaginator("events"),
                                       records_path=("events",)):
            events, next_cursor, _ = _read_page(page, "events")
            cursor = next_cursor or cursor
            yield events, cursor

    def delete_candidate_media(self, candidate_id: str) -> dict[str, Any]:
        """Delete all clips and transcripts of a candidate; a repeat call reports zero deletions."""
        response = self.http.request(
            "DELETE", f"v1/candidates/{quote(candidate_id, safe='')}/media", ok=(200, 202),
        )
        body = self.http.json(response, "media deletion")
        if not isinstance(body, dict) or "deleted_clips" not in body or "deleted_transcripts" not in body:
            raise MalformedResponseError(f"media deletion body lacks deleted counts: {preview(body)}")
        return body

    def close(self) -> None:
        """Release pooled connections."""
        self.http.close()

    def __repr__(self) -> str:
        return f"HrbridgeInterviewClient(base_url={self.http.base_url!r})"


class _ResultsPaginator:
    """``after=<next_cursor>`` while ``has_more`` (or, without it, while a cursor comes back) and the page is not empty."""

    def __init__(self, key: str = "results") -> None:
        self.key = key

    def next_request(
        self, page: Any, url: str, params: dict[str, Any], headers: Mapping[str, str]
    ) -> tuple[str, dict[str, Any]] | None:
        """The request for the page after ``page``, or None when caught up."""
        results, next_cursor, has_more = _read_page(page, self.key)
        if not has_more or not results:
            return None
        return url, {**params, "after": next_cursor or params.get("after")}


def _object(body: Any, what: str) -> Mapping[str, Any]:
    if not isinstance(body, Mapping):
        raise MalformedResponseError(f"{what} body is not a JSON object: {preview(body)}")
    return body


def _read_page(page: Any, key: str = "results") -> tuple[list[dict[str, Any]], str | None, bool]:
    if not isinstance(page, dict) or not isinstance(page.get(key), list):
        raise MalformedResponseError(f"{key} page is not {{'{key}': [...]}}: {preview(page)}")
    next_cursor = page.get("next_cursor")
    if next_cursor is not None and not isinstance(next_cursor, str):
        raise MalformedResponseError(f"{key} page next_cursor is not a string: {next_cursor!r}")
    results = page[key]
    for position, item in enumerate(results):
        if not isinstance(item, dict):
            raise MalformedResponseError(f"{key}[{position}] is not a JSON object: {preview(item)}")
    has_more = page.get("has_more")
    if has_more is None:  # vendors without has_more: a cursor means there may be more
        has_more = next_cursor is not None
    return results, next_cursor, bool(has_more)

