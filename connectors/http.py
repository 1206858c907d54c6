"""The one HTTP client every REST/OData connector uses: retries, rate limit, auth, pagination.

Retry rules: 429 and 5xx (and connection resets) are retried with exponential back-off; a
``Retry-After`` header is honoured but capped at ``RetryPolicy.max_retry_after`` seconds, and the
whole request gives up after ``max_attempts`` or when ``total_budget`` seconds of waiting are spent,
so a sync never loops for hours. Auth strategies and paginators are small objects a connector
declares; their hooks can be overridden per system.
"""

from __future__ import annotations

import email.utils
import logging
import random
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol
from urllib.parse import urljoin

import requests

from connectors.errors import (
    AuthenticationError,
    HttpStatusError,
    MalformedResponseError,
    NotFoundError,
    RetryBudgetExceeded,
    UnreachableError,
)

log = logging.getLogger(__name__)

RETRYABLE_STATUS = frozenset({429, 500, 502, 503, 504})


@dataclass(frozen=True)
class RetryPolicy:
    """How hard to retry: attempts, back-off, the Retry-After cap and a total waiting budget."""

    max_attempts: int = 6
    backoff_base: float = 0.5
    backoff_max: float = 30.0
    max_retry_after: float = 60.0
    total_budget: float = 300.0

    def delay(self, attempt: int, retry_after: float | None) -> float:
        """Seconds to wait before retry number ``attempt`` (1-based)."""
        if retry_after is not None:
            return min(max(retry_after, 0.0), self.max_retry_after)
        backoff = min(self.backoff_base * 2 ** (attempt - 1), self.backoff_max)
        return backoff * (0.5 + random.random() / 2)  # noqa: S311 - jitter, not crypto


def parse_retry_after(value: str | None) -> float | None:
    """Read a Retry-After header given as seconds or as an HTTP date; None when absent/invalid."""
    if not value:
        return None
    value = value.strip()
    try:
        return float(value)
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(when.timestamp() - time.time(), 0.0)


class RateLimiter:
    """Token bucket shared by threads: at most ``rate`` requests per second, bursts of ``burst``."""

    def __init__(self, rate: float, burst: int | None = None) -> None:
        if rate <= 0:
            raise ValueError("rate limit must be positive")
        self.rate = rate
        self.capacity = float(burst or max(1, int(rate)))
        self._tokens = self.capacity
        self._stamp = time.monotonic()
        self._lock = threading.Lock()

    def try_acquire(self) -> float | None:
        """Take one request if the budget allows (None); otherwise return the seconds to wait."""
        with self._lock:
            now = time.monotonic()
            self._tokens = min(self.capacity, self._tokens + (now - self._stamp) * self.rate)
            self._stamp = now
            if self._tokens >= 1:
                self._tokens -= 1
                return None
            return (1 - self._tokens) / self.rate

    def acquire(self) -> None:
        """Block until one request may be sent."""
        while (wait := self.try_acquire()) is not None:
            time.sleep(wait)


class Auth(Protocol):
    """An auth strategy adds credentials to a request and may refresh them once on 401."""

    def apply(self, session: requests.Session, headers: dict[str, str]) -> None: ...

    def refresh(self) -> bool: ...


class NoAuth:
    """No credentials (sandboxes, public endpoints)."""

    def apply(self, session: requests.Session, headers: dict[str, str]) -> None:
        """Add nothing."""

    def refresh(self) -> bool:
        """Nothing to refresh."""
        return False


class BasicAuth:
    """HTTP Basic auth; the password never appears in ``repr`` or logs."""

    def __init__(self, user: str, password: str) -> None:
        self.user = user
        self._password = password

    def apply(self, session: requests.Session, headers: dict[str, str]) -> None:
        """Attach the credentials to the session."""
        session.auth = (self.user, self._password)

    def refresh(self) -> bool:
        """Basic credentials cannot be refreshed."""
        return False

    def __repr__(self) -> str:
        return f"BasicAuth(user={self.user!r}, password='***')"


