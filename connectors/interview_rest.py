"""Adapter for hrbridge's own interview-platform REST contract (``sandbox/interview_openapi.yaml``).

Built on the shared :class:`connectors.http.HttpClient`, so throttling (429 + Retry-After), 5xx
retries and rate limits behave like every other connector. ``POST /v1/invitations`` is safe to
retry because every request carries an ``Idempotency-Key``. One client may be shared by a thread
pool: the connection pool is sized by ``pool_size`` and the bearer header is built per request.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from typing import Any
from urllib.parse import quote

import requests

from connectors.errors import AuthenticationError, MalformedResponseError
from connectors.http import HttpClient, RetryPolicy, decode_json
from connectors.interview import (
    IdempotencyConflict,
    InvalidInvitation,
    Invitation,
    InvitationRequest,
)

MAX_PAGE_SIZE = 1000


class StaticBearerAuth:
    """A fixed API key sent as ``Authorization: Bearer``; never shown in ``repr``."""

    def __init__(self, api_key: str) -> None:
        if not api_key:
            raise ValueError("an interview platform API key is required")
        self._api_key = api_key

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
        body = response.json()
    except ValueError:
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
        timeout: float = 30.0,
        pool_size: int = 32,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.http = _InterviewHttp(
            base_url, auth=StaticBearerAuth(api_key), retry=retry, rate_limit=rate_limit,
            timeout=timeout, headers={"Accept": "application/json"}, sleep=sleep, pool_size=pool_size,
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
        return Invitation.from_dict(decode_json(response))

    def get_invitation(self, invitation_id: str) -> Invitation:
        """GET one invitation's status; NotFoundError when the platform does not know the id."""
        return Invitation.from_dict(self.http.get_json(f"v1/invitations/{quote(invitation_id, safe='')}"))

    def iter_results(
        self, after: str | None = None, limit: int = 500
    ) -> Iterator[tuple[list[dict[str, Any]], str | None]]:
        """Yield (page of raw results, cursor to store) in completion order, until caught up.

        The cursor of a page is the server's ``next_cursor``; an empty page leaves it at ``after``
        so storing the yielded cursor after every page is always safe.
        """
        if not 1 <= limit <= MAX_PAGE_SIZE:
            raise ValueError(f"limit must be between 1 and {MAX_PAGE_SIZE}, got {limit}")
        cursor = after
        while True:
            params: dict[str, Any] = {"limit": limit}
            if cursor:
                params["after"] = cursor
            page = self.http.get_json("v1/results", params=params)
            self.http.stats.add(pages=1)
            results, next_cursor, has_more = _read_page(page)
            if next_cursor:
                cursor = next_cursor
            yield results, cursor
            if not has_more or not results:
                return

    def delete_candidate_media(self, candidate_id: str) -> dict[str, Any]:
        """Delete all clips and transcripts of a candidate; a repeat call reports zero deletions."""
        response = self.http.request(
            "DELETE", f"v1/candidates/{quote(candidate_id, safe='')}/media", ok=(200, 202),
        )
        body = decode_json(response)
        if not isinstance(body, dict) or "deleted_clips" not in body or "deleted_transcripts" not in body:
            raise MalformedResponseError(f"media deletion body lacks deleted counts: {str(body)[:120]!r}")
        return body

    def close(self) -> None:
        """Release pooled connections."""
        self.http.close()

    def __repr__(self) -> str:
        return f"HrbridgeInterviewClient(base_url={self.http.base_url!r})"


def _read_page(page: Any) -> tuple[list[dict[str, Any]], str | None, bool]:
    if not isinstance(page, dict) or not isinstance(page.get("results"), list):
        raise MalformedResponseError(f"results page is not {{'results': [...]}}: {str(page)[:120]!r}")
    next_cursor = page.get("next_cursor")
    if next_cursor is not None and not isinstance(next_cursor, str):
        raise MalformedResponseError(f"results page next_cursor is not a string: {next_cursor!r}")
    results = page["results"]
    for position, item in enumerate(results):
        if not isinstance(item, dict):
            raise MalformedResponseError(f"results[{position}] is not a JSON object: {str(item)[:80]!r}")
    has_more = page.get("has_more")
    if has_more is None:  # vendors without has_more: a cursor means there may be more
        has_more = next_cursor is not None
    return results, next_cursor, bool(has_more)