class BearerTokenAuth:
    """A bearer token obtained from ``fetch_token`` (returns token, lifetime in seconds).

    The token is fetched lazily, renewed shortly before it expires, and once more on a 401.
    """

    def __init__(self, fetch_token: Callable[[], tuple[str, float]]) -> None:
        self._fetch = fetch_token
        self._token: str | None = None
        self._expires = 0.0
        self._lock = threading.Lock()

    def _current(self) -> str:
        with self._lock:
            if self._token is None or time.monotonic() > self._expires - 30:
                token, lifetime = self._fetch()
                self._token, self._expires = token, time.monotonic() + lifetime
            return self._token

    def apply(self, session: requests.Session, headers: dict[str, str]) -> None:
        """Set the Authorization header."""
        headers["Authorization"] = f"Bearer {self._current()}"

    def refresh(self) -> bool:
        """Forget the token so the next request fetches a new one."""
        with self._lock:
            self._token = None
        return True

    def __repr__(self) -> str:
        return "BearerTokenAuth(token='***')"


class Paginator(Protocol):
    """Decides the next request from the current page; None ends the stream."""

    def next_request(self, page: Any, url: str, params: dict[str, Any]) -> tuple[str, dict[str, Any]] | None:
        ...


@dataclass
class JsonLinkPaginator:
    """Follow a next-page link found in the body at ``path`` (e.g. OData v2 ``d.__next``).

    The link is used as given, with its own query string: never offset arithmetic.
    """

    path: tuple[str, ...] = ("d", "__next")

    def next_request(self, page: Any, url: str, params: dict[str, Any]) -> tuple[str, dict[str, Any]] | None:
        """Return the next link and no extra params, or None on the last page."""
        node = page
        for key in self.path:
            if not isinstance(node, Mapping) or key not in node:
                return None
            node = node[key]
        if not node:
            return None
        return urljoin(url, str(node)), {}


@dataclass
class CursorParamPaginator:
    """Send the body's ``cursor_path`` value back as the ``param`` query parameter."""

    cursor_path: tuple[str, ...] = ("next_cursor",)
    param: str = "cursor"

    def next_request(self, page: Any, url: str, params: dict[str, Any]) -> tuple[str, dict[str, Any]] | None:
        """Return the same URL with the new cursor, or None when the body carries none."""
        node = page
        for key in self.cursor_path:
            if not isinstance(node, Mapping) or key not in node:
                return None
            node = node[key]
        if not node:
            return None
        return url, {**params, self.param: node}


@dataclass
class HttpStats:
    """Counters a connector reports in its summary; safe to update from a thread pool."""

    requests: int = 0
    retries: int = 0
    waited_seconds: float = 0.0
    pages: int = 0
    status_counts: dict[int, int] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False, compare=False)

    def add(
        self, *, requests: int = 0, retries: int = 0, waited: float = 0.0, pages: int = 0,
        status: int | None = None,
    ) -> None:
        """Add to the counters atomically."""
        with self._lock:
            self.requests += requests
            self.retries += retries
            self.waited_seconds += waited
            self.pages += pages
            if status is not None:
                self.status_counts[status] = self.status_counts.get(status, 0) + 1


class HttpClient:
    """A ``requests`` session with base URL, auth strategy, rate limit and bounded retries."""

    def __init__(
        self,
        base_url: str,
        auth: Auth | None = None,
        retry: RetryPolicy | None = None,
        rate_limit: float | None = None,
        timeout: float = 30.0,
        headers: Mapping[str, str] | None = None,
        sleep: Callable[[float], None] = time.sleep,
        pool_size: int = 16,
    ) -> None:
        self.base_url = base_url.rstrip("/") + "/"
        self.auth = auth or NoAuth()
        self.retry = retry or RetryPolicy()
        self.limiter = RateLimiter(rate_limit) if rate_limit else None
        self.timeout = timeout
        self.headers = dict(headers or {})
        self.stats = HttpStats()
        self._sleep = sleep
        self.session = requests.Session()
        adapter = requests.adapters.HTTPAdapter(pool_connections=pool_size, pool_maxsize=pool_size)
        self.session.mount("http://", adapter)
        self.session.mount("https://", adapter)

    def url(self, path_or_url: str) -> str:
        """Resolve a path against the base URL; absolute URLs pass through."""
        if path_or_url.startswith(("http://", "https://")):
            return path_or_url
        return urljoin(self.base_url, path_or_url.lstrip("/"))

    def request(
        self,
        method: str,
        path_or_url: str,
        *,
        params: Mapping[str, Any] | None = None,
        json: Any = None,
        data: bytes | str | None = None,
        headers: Mapping[str, str] | None = None,
        ok: tuple[int, ...] = (200, 201, 202, 204),
    ) -> requests.Response:
        """Send one request with retries; return the response when its status is in ``ok``.

        Raises a specific :mod:`connectors.errors` exception otherwise.
        """
        url = self.url(path_or_url)
        waited = 0.0
        refreshed = False
        attempt = 0
        while True:
            attempt += 1
            if self.limiter:
                self.limiter.acquire()
            request_headers = {**self.headers, **(headers or {})}
            self.auth.apply(self.session, request_headers)
            self.stats.add(requests=1)
            try:
                response = self.session.request(
                    method, url, params=params, json=json, data=data,
                    headers=request_headers, timeout=self.timeout,
                )
            except (requests.ConnectionError, requests.Timeout) as exc:
                if attempt >= self.retry.max_attempts:
                    raise UnreachableError(f"cannot reach {_host(url)}: {_short(exc)}") from exc
                delay = self.retry.delay(attempt, None)
                if waited + delay > self.retry.total_budget:
                    raise UnreachableError(f"cannot reach {_host(url)}: {_short(exc)}") from exc
                waited += self._wait(delay)
                continue
            status = response.status_code
            self.stats.add(status=status)
            if status in ok:
                return response
            if status == 401 and not refreshed and self.auth.refresh():
                refreshed = True
                continue
            if status in RETRYABLE_STATUS:
                delay = self.retry.delay(attempt, parse_retry_after(response.headers.get("Retry-After")))
                if attempt >= self.retry.max_attempts or waited + delay > self.retry.total_budget:
                    raise RetryBudgetExceeded(
                        f"{method} {_path(url)} still failing with HTTP {status} after {attempt} attempts "
                        f"and {waited:.1f}s of waiting (budget {self.retry.max_attempts} attempts, "
                        f"{self.retry.total_budget:.0f}s)"
                    )
                log.info("HTTP %s from %s; retry %d in %.1fs", status, _path(url), attempt, delay)
                waited += self._wait(delay)
                continue
            raise self.error_for(method, url, response)

    def _wait(self, delay: float) -> float:
        self.stats.add(retries=1, waited=delay)
        self._sleep(delay)
        return delay

    def error_for(self, method: str, url: str, response: requests.Response) -> Exception:
        """Map a non-retryable status to a specific error; connectors override for richer text."""
        status = response.status_code
        body = response.text[:500]
        if status == 401:
            return AuthenticationError(f"{_host(url)} rejected the credentials (HTTP 401)")
        if status == 403:
            return AuthenticationError(f"{_host(url)} denied access to {_path(url)} (HTTP 403)")
        if status == 404:
            return NotFoundError(f"{_path(url)} not found on {_host(url)} (HTTP 404)")
        return HttpStatusError(f"{method} {_path(url)} failed with HTTP {status}: {body[:200]}", status, body)

    def get_json(self, path_or_url: str, params: Mapping[str, Any] | None = None, **kwargs: Any) -> Any:
        """GET and decode JSON, raising MalformedResponseError for a body that is not JSON."""
        response = self.request("GET", path_or_url, params=params, **kwargs)
        return decode_json(response)

    def paginate(
        self, path_or_url: str, params: Mapping[str, Any] | None, paginator: Paginator
    ) -> Iterator[Any]:
        """Yield each decoded page, following ``paginator`` until it returns None."""
        url, current = self.url(path_or_url), dict(params or {})
        while True:
            page = self.get_json(url, params=current or None)
            self.stats.add(pages=1)
            yield page
            following = paginator.next_request(page, url, current)
            if following is None:
                return
            url, current = following

    def close(self) -> None:
        """Release pooled connections."""
        self.session.close()


def decode_json(response: requests.Response) -> Any:
    """Decode a JSON body or raise MalformedResponseError naming the URL and the body's start."""
    try:
        return response.json()
    except ValueError as exc:
        raise MalformedResponseError(
            f"{_path(response.url)} returned a body that is not JSON: {response.text[:120]!r}"
        ) from exc


def _host(url: str) -> str:
    return requests.utils.urlparse(url).netloc


def _path(url: str) -> str:
    return requests.utils.urlparse(url).path


def _short(exc: BaseException) -> str:
    text = str(exc)
    return text if len(text) < 200 else text[:200] + "..."
